"""The chat has priority: background jobs pause while an answer streams.

Two heavy jobs on the same cores collapse each other (llama.cpp's OpenMP threads spin; see
../shared/DESIGN.md): measured here, the chat streamed 19 tokens/s beside one embedding
thread against 73 alone.  So :class:`ChatPriority` pauses every registered job (the
library's indexing, a training run) when an answer starts and resumes them when the last
answer in flight ends; the rest of the time they use every core
(:func:`desktop.core.threads.background_threads`).

A job is anything with ``pause()``, ``resume()`` and ``paused``
(:class:`~desktop.core.library.Library`,
:class:`~desktop.core.personalize.controller.PersonalizeController`,
:class:`~desktop.core.jobs.CancelToken`).  A job the user paused stays paused: only the
jobs this coordinator paused are resumed.

    priority = ChatPriority()
    priority.register(library)
    chat = ChatService(history, engine, settings, priority=priority)  # calls answering()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger(__name__)


class Pausable(Protocol):
    """A background job that can wait between its steps."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    @property
    def paused(self) -> bool: ...


class ChatPriority:
    """Pauses registered background jobs while at least one answer streams.

    Thread-safe: answers and jobs may start and end on any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: list[Pausable] = []
        self._paused_by_us: list[Pausable] = []
        self._answers = 0

    @property
    def answering_now(self) -> bool:
        """True while an answer streams."""
        with self._lock:
            return self._answers > 0

    def register(self, job: Pausable) -> Callable[[], None]:
        """Follow ``job`` from now on (paused at once if an answer is streaming); returns a
        function that stops following it (and resumes it if this coordinator paused it)."""
        with self._lock:
            if not any(j is job for j in self._jobs):
                self._jobs.append(job)
            if self._answers > 0:
                self._pause(job)

        def unregister() -> None:
            with self._lock:
                self._jobs = [j for j in self._jobs if j is not job]
                if any(j is job for j in self._paused_by_us):
                    self._paused_by_us = [j for j in self._paused_by_us if j is not job]
                    self._resume(job)

        return unregister

    def answer_started(self) -> None:
        """An answer starts streaming: pause every registered job that is running."""
        with self._lock:
            self._answers += 1
            if self._answers == 1:
                for job in self._jobs:
                    self._pause(job)

    def answer_finished(self) -> None:
        """An answer ended (complete, stopped or failed): once none is left, resume the
        jobs paused for it."""
        with self._lock:
            self._answers = max(0, self._answers - 1)
            if self._answers == 0:
                jobs, self._paused_by_us = self._paused_by_us, []
                for job in jobs:
                    self._resume(job)

    @contextmanager
    def answering(self) -> Iterator[None]:
        """``with priority.answering(): stream...``: started on entry, finished on exit."""
        self.answer_started()
        try:
            yield
        finally:
            self.answer_finished()

    def _pause(self, job: Pausable) -> None:
        try:
            if job.paused:  # the user's own pause: not ours to lift
                return
            job.pause()
            self._paused_by_us.append(job)
        except Exception:
            log.exception("could not pause a background job for the chat")

    @staticmethod
    def _resume(job: Pausable) -> None:
        try:
            job.resume()
        except Exception:
            log.exception("could not resume a background job after the chat")
