"""Fixtures for the window tests: the real MainWindow over a real HearthCore (real
settings, SQLite history and model catalog); the engine is a ScriptedBackend unless
the test is about the model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from desktop.core.app import HearthCore
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.settings import Settings
from desktop.ui.main_window import MainWindow
from desktop.ui.theme import apply_theme

# Note: never call QApplication.processEvents() in these tests while a worker thread
# runs: with PySide6 6.12 on Python 3.11 it races on None's reference count and aborts
# the process ("none_dealloc").  qtbot.waitUntil/waitSignal/wait use QTest.qWait and
# QEventLoop, which are safe.


@pytest.fixture
def make_window(qtbot: Any) -> Iterator[Callable[..., MainWindow]]:
    made: list[tuple[MainWindow, HearthCore]] = []

    def make(
        reply: str = "Hello from Hearth.",
        delay: float = 0.02,
        welcome_done: bool = True,
        engine: Any = None,
        settings: Settings | None = None,
        load: bool = True,
    ) -> MainWindow:
        settings = settings or Settings()
        settings.ui.welcome_done = welcome_done
        backend = engine if engine is not None else ScriptedBackend(reply=reply, delay=delay)
        core = HearthCore(settings=settings, engine=backend, with_library=False)
        window = MainWindow(core)
        qtbot.addWidget(window)
        made.append((window, core))
        window.show()
        window.activateWindow()
        qtbot.waitExposed(window)
        if load:
            with qtbot.waitSignal(window.model_loaded, timeout=120_000):
                window.load_current_model()
            qtbot.waitUntil(lambda: not window.loading)
        return window

    yield make
    for window, core in made:
        window.close()
        core.close()
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app, False)

