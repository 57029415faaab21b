"""End to end: index a small folder of real documents with ``hearth index``, then ask
``hearth ask`` with the real default model (greedy) a question whose answer is in only
one of them; the answer's sources must cite that file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.cli import main


@pytest.mark.slow
def test_index_then_ask_cites_the_one_file_with_the_answer(
    tmp_path: Path, shared_data: Path, default_model: Path, capsys: Any
) -> None:
    folder = tmp_path / "my documents"
    folder.mkdir()
    (folder / "pets.txt").write_text(
        "Our cat is named Marmalade. Marmalade is an orange tabby and she is seven years old.\n",
        encoding="utf-8")
    (folder / "holiday.md").write_text(
        "# Summer holiday\n\nWe are driving to the coast of Brittany in August and staying in a "
        "small cottage near Quimper for two weeks.\n", encoding="utf-8")
    (folder / "budget.txt").write_text(
        "Monthly budget: rent 900 euros, groceries 350 euros, transport 80 euros.\n", encoding="utf-8")
    docs = shared_data / "docs"
    for name in ("pdf_text_simple_crazyones.pdf", "rtf_markitdown-sample.rtf",
                 "txt_cp1252-latin1_french.txt", "pdf_encrypted_r4_user-password-required.pdf"):
        shutil.copy(docs / name, folder / name)

    assert main(["index", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Indexed 6 file(s)" in out
    assert "1 file skipped:" in out and "password-protected" in out

    assert main(["ask", "What is the name of our cat?", "--temperature", "0", "--max-tokens", "48",
                 "--keep"]) == 0
    out = capsys.readouterr().out
    answer, _, listed = out.partition("\nSources:\n")
    assert listed, out
    first_source = listed.splitlines()[0]
    assert first_source.startswith("[1] ") and first_source.endswith("pets.txt"), listed

    from desktop.core.history import History
    from desktop.core.paths import data_dir

    with History(data_dir() / "history.sqlite3") as history:
        conv = history.list_conversations()[0]
        reply = history.messages(conv.id)[-1]
    assert reply.role == "assistant" and reply.status == "complete" and reply.content.strip()
    cited = reply.meta["sources"]
    assert Path(cited[0]["path"]).name == "pets.txt"
    assert "Marmalade" in cited[0]["text"]
    # the easy fact usually makes it into the 135M model's answer; the citation is the contract
    if "Marmalade" not in answer:
        print("note: the model did not repeat the name:", answer)

    # without --keep a terminal question leaves no conversation behind (issue 12)
    with History(data_dir() / "history.sqlite3") as history:
        before = len(history.list_conversations())
    assert main(["ask", "How old is the cat?", "--temperature", "0", "--max-tokens", "8"]) == 0
    assert "Sources:" in capsys.readouterr().out
    with History(data_dir() / "history.sqlite3") as history:
        assert len(history.list_conversations()) == before
