"""One way to run background work in the window.

:class:`GeneratorWorker` runs a generator function on its own QThread and re-emits each
yielded item on the GUI thread (Qt queued signals).  Cancel sets the job's
:class:`~desktop.core.jobs.CancelToken`, which the generator checks between yields.
Chat streaming, indexing and training all go through it.  Widgets are touched only in
slots connected to its signals, which run on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from desktop.core.jobs import CancelToken

_running: set[GeneratorWorker] = set()


class GeneratorWorker(QObject):
    """Run ``fn(*args, cancel=token, **kwargs)`` (a generator) off the GUI thread.

    Signals:
        yielded(object): each item the generator yields.
        errored(object): the exception that ended it.
        finished(): after the generator ends, fails or is cancelled (always last).
    """

    yielded = Signal(object)
    errored = Signal(object)
    finished = Signal()

    def __init__(
        self, fn: Callable[..., Iterator[Any]], *args: Any, pass_cancel: bool = True, **kwargs: Any
    ) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.cancel_token = CancelToken()
        if pass_cancel:
            self._kwargs["cancel"] = self.cancel_token
        self._thread = QThread()
        self._thread.setObjectName(getattr(fn, "__name__", "worker"))
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)
        # Direct: quit from the worker thread itself.  Queued (the default, as the QThread
        # object lives on the GUI thread), wait() on the GUI thread would block until
        # its timeout, since the quit could only run after wait() returned.
        self.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._cleanup)

    def start(self) -> GeneratorWorker:
        _running.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, msecs: int = 30_000) -> bool:
        return bool(self._thread.wait(msecs))

    @Slot()
    def _run(self) -> None:
        try:
            for item in self._fn(*self._args, **self._kwargs):
                self.yielded.emit(item)
        except Exception as exc:  # reported to the GUI, never raised across threads
            self.errored.emit(exc)
        finally:
            self.finished.emit()

    @Slot()
    def _cleanup(self) -> None:
        _running.discard(self)


def run_in_background(
    fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None, **kwargs: Any,
) -> GeneratorWorker:
    """Run a plain function off the GUI thread; ``on_result`` gets its return value."""

    def gen(**kw: Any) -> Iterator[Any]:
        yield fn(*args, **kw)

    worker = GeneratorWorker(gen, pass_cancel=False, **kwargs)
    if on_result is not None:
        worker.yielded.connect(on_result)
    if on_error is not None:
        worker.errored.connect(on_error)
    return worker.start()
