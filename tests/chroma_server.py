"""A real Chroma server for tests: ``chroma run`` (the CLI the chromadb package installs)
on loopback, in its own process.  The ``chroma_server`` fixture (tests/conftest.py)
starts one per test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CHROMA = Path(sys.executable).parent / ("chroma.exe" if os.name == "nt" else "chroma")


class ChromaServer:
    """``chroma run --path DIR --host 127.0.0.1 --port N`` in its own process."""

    def __init__(self, path: Path, port: int) -> None:
        self.path, self.port = path, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChromaServer:
        self.proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        deadline = time.monotonic() + 120  # a readiness wait, not an assertion on time
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("chroma run exited at start") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.2)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def core_on_server(port: int, reply: str = "") -> Any:
    """A HearthCore whose library keeps its vectors on the Chroma server at 127.0.0.1:``port``,
    chatting through a scripted engine that answers ``reply`` (loaded when ``reply`` is
    given; the window loads its own)."""
    from desktop.core.app import HearthCore
    from desktop.core.engine.fake import ScriptedBackend
    from desktop.core.settings import Settings

    settings = Settings()
    settings.library.chroma_host, settings.library.chroma_port = "127.0.0.1", port
    engine = ScriptedBackend(reply) if reply else ScriptedBackend()
    if reply:
        engine.load("scripted.gguf", None)  # type: ignore[arg-type]
    return HearthCore(settings=settings, engine=engine)
