"""The chat has priority: a real indexing run pauses while an answer streams and resumes
after it, finishing correctly (the engine is scripted: the model is beside the point)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from desktop.core.chat import ChatService
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.history import History
from desktop.core.jobs import ProgressEvent
from desktop.core.library import Library
from desktop.core.priority import ChatPriority
from desktop.core.settings import ChatSettings, LibrarySettings

TOPICS = ["tomatoes", "winter tyres", "lemon cake", "the dentist", "the Wi-Fi router", "the boiler"]


def test_indexing_pauses_while_the_chat_answers_and_finishes_after(tmp_path: Path, embedder: Any) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i, topic in enumerate(TOPICS):
        (folder / f"note{i}.txt").write_text(
            f"Note {i} is about {topic}. " + f"Remember to check {topic} on Monday. " * 20, encoding="utf-8")
    lib = Library(tmp_path / "store", LibrarySettings(parse_timeout_s=30, ocr_enabled=False), embedder=embedder)
    history = History(tmp_path / "history.db")
    priority = ChatPriority()
    priority.register(lib)
    chat = ChatService(history, ScriptedBackend("one two three four"), ChatSettings(), priority=priority)
    conv = history.create_conversation()

    job = lib.index_paths([folder])
    events: list[ProgressEvent] = []
    for ev in job:  # up to the first count of files: the run is under way
        events.append(ev)
        if ev.what == "files":
            break
    paused_seen = threading.Event()

    def run_rest() -> None:
        for ev in job:
            events.append(ev)
            if ev.data.get("paused"):
                paused_seen.set()

    stream = chat.send(conv.id, "What about the boiler?")
    assert next(stream).kind == "user_message"
    assert next(stream).kind == "reply_started"
    assert lib.paused and priority.answering_now
    indexer = threading.Thread(target=run_rest)
    indexer.start()
    try:
        assert paused_seen.wait(120)  # the run stopped at its next step
        n_at_pause = len(events)
        finished = None
        for ev in stream:
            if ev.kind == "finished":
                finished = ev
                # still inside the answer: the run has not moved on
                assert lib.paused and len(events) == n_at_pause
        assert finished is not None and finished.message is not None
        assert finished.message.content == "one two three four"
        assert not lib.paused and not priority.answering_now  # resumed after the answer
        indexer.join(300)
        assert not indexer.is_alive()
        assert events[-1].kind == "done", events[-1].message
        assert events[-1].data["indexed"] == len(TOPICS)
        files = lib.files()
        assert len(files) == len(TOPICS) and all(f.state == "indexed" for f in files)
        assert lib.chunk_count("default") == sum(f.chunks for f in files)
    finally:
        lib.resume()
        indexer.join(60)
        lib.close()
        history.close()


class _Job:
    def __init__(self, paused: bool = False) -> None:
        self.paused = paused
        self.calls: list[str] = []

    def pause(self) -> None:
        self.paused = True
        self.calls.append("pause")

    def resume(self) -> None:
        self.paused = False
        self.calls.append("resume")


def test_a_job_the_user_paused_stays_paused_and_answers_may_overlap() -> None:
    priority = ChatPriority()
    mine, users = _Job(), _Job(paused=True)
    priority.register(mine)
    priority.register(users)
    priority.answer_started()
    priority.answer_started()  # a second answer (e.g. the API server) overlaps
    priority.answer_finished()
    assert mine.paused  # one answer still streams
    priority.answer_finished()
    assert mine.calls == ["pause", "resume"] and not mine.paused
    assert users.calls == [] and users.paused
    late = _Job()
    with priority.answering():
        unregister = priority.register(late)  # a run started mid-answer pauses at once
        assert late.paused
        unregister()  # and is let go when it is no longer followed
        assert not late.paused


def test_one_indexing_job_pauses_through_its_own_token_and_can_be_dropped_while_paused(
    tmp_path: Path, embedder: Any
) -> None:
    """The job protocol's pause (the token's) holds an indexing run as the library's
    switch does; a run dropped while paused ends its reader thread instead of hanging."""
    from desktop.core.jobs import CancelToken

    folder = tmp_path / "notes"
    folder.mkdir()
    for i, topic in enumerate(TOPICS):
        (folder / f"note{i}.txt").write_text(f"Note {i} is about {topic}. " * 30, encoding="utf-8")
    lib = Library(tmp_path / "store", LibrarySettings(parse_timeout_s=30, ocr_enabled=False), embedder=embedder)
    try:
        token = CancelToken()
        job = lib.index_paths([folder], cancel=token)
        for ev in job:
            if ev.what == "files":
                break
        token.pause()
        assert not lib.paused  # the library's switch is untouched: only this job waits
        seen: list[ProgressEvent] = []
        paused_seen = threading.Event()

        def run_rest() -> None:
            for ev in job:
                seen.append(ev)
                if ev.data.get("paused"):
                    paused_seen.set()

        runner = threading.Thread(target=run_rest)
        runner.start()
        assert paused_seen.wait(120)
        n = len(seen)
        runner.join(1.0)
        assert runner.is_alive() and len(seen) == n  # waits in place
        token.resume()
        runner.join(300)
        assert not runner.is_alive() and seen[-1].kind == "done", seen[-1].message
        assert seen[-1].data["indexed"] == len(TOPICS)

        (folder / "note-new.txt").write_text("A new note about the garden shed. " * 30, encoding="utf-8")
        again = CancelToken()
        again.pause()  # paused from the start: the reader thread waits at its first file
        dropped = lib.index_paths([folder], cancel=again)
        for ev in dropped:
            if ev.data.get("paused"):
                break
        time.sleep(0.5)  # the reader reaches its wait
        closer = threading.Thread(target=dropped.close)  # the window dropped the run
        closer.start()
        closer.join(60)
        assert not closer.is_alive()
        readers = [t for t in threading.enumerate() if t.name == "index-parse"]
        for reader in readers:
            reader.join(10)
        assert not any(t.is_alive() for t in readers)  # no reader thread left behind
    finally:
        lib.close()
