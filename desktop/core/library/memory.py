"""Conversation memory: finished exchanges stored for recall in later conversations.

Each exchange is one vector (of "Question: ...\\nAnswer: ...", cut at 2,000 characters) in
the store's ``hearth-memory`` collection and one manifest row; recall is a cosine search
with a similarity floor (:data:`MEMORY_MIN_SIMILARITY`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from desktop.core.answering import is_statement
from desktop.core.library.embedder import Embedder
from desktop.core.library.store import LibraryStore
from desktop.core.sensitive import mentions_secret
from desktop.core.settings import LibrarySettings
from desktop.core.sources import Source

#: A past exchange is recalled only when its cosine similarity to the question reaches this.
MEMORY_MIN_SIMILARITY = 0.45
MEMORY_MAX_SOURCES = 2
#: Candidates looked at per memory source wanted (:meth:`Memory.recall`).
RECALL_DEPTH = 5


def memory_title(when: float) -> str:
    """'your conversation of 12 March' (the year added when not this year)."""
    d = datetime.fromtimestamp(when)
    title = f"your conversation of {d.day} {d.strftime('%B')}"
    if d.year != datetime.now().year:
        title += f" {d.year}"
    return title


def memory_id(conversation_id: int, question: str, answer: str) -> str:
    """The id an exchange is stored under: SHA-1 of conversation, question and answer (24 hex
    digits), so storing it twice replaces it and forgetting finds it."""
    return hashlib.sha1(f"{conversation_id}\x00{question}\x00{answer}".encode()).hexdigest()[:24]


class Memory:
    """Past exchanges: remember, recall, forget.

    Args:
        store: where vectors and rows live.
        settings: ``memory_enabled`` turns remembering on or off.
        embedder: returns the embedding model (loaded on first use).
        query_vector: the question's unit vector, shape (dim,), shared with retrieval so a
            question is embedded once.
    """

    def __init__(self, store: LibraryStore, settings: LibrarySettings, embedder: Callable[[], Embedder],
                 query_vector: Callable[[str], np.ndarray]) -> None:
        self.store = store
        self.settings = settings
        self._embedder = embedder
        self._query_vector = query_vector

    def remember(self, conversation_id: int, title: str, question: str, answer: str) -> None:
        """Store a finished exchange for recall; ``answer`` is "" where only what the user
        said is kept (its reply was stopped).  A no-op when memory is off, and for an
        exchange that holds or asks for a secret, :func:`desktop.core.sensitive.mentions_secret`:
        "What is my Wi-Fi password?" answered from a note is kept in the chat's history
        but not copied into memory, where it would outlive the note and come back under
        other questions; the fourth new-user trial found the password there).

        Raises:
            OSError: ENOSPC when the disk is (nearly) full (the chat keeps the exchange in
                its history; it is only not recalled).
        """
        if not self.settings.memory_enabled or not question.strip():
            return
        if mentions_secret(question) or mentions_secret(answer):
            return
        # what the user told Hearth is recalled by their words alone: the reply beside it
        # ("I'm sorry for the confusion, ...") pulled "my favourite football team is Leeds
        # United" under the floor for "Which football team do I support?" (0.40; alone 0.50,
        # eleventh new-user trial)
        text = question.strip() if is_statement(question) else f"Question: {question.strip()}\nAnswer: {answer.strip()}"
        vec = self._embedder().embed([text[:2000]])
        self.store.add_memory(memory_id(conversation_id, question, answer), vec, conversation_id, title,
                              question, answer, time.time())

    def forget_conversation(self, conversation_id: int) -> None:
        """Drop a conversation's exchanges from memory (when it is deleted)."""
        self.store.delete_memories(self.store.manifest.memory_ids(conversation_id))

    def forget(self, conversation_id: int, question: str, answer: str) -> None:
        """Drop one exchange from memory (its reply was regenerated or edited away)."""
        self.store.delete_memories([memory_id(conversation_id, question, answer)])  # as remember() stored it

    def recall(self, query: str, limit: int = MEMORY_MAX_SOURCES,
               exclude_conversation: int | None = None) -> list[Source]:
        """Past exchanges similar to ``query`` (cosine similarity of at least
        :data:`MEMORY_MIN_SIMILARITY`), most similar first, as memory sources: at most
        ``limit`` things the user stated and ``limit`` other exchanges, from the
        ``limit * RECALL_DEPTH`` nearest; never from conversation ``exclude_conversation``.

        A source's text says who said what ("You said: ...", "Hearth said earlier: ...");
        ``extra["user_text"]`` holds the user's words alone, which is all the chat keeps
        when documents answer the question (Hearth's own replies may be wrong and must not
        outrank the user's files).
        """
        store = self.store.memory_vectors()
        n = store.count()
        if not n or not query.strip():
            return []
        qvec = self._query_vector(query)
        where = ({"conversation_id": {"$ne": exclude_conversation}}
                 if exclude_conversation is not None else None)
        # a deeper list, so that questions asked before do not crowd out what the user
        # stated: after "Which football team do I support?" had been asked twice, the two
        # exchanges were the nearest and the fact told earlier was not recalled (twelfth
        # new-user trial); up to ``limit`` statements and ``limit`` other exchanges are kept
        res = store.query(query_embeddings=[qvec.tolist()], n_results=min(limit * RECALL_DEPTH, n),
                          include=["distances"], where=where)
        out = []
        kept = {True: 0, False: 0}
        for mid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
            similarity = 1.0 - float(dist)
            if similarity < MEMORY_MIN_SIMILARITY:
                continue
            r = self.store.manifest.memory(mid)
            if r is None:
                continue
            stated = is_statement(r["question"])
            if kept[stated] >= limit:
                continue
            kept[stated] += 1
            out.append(Source(
                kind="memory", title=memory_title(r["created_at"]),
                text=f"You said: {r['question']}" + (f"\nHearth said earlier: {r['answer']}" if r["answer"] else ""),
                score=similarity,
                chunk_id=mid, collection="memory",
                extra={"conversation_id": r["conversation_id"], "conversation_title": r["title"],
                       "user_text": f"You said: {r['question']}",
                       "date": datetime.fromtimestamp(r["created_at"]).isoformat(timespec="minutes")},
            ))
        return out

    def memories(self) -> list[dict[str, Any]]:
        """Everything memory holds, newest first, for "What does Hearth know?".

        Returns:
            one dict per stored exchange, with at least ``id`` (str), ``conversation_id``
            (int), ``title`` (the conversation's title when stored), ``question``,
            ``answer`` and ``created_at`` (Unix seconds): the columns of the
            ``memories`` table.
        """
        return [dict(r) for r in self.store.manifest.memories()]

    def forget_memory(self, memory_id: str) -> bool:
        """Remove one stored exchange from memory (its vector and its row); it is never
        recalled again.  Returns False when there was no such memory."""
        if self.store.manifest.memory(memory_id) is None:
            return False
        self.store.delete_memories([memory_id])
        return True

    def count(self) -> int:
        """Exchanges whose vectors are stored (for checks: equals ``len(memories())`` when
        the store and the manifest are in step)."""
        return int(self.store.memory_vectors().count())
