"""The Library panel in a real Qt window, over a real core (chromadb, SQLite, the real
embedder); the chat engine is scripted because chat is beside the point here."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl

from desktop.core.app import HearthCore
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.jobs import ProgressEvent
from desktop.ui import sources_view
from desktop.ui.library_panel import LibraryPanel, progress_text


@pytest.fixture
def core() -> Any:
    c = HearthCore(engine=ScriptedBackend())
    yield c
    c.close()


@pytest.fixture
def folder(tmp_path: Path, shared_data: Path) -> Path:
    f = tmp_path / "papers"
    f.mkdir()
    docs = shared_data / "docs"
    for name in ("pdf_text_simple_crazyones.pdf", "pdf_encrypted_r4_user-password-required.pdf",
                 "txt_cp1252-latin1_french.txt", "rtf_markitdown-sample.rtf"):
        shutil.copy(docs / name, f / name)
    (f / "plans.md").write_text("# Plans\n\nThe reunion is on the 4th of July at the lake house.\n",
                                encoding="utf-8")
    return f


def test_adding_a_folder_indexes_it_and_lists_files_and_skips(qtbot: Any, core: Any, folder: Path) -> None:
    panel = LibraryPanel(core, watch=False)
    qtbot.addWidget(panel)
    panel.show()
    progressed: list[Any] = []
    skipped: list[tuple[str, str]] = []
    panel.indexing_progressed.connect(progressed.append)
    panel.file_skipped.connect(lambda p, r: skipped.append((p, r)))
    with qtbot.waitSignal(panel.indexing_finished, timeout=300_000) as blocker:
        panel.add_paths([folder])
    summary = blocker.args[0]
    assert summary.data["indexed"] == 4
    assert [Path(p).name for p, _ in skipped] == ["pdf_encrypted_r4_user-password-required.pdf"]
    assert "password-protected" in skipped[0][1]
    assert progressed and progressed[-1].done == progressed[-1].total == 5
    assert panel.progress_bar.value() == panel.progress_bar.maximum()
    assert panel.progress_bar.text() == "100 % · 5 / 5 files"
    assert "Added 4 files" in panel.status_label.text() and "1 file skipped" in panel.status_label.text()
    names = {panel.file_tree.topLevelItem(i).text(0): panel.file_tree.topLevelItem(i).text(1)
             for i in range(panel.file_tree.topLevelItemCount())}
    assert names["plans.md"] == "Indexed"
    assert names["pdf_encrypted_r4_user-password-required.pdf"] == "Skipped"
    tips = {panel.file_tree.topLevelItem(i).text(0): panel.file_tree.topLevelItem(i).toolTip(1)
            for i in range(panel.file_tree.topLevelItemCount())}
    assert tips["pdf_encrypted_r4_user-password-required.pdf"].startswith("Skipped\n")  # the state in full
    # a file found and not yet stored shows its state in full (it had been cut)
    core.library.manifest.record_waiting("default", [(str(folder / "later.txt"), 10, 0.0)])
    panel.refresh()
    metrics = panel.file_tree.fontMetrics()
    assert panel.file_tree.columnWidth(1) >= metrics.horizontalAdvance("Waiting to be indexed")
    assert "password-protected" in tips["pdf_encrypted_r4_user-password-required.pdf"]
    assert panel.skipped_label.text() == "1 file skipped"
    assert "password-protected" in panel.skipped_list.item(0).text()
    assert [panel.folder_list.item(i).text() for i in range(panel.folder_list.count())] == [str(folder)]
    assert (str(folder), "default") in core.library.folders()
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert not panel.cancel_button.isEnabled()
    # the chat now answers from the folder
    hits = core.library.search("When is the reunion?", top_k=1)
    assert hits[0].title == "plans.md"

    def state(name: str) -> str:
        return next(panel.file_tree.topLevelItem(i).text(1) for i in range(panel.file_tree.topLevelItemCount())
                    if panel.file_tree.topLevelItem(i).text(0) == name)

    # the file an indexing run names is "Being indexed now", not "Waiting" (twenty-second trial)
    assert state("later.txt") == "Waiting to be indexed"
    panel._on_event(ProgressEvent("index", "progress", "files", 0, 1, "files",
                                  data={"file": str(folder / "later.txt"), "fraction": 0.1}))
    assert state("later.txt") == "Being indexed now"
    panel.refresh()
    assert state("later.txt") == "Being indexed now" and state("plans.md") == "Indexed"
    panel._on_event(ProgressEvent("index", "cancelled", "files", message="Indexing cancelled."))
    panel.refresh()
    assert state("later.txt") == "Waiting to be indexed"


def test_pause_and_cancel(qtbot: Any, core: Any, folder: Path, shared_data: Path) -> None:
    shutil.copy(shared_data / "docs" / "md_markitdown-README.md", folder / "readme.md")
    panel = LibraryPanel(core, watch=False)
    qtbot.addWidget(panel)
    seen: list[Any] = []

    def on_progress(ev: Any) -> None:
        seen.append(ev)
        if len(seen) == 1:
            panel.toggle_pause()

    panel.indexing_progressed.connect(on_progress)
    with qtbot.waitSignal(panel.indexing_started, timeout=10_000):
        panel.add_paths([folder])
    qtbot.waitUntil(lambda: core.library.paused, timeout=120_000)
    assert panel.pause_button.text() == "Resume"
    assert panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.indexing_cancelled, timeout=120_000):
        panel.cancel()
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert not core.library.paused
    assert "resumes where it stopped" in panel.status_label.text()


def test_cancel_stops_a_watched_folders_catch_up_and_watching_goes_on(qtbot: Any, core: Any, folder: Path) -> None:
    core.library.add_folder(folder)  # added in an earlier session: caught up when the page opens
    core.library.pause()  # holds the catch-up at its start, so Cancel surely meets it
    panel = LibraryPanel(core)
    qtbot.addWidget(panel)
    assert not panel.workers  # the watcher's job, not one the panel started
    qtbot.waitUntil(panel.cancel_button.isEnabled, timeout=60_000)
    with qtbot.waitSignal(panel.indexing_cancelled, timeout=120_000):
        panel.cancel()
        assert panel.status_label.text() == "Cancelling…"
    assert not core.library.paused and core.watcher.running
    assert sum(f.state == "indexed" for f in core.library.files()) < 5


def test_a_second_request_waits_in_the_librarys_one_queue_and_cancel_ends_both(
    qtbot: Any, core: Any, folder: Path, tmp_path: Path
) -> None:
    second = tmp_path / "more"
    second.mkdir()
    (second / "garden.txt").write_text("The shed key hangs behind the blue door. " * 20, encoding="utf-8")
    panel = LibraryPanel(core, watch=False)
    qtbot.addWidget(panel)
    finished: list[Any] = []
    panel.indexing_finished.connect(finished.append)
    panel.add_paths([folder])
    panel.add_paths([second])  # asked while the first runs: no queue of the panel's own
    assert len(panel.workers) == 2
    qtbot.waitUntil(lambda: not panel.running, timeout=300_000)
    assert [ev.data["indexed"] for ev in finished] == [4, 1]  # in the order asked
    assert core.library.search("Where is the shed key?", top_k=1)[0].title == "garden.txt"

    (folder / "new.txt").write_text("Another note. " * 40, encoding="utf-8")
    (second / "new.txt").write_text("Another note. " * 40, encoding="utf-8")
    cancelled: list[None] = []
    panel.indexing_cancelled.connect(lambda: cancelled.append(None))
    panel.add_paths([folder])
    panel.add_paths([second])
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.running, timeout=120_000)
    assert not panel.cancel_button.isEnabled() and not panel.workers
    assert len(finished) + len(cancelled) == 4  # each of the four ended, done or cancelled


def test_progress_text_shows_files_chunks_rate_and_eta() -> None:
    from desktop.core.jobs import ProgressEvent

    ev = ProgressEvent("index", "progress", "files", 12, 40, "files",
                       data={"chunks_done": 230, "chunks_per_s": 8.54, "eta_s": 125.0})
    assert progress_text(ev) == "12 of 40 files · 230 passages · 8.5 passages/s · about 2 min left"


def test_sources_html_and_opening_a_pdf_at_its_page(qtbot: Any, monkeypatch: Any, tmp_path: Path) -> None:
    pdf = tmp_path / "report <1>.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    sources = [
        {"kind": "document", "title": pdf.name, "path": str(pdf), "page": 3, "section": "Results",
         "text": "Revenue grew <b>12%</b> in the third quarter."},
        {"kind": "memory", "title": "your conversation of 12 March", "text": "Question: hi\nAnswer: hello",
         "extra": {"conversation_id": 4}},
    ]
    html = sources_view.sources_html(sources)
    assert 'href="hearth-source:1"' in html and 'href="hearth-source:2"' in html
    assert html.count('href="hearth-source:1"') == 2  # the title and the quote open it (eleventh trial)
    assert "report &lt;1&gt;.pdf, page 3, “Results”" in html
    assert "&lt;b&gt;12%&lt;/b&gt;" in html  # document text is escaped, never rendered
    assert "from your conversation of 12 March" in html
    assert sources_view.sources_html([]) == ""
    assert sources_view.source_number(QUrl("hearth-source:2")) == 2
    opened: list[QUrl] = []
    monkeypatch.setattr(sources_view.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    assert sources_view.open_source(sources[0])
    assert opened[0].isLocalFile() and opened[0].fragment() == "page=3"
    assert Path(opened[0].toLocalFile()) == pdf
    assert not sources_view.open_source(sources[1])
    # an e-mail's attachment is not a file on disk: its message opens
    eml = tmp_path / "quote.eml"
    eml.write_bytes(b"Subject: quote\n\nhi\n")
    attached = {"kind": "document", "title": "minutes.txt", "path": str(eml / "minutes.txt"),
                "text": "The board approved it.", "extra": {"attached_to": str(eml)}}
    assert "minutes.txt, attached to quote.eml" in sources_view.sources_html([attached])
    assert sources_view.open_source(attached) and Path(opened[-1].toLocalFile()) == eml
    # what a click calls: it had said "roof-quote.docx is no longer at …" (twenty-second trial)
    assert sources_view.open_source_or_explain(attached) == (True, "")
    assert Path(opened[-1].toLocalFile()) == eml


def test_an_e_mails_attachment_is_listed_under_its_message(qtbot: Any, core: Any, tmp_path: Path) -> None:
    from tests.mail import write_eml

    eml = write_eml(tmp_path / "quote.eml", "Boiler quote", "The minutes are attached.",
                    {"minutes.txt": "The board approved the boiler replacement."})
    panel = LibraryPanel(core, watch=False)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.indexing_finished, timeout=300_000):
        panel.add_paths([eml])
    assert panel.file_tree.topLevelItemCount() == 1
    message = panel.file_tree.topLevelItem(0)
    assert message.text(0) == "quote.eml" and message.childCount() == 1
    child = message.child(0)
    assert (child.text(0), child.text(1)) == ("minutes.txt", "Indexed")
    assert "attached to" in child.toolTip(0)
    assert panel.files_label.text().startswith("Files — 1 file ready to search")  # the message
    child.setSelected(True)  # removing the attachment removes its message
    panel._remove_selected_files()
    assert core.library.files() == []


def test_the_sentence_an_answer_rests_on_is_in_bold(qtbot: Any) -> None:
    text = "The router is in the hall. Wi-Fi password: <blue-otter-2417>. Guests use Hearth-guest."
    start = text.index("Wi-Fi")
    end = text.index(">.") + 2
    source = {"kind": "document", "title": "home.txt", "path": "/tmp/home.txt", "text": text,
              "extra": {"evidence": {"text": text[start:end], "start": start, "end": end}}}
    html = sources_view.sources_html([source])
    assert "<b>Wi-Fi password: &lt;blue-otter-2417&gt;.</b>" in html
    assert "The router is in the hall." in html and "Guests use Hearth-guest." in html
    bad = dict(source, extra={"evidence": {"text": "x", "start": 5, "end": 500}})
    assert "<b>" not in sources_view.quoted_html(bad)  # offsets that do not fit: plain snippet


def test_a_markdown_note_is_quoted_without_its_markup() -> None:
    text = "# Dentist\n\nDr. Anna **Nowak**\nNext appointment: 14 March at 9:30"
    start = text.index("Next")
    source = {"kind": "document", "title": "dentist.md", "path": "/notes/dentist.md", "text": text,
              "extra": {"evidence": {"text": text[start:], "start": start, "end": len(text)}}}
    quoted = sources_view.quoted_html(source)
    assert quoted == "Dentist Dr. Anna Nowak <b>Next appointment: 14 March at 9:30</b>"
    assert "#" not in sources_view.snippet(source) and "**" not in sources_view.snippet(source)


def test_add_files_offers_every_type_the_library_reads() -> None:
    from desktop.ui.library_panel import file_filter

    offered = file_filter().split(";;")[0]
    for pattern in ("*.srt", "*.vtt", "*.xlsx", "*.pptx", "*.eml", "*.png", "*.pdf", "*.md"):
        assert pattern in offered.split("(")[1].rstrip(")").split()
