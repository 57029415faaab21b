"""``hearth export`` and ``hearth import`` (no chat model needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from desktop.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "core" / "fixtures" / "transfer"


def test_import_then_export(tmp_path: Path, capsys: Any) -> None:
    assert main(["import", str(FIXTURES / "claude_conversations.json"), "--no-memory"]) == 0
    captured = capsys.readouterr()
    assert "Imported 1 conversation(s) from a claude export; 2 item(s) skipped." in captured.out
    assert "skipped: conversation 2 (Empty chat)" in captured.err

    out = tmp_path / "all.json"
    assert main(["export", str(out)]) == 0
    assert "Exported 1 conversation(s)" in capsys.readouterr().out
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["conversations"][0]["title"] == "Tomato seedlings"

    md = tmp_path / "one.md"
    assert main(["export", str(md), "--conversation", "1"]) == 0
    assert md.read_text(encoding="utf-8").startswith("# Tomato seedlings")

    assert main(["export", str(md), "--conversation", "99"]) == 2
    assert "no conversation 99" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "nope.json"), "--no-memory"]) == 2
    assert "Could not read" in capsys.readouterr().err
