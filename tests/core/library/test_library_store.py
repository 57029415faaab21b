"""The library on a real store (chromadb on disk, SQLite manifest, the real embedder):
indexing, bad input, incremental updates, deletion, collections, retrieval, memory,
embedding-model change, watched folders."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from desktop.core.jobs import CancelToken, ProgressEvent
from desktop.core.library import Library
from desktop.core.library.memory import memory_title
from desktop.core.library.watch import FolderWatcher
from desktop.core.settings import LibrarySettings
from tests.word_hash import WordHashEmbedder

PASSWORD_PDF = "pdf_encrypted_r4_user-password-required.pdf"


def run(events: Any) -> tuple[ProgressEvent, list[ProgressEvent]]:
    all_events = list(events)
    final = all_events[-1]
    assert final.kind in ("done", "cancelled"), final
    return final, all_events


@pytest.fixture
def library(tmp_path: Path, embedder: Any) -> Any:
    # OCR off: these tests are about the pipeline, and OCR of a scan takes seconds
    # (tests/core/library/test_ocr.py covers it)
    lib = Library(tmp_path / "store", LibrarySettings(parse_timeout_s=30, ocr_enabled=False), embedder=embedder)
    yield lib
    lib.close()


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "garden.md").write_text(
        "# Garden\n\nThe tomatoes in the north bed need watering every Tuesday.\n", encoding="utf-8")
    (folder / "car.txt").write_text(
        "The car's winter tyres are stored at the garage on Elm Street.\n", encoding="utf-8")
    sub = folder / "sub"
    sub.mkdir()
    (sub / "recipe.txt").write_text("Grandma's lemon cake needs three eggs and a cup of sugar.\n",
                                    encoding="utf-8")
    return folder


def test_shared_documents_index_with_reasons_for_the_bad_ones(library: Library, docs: Path,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    # The two book-length files are left out to keep this test quick (their extraction
    # and chunking are tested in test_library_formats.py and test_library_parsing.py).
    shutil.copytree(docs, folder, ignore=shutil.ignore_patterns("odt_electra.odt", "html_wikipedia-article.html"))
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "loop-a.txt").symlink_to(folder / "loop-b.txt")
    (folder / "loop-b.txt").symlink_to(folder / "loop-a.txt")
    final, events = run(library.index_paths([folder]))
    reasons = {Path(s["file"]).name: s["reason"] for s in final.data["skipped"]}
    assert "password-protected" in reasons[PASSWORD_PDF] and "unlocked copy" in reasons[PASSWORD_PDF]
    assert "needs OCR" in reasons["pdf_scanned_image-only_medical-report.pdf"]
    assert "pdf_hang-risk_circular-xobjects_issue-1113.pdf" not in reasons  # read by PDFium
    assert "turn on OCR" in reasons["photo.png"]  # an image, and OCR is off
    assert "empty" in reasons["empty.txt"]
    assert "symbolic link loop" in reasons["loop-a.txt"]
    assert final.data["indexed"] == 13
    assert "6 file(s) skipped" in final.message
    warnings = {Path(e.data["file"]).name for e in events if e.kind == "warning"}
    assert PASSWORD_PDF in warnings
    progress = [e for e in events if e.kind == "progress" and e.what == "files"]
    assert progress[-1].done == progress[-1].total
    assert progress[-1].data["chunks_done"] == final.data["chunks"] > 0
    skipped = {Path(s.path).name: s.reason for s in library.skipped()}
    assert "password-protected" in skipped[PASSWORD_PDF]
    # every chunk in the manifest is in the store, once
    assert library.chunk_count("default") == final.data["chunks"]
    # and what the user asks about is found, with page numbers for PDFs
    hits = library.search("Termin płatności faktura", top_k=3)
    assert hits[0].path and hits[0].path.endswith("pdf_font_identity-cmap_polish_issue-625.pdf")
    assert hits[0].page in (1, 2)
    assert library.search("髙橋淳 名古屋", top_k=2)[0].title == "csv_cp932-shift-jis_japanese.csv"


def test_incremental_reindex_touches_only_changes(library: Library, notes: Path) -> None:
    first, _ = run(library.index_paths([notes]))
    assert first.data["indexed"] == 3
    again, _ = run(library.index_paths([notes]))
    assert again.data["indexed"] == 0 and again.data["unchanged"] == 3
    before = {f.path: f for f in library.files()}
    garden = notes / "garden.md"
    garden.write_text("# Garden\n\nThe roses by the gate are pruned in March.\n", encoding="utf-8")
    os.utime(garden, (time.time() + 5, time.time() + 5))
    third, _ = run(library.index_paths([notes]))
    assert third.data["indexed"] == 1 and third.data["unchanged"] == 2
    after = {f.path: f for f in library.files()}
    assert after[str(notes / "car.txt")].updated_at == before[str(notes / "car.txt")].updated_at
    assert library.chunk_count("default") == sum(f.chunks for f in library.files())
    top = library.search("When are the roses pruned?", top_k=1)[0]
    assert top.title == "garden.md" and "roses" in top.text
    assert all("tomatoes" not in s.text for s in library.search("tomatoes watering", top_k=5))


def test_touched_but_unchanged_file_is_not_reembedded(library: Library, notes: Path) -> None:
    run(library.index_paths([notes]))
    os.utime(notes / "car.txt", (time.time() + 10, time.time() + 10))
    final, _ = run(library.index_paths([notes]))
    assert final.data["indexed"] == 0 and final.data["unchanged"] == 3


def test_deleted_file_chunks_go_at_once(library: Library, notes: Path) -> None:
    run(library.index_paths([notes]))
    n = library.chunk_count("default")
    (notes / "car.txt").unlink()
    assert library.remove_path(notes / "car.txt") == 1
    assert library.chunk_count("default") < n
    assert all(s.title != "car.txt" for s in library.search("winter tyres garage", top_k=5))
    # a folder re-scan also notices deletions
    (notes / "sub" / "recipe.txt").unlink()
    final, _ = run(library.index_paths([notes]))
    assert final.data["removed"] == 1
    assert {Path(f.path).name for f in library.files()} == {"garden.md"}


def test_collections_are_separate_and_deletable(library: Library, notes: Path, docs: Path) -> None:
    run(library.index_paths([notes], "home"))
    run(library.index_paths([docs / "pdf_text_simple_crazyones.pdf"], "work"))
    names = {c.name: c for c in library.collections()}
    assert names["home"].files == 3 and names["work"].files == 1
    assert library.search("crazy ones misfits rebels", ["home"], top_k=3)[0].collection == "home"
    assert library.search("crazy ones misfits rebels", ["work"], top_k=1)[0].title == "pdf_text_simple_crazyones.pdf"
    both = library.search("crazy ones misfits rebels", None, top_k=1)
    assert both[0].collection == "work"
    library.delete_collection("work")
    assert "work" not in library.collection_names()
    assert all(s.collection == "home" for s in library.search("crazy ones", top_k=5))


def test_documents_give_full_text_for_personalization(library: Library, notes: Path) -> None:
    run(library.index_paths([notes]))
    docs = dict(library.documents())
    assert docs[str(notes / "car.txt")].startswith("The car's winter tyres")
    assert len(docs) == 3


def test_sources_for_packs_into_the_budget(library: Library, docs: Path) -> None:
    run(library.index_paths([docs / "md_markitdown-README.md"]))
    big = library.sources_for("convert files to Markdown", None, budget_tokens=5000)
    small = library.sources_for("convert files to Markdown", None, budget_tokens=300)
    assert len(big) > len(small) >= 1
    assert sum(len(s.text) for s in small) / 3.2 <= 300


def test_memory_recalls_past_exchanges_as_sources(library: Library) -> None:
    library.remember(7, "Cat names", "What should I call my new kitten?",
                     "You could call the kitten Pumpkin, Miso or Clementine.")
    found = library.sources_for("Which kitten names did you suggest before?", None, 1200)
    memories = [s for s in found if s.kind == "memory"]
    assert memories and "Pumpkin" in memories[0].text
    assert memories[0].title.startswith("your conversation of ")
    assert memories[0].extra["conversation_id"] == 7
    assert not [s for s in library.sources_for("How do I change a bicycle tyre?", None, 1200)
                if s.kind == "memory"]
    library.settings.memory_enabled = False
    assert not library.sources_for("Which kitten names did you suggest?", None, 1200)


def test_memory_keeps_what_the_user_said_without_a_reply(library: Library) -> None:
    """A fact told and its reply stopped is stored with no reply, recalled as said."""
    library.remember(8, "Gym", "My gym membership costs 30 pounds a month.", "")
    memories = [s for s in library.sources_for("How much is my gym membership?", None, 1200) if s.kind == "memory"]
    assert memories and memories[0].text == "You said: My gym membership costs 30 pounds a month."


def test_what_the_user_told_is_recalled_by_their_words_not_the_reply(library: Library) -> None:
    # the reply beside it pulled the statement under the recall floor (eleventh trial)
    library.remember(9, "Football", "Just so you know, my favourite football team is Leeds United and my son "
                     "plays the trumpet.", "I'm sorry for the confusion, but I can help you with that. Can you "
                     "tell me more about the Leeds United team and your son who plays the trumpet?")
    memories = [s for s in library.sources_for("Which football team do I support?", None, 1200)
                if s.kind == "memory"]
    assert memories and "Leeds United" in memories[0].text


def test_memory_keeps_no_exchange_about_a_secret(library: Library) -> None:
    # the fourth new-user trial found the Wi-Fi password in "What does Hearth know?"
    library.remember(4, "Wi-Fi", "What is my Wi-Fi password?", "Password: blue-otter-2417.")
    library.remember(4, "Wi-Fi", "Where is the router?", "Your Wi-Fi password is blue-otter-2417.")
    library.remember(5, "Gym", "What's the locker code?", "It is 5820.")
    library.remember(6, "Bank", "Which account do I pay rent to?", "IBAN DE89 3704 0044 0532 0130 00.")
    assert library.memory.memories() == [] and library.memory.count() == 0
    library.remember(7, "Cake", "How long does the lemon cake bake?", "35 minutes at 180 degrees.")
    assert [m["question"] for m in library.memory.memories()] == ["How long does the lemon cake bake?"]


def test_mentions_secret_names_and_values() -> None:
    from desktop.core.sensitive import mentions_secret

    assert mentions_secret("What is my Wi-Fi password?") and mentions_secret("the door code, please")
    assert mentions_secret("PIN 4821") and mentions_secret("Recovery key for the laptop")
    assert mentions_secret("My email login is anna.k@example.com with pw Sunflower!88")  # fifth trial
    assert mentions_secret("The garage opener number is 4402, keep that in mind.")
    assert mentions_secret("What is my credit card number?")
    assert not mentions_secret("Which postal code is the office in?")  # a postal code is no secret
    assert not mentions_secret("How long does the lemon cake bake?")
    assert not mentions_secret("When is the dentist appointment?")


def test_memory_title_format() -> None:
    t = time.mktime((2026, 3, 12, 10, 0, 0, 0, 0, -1))
    assert memory_title(t).startswith("your conversation of 12 March")


def test_cancel_then_resume_finishes_without_duplicates(library: Library, docs: Path, tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    for name in ("md_markitdown-README.md", "txt_utf-16le_with-bom.srt", "pdf_text_simple_crazyones.pdf",
                 "txt_cp1252-latin1_french.txt"):
        shutil.copy(docs / name, folder / name)
    token = CancelToken()
    events = []
    for ev in library.index_paths([folder], cancel=token):
        events.append(ev)
        if ev.kind == "progress" and ev.data.get("chunks_done"):
            token.cancel()
    assert events[-1].kind == "cancelled"
    final, _ = run(library.index_paths([folder]))
    assert final.kind == "done"
    files = library.files()
    assert len(files) == 4 and all(f.state == "indexed" for f in files)
    assert library.chunk_count("default") == sum(f.chunks for f in files)




def test_changing_the_embedding_model_reindexes(tmp_path: Path, notes: Path, model_dir: Path) -> None:
    settings = LibrarySettings()
    lib = Library(tmp_path / "store", settings, embedder=WordHashEmbedder("model-a"))
    run(lib.index_paths([notes]))
    assert lib.collections()[0].embedding_model == "model-a"
    lib.close()
    lib = Library(tmp_path / "store", settings, embedder=WordHashEmbedder("model-b"))
    try:
        assert lib.collections()[0].embedding_model == "model-b"
        assert {f.state for f in lib.files()} == {"stale"}
        assert lib.chunk_count("default") == 0
        pending = lib.pending_reindex()["default"]
        assert len(pending) == 3
        final, _ = run(lib.catch_up())
        assert {f.state for f in lib.files()} == {"indexed"}
        assert lib.chunk_count("default") == sum(f.chunks for f in lib.files()) > 0
    finally:
        lib.close()


def test_watched_folder_updates_by_itself(library: Library, notes: Path) -> None:
    library.add_folder(notes)
    seen: list[ProgressEvent] = []
    watcher = FolderWatcher(library, on_event=seen.append, debounce_s=0.5)
    watcher.start()

    def wait_until(cond: Any, what: str) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.2)
        pytest.fail(f"watcher did not {what}; events: {[e.message for e in seen][-5:]}")

    wait_until(lambda: len(library.files()) == 3 and watcher.idle(), "catch up at start")
    (notes / "new.txt").write_text("The spare house key hides under the blue flowerpot.\n", encoding="utf-8")
    wait_until(lambda: any(f.path.endswith("new.txt") for f in library.files()), "index a new file")
    assert library.search("where is the spare key", top_k=1)[0].title == "new.txt"
    (notes / "car.txt").unlink()
    wait_until(lambda: not any(f.path.endswith("car.txt") for f in library.files()), "remove a deleted file")
    watcher.stop()
    assert library.chunk_count("default") == sum(f.chunks for f in library.files())


def test_a_watched_folders_job_can_be_cancelled_and_watching_goes_on(library: Library, notes: Path) -> None:
    library.add_folder(notes)
    seen: list[ProgressEvent] = []
    watcher = FolderWatcher(library, on_event=seen.append, debounce_s=0.3)
    assert not watcher.cancel_job(), "nothing runs before the watcher starts"
    library.pause()  # holds the catch-up at its first step, so the cancel surely meets it
    watcher.start()
    try:
        deadline = time.monotonic() + 60
        while not watcher.cancel_job():
            assert time.monotonic() < deadline, "the catch-up never started"
            time.sleep(0.05)
        library.resume()
        while not any(e.kind == "cancelled" for e in seen):
            assert time.monotonic() < deadline, [e.message for e in seen][-5:]
            time.sleep(0.1)
        assert sum(f.state == "indexed" for f in library.files()) < 3 and watcher.running
        (notes / "new.txt").write_text("The spare house key hides under the blue flowerpot.\n", encoding="utf-8")
        deadline = time.monotonic() + 90
        while not any(f.path.endswith("new.txt") for f in library.files()):
            assert time.monotonic() < deadline, "a change after the cancel was not indexed"
            time.sleep(0.2)
    finally:
        library.resume()
        watcher.stop()


def test_questions_are_answered_while_a_folder_indexes(library: Library, notes: Path, docs: Path,
                                                      tmp_path: Path) -> None:
    import threading

    run(library.index_paths([notes]))
    folder = tmp_path / "more"
    folder.mkdir()
    for name in ("md_markitdown-README.md", "code_python_markitdown.py", "txt_cp1252-latin1_french.txt"):
        shutil.copy(docs / name, folder / name)
    started = threading.Event()
    finished: list[ProgressEvent] = []

    def index() -> None:
        for ev in library.index_paths([folder], "more"):
            if ev.kind == "progress" and ev.data.get("chunks_done") and not started.is_set():
                library.pause()  # holds the job mid-way, so the question surely meets it running
                started.set()
            if ev.kind == "done":
                finished.append(ev)
        started.set()

    thread = threading.Thread(target=index)
    thread.start()
    assert started.wait(300)
    during = library.sources_for("Where are the winter tyres?", ["default"], 1200)
    assert not finished and thread.is_alive()
    library.resume()
    thread.join(300)
    assert during and during[0].title == "car.txt"
    assert finished and finished[0].data["indexed"] == 3


def test_too_large_and_unlistable_files_are_skipped_with_reasons(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "huge.txt").write_text("word " * 400, encoding="utf-8")
    library.settings.max_file_mb = 0.001  # 1 kB
    final, _ = run(library.index_paths([folder]))
    reasons = {Path(s["file"]).name: s["reason"] for s in final.data["skipped"]}
    assert reasons["huge.txt"].startswith("too large")
    if os.geteuid() != 0:  # root reads everything; the check only means something for users
        locked = folder / "locked.txt"
        locked.write_text("secret", encoding="utf-8")
        locked.chmod(0)
        final, _ = run(library.index_paths([folder]))
        reasons = {Path(s["file"]).name: s["reason"] for s in final.data["skipped"]}
        assert reasons["locked.txt"] == "permission denied"


def test_an_e_mails_attachments_are_documents_of_their_own_linked_to_the_message(
        library: Library, notes: Path) -> None:
    from desktop.core.sources import source_label
    from tests.mail import write_eml

    eml = write_eml(notes / "quote.eml", "Boiler quote", "Please find the quote and the minutes attached.",
                    {"minutes.txt": "The board approved the boiler replacement on 3 March.",
                     "quote.txt": "Replacing the boiler costs 4,180 euros including fitting."})
    first, _ = run(library.index_paths([notes]))
    assert first.data["indexed"] == 4  # three notes and the message; its attachments come with it
    files = {f.path: f for f in library.files()}
    minutes = files[str(eml / "minutes.txt")]
    assert minutes.parent == str(eml) and minutes.state == "indexed" and minutes.chunks >= 1
    assert files[str(eml / "quote.txt")].parent == str(eml) and files[str(eml)].parent == ""
    assert library.chunk_count("default") == sum(f.chunks for f in library.files())
    top = library.search("When did the board approve the boiler replacement?", top_k=1)[0]
    assert top.path == str(eml / "minutes.txt") and "3 March" in top.text
    assert top.extra["attached_to"] == str(eml)
    assert source_label(top).startswith("minutes.txt, attached to quote.eml")
    assert "Boiler quote" in top.section  # the passage names the message it came with
    # the message is unchanged: its attachments stay (they are not files the scan finds on disk)
    again, _ = run(library.index_paths([notes]))
    assert again.data["unchanged"] == 4 and again.data["removed"] == 0
    assert str(eml / "minutes.txt") in {f.path for f in library.files()}
    # stale (another embedding model): the message is read again, never the attachment's path
    library.manifest.mark_stale("default", library.store.embedding_model)
    assert sorted(library.pending_reindex()["default"]) == sorted(
        [eml, notes / "car.txt", notes / "garden.md", notes / "sub" / "recipe.txt"])
    run(library.reindex_pending())
    assert files.keys() == {f.path for f in library.files() if f.state == "indexed"}
    # the message is saved again with one attachment: the other one goes, vectors and all
    write_eml(eml, "Boiler quote", "Only the quote this time.", {"quote.txt": "The boiler costs 4,180 euros."})
    os.utime(eml, (time.time() + 5, time.time() + 5))
    run(library.index_paths([notes]))
    paths = {f.path for f in library.files()}
    assert str(eml / "minutes.txt") not in paths and str(eml / "quote.txt") in paths
    assert library.chunk_count("default") == sum(f.chunks for f in library.files())
    assert all("board approved" not in s.text for s in library.search("board approved boiler", top_k=10))
    # the message deleted: its attachment goes with it
    eml.unlink()
    final, _ = run(library.index_paths([notes]))
    assert final.data["removed"] == 1
    assert not any(f.path.startswith(str(eml)) for f in library.files())
    assert library.chunk_count("default") == sum(f.chunks for f in library.files())


def test_files_found_and_not_yet_read_are_counted(library: Library, notes: Path) -> None:
    """The chat says "Hearth is still reading N files" instead of "add that file" while they
    wait (see tests/core/test_chat_service.py)."""
    library.create_collection("default")
    assert library.files_waiting() == 0
    library.manifest.record_waiting("default", [(str(notes / "garden.md"), 10, 0.0), (str(notes / "car.txt"), 5, 0.0)])
    assert library.files_waiting() == 2 and library.files_waiting(["default"]) == 2
    run(library.index_paths([notes]))
    assert library.files_waiting() == 0
    # a note saved a moment ago into a watched folder: seen by the watcher, not yet scanned
    watcher = FolderWatcher(library, debounce_s=60)
    library.changes_waiting = watcher.changes_waiting
    watcher.changed(str(notes / "new-note.txt"))
    assert library.files_waiting() == 1


def test_progress_names_the_file_being_embedded(library: Library, tmp_path: Path) -> None:
    """A large log embedded in one group with small notes was never named: the progress
    named the group's first file all along (twenty-first trial)."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a-note.txt").write_text("The spare key is under the blue flower pot.\n", encoding="utf-8")
    (folder / "server.log").write_text("".join(f"2026-12-0{1 + i % 9} 10:{i % 60:02d} sync job {i} finished "
                                               f"with status ok after {i % 17} retries\n" for i in range(1500)),
                                       encoding="utf-8")
    _, events = run(library.index_paths([folder]))
    named = [Path(ev.data["file"]).name for ev in events if ev.kind == "progress" and ev.data.get("file")]
    assert "server.log" in named
