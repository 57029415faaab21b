"""``hearth index`` and ``hearth library`` on a real store (no chat model needed)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from desktop.cli import main


def test_index_reports_skips_and_library_commands(tmp_path: Path, shared_data: Path, capsys: Any) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    docs = shared_data / "docs"
    for name in ("pdf_text_simple_crazyones.pdf", "pdf_encrypted_r4_user-password-required.pdf",
                 "pdf_scanned_image-only_medical-report.pdf"):
        shutil.copy(docs / name, folder / name)
    (folder / "todo.txt").write_text("Buy birthday candles for Ada's party on Friday.\n", encoding="utf-8")
    from desktop.core.settings import Settings

    settings = Settings.load()
    settings.library.ocr_enabled = False  # the scan is then skipped with "needs OCR"
    settings.save()

    assert main(["index", str(folder), "--collection", "home", "--watch"]) == 0
    out = capsys.readouterr().out
    assert "add --watch" not in out
    assert "Indexed 2 file(s)" in out
    assert "2 files skipped:" in out
    assert "password-protected" in out and "needs OCR" in out

    assert main(["index", str(folder), "--collection", "home"]) == 0
    out = capsys.readouterr().out
    assert "Indexed 0 file(s) (0 chunks), 2 unchanged; 2 file(s) skipped." in out
    assert "add --watch" not in out  # watched already
    other = tmp_path / "other"
    other.mkdir()
    (other / "car.txt").write_text("The car is serviced every May at the garage on Mill Street.\n", encoding="utf-8")
    assert main(["index", str(other), "--collection", "cars"]) == 0
    assert f"Changes in {other} are read when you run this again; add --watch" in capsys.readouterr().out

    assert main(["library"]) == 0  # alone: shows the library, not only usage
    out = capsys.readouterr().out
    assert "home: " in out and f"watching {folder}" in out

    assert main(["library", "list"]) == 0
    out = capsys.readouterr().out
    assert "home: 2 files" in out and f"watching {folder}" in out

    assert main(["library", "search", "birthday candles", "--collection", "home"]) == 0
    assert capsys.readouterr().out.startswith(f"[1] {folder / 'todo.txt'}")

    assert main(["library", "skipped"]) == 0
    assert "2 files skipped:" in capsys.readouterr().out

    assert main(["library", "remove", str(folder / "todo.txt")]) == 0
    assert "Removed 1 file(s)" in capsys.readouterr().out
    assert main(["library", "files"]) == 0
    assert "todo.txt" not in capsys.readouterr().out


def test_bad_paths_and_collections_are_errors(tmp_path: Path, capsys: Any, default_model: Path) -> None:
    assert main(["index", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["ask", "hello", "--collection", "nosuch"]) == 2
    assert "no collection named nosuch" in capsys.readouterr().err
    assert main(["ask", "   "]) == 2  # an empty question: one clear line, no traceback
    assert "the question is empty" in capsys.readouterr().err
