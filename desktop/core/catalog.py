"""The curated catalog of downloadable models, and whether each fits this machine.

The catalog is data, not code: ``resources/catalog/models.json`` (its ``provenance``
block says which fields come from the model cards and which are estimates).  Reading it
never touches the network.

Fit rule (:func:`fit_label`), from the model's ``ram_bytes`` (the file, plus the KV cache
at a 4096-token context, plus 0.3 GB for the engine) against this machine:

- ``"fits"``: a GPU that llama.cpp can use has at least ``ram_bytes`` x 1.1 of memory, or
  ``ram_bytes`` is at most half of the RAM: the other half stays for the system, the
  window, the document library and other programs;
- ``"won't fit"``: ``ram_bytes`` is more than 85 % of the RAM (it would swap);
- ``"may be slow"``: anything between, and any model whose file is over 4 GB on a machine
  without a usable GPU: decoding reads every weight once per token, so on a laptop's
  ~20 GB/s memory bandwidth a 4 GB file gives at most about 5 tokens/s; and, without a
  usable GPU, a file over :data:`SLOW_BYTES_PER_CORE` per CPU core: with few cores,
  decoding is bound by arithmetic, not memory.  The built-in model (a 98 MB Q4_1 file)
  decodes at 95 tokens/s on 2 cores of this project's Xeon, about 4.7 GB of weights per
  second per core, so 0.6 GB per core keeps a model near 8 tokens/s at best; a
  2-core machine had been told "gemma-3-4b-it ★ recommended" (eleventh new-user trial).

Personalization rule (:func:`can_personalize`): the architecture must be one the trainer
and the LoRA export support (:data:`PERSONALIZABLE_ARCHITECTURES`), and the training
peak (:func:`training_peak_bytes`) must stay within 60 % of a 16 GB laptop's RAM.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.paths import resource_path

CATALOG_FILE = ("catalog", "models.json")
FIT = "fits"
SLOW = "may be slow"
NO_FIT = "won't fit"
FIT_LABELS = (FIT, SLOW, NO_FIT)
CONTEXT_FOR_RAM = 4096
ENGINE_OVERHEAD_BYTES = 300_000_000
SLOW_FILE_BYTES = 4_000_000_000
SLOW_BYTES_PER_CORE = 600_000_000
# Architectures the trainer loads through transformers' GGUF support and the LoRA export
# maps through gguf's tensor tables; see desktop/core/personalize/export.py.
PERSONALIZABLE_ARCHITECTURES = frozenset({"llama", "gemma3"})
REFERENCE_LAPTOP_RAM = 16 * 1024**3
PERSONALIZE_RAM_SHARE = 0.6
# Training peak RSS = TRAIN_BASE_BYTES + TRAIN_BYTES_PER_PARAMETER x parameters: the line
# through the two peaks measured with `hearth-bench train --model GGUF` (its separate
# peak run: load the GGUF dequantized to fp32, LoRA rank 16, seq_len 256, batch 2, 3
# steps, 1 thread), 2026-12-03 on this project's 2-core machine:
#   SmolLM2-135M (llama, 134.5 M parameters): 2.067 GB
#   Gemma 3 270M (gemma3, 268.1 M parameters): 3.040 GB
# so 7.3 bytes per parameter (fp32 weights, 4 bytes, plus the dequantization's transient
# copy and activations) over 1.09 GB of Python, torch and tokenizer.  An extrapolation
# from two small models: a larger model's activations grow with its width, not only its
# parameter count.
TRAIN_BASE_BYTES = 1_090_000_000
TRAIN_BYTES_PER_PARAMETER = 7.3


class CatalogError(Exception):
    """The catalog file is missing or damaged (the message names it)."""


@dataclass(frozen=True)
class CatalogEntry:
    """One downloadable model.

    Attributes:
        name: Hearth's short name (``hearth models download NAME``).
        family: "Qwen 2.5", "Llama 3.2", ...
        architecture: the GGUF ``general.architecture`` the file must declare.
        parameters: number of weights (model card).
        quantization: llama.cpp's name for the file's quantization ("Q4_K_M").
        repo: hub repository, "owner/name".
        file: file name inside the repository.
        size_bytes: approximate file size in bytes (estimate; the download checks the real one).
        licence: the model's licence.
        context_length: trained context window in tokens (model card).
        kind: "instruct" or "base".
        kv_bytes_per_token: KV-cache bytes per token at f16.
        ram_bytes: RAM needed to chat with it at a 4096-token context (estimate).
        can_personalize: whether Hearth can train an adapter for it on a 16 GB laptop.
        sha256: pinned SHA-256 of the file (hex), or None when only the hub's is checked.
    """

    name: str
    family: str
    architecture: str
    parameters: int
    quantization: str
    repo: str
    file: str
    size_bytes: int
    licence: str
    context_length: int
    kind: str
    kv_bytes_per_token: int
    ram_bytes: int
    can_personalize: bool
    sha256: str | None = None

    @property
    def parameters_label(self) -> str:
        n = self.parameters
        return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def ram_needed(size_bytes: int, kv_bytes_per_token: int, context: int = CONTEXT_FOR_RAM) -> int:
    """Bytes of RAM to chat with a model: file (memory-mapped, all of it is read per
    token) + KV cache for ``context`` tokens + the engine's own buffers (0.3 GB, an
    estimate from llama.cpp's compute buffers at batch 512)."""
    return int(size_bytes + kv_bytes_per_token * context + ENGINE_OVERHEAD_BYTES)


def training_peak_bytes(parameters: int) -> int:
    """Estimated peak RSS in bytes of LoRA training a model of ``parameters`` weights in
    fp32 on the CPU (the rule in the module docstring)."""
    return int(TRAIN_BASE_BYTES + TRAIN_BYTES_PER_PARAMETER * parameters)


def can_personalize(architecture: str, parameters: int) -> bool:
    """Whether Hearth can personalize such a model on a 16 GB laptop (module docstring)."""
    return (
        architecture in PERSONALIZABLE_ARCHITECTURES
        and training_peak_bytes(parameters) <= PERSONALIZE_RAM_SHARE * REFERENCE_LAPTOP_RAM
    )


def personalize_reason(entry: CatalogEntry) -> str:
    """One sentence for the Models page on whether Hearth can personalize ``entry``."""
    if entry.can_personalize:
        return "Hearth can train a personal adapter for this model on a 16 GB laptop."
    if entry.architecture not in PERSONALIZABLE_ARCHITECTURES:
        return (f"Hearth cannot yet train adapters for {entry.family or entry.architecture} models "
                f"(its trainer supports {', '.join(sorted(PERSONALIZABLE_ARCHITECTURES))}).")
    need = training_peak_bytes(entry.parameters) / 1e9
    return (f"Training it would need about {need:.0f} GB of memory, more than "
            f"{PERSONALIZE_RAM_SHARE:.0%} of a 16 GB laptop.")


def recommended(entries: list[CatalogEntry], hardware: Hardware) -> CatalogEntry | None:
    """The model to suggest on ``hardware``: the largest (most parameters, which answer
    better) of those that :func:`fit_label` calls "fits", preferring one Hearth can
    personalize among equals; None when none fits."""
    fitting = [e for e in entries if fit_label(e.ram_bytes, e.size_bytes, hardware) == FIT]
    return max(fitting, key=lambda e: (e.parameters, e.can_personalize), default=None)


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """Read the catalog file (default ``resources/catalog/models.json``).

    Raises:
        CatalogError: the file is missing, not JSON, or an entry lacks a field.
    """
    path = path or resource_path(*CATALOG_FILE)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        items = raw["models"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogError(
            f"The model catalog {path} cannot be read ({exc}). Reinstall Hearth."
        ) from exc
    entries: list[CatalogEntry] = []
    for item in items:
        try:
            entries.append(_entry(item))
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(
                f"The model catalog {path} has a damaged entry {item.get('name', '?')!r} "
                f"({exc}). Reinstall Hearth."
            ) from exc
    return entries


def _entry(item: dict[str, Any]) -> CatalogEntry:
    size = int(item["size_bytes"])
    kv = int(item["kv_bytes_per_token"])
    params = int(item["parameters"])
    arch = str(item["architecture"])
    sha = item.get("sha256")
    return CatalogEntry(
        name=str(item["name"]),
        family=str(item["family"]),
        architecture=arch,
        parameters=params,
        quantization=str(item["quantization"]),
        repo=str(item["repo"]),
        file=str(item["file"]),
        size_bytes=size,
        licence=str(item["licence"]),
        context_length=int(item["context_length"]),
        kind=str(item.get("kind", "instruct")),
        kv_bytes_per_token=kv,
        ram_bytes=int(item.get("ram_bytes") or ram_needed(size, kv)),
        can_personalize=bool(item.get("can_personalize", can_personalize(arch, params))),
        sha256=str(sha).lower() if sha else None,
    )


def find_entry(name: str, entries: list[CatalogEntry] | None = None) -> CatalogEntry | None:
    """The entry called ``name`` (case-insensitive), else None."""
    for entry in entries if entries is not None else load_catalog():
        if entry.name.lower() == name.lower():
            return entry
    return None


@dataclass(frozen=True)
class Hardware:
    """What this machine offers a model.

    Attributes:
        ram_bytes: total physical memory.
        vram_bytes: memory of a GPU that this llama.cpp build can offload to, else 0.
        cpu_cores: physical CPU cores (0: not known, no rule on them).
    """

    ram_bytes: int
    vram_bytes: int = 0
    cpu_cores: int = 0


def detect_hardware() -> Hardware:
    """Total RAM and physical CPU cores (psutil) and, when the llama.cpp build can offload
    to a GPU, the largest NVIDIA GPU's memory as ``nvidia-smi`` reports it (0 otherwise)."""
    import psutil

    ram = int(psutil.virtual_memory().total)
    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 0
    return Hardware(ram_bytes=ram, vram_bytes=_gpu_memory(), cpu_cores=int(cores))


def _gpu_memory() -> int:
    try:
        import llama_cpp

        if not llama_cpp.llama_supports_gpu_offload():
            return 0
    except Exception:
        return 0
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=False,
            env={**os.environ, "LC_ALL": "C"},
        ).stdout
        return max((int(float(x)) * 1024**2 for x in out.split() if x.strip()), default=0)
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def fit_label(ram_bytes: int, size_bytes: int, hardware: Hardware) -> str:
    """"fits", "may be slow" or "won't fit" for a model needing ``ram_bytes`` (file of
    ``size_bytes``) on ``hardware``; the rule is in the module docstring."""
    if hardware.vram_bytes and ram_bytes * 1.1 <= hardware.vram_bytes:
        return FIT
    if ram_bytes > 0.85 * hardware.ram_bytes:
        return NO_FIT
    if hardware.vram_bytes:
        return FIT if ram_bytes <= 0.5 * hardware.ram_bytes else SLOW
    cpu_bound = hardware.cpu_cores and size_bytes > SLOW_BYTES_PER_CORE * hardware.cpu_cores
    if ram_bytes <= 0.5 * hardware.ram_bytes and size_bytes <= SLOW_FILE_BYTES and not cpu_bound:
        return FIT
    return SLOW


def fit_for_file(size_bytes: int, hardware: Hardware) -> str:
    """Fit label for a user's own GGUF file, whose KV cache size is unknown: assumes the
    largest per-token KV cost in the catalog's size class (0.1 MB per token)."""
    return fit_label(ram_needed(size_bytes, 100_000), size_bytes, hardware)
