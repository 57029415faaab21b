"""Fuzzing (hypothesis, bounded) of the document parsers and the chunker.

Every damaged document must end as text or as a skip with a reason, through the same
time-limited parser process the indexer uses; the chunker must return valid, in-bounds,
token-limited chunks for any text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.core.library.chunking import MAX_CHUNK_TOKENS, Chunker
from desktop.core.library.extraction import extract
from desktop.core.library.formats import Extracted, Unreadable
from desktop.core.library.parsing import ParserProcess

TEXT_EXTENSIONS = [".txt", ".md", ".csv", ".html", ".rtf", ".py", ".rst"]
BINARY_SAMPLES = [
    "docx_tables-images_markitdown-test.docx", "odt_electra.odt", "epub_minimal_markitdown-test.epub",
    "pdf_text_simple_crazyones.pdf", "pdf_font_identity-cmap_polish_issue-625.pdf",
]
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])


@settings(FUZZ, max_examples=120)
@given(data=st.binary(max_size=4096), ext=st.sampled_from(TEXT_EXTENSIONS))
def test_text_formats_never_fail_unexpectedly(tmp_path: Path, data: bytes, ext: str) -> None:
    f = tmp_path / f"fuzz{ext}"
    f.write_bytes(data)
    try:
        result = extract(f)
    except Unreadable as exc:
        assert str(exc)
    else:
        assert isinstance(result, Extracted) and result.text.strip()


@pytest.fixture(scope="module")
def parser(model_dir: Path):  # type: ignore[no-untyped-def]
    proc = ParserProcess(model_dir, timeout_s=20)
    yield proc
    proc.close()


@settings(FUZZ, max_examples=40)
@given(sample=st.sampled_from(BINARY_SAMPLES), data=st.data())
def test_damaged_binary_documents_are_text_or_skipped(
    tmp_path: Path, shared_data: Path, parser: ParserProcess, sample: str, data: st.DataObject
) -> None:
    raw = bytearray((shared_data / "docs" / sample).read_bytes())
    cut = data.draw(st.integers(len(raw) // 4, len(raw)))
    raw = raw[:cut]
    for _ in range(data.draw(st.integers(1, 16))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    f = tmp_path / sample
    f.write_bytes(bytes(raw))
    result = parser.parse(f)
    assert result.ok or result.reason, "a skip must say why"
    if result.ok:
        assert result.text.strip()


@pytest.fixture(scope="module")
def chunker(model_dir: Path) -> Chunker:
    return Chunker(model_dir)


@settings(FUZZ, max_examples=60)
@given(text=st.text(min_size=1, max_size=3000), kind=st.sampled_from(["text", "markdown", "code"]))
def test_chunks_are_in_bounds_and_token_limited(chunker: Chunker, text: str, kind: str) -> None:
    chunks = chunker.chunk(Extracted(text, kind))
    previous_start = -1
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text)
        assert c.start >= previous_start
        previous_start = c.start
        assert chunker.count_tokens(text[c.start:c.end]) <= MAX_CHUNK_TOKENS
    if text.strip():
        assert chunks, "text with content gave no chunk"
