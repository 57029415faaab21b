"""The guard against PySide6 6.12.0's lost references to None/True/False."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

import desktop.ui  # noqa: F401  (applies the guard on import)
from desktop.ui.qt_compat import protect_singletons, void_call_leaks_none


class _Emitter(QObject):
    happened = Signal(object)


def test_many_void_calls_and_emits_do_not_abort() -> None:
    if void_call_leaks_none():
        assert protect_singletons()
        assert sys.getrefcount(None) > 1 << 39
    emitter = _Emitter()
    emitter.happened.connect(lambda _x: None)
    probe = QObject()
    for _ in range(100_000):  # more than None's and True's usual reference counts
        probe.setObjectName("x")
        emitter.happened.emit(1)
