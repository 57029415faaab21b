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
