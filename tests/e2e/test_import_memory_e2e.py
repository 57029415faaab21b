"""Imported conversations feed memory like native ones (real library and embedder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.cli import main
from desktop.core.library import Library
from desktop.core.paths import data_dir
from desktop.core.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "core" / "fixtures" / "transfer"


def test_imported_chatgpt_exchanges_are_recalled(capsys: Any) -> None:
    assert main(["import", str(FIXTURES / "chatgpt_conversations.json")]) == 0
    assert "Imported 2 conversation(s)" in capsys.readouterr().out
    library = Library.open(data_dir(), Settings.load().library)
    try:
        recalled = library.recall("How often do I feed a sourdough starter?")
        assert recalled and recalled[0].kind == "memory"
        assert "Once a day at room temperature" in recalled[0].text
    finally:
        library.close()
