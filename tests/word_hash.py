"""A deterministic stand-in embedder for tests where the vectors are beside the point
(chunks, settings, the memory view): each word adds one to one of 16 dimensions, chosen
by the sum of its UTF-8 bytes, then the vector is L2-normalised."""

from __future__ import annotations

import numpy as np


class WordHashEmbedder:
    """Embeds ``texts`` as ``(len(texts), 16)`` float32 unit vectors; ``name`` is the
    model name the library records (another name re-indexes)."""

    dimension = 16

    def __init__(self, name: str = "word-hash") -> None:
        self.name = name

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, sum(w.encode()) % self.dimension] += 1
            out[i] /= max(1e-6, float(np.linalg.norm(out[i])))
        return out
