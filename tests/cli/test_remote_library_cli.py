"""``hearth remote --library HOST:PORT``: tested against a real ``chroma run``, then saved;
a server that is not there is named and nothing is saved; ``off`` goes back."""

from __future__ import annotations

from typing import Any

from desktop.cli import main
from desktop.core.settings import Settings
from tests.chroma_server import ChromaServer, free_port


def test_library_server_is_tested_then_saved(chroma_server: ChromaServer, capsys: Any) -> None:
    nobody = free_port()
    assert main(["remote", "--library", f"127.0.0.1:{nobody}"]) == 2
    assert f"127.0.0.1:{nobody}) is not answering" in capsys.readouterr().err
    assert Settings.load().library.chroma_host == ""

    assert main(["remote", "--library", f"127.0.0.1:{chroma_server.port}"]) == 0
    assert "Connected to the Chroma server" in capsys.readouterr().out
    saved = Settings.load().library
    assert (saved.chroma_host, saved.chroma_port) == ("127.0.0.1", chroma_server.port)

    assert main(["remote", "--library", "off"]) == 0
    assert Settings.load().library.chroma_host == ""
