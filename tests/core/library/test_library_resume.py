"""Killing the app mid-index and starting again: no duplicate chunk, no lost work.

A real indexing process is SIGKILLed after it has committed some files but before it is
done; a second run finishes the job; the result is compared with a clean index of the
same folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.core.jobs import decode_event

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from desktop.core.jobs import encode_event
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    # commit often, so a kill lands between commits
    lib = Library(Path(sys.argv[1]), LibrarySettings(embed_threads=1), flush_chunks=8)
    for ev in lib.index_paths([Path(sys.argv[2])]):
        print(encode_event(ev), flush=True)
    lib.close()
""")


def _make_folder(folder: Path) -> None:
    folder.mkdir()
    topics = ["rivers", "mountains", "bread", "violins", "comets", "bees", "glaciers", "lighthouses"]
    for i, topic in enumerate(topics):
        paragraphs = [f"Note {i} about {topic}, paragraph {p}: " + " ".join(
            f"{topic} fact {p}-{w} is worth remembering." for w in range(25)) for p in range(3)]
        (folder / f"{i:02d}-{topic}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")


def _index_process(store: Path, folder: Path) -> subprocess.Popen[str]:
    log = open(store.parent / f"{store.name}-{os.urandom(3).hex()}.stderr", "w")
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(store), str(folder)],
                            stdout=subprocess.PIPE, stderr=log, text=True,
                            cwd=Path(__file__).resolve().parents[3])


def _state(store: Path) -> tuple[set[str], int, list[tuple[str, str, int]]]:
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    lib = Library(store, LibrarySettings())
    try:
        ids = {i for i, _ in lib.manifest.chunks("default")}
        count = lib.chunk_count("default")
        files = [(Path(f.path).name, f.state, f.chunks) for f in lib.files()]
        return ids, count, files
    finally:
        lib.close()


@pytest.mark.slow
def test_sigkill_midway_then_rerun_resumes_without_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    _make_folder(folder)
    store = tmp_path / "store"
    proc = _index_process(store, folder)
    killed_at = None
    assert proc.stdout is not None
    for line in proc.stdout:
        ev = decode_event(line)
        if ev and ev.kind == "progress" and ev.what == "files" and 0 < ev.done < ev.total:
            killed_at = ev.done
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert killed_at is not None, "the run ended before it could be killed midway"
    assert proc.returncode == -signal.SIGKILL

    ids_mid, count_mid, files_mid = _state(store)
    committed = [f for f in files_mid if f[1] == "indexed"]
    assert 0 < len(committed) < 8  # work was saved, and the run was not finished

    resumed = _index_process(store, folder)
    out, _ = resumed.communicate(timeout=600)
    finals = [e for e in map(decode_event, out.splitlines()) if e and e.kind == "done"]
    logs = "".join(p.read_text()[-3000:] for p in tmp_path.glob("*.stderr"))
    assert finals, (resumed.returncode, out[-2000:], logs)
    assert finals[0].data["unchanged"] >= len(committed)  # committed files were not redone
    assert finals[0].data["indexed"] <= 8 - len(committed)

    clean_store = tmp_path / "clean"
    clean = _index_process(clean_store, folder)
    clean.communicate(timeout=600)

    ids, count, files = _state(store)
    clean_ids, clean_count, clean_files = _state(clean_store)
    assert ids == clean_ids  # same chunks: none lost...
    assert count == clean_count == len(ids)  # ...and none twice in the vector store
    assert files == clean_files and all(f[1] == "indexed" for f in files)


class _Counting:
    """The real embedder, counting the passages it embeds."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.embedded = inner, 0
        self.name, self.dimension = inner.name, inner.dimension

    def embed(self, texts: list[str]) -> Any:
        self.embedded += len(texts)
        return self.inner.embed(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_large_file_stopped_midway_goes_on_from_its_checkpoint(tmp_path: Path, embedder: Any) -> None:
    from desktop.core.jobs import CancelToken
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    # a 3.9 MB log started again from its first passage after a restart (eleventh trial)
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "log.txt").write_text("\n\n".join(
        f"Entry {i}: the backup of folder {i} finished with {i * 7} files copied and none skipped."
        for i in range(300)), encoding="utf-8")
    counting = _Counting(embedder)
    lib = Library(tmp_path / "store", LibrarySettings(chunk_tokens=64, chunk_overlap_tokens=0), embedder=counting)
    lib.indexer.checkpoint_min_chunks = 16
    try:
        token = CancelToken()
        events = []
        for ev in lib.index_paths([folder], cancel=token):
            events.append(ev)
            if ev.kind == "progress" and ev.data.get("chunks_done", 0) >= 40:
                token.cancel()  # halfway through the file's embedding
        assert events[-1].kind == "cancelled" and lib.chunk_count("default") == 0
        (saved,) = (tmp_path / "store" / "checkpoints").glob("*.npz")
        with np.load(saved) as data:
            kept = len(data["keys"])
        assert kept >= 40
        counting.embedded = 0
        done = list(lib.index_paths([folder]))[-1]
        total = lib.chunk_count("default")
        assert done.kind == "done" and total > kept
        # only the passages not embedded before (and the model's one warm-up text at loading)
        assert total - kept <= counting.embedded <= total - kept + 1
        assert not list((tmp_path / "store" / "checkpoints").glob("*.npz"))  # removed once stored
        assert "with 700 files" in lib.search("Which backup copied 700 files?", top_k=1)[0].text
        # each passage has its own vector, as in a run never stopped
        clean = Library(tmp_path / "clean", LibrarySettings(chunk_tokens=64, chunk_overlap_tokens=0),
                        embedder=embedder)
        try:
            list(clean.index_paths([folder]))
            got = [one.store.vectors("default").get(include=["embeddings"]) for one in (lib, clean)]
            resumed, fresh = ({i: np.asarray(v) for i, v in zip(g["ids"], g["embeddings"], strict=True)}
                              for g in got)
            assert resumed.keys() == fresh.keys()
            assert min(float(np.dot(resumed[i], fresh[i])) for i in fresh) > 0.999
        finally:
            clean.close()
    finally:
        lib.close()


def test_files_a_stopped_run_did_not_reach_wait_in_the_list_and_are_indexed_next(tmp_path: Path,
                                                                                 embedder: Any) -> None:
    from desktop.core.jobs import CancelToken
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    # a log cancelled while it was indexed vanished from the file list (twelfth trial); files
    # added one by one were never taken up again
    folder = tmp_path / "docs"
    _make_folder(folder)
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder, flush_chunks=2)
    try:
        token = CancelToken()
        files = sorted(folder.iterdir())
        for ev in lib.index_paths(files, cancel=token):
            if ev.kind == "progress" and ev.data.get("files_done", 0) >= 2:
                token.cancel()
        states = {Path(f.path).name: f.state for f in lib.files()}
        assert len(states) == len(files) and "waiting" in states.values() and "indexed" in states.values()
        assert sorted(p.name for p in lib.pending_reindex()["default"]) == \
            sorted(n for n, s in states.items() if s == "waiting")
        assert list(lib.reindex_pending())[-1].kind == "done"
        assert {f.state for f in lib.files()} == {"indexed"}
    finally:
        lib.close()


def test_a_run_lists_its_files_as_waiting_and_reads_the_small_ones_first(tmp_path: Path, embedder: Any) -> None:
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    # a note added beside a 5 MB log was searchable only after the log, and neither was in
    # the file list meanwhile (fourteenth new-user trial)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a-big.log").write_text("\n\n".join(f"line {i}: sync ok, 0 files changed" * 8 for i in range(200)))
    (folder / "z-note.txt").write_text("The window cleaner is Dave Holt.")
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder, flush_chunks=1)
    try:
        first_states: dict[str, str] = {}
        midway: dict[str, str] = {}
        for ev in lib.index_paths([folder]):
            if ev.kind == "progress" and ev.what == "files" and not first_states:
                first_states = {Path(f.path).name: f.state for f in lib.files()}
            if ev.kind == "progress" and ev.what == "files" and ev.data.get("files_done") == 1:
                midway = {Path(f.path).name: f.state for f in lib.files()}
        assert first_states == {"a-big.log": "waiting", "z-note.txt": "waiting"}
        assert midway == {"z-note.txt": "indexed", "a-big.log": "waiting"}  # the small one first
        assert {f.state for f in lib.files()} == {"indexed"}
    finally:
        lib.close()
