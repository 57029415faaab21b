"""Hybrid retrieval: a BM25 index (bm25s) and dense search, fused by reciprocal rank fusion;
and :class:`Retriever`, which keeps each collection's BM25 index in step with the store.

BM25: bm25s (Lù 2024, arXiv:2407.03618) with Lucene's BM25 variant, k1 = 0.9 and
b = 0.4 (Anserini's defaults, the settings behind BEIR's published BM25 figures),
English stop words and the Snowball English stemmer (PyStemmer), as Anserini's
analyser does with Porter.  A question's paperwork words are also looked for in the other
languages of Europe (:data:`desktop.core.words.PAPERWORK_WORDS`: "invoice" finds a Polish
"Faktura"), which neither the English stemmer nor the English embedding model links.

Fusion: a convex combination of normalized scores (Bruch, Gai and Ingber, "An Analysis of
Fusion Functions for Hybrid Retrieval", ACM TOIS 2023, who find it beats reciprocal rank
fusion and is robust to its one parameter): ``score(d) = a * bm25(d) / max bm25 +
(1 - a) * cos(d) / max cos`` over the query's candidates, with ``a`` = :data:`BM25_SHARE`
(0.4) at the setting ``bm25_weight`` w = 1, and ``a = 0.4 w / (0.4 w + 0.6)`` otherwise.  BM25 is normalized per collection (its
scale depends on the collection's statistics), cosine over all collections.  A candidate
missing from one list gets that list's lowest normalized score.  On SciFact's train split
(809 queries, ``hearth-bench retrieval``, the same index): nDCG@10 0.7092 with RRF (k = 60),
0.7343 at a = 0.4 and 0.7356 at a = 0.5.  On Cranfield (225 queries, binary judgments),
where BM25 is the weaker ranking, RRF gave 0.4308, a = 0.4 0.4295, a = 0.5 0.4211: 0.4
keeps both.

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
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.library.embedder import Embedder, whole_words
from desktop.core.library.store import LibraryStore
from desktop.core.settings import LibrarySettings
from desktop.core.sources import Source
from desktop.core.words import (
    FILE_NAME_SEPARATORS,
    KIND_WORDS,
    STOP_WORDS,
    asked_terms,
    common_words,
    edits1,
    holds_related,
    long_words,
    named_for,
    paperwork_translations,
    sentence_spans,
    terms,
)

BM25_K1 = 0.9
BM25_B = 0.4
#: Candidates taken from each ranking before fusion.
CANDIDATE_DEPTH = 100
#: BM25's share of the fused score at ``bm25_weight`` 1 (see the module's docstring).
BM25_SHARE = 0.4
#: The shortest word a question may have misspelt: shorter ones have too many neighbours
#: one edit away ("cat": bat, cab, cart, ...).
MIN_CORRECTED_LENGTH = 4
_QUERY_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
#: Sentence vectors kept (:meth:`Retriever.similarity`: the relevance filter and the answer's
#: sentence choice embed the same sentences of a question's passages).
TEXT_CACHE = 512
#: Question vectors kept (a question is embedded once for search, the relevance filter
#: and recall).
QUERY_CACHE = 8


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer missing: BM25 without stemming still works
        return None


def _topic_words(query: str) -> set[str]:
    """``query``'s words (lower-case, as BM25 tokenizes them) but those naming the kind of
    answer (:data:`desktop.core.words.KIND_WORDS`: the "number" of "electricans number")."""
    return {m.group(0).lower() for m in _QUERY_WORD.finditer(KIND_WORDS.sub(" ", query))}


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
        # the passages' words as written (the tokenizer's map grows with every query's words),
        # and one of them for each stem
        self._written = frozenset(self._tokenizer.word_to_stem)
        self._word_of_stem = {stem: word for word, stem in self._tokenizer.word_to_stem.items()}

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

    def _stem_id(self, word: str) -> int | None:
        """The index's id of ``word``'s stem (lower-case ``word``); None when no passage holds it."""
        # word_to_stem also caches the words of past queries: a word is indexed when its stem is
        return self._tokenizer.stem_to_sid.get(self._tokenizer.word_to_stem.get(word) or self._stem_of(word))

    def _stem_of(self, word: str) -> str:
        return self._stem.stemWord(word) if self._stem else word

    def holds(self, word: str) -> bool:
        """Whether a passage holds ``word`` (lower-case), or a word of its stem."""
        return self._retriever is not None and self._stem_id(word) is not None

    def mentions(self, query: str) -> bool:
        """Whether a passage holds a content word of ``query`` other than those naming the
        kind of answer (:data:`desktop.core.words.KIND_WORDS`), or a word of its stem."""
        return any(self.holds(w) for w in _topic_words(query) if w not in STOP_WORDS)

    def holds_as_written(self, word: str) -> bool:
        """Whether a passage holds ``word`` (lower-case) itself, not only a word of its stem:
        the French "adresse" has the stem of a misspelt "adress" (eighth new-user trial)."""
        return word in self._written

    def corrections(self, query: str, dictionary: frozenset[str] = frozenset()) -> dict[str, str]:
        """Misspelt words of ``query`` -> the indexed word meant: for each word (lower-case,
        :data:`MIN_CORRECTED_LENGTH` letters or more, no digit, not a stop word, not in
        ``dictionary``: words known to be spelt right) that no passage holds as written, the indexed
        word one edit away (:func:`desktop.core.words.edits1`) found in the most passages
        that hold all the question's other indexed words, or in the most passages where it
        has none ("what am i alergic to", eighth new-user trial).  A word one edit from the
        misspelt word's stem counts too: "electricans" is two edits from "electrician" but
        its stem "electrican" is one (eighth trial).

        "whats the gust wifi pasword" found the router's line: "pasword" is not in the notes
        (sixth new-user trial).  The passage shared with the other words picks the neighbour
        meant where there are several ("pasword" beside "wifi": "password", not "passport")."""
        if self._retriever is None:
            return {}
        sid, indexed, written = self._stem_id, self.holds, self.holds_as_written
        words = [w for w in dict.fromkeys(m.group(0).lower() for m in _QUERY_WORD.finditer(query))
                 if w not in STOP_WORDS]
        unknown = [w for w in words if not written(w) and len(w) >= MIN_CORRECTED_LENGTH
                   and w.isalpha() and w.isascii() and w not in dictionary]
        # the words naming the kind of answer need not be in the passage ("electricans number")
        topic = _topic_words(query)
        known = [w for w in words if w not in unknown and w in topic and indexed(w)]
        if not unknown:
            return {}
        out: dict[str, str] = {}
        with self._lock:
            def holding(word: str) -> np.ndarray:
                return np.asarray(self._retriever.get_scores([sid(word)])) > 0

            # passages with all the other words (with none: any passage)
            together = np.logical_and.reduce([holding(w) for w in known]) if known else np.True_
            for word in unknown:
                # one edit from the word, or from its stem ("electricans": "electrician")
                one_edit = {c for c in edits1(word) if written(c)}
                near = one_edit | {
                    self._word_of_stem[c] for c in edits1(self._stem_of(word)) if c in self._word_of_stem}
                shared = {c: int(np.count_nonzero(together & holding(c))) for c in sorted(near)}
                # of as many passages, one edit from the word as typed before one from its stem:
                # "plumbers" is the notes' "Plumber" (it had been read as "lumber", fifteenth trial)
                best = max(shared, key=lambda c: (shared[c], c in one_edit), default=None)
                # a word of the same stem is found as typed ("sallys": "Sally's")
                if best is not None and shared[best] and sid(best) != sid(word):
                    out[word] = best
        return out


def convex_fusion(
    bm25: Sequence[Sequence[tuple[str, float]]], dense: Sequence[tuple[str, float]], bm25_share: float,
    depth: int | None = None,
) -> list[tuple[str, float]]:
    """Fuse BM25 and dense candidates into one ranking, best first (see the module's
    docstring).

    Args:
        bm25: per collection, (id, BM25 score) pairs; each list is normalized by its own
            maximum.
        dense: (id, cosine similarity) pairs of every collection, normalized by the
            maximum over all of them (when it is positive).
        bm25_share: the BM25 term's weight ``a`` in [0, 1]; the dense term gets ``1 - a``.
        depth: how many pairs each BM25 list was asked for.  Lists all shorter than that
            hold every passage sharing a word with the query, so a candidate missing from
            them has none and scores 0 there; otherwise (or with None) it gets the lowest
            listed score.  With the floor taken from one list of one hit, each of 3,334
            passages of a log file, which share no word with "wifi password", got the
            Wi-Fi note's full BM25 credit and buried it (eleventh new-user trial).

    Returns:
        (id, fused score) pairs, highest first; each id once.
    """
    keyword: dict[str, float] = {}
    for ranking in bm25:
        top = max((score for _, score in ranking), default=0.0)
        if top <= 0:
            continue
        for item, score in ranking:
            keyword[item] = score / top
    complete = depth is not None and all(len(ranking) < depth for ranking in bm25)
    keyword_floor = 0.0 if complete else min(keyword.values(), default=0.0)
    top_sim = max((sim for _, sim in dense), default=0.0)
    scale = top_sim if top_sim > 0 else 1.0
    meaning = {item: sim / scale for item, sim in dense}
    meaning_floor = min(meaning.values(), default=0.0)
    fused = {
        item: bm25_share * keyword.get(item, keyword_floor)
        + (1 - bm25_share) * meaning.get(item, meaning_floor)
        for item in keyword.keys() | meaning.keys()
    }
    return sorted(fused.items(), key=lambda kv: kv[1], reverse=True)


class Retriever:
    """Search over a library's collections: BM25 (cached per collection, see the module's
    docstring) and dense candidates fused (:func:`convex_fusion`), and the chat's relevance
    filter.

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
        self._text_vectors: dict[str, np.ndarray] = {}

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

    def similarity(self, query: str, texts: Sequence[str]) -> list[float]:
        """Cosine similarity (-1 to 1) of ``query`` to each of ``texts``, in order, from
        the library's embedder (its vectors are L2-normalised); [] for no texts.  The
        answering step uses it to choose a passage's sentences
        (:func:`desktop.core.answering.select_evidence`); the last :data:`TEXT_CACHE`
        texts' vectors are kept, as the relevance filter embeds the same sentences."""
        if not texts:
            return []
        with self._lock:
            found = {t: self._text_vectors[t] for t in texts if t in self._text_vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            embedder = self._embedder()
            embed = getattr(embedder, "embed_query", embedder.embed)  # at answer time: never queued
            found.update(zip(missing, np.asarray(embed(missing), dtype=np.float32), strict=True))
            with self._lock:
                self._text_vectors.update((t, found[t]) for t in missing)
                while len(self._text_vectors) > TEXT_CACHE:
                    self._text_vectors.pop(next(iter(self._text_vectors)))
        qvec = self.query_vector(query)
        return [float(found[t] @ qvec) for t in texts]

    def correct_spelling(self, query: str, collections: Sequence[str]) -> str:
        """``query`` with each word that no passage of ``collections`` holds and that is no
        whole word of the embedding model's vocabulary (:func:`.embedder.whole_words`,
        22,501 English words for all-MiniLM-L6-v2) nor a frequent English word
        (:func:`desktop.core.words.common_words`) replaced by the indexed word meant
        (:meth:`BM25Index.corrections`; the first collection that has one decides); ``query``
        itself when nothing is misspelt.  Correcting only non-words is the conservative half
        of spelling correction (Kukich, "Techniques for automatically correcting words in
        text", ACM Computing Surveys 1992): "pasword" and "dentst" are corrected, "gust" is
        not."""
        fixes: dict[str, str] = {}
        # a real word is not corrected ("born" had become the "bon" of a French passage):
        # only words that neither the embedding model's vocabulary nor the list of frequent
        # English words holds are
        dictionary = whole_words(getattr(self._embedder(), "model_dir", None)) | common_words()
        indexes = [self.bm25(name) for name in collections if self.store.manifest.collection(name)]
        for index in indexes:
            for word, fix in index.corrections(query, dictionary).items():
                if not any(other.holds_as_written(word) for other in indexes):  # another collection's word
                    fixes.setdefault(word, fix)
        if not fixes:
            return query
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, fixes)) + r")\b", re.IGNORECASE)

        def respelt(m: re.Match[str]) -> str:  # in the case it was typed in: "Groner" -> "Groener"
            typed, fix = m.group(0), fixes[m.group(0).lower()]
            return fix.upper() if typed.isupper() and len(typed) > 1 else fix.capitalize() if typed[0].isupper() else fix

        return pattern.sub(respelt, query)

    def mentions(self, query: str, collections: Sequence[str]) -> bool:
        """Whether a passage of ``collections`` names something ``query`` asks about
        (:meth:`BM25Index.mentions`): the question is then about the user's own things,
        and a model's general knowledge cannot answer it (``AnswerPlan.make``'s ``named``)."""
        return any(self.bm25(name).mentions(query) for name in collections
                   if self.store.manifest.collection(name))

    def _has_answering_sentence(self, query: str, text: str) -> bool:
        """For a question with one content word ("Where do I work?"), which
        :func:`holds_all_words` does not vouch for: whether ``text`` holds that word and
        one of its sentences has cosine similarity at least :data:`SENTENCE_FLOOR` to
        the question.  A note of many facts ("Car: ...", "Favourite band: ...", "I ...
        work as a nurse") embeds far from each one (cosine 0.22 to "Where do I work?",
        0.45 for its sentence)."""
        if len(set(asked_terms(query))) != 1 or not holds_all_words(query, text, min_words=1):
            return False
        sentences = [text[a:b] for a, b in sentence_spans(text)]
        return max(self.similarity(query, sentences), default=-1.0) >= SENTENCE_FLOOR

    def bm25_ranking(self, collection: str, query: str, depth: int = CANDIDATE_DEPTH) -> list[str]:
        """Chunk ids of ``collection`` by BM25 score for ``query``, best first, at most
        ``depth``."""
        return [i for i, _ in self.bm25(collection).search(query, depth)]

    def dense_scores(self, collection: str, qvec: np.ndarray, depth: int = CANDIDATE_DEPTH) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity to ``qvec``) of ``collection``'s nearest chunks,
        best first, at most ``depth``."""
        store = self.store.vectors(collection)
        n = store.count()
        if not n:
            return []
        res = store.query(query_embeddings=[qvec.tolist()], n_results=min(depth, n), include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def dense_ranking(self, collection: str, qvec: np.ndarray, depth: int = CANDIDATE_DEPTH) -> list[str]:
        """Chunk ids of ``collection`` by cosine similarity to ``qvec``, best first, at most
        ``depth``."""
        return [i for i, _ in self.dense_scores(collection, qvec, depth)]

    def search(self, query: str, collections: Sequence[str], top_k: int) -> list[Source]:
        """Hybrid retrieval: the ``top_k`` best chunks of ``collections`` for ``query``,
        best first.

        BM25 and dense (cosine) candidates of each collection, :data:`CANDIDATE_DEPTH`
        deep, fused by :func:`convex_fusion` (BM25's share from ``settings.bm25_weight``).
        Sources carry file, page, section, offsets and the fused score.
        """
        names = [c for c in collections if self.store.manifest.collection(c)]
        if not query.strip() or not names or top_k <= 0:
            return []
        qvec = self.query_vector(query)
        keyword: list[list[tuple[str, float]]] = []
        meaning: list[tuple[str, float]] = []
        # an invoice's words in the languages of Europe, for the English ones asked with
        # ("When is the invoice due?" of a Polish "Faktura ... Termin płatności")
        lexical = " ".join([query, *paperwork_translations(query)])
        for name in names:
            found = self.bm25(name).search(lexical, CANDIDATE_DEPTH)
            keyword.append([(f"{name}\x00{i}", score) for i, score in found])
            near = self.dense_scores(name, qvec)
            meaning += [(f"{name}\x00{i}", sim) for i, sim in near]
            # a keyword candidate the approximate (HNSW) search did not return gets its exact
            # cosine where that is above the dense list's lowest (which it gets otherwise, as
            # fusion gives any missing candidate): 3,334 near-identical passages of a log
            # trapped the HNSW search, whose best "neighbour" had cosine 0.004 while the
            # medical report's page that BM25 ranked first has 0.525 (eleventh trial)
            listed = {i for i, _ in near}
            missing = [i for i, _ in found if i not in listed]
            if missing:
                floor = min((sim for _, sim in near), default=-1.0)
                got = self.store.vectors(name).get(ids=missing, include=["embeddings"])
                meaning += [(f"{name}\x00{cid}", max(floor, float(np.dot(np.asarray(vec, dtype=np.float32), qvec))))
                            for cid, vec in zip(got["ids"], got["embeddings"], strict=True)]
        weight = BM25_SHARE * max(0.0, self.settings.bm25_weight)
        fused = convex_fusion(keyword, meaning, weight / (weight + 1.0 - BM25_SHARE), CANDIDATE_DEPTH)
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
            extra = {"document_title": row["doc_title"]} if row["doc_title"] else {}
            if row["parent"]:  # an e-mail's attachment: opened through its message
                extra["attached_to"] = row["parent"]
            out.append(Source(
                kind="document", title=Path(row["path"]).name, text=row["text"], path=row["path"],
                page=row["page"], section=row["section"] or None, start=row["start"], end=row["end"],
                score=score, chunk_id=cid, collection=name, extra=extra,
            ))
            if len(out) >= top_k:
                break
        return out

    def relevant(self, query: str, sources: list[Source]) -> list[Source]:
        """The chat's filter over :meth:`search`: drop passages whose cosine similarity
        to the question is under ``settings.min_similarity`` (fusion always fills top-k,
        so an unrelated question would otherwise get unrelated sources) unless they hold
        every content word of the question (:func:`holds_all_words`) or a sentence that
        answers a one-word question (:meth:`_has_answering_sentence`), and passages
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
        abroad = bool(paperwork_translations(query))
        for src in sources:
            vec = vectors.get((src.collection, src.chunk_id))
            if vec is None:
                continue
            similarity = float(np.dot(np.asarray(vec, dtype=np.float32), qvec))
            key = hashlib.sha1(src.text.encode()).hexdigest()
            # the file's name counts too: "What was my blood pressure in the medical
            # report?" dropped the page of "...medical-report.pdf" that reads "Blood
            # Pressure 142/88 mmHg" (eleventh new-user trial)
            named = f"{src.text}\n{FILE_NAME_SEPARATORS.sub(' ', Path(src.title).stem)}"
            # a file named for everything asked is about it: "car.md" for "Summarise my car
            # notes" (cosine 0.27; twelfth new-user trial)
            # nor does it for a passage in another language: one holding the words of an
            # invoice asked about ("invoice number" of a Polish "Faktura nr FV 1/2021") is kept
            if key in seen or (similarity < self.settings.min_similarity and not named_for(query, src.title)
                               and not holds_all_words(query, named, min_words=1 if abroad else MIN_WORDS_HELD)
                               and not self._has_answering_sentence(query, src.text)):
                continue
            seen.add(key)
            src.extra["similarity"] = round(similarity, 4)
            out.append(src)
        return out


#: Fewest content words a question needs for :func:`holds_all_words` to vouch for a passage.
MIN_WORDS_HELD = 2
#: Cosine similarity to a one-word question that a sentence of a passage under the
#: chunk-level floor needs for the passage to be kept (:meth:`Retriever._has_answering_sentence`).
#: Planning probe (squad-a, ``hearth-bench qa``'s split, 300 answerable + 200 left-out
#: questions): no change at 0.40, where keeping any passage with such a sentence, for
#: questions of any length, lowered "not found" for left-out articles 0.800 -> 0.775.
SENTENCE_FLOOR = 0.4


def holds_all_words(query: str, text: str, min_words: int = MIN_WORDS_HELD) -> bool:
    """Whether ``text`` holds every content word of ``query`` (:func:`desktop.core.words.terms`;
    a word also counts inside a longer one of 8 letters or more, as OCR runs words
    together: "DateofService", and as a related word: "Reg" for "registration",
    :func:`desktop.core.words.related`), for a query of at least ``min_words`` of them.

    The embedding of a scanned page's OCR text, or of a form full of labels, can sit
    under the similarity floor while the page says exactly what was asked: "What is the
    date of service?" had cosine 0.23 (floor 0.3) with the scanned medical report's page
    that reads "Date of Service: October28,2024", so Hearth said it could not find it
    and the model invented a date "from general knowledge".  The answering step still
    checks that the quoted sentences cover the question (``answering.coverage``)."""
    wanted = set(asked_terms(query))
    if len(wanted) < min_words:
        return False
    words = set(terms(text))
    if wanted <= words:
        return True
    longer = long_words(text)
    return all(holds_related(t, words, longer) for t in wanted)
