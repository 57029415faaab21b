from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from desktop.core.engine.fake import ScriptedBackend
from desktop.core.hashing import file_sha256
from desktop.core.personalize import apply_active_adapter
from desktop.core.personalize.export import AdapterMetadata, write_gguf_lora
from desktop.core.personalize.registry import AdapterError, AdapterMismatch, AdapterRegistry
from desktop.core.settings import Settings


def make_adapter(tmp: Path, base: Path, name: str = "a.gguf") -> Path:
    tensors = {"blk.0.attn_q.weight.lora_a": np.zeros((2, 4), np.float32),
               "blk.0.attn_q.weight.lora_b": np.zeros((4, 2), np.float32)}
    meta = AdapterMetadata(base_sha256=file_sha256(base), base_name=base.name, rank=2, alpha=4)
    return write_gguf_lora(tmp / name, tensors, "llama", meta)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    p = tmp_path / "base.gguf"
    p.write_bytes(b"GGUF pretend model")
    return p


def test_add_use_off_rollback(tmp_path: Path, base: Path) -> None:
    reg = AdapterRegistry()
    assert reg.root.parent.name == "data" and reg.list() == []
    a = reg.add(make_adapter(tmp_path, base), {"heldout_change": -0.2}, name="first")
    b = reg.add(make_adapter(tmp_path, base), {"heldout_change": -0.3}, name="second")
    assert [e.name for e in reg.list()] == ["first", "second"]
    assert json.loads((a.path.parent / "report.json").read_text())["heldout_change"] == -0.2
    assert reg.active_name is None
    reg.use("first", base)
    reg.use("second", base)
    assert reg.active_name == "second" and reg.get("second").active
    assert reg.rollback().name == "first"
    assert reg.active_name == "first"
    reg.off()
    assert reg.active_name is None
    assert reg.rollback().name == "first"  # brings back what was switched off
    assert reg.rollback() is None and reg.active_name is None
    with pytest.raises(AdapterError, match="no adapter called"):
        reg.use("nope")
    assert b.base_sha256 == file_sha256(base)


def test_a_crash_while_adding_leaves_no_partial_adapter(tmp_path: Path, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = AdapterRegistry()
    reg.add(make_adapter(tmp_path, base), {}, name="good")
    real_replace = os.replace

    def crash(src, dst):  # the power goes out just before the rename
        if Path(dst).parent == reg.root and Path(dst).name == "new":
            raise OSError("simulated crash")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        reg.add(make_adapter(tmp_path, base), {}, name="new")
    monkeypatch.setattr(os, "replace", real_replace)
    # a leftover temporary folder (as after a real crash) is invisible and cleaned up
    (reg.root / ".incoming-x-1").mkdir()
    reg2 = AdapterRegistry()
    assert [e.name for e in reg2.list()] == ["good"]
    assert not [p for p in reg2.root.iterdir() if p.name.startswith(".incoming")]
    assert (reg.root / "good" / "adapter.gguf").exists()


def test_adapter_for_another_base_model_is_refused(tmp_path: Path, base: Path) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF another model")
    reg = AdapterRegistry()
    reg.add(make_adapter(tmp_path, base), {}, name="mine")
    with pytest.raises(AdapterMismatch, match="trained for base.gguf, not for other.gguf"):
        reg.use("mine", other)
    reg.use("mine", base)

    engine = ScriptedBackend()
    calls: list[list[tuple[str, float]]] = []
    engine.set_adapters = calls.append  # type: ignore[method-assign]
    settings = Settings()
    settings.personalization.adapter_scale = 0.5
    core = SimpleNamespace(settings=settings, engine=engine, current_model_path=lambda: base)
    assert apply_active_adapter(core) == "mine"
    assert calls[-1] == [(str(reg.root / "mine" / "adapter.gguf"), 0.5)]
    settings.personalization.adapter_enabled = False
    assert apply_active_adapter(core) is None and calls[-1] == []
    settings.personalization.adapter_enabled = True
    core.current_model_path = lambda: other
    with pytest.raises(AdapterMismatch):
        apply_active_adapter(core)
    assert calls[-1] == []  # nothing from another model stays applied
