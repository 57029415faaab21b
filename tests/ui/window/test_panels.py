"""The window is a shell over its pages: the chat page and the Library, Personalize and
Models panels (every build ships all of them).  The panels here are stand-ins (the
panels are beside the point: these tests check the window's side of the contract)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QWidget
from window_helpers import send, wait_idle

from desktop.ui import chat_view


class FakeLibraryPanel(QWidget):
    def __init__(self, core: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.added: list[Any] = []

    def add_paths(self, paths: list[Any]) -> None:
        self.added.extend(paths)


class FakePersonalizePanel(QLabel):
    def __init__(self, core: Any, parent: QWidget | None = None) -> None:
        super().__init__("personalize", parent)


@pytest.fixture
def with_panels(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.ui import main_window

    monkeypatch.setitem(main_window.PAGES, "library", ("Library", FakeLibraryPanel))
    monkeypatch.setitem(main_window.PAGES, "personalize", ("Personalize", FakePersonalizePanel))
    opened: list[dict[str, Any]] = []
    sources = types.ModuleType("desktop.ui.sources_view")
    sources.sources_html = lambda items, colors=None: "".join(  # type: ignore[attr-defined]
        f'<a href="hearth-source:{i + 1}">S{i + 1}: {s["title"]}</a>' for i, s in enumerate(items)
    )
    sources.open_source = opened.append  # type: ignore[attr-defined]
    sources.opened = opened  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "desktop.ui.sources_view", sources)
    chat_view._sources_module.cache_clear()
    yield
    chat_view._sources_module.cache_clear()


def test_panels_are_embedded_and_documents_dropped_go_to_the_library(
    qtbot: Any, make_window: Any, with_panels: None, tmp_path: Path
) -> None:
    window = make_window()
    assert set(window.mode_buttons) == {"chat", "library", "personalize", "models"}
    window.mode_buttons["personalize"].click()
    assert isinstance(window.modes.currentWidget(), FakePersonalizePanel)
    window.mode_buttons["chat"].click()
    assert window.modes.currentWidget() is window.chat_page
    doc = tmp_path / "notes.txt"
    doc.write_text("hello")
    window.drop_paths([doc])
    panel = window.modes.currentWidget()
    assert isinstance(panel, FakeLibraryPanel)
    assert [Path(p) for p in panel.added] == [doc]
    assert window.mode_buttons["library"].isChecked()


def test_sources_use_sources_view_when_present(qtbot: Any, make_window: Any, with_panels: None) -> None:
    window = make_window()
    history = window.core.history
    conv = history.create_conversation()
    history.add_message(conv.id, "user", "q")
    source = {"kind": "document", "title": "plan.docx", "text": "t"}
    history.add_message(conv.id, "assistant", "a [1]", meta={"sources": [source]})
    window.open_conversation(conv.id)
    widget = window.view.message_widgets()[-1]
    assert "S1: plan.docx" in widget.footer.text()
    widget.footer.linkActivated.emit("hearth-source:1")
    assert sys.modules["desktop.ui.sources_view"].opened == [source]


def test_closing_while_personalizing_hides_to_the_tray(
    qtbot: Any, make_window: Any, with_panels: None
) -> None:
    window = make_window(reply="word " * 400, delay=0.05)
    window.show()
    send(qtbot, window, "Write a long story.")
    qtbot.waitUntil(lambda: window._live is not None and bool(window._live["text"]), timeout=10_000)
    window.mode_buttons["personalize"].click()
    panel = window.modes.currentWidget()
    notes: list[tuple[str, str]] = []
    panel.waits_in_tray = True  # type: ignore[attr-defined]
    panel.notify = lambda title, message: notes.append((title, message))  # type: ignore[attr-defined]
    window.close()
    assert not window.isVisible() and not window._closed
    assert notes and "tray" in notes[0][1]
    wait_idle(qtbot, window)  # the answer being written stopped with the window (kept)
    assert window.core.history.messages(window.conversation_id)[-1].status == "stopped"
    panel.waits_in_tray = False  # type: ignore[attr-defined]
    window.close()
    assert window._closed
