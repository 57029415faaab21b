"""The chat engine in a child process (see worker.py).

If llama.cpp crashes natively (a damaged model, a bug), only the worker dies: the
current answer ends with :class:`EngineCrashed`, what was streamed is kept by the
caller, and the next request starts a new worker with the last good model.
Loading a new model starts it in a new worker first and swaps only on success, so a
file that crashes the loader leaves the previous model in place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop.core.engine import (
    ChatMessage,
    EngineCrashed,
    EngineError,
    EngineOptions,
    GenerationEvent,
    SamplingParams,
)
from desktop.core.jobs import CancelToken
from desktop.core.models import ModelError, ModelInfo
from desktop.core.process import ChildExited, SupervisedProcess

log = logging.getLogger(__name__)

#: seconds :meth:`IsolatedBackend.close` waits for an answer being written to end
CLOSE_WAIT_S = 10.0


class _Worker:
    """The engine's side of :class:`~desktop.core.process.SupervisedProcess`: only what
    differs (its module, its log, what a crash means for the user)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.child = SupervisedProcess.python_module("desktop.core.engine.worker", log_name="engine.log", env=env)
        self.log_path = self.child.log_path
        self.proc = self.child.proc

    def send(self, obj: dict[str, Any]) -> None:
        try:
            self.child.send(obj)
        except ChildExited as exc:
            raise EngineCrashed(self.crash_message()) from exc

    def receive(self) -> dict[str, Any]:
        try:
            return self.child.receive()
        except ChildExited as exc:
            raise EngineCrashed(self.crash_message()) from exc

    def crash_message(self) -> str:
        return self.child.crash_message(
            "The model engine",
            "Your conversation is saved; Hearth restarts the engine with your last model on "
            "the next message.", lines=3)

    @property
    def alive(self) -> bool:
        return self.child.alive

    def close(self, timeout: float = 5) -> None:
        self.child.stop({"op": "shutdown"}, timeout=timeout)


class IsolatedBackend:
    """A :class:`~desktop.core.engine.ChatBackend` whose model lives in a child process.

    Args:
        env: extra environment for the worker (tests use it to simulate crashes).
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self._env = env
        self._worker: _Worker | None = None
        self._info: ModelInfo | None = None
        self._model_path: str | None = None
        self._options: EngineOptions | None = None
        self._adapters: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self.n_ctx = 0

    @property
    def model(self) -> ModelInfo | None:
        return self._info

    @property
    def worker_pid(self) -> int | None:
        return self._worker.proc.pid if self._worker else None

    def _start(self, model_path: str, options: EngineOptions) -> tuple[_Worker, ModelInfo]:
        worker = _Worker(self._env)
        try:
            worker.send({"op": "load", "model_path": model_path, "options": options.to_dict()})
            reply = worker.receive()
        except EngineCrashed as exc:
            worker.close()
            raise ModelError(
                f"{Path(model_path).name} crashed the engine while loading. The file is "
                "damaged or not supported; the previous model is still in use."
            ) from exc
        if reply.get("type") != "loaded":
            worker.close()
            if reply.get("error") == "ModelError":
                raise ModelError(reply.get("message", "the model could not be loaded"))
            raise EngineError(reply.get("message", "the engine failed"))
        info_raw = dict(reply["info"])
        info = ModelInfo(**{**info_raw, "path": Path(info_raw["path"])})
        self.n_ctx = int(reply.get("n_ctx", 0))
        return worker, info

    def load(self, model_path: str, options: EngineOptions) -> ModelInfo:
        with self._lock:
            worker, info = self._start(model_path, options)
            old = self._worker
            self._worker, self._info = worker, info
            self._model_path, self._options = model_path, options
            self._adapters = []
        if old is not None:
            old.close()
        return info

    def _ensure_worker(self) -> _Worker:
        if self._worker is not None and self._worker.alive:
            return self._worker
        if self._model_path is None or self._options is None:
            raise EngineError("No model is loaded. Choose a model first.")
        log.warning("engine worker is gone; restarting it with %s", self._model_path)
        if self._worker is not None:
            self._worker.close()
        self._worker, self._info = self._start(self._model_path, self._options)
        if self._adapters:
            self._apply_adapters(self._worker, self._adapters)
        return self._worker

    def generate(
        self, messages: list[ChatMessage], params: SamplingParams, cancel: CancelToken | None = None
    ) -> Iterator[GenerationEvent]:
        with self._lock:
            worker = self._ensure_worker()
            worker.send({"op": "generate", "messages": list(messages), "params": params.to_dict()})
            if cancel is not None:
                def _send_cancel() -> None:
                    try:
                        worker.send({"op": "cancel"})
                    except EngineCrashed:
                        pass

                cancel.on_cancel(_send_cancel)
            finished = False
            try:
                while True:
                    msg = worker.receive()
                    kind = msg.get("type")
                    if kind == "error":
                        finished = True
                        raise EngineError(msg.get("message", "the engine failed"))
                    if kind == "done":
                        finished = True
                    yield GenerationEvent(kind, text=msg.get("text", ""), data=msg.get("data", {}))  # type: ignore[arg-type]
                    if finished:
                        return
            except EngineCrashed:
                finished = True
                raise
            finally:
                if not finished:  # the caller walked away mid-answer: stop and drain
                    self._drain(worker)

    @staticmethod
    def _drain(worker: _Worker) -> None:
        """Cancel the answer in progress and read up to its end, so the next request
        does not see this one's tokens."""
        try:
            worker.send({"op": "cancel"})
            while worker.receive().get("type") not in ("done", "error"):
                pass
        except EngineCrashed:
            pass

    def _apply_adapters(self, worker: _Worker, adapters: list[tuple[str, float]]) -> None:
        worker.send({"op": "adapters", "adapters": [[p, s] for p, s in adapters]})
        reply = worker.receive()
        if reply.get("type") == "error":
            if reply.get("error") == "ModelError":
                raise ModelError(reply.get("message", "the adapter could not be applied"))
            raise EngineError(reply.get("message", "the adapter could not be applied"))

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        with self._lock:
            worker = self._ensure_worker()
            self._apply_adapters(worker, adapters)
            self._adapters = list(adapters)

    def close(self) -> None:
        """Stop the worker.  An answer still being written when the app closes (its cancel
        not seen within :data:`CLOSE_WAIT_S` seconds) has its worker process killed, so
        that closing never waits for an answer to end."""
        if not self._lock.acquire(timeout=CLOSE_WAIT_S):
            worker = self._worker
            if worker is not None:
                log.warning("an answer was still being written at close; stopping the engine process")
                worker.child.kill()  # the answer's thread gets EngineCrashed and lets go
            self._lock.acquire()
        try:
            if self._worker is not None:
                self._worker.close()
                self._worker = None
            self._info = None
        finally:
            self._lock.release()

    def __enter__(self) -> IsolatedBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
