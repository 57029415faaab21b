"""Hearth's chat through a remote OpenAI-compatible server on loopback: ``hearth serve``
with the built-in model in another process (and llama-cpp-python's own server when its
extras are installed).  A server that goes away mid-answer gives a clear message and
loses nothing."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.core.app import HearthCore
from desktop.core.models import ModelError
from desktop.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _start_hearth_server(home: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "serve", "--port", "0", "--threads", "1", "--no-library"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "HEARTH_HOME": str(home)},
    )
    assert proc.stdout is not None
    match = re.search(r"on (http://127\.0\.0\.1:\d+/v1)", proc.stdout.readline())
    assert match, "the server did not start"
    return proc, match.group(1)


def _core_for(url: str) -> HearthCore:
    settings = Settings()
    settings.remote.chat_url = url
    core = HearthCore(settings=settings, with_library=False)
    core.load_model()
    return core


def test_chat_through_a_remote_server_and_it_going_away(tmp_path: Path, default_model: Path) -> None:
    proc, url = _start_hearth_server(tmp_path / "server-home")
    try:
        core = _core_for(url)
        try:
            assert core.engine.model is not None and core.engine.model.architecture == "remote"
            conv = core.history.create_conversation()
            params = core.chat.params(temperature=0.0, max_tokens=12)
            events = list(core.chat.send(conv.id, "What is the capital of France?", None, params))
            final = events[-1].message
            assert final is not None and final.status == "complete" and "Paris" in final.content

            long = core.chat.params(temperature=0.7, max_tokens=3000)
            got = ""
            final = None
            for ev in core.chat.send(conv.id, "Tell me a very long story about a dragon.", None, long):
                if ev.kind == "token":
                    got += ev.text
                    if len(got) > 40 and proc.poll() is None:
                        proc.send_signal(signal.SIGKILL)
                elif ev.kind == "finished":
                    final = ev.message
                    error = ev.data.get("error") or ""
            assert final is not None and final.status == "error"
            assert "went away mid-answer" in error and url in error
            assert final.content.startswith(got[:40])  # the text so far is kept
            assert [m.role for m in core.history.messages(conv.id)] == ["user", "assistant"] * 2
        finally:
            core.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings()
    settings.remote.chat_url = f"127.0.0.1:{port}"
    core = HearthCore(settings=settings, with_library=False)
    try:
        with pytest.raises(ModelError, match=f"Could not reach the chat server at http://127.0.0.1:{port}/v1"):
            core.load_model()
    finally:
        core.close()


def test_llama_cpp_python_server(tmp_path: Path, default_model: Path) -> None:
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's [server] extras are not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        # through avoid_amx(): llama.cpp's AMX path crashes on the processors that have it
        [sys.executable, "-m", "desktop.core.engine.backends", "--run-module", "llama_cpp.server", "--model", str(default_model), "--host", "127.0.0.1",
         "--port", str(port), "--n_threads", "1", "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "llama_cpp.server did not start"
                time.sleep(0.2)
        core = _core_for(f"http://127.0.0.1:{port}/v1")
        try:
            conv = core.history.create_conversation()
            params = core.chat.params(temperature=0.0, max_tokens=12)
            final = list(core.chat.send(conv.id, "What is the capital of France?", None, params))[-1].message
            assert final is not None and final.status == "complete" and "Paris" in final.content
        finally:
            core.close()
    finally:
        proc.terminate()
        proc.wait(30)
