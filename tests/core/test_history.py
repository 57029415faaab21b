import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from desktop.core.history import MIGRATIONS, History


def test_wal_and_migrations(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as h:
        assert h.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
        mode = h._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_upgrade_from_first_version_keeps_data(tmp_path: Path) -> None:
    """A database made by the first version (only migration 0001) opens and upgrades."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0][1])
    db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    db.execute("INSERT INTO schema_migrations VALUES (?, 0)", (MIGRATIONS[0][0],))
    db.execute("INSERT INTO conversations(id, title, created_at, updated_at) VALUES (1, 'Old', 0, 0)")
    db.execute(
        "INSERT INTO messages(conversation_id, role, content, created_at) VALUES (1, 'user', 'bonjour Paris', 0)"
    )
    db.commit()
    db.close()
    with History(path) as h:
        assert len(h.applied_migrations()) == len(MIGRATIONS)
        conv = h.get_conversation(1)
        assert conv.title == "Old" and conv.collections == [] and conv.use_library
        assert [m.content for m in h.messages(1)] == ["bonjour Paris"]
        assert h.search("paris")[0][0].id == 1


def test_conversations_rename_delete_search(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as h:
        a = h.create_conversation()
        b = h.create_conversation(system_prompt="You are a pirate.")
        h.add_message(a.id, "user", "How do I bake sourdough bread?")
        h.add_message(b.id, "user", "Tell me about the Baltic sea")
        h.rename_conversation(a.id, "Baking")
        assert h.get_conversation(a.id).title == "Baking"
        assert h.get_conversation(b.id).system_prompt == "You are a pirate."
        assert [c.id for c, _m in h.search("sourdough")] == [a.id]
        assert [c.id for c, _m in h.search("baltic")] == [b.id]
        assert [c.id for c, _m in h.search("Baking")] == [a.id]  # by title
        h.delete_conversation(a.id)
        assert [c.id for c in h.list_conversations()] == [b.id]
        assert h.search("sourdough") == []


def test_streaming_reply_is_marked_interrupted_on_next_open(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    h = History(path)
    c = h.create_conversation()
    h.add_message(c.id, "user", "hi")
    m = h.add_message(c.id, "assistant", "Hel", status="streaming")
    # no close: as if the process died
    h2 = History(path)
    assert h2.get_message(m.id).status == "interrupted"
    assert h2.get_message(m.id).content == "Hel"


def test_kill_9_mid_reply_keeps_history(tmp_path: Path) -> None:
    """A process streaming a reply is SIGKILLed: earlier messages and the partial reply survive."""
    ready = tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from desktop.core.chat import ChatService
        from desktop.core.engine.fake import ScriptedBackend
        from desktop.core.history import History
        from desktop.core.settings import ChatSettings
        h = History(Path({str(tmp_path / 'h.db')!r}))
        # distinct words: a reply repeating itself is cut by the chat (answering.repetition_start)
        svc = ChatService(h, ScriptedBackend(" ".join(f"word{{i}}" for i in range(10000)), delay=0.005),
                          ChatSettings(), commit_interval=0.05)
        c = h.create_conversation()
        for ev in svc.send(c.id, "first question"):
            pass
        n = 0
        for ev in svc.send(c.id, "second question"):
            if ev.kind == "token":
                n += 1
                if n == 100:
                    Path({str(ready)!r}).write_text("x")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2])
    deadline = time.time() + 120
    while not ready.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ready.exists(), "the child never got going"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with History(tmp_path / "h.db") as h:
        msgs = h.messages(h.list_conversations()[0].id)
        assert [m.role for m in msgs] == ["user", "assistant", "user", "assistant"]
        assert msgs[1].status == "complete" and msgs[1].content.count("word") == 10000
        assert msgs[2].content == "second question"
        assert msgs[3].status == "interrupted"
        assert msgs[3].content.startswith("word0 word1") and msgs[3].content.count("word") >= 50
        assert h._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
