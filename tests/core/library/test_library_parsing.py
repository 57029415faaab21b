"""The parser process: per-file time limit, crash survival, token-sized chunks."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from desktop.core.library.chunking import MODEL_MAX_TOKENS, Chunker, embedding_text
from desktop.core.library.extraction import extract
from desktop.core.library.parsing import ParserProcess


@pytest.fixture
def parser(model_dir: Path):  # type: ignore[no-untyped-def]
    proc = ParserProcess(model_dir, timeout_s=20)
    yield proc
    proc.close()


def test_circular_xobject_pdf_never_hangs_and_run_goes_on(parser: ParserProcess, docs: Path) -> None:
    bad = parser.parse(docs / "pdf_hang-risk_circular-xobjects_issue-1113.pdf")
    assert bad.ok and "pypdfium2" in bad.extractor  # pypdf cannot parse it; PDFium can
    good = parser.parse(docs / "pdf_text_simple_crazyones.pdf")
    assert good.ok and good.text.startswith("The Crazy Ones")
    assert good.chunks[0].page == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_a_file_that_blocks_forever_hits_the_time_limit(model_dir: Path, tmp_path: Path, docs: Path) -> None:
    # Opening a named pipe with no writer blocks for ever: a real hang, not a simulated one.
    fifo = tmp_path / "stuck.txt"
    os.mkfifo(fifo)
    parser = ParserProcess(model_dir, timeout_s=3)
    try:
        parser.parse(docs / "txt_cp1252-latin1_french.txt")  # process started and warm
        first_pid = parser.pid
        result = parser.parse(fifo)
        assert not result.ok
        assert "longer than the 3 s limit" in result.reason
        after = parser.parse(docs / "txt_cp1252-latin1_french.txt")
        assert after.ok and "MOLIÈRE" in after.text
        assert parser.pid != first_pid  # the hung process was replaced
    finally:
        parser.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_a_parser_crash_skips_the_file_only(parser: ParserProcess, tmp_path: Path, docs: Path) -> None:
    fifo = tmp_path / "crash.txt"
    os.mkfifo(fifo)
    parser.parse(docs / "pdf_text_simple_crazyones.pdf")
    pid = parser.pid
    assert pid is not None
    killer = threading.Timer(1.0, lambda: os.kill(pid, 9))
    killer.start()
    result = parser.parse(fifo)
    killer.join()
    assert not result.ok and "crashed" in result.reason
    assert parser.parse(docs / "pdf_text_simple_crazyones.pdf").ok


def test_chunks_fit_the_embedder_and_keep_offsets(model_dir: Path, docs: Path) -> None:
    chunker = Chunker(model_dir)
    for name in ("odt_electra.odt", "html_wikipedia-article.html", "code_python_markitdown.py",
                 "pdf_font_identity-cmap_polish_issue-625.pdf"):
        doc = extract(docs / name)
        specs = chunker.chunk(doc)
        assert len(specs) >= 2
        for spec in specs:
            piece = doc.text[spec.start:spec.end]
            assert piece.strip()
            tokens = chunker.count_tokens(embedding_text(piece, spec.section, doc.title))
            assert tokens + 2 <= MODEL_MAX_TOKENS, (name, tokens)
        # neighbours overlap or touch: nothing between two chunks is lost but whitespace
        # and headings (those head the following chunks' embedding text as their section)
        for a, b in zip(specs, specs[1:], strict=False):
            gap = doc.text[a.end:b.start]
            assert all(line.startswith("#") for line in gap.splitlines() if line.strip())
            if gap.strip():  # the dropped heading heads the next chunk, or it has its own
                assert (b.section and b.section in gap) or doc.text[b.start:b.end].startswith("#")


def test_a_heading_is_not_a_chunk_of_its_own(model_dir: Path) -> None:
    from desktop.core.library.formats import Extracted

    chunker = Chunker(model_dir)
    body = " ".join(f"Sentence {i} explains a finding about protein folding." for i in range(60))
    specs = chunker.chunk(Extracted(f"# Protein folding in cells\n\n{body}", "markdown"))
    assert len(specs) >= 2
    assert all(s.section == "Protein folding in cells" for s in specs)
    text = f"# Protein folding in cells\n\n{body}"
    assert embedding_text(text[specs[1].start:specs[1].end], specs[1].section).startswith(
        "Protein folding in cells\n")


def test_sections_follow_headings(model_dir: Path, docs: Path) -> None:
    chunker = Chunker(model_dir)
    doc = extract(docs / "html_wikipedia-article.html")
    sections = {s.section for s in chunker.chunk(doc)}
    assert any("Founding" in s for s in sections)
    pdf = extract(docs / "pdf_font_identity-cmap_polish_issue-625.pdf")
    assert {s.page for s in chunker.chunk(pdf)} == {1, 2}



@pytest.mark.parametrize("block_chars", [1 << 16, 400])
def test_chunks_are_those_the_splitter_makes_tokenizing_every_piece(
        model_dir: Path, docs: Path, block_chars: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter that tokenizes a document once gives the splitter's own sizer's chunks,
    also when the document is tokenized in blocks."""
    from semantic_text_splitter import MarkdownSplitter, TextSplitter

    from desktop.core.library import chunking

    monkeypatch.setattr(chunking, "_BLOCK_CHARS", block_chars)
    chunker = Chunker(model_dir)
    reference = Chunker(model_dir)  # sized by the splitter's own tokenizer sizer
    tok = reference.tokenizer
    reference._markdown = MarkdownSplitter.from_huggingface_tokenizer(tok, reference.max_tokens, overlap=32)
    reference._text = TextSplitter.from_huggingface_tokenizer(tok, reference.max_tokens, overlap=32)
    for name in ("html_wikipedia-article.html", "csv_cp932-shift-jis_japanese.csv", "odt_electra.odt",
                 "pdf_font_identity-cmap_polish_issue-625.pdf", "txt_cp1252-latin1_french.txt"):
        doc = extract(docs / name)
        assert chunker.chunk(doc) == reference.chunk(doc), name


def test_a_piece_that_cuts_a_word_is_tokenized_on_its_own(model_dir: Path) -> None:
    from desktop.core.library.chunking import SpanCounter

    chunker = Chunker(model_dir)
    counter = SpanCounter(chunker.tokenizer)
    text = "Unbelievably, the re-indexing of 東京 notes (v2.0) finished early."
    counter.reset(text)
    for piece in ("believably, the", "Unbelievably,", "re-index", "東京 notes (v2", "finished early.",
                  "ably", text, " "):
        assert counter(piece) == chunker.count_tokens(piece), piece
    assert counter("not in the text at all") == chunker.count_tokens("not in the text at all")
