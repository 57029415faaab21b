"""Hybrid retrieval: a BM25 index (bm25s) and dense search, fused by reciprocal rank fusion;
and :class:`Retriever`, which keeps each collection's BM25 index in step with the store.

BM25: bm25s (Lù 2024, arXiv:2407.03618) with Lucene's BM25 variant, k1 = 0.9 and
b = 0.4 (Anserini's defaults, the settings behind BEIR's published BM25 figures),
English stop words and the Snowball English stemmer (PyStemmer), as Anserini's
analyser does with Porter.

Fusion: reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009):
``score(d) = sum over rankings r of w_r / (k + rank_r(d))`` with k = 60 as in the paper.

Cache: a collection's BM25 index is rebuilt when the store's version of the collection
(:meth:`.store.LibraryStore.version`, bumped by every commit) differs from the version it
was built at.  A rebuild takes about a second per 10,000 chunks, and while a folder
indexes the version changes with every group of files; so a stale index keeps answering
while one thread builds the next (dense retrieval sees new chunks at once, and chunks
removed since are dropped from the results), and whoever finished writing calls
:meth:`Retriever.refresh` so that searches after it are exact.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.library.embedder import Embedder
from desktop.core.library.store import LibraryStore
from desktop.core.settings import LibrarySettings
from desktop.core.sources import Source

BM25_K1 = 0.9
BM25_B = 0.4
RRF_K = 60
#: Candidates taken from each ranking before fusion.
CANDIDATE_DEPTH = 100
#: Question vectors kept (a question is embedded once for search, the relevance filter
#: and recall).
QUERY_CACHE = 8


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


class Retriever:
    """Search over a library's collections: BM25 (cached per collection, see the module's
    docstring) and dense rankings fused by RRF, and the chat's relevance filter.

    Args:
        store: the library's store (chunks, vectors, versions).
        settings: ``top_k``, ``bm25_weight`` and ``min_similarity``.
        embedder: returns the embedding model (loaded on first use).

    Thread-safe: the window searches while indexing runs on another thread.
    """

    def __init__(self, store: LibraryStore, settings: LibrarySettings, embedder: Callable[[], Embedder]) -> None:
        self.store = store
        self.settings = settings
        self._embedder = embedder
        self._bm25: dict[str, tuple[int, BM25Index]] = {}
        self._lock = threading.Lock()
        self._building: set[str] = set()
        self._query_vectors: dict[str, np.ndarray] = {}

    # -- BM25 cache ----------------------------------------------------------------------

    def bm25(self, collection: str) -> BM25Index:
        """The collection's BM25 index: the cached one when it matches the store's version;
        else, when there is a cached one, that one while the next is built on a thread;
        else one built now."""
        version = self.store.version(collection)
        with self._lock:
            cached = self._bm25.get(collection)
            if cached is not None:
                if cached[0] != version and collection not in self._building:
                    self._building.add(collection)
                    threading.Thread(target=self._build, args=(collection,), daemon=True,
                                     name=f"bm25-{collection}").start()
                return cached[1]
            self._building.add(collection)
        return self._build(collection)

    def cached_version(self, collection: str) -> int | None:
        """The store version the cached BM25 index of ``collection`` was built at (None:
        none cached)."""
        with self._lock:
            cached = self._bm25.get(collection)
        return cached[0] if cached is not None else None

    def refresh(self, collection: str) -> None:
        """Bring a cached BM25 index up to the store's version now (writers call this when
        they finish, so the next search is exact); no-op when none is cached."""
        with self._lock:
            cached = self._bm25.get(collection)
        if cached is not None and cached[0] != self.store.version(collection):
            with self._lock:
                self._building.add(collection)
            self._build(collection)

    def forget(self, collection: str) -> None:
        """Drop the cache of a deleted collection."""
        with self._lock:
            self._bm25.pop(collection, None)

    def _build(self, collection: str) -> BM25Index:
        try:
            version = self.store.version(collection)
            index = BM25Index(self.store.manifest.chunks(collection))
            with self._lock:
                cached = self._bm25.get(collection)
                if cached is None or cached[0] <= version:  # a slower, older build loses
                    self._bm25[collection] = (version, index)
            return index
        finally:
            with self._lock:
                self._building.discard(collection)

    # -- rankings ------------------------------------------------------------------------

    def query_vector(self, query: str) -> np.ndarray:
        """The question's vector, shape (dim,), float32; a question is embedded once for
        search, the relevance filter and recall (the last :data:`QUERY_CACHE` are kept),
        and never waits for an indexing batch."""
        with self._lock:
            cached = self._query_vectors.get(query)
        if cached is not None:
            return cached
        embedder = self._embedder()
        embed = getattr(embedder, "embed_query", embedder.embed)
        vec = np.asarray(embed([query])[0], dtype=np.float32)
        with self._lock:
            self._query_vectors[query] = vec
            while len(self._query_vectors) > QUERY_CACHE:
                self._query_vectors.pop(next(iter(self._query_vectors)))
        return vec

    def bm25_ranking(self, collection: str, query: str, depth: int = CANDIDATE_DEPTH) -> list[str]:
        """Chunk ids of ``collection`` by BM25 score for ``query``, best first, at most
        ``depth``."""
        return [i for i, _ in self.bm25(collection).search(query, depth)]

    def dense_ranking(self, collection: str, qvec: np.ndarray, depth: int = CANDIDATE_DEPTH) -> list[str]:
        """Chunk ids of ``collection`` by cosine similarity to ``qvec``, best first, at most
        ``depth``."""
        store = self.store.vectors(collection)
        n = store.count()
        if not n:
            return []
        res = store.query(query_embeddings=[qvec.tolist()], n_results=min(depth, n), include=["distances"])
        return list(res["ids"][0])

    def search(self, query: str, collections: Sequence[str], top_k: int) -> list[Source]:
        """Hybrid retrieval: the ``top_k`` best chunks of ``collections`` for ``query``,
        best first.

        BM25 and dense (cosine) rankings of each collection, :data:`CANDIDATE_DEPTH` deep,
        fused by RRF (BM25 weighted ``settings.bm25_weight``, dense 1).  Sources carry
        file, page, section, offsets and the fused score.
        """
        names = [c for c in collections if self.store.manifest.collection(c)]
        if not query.strip() or not names or top_k <= 0:
            return []
        qvec = self.query_vector(query)
        rankings: list[list[str]] = []
        weights: list[float] = []
        for name in names:
            rankings.append([f"{name}\x00{i}" for i in self.bm25_ranking(name, query)])
            weights.append(self.settings.bm25_weight)
            dense = self.dense_ranking(name, qvec)
            if dense:
                rankings.append([f"{name}\x00{i}" for i in dense])
                weights.append(1.0)
        fused = reciprocal_rank_fusion(rankings, weights=weights)
        out: list[Source] = []
        by_collection: dict[str, list[str]] = {}
        wanted = fused[: top_k * 2]
        for key, _ in wanted:
            name, cid = key.split("\x00", 1)
            by_collection.setdefault(name, []).append(cid)
        rows = {name: self.store.manifest.chunk_rows(name, ids) for name, ids in by_collection.items()}
        for key, score in wanted:
            name, cid = key.split("\x00", 1)
            row = rows[name].get(cid)
            if row is None:  # removed since the BM25 index was built
                continue
            out.append(Source(
                kind="document", title=Path(row["path"]).name, text=row["text"], path=row["path"],
                page=row["page"], section=row["section"] or None, start=row["start"], end=row["end"],
                score=score, chunk_id=cid, collection=name,
                extra={"document_title": row["doc_title"]} if row["doc_title"] else {},
            ))
            if len(out) >= top_k:
                break
        return out

    def relevant(self, query: str, sources: list[Source]) -> list[Source]:
        """The chat's filter over :meth:`search`: drop passages whose cosine similarity
        to the question is under ``settings.min_similarity`` (RRF always fills top-k,
        so an unrelated question would otherwise get unrelated sources), and passages
        whose text repeats an earlier one (the same file in two collections).  The
        similarity is stored in each kept source's ``extra["similarity"]``."""
        if not sources:
            return []
        qvec = self.query_vector(query)
        by_collection: dict[str, list[str]] = {}
        for src in sources:
            by_collection.setdefault(src.collection, []).append(src.chunk_id)
        vectors: dict[tuple[str, str], Any] = {}
        for name, ids in by_collection.items():
            got = self.store.vectors(name).get(ids=ids, include=["embeddings"])
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                vectors[(name, cid)] = vec
        out, seen = [], set()
        for src in sources:
            vec = vectors.get((src.collection, src.chunk_id))
            if vec is None:
                continue
            similarity = float(np.dot(np.asarray(vec, dtype=np.float32), qvec))
            key = hashlib.sha1(src.text.encode()).hexdigest()
            if similarity < self.settings.min_similarity or key in seen:
                continue
            seen.add(key)
            src.extra["similarity"] = round(similarity, 4)
            out.append(src)
        return out
