"""Helpers for the window tests: act as a user does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from desktop.ui.main_window import MainWindow


def send(qtbot: Any, window: MainWindow, text: str) -> None:
    """Type ``text`` into the message box and press Enter, as a user does."""
    window.input.setFocus()
    qtbot.keyClicks(window.input, text)
    qtbot.keyClick(window.input, Qt.Key.Key_Return)


def wait_idle(qtbot: Any, window: MainWindow, timeout: int = 20_000) -> None:
    qtbot.waitUntil(lambda: not window.busy, timeout=timeout)


def drop(window: MainWindow, paths: list[Path]) -> None:
    """Drop files onto the window, as from a file manager."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
