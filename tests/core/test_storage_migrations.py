"""Upgrade safety of storage.migrate: a backup before migrating an existing database,
and the database put back as it was when a migration fails."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from desktop.core import history as history_module
from desktop.core import storage
from desktop.core.history import History, HistoryError

V1 = [("0001_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);")]
GOOD = ("0002_tags", "ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT '';")
BAD = ("0003_broken", "UPDATE no_such_table SET x = 1;")


def _dump(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def _v1_database(path: Path) -> None:
    db = storage.connect(path)
    storage.migrate(db, threading.RLock(), V1)
    db.executemany("INSERT INTO notes(text) VALUES (?)", [("first",), ("second",)])
    db.close()


def test_new_database_is_not_copied(tmp_path: Path) -> None:
    db = storage.connect(tmp_path / "n.db")
    assert storage.migrate(db, threading.RLock(), V1) == ["0001_notes"]
    db.close()
    assert not list(tmp_path.glob("*.bak"))


def test_backup_is_made_before_an_upgrade_and_holds_the_old_data(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    _v1_database(path)
    before = _dump(path)
    db = storage.connect(path)
    assert storage.migrate(db, threading.RLock(), [*V1, GOOD]) == ["0002_tags"]
    db.close()
    copy = storage.backup_path(path, "0002_tags")
    assert copy.is_file() and (copy.stat().st_mode & 0o777) == 0o600
    assert _dump(copy) == before
    assert "tag" in " ".join(_dump(path))


def test_failed_migration_restores_the_database(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    _v1_database(path)
    before = _dump(path)
    db = storage.connect(path)
    # GOOD commits before BAD fails: only the restore can undo it
    with pytest.raises(storage.MigrationError) as info:
        storage.migrate(db, threading.RLock(), [*V1, GOOD, BAD])
    message = str(info.value)
    assert "0003_broken" in message and str(storage.backup_path(path, "0002_tags")) in message
    # the same connection sees the old database, and the app can keep using it
    assert [r[0] for r in db.execute("SELECT text FROM notes ORDER BY id")] == ["first", "second"]
    db.close()
    assert _dump(path) == before
    # the version before the change still opens it: nothing pending, nothing copied again
    db = storage.connect(path)
    assert storage.migrate(db, threading.RLock(), V1) == []
    db.close()


def test_history_whose_upgrade_fails_keeps_every_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.sqlite3"
    with History(path) as h:
        conv = h.create_conversation()
        h.add_message(conv.id, "user", "Where did I put the boiler manual?")
        h.rename_conversation(conv.id, "Boiler")
    monkeypatch.setattr(history_module, "MIGRATIONS", [*history_module.MIGRATIONS, BAD])
    with pytest.raises(HistoryError, match="restored"):
        History(path)
    monkeypatch.undo()
    with History(path) as h:
        assert [c.title for c in h.list_conversations()] == ["Boiler"]
        assert [m.content for m in h.messages(conv.id)] == ["Where did I put the boiler manual?"]
        assert h.search("boiler")[0][0].id == conv.id
