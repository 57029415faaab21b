"""SQLite as Hearth uses it: one connection per database shared by threads under a lock,
WAL journal with ``synchronous=NORMAL`` (durable across an application crash such as
kill -9; sqlite.org/wal.html), and named forward-only migrations.

Used by the chat history and the library's manifest.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means the disk is full:
    ENOSPC or EDQUOT from the OS, SQLITE_FULL (code 13) from SQLite, or a library's
    wrapper of either (chromadb reports SQLite's "database or disk is full" in its text).
    """
    import errno

    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return True
        if getattr(seen, "sqlite_errorcode", None) == 13:
            return True
        text = str(seen)
        if "disk is full" in text or "No space left on device" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating it 0600 if missing) a database for use from several threads.

    Autocommit mode (``isolation_level=None``): writes go through :func:`transaction`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.RLock) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error, under ``lock``."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def split_sql(sql: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    statements, current = [], []
    for line in sql.strip().splitlines():
        current.append(line)
        joined = "\n".join(current).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current))
    return statements


def migrate(
    db: sqlite3.Connection, lock: threading.RLock, migrations: Sequence[tuple[str, str]],
    table: str = "schema_migrations",
) -> list[str]:
    """Apply, in order and each in its own transaction, the named migrations not yet
    recorded in ``table``.  Returns the names applied now."""
    applied: list[str] = []
    with lock:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        done = {r[0] for r in db.execute(f"SELECT name FROM {table}")}
        for name, sql in migrations:
            if name in done:
                continue
            with transaction(db, lock):
                for statement in split_sql(sql):
                    db.execute(statement)
                db.execute(f"INSERT INTO {table}(name, applied_at) VALUES (?, ?)", (name, time.time()))
            applied.append(name)
    return applied
