"""A library whose vectors live on a Chroma server: a real ``chroma run`` on loopback,
started by the test.  Files are indexed and asked about through the product; the server
going away mid-indexing or mid-search gives a clear message and loses nothing; the
network guard lets through exactly that server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop.core import privacy
from desktop.core.library import Library
from desktop.core.library.store import (
    StoreUnreachable,
    check_chroma_server,
    connect_chroma_server,
    parse_chroma_address,
)
from desktop.core.settings import LibrarySettings
from tests.chroma_server import ChromaServer, core_on_server, free_port


def _notes(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pets.txt").write_text("Our cat is named Marmalade. She is an orange tabby, seven years old.\n")
    (folder / "holiday.md").write_text("# Summer\n\nWe drive to Brittany in August and stay near Quimper.\n")
    (folder / "budget.txt").write_text("Monthly budget: rent 900 euros, groceries 350 euros.\n")
    for i in range(3, n):
        (folder / f"note{i}.txt").write_text(f"Note {i}: the meeting about topic {i} is on day {i} of the month.\n")
    return folder


def _settings(server: ChromaServer) -> LibrarySettings:
    settings = LibrarySettings(memory_enabled=False)
    settings.chroma_host, settings.chroma_port = "127.0.0.1", server.port
    return settings


def test_index_and_ask_with_the_vectors_on_a_chroma_server(tmp_path: Path, chroma_server: ChromaServer,
                                                          embedder: Any) -> None:
    assert "Connected to the Chroma server at 127.0.0.1:" in check_chroma_server("127.0.0.1", chroma_server.port)
    folder = _notes(tmp_path / "notes")
    root = tmp_path / "library"
    with Library(root, _settings(chroma_server), embedder=embedder) as library:
        events = list(library.index_paths([folder]))
        assert events[-1].kind == "done", events[-1].message
        assert events[-1].data["indexed"] == 3
        found = library.search("What is the name of our cat?")
        assert found and Path(found[0].path).name == "pets.txt"
        chunks = library.chunk_count("default")
    # the vectors are on the server, under this library's own names; none on this disk
    assert not (root / "chroma").exists()
    assert (root / "manifest.sqlite3").exists() and (root / "library.lock").exists()
    client = connect_chroma_server("127.0.0.1", chroma_server.port)
    names = [c.name for c in client.list_collections()]
    assert names and all(n.startswith("hearth-") for n in names)
    stored = sum(client.get_collection(n).count() for n in names)
    assert stored == chunks >= 3


def test_ask_through_the_app_core(tmp_path: Path, chroma_server: ChromaServer) -> None:
    core = core_on_server(chroma_server.port, "Marmalade.")
    try:
        assert core.library is not None
        folder = _notes(tmp_path / "notes")
        assert list(core.library.index_paths([folder]))[-1].kind == "done"
        conv = core.history.create_conversation()
        final = [ev for ev in core.chat.send(conv.id, "What is the name of our cat?")][-1].message
        assert final is not None and final.status == "complete"
        assert Path(final.meta["sources"][0]["path"]).name == "pets.txt"
        assert "Marmalade" in final.meta["sources"][0]["text"]
    finally:
        core.close()


def test_the_server_going_away_mid_indexing_loses_nothing(tmp_path: Path, chroma_server: ChromaServer,
                                                         embedder: Any) -> None:
    folder = _notes(tmp_path / "notes", n=8)
    root = tmp_path / "library"
    with Library(root, _settings(chroma_server), embedder=embedder, flush_chunks=1) as library:
        write_files = library.store.write_files

        def write_then_die(*args: Any, **kwargs: Any) -> Any:
            out = write_files(*args, **kwargs)
            chroma_server.kill()  # after the first file was committed (progress events are
            return out  # throttled, so waiting for one raced with the end of the run)

        library.store.write_files = write_then_die  # type: ignore[method-assign]
        final = None
        for ev in library.index_paths([folder]):
            if ev.kind in ("done", "error", "cancelled"):
                final = ev
        library.store.write_files = write_files  # type: ignore[method-assign]
        assert final is not None and final.kind == "error", final
        assert final.data["reason"] == "store_unreachable"
        assert f"127.0.0.1:{chroma_server.port}" in final.message and "Nothing was lost" in final.message
        done_before = {s.path for s in library.files() if s.state == "indexed"}
        assert 1 <= len(done_before) < 8

        # a search meanwhile says the same, clearly
        with pytest.raises(StoreUnreachable, match="not answering"):
            library.search("What is the name of our cat?")

        chroma_server.start()  # back, with what it had stored
        events = list(library.index_paths([folder]))
        assert events[-1].kind == "done", events[-1].message
        states = {s.path: s.state for s in library.files()}
        assert len(states) == 8 and set(states.values()) == {"indexed"}
        # every chunk the manifest records has its vector on the server, and no more
        ids = set()
        for s in library.files():
            rec = library.manifest.file(s.collection, s.path)
            assert rec is not None
            ids.update(rec.chunk_ids)
        assert library.store.vector_ids("default") == ids
        assert Path(library.search("What is the name of our cat?")[0].path).name == "pets.txt"


def test_a_question_while_the_server_is_down_says_so(tmp_path: Path, chroma_server: ChromaServer) -> None:
    core = core_on_server(chroma_server.port, "Paris is the capital.")
    try:
        assert core.library is not None
        assert list(core.library.index_paths([_notes(tmp_path / "notes")]))[-1].kind == "done"
        chroma_server.kill()
        conv = core.history.create_conversation()
        final = [ev for ev in core.chat.send(conv.id, "What is the name of our cat?")][-1].message
        assert final is not None and final.status == "complete"
        assert final.content.startswith("I couldn't search your files: The Chroma server that keeps "
                                        f"your library (127.0.0.1:{chroma_server.port}) is not answering")
        assert final.content.rstrip().endswith("Paris is the capital.")
        assert [m.role for m in core.history.messages(conv.id)] == ["user", "assistant"]
        # the library's own record is intact: the files are still listed as indexed
        assert {s.state for s in core.library.files()} == {"indexed"}
    finally:
        core.close()
    # and the app opens while the server is down (the window works the same)
    core = core_on_server(chroma_server.port, "Paris is the capital.")
    try:
        assert core.library is not None and len(core.library.files()) == 3
    finally:
        core.close()


def test_guard_allows_exactly_the_configured_chroma_server(tmp_path: Path) -> None:
    from tests.core.test_remote_guard import FakeSocket

    settings = LibrarySettings()
    settings.chroma_host, settings.chroma_port = "10.77.0.5", 8123
    from desktop.core.library.store import LibraryStore

    store = LibraryStore(tmp_path / "library", "test-model", settings.chroma_host, settings.chroma_port)
    try:
        privacy._hook("socket.connect", (FakeSocket(), ("10.77.0.5", 8123)))  # allowed: no error
        for other in (("10.77.0.5", 8124), ("10.77.0.6", 8123)):
            with pytest.raises(privacy.NetworkBlocked):
                privacy._hook("socket.connect", (FakeSocket(), other))
        privacy.clear_attempts()
    finally:
        store.close()


def test_addresses_are_parsed_or_refused() -> None:
    assert parse_chroma_address("gpu-box.local:8000") == ("gpu-box.local", 8000)
    assert parse_chroma_address("gpu-box.local") == ("gpu-box.local", 8000)
    assert parse_chroma_address("http://10.0.0.2:9000/") == ("10.0.0.2", 9000)
    assert parse_chroma_address("[fe80::1]:8001") == ("fe80::1", 8001)
    for bad in ("box:http", "box:70000", ":8000"):
        with pytest.raises(ValueError):
            parse_chroma_address(bad)


def test_connection_test_names_a_server_that_is_not_there() -> None:
    port = free_port()
    with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{port}"):
        check_chroma_server("127.0.0.1", port)


def test_moving_a_library_onto_a_server_reindexes_it_there(tmp_path: Path, chroma_server: ChromaServer,
                                                           embedder: Any) -> None:
    folder = _notes(tmp_path / "notes")
    root = tmp_path / "library"
    with Library(root, LibrarySettings(memory_enabled=False), embedder=embedder) as library:
        assert list(library.index_paths([folder]))[-1].kind == "done"
        library.add_folder(folder, "default")
    with Library(root, _settings(chroma_server), embedder=embedder) as library:
        assert {s.state for s in library.files()} == {"stale"}  # no vectors there yet
        assert list(library.catch_up())[-1].kind == "done"
        assert {s.state for s in library.files()} == {"indexed"}
        assert library.store.count("default") == library.chunk_count("default") >= 3
        assert Path(library.search("What is the name of our cat?")[0].path).name == "pets.txt"
