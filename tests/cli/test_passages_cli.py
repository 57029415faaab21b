"""``hearth library passages``: shows the passage size, refuses bad values naming the
setting, and a change says the library will be re-indexed (and does so with --reindex).
Real store and embedder, two small files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.cli import main
from desktop.core.settings import Settings


def test_changing_the_passage_size_reindexes(tmp_path: Path, shared_data: Path, capsys: Any) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "readme.md").write_bytes((shared_data / "docs" / "md_markitdown-README.md").read_bytes())
    (folder / "todo.txt").write_text("Buy birthday candles for Ada's party on Friday.\n", encoding="utf-8")
    assert main(["index", str(folder)]) == 0
    capsys.readouterr()

    assert main(["library", "passages"]) == 0
    assert "Passages are 222 word pieces, overlapping by 32." in capsys.readouterr().out

    assert main(["library", "passages", "--size", "500"]) == 2
    err = capsys.readouterr().err
    assert "library.chunk_tokens" in err and "from 64 to 222" in err and "Nothing was changed" in err
    assert main(["library", "passages", "--size", "100", "--overlap", "80"]) == 2
    assert "library.chunk_overlap_tokens" in capsys.readouterr().err
    assert Settings.load().library.chunk_tokens == 222

    assert main(["library", "passages", "--size", "96", "--overlap", "16"]) == 0
    out = capsys.readouterr().out
    assert "Passages are now 96 word pieces, overlapping by 16." in out
    assert "The library will be re-indexed: all 2 files are read again" in out
    assert (Settings.load().library.chunk_tokens, Settings.load().library.chunk_overlap_tokens) == (96, 16)
    assert main(["library", "files"]) == 0
    assert capsys.readouterr().out.count("stale") == 2

    assert main(["library", "passages", "--reindex"]) == 0
    assert "Indexed 2 file(s)" in capsys.readouterr().out
    assert main(["library", "files"]) == 0
    assert capsys.readouterr().out.count("indexed") == 2
