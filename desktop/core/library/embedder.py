"""Embedders: a small interface (embed a batch of texts) and the real one.

:class:`SentenceEmbedder` runs all-MiniLM-L6-v2 (or another sentence-transformers folder)
offline on the CPU.  Its torch threads are capped (default: all cores but one) so that
the chat, whose llama.cpp threads spin (../shared/DESIGN.md), keeps a core while a folder
indexes.  Batches are encoded under a lock; a question asked while a batch is being
encoded does not wait for it: :meth:`SentenceEmbedder.embed_query` then uses a second
copy of the model (loaded on the first such question; about 90 MB).
"""

from __future__ import annotations

import hashlib
import threading
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


def model_identity(model_dir: Path) -> str:
    """A stable name for a sentence-transformers folder: its base name plus a hash of its
    config.json and the weights' size (changes whenever the model does)."""
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        p = model_dir / name
        if p.is_file():
            h.update(p.read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        p = model_dir / name
        if p.is_file():
            h.update(str(p.stat().st_size).encode())
    base = model_dir.name if model_dir.name != "model" else model_dir.parent.name
    return f"{base}@{h.hexdigest()[:12]}"


class SentenceEmbedder:
    """sentence-transformers on the CPU, loaded on first use.

    Args:
        model_dir: a sentence-transformers model folder (local; nothing is downloaded).
        threads: torch intra-op threads (0: :func:`default_embed_threads`).
        batch_size: texts per forward pass.

    Raises (on first use):
        FileNotFoundError: the folder is not a usable model.
    """

    def __init__(self, model_dir: Path, threads: int = 0, batch_size: int = 32) -> None:
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise FileNotFoundError(
                f"{self.model_dir} is not a sentence-transformers model folder (no config.json). "
                "Check the library's embedding model setting."
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
        from sentence_transformers import SentenceTransformer

        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        torch.set_num_threads(self.threads)
        return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer (loads it on first access)."""
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
#: steps, so a step is what an answer may have to share the cores with.  Measured here
#: (ONNX int8, 2 threads, SciFact chunks, a busy machine): 8.7 chunks/s in steps of 8,
#: 9.5 in 16, 8.9 in 32 (the same within noise), the longest step 1.6 s, 2.6 s, 5.5 s.
EMBED_STEP = 8


def embed_in_batches(embedder: Embedder, texts: list[str], batch_size: int = EMBED_STEP) -> Any:
    """Yield (done, total) while embedding ``texts`` in length-sorted batches; the last
    item yielded is the (len(texts), dim) array in input order.

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
        done += len(idx)
        yield (done, len(texts))
    if out is None:
        out = np.zeros((0, getattr(embedder, "dimension", 384)), dtype=np.float32)
    yield out
