"""One job protocol for all long work: chat streaming, indexing, training.

A job is a generator that yields :class:`ProgressEvent` objects and checks a
:class:`CancelToken` between steps.  The window, the CLI's progress bar and the tests all
consume the same events.  A job that runs in a child process prints the same events as
JSON lines (:func:`encode_event` / :func:`decode_event`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


class Cancelled(Exception):
    """Raised inside a job when its CancelToken is set."""


class CancelToken:
    """A thread-safe flag a job polls between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

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
        kind: "progress", "log", "warning", "done", "error", "cancelled".
        what: what is being counted or done right now ("files", "chunks", "step").
        done, total: progress in ``unit``; total None when unknown.
        unit: "files", "chunks", "tokens", "steps", ...
        message: a sentence for the user.
        data: job-specific figures (loss, tokens/s, eta_s, file, reason, ...).
        time: seconds since the epoch when it was made.
    """

    job: str
    kind: str = "progress"
    what: str = ""
    done: float = 0
    total: float | None = None
    unit: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

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
    """Parse a line written by :func:`encode_event`; None for any other line."""
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
