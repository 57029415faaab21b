from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.hashing import file_sha256
from desktop.core.history import History
from desktop.core.paths import data_dir
from desktop.core.personalize import gather_documents
from desktop.core.personalize.export import AdapterMetadata, write_gguf_lora
from desktop.core.personalize.registry import AdapterRegistry


def add(tmp: Path, base: Path, name: str) -> None:
    tensors = {"blk.0.attn_q.weight.lora_a": np.zeros((2, 4), np.float32),
               "blk.0.attn_q.weight.lora_b": np.zeros((4, 2), np.float32)}
    f = write_gguf_lora(tmp / f"{name}.gguf", tensors, "llama", AdapterMetadata(file_sha256(base), base.name, 2, 4.0))
    AdapterRegistry().add(f, {"heldout_change": -0.1}, name=name)


def test_adapters_commands(tmp_path: Path, default_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adapters", "list"]) == 0
    assert "No personal adapters" in capsys.readouterr().out
    add(tmp_path, default_model, "one")
    add(tmp_path, default_model, "two")
    assert main(["adapters", "use", "one"]) == 0
    assert main(["adapters", "use", "two"]) == 0
    capsys.readouterr()
    assert main(["adapters", "list"]) == 0
    out = capsys.readouterr().out
    assert "* two" in out and "  one" in out and "-10.0%" in out
    assert main(["adapters", "rollback"]) == 0
    assert AdapterRegistry().active_name == "one"
    assert main(["adapters", "off"]) == 0
    assert AdapterRegistry().active_name is None
    assert main(["adapters", "use", "missing"]) == 1
    assert "no adapter called 'missing'" in capsys.readouterr().err


def test_bad_time_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["personalize", "--at", "25:99", "--docs", str(tmp_path)]) == 2
    assert "HH:MM" in capsys.readouterr().err


def test_conversations_only_when_opted_in(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("hello " * 100)
    history = History(data_dir() / "history.sqlite3")
    conv = history.create_conversation()
    history.add_message(conv.id, "user", "My cat is called Ada.")

    class Core:
        class settings:
            class personalization:
                include_conversations = False

    Core.history = history  # type: ignore[attr-defined]
    assert [p for p, _ in gather_documents(Core, tmp_path)] == [str(tmp_path / "a.md")]
    Core.settings.personalization.include_conversations = True
    docs = dict(gather_documents(Core, tmp_path))
    assert "My cat is called Ada." in docs[f"conversation:{conv.id}"]
    history.close()
    with pytest.raises(ValueError, match="--docs"):
        list(gather_documents(None))


def test_a_scheduled_run_says_when_it_starts_at_once_into_a_pipe(tmp_path: Path, default_model: Path) -> None:
    """Into a pipe or a log file, each line comes out when it is printed (the frozen app's
    `cli personalize` printed nothing for minutes: Python buffers a pipe's output unless
    PYTHONUNBUFFERED is set, which a user's environment does not have)."""
    import datetime as dt
    import os
    import subprocess
    import sys
    import threading

    (tmp_path / "note.md").write_text("The boiler is serviced every October. " * 20)
    at = (dt.datetime.now() + dt.timedelta(hours=2)).strftime("%H:%M")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen([sys.executable, "-m", "desktop.cli", "personalize", "--at", at, "--docs", str(tmp_path)],
                            cwd=Path(__file__).resolve().parents[2], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    try:
        reader.join(120)  # the command then waits two hours for its start time
    finally:
        proc.kill()
        proc.wait(30)
    assert first and f"Personalization starts at {at}" in first[0], first


def test_preview_lists_what_it_would_learn_and_what_it_leaves_out(
        tmp_path: Path, default_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # fifth new-user trial: a terminal user could not see what would be learned
    (tmp_path / "cake.md").write_text("Lemon cake: bake at 180 degrees for 35 minutes with two lemons. " * 3)
    (tmp_path / "wifi.txt").write_text("Home network. The Wi-Fi password is blue-otter-2417. Router in the hall. " * 3)
    assert main(["personalize", "--preview", "--docs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "It would learn from 1 file (" in out and "cake.md" in out
    assert f"{tmp_path / 'wifi.txt'}: seems to hold a password (--include" in out
    assert main(["personalize", "--preview", "--docs", str(tmp_path), "--include", str(tmp_path / "wifi.txt")]) == 0
    assert "It would learn from 2 files" in capsys.readouterr().out
    assert main(["personalize", "--preview", "--json", "--docs", str(tmp_path)]) == 0
    preview = json.loads(capsys.readouterr().out)
    held = {Path(i["path"]).name: i["held_back"] for i in preview["items"]}
    assert held == {"cake.md": False, "wifi.txt": True} and preview["total_tokens"] > 0
