"""``hearth remote --library HOST:PORT``: tested against a real ``chroma run``, then saved;
a server that is not there is named and nothing is saved; ``off`` goes back."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.cli import main
from desktop.core.settings import Settings
from tests.core.library.test_chroma_server import CHROMA, ChromaServer, _free_port


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    if not CHROMA.exists():
        pytest.skip("the chroma CLI (from the chromadb package) is not installed")
    server = ChromaServer(tmp_path / "chroma-server-data", _free_port()).start()
    try:
        yield server
    finally:
        server.kill()


def test_library_server_is_tested_then_saved(chroma_server: ChromaServer, capsys: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nobody = s.getsockname()[1]
    assert main(["remote", "--library", f"127.0.0.1:{nobody}"]) == 2
    assert f"127.0.0.1:{nobody}) is not answering" in capsys.readouterr().err
    assert Settings.load().library.chroma_host == ""

    assert main(["remote", "--library", f"127.0.0.1:{chroma_server.port}"]) == 0
    assert "Connected to the Chroma server" in capsys.readouterr().out
    saved = Settings.load().library
    assert (saved.chroma_host, saved.chroma_port) == ("127.0.0.1", chroma_server.port)

    assert main(["remote", "--library", "off"]) == 0
    assert Settings.load().library.chroma_host == ""
