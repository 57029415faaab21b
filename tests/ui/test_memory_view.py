""""What does Hearth know?" in Settings: the memories listed (what was said, which
conversation, when), each removable, and the switch that turns memory off.  Real
Library (chromadb, SQLite); the embedder is a word-hash stand-in, since what the vectors
mean is beside the point of listing and forgetting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QLabel, QWidget

from desktop.core.library import Library
from desktop.core.settings import LibrarySettings, Settings
from desktop.ui.settings_dialog import SettingsDialog
from tests.word_hash import WordHashEmbedder


@pytest.fixture
def library(tmp_path: Path) -> Any:
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=WordHashEmbedder())
    lib.remember(3, "Dentist", "My dentist is Dr. Okafor on Tuesday at 14:30.", "Noted: Tuesday 14:30.")
    lib.remember(5, "Car", "The car needs a service in March.", "I will remember the March service.")
    yield lib
    lib.close()


def test_settings_list_memories_and_forget_one(qtbot: Any, library: Any) -> None:
    settings = Settings()
    settings.library = library.settings
    dialog = SettingsDialog(settings, library=library)
    qtbot.addWidget(dialog)
    view = dialog.memory_view
    assert dialog.tabs.tabText(dialog.tabs.indexOf(view)) == "What does Hearth know?"
    assert view.count() == 2
    rows = {view.tree.topLevelItem(i).text(1): view.tree.topLevelItem(i) for i in range(2)}
    assert "Dr. Okafor" in rows["Dentist"].text(0) and rows["Dentist"].text(2)  # what, which, when
    assert "\nHearth: " in rows["Dentist"].text(0)  # the answer on its own line, not cut short
    assert "2 exchanges" in view.summary.text()
    assert not view.forget_button.isEnabled()

    rows["Dentist"].setSelected(True)
    assert view.forget_button.isEnabled()
    assert view.detail.text().startswith("You: ") and "Dr. Okafor" in view.detail.text()  # in full
    store_before = library.memory.count()
    view.forget_button.click()
    assert view.count() == 1 and view.tree.topLevelItem(0).text(1) == "Car"
    assert [m["title"] for m in library.memories()] == ["Car"]
    assert library.memory.count() == store_before - 1  # the vector is gone too
    assert library.forget_memory("no-such-id") is False


def test_memory_switch_in_settings_turns_memory_off(qtbot: Any, library: Any) -> None:
    settings = Settings()
    settings.library = library.settings
    dialog = SettingsDialog(settings, library=library)
    qtbot.addWidget(dialog)
    assert dialog.memory_view.switch.isChecked()
    dialog.memory_view.switch.setChecked(False)
    dialog.apply()
    assert Settings.load().library.memory_enabled is False
    assert library.settings.memory_enabled is False
    library.remember(9, "Later", "Something new to remember here.", "Fine.")
    assert len(library.memories()) == 2  # nothing new is stored while memory is off


def test_without_a_library_the_view_says_so(qtbot: Any) -> None:
    dialog = SettingsDialog(Settings(), library=None)
    qtbot.addWidget(dialog)
    assert "not available" in dialog.memory_view.summary.text()
    assert not dialog.memory_view.switch.isEnabled()


def test_the_settings_dialog_lays_out_without_overlap(qtbot: Any, library: Any) -> None:
    """Seen on the real window's screenshots: the hint under the system prompt was drawn
    half under the prompt box, the three groups' fields started at three different x,
    and the memory list cut "What was said" to a few words."""
    dialog = SettingsDialog(Settings(), library=library, save=lambda: None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    prompt = dialog.widgets["system_prompt"]
    hint = dialog.findChild(QLabel, "settingsHint")
    assert hint is not None

    def rect(w: QWidget) -> QRect:
        return QRect(w.mapTo(dialog, QPoint(0, 0)), w.size())

    assert not rect(hint).intersects(rect(prompt))
    assert hint.height() >= hint.sizeHint().height()
    xs = {rect(dialog.widgets[name]).x() for name in ("temperature", "n_ctx", "theme")}
    assert len(xs) == 1, xs
    dialog.tabs.setCurrentWidget(dialog.memory_view)
    qtbot.waitUntil(lambda: dialog.memory_view.tree.isVisible())
    tree = dialog.memory_view.tree
    said = tree.columnWidth(0)
    assert said >= tree.viewport().width() // 2, (said, tree.viewport().width())
