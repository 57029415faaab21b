"""The library's parts and their boundaries: one list of ignored names for scanning and
watching, the watcher owned above the library and following its folders, one queue of
indexing jobs that a dropped job leaves, and SQL only in the manifest."""

from __future__ import annotations

import ast
import re
import threading
from pathlib import Path
from typing import Any

from desktop.core.library import Library
from desktop.core.library.scan import is_ignored, scan
from desktop.core.library.watch import FolderWatcher
from desktop.core.settings import LibrarySettings

DESKTOP = Path(__file__).resolve().parents[3] / "desktop"
IGNORED = ["Thumbs.db", "desktop.ini", ".DS_Store", ".hidden.txt", "~$report.docx", "notes.txt~",
           "download.part", "edit.swp", "build.tmp"]


def test_scanning_and_watching_ignore_the_same_names(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in [*IGNORED, "plan.txt"]:
        (folder / name).write_text("text\n", encoding="utf-8")
    files, skipped, roots = scan([folder])
    assert [p.name for p in files] == ["plan.txt"] and not skipped and roots == [folder]
    assert all(is_ignored(n) for n in IGNORED) and not is_ignored("plan.txt")

    library: Any = object()  # changed() only queues paths; the library is beside the point
    watcher = FolderWatcher(library)
    for name in IGNORED:
        watcher.changed(str(folder / name))
    assert watcher.idle(), "the watcher queued a name that indexing ignores"
    watcher.changed(str(folder / "plan.txt"))
    assert not watcher.idle()


def test_the_watcher_follows_folders_added_and_removed_while_it_runs(tmp_path: Path, embedder: Any) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder)
    watcher = FolderWatcher(lib, debounce_s=0.2)
    try:
        lib.add_folder(first)
        watcher.start()
        assert watcher.running and watcher.watched_folders == [str(first)]
        lib.add_folder(second)
        assert watcher.watched_folders == [str(first), str(second)]
        lib.remove_folder(first, remove_documents=False)
        assert watcher.watched_folders == [str(second)]
        watcher.stop()
        assert not watcher.running and watcher.watched_folders == []
        lib.add_folder(first)  # after stop: the library no longer calls the watcher
        assert watcher.watched_folders == []
    finally:
        watcher.stop()
        lib.close()


def test_the_core_owns_and_closes_the_watcher() -> None:
    from desktop.core.app import HearthCore
    from desktop.core.engine.fake import ScriptedBackend

    core = HearthCore(engine=ScriptedBackend())
    watcher = core.watcher
    try:
        assert watcher is not None and watcher.library is core.library and not watcher.running
        watcher.start()
        assert watcher.running
    finally:
        core.close()
    assert not watcher.running and core.watcher is None


def test_a_job_dropped_while_waiting_gives_up_its_place(tmp_path: Path, embedder: Any) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "car.txt").write_text("The winter tyres are at the garage.\n", encoding="utf-8")
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder)
    try:
        running = lib.index_paths([folder])
        assert next(running).what == "scanning"  # this job has the indexer
        waiting = lib.index_paths([folder])
        assert "Waiting" in next(waiting).message
        waiting.close()  # e.g. the window dropped the job
        running.close()
        assert not lib.indexer.queue.busy
        events = list(lib.index_paths([folder]))  # would wait forever for the dropped job
        assert events[-1].kind == "done" and events[-1].data["indexed"] == 1
    finally:
        lib.close()


def test_jobs_run_in_the_order_asked_whichever_thread_starts_first(tmp_path: Path, embedder: Any) -> None:
    first_folder, second_folder = tmp_path / "first", tmp_path / "second"
    for folder in (first_folder, second_folder):
        folder.mkdir()
        (folder / "note.txt").write_text(f"A note in {folder.name}.\n", encoding="utf-8")
    lib = Library(tmp_path / "store", LibrarySettings(), embedder=embedder)
    try:
        first = lib.index_paths([first_folder])  # asked first ...
        never_run = lib.index_paths([first_folder])
        second = lib.index_paths([second_folder])
        assert "Waiting" in next(second).message  # ... so the second waits, though it ran first
        del never_run  # asked, then dropped before it ever ran: it frees its place
        assert list(first)[-1].kind == "done"
        ended: list[Any] = []
        runner = threading.Thread(target=lambda: ended.extend(second), daemon=True)
        runner.start()
        runner.join(120)  # not stuck behind the dropped job
        assert not runner.is_alive() and ended[-1].kind == "done"
        assert not lib.indexer.queue.busy
    finally:
        lib.close()


def _string_constants(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_the_library_tables_are_reached_only_through_the_manifest() -> None:
    tables = "(files|chunks|texts|collections|folders|memories|meta)"
    sql = re.compile(rf"\b(FROM|INTO|UPDATE|JOIN) {tables}\b")
    offenders = [f"{p.relative_to(DESKTOP)}: {s[:60]!r}"
                 for p in sorted(DESKTOP.rglob("*.py")) if p.name != "manifest.py"
                 for s in _string_constants(p) if sql.search(s)]
    assert not offenders


def test_the_library_does_not_import_its_watcher_and_one_file_hash_exists() -> None:
    for p in sorted((DESKTOP / "core" / "library").glob("*.py")):
        if p.name == "watch.py":
            continue
        imported = {n.module for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                    if isinstance(n, ast.ImportFrom) and n.module}
        assert "desktop.core.library.watch" not in imported, p.name
    defining = [p.relative_to(DESKTOP) for p in DESKTOP.rglob("*.py")
                if "def file_sha256(" in p.read_text(encoding="utf-8")]
    assert defining == [Path("core/hashing.py")]
