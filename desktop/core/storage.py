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


class MigrationError(sqlite3.DatabaseError):
    """A migration failed; the database was put back as it was before the upgrade began
    (the message names the migration, the cause and the backup file, which is kept)."""


def database_file(db: sqlite3.Connection) -> Path | None:
    """The file of ``db``'s main database; None for an in-memory or temporary one."""
    for row in db.execute("PRAGMA database_list"):
        if row[1] == "main":
            return Path(row[2]) if row[2] else None
    return None


def backup_path(path: Path, migration: str) -> Path:
    """Where the copy made before running ``migration`` on ``path`` goes:
    ``NAME.before-MIGRATION.bak`` beside the database (one per migration; a later
    upgrade does not overwrite the copy made before an earlier one)."""
    return path.with_name(f"{path.name}.before-{migration}.bak")


def backup(db: sqlite3.Connection, dest: Path) -> Path:
    """Copy ``db`` to ``dest`` with SQLite's online backup API (a consistent snapshot,
    WAL content included; sqlite.org/backup.html), written to a temporary file, synced and
    renamed, so ``dest`` is always a whole database.  The copy is 0600 like the original.

    Raises:
        sqlite3.Error / OSError: the copy could not be written (e.g. the disk is full).
    """
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600))
    try:
        target = sqlite3.connect(str(tmp))
        try:
            db.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def restore(db: sqlite3.Connection, source: Path) -> None:
    """Overwrite ``db``'s content with the database file ``source`` (SQLite's backup API
    in the other direction: pages are replaced inside ``db``'s own file and connection).

    Raises:
        sqlite3.Error: the copy failed; ``db`` is then as the failure left it.
    """
    if db.in_transaction:
        db.execute("ROLLBACK")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        src.backup(db)
    finally:
        src.close()


def migrate(
    db: sqlite3.Connection, lock: threading.RLock, migrations: Sequence[tuple[str, str]],
    table: str = "schema_migrations",
) -> list[str]:
    """Apply, in order and each in its own transaction, the named migrations not yet
    recorded in ``table``.  Returns the names applied now.

    Upgrade safety: when a database that already holds data (an earlier version's) is
    about to be migrated, it is first copied with :func:`backup` to
    :func:`backup_path` (named after the first pending migration).  If any pending
    migration then fails, the database is restored from that copy, so it is exactly as
    the previous version left it (and that version can still open it), and
    :class:`MigrationError` is raised.  A new, empty database is not copied.

    Raises:
        MigrationError: a migration failed (the database was restored from the backup).
        sqlite3.Error / OSError: the backup could not be made; nothing was changed.
    """
    applied: list[str] = []
    with lock:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        done = {r[0] for r in db.execute(f"SELECT name FROM {table}")}
        pending = [(name, sql) for name, sql in migrations if name not in done]
        if not pending:
            return applied
        path = database_file(db)
        saved: Path | None = None
        if done and path is not None:
            saved = backup(db, backup_path(path, pending[0][0]))
        for name, sql in pending:
            try:
                with transaction(db, lock):
                    for statement in split_sql(sql):
                        db.execute(statement)
                    db.execute(f"INSERT INTO {table}(name, applied_at) VALUES (?, ?)", (name, time.time()))
            except sqlite3.Error as exc:
                where = path or "the database"
                if saved is None:
                    raise MigrationError(
                        f"Upgrading {where} failed at migration {name} ({exc})."
                    ) from exc
                restore(db, saved)
                raise MigrationError(
                    f"Upgrading {where} failed at migration {name} ({exc}). It was restored "
                    f"from the copy made just before ({saved}), so nothing is lost and the "
                    "previous version of Hearth can still open it. Please report this."
                ) from exc
            applied.append(name)
    return applied
