"""The library's manifest: SQLite (WAL) beside the vector store.

It records each collection (with the embedding model that made it), each file (hash,
size, mtime, state, skip reason, chunk ids), each chunk's text and position (for BM25,
snippets and citations), each document's extracted text (zlib), watched folders, and the
memory of past conversations.  Writes for one batch of files happen in one transaction
after the vectors are stored, so a kill at any moment leaves a state that the next run
completes without duplicates (chunk ids are deterministic).

Migrations are named and forward-only, like the chat history's.  Every SQL statement the
library runs is a named method here (the store, the indexer and memory call them).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import zlib
from collections.abc import Sequence
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
    (
        # an e-mail's attachment is a document of its own at "<message file>/<name>", whose
        # parent is the message file: removed, replaced and opened with it
        "0003_file_parent",
        """
        ALTER TABLE files ADD COLUMN parent TEXT NOT NULL DEFAULT '';
        CREATE INDEX files_parent ON files(collection, parent);
        """,
    ),
]

#: the collection used when the user names none
DEFAULT_COLLECTION = "default"

# file states
INDEXING = "indexing"  # chunks being written; finished by the next run if killed
INDEXED = "indexed"
SKIPPED = "skipped"
STALE = "stale"  # made by another embedding model; waiting to be re-indexed
WAITING = "waiting"  # found by a run stopped before it was stored; indexed by the next


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
    #: the file it came in (an e-mail's attachment: the message file), else ""
    parent: str = ""

    @property
    def on_disk(self) -> str:
        """The file on disk that holds it: itself, or the message it is attached to."""
        return self.parent or self.path


@dataclass
class ChunkEntry:
    """One chunk of a file being committed: its id, its text as shown and as indexed
    (BM25), and its position (page, section heading, character offsets)."""

    id: str
    text: str
    index_text: str
    page: int | None
    section: str
    start: int
    end: int


@dataclass
class FileEntry:
    """A parsed file being committed: what the ``files`` and ``texts`` rows record."""

    path: str
    size: int
    mtime: float
    sha256: str
    title: str
    text: str
    extractor: str
    warnings: list[str]
    chunks: list[ChunkEntry]
    parent: str = ""

    @property
    def chunk_ids(self) -> list[str]:
        return [c.id for c in self.chunks]


class Manifest:
    """Thread-safe access to the manifest database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = storage.connect(path)
        storage.migrate(self._db, self._lock, MIGRATIONS, table="migrations")

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error)."""
        return storage.transaction(self._db, self._lock)

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- collections -----------------------------------------------------------------

    def collections(self) -> list[sqlite3.Row]:
        return self._query("SELECT * FROM collections ORDER BY name")

    def collection(self, name: str) -> sqlite3.Row | None:
        rows = self._query("SELECT * FROM collections WHERE name = ?", (name,))
        return rows[0] if rows else None

    def add_collection(self, name: str, store_name: str, embedding_model: str) -> None:
        """Record a new collection, whose vectors live in store collection ``store_name``."""
        with self._tx() as db:
            db.execute("INSERT INTO collections(name, store_name, embedding_model, created_at) VALUES (?,?,?,?)",
                       (name, store_name, embedding_model, time.time()))

    def delete_collection(self, name: str) -> None:
        """Forget a collection: its files, chunks, texts, watched folders and its row."""
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE collection = ?", (name,))
            db.execute("DELETE FROM chunks WHERE collection = ?", (name,))
            db.execute("DELETE FROM folders WHERE collection = ?", (name,))
            db.execute("DELETE FROM collections WHERE name = ?", (name,))

    def collection_counts(self, name: str) -> tuple[int, int, int]:
        """(indexed files, their chunks, skipped files) of collection ``name``."""
        row = self._query(
            "SELECT SUM(state = 'indexed'), SUM(n_chunks * (state = 'indexed')), SUM(state = 'skipped') "
            "FROM files WHERE collection = ?", (name,))[0]
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def mark_stale(self, name: str, embedding_model: str) -> None:
        """The collection's vectors were made by another embedding model and are gone:
        its files become "stale" (to be re-indexed), its chunks are dropped, and it is
        recorded as made by ``embedding_model`` from now on."""
        with self._tx() as db:
            db.execute("UPDATE files SET state = 'stale', chunk_ids = '[]', n_chunks = 0, sha256 = '' "
                       "WHERE collection = ? AND state IN ('indexed', 'indexing')", (name,))
            db.execute("DELETE FROM chunks WHERE collection = ?", (name,))
            db.execute("UPDATE collections SET embedding_model = ?, version = version + 1 WHERE name = ?",
                       (embedding_model, name))

    def version(self, collection: str) -> int:
        """The collection's version: it grows by one with every commit that changes its
        chunks (-1 when there is no such collection)."""
        rows = self._query("SELECT version FROM collections WHERE name = ?", (collection,))
        return int(rows[0][0]) if rows else -1

    def bump_version(self, collection: str, db: sqlite3.Connection | None = None) -> None:
        """Add one to the collection's version (inside transaction ``db`` when given)."""
        if db is not None:
            db.execute("UPDATE collections SET version = version + 1 WHERE name = ?", (collection,))
            return
        with self._tx() as own:
            own.execute("UPDATE collections SET version = version + 1 WHERE name = ?", (collection,))

    # -- files -----------------------------------------------------------------------

    def file(self, collection: str, path: str) -> FileRecord | None:
        rows = self._query("SELECT * FROM files WHERE collection = ? AND path = ?", (collection, path))
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
        return [_file(r) for r in self._query(sql + " ORDER BY path", tuple(args))]

    def children(self, collection: str, parent: str) -> list[FileRecord]:
        """The attachments of message file ``parent`` recorded as documents of their own."""
        return [_file(r) for r in self._query(
            "SELECT * FROM files WHERE collection = ? AND parent = ? ORDER BY path", (collection, parent))]

    def update_stat(self, collection: str, path: str, size: int, mtime: float) -> None:
        """A file's size or mtime changed but not its content: record the new ones."""
        with self._tx() as db:
            db.execute("UPDATE files SET size = ?, mtime = ? WHERE collection = ? AND path = ?",
                       (size, mtime, collection, path))

    def begin_files(self, collection: str, files: Sequence[FileEntry]) -> dict[str, list[str]]:
        """First step of a commit: mark ``files`` "indexing", each listing its old and new
        chunk ids (so a kill before :meth:`commit_files` leaves no vector unaccounted for).
        Returns each file's old chunk ids, by path."""
        now = time.time()
        old_ids: dict[str, list[str]] = {}
        with self._tx() as db:
            for f in files:
                rec = self.file(collection, f.path)
                old = rec.chunk_ids if rec else []
                old_ids[f.path] = old
                both = sorted(set(old) | set(f.chunk_ids))
                db.execute(
                    "INSERT INTO files(collection, path, size, mtime, sha256, state, chunk_ids, updated_at, parent) "
                    "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(collection, path) DO UPDATE SET "
                    "state = excluded.state, chunk_ids = excluded.chunk_ids, updated_at = excluded.updated_at, "
                    "parent = excluded.parent",
                    (collection, f.path, f.size, f.mtime, f.sha256, INDEXING, json.dumps(both), now, f.parent))
        return old_ids

    def commit_files(self, collection: str, files: Sequence[FileEntry]) -> None:
        """Last step of a commit (after the vectors are stored): the files' chunks and
        texts, and the files "indexed", in one transaction that bumps the version."""
        with self._tx() as db:
            for f in files:
                rec = self.file(collection, f.path)
                assert rec is not None, "begin_files() comes first"
                db.execute("DELETE FROM chunks WHERE file_id = ?", (rec.id,))
                db.executemany(
                    "INSERT OR REPLACE INTO chunks(id, collection, file_id, ord, text, index_text, page, "
                    "section, start, end) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(c.id, collection, rec.id, n, c.text, c.index_text, c.page, c.section, c.start, c.end)
                     for n, c in enumerate(f.chunks)])
                db.execute("INSERT OR REPLACE INTO texts(file_id, text) VALUES (?, ?)",
                           (rec.id, compress(f.text)))
                db.execute(
                    "UPDATE files SET size = ?, mtime = ?, sha256 = ?, state = ?, reason = '', title = ?, "
                    "chunk_ids = ?, n_chunks = ?, updated_at = ?, extractor = ?, warnings = ? WHERE id = ?",
                    (f.size, f.mtime, f.sha256, INDEXED, f.title, json.dumps(f.chunk_ids),
                     len(f.chunks), time.time(), f.extractor, json.dumps(f.warnings), rec.id))
            self.bump_version(collection, db)

    def record_skip(self, collection: str, path: str, size: int, mtime: float, reason: str) -> None:
        """Record a file as "skipped" with ``reason`` (its chunk list emptied)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO files(collection, path, size, mtime, state, reason, updated_at) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(collection, path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, "
                "state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at, "
                "chunk_ids = '[]', n_chunks = 0, sha256 = ''",
                (collection, path, size, mtime, SKIPPED, reason, time.time()))

    def record_waiting(self, collection: str, files: Sequence[tuple[str, int, float]]) -> None:
        """Record (path, size, mtime) files as "waiting" where the collection has no row
        for them yet (a file stored, skipped or indexed before keeps its row)."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO files(collection, path, size, mtime, state, updated_at) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(collection, path) DO NOTHING",
                [(collection, path, size, mtime, WAITING, time.time()) for path, size, mtime in files])

    def delete_files(self, collection: str, file_ids: Sequence[int]) -> None:
        """Remove files (their chunks and texts go with them) and bump the version."""
        with self._tx() as db:
            db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in file_ids])
            self.bump_version(collection, db)

    def text_of(self, file_id: int) -> str:
        rows = self._query("SELECT text FROM texts WHERE file_id = ?", (file_id,))
        return zlib.decompress(rows[0][0]).decode("utf-8") if rows else ""

    def chunks(self, collection: str) -> list[tuple[str, str]]:
        """(chunk id, index text) of a collection, in a stable order."""
        return [(r[0], r[1]) for r in self._query(
            "SELECT id, index_text FROM chunks WHERE collection = ? ORDER BY file_id, ord", (collection,)
        )]

    def chunk_rows(self, collection: str, ids: list[str]) -> dict[str, sqlite3.Row]:
        out: dict[str, sqlite3.Row] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            marks = ",".join("?" * len(part))
            for r in self._query(
                f"SELECT c.*, f.path AS path, f.title AS doc_title, f.parent AS parent FROM chunks c JOIN files f ON f.id = c.file_id "
                f"WHERE c.collection = ? AND c.id IN ({marks})", (collection, *part)
            ):
                out[r["id"]] = r
        return out

    # -- watched folders ---------------------------------------------------------------

    def folders(self) -> list[tuple[str, str]]:
        """Watched folders as (absolute path, collection), by path."""
        return [(r[0], r[1]) for r in self._query("SELECT path, collection FROM folders ORDER BY path")]

    def collection_folders(self, collection: str) -> list[str]:
        """The watched folders of ``collection``, by path."""
        return [r[0] for r in self._query("SELECT path FROM folders WHERE collection = ? ORDER BY path",
                                          (collection,))]

    def has_folder(self, path: str) -> bool:
        return bool(self._query("SELECT 1 FROM folders WHERE path = ?", (path,)))

    def add_folder(self, path: str, collection: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO folders VALUES (?, ?, ?)", (path, collection, time.time()))

    def remove_folder(self, path: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM folders WHERE path = ?", (path,))

    # -- memory ----------------------------------------------------------------------

    def memories(self) -> list[sqlite3.Row]:
        """Every stored exchange, newest first."""
        return self._query("SELECT * FROM memories ORDER BY created_at DESC")

    def memory(self, memory_id: str) -> sqlite3.Row | None:
        rows = self._query("SELECT * FROM memories WHERE id = ?", (memory_id,))
        return rows[0] if rows else None

    def has_memories(self) -> bool:
        return bool(self._query("SELECT 1 FROM memories LIMIT 1"))

    def memory_ids(self, conversation_id: int) -> list[str]:
        """Ids of the stored exchanges of one conversation."""
        return [r[0] for r in self._query("SELECT id FROM memories WHERE conversation_id = ?",
                                          (conversation_id,))]

    def add_memory(self, memory_id: str, conversation_id: int, title: str, question: str, answer: str,
                   created_at: float) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO memories VALUES (?,?,?,?,?,?)",
                       (memory_id, conversation_id, title, question, answer, created_at))

    def delete_memories(self, memory_ids: Sequence[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM memories WHERE id = ?", [(i,) for i in memory_ids])

    # -- meta ------------------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def last_file_update(path: Path) -> float:
    """When the manifest at ``path`` last recorded a file (Unix seconds; 0 if never, or if
    it cannot be read).  Opens the database read-only, so another process may poll it
    while an indexing run writes (hearth-bench faults does)."""
    if not path.exists():
        return 0.0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            value = con.execute("SELECT max(updated_at) FROM files").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0.0
    return float(value or 0.0)


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
        extractor=row["extractor"], warnings=json.loads(row["warnings"] or "[]"), parent=row["parent"],
    )
