"""The job protocol: cancel and pause between steps, typed event kinds, one thread budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from desktop.core import threads
from desktop.core.jobs import (
    EVENT_KINDS,
    CancelToken,
    ProgressEvent,
    decode_event,
    encode_event,
)


def _counting_job(token: CancelToken, steps: int, reached: list[int],
                  at_pause: threading.Event) -> Iterator[ProgressEvent]:
    for i in range(steps):
        if token.paused:
            at_pause.set()
        if token.wait_if_paused(poll_s=0.01):
            yield ProgressEvent("test", "cancelled", "step", i, steps)
            return
        reached.append(i)
        yield ProgressEvent("test", "progress", "step", i + 1, steps)
    yield ProgressEvent("test", "done", "step", steps, steps)


def test_a_paused_job_waits_in_place_and_goes_on_after_resume() -> None:
    token = CancelToken()
    reached: list[int] = []
    at_pause = threading.Event()
    job = _counting_job(token, 5, reached, at_pause)
    assert next(job).done == 1
    token.pause()
    assert token.paused
    events: list[ProgressEvent] = []
    runner = threading.Thread(target=lambda: events.extend(job))
    runner.start()
    assert at_pause.wait(10)
    assert reached == [0]  # held before step 2
    token.resume()
    runner.join(10)
    assert reached == [0, 1, 2, 3, 4]
    assert events[-1].kind == "done" and events[-1].final


def test_cancel_ends_a_pause() -> None:
    token = CancelToken()
    reached: list[int] = []
    at_pause = threading.Event()
    token.pause()
    events: list[ProgressEvent] = []
    runner = threading.Thread(target=lambda: events.extend(_counting_job(token, 3, reached, at_pause)))
    runner.start()
    assert at_pause.wait(10)
    token.cancel()
    runner.join(10)
    assert not runner.is_alive()
    assert reached == [] and events[-1].kind == "cancelled"
    token.pause()  # no effect once cancelled
    assert not token.paused


def test_event_kinds_are_typed_and_the_wire_format_is_the_same() -> None:
    assert set(EVENT_KINDS) == {"progress", "log", "warning", "done", "error", "cancelled"}
    line = encode_event(ProgressEvent("index", "done", "files", 3, 3, "files", "ok"))
    assert '"kind":"done"' in line
    back = decode_event(line)
    assert back is not None and back.kind == "done" and back.final
    with pytest.raises(ValueError, match="unknown event kind"):
        ProgressEvent("index", "finished")  # type: ignore[arg-type]
    assert decode_event(line.replace('"done"', '"finished"')) is None


def test_one_thread_budget_background_uses_every_core() -> None:
    cores = threads.physical_cores()
    assert threads.background_threads() == cores
    assert threads.background_threads(3) == 3
    assert 1 <= threads.chat_threads() <= cores
    from desktop.core.library.embedder import default_embed_threads
    from desktop.core.personalize.trainer import training_threads
    from desktop.core.settings import default_threads

    assert default_embed_threads() == training_threads() == cores
    assert default_threads() == threads.chat_threads()
