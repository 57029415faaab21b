"""Which architectures Hearth personalizes, and how their adapters are named: from the
gguf package's tables and transformers' GGUF processors, not hand-written lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.bench.fileserver import make_gguf
from desktop.core.personalize.controller import PersonalizeController
from desktop.core.personalize.export import ExportError, gguf_tensor_name, permutes_qk
from desktop.core.personalize.trainer import TrainingError, check_personalizable


def test_tensor_names_come_from_the_gguf_tables() -> None:
    assert gguf_tensor_name("llama", 3, "self_attn.q_proj") == "blk.3.attn_q"
    assert gguf_tensor_name("gemma3", 17, "mlp.down_proj") == "blk.17.ffn_down"
    assert gguf_tensor_name("gemma3", 0, "self_attn.o_proj") == "blk.0.attn_output"
    with pytest.raises(ExportError, match="does not know the architecture 'nonesuch'"):
        gguf_tensor_name("nonesuch", 0, "self_attn.q_proj")


def test_qk_permutation_follows_transformers_gguf_loader() -> None:
    assert permutes_qk("llama")
    assert not permutes_qk("gemma3")


def test_unsupported_architecture_is_refused_before_training(tmp_path: Path) -> None:
    qwen = make_gguf(tmp_path / "qwen.gguf", "qwen2", weights=1000)
    with pytest.raises(TrainingError, match="architecture 'qwen2'"):
        check_personalizable(qwen)
    ctl = PersonalizeController(tmp_path / "run")
    with pytest.raises(TrainingError, match="qwen2"):
        ctl.prepare([("a.txt", "some text " * 50)], qwen)
    assert not (tmp_path / "run" / "job.json").exists()


def test_supported_architectures_pass_and_memory_is_checked(tmp_path: Path) -> None:
    llama = make_gguf(tmp_path / "llama.gguf", "llama", weights=1000)
    assert check_personalizable(llama) == "llama"
    gemma = make_gguf(tmp_path / "gemma.gguf", "gemma3", weights=1000)
    assert check_personalizable(gemma) == "gemma3"
    with pytest.raises(TrainingError, match="needs about 1.1 GB of memory"):
        check_personalizable(llama, ram_bytes=1_000_000_000)
