"""A nearly full disk: a clear message, nothing corrupted, work resumes once space is freed.

Needs a small tmpfs (Linux, root); skipped elsewhere."""

from pathlib import Path
from typing import Any

import pytest

from desktop.core.chat import ChatService
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.history import DiskFullError, History
from desktop.core.paths import atomic_write_bytes
from desktop.core.settings import ChatSettings


@pytest.fixture
def small_disk(mount_small_disk: Any) -> Path:
    return mount_small_disk("1m")


def test_chat_on_a_full_disk(small_disk: Path, fill_disk: Any) -> None:
    h = History(small_disk / "history.sqlite3")
    svc = ChatService(h, ScriptedBackend(" ".join(f"word{i}" for i in range(20000))), ChatSettings(), commit_interval=0.0)
    c = h.create_conversation()
    h.add_message(c.id, "user", "an earlier question")
    h.add_message(c.id, "assistant", "an earlier answer")
    filler = fill_disk(small_disk, leave=64 * 1024)
    with pytest.raises(DiskFullError, match="is full"):
        list(svc.send(c.id, "a question whose long answer does not fit"))
    filler.unlink()
    # nothing corrupted, the earlier exchange intact, and chatting works again
    h.close()
    h = History(small_disk / "history.sqlite3")
    assert h._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    msgs = h.messages(c.id)
    assert [m.content for m in msgs[:2]] == ["an earlier question", "an earlier answer"]
    svc = ChatService(h, ScriptedBackend("fine again"), ChatSettings())
    list(svc.send(c.id, "still there?"))
    assert h.messages(c.id)[-1].content == "fine again"
    h.close()


def test_settings_save_on_a_full_disk_keeps_the_old_file(small_disk: Path, fill_disk: Any) -> None:
    target = small_disk / "settings.json"
    atomic_write_bytes(target, b'{"old": true}')
    filler = fill_disk(small_disk, leave=0)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"x" * 200_000)
    assert target.read_bytes() == b'{"old": true}'
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler.bin", "settings.json"]
    filler.unlink()
    atomic_write_bytes(target, b'{"new": true}')
    assert target.read_bytes() == b'{"new": true}'
