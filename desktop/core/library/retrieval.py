"""Hybrid retrieval's parts: a BM25 index (bm25s) and reciprocal rank fusion.

BM25: bm25s (Lù 2024, arXiv:2407.03618) with Lucene's BM25 variant, k1 = 0.9 and
b = 0.4 (Anserini's defaults, the settings behind BEIR's published BM25 figures),
English stop words and the Snowball English stemmer (PyStemmer), as Anserini's
analyser does with Porter.

Fusion: reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009):
``score(d) = sum over rankings r of w_r / (k + rank_r(d))`` with k = 60 as in the paper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

BM25_K1 = 0.9
BM25_B = 0.4
RRF_K = 60


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer missing: BM25 without stemming still works
        return None


class BM25Index:
    """An in-memory BM25 index over (id, text) pairs.

    Build cost: about a second per 10k chunks here.  Thread-safe for search.
    """

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

        self.ids = [i for i, _ in items]
        self._stem = _stemmer()
        self._tokenizer = bm25s.tokenization.Tokenizer(
            lower=True, stopwords="en", stemmer=self._stem.stemWord if self._stem else None
        )
        self._retriever: Any = None
        self._lock = threading.Lock()
        if self.ids:
            tokens = self._tokenizer.tokenize(
                [t for _, t in items], update_vocab=True, return_as="ids", show_progress=False
            )
            self._retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
            self._retriever.index(tokens, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` best (id, BM25 score) pairs, best first; only positive scores."""
        if self._retriever is None or not query.strip():
            return []
        k = min(k, len(self.ids))
        with self._lock:
            q = self._tokenizer.tokenize([query], update_vocab=False, return_as="ids",
                                         show_progress=False)
            if not q or not any(q[0]):
                return []
            docs, scores = self._retriever.retrieve(q, k=k, show_progress=False, n_threads=1)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Fuse ranked id lists (best first) into one, best first: RRF (Cormack et al. 2009)."""
    scores: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        w = weights[n] if weights is not None else 1.0
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
