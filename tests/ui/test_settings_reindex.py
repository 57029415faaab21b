"""Passage size and overlap in Settings: the two fields in the Library group, and OK asks
"Re-index now?" before changing them; Cancel keeps the old values, Re-index applies them
and the library's files wait to be re-indexed.  Real Library (chromadb, SQLite, the
parser process) on two small files; the embedder is a word-hash stand-in, since what the
vectors mean is beside the point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QWidget

from desktop.core.library import Library
from desktop.core.settings import LibrarySettings, Settings
from desktop.ui.settings_dialog import SettingsDialog, describe
from tests.word_hash import WordHashEmbedder


@pytest.fixture
def settings() -> Settings:
    out = Settings()
    out.library = LibrarySettings(ocr_enabled=False)
    return out


@pytest.fixture
def library(tmp_path: Path, settings: Settings, shared_data: Path) -> Any:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.md").write_bytes((shared_data / "docs" / "md_markitdown-README.md").read_bytes())
    (folder / "garden.txt").write_text("The tomatoes in the north bed need watering every Tuesday.\n",
                                       encoding="utf-8")
    lib = Library(tmp_path / "store", settings.library, embedder=WordHashEmbedder())
    final = list(lib.index_paths([folder]))[-1]
    assert final.kind == "done"
    yield lib
    lib.close()


def ok(dialog: SettingsDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_cancel_keeps_the_passage_size_and_reindex_applies_it(qtbot: Any, settings: Settings,
                                                               library: Library) -> None:
    saves: list[int] = []
    dialog = SettingsDialog(settings, library=library, save=lambda: saves.append(1))
    qtbot.addWidget(dialog)
    dialog.open()
    size, overlap = dialog.chunk_tokens, dialog.chunk_overlap
    tab = dialog.tabs.findChild(QWidget, "librarySettingsTab")
    assert dialog.tabs.tabText(dialog.tabs.indexOf(tab)) == "Library" and tab.isAncestorOf(size)
    assert (size.value(), overlap.value()) == (222, 32)
    assert size.toolTip() == describe(LibrarySettings, "chunk_tokens") and "re-indexes" in size.toolTip()
    assert overlap.toolTip() == describe(LibrarySettings, "chunk_overlap_tokens")
    assert (size.minimum(), size.maximum(), overlap.maximum()) == (64, 222, 111)
    chunks_before = library.chunk_count("default")

    size.setValue(64)
    assert overlap.maximum() == 32  # at most half the passage size
    ok(dialog)
    box = dialog.reindex_box
    assert box is not None and box.isVisible()
    assert "Changing the passage size means reading all 2 files of your library again" in box.text()
    assert f"{chunks_before} passages now" in box.text() and box.text().endswith("Re-index now?")
    box.button(box.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: dialog.reindex_box is None)
    assert dialog.isVisible() and (size.value(), overlap.value()) == (222, 32)  # nothing changed
    assert (settings.library.chunk_tokens, settings.library.chunk_overlap_tokens) == (222, 32)
    assert {f.state for f in library.files()} == {"indexed"} and library.chunk_count("default") == chunks_before
    assert not saves

    size.setValue(64)
    overlap.setValue(8)
    ok(dialog)
    box = dialog.reindex_box
    assert box is not None
    button = box.findChild(QPushButton, "confirmReindexButton")
    assert button.text() == "Re-index"
    button.click()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    dialog.apply()  # what the window does when the dialog is accepted
    assert dialog.reindex_needed and saves
    assert (settings.library.chunk_tokens, settings.library.chunk_overlap_tokens) == (64, 8)
    assert {f.state for f in library.files()} == {"stale"}
    final = list(library.reindex_pending())[-1]  # what the window's Library page runs next
    assert final.kind == "done"
    assert {f.state for f in library.files()} == {"indexed"}
    assert library.chunk_count("default") > chunks_before


def test_no_question_when_nothing_would_be_reindexed(qtbot: Any, settings: Settings) -> None:
    dialog = SettingsDialog(settings, library=None, save=lambda: None)
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.chunk_tokens.setValue(128)
    ok(dialog)
    assert dialog.reindex_box is None and dialog.result() == QDialog.DialogCode.Accepted
    dialog.apply()
    assert settings.library.chunk_tokens == 128 and not dialog.reindex_needed


def test_the_window_reindexes_after_the_user_agreed(qtbot: Any, tmp_path: Path, shared_data: Path) -> None:
    from desktop.core.app import HearthCore
    from desktop.core.engine.fake import ScriptedBackend
    from desktop.ui.library_panel import LibraryPanel
    from desktop.ui.main_window import MainWindow

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.md").write_bytes((shared_data / "docs" / "md_markitdown-README.md").read_bytes())
    settings = Settings()
    settings.ui.welcome_done = True
    settings.library.ocr_enabled = False
    core = HearthCore(settings=settings, engine=ScriptedBackend())
    try:
        assert core.library is not None
        assert list(core.library.index_paths([folder]))[-1].kind == "done"
        before = core.library.chunk_count("default")
        window = MainWindow(core)
        qtbot.addWidget(window)
        window.show()
        panel = window.show_mode("library")
        assert isinstance(panel, LibraryPanel) and core.watcher is not None
        # the watcher's start-up catch-up is over: what re-indexes below is the window
        qtbot.waitUntil(lambda: core.watcher.running and core.watcher.idle(), timeout=60_000)
        dialog = window.open_settings()
        dialog.chunk_tokens.setValue(96)
        ok(dialog)
        box = dialog.reindex_box
        assert box is not None and "all 1 files" not in box.text() and "the one file" in box.text()
        with qtbot.waitSignal(panel.indexing_started, timeout=10_000):
            box.findChild(QPushButton, "confirmReindexButton").click()
        qtbot.waitUntil(lambda: not panel.running and {f.state for f in core.library.files()} == {"indexed"},
                        timeout=120_000)
        assert Settings.load().library.chunk_tokens == 96  # saved
        assert core.library.chunk_count("default") > before
        window.close()
    finally:
        core.close()
