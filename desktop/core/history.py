"""Chat history in SQLite.

WAL journal, ``synchronous=NORMAL`` (durable across an application crash, which is what
kill -9 is; see sqlite.org/wal.html), named forward-only migrations recorded in
``schema_migrations``.  A user's message is committed when sent; the assistant's reply
is inserted as "streaming" and its text committed as it grows, so a killed process
leaves every earlier message and the partial reply.  On the next open, replies left
"streaming" are marked "interrupted".

Message status: "complete", "streaming", "stopped" (the user pressed Stop),
"interrupted" (the app died), "error" (the engine failed; the text says why).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import storage

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_conversations_and_messages",
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT 'New chat',
            system_prompt TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete',
            created_at REAL NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
        """,
    ),
    (
        "0002_conversation_options",
        """
        ALTER TABLE conversations ADD COLUMN collections TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE conversations ADD COLUMN use_library INTEGER NOT NULL DEFAULT 1;
        """,
    ),
    (
        "0003_message_search",
        """
        CREATE VIRTUAL TABLE message_search USING fts5(
            content, content='messages', content_rowid='id', tokenize='unicode61'
        );
        INSERT INTO message_search(rowid, content) SELECT id, content FROM messages;
        CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
            INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
        END;
        CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
            INSERT INTO message_search(message_search, rowid, content)
                VALUES ('delete', old.id, old.content);
        END;
        CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO message_search(message_search, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
        END;
        """,
    ),
]


class HistoryError(Exception):
    """The history database cannot be opened or written; the message says what to do."""


class DiskFullError(HistoryError):
    """The disk holding the history is full.  Nothing already saved is lost; writing
    works again once space is freed."""


@dataclass
class Conversation:
    id: int
    title: str
    system_prompt: str
    created_at: float
    updated_at: float
    collections: list[str] = field(default_factory=list)
    use_library: bool = True


@dataclass
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    status: str
    created_at: float
    model: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


class History:
    """The conversation store.  Thread-safe: one connection guarded by a lock.

    Args:
        path: the SQLite file (created 0600 with its folder).
    Raises:
        HistoryError: the file is not a database or cannot be written.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self._db = storage.connect(self.path)
            storage.migrate(self._db, self._lock, MIGRATIONS)
            self._recover()
        except storage.MigrationError as exc:
            raise HistoryError(f"The chat history could not be upgraded: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise HistoryError(
                f"The chat history {self.path} cannot be opened ({exc}). Your other data is "
                "safe; move this file aside to start a new history."
            ) from exc

    # -- infrastructure -------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            with storage.transaction(self._db, self._lock) as db:
                yield db
        except sqlite3.OperationalError as exc:
            if storage.is_disk_full(exc):
                raise DiskFullError(
                    f"The disk holding your chat history ({self.path.parent}) is full, so "
                    "the last change could not be saved. Free some space; everything saved "
                    "before is intact."
                ) from exc
            raise HistoryError(f"The chat history could not be saved: {exc}.") from exc

    def applied_migrations(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def _recover(self) -> None:
        with self._tx() as db:
            db.execute("UPDATE messages SET status='interrupted' WHERE status='streaming'")

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.DatabaseError:
                pass
            self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conversations --------------------------------------------------------------

    def create_conversation(
        self, title: str = "New chat", system_prompt: str = "", collections: list[str] | None = None
    ) -> Conversation:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO conversations(title, system_prompt, created_at, updated_at, collections) "
                "VALUES (?, ?, ?, ?, ?)",
                (title, system_prompt, now, now, json.dumps(collections or [])),
            )
            cid = int(cur.lastrowid or 0)
        return self.get_conversation(cid)

    def get_conversation(self, conversation_id: int) -> Conversation:
        with self._lock:
            row = self._db.execute("SELECT * FROM conversations WHERE id=?", (conversation_id,)).fetchone()
        if row is None:
            raise KeyError(f"no conversation {conversation_id}")
        return _conversation(row)

    def list_conversations(self) -> list[Conversation]:
        """Newest activity first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM conversations ORDER BY updated_at DESC, id DESC").fetchall()
        return [_conversation(r) for r in rows]

    def update_conversation(self, conversation_id: int, **fields: Any) -> Conversation:
        """Change title, system_prompt, collections (list) or use_library (bool)."""
        allowed = {"title", "system_prompt", "collections", "use_library"}
        sets, values = [], []
        for key, value in fields.items():
            if key not in allowed:
                raise ValueError(f"unknown conversation field {key}")
            if key == "collections":
                value = json.dumps(list(value))
            if key == "use_library":
                value = int(bool(value))
            sets.append(f"{key}=?")
            values.append(value)
        if sets:
            with self._tx() as db:
                db.execute(
                    f"UPDATE conversations SET {', '.join(sets)}, updated_at=? WHERE id=?",
                    (*values, time.time(), conversation_id),
                )
        return self.get_conversation(conversation_id)

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        return self.update_conversation(conversation_id, title=title.strip() or "Untitled")

    def delete_conversation(self, conversation_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM messages WHERE conversation_id=?", (conversation_id,))
            db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))

    def search(self, text: str, limit: int = 50) -> list[tuple[Conversation, Message]]:
        """Conversations whose messages or titles contain ``text``: (conversation, best
        matching message) pairs, most relevant first.  Words are matched as prefixes."""
        words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
        results: list[tuple[Conversation, Message]] = []
        seen: set[int] = set()
        with self._lock:
            if words:
                query = " ".join(f'"{w}"*' for w in words)
                rows = self._db.execute(
                    "SELECT m.* FROM message_search s JOIN messages m ON m.id = s.rowid "
                    "WHERE message_search MATCH ? ORDER BY rank LIMIT ?",
                    (query, limit * 4),
                ).fetchall()
            else:
                rows = []
            title_rows = self._db.execute(
                "SELECT * FROM conversations WHERE title LIKE ? ORDER BY updated_at DESC LIMIT ?",
                (f"%{text.strip()}%", limit),
            ).fetchall() if text.strip() else []
        for row in rows:
            msg = _message(row)
            if msg.conversation_id in seen:
                continue
            seen.add(msg.conversation_id)
            results.append((self.get_conversation(msg.conversation_id), msg))
        for row in title_rows:
            conv = _conversation(row)
            if conv.id not in seen:
                seen.add(conv.id)
                msgs = self.messages(conv.id)
                if msgs:
                    results.append((conv, msgs[0]))
        return results[:limit]

    def insert_conversation(
        self,
        title: str,
        system_prompt: str,
        created_at: float,
        updated_at: float,
        messages: list[dict[str, Any]],
        collections: list[str] | None = None,
        use_library: bool = True,
    ) -> Conversation:
        """Add a whole conversation with its own timestamps in one transaction (for
        import): either all of it is saved or none.

        Args:
            messages: dicts with role ("system", "user" or "assistant"), content, and
                optionally status, created_at (Unix seconds), model, meta.
        Returns:
            the new conversation (a new id; nothing existing is changed).
        """
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO conversations(title, system_prompt, created_at, updated_at, collections, "
                "use_library) VALUES (?, ?, ?, ?, ?, ?)",
                (title, system_prompt, created_at, updated_at, json.dumps(collections or []),
                 int(bool(use_library))),
            )
            cid = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO messages(conversation_id, role, content, status, created_at, model, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (cid, m["role"], m["content"], m.get("status", "complete"),
                     float(m.get("created_at", created_at)), m.get("model", ""),
                     json.dumps(m.get("meta") or {}))
                    for m in messages
                ],
            )
        return self.get_conversation(cid)

    # -- messages -------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        status: str = "complete",
        model: str = "",
        meta: dict[str, Any] | None = None,
    ) -> Message:
        """Append a message and commit it."""
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO messages(conversation_id, role, content, status, created_at, model, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, status, now, model, json.dumps(meta or {})),
            )
            db.execute("UPDATE conversations SET updated_at=? WHERE id=?", (now, conversation_id))
            mid = int(cur.lastrowid or 0)
        return self.get_message(mid)

    def update_message(
        self,
        message_id: int,
        content: str | None = None,
        status: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Change a message's text, status or metadata, and commit."""
        sets, values = [], []
        if content is not None:
            sets.append("content=?")
            values.append(content)
        if status is not None:
            sets.append("status=?")
            values.append(status)
        if meta is not None:
            sets.append("meta=?")
            values.append(json.dumps(meta))
        if not sets:
            return
        with self._tx() as db:
            db.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id=?", (*values, message_id))

    def get_message(self, message_id: int) -> Message:
        with self._lock:
            row = self._db.execute("SELECT * FROM messages WHERE id=?", (message_id,)).fetchone()
        if row is None:
            raise KeyError(f"no message {message_id}")
        return _message(row)

    def messages(self, conversation_id: int) -> list[Message]:
        """Oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM messages WHERE conversation_id=? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [_message(r) for r in rows]

    def delete_messages_from(self, conversation_id: int, message_id: int) -> None:
        """Delete ``message_id`` and everything after it in the conversation (for
        regenerate and edit-and-resend)."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM messages WHERE conversation_id=? AND id>=?", (conversation_id, message_id)
            )


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        system_prompt=row["system_prompt"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        collections=json.loads(row["collections"] or "[]"),
        use_library=bool(row["use_library"]),
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        content=row["content"],
        status=row["status"],
        created_at=row["created_at"],
        model=row["model"],
        meta=json.loads(row["meta"] or "{}"),
    )
