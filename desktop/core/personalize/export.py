"""Write a PEFT LoRA adapter as a llama.cpp GGUF LoRA adapter (the ``gguf`` package).

Format (llama.cpp's ``convert_lora_to_gguf.py`` and ``src/llama-adapter.cpp``):

- keys ``general.type = "adapter"``, ``general.architecture``, ``adapter.type = "lora"``,
  ``adapter.lora.alpha`` (float32); llama.cpp scales each adapter by ``alpha / r`` times
  the user's scale, so rsLoRA is not used.
- tensors ``{gguf name}.weight.lora_a`` of numpy shape (r, n_in) and ``...lora_b`` of
  numpy shape (n_out, r), float32.  The GGUF name of each adapted Hugging Face module
  (``model.layers.{i}.self_attn.q_proj`` -> ``blk.{i}.attn_q``) comes from the ``gguf``
  package's per-architecture tables (``gguf.TensorNameMap``), and must be one of the
  tensors that architecture has in llama.cpp (``gguf.MODEL_TENSORS``).
- where transformers un-permutes q/k rows when it loads a GGUF of that architecture (its
  ``TENSOR_PROCESSORS`` table maps the architecture to ``LlamaTensorProcessor``, which
  reverses llama.cpp's ``convert_hf_to_gguf.py`` ``LlamaModel.permute``), an adapter
  trained on those weights lives in the Hugging Face row order, so the rows of ``lora_b``
  for q and k are permuted back (n_head for q, n_head_kv for k).  llama: permuted
  (logit-change correlation 0.95 permuted, 0.84 not, ../shared/DESIGN.md); gemma3: not.

Hearth adds its own keys (``hearth.*``): base model SHA-256, rank, creation time and a
JSON data summary, so an adapter made for another base model can be refused.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# The Hugging Face modules Hearth adapts (attention and MLP projections).
ADAPTED_MODULES = (
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
)
TARGET_MODULES = [name.split(".")[-1] for name in ADAPTED_MODULES]

KEY_BASE_SHA256 = "hearth.base_sha256"
KEY_RANK = "hearth.lora.rank"
KEY_CREATED = "hearth.created"
KEY_DATA_SUMMARY = "hearth.data_summary"
KEY_BASE_NAME = "hearth.base_name"

_PEFT_KEY = re.compile(
    r"(?:.*\.)?layers\.(\d+)\.((?:self_attn|mlp)\.\w+)\.lora_([AB])(?:\.default)?\.weight$"
)


class ExportError(Exception):
    """The adapter cannot be written as a llama.cpp adapter (message says why)."""


@dataclass
class AdapterMetadata:
    """What is stored in the adapter's GGUF header besides the tensors.

    Attributes:
        base_sha256: SHA-256 of the base GGUF file (desktop.core.hashing.file_sha256).
        base_name: the base model's file name, for messages.
        rank: LoRA rank r.
        alpha: LoRA alpha (llama.cpp scales by alpha / r).
        created: seconds since the epoch.
        data_summary: what it learned from (files, tokens, ...), stored as JSON.
    """

    base_sha256: str
    base_name: str
    rank: int
    alpha: float
    created: float = field(default_factory=time.time)
    data_summary: dict[str, Any] = field(default_factory=dict)


def permute_rows(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's q/k row permutation (convert_hf_to_gguf.py ``LlamaModel.permute``).

    Args:
        weights: array of shape (n_out, ...) whose rows are n_head heads of head_dim rows.
        n_head: attention heads (for q) ; n_head_kv: key/value heads (used for k).
    Returns:
        the array with, inside each head, the rotary halves interleaved, same shape.
    """
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _model_arch(architecture: str) -> Any:
    import gguf

    for arch, name in gguf.MODEL_ARCH_NAMES.items():
        if name == architecture:
            return arch
    raise ExportError(f"The gguf package does not know the architecture '{architecture}'.")


def gguf_tensor_name(architecture: str, layer: int, module: str, n_layers: int = 0) -> str:
    """llama.cpp's name (``blk.3.attn_q``) for the Hugging Face module ``module``
    (``self_attn.q_proj``) of layer ``layer``, from the gguf package's tables.

    Raises:
        ExportError: the architecture has no such tensor in llama.cpp.
    """
    import gguf

    arch = _model_arch(architecture)
    table = gguf.TensorNameMap(arch, max(n_layers, layer + 1))
    found = table.get_type_and_name(f"model.layers.{layer}.{module}")
    if found is None or found[0] not in gguf.MODEL_TENSORS.get(arch, ()):
        raise ExportError(
            f"llama.cpp's '{architecture}' models have no tensor for {module}; an adapter on "
            "it cannot be exported."
        )
    return found[1]


def permutes_qk(architecture: str) -> bool:
    """Whether transformers un-permutes the q/k rows of this architecture's GGUF weights
    on load (its TENSOR_PROCESSORS table maps it to LlamaTensorProcessor or a subclass),
    so an adapter's q/k lora_b rows must be permuted back for llama.cpp."""
    from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS, LlamaTensorProcessor

    processor = TENSOR_PROCESSORS.get(architecture)
    return isinstance(processor, type) and issubclass(processor, LlamaTensorProcessor)


def lora_tensors(
    state_dict: Mapping[str, Any],
    architecture: str,
    n_head: int,
    n_head_kv: int,
    permute: bool = True,
) -> dict[str, np.ndarray]:
    """Map a PEFT LoRA state dict to llama.cpp tensor names and layouts.

    Args:
        state_dict: PEFT names (``...layers.{i}.self_attn.q_proj.lora_A.weight``) to torch
            tensors or arrays; lora_A is (r, n_in), lora_B is (n_out, r).
        architecture: the base's ``general.architecture``; names come from the gguf
            package's tables for it, and q/k rows are permuted where :func:`permutes_qk`
            says so and ``permute`` (False exists only to test that it matters).
        n_head, n_head_kv: attention and key/value heads of the base model.
    Returns:
        ``blk.{i}.{name}.weight.lora_{a|b}`` -> float32 array.
    Raises:
        ExportError: a tensor that llama.cpp cannot take (embeddings, lm_head, DoRA
            magnitudes), or an incomplete A/B pair.
    """
    out: dict[str, np.ndarray] = {}
    do_permute = permute and permutes_qk(architecture)
    names: dict[tuple[int, str], str] = {}
    for key, value in state_dict.items():
        m = _PEFT_KEY.match(key)
        if m is None:
            raise ExportError(
                f"The adapter has a tensor llama.cpp cannot use ({key}); Hearth trains only "
                "the attention and MLP projections."
            )
        layer, module, ab = int(m.group(1)), m.group(2), m.group(3)
        if module not in ADAPTED_MODULES:
            raise ExportError(f"Unsupported adapted module {module} in {key}.")
        arr = value.detach().float().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        arr = np.ascontiguousarray(arr.astype(np.float32))
        if (layer, module) not in names:
            names[(layer, module)] = gguf_tensor_name(architecture, layer, module)
        gname = names[(layer, module)]
        if ab == "B" and do_permute:
            if module == "self_attn.q_proj":
                arr = np.ascontiguousarray(permute_rows(arr, n_head, n_head))
            elif module == "self_attn.k_proj":
                arr = np.ascontiguousarray(permute_rows(arr, n_head, n_head_kv))
        out[f"{gname}.weight.lora_{ab.lower()}"] = arr
    for name in out:
        twin = name[:-1] + ("b" if name.endswith("a") else "a")
        if twin not in out:
            raise ExportError(f"The adapter is incomplete: {name} has no {twin}.")
    if not out:
        raise ExportError("The adapter has no LoRA tensors.")
    return out


def write_gguf_lora(
    path: Path,
    tensors: Mapping[str, np.ndarray],
    architecture: str,
    meta: AdapterMetadata,
) -> Path:
    """Write ``tensors`` (from :func:`lora_tensors`) as a GGUF LoRA adapter at ``path``.

    Written to a temporary file and renamed, so ``path`` is either absent/old or complete.
    Returns ``path``.
    """
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(tmp, architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(meta.alpha))
        writer.add_name(f"Hearth personal adapter for {meta.base_name}")
        writer.add_string(KEY_BASE_SHA256, meta.base_sha256)
        writer.add_string(KEY_BASE_NAME, meta.base_name)
        writer.add_uint32(KEY_RANK, int(meta.rank))
        writer.add_float64(KEY_CREATED, float(meta.created))
        writer.add_string(KEY_DATA_SUMMARY, json.dumps(meta.data_summary, sort_keys=True))
        for name in sorted(tensors, key=_tensor_order):
            writer.add_tensor(name, tensors[name])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            writer.close()
        except Exception:
            pass
        tmp.unlink(missing_ok=True)
        raise
    return path


def _tensor_order(name: str) -> tuple[int, str]:
    parts = name.split(".")
    return (int(parts[1]) if parts[1].isdigit() else -1, name)


def export_peft_model(
    model: Any, path: Path, meta: AdapterMetadata, permute: bool = True,
    architecture: str | None = None,
) -> Path:
    """Export a PEFT ``PeftModel`` (LoRA on a model loaded from a GGUF) to ``path``.

    Reads n_head / n_head_kv from the model's config.  ``architecture`` is the base GGUF's
    ``general.architecture``; by default it is taken from the config's ``model_type``
    (transformers names Gemma 3's text model "gemma3_text").
    """
    from peft import get_peft_model_state_dict

    config = model.base_model.model.config if hasattr(model, "base_model") else model.config
    arch = architecture or str(getattr(config, "model_type", "llama")).removesuffix("_text")
    n_head = int(config.num_attention_heads)
    n_head_kv = int(getattr(config, "num_key_value_heads", None) or n_head)
    tensors = lora_tensors(get_peft_model_state_dict(model), arch, n_head, n_head_kv, permute)
    return write_gguf_lora(path, tensors, arch, meta)


def read_adapter_metadata(path: Path) -> dict[str, Any]:
    """The scalar header keys of a GGUF adapter file (bounded reader, fast).

    Raises:
        desktop.core.models.ModelError: not a readable GGUF file.
    """
    from desktop.core.models import read_gguf_info

    info = read_gguf_info(path)
    return dict(info.metadata)
