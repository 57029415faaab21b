"""Embedders: a small interface (embed a batch of texts) and the real one.

:class:`SentenceEmbedder` runs all-MiniLM-L6-v2 (or another sentence-transformers folder)
offline on the CPU.  Its torch threads are capped (default: all cores but one) so that
the chat, whose llama.cpp threads spin (../shared/DESIGN.md), keeps a core while a folder
indexes.  Batches are encoded under a lock; a question asked while a batch is being
encoded does not wait for it: :meth:`SentenceEmbedder.embed_query` then uses a second
copy of the model (loaded on the first such question; about 90 MB).

It runs the model with transformers and torch directly (BERT, mean pooling over the
unmasked tokens, L2 normalisation: what the folder's modules.json describes for
all-MiniLM-L6-v2), without importing sentence-transformers, whose evaluation modules
import scikit-learn and SciPy: the installers leave all three out (about 30 MB of the
download).  A folder with other modules (CLS pooling, a Dense layer, ...) still goes
through sentence-transformers where it is installed.

The installers ship the model without its PyTorch weights (:func:`weightless_copy`, 87 MiB
less): the installed app embeds with the int8 ONNX copy shipped beside it, whose vectors
are the same on every processor (:mod:`desktop.core.library.onnx_embedder`), and needs the
folder only for its tokenizer and configuration.  :func:`model_identity` names the copy as
the model it came from.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into unit-length vectors.

    Attributes:
        name: identifies the model; a collection made by another name is re-indexed.
        dimension: length of each vector.
    """

    name: str
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts``: float32 array of shape (len(texts), dimension), L2-normalised."""
        ...


def default_embed_threads() -> int:
    """Every core (:func:`desktop.core.threads.background_threads`): indexing pauses while
    the chat answers instead of leaving a core idle."""
    from desktop.core.threads import background_threads

    return background_threads()


#: written by :func:`weightless_copy` beside the configuration: the weights it left out
SOURCE_NOTE = "hearth-source.json"
#: the PyTorch weight files a sentence-transformers folder may hold
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _source_weight_sizes(model_dir: Path) -> dict[str, int]:
    """The weights' sizes in bytes recorded by :func:`weightless_copy` (``{}`` for an
    ordinary folder)."""
    note = model_dir / SOURCE_NOTE
    if not note.is_file():
        return {}
    try:
        data = json.loads(note.read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in data.get("source_bytes", {}).items()}
    except (ValueError, AttributeError, TypeError):
        return {}


def has_weights(model_dir: Path) -> bool:
    """Whether the folder holds PyTorch weights (a :func:`weightless_copy` does not)."""
    return any((Path(model_dir) / name).is_file() for name in WEIGHT_FILES)


def model_identity(model_dir: Path) -> str:
    """A stable name for a sentence-transformers folder: its base name plus a hash of its
    config.json and the weights' size (changes whenever the model does).  A copy without
    weights (:func:`weightless_copy`) counts the sizes it recorded, so it has the identity
    of its source: collections indexed by either are not re-indexed, and the int8 ONNX
    copy converted from the source is found for it."""
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        p = model_dir / name
        if p.is_file():
            h.update(p.read_bytes())
    recorded = _source_weight_sizes(model_dir)
    for name in WEIGHT_FILES:
        p = model_dir / name
        if name in recorded:
            h.update(str(recorded[name]).encode())
        elif p.is_file():
            h.update(str(p.stat().st_size).encode())
    base = model_dir.name if model_dir.name != "model" else model_dir.parent.name
    return f"{base}@{h.hexdigest()[:12]}"


def weightless_copy(model_dir: Path, target: Path) -> Path:
    """Copy the sentence-transformers folder ``model_dir`` to ``target`` without its PyTorch
    weights (:data:`WEIGHT_FILES`), with a :data:`SOURCE_NOTE` recording their sizes, so that
    :func:`model_identity` gives the copy its source's identity.  The installers ship this
    copy (all-MiniLM-L6-v2: 87 MiB less) beside the int8 ONNX copy that embeds.

    Returns:
        ``target``.

    Raises:
        FileNotFoundError: ``model_dir`` holds no weights (nothing to record).
    """
    model_dir, target = Path(model_dir), Path(target)
    sizes = {name: (model_dir / name).stat().st_size for name in WEIGHT_FILES if (model_dir / name).is_file()}
    if not sizes:
        raise FileNotFoundError(f"{model_dir} holds no weights ({', '.join(WEIGHT_FILES)}): nothing to copy from")
    shutil.copytree(model_dir, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*WEIGHT_FILES, SOURCE_NOTE))
    note = {"source_bytes": sizes, "weights": "not shipped",
            "why": "a smaller download; the int8 ONNX copy embeds (desktop.core.library.embedder.weightless_copy)"}
    (target / SOURCE_NOTE).write_text(json.dumps(note, indent=1) + "\n", encoding="utf-8")
    return target


@lru_cache(maxsize=4)
def whole_words(model_dir: Path | None) -> frozenset[str]:
    """The whole words (letters only, not "##" continuations) of the word-piece vocabulary
    in ``model_dir``'s tokenizer.json: 22,501 for all-MiniLM-L6-v2, a list of common English
    words that the question's spelling correction leaves alone.  Empty when there is no
    folder or no readable vocabulary."""
    if model_dir is None:
        return frozenset()
    try:
        vocab = json.loads((Path(model_dir) / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    except (TypeError, OSError, ValueError, KeyError):
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and not w.startswith("##"))


def _mean_pooling_folder(model_dir: Path) -> bool:
    """True if the folder's modules.json is Transformer -> Pooling (mean tokens only) ->
    Normalize (or has no modules.json): what :class:`SentenceEmbedder` runs without
    sentence-transformers."""
    modules = model_dir / "modules.json"
    if not modules.is_file():
        return False
    try:
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in json.loads(modules.read_text(encoding="utf-8"))]
        pooling = next(m["path"] for m in json.loads(modules.read_text(encoding="utf-8"))
                       if str(m["type"]).endswith("Pooling"))
        config = json.loads((model_dir / pooling / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return False
    modes = {k for k, v in config.items() if k.startswith("pooling_mode_") and v}
    return kinds == ["Transformer", "Pooling", "Normalize"] and modes == {"pooling_mode_mean_tokens"}


def _max_seq_length(model_dir: Path, default: int = 256) -> int:
    """``max_seq_length`` of the folder's sentence_bert_config.json (word pieces)."""
    try:
        data = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(data.get("max_seq_length") or default)
    except (OSError, ValueError, TypeError):
        return default


class _MeanPooledBert:
    """transformers' model and the folder's tokenizer: ``encode`` as sentence-transformers'
    does for a Transformer -> mean Pooling -> Normalize folder (texts sorted by length,
    batches padded to their longest text, mean over the unmasked tokens, L2 norm)."""

    def __init__(self, model_dir: Path) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import AutoModel

        self.torch = torch
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(_max_seq_length(model_dir))
        self.tokenizer.no_padding()
        self.model = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                               dtype=torch.float32).eval()

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int = 32, **_: Any) -> np.ndarray:
        torch = self.torch
        rows = [e.ids for e in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]), reverse=True)
        out = np.zeros((len(rows), self.get_sentence_embedding_dimension()), dtype=np.float32)
        with torch.inference_mode():
            for b in range(0, len(order), batch_size):
                idx = order[b:b + batch_size]
                width = max(len(rows[i]) for i in idx)
                ids = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for j, i in enumerate(idx):
                    ids[j, :len(rows[i])] = torch.tensor(rows[i])
                    mask[j, :len(rows[i])] = 1
                hidden = self.model(input_ids=ids, attention_mask=mask,
                                    token_type_ids=torch.zeros_like(ids))[0]
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out


class SentenceEmbedder:
    """A sentence-transformers folder on the CPU with PyTorch, loaded on first use (a mean
    pooling folder such as all-MiniLM-L6-v2 runs without the sentence-transformers package,
    see the module's docstring).

    Args:
        model_dir: a sentence-transformers model folder (local; nothing is downloaded).
        threads: torch intra-op threads (0: :func:`default_embed_threads`).
        batch_size: texts per forward pass.

    Raises:
        FileNotFoundError: the folder is not a model, or holds no weights (an installed
            Hearth ships only the int8 ONNX copy: :func:`weightless_copy`).
    """

    def __init__(self, model_dir: Path, threads: int = 0, batch_size: int = 32) -> None:
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise FileNotFoundError(
                f"{self.model_dir} is not a sentence-transformers model folder (no config.json). "
                "Check the library's embedding model setting."
            )
        if not has_weights(self.model_dir):
            raise FileNotFoundError(
                f"{self.model_dir} holds no PyTorch weights: an installed Hearth embeds with the "
                "model's int8 ONNX copy only. Set library.embed_backend back to \"onnx\" in the settings."
            )
        self.name = model_identity(self.model_dir)
        self.dimension = 384
        self.threads = threads or default_embed_threads()
        self.batch_size = batch_size
        self._model: Any = None
        self._load_lock = threading.Lock()
        self.encode_lock = threading.Lock()
        self._query_model: Any = None
        self._query_lock = threading.Lock()

    def _load(self) -> Any:
        from desktop.core.privacy import go_offline

        go_offline()
        import torch

        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        torch.set_num_threads(self.threads)
        if _mean_pooling_folder(self.model_dir):
            return _MeanPooledBert(self.model_dir)
        from sentence_transformers import SentenceTransformer  # other pooling, extra layers

        return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    @property
    def model(self) -> Any:
        """The loaded model (loads it on first access): an object with ``encode``."""
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
                get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
                dim = get_dim()
                self.dimension = int(dim) if dim else self.dimension
            return self._model

    def _encode(self, model: Any, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), 384), float32.  One lock-held batch at a time."""
        model = self.model
        with self.encode_lock:
            return self._encode(model, texts)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        """Like :meth:`embed`, for a question: never waits for an indexing batch (a second
        copy of the model answers while the first is busy)."""
        model = self.model
        if self.encode_lock.acquire(blocking=False):
            try:
                return self._encode(model, texts)
            finally:
                self.encode_lock.release()
        with self._query_lock:
            if self._query_model is None:
                self._query_model = self._load()
            return self._encode(self._query_model, texts)

    def close(self) -> None:
        self._model = self._query_model = None


#: Chunks per embedding step of an indexing run.  Indexing pauses for the chat between
#: steps, so a step is what an answer may have to share the cores with.  Measured on the
#: int8 ONNX embedder (2 threads, 1000 SciFact abstracts, 2135 chunks, 2026-12-05): steps
#: of 8 left the cores idle 2.3 s of 24.6 s between steps (each step ends when its slowest
#: text does, then progress and pause are handled); 32 takes about 0.3 s a step here.
EMBED_STEP = 32


def embed_in_batches(embedder: Embedder, texts: list[str], batch_size: int = EMBED_STEP,
                     on_batch: Callable[[list[int], np.ndarray], None] | None = None) -> Any:
    """Yield (done, total) while embedding ``texts`` in length-sorted batches; the last
    item yielded is the (len(texts), dim) array in input order.  ``on_batch`` is called
    with each batch's indexes into ``texts`` and its (len(indexes), dim) vectors.

    Sorting by length before batching is what sentence-transformers' encode does inside
    one call (less padding); doing it here lets progress, cancel and pause happen between
    batches and lets a chat question take the model between two batches.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    out: np.ndarray | None = None
    done = 0
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        vecs = embedder.embed([texts[i] for i in idx])
        if out is None:
            out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
        out[idx] = vecs
        if on_batch is not None:
            on_batch(idx, vecs)
        done += len(idx)
        yield (done, len(texts))
    if out is None:
        out = np.zeros((0, getattr(embedder, "dimension", 384)), dtype=np.float32)
    yield out
