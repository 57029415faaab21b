"""The library's manifest: SQLite (WAL) beside the vector store.

It records each collection (with the embedding model that made it), each file (hash,
size, mtime, state, skip reason, chunk ids), each chunk's text and position (for BM25,
snippets and citations), each document's extracted text (zlib), watched folders, and the
memory of past conversations.  Writes for one batch of files happen in one transaction
after the vectors are stored, so a kill at any moment leaves a state that the next run
completes without duplicates (chunk ids are deterministic).

Migrations are named and forward-only, like the chat history's.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import storage

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE collections (
            name TEXT PRIMARY KEY,
            store_name TEXT NOT NULL UNIQUE,
            embedding_model TEXT NOT NULL,
            created_at REAL NOT NULL,
            version INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
            path TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            mtime REAL NOT NULL DEFAULT 0,
            sha256 TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            chunk_ids TEXT NOT NULL DEFAULT '[]',
            n_chunks INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL,
            UNIQUE(collection, path)
        );
        CREATE INDEX files_state ON files(state);
        CREATE TABLE chunks (
            id TEXT NOT NULL,
            collection TEXT NOT NULL,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            ord INTEGER NOT NULL,
            text TEXT NOT NULL,
            index_text TEXT NOT NULL,
            page INTEGER,
            section TEXT NOT NULL DEFAULT '',
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            PRIMARY KEY(collection, id)
        );
        CREATE INDEX chunks_file ON chunks(file_id);
        CREATE TABLE texts (
            file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
            text BLOB NOT NULL
        );
        CREATE TABLE folders (
            path TEXT PRIMARY KEY,
            collection TEXT NOT NULL,
            added_at REAL NOT NULL
        );
        CREATE TABLE memories (
            id TEXT PRIMARY KEY,
            conversation_id INTEGER NOT NULL,
            title TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ),
    (
        # which extractor read each file (the file list shows it) and what it warned about
        "0002_file_extractor",
        """
        ALTER TABLE files ADD COLUMN extractor TEXT NOT NULL DEFAULT '';
        ALTER TABLE files ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
        """,
    ),
]

# file states
INDEXING = "indexing"  # chunks being written; finished by the next run if killed
INDEXED = "indexed"
SKIPPED = "skipped"


@dataclass
class FileRecord:
    """One file of a collection, as the manifest knows it."""

    id: int
    collection: str
    path: str
    size: int
    mtime: float
    sha256: str
    state: str
    reason: str
    title: str
    chunk_ids: list[str]
    n_chunks: int
    updated_at: float
    extractor: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ChunkRow:
    id: str
    collection: str
    file_id: int
    ord: int
    text: str
    index_text: str
    page: int | None
    section: str
    start: int
    end: int


class Manifest:
    """Thread-safe access to the manifest database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = storage.connect(path)
        storage.migrate(self._db, self._lock, MIGRATIONS, table="migrations")

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error)."""
        return storage.transaction(self._db, self._lock)

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- collections -----------------------------------------------------------------

    def collections(self) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM collections ORDER BY name")

    def collection(self, name: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM collections WHERE name = ?", (name,))
        return rows[0] if rows else None

    def bump_version(self, db: sqlite3.Connection, collection: str) -> None:
        db.execute("UPDATE collections SET version = version + 1 WHERE name = ?", (collection,))

    # -- files -----------------------------------------------------------------------

    def file(self, collection: str, path: str) -> FileRecord | None:
        rows = self.query("SELECT * FROM files WHERE collection = ? AND path = ?", (collection, path))
        return _file(rows[0]) if rows else None

    def files(self, collection: str | None = None, state: str | None = None,
              under: str | None = None) -> list[FileRecord]:
        sql = "SELECT * FROM files WHERE 1=1"
        args: list[Any] = []
        if collection is not None:
            sql += " AND collection = ?"
            args.append(collection)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        if under is not None:
            sql += " AND (path = ? OR substr(path, 1, ?) = ?)"
            prefix = under.rstrip("/\\") + _sep(under)
            args += [under, len(prefix), prefix]
        return [_file(r) for r in self.query(sql + " ORDER BY path", tuple(args))]

    def text_of(self, file_id: int) -> str:
        rows = self.query("SELECT text FROM texts WHERE file_id = ?", (file_id,))
        return zlib.decompress(rows[0][0]).decode("utf-8") if rows else ""

    def chunks(self, collection: str) -> list[tuple[str, str]]:
        """(chunk id, index text) of a collection, in a stable order."""
        return [(r[0], r[1]) for r in self.query(
            "SELECT id, index_text FROM chunks WHERE collection = ? ORDER BY file_id, ord", (collection,)
        )]

    def chunk_rows(self, collection: str, ids: list[str]) -> dict[str, sqlite3.Row]:
        out: dict[str, sqlite3.Row] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            marks = ",".join("?" * len(part))
            for r in self.query(
                f"SELECT c.*, f.path AS path, f.title AS doc_title FROM chunks c JOIN files f ON f.id = c.file_id "
                f"WHERE c.collection = ? AND c.id IN ({marks})", (collection, *part)
            ):
                out[r["id"]] = r
        return out

    # -- meta ------------------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def compress(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 6)


def _sep(path: str) -> str:
    return "\\" if "\\" in path and "/" not in path else "/"


def _file(row: sqlite3.Row) -> FileRecord:
    return FileRecord(
        id=row["id"], collection=row["collection"], path=row["path"], size=row["size"],
        mtime=row["mtime"], sha256=row["sha256"], state=row["state"], reason=row["reason"],
        title=row["title"], chunk_ids=json.loads(row["chunk_ids"] or "[]"),
        n_chunks=row["n_chunks"], updated_at=row["updated_at"],
        extractor=row["extractor"], warnings=json.loads(row["warnings"] or "[]"),
    )
