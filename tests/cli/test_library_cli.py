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
    assert "Indexed 0 file(s) (0 passages), 2 unchanged; 2 file(s) skipped." in out
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


def _lines(err: str) -> list[str]:
    """The states a tqdm line went through on a terminal (each redraw starts with \\r)."""
    return [s.strip() for s in err.replace("\r", "\n").splitlines() if s.strip()]


def test_indexing_nothing_shows_words_not_an_empty_counter(tmp_path: Path, capsys: Any) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["index", str(empty)]) == 0
    states = _lines(capsys.readouterr().err)
    assert states[-1] == "Indexing: no new or changed files to read"
    for state in states:  # never "0file [00:00, ?file/s]" nor "Looking for documents…: : "
        assert "?" not in state and "file/s" not in state and ": :" not in state and "|" not in state


def test_the_indexing_line_counts_files_in_words() -> None:
    import io

    from desktop.cli.library import _follow, progress_bar
    from desktop.core.jobs import ProgressEvent

    events = [
        ProgressEvent("index", "progress", "scanning", message="Looking for documents…"),
        ProgressEvent("index", "progress", "files", 0, 5, "files", data={"chunks_done": 0}),
        ProgressEvent("index", "progress", "files", 2, 5, "files",
                      data={"chunks_done": 12, "chunks_per_s": 3.44, "eta_s": 5.2}),
        ProgressEvent("index", "progress", "files", 5, 5, "files", data={"chunks_done": 30, "eta_s": 0.0}),
        ProgressEvent("index", "done", "files", 5, 5, "files", message="Indexed 5 file(s) (30 passages)."),
    ]
    out = io.StringIO()
    bar = progress_bar(out)
    shown: list[str] = []

    def watched() -> Any:
        for ev in events:
            yield ev
            shown.append(str(bar))

    final = _follow(watched(), bar)
    bar.close()
    assert final is events[-1]
    assert shown[0] == "Looking for documents…"
    assert shown[1].startswith("Indexing:   0%|") and shown[1].endswith("| 0 of 5 files, 0 passages")
    assert shown[2].startswith("Indexing:  40%|")
    assert shown[2].endswith("| 2 of 5 files, 12 passages, 3.4 passages/s, about 5 s left")
    assert shown[3].endswith("| 5 of 5 files, 30 passages")  # no time left once all are read

    bar = progress_bar(io.StringIO())
    _follow([ProgressEvent("index", "progress", "files", 0, 1, "files", data={"chunks_done": 0})], bar)
    assert str(bar).endswith("| 0 of 1 file, 0 passages")
    bar.close()


def test_the_ask_status_line_shows_on_a_terminal_only() -> None:
    import io

    from desktop.cli.library import status_line

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term, pipe = Terminal(), io.StringIO()
    for stream in (term, pipe):
        bar = status_line(stream)
        bar.set_description_str("Searching your files…")
        bar.set_description_str("Writing the answer…")
        bar.close()
    assert "Searching your files…" in term.getvalue() and "Writing the answer…" in term.getvalue()
    assert term.getvalue().endswith("\r")  # erased: the answer starts at the line's beginning
    assert pipe.getvalue() == ""
