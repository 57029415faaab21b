"""``--model`` means one thing on every command: use this model for this run, with the
active personal adapter, without making it the saved choice (defect 2 of issue 10)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.engine.isolated import IsolatedBackend
from desktop.core.hashing import file_sha256
from desktop.core.personalize.export import AdapterMetadata, write_gguf_lora
from desktop.core.personalize.registry import AdapterRegistry
from desktop.core.settings import Settings


@pytest.fixture
def other_model(default_model: Path, tmp_path: Path) -> Path:
    """A model the user has not chosen (a copy of the built-in one)."""
    copy = tmp_path / "other.gguf"
    shutil.copyfile(default_model, copy)
    return copy


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, default_model: Path) -> list[Any]:
    """An active adapter made for the built-in model; the adapters the engine is asked to
    apply are recorded (the tiny stand-in adapter is not handed to llama.cpp)."""
    tensors = {"blk.0.attn_q.weight.lora_a": np.zeros((2, 4), np.float32),
               "blk.0.attn_q.weight.lora_b": np.zeros((4, 2), np.float32)}
    meta = AdapterMetadata(file_sha256(default_model), default_model.name, 2, 4.0)
    f = write_gguf_lora(tmp_path / "mine.gguf", tensors, "llama", meta)
    registry = AdapterRegistry()
    registry.add(f, {"heldout_change": -0.1}, name="mine")
    registry.use("mine")
    calls: list[Any] = []
    monkeypatch.setattr(IsolatedBackend, "set_adapters", lambda self, adapters: calls.append(list(adapters)))
    return calls


def _saved() -> tuple[str, list[str]]:
    settings = Settings.load()
    return settings.chat.model_path, list(settings.chat.extra_models)


def test_ask_model_is_not_saved(other_model: Path, applied: list[Any], capsys: Any) -> None:
    before = _saved()
    assert main(["ask", "Say hi.", "--model", str(other_model), "--max-tokens", "4"]) == 0
    assert _saved() == before  # settings.json still names the user's own choice
    assert applied and applied[-1] and applied[-1][0][0].endswith("adapter.gguf")


def test_chat_model_applies_the_active_adapter(other_model: Path, applied: list[Any], capsys: Any) -> None:
    before = _saved()
    assert main(["chat", "Say hi.", "--model", str(other_model), "--max-tokens", "4", "--no-library"]) == 0
    assert _saved() == before
    assert applied and applied[-1] and applied[-1][0][0].endswith("adapter.gguf")
