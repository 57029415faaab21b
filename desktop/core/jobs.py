"""One job protocol for all long work: chat streaming, indexing, training.

A job is a generator that yields :class:`ProgressEvent` objects and checks a
:class:`CancelToken` between steps: for a cancel (stop, keep what is done) and for a pause
(wait in place until resumed; the napari/superqt worker pattern of checking between
yields).  The window, the CLI's progress bar and the tests all consume the same events.  A job that runs in a child process prints the same events as
JSON lines (:func:`encode_event` / :func:`decode_event`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args


class Cancelled(Exception):
    """Raised inside a job when its CancelToken is set."""


#: What a :class:`ProgressEvent` reports; the strings are the wire format (JSON lines).
EventKind = Literal["progress", "log", "warning", "done", "error", "cancelled"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
#: The kinds that end a job.
FINAL_KINDS: frozenset[str] = frozenset({"done", "error", "cancelled"})


class PauseSwitch:
    """A pause that long work waits on between its steps, never inside one.

    Several jobs may share one switch: every indexing job of a library waits on the
    library's (the window's Pause button and the chat's priority turn it), and each
    :class:`CancelToken` has its own, for a pause of that job alone.  Thread-safe.
    """

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait(self, until: Callable[[], bool] = lambda: False, poll_s: float = 0.2) -> None:
        """Block while paused; return early once ``until()`` is true (a cancel)."""
        while not self._running.is_set() and not until():
            self._running.wait(poll_s)


class CancelToken:
    """Thread-safe job control a job polls between steps: cancel and pause.

    Another thread calls :meth:`cancel`, :meth:`pause` and :meth:`resume`; the job calls
    :meth:`raise_if_cancelled` / :attr:`cancelled` and :meth:`wait_if_paused` between
    steps, so a pause never cuts a step (a batch, a training step) in half.  A cancel also
    ends a pause.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._pause = PauseSwitch()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            self._pause.resume()  # wakes a paused job so it can stop
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def pause(self) -> None:
        """Ask the job to wait at its next step boundary (no effect once cancelled)."""
        if not self._event.is_set():
            self._pause.pause()

    def resume(self) -> None:
        """Let a paused job go on."""
        self._pause.resume()

    @property
    def paused(self) -> bool:
        return self._pause.paused

    def wait_if_paused(self, poll_s: float = 0.2) -> bool:
        """Block while paused; returns True if the job was cancelled (meanwhile or before)."""
        self._pause.wait(self._event.is_set, poll_s)
        return self._event.is_set()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the cancelling thread) when cancelled; at once if already."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if cancelled meanwhile."""
        return self._event.wait(seconds)


@dataclass
class ProgressEvent:
    """What a job reports.

    Attributes:
        job: which job ("index", "train", "chat", ...).
        kind: one of :data:`EventKind` ("progress", "log", "warning", "done", "error",
            "cancelled"); "done", "error" and "cancelled" end the job.
        what: what is being counted or done right now ("files", "chunks", "step").
        done, total: progress in ``unit``; total None when unknown.
        unit: "files", "chunks", "tokens", "steps", ...
        message: a sentence for the user.
        data: job-specific figures (loss, tokens/s, eta_s, file, reason, ...).
        time: seconds since the epoch when it was made.
    """

    job: str
    kind: EventKind = "progress"
    what: str = ""
    done: float = 0
    total: float | None = None
    unit: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; one of {', '.join(EVENT_KINDS)}")

    @property
    def final(self) -> bool:
        """True for the event that ends a job (done, error, cancelled)."""
        return self.kind in FINAL_KINDS

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


JobIterator = Iterator[ProgressEvent]


def encode_event(event: ProgressEvent) -> str:
    """One JSON line (no newline inside) for a child process's stdout."""
    return json.dumps(asdict(event), separators=(",", ":"), default=str)


def decode_event(line: str) -> ProgressEvent | None:
    """Parse a line written by :func:`encode_event`; None for any other line (including
    one with an unknown kind)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        raw = json.loads(line)
        return ProgressEvent(**raw)
    except (ValueError, TypeError):
        return None


class RateEstimator:
    """Rate and ETA from an exponentially weighted moving average of recent throughput."""

    def __init__(self, smoothing: float = 0.3) -> None:
        self.smoothing = smoothing
        self._last: tuple[float, float] | None = None
        self.rate: float | None = None

    def update(self, done: float, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        if self._last is not None:
            dt = now - self._last[1]
            if dt > 0:
                inst = (done - self._last[0]) / dt
                self.rate = inst if self.rate is None else (
                    self.smoothing * inst + (1 - self.smoothing) * self.rate
                )
        self._last = (done, now)
        return self.rate

    def eta(self, done: float, total: float | None) -> float | None:
        if total is None or not self.rate or self.rate <= 0:
            return None
        return max(0.0, (total - done) / self.rate)
