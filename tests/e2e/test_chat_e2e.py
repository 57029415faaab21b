"""End to end through the `hearth` command with the real default model."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from desktop.core.history import History

ROOT = Path(__file__).resolve().parents[2]


def _hearth(*args: str, **kw):
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**os.environ}, **kw,
    )


def test_capital_of_france(default_model: Path, hearth_home: Path) -> None:
    out = _hearth("chat", "--no-library", "--temperature", "0", "What is the capital of France?")
    assert out.returncode == 0, out.stderr
    assert "Paris" in out.stdout
    if os.name == "posix":  # everything Hearth wrote is private to the user
        for path in hearth_home.rglob("*"):
            mode = path.stat().st_mode & 0o777
            assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_models_lists_metadata(default_model: Path) -> None:
    out = _hearth("models")
    assert out.returncode == 0, out.stderr
    for word in ("llama", "134.5M", "Q4_1", "8192", "93.8 MB"):
        assert word in out.stdout


def test_bad_model_option_gives_a_clear_error(tmp_path: Path, default_model: Path) -> None:
    bad = tmp_path / "holiday-photo.gguf"
    bad.write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    out = _hearth("chat", "--no-library", "--model", str(bad), "hi")
    assert out.returncode == 2
    assert "holiday-photo.gguf is not a GGUF model file" in out.stderr


def test_kill_9_mid_reply_with_the_real_engine(hearth_home: Path, default_model: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "chat", "--no-library", "--max-tokens", "2000",
         "Write a very long story about a dragon who learns to bake bread."],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ},
    )
    assert proc.stdout is not None
    got = b""
    deadline = time.time() + 120
    while len(got) < 200 and time.time() < deadline:
        got += proc.stdout.read1(64)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # the orphaned worker sees its stdin close and exits
    with History(hearth_home / "data" / "history.sqlite3") as h:
        conv = h.list_conversations()[0]
        user, reply = h.messages(conv.id)
        assert user.content.startswith("Write a very long story")
        assert reply.status == "interrupted"
        assert len(reply.content) >= 100
        assert reply.content[:50] in got.decode(errors="replace")
