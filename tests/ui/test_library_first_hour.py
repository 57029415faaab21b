"""The Library page before anything was added (issue 12): no "0 / 1 files", and the
file dialogs open in the user's Documents or home, not where Hearth was started."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from desktop.core.app import HearthCore
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.models import DEFAULT_MODEL_NAME, default_model_path, read_gguf_info
from desktop.ui import library_panel
from desktop.ui.library_panel import LibraryPanel, start_folder


@pytest.fixture
def core() -> Any:
    c = HearthCore(engine=ScriptedBackend())
    yield c
    c.close()


def test_empty_library_shows_no_file_count(qtbot: Any, core: Any) -> None:
    panel = LibraryPanel(core, watch=False)
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.progress_bar.isTextVisible()
    assert "0 / 1" not in panel.progress_bar.text() or not panel.progress_bar.isTextVisible()
    assert "Drop documents here" in panel.status_label.text()
    # idle: no empty bar with greyed-out Pause/Cancel, no empty box under "No files skipped"
    assert not panel.progress_row.isVisible()
    assert panel.skipped_label.text() == "No files skipped"
    assert not panel.skipped_list.isVisible()


def test_indexing_shows_progress_then_says_what_happened_in_words(
    qtbot: Any, core: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "Dentist.md").write_text("Dr. Alvarez, Elm Street clinic, 14 March at 9:30.", encoding="utf-8")
    (folder / "Car.md").write_text("Blue 2016 Skoda Octavia; next service at 90,000 km.", encoding="utf-8")
    panel = LibraryPanel(core, watch=False)
    qtbot.addWidget(panel)
    panel.show()
    shown: list[bool] = []
    panel.indexing_started.connect(lambda: shown.append(panel.progress_row.isVisible()))
    with qtbot.waitSignal(panel.indexing_finished, timeout=300_000):
        panel.add_paths([folder])
    qtbot.waitUntil(lambda: not panel.running)
    assert shown == [True]
    assert not panel.progress_row.isVisible()
    assert panel.status_label.text() == "Added 2 files to your library."
    assert "2 files ready to search" in panel.files_label.text()
    with qtbot.waitSignal(panel.indexing_finished, timeout=300_000):
        panel.add_paths([folder])  # nothing changed
    assert panel.status_label.text() == "Your library is up to date: 2 files, nothing new."
    assert "file(s)" not in panel.status_label.text() and "chunks" not in panel.status_label.text()


def test_done_text_counts_in_words() -> None:
    assert library_panel.done_text({"indexed": 1, "unchanged": 0, "removed": 2, "skipped": [{}]}) == (
        "Added 1 file to your library, took out 2 files that no longer exist; 1 file skipped (see below).")
    assert library_panel.done_text({"indexed": 0, "unchanged": 0, "removed": 0}) == "Your library is up to date."


def test_add_folder_opens_in_documents_or_home(
    qtbot: Any, core: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(home / "Documents"))
    monkeypatch.chdir(tmp_path)  # where Hearth was started: never offered
    assert Path(start_folder()) in (home / "Documents", home)
    asked: list[str] = []
    monkeypatch.setattr(library_panel.QFileDialog, "getExistingDirectory",
                        lambda parent, title, folder: asked.append(folder) or "")
    panel = LibraryPanel(core, watch=False)
    qtbot.addWidget(panel)
    panel.add_folder_button.click()
    assert asked and Path(asked[0]) != Path(os.getcwd())
    assert Path(asked[0]) in (home / "Documents", home)


def test_built_in_model_has_a_human_name() -> None:
    path = default_model_path()
    if path is None:
        pytest.skip("built-in model not installed")
    info = read_gguf_info(path)
    assert info.name == DEFAULT_MODEL_NAME == "SmolLM2 135M Instruct (built-in)"
    assert info.summary().startswith("SmolLM2 135M Instruct (built-in) · llama")
