"""``hearth index`` hands its paths to the window that holds the library, over a private
local channel (desktop.core.library.handoff); a stale address from a killed window or a
window that does not answer must not hang the terminal: it gets the old refusal."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from desktop.core import privacy
from desktop.core.jobs import ProgressEvent
from desktop.core.library import handoff
from desktop.core.library.handoff import (
    HandoffServer,
    HandoffUnavailable,
    IndexRequest,
    request_index,
)

ROOT = Path(__file__).resolve().parents[3]


def test_request_round_trip_over_a_private_local_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "network.log"
    monkeypatch.setenv("HEARTH_NETWORK_LOG", str(log))
    root = tmp_path / "library"
    root.mkdir()
    doc = tmp_path / "a.txt"
    doc.write_text("x", encoding="utf-8")
    asked: list[IndexRequest] = []

    def on_request(request: IndexRequest) -> None:  # the window's side, on another thread
        asked.append(request)

        def job() -> None:
            request.send(ProgressEvent(job="index", what="files", done=1, total=1,
                                       data={"chunks_done": 3, "file": Path(doc)}))
            request.send(ProgressEvent(job="index", kind="done", message="Indexed 1 file(s).",
                                       data={"indexed": 1, "skipped": []}))
            request.send(None)

        threading.Thread(target=job).start()

    with HandoffServer(root, on_request).start() as server:
        record = json.loads(server.address_file.read_text(encoding="utf-8"))
        if os.name == "posix":
            assert server.address_file.stat().st_mode & 0o777 == 0o600
            assert record["family"] == "AF_UNIX"
        events = list(request_index(root, [doc], "home"))
    assert not server.address_file.exists()  # removed on close
    assert [r.paths for r in asked] == [[doc.resolve()]] and asked[0].collection == "home"
    assert [e.kind for e in events] == ["progress", "done"]
    assert events[0].data["chunks_done"] == 3 and events[-1].message == "Indexed 1 file(s)."
    # the privacy guard sees the channel as local: nothing blocked, no TCP
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines and all(" local " in line for line in lines), lines
    assert privacy.connection_attempts() == []


def test_a_path_that_is_not_there_is_refused_with_its_name(tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    with HandoffServer(root, lambda request: None).start():
        with pytest.raises(handoff.HandoffRefused, match="Not found: .*gone.txt"):
            request_index(root, [tmp_path / "gone.txt"])


def test_a_stale_or_silent_address_gives_up(tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    with pytest.raises(HandoffUnavailable):  # no window ever listened
        request_index(root, [tmp_path])
    # a killed window: its address file stays, nothing listens there any more
    server = HandoffServer(root, lambda request: None).start()
    stale = server.address_file.read_text(encoding="utf-8")
    server.close()
    server.address_file.write_text(stale, encoding="utf-8")
    with pytest.raises(HandoffUnavailable):
        request_index(root, [tmp_path])
    if not hasattr(socket, "AF_UNIX"):
        return
    # a program that accepts the connection and then never answers (hung)
    silent = socket.socket(socket.AF_UNIX)
    address = str(tmp_path / "silent.sock")
    silent.bind(address)
    silent.listen(1)
    (root / handoff.ADDRESS_FILE).write_text(json.dumps(
        {"address": address, "family": "AF_UNIX", "authkey": "00" * 32, "pid": 1}), encoding="utf-8")
    try:
        with pytest.raises(HandoffUnavailable):
            request_index(root, [tmp_path], timeout=0.5)
    finally:
        silent.close()


def test_a_wrong_key_is_refused_and_the_server_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    seen: list[Any] = []

    def on_request(request: IndexRequest) -> None:
        seen.append(request)
        request.send(ProgressEvent(job="index", kind="done", message="ok"))

    with HandoffServer(root, on_request).start() as server:
        record = json.loads(server.address_file.read_text(encoding="utf-8"))
        server.address_file.write_text(json.dumps({**record, "authkey": "11" * 32}), encoding="utf-8")
        with pytest.raises(HandoffUnavailable):
            request_index(root, [tmp_path], timeout=2)
        assert seen == []
        server.address_file.write_text(json.dumps(record), encoding="utf-8")
        assert [e.message for e in request_index(root, [tmp_path])] == ["ok"]


@pytest.mark.skipif(os.name != "posix", reason="writes a stale AF_UNIX address")
def test_hearth_index_gets_the_refusal_when_the_window_was_killed(tmp_path: Path, hearth_home: Path) -> None:
    """A program holds the library and says it is the window, but its handoff address is
    stale: `hearth index` ends quickly with the refusal, and the other write commands'
    refusal says that `hearth index` works while the window is open."""
    library = hearth_home / "data" / "library"
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from desktop.core.library.store import LibraryStore, OWNER_FILE
        import os
        store = LibraryStore(Path({str(library)!r}), "test-model")
        (Path({str(library)!r}) / OWNER_FILE).write_text(f"the Hearth window (process {{os.getpid()}})")
        print("ready", flush=True)
        sys.stdin.read()
        store.close()
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        (library / handoff.ADDRESS_FILE).write_text(json.dumps(
            {"address": str(tmp_path / "gone.sock"), "family": "AF_UNIX", "authkey": "00" * 32, "pid": 1}))
        notes = tmp_path / "notes"
        notes.mkdir()
        (notes / "a.txt").write_text("The spare key is under the blue pot.", encoding="utf-8")
        cli = subprocess.run([sys.executable, "-m", "desktop.cli", "index", str(notes)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300, env=env)
        assert cli.returncode == 1 and "Traceback" not in cli.stderr, cli.stderr
        assert "is open in the Hearth window (process" in cli.stderr and "did not answer" in cli.stderr
        assert "Only one Hearth program can use it at a time" in cli.stderr
        cli = subprocess.run([sys.executable, "-m", "desktop.cli", "library", "remove", str(notes)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300, env=env)
        assert cli.returncode == 1 and "`hearth index` works while the window is open" in cli.stderr, cli.stderr
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(60)
