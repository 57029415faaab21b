"""Questions asked while a big folder indexes do not wait for the indexing work
(hearth-bench load measures the latencies on a 50,000-chunk library)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.library import Library
from desktop.core.settings import LibrarySettings


def test_a_question_does_not_wait_for_an_embedding_batch(embedder: Any) -> None:
    texts = ["Where are the winter tyres stored?"]
    expected = embedder.embed(texts)
    got: list[np.ndarray] = []
    with embedder.encode_lock:  # an indexing batch is being encoded
        asker = threading.Thread(target=lambda: got.append(embedder.embed_query(texts)))
        asker.start()
        asker.join(120)
        assert got, "the question waited for the batch"
    assert np.allclose(got[0], expected, atol=1e-5)


def _wait_for(condition: Any, seconds: float = 120) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_bm25_answers_from_its_last_index_while_a_job_runs(tmp_path: Path, embedder: Any) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "car.txt").write_text("The car's winter tyres are stored at the garage on Elm Street.\n")
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder)
    try:
        list(lib.index_paths([folder]))
        assert lib.search("winter tyres")[0].title == "car.txt"
        first = lib.retriever.bm25("default")

        def bump() -> int:  # what each group of files an indexing job stores does
            lib.manifest.bump_version("default")
            return lib.store.version("default")

        version = bump()
        assert lib.retriever.bm25("default") is first  # answered at once, from the last index
        assert _wait_for(lambda: lib.retriever.cached_version("default") == version)  # the next built aside
        assert lib.retriever.bm25("default") is not first
        assert lib.search("winter tyres")[0].title == "car.txt"

        version = bump()
        list(lib.index_paths([folder]))  # a job that ends refreshes what searches use
        assert lib.retriever.cached_version("default") == version
    finally:
        lib.close()


def test_the_end_of_the_file_list_reaches_a_busy_indexer(tmp_path: Path, embedder: Any) -> None:
    """The file reader's end marker waits for room however long embedding keeps the
    queue full (it used to be dropped after 5 s, and a big folder's run never ended)."""
    import os

    from desktop.core.jobs import CancelToken
    from desktop.core.library.indexer import IndexRun

    note = tmp_path / "note.txt"
    note.write_text("A short note.\n")
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder)
    try:
        run = IndexRun(lib.indexer, [note], "default", CancelToken(), read_ahead=1)  # full after one file
        run.work = [(note, os.stat(note))]
        results = run.results
        reader = threading.Thread(target=run.produce, args=(CancelToken(),), daemon=True)
        reader.start()
        time.sleep(6.0)  # the indexer is busy embedding a large group of files
        assert results.get(timeout=60)[0] == "parsed"
        assert results.get(timeout=60) is None
        reader.join(60)
    finally:
        lib.close()


def test_progress_moves_within_one_large_file(tmp_path: Path, embedder: Any) -> None:
    """The bar's fraction moves with each embedded batch, not only when a file is done."""
    big = tmp_path / "big.txt"
    big.write_text("\n\n".join(f"Paragraph {i} tells of harvest number {i} in the valley. " * 6
                               for i in range(480)), encoding="utf-8")  # steps of 32 chunks
    lib = Library(tmp_path / "store", LibrarySettings(parse_timeout_s=60, ocr_enabled=False),
                  embedder=embedder, flush_chunks=10_000)  # one group: the whole file
    try:
        events = list(lib.index_paths([big]))
    finally:
        lib.close()
    assert events[-1].kind == "done"
    inside = [ev.data["fraction"] for ev in events
              if ev.kind == "progress" and ev.what == "files" and ev.data["files_done"] == 0]
    moving = sorted(set(f for f in inside if 0 < f < 1))
    assert len(moving) >= 2, inside  # moved at least twice before the file was finished
    assert inside == sorted(inside)  # never backwards


def test_the_reader_keeps_at_most_a_budget_of_text_ahead(tmp_path: Path, embedder: Any, monkeypatch: Any) -> None:
    """Many small files may wait parsed for the embedder (it then never waits for the
    parser), but not more text than READ_AHEAD_CHARS: a folder of large files would
    otherwise be held in memory whole."""
    import os

    from desktop.core.jobs import CancelToken
    from desktop.core.library import indexer
    from desktop.core.library.indexer import IndexRun

    monkeypatch.setattr(indexer, "READ_AHEAD_CHARS", 100)
    notes = []
    for i in range(4):
        note = tmp_path / f"note{i}.txt"
        note.write_text(f"Note {i} is about the garden and the shed, and what grows there. " * 2)
        notes.append(note)
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder)
    try:
        run = IndexRun(lib.indexer, notes, "default", CancelToken())
        run.work = [(n, os.stat(n)) for n in notes]
        stop = CancelToken()
        reader = threading.Thread(target=run.produce, args=(stop,), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while run.results.qsize() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)  # the embedder is busy: the reader would parse the others ahead
        assert run.results.qsize() == 1  # the first note (130 characters) fills the budget
        stop.cancel()
        reader.join(10)
        assert not reader.is_alive()
    finally:
        lib.close()
