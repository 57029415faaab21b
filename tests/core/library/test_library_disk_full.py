"""Indexing on a nearly full disk: a clear message, nothing indexed is lost or corrupted,
and indexing finishes once space is freed (needs a small tmpfs: Linux, root)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from desktop.bench.faults import library_state
from desktop.core.library import Library
from desktop.core.settings import LibrarySettings


def _abstracts(shared_data: Path, n: int) -> list[str]:
    with open(shared_data / "ir" / "scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line, _ in zip(fh, range(n), strict=False)]


def test_indexing_on_a_full_disk_stops_clearly_and_resumes(
    mount_small_disk: Any, fill_disk: Any, embedder: Any, shared_data: Path, tmp_path: Path
) -> None:
    home = mount_small_disk("128m")  # room for the library and its 32 MB reserve
    texts = _abstracts(shared_data, 160)
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, start in ((first, 0), (second, 40)):
        folder.mkdir()
        for i in range(0, 40, 2):
            (folder / f"note-{start + i}.txt").write_text("\n\n".join(texts[start + i: start + i + 2] * 3))
    lib = Library.open(home / "data", LibrarySettings(), embedder=embedder)
    assert [e for e in lib.index_paths([first])][-1].kind == "done"
    filler = fill_disk(home, leave=96 * 1024)

    final = list(lib.index_paths([second]))[-1]
    assert final.kind == "error" and final.data["reason"] == "disk_full", final
    assert "is full" in final.message and str(home) in final.message
    assert lib.search("note")  # still answers
    lib.close()
    states, problems = library_state(home)
    assert problems == []
    assert all(states[f"note-{i}.txt"] == "indexed" for i in range(0, 40, 2))

    filler.unlink()  # space is freed
    lib = Library.open(home / "data", LibrarySettings(), embedder=embedder)
    assert list(lib.index_paths([second]))[-1].kind == "done"
    lib.close()
    states, problems = library_state(home)
    assert problems == [] and len(states) == 40 and set(states.values()) == {"indexed"}
