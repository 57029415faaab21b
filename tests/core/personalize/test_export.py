from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.core.personalize.export import (
    AdapterMetadata,
    ExportError,
    lora_tensors,
    permute_rows,
    write_gguf_lora,
)

N_HEAD, N_KV, HEAD_DIM, HIDDEN, R = 4, 2, 8, 32, 4


def fake_state(layers: int = 2) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out: dict[str, torch.Tensor] = {}
    shapes = {"self_attn.q_proj": (N_HEAD * HEAD_DIM, HIDDEN), "self_attn.k_proj": (N_KV * HEAD_DIM, HIDDEN),
              "self_attn.v_proj": (N_KV * HEAD_DIM, HIDDEN), "self_attn.o_proj": (HIDDEN, N_HEAD * HEAD_DIM),
              "mlp.gate_proj": (64, HIDDEN), "mlp.up_proj": (64, HIDDEN), "mlp.down_proj": (HIDDEN, 64)}
    for i in range(layers):
        for mod, (n_out, n_in) in shapes.items():
            pre = f"base_model.model.model.layers.{i}.{mod}"
            out[f"{pre}.lora_A.weight"] = torch.randn(R, n_in, generator=g)
            out[f"{pre}.lora_B.weight"] = torch.randn(n_out, R, generator=g)
    return out


def test_permutation_matches_llama_cpp_converter() -> None:
    # convert_hf_to_gguf.py LlamaModel.permute on a head of 4 rows [a0 a1 b0 b1] -> [a0 b0 a1 b1]
    w = np.arange(8, dtype=np.float32).reshape(8, 1)
    assert permute_rows(w, 2, 2)[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    assert permute_rows(w, 4, 2)[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]  # k uses n_head_kv


def test_gguf_adapter_reads_back_with_keys_shapes_and_permutation(tmp_path: Path) -> None:
    import gguf

    state = fake_state()
    tensors = lora_tensors(state, "llama", N_HEAD, N_KV)
    meta = AdapterMetadata(base_sha256="ab" * 32, base_name="base.gguf", rank=R, alpha=8.0,
                           created=1700000000.0, data_summary={"documents": 3})
    path = write_gguf_lora(tmp_path / "a.gguf", tensors, "llama", meta)
    reader = gguf.GGUFReader(path)

    def field(key: str):
        f = reader.fields[key]
        return f.contents() if hasattr(f, "contents") else f.parts[f.data[0]]

    assert field("general.type") == "adapter"
    assert field("general.architecture") == "llama"
    assert field("adapter.type") == "lora"
    assert float(field("adapter.lora.alpha")) == 8.0
    assert field("hearth.base_sha256") == "ab" * 32
    assert int(field("hearth.lora.rank")) == R
    assert json.loads(field("hearth.data_summary")) == {"documents": 3}
    assert reader.fields["adapter.lora.alpha"].types == [gguf.GGUFValueType.FLOAT32]
    by_name = {t.name: t for t in reader.tensors}
    assert len(by_name) == 2 * 7 * 2
    q_b = by_name["blk.1.attn_q.weight.lora_b"]
    assert tuple(q_b.data.shape) == (N_HEAD * HEAD_DIM, R)  # numpy (out, r); GGUF ne = [r, out]
    assert tuple(by_name["blk.1.attn_q.weight.lora_a"].data.shape) == (R, HIDDEN)
    hf_q = state["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"].numpy()
    hf_k = state["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"].numpy()
    np.testing.assert_array_equal(q_b.data, permute_rows(hf_q, N_HEAD, N_HEAD))
    np.testing.assert_array_equal(by_name["blk.1.attn_k.weight.lora_b"].data, permute_rows(hf_k, N_HEAD, N_KV))
    assert not np.array_equal(q_b.data, hf_q)
    hf_v = state["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"].numpy()
    np.testing.assert_array_equal(by_name["blk.1.attn_v.weight.lora_b"].data, hf_v)  # v untouched
    assert not list(tmp_path.glob(".*tmp"))


def test_refuses_what_llama_cpp_cannot_use() -> None:
    state = fake_state(1)
    with pytest.raises(ExportError, match="cannot use"):
        lora_tensors({**state, "base_model.model.lm_head.lora_A.weight": torch.zeros(R, HIDDEN)}, "llama", N_HEAD, N_KV)
    state.pop("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight")
    with pytest.raises(ExportError, match="incomplete"):
        lora_tensors(state, "llama", N_HEAD, N_KV)
