"""Passage size and overlap as library settings: chunks follow them (through the real
parser process), a change marks the library's files stale and the next catch-up
re-indexes them with the new size, the setting is recorded in the manifest, and bad
values are refused with the setting's name and range."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.core.library import Library, chunking
from desktop.core.library.chunking import load_tokenizer
from desktop.core.settings import (
    CHUNK_TOKENS_MAX,
    LibrarySettings,
    Settings,
    check_chunking,
)
from tests.word_hash import WordHashEmbedder


def run(events: Any) -> None:
    final = list(events)[-1]
    assert final.kind == "done", final


@pytest.fixture
def folder(tmp_path: Path, docs: Path) -> Path:
    out = tmp_path / "notes"
    out.mkdir()
    shutil.copy(docs / "md_markitdown-README.md", out / "readme.md")  # a real 12 kB document
    (out / "garden.txt").write_text("The tomatoes in the north bed need watering every Tuesday.\n",
                                    encoding="utf-8")
    return out


def chunk_tokens(lib: Library, model_dir: Path) -> list[int]:
    """Word pieces of every stored chunk's text (without its section header)."""
    tok = load_tokenizer(model_dir)
    ids = [cid for cid, _ in lib.manifest.chunks("default")]
    rows = lib.manifest.chunk_rows("default", ids)
    return [len(tok.encode(r["text"], add_special_tokens=False).ids) for r in rows.values()]


def test_the_limits_match_what_the_embedder_reads() -> None:
    assert CHUNK_TOKENS_MAX == chunking.MAX_CHUNK_TOKENS
    assert LibrarySettings().chunk_tokens == chunking.MAX_CHUNK_TOKENS
    assert LibrarySettings().chunk_overlap_tokens == chunking.OVERLAP_TOKENS


def test_smaller_passages_after_a_change_and_a_catch_up(tmp_path: Path, folder: Path, model_dir: Path) -> None:
    settings = LibrarySettings(ocr_enabled=False)
    lib = Library(tmp_path / "store", settings, embedder=WordHashEmbedder())
    try:
        run(lib.index_paths([folder]))
        big = chunk_tokens(lib, model_dir)
        assert max(big) <= 222 and max(big) > 64
        estimate = lib.reindex_estimate()
        assert (estimate.files, estimate.chunks) == (2, len(big)) and estimate.seconds > 0

        assert lib.set_chunking(64, 8) == 2  # both files are to be read again
        assert (settings.chunk_tokens, settings.chunk_overlap_tokens) == (64, 8)
        assert {f.state for f in lib.files()} == {"stale"}
        assert lib.chunk_count("default") == 0
        assert lib.set_chunking(64, 8) == 0  # no change: nothing more to do

        run(lib.catch_up())
        assert {f.state for f in lib.files()} == {"indexed"}
        small = chunk_tokens(lib, model_dir)
        assert len(small) > len(big)
        assert max(small) <= 64
        assert lib.chunk_count("default") == len(small)
        assert any(s.path.endswith("garden.txt") for s in lib.search("tomatoes north bed watering", top_k=10))
    finally:
        lib.close()

    # The manifest remembers how the chunks were made: reopening with the same settings
    # keeps them, a settings file changed by hand while Hearth was closed re-indexes.
    lib = Library(tmp_path / "store", LibrarySettings(chunk_tokens=64, chunk_overlap_tokens=8, ocr_enabled=False),
                  embedder=WordHashEmbedder())
    try:
        assert {f.state for f in lib.files()} == {"indexed"}
    finally:
        lib.close()
    lib = Library(tmp_path / "store", LibrarySettings(ocr_enabled=False), embedder=WordHashEmbedder())
    try:
        assert {f.state for f in lib.files()} == {"stale"}
        assert lib.reindex_estimate().files == 2
        run(lib.reindex_pending())
        assert len(chunk_tokens(lib, model_dir)) == len(big)
    finally:
        lib.close()


def test_bad_values_are_refused_and_nothing_changes(tmp_path: Path, folder: Path, caplog: Any) -> None:
    with pytest.raises(ValueError, match=r"Passage size \(library.chunk_tokens\) 300 .* from 64 to 222"):
        check_chunking(300, 32)
    with pytest.raises(ValueError, match=r"Passage size .* from 64 to 222"):
        check_chunking(10, 0)
    with pytest.raises(ValueError, match=r"Passage overlap \(library.chunk_overlap_tokens\) 60 .* from 0 to 50"):
        check_chunking(100, 60)
    with pytest.raises(ValueError, match="Passage overlap"):
        check_chunking(100, -1)
    with pytest.raises(ValueError, match="Passage size"):
        check_chunking("big", 0)  # a hand-edited settings file
    check_chunking(64, 32)

    settings = LibrarySettings(ocr_enabled=False)
    lib = Library(tmp_path / "store", settings, embedder=WordHashEmbedder())
    try:
        run(lib.index_paths([folder]))
        chunks = lib.chunk_count("default")
        with pytest.raises(ValueError, match="Passage overlap"):
            lib.set_chunking(128, 100)
        assert (settings.chunk_tokens, settings.chunk_overlap_tokens) == (222, 32)
        assert {f.state for f in lib.files()} == {"indexed"} and lib.chunk_count("default") == chunks
    finally:
        lib.close()

    # out of range in settings.json: the library opens with the defaults, says why, and
    # re-indexes nothing
    path = tmp_path / "settings.json"
    path.write_text('{"library": {"chunk_tokens": 5000, "ocr_enabled": false}}', encoding="utf-8")
    loaded = Settings.load(path).library
    with caplog.at_level(logging.ERROR):
        lib = Library(tmp_path / "store", loaded, embedder=WordHashEmbedder())
    try:
        assert "library.chunk_tokens" in caplog.text and "5000" in caplog.text
        assert {f.state for f in lib.files()} == {"indexed"}
    finally:
        lib.close()
