"""The supervised-process helper the three workers share, on tiny Python children."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from desktop.core.process import ChildExited, SupervisedProcess


def _child(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, "-u", str(script)]


def test_json_lines_both_ways_and_a_graceful_stop(tmp_path: Path) -> None:
    argv = _child(tmp_path, """
        import json, sys
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            req = json.loads(line)
            if req["op"] == "shutdown":
                break
            print("not json: a library's chatter", flush=True)
            print(json.dumps({"echo": req["text"]}), flush=True)
    """)
    child = SupervisedProcess(argv, "echo.log", log_dir=tmp_path)
    assert child.receive(timeout=30) == {"ready": True}
    child.send({"op": "echo", "text": "grüße"})
    assert child.receive(timeout=30) == {"echo": "grüße"}  # the chatter line is skipped
    assert child.stop({"op": "shutdown"}, timeout=30) == 0
    assert not child.alive


def test_a_crash_message_holds_the_childs_last_log_lines(tmp_path: Path) -> None:
    (tmp_path / "crash.log").write_text("an older run's line\n", encoding="utf-8")
    argv = _child(tmp_path, """
        import sys
        sys.stdin.readline()
        print("loading the model", file=sys.stderr)
        raise RuntimeError("the tensor table is damaged")
    """)
    child = SupervisedProcess(argv, "crash.log", log_dir=tmp_path)
    child.send({"op": "load"})
    with pytest.raises(ChildExited):
        child.receive(timeout=30)
    message = child.crash_message("The test worker", "Try again.")
    assert message.startswith("The test worker stopped unexpectedly (exit code 1). Try again.")
    assert "RuntimeError: the tensor table is damaged" in message
    assert "loading the model" in message
    assert "an older run" not in message  # only this child's lines
    assert str(tmp_path / "crash.log") in message
    child.close()


def test_a_silent_child_times_out(tmp_path: Path) -> None:
    argv = _child(tmp_path, """
        import sys
        sys.stdin.read()
    """)
    child = SupervisedProcess(argv, "silent.log", log_dir=tmp_path)
    with pytest.raises(TimeoutError):
        child.read_line(timeout=0.3)
    assert child.stop(None, timeout=30) == 0  # closing stdin ends it


def test_stop_escalates_to_kill_on_a_child_that_ignores_stop(tmp_path: Path) -> None:
    argv = _child(tmp_path, """
        import signal, sys, time
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        while True:
            time.sleep(1)
    """)
    child = SupervisedProcess(argv, "stubborn.log", log_dir=tmp_path)
    assert child.read_line(timeout=30) == "ready\n"
    code = child.stop({"op": "shutdown"}, timeout=0.5, terminate_timeout=0.5)
    assert not child.alive
    if sys.platform != "win32":
        assert code == -9  # SIGKILL: neither the request nor SIGTERM stopped it
