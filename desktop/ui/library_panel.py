"""The Library panel: collections, watched folders, per-file status, and indexing with
progress (files and chunks done, rate, ETA), pause and cancel, and skipped files with
their reasons.

Each indexing request runs in its own :class:`~desktop.ui.workers.GeneratorWorker`; the
library's one queue (:class:`~desktop.core.library.indexer.IndexQueue`) runs them in the
order asked, a later one saying that it waits.  The watcher's own updates arrive from its
thread through a queued signal.  The panel only observes the core.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.app import HearthCore
from desktop.core.jobs import CancelToken, ProgressEvent
from desktop.ui.workers import GeneratorWorker

if TYPE_CHECKING:
    from desktop.core.library import Library

log = logging.getLogger(__name__)

STATE_LABELS = {
    "indexed": "Indexed",
    "indexing": "Interrupted — will resume",
    "skipped": "Skipped",
    "stale": "Waiting to re-index",
    "waiting": "Waiting to be indexed",
}
#: the row of the file an indexing run is reading now ("Waiting" had stayed on it, 22nd trial)
READING_LABEL = "Being indexed now"


#: Steps of the progress bar (it shows a fraction of the bytes to read).
BAR_STEPS = 1000


def format_duration(seconds: float | None) -> str:
    """'about 2 min left' style ETA text ('' when unknown)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def progress_text(ev: ProgressEvent) -> str:
    """'12 of 40 files · 230 passages · 8.5 passages/s · about 2 min left' (the file list
    and the settings say "passages" for chunks too)."""
    d = ev.data
    parts = [f"{int(ev.done)} of {int(ev.total or 0)} files", f"{d.get('chunks_done', 0)} passages"]
    if d.get("chunks_per_s"):
        parts.append(f"{d['chunks_per_s']:.1f} passages/s")
    eta = format_duration(d.get("eta_s"))
    if eta:
        parts.append(eta)
    if d.get("paused"):
        parts.append("paused")
    return " · ".join(parts)


def _files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


def done_text(data: dict[str, Any]) -> str:
    """The end of an indexing run in a user's words, from the "done" event's figures
    (indexed, unchanged, removed, skipped; see Library.index_paths):
    'Added 3 files to your library; 1 file skipped (see below).' or
    'Your library is up to date: 5 files, nothing new.'"""
    indexed, unchanged = int(data.get("indexed") or 0), int(data.get("unchanged") or 0)
    removed, skipped = int(data.get("removed") or 0), len(data.get("skipped") or [])
    parts = []
    if indexed:
        parts.append(f"Added {_files(indexed)} to your library")
    if removed:
        parts.append(f"took out {_files(removed)} that no longer exist" if parts
                     else f"Took out {_files(removed)} that no longer exist")
    if not parts:
        parts.append(f"Your library is up to date: {_files(unchanged)}, nothing new" if unchanged
                     else "Your library is up to date")
    text = ", ".join(parts)
    if skipped:
        text += f"; {_files(skipped)} skipped (see below)"
    return text + "."


def start_folder() -> str:
    """Where the file dialogs open: the user's Documents folder when it exists, else
    their home (never the folder Hearth was started from)."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if documents and Path(documents).is_dir():
        return documents
    return str(Path.home())


class _WatchBridge(QObject):
    """Carries the watcher's events (from its thread) to the GUI thread."""

    event = Signal(object)


def file_filter() -> str:
    """The Add files dialog's filter: every type the library reads (a hand-written list
    left out subtitles, spreadsheets, slides, e-mail and images), then all files."""
    from desktop.core.library import SUPPORTED_EXTENSIONS

    patterns = " ".join(f"*{ext}" for ext in sorted(SUPPORTED_EXTENSIONS))
    return f"Files Hearth can read ({patterns});;All files (*)"


class LibraryPanel(QWidget):
    """The Library panel.

    Args:
        core: the app's HearthCore (its ``library`` may be None: the panel says so).
        parent: Qt parent.
        watch: start watching the folders (and catch up) when shown for the first time.

    Signals:
        indexing_started(): a job began.
        indexing_status(str): what a job does before it reads files ("Loading the
            embedding model…").
        indexing_progressed(object): each progress ProgressEvent.
        file_skipped(str, str): path and reason of a file that could not be indexed.
        indexing_finished(object): the final "done" ProgressEvent (its data has the summary).
        indexing_cancelled(): the job was cancelled (it resumes next time).
        indexing_failed(str): the job failed; the message says why.
        library_changed(): collections, folders or files changed.
    """

    indexing_started = Signal()
    indexing_status = Signal(str)
    indexing_progressed = Signal(object)
    file_skipped = Signal(str, str)
    indexing_finished = Signal(object)
    indexing_cancelled = Signal()
    indexing_failed = Signal(str)
    library_changed = Signal()

    def __init__(self, core: HearthCore, parent: QWidget | None = None, watch: bool = True) -> None:
        super().__init__(parent)
        self.core = core
        #: the indexing requests in flight, oldest first (the library runs them in turn)
        self.workers: list[GeneratorWorker] = []
        self._watch_wanted = watch
        self._bridge = _WatchBridge()
        self._bridge.event.connect(self._on_event)
        #: the file the running indexing names in its progress ("" when none)
        self._reading = ""
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(1000)
        self._refresh_timer.timeout.connect(self.refresh)
        self._build()
        self.setAcceptDrops(True)
        self.refresh()
        if watch:
            QTimer.singleShot(0, self.start_watching)

    @property
    def library(self) -> Library | None:
        return self.core.library

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Collection:"))
        self.collection_box = QComboBox()
        self.collection_box.setMinimumWidth(160)
        self.collection_box.currentTextChanged.connect(lambda _: self.refresh())
        top.addWidget(self.collection_box)
        self.new_collection_button = QPushButton("New…")
        self.new_collection_button.setToolTip("Create a collection (a separate set of documents)")
        self.new_collection_button.clicked.connect(self._new_collection)
        top.addWidget(self.new_collection_button)
        self.delete_collection_button = QPushButton("Delete")
        self.delete_collection_button.setToolTip("Remove this collection from Hearth (your files stay)")
        self.delete_collection_button.clicked.connect(self._delete_collection)
        top.addWidget(self.delete_collection_button)
        top.addStretch(1)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("Index a folder and keep it up to date")
        self.add_folder_button.clicked.connect(self._choose_folder)
        top.addWidget(self.add_folder_button)
        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.clicked.connect(self._choose_files)
        top.addWidget(self.add_files_button)
        layout.addLayout(top)

        # the progress row is shown only while something is indexed: an empty bar with
        # greyed-out Pause and Cancel looked unfinished on an idle library
        self.progress_row = QWidget()
        self.progress_row.setObjectName("indexProgressRow")
        prog = QHBoxLayout(self.progress_row)
        prog.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("indexProgress")
        self.progress_bar.setTextVisible(False)  # no "0 / 1 files" before anything ran
        self.progress_bar.setRange(0, BAR_STEPS)
        self.progress_bar.setValue(0)
        prog.addWidget(self.progress_bar, 1)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        prog.addWidget(self.pause_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop indexing; it resumes where it stopped next time")
        self.cancel_button.clicked.connect(self.cancel)
        prog.addWidget(self.cancel_button)
        layout.addWidget(self.progress_row)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.file_label = QLabel("")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.file_label)

        split = QSplitter(Qt.Orientation.Vertical)
        folders_box = QWidget()
        fl = QVBoxLayout(folders_box)
        fl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Watched folders"))
        row.addStretch(1)
        self.remove_folder_button = QPushButton("Stop watching")
        self.remove_folder_button.clicked.connect(self._remove_folder)
        row.addWidget(self.remove_folder_button)
        fl.addLayout(row)
        self.folder_list = QListWidget()
        fl.addWidget(self.folder_list)
        split.addWidget(folders_box)

        files_box = QWidget()
        vl = QVBoxLayout(files_box)
        vl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.files_label = QLabel("Files")
        row.addWidget(self.files_label)
        row.addStretch(1)
        self.remove_file_button = QPushButton("Remove from library")
        self.remove_file_button.clicked.connect(self._remove_selected_files)
        row.addWidget(self.remove_file_button)
        vl.addLayout(row)
        self.file_tree = QTreeWidget()
        self.file_tree.setHeaderLabels(["File", "Status", "Passages", "Folder"])
        self.file_tree.headerItem().setToolTip(2, "How many passages Hearth cut the file into; each can be quoted as a source")
        self.file_tree.setRootIsDecorated(False)
        self.file_tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.file_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        # the status in full ("Waiting to be indexed" had been cut, fifteenth trial)
        self.file_tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        vl.addWidget(self.file_tree)
        split.addWidget(files_box)

        skipped_box = self.skipped_box = QWidget()
        sl = QVBoxLayout(skipped_box)
        sl.setContentsMargins(0, 0, 0, 0)
        self.skipped_label = QLabel("Skipped files")
        sl.addWidget(self.skipped_label)
        self.skipped_list = QListWidget()
        sl.addWidget(self.skipped_list)
        split.addWidget(skipped_box)
        split.setSizes([80, 300, 100])
        layout.addWidget(split, 1)
        self._set_running(False)

    # -- state -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self.workers)

    def current_collection(self) -> str:
        return self.collection_box.currentText() or "default"

    def _set_running(self, running: bool) -> None:
        self.progress_row.setVisible(running)
        if running:
            self.progress_bar.setTextVisible(True)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.delete_collection_button.setEnabled(not running)
        if not running:
            self.pause_button.setText("Pause")

    @Slot()
    def refresh(self) -> None:
        """Reload collections, folders, files and skipped files from the core."""
        lib = self.library
        enabled = lib is not None
        for w in (self.add_folder_button, self.add_files_button, self.new_collection_button,
                  self.collection_box):
            w.setEnabled(enabled)
        if lib is None:
            self.status_label.setText("The document library is not available in this installation.")
            return
        current = self.collection_box.currentText() or "default"
        names = lib.collection_names() or ["default"]
        self.collection_box.blockSignals(True)
        self.collection_box.clear()
        self.collection_box.addItems(names)
        self.collection_box.setCurrentText(current if current in names else names[0])
        self.collection_box.blockSignals(False)
        collection = self.current_collection()
        self.folder_list.clear()
        for folder, coll in lib.folders():
            if coll == collection:
                self.folder_list.addItem(folder)
        self.file_tree.clear()
        files = lib.files(collection)
        folders = [f for f, c in lib.folders() if c == collection]
        items: dict[str, QTreeWidgetItem] = {}
        for f in files:
            path = Path(f.path)
            folder = "" if f.parent else next((d for d in folders if f.path.startswith(d)), str(path.parent))
            state = (READING_LABEL if f.path == self._reading and f.state in ("waiting", "stale")
                     else STATE_LABELS.get(f.state, f.state))
            item = QTreeWidgetItem([path.name, state, str(f.chunks) if f.state == "indexed" else "", folder])
            # an e-mail's attachment is listed under its message; removing it removes the message
            item.setData(0, Qt.ItemDataRole.UserRole, f.parent or f.path)
            item.setToolTip(0, f"{path.name}, attached to {f.parent}" if f.parent else f.path)
            tip = f.reason or (f"read by {f.extractor}" if f.extractor else "")
            if f.warnings:
                tip += "\n⚠ " + "\n⚠ ".join(f.warnings)
                item.setText(1, item.text(1) + " ⚠")
            # the state in full where the column cuts it ("Waiting — i…", thirteenth trial)
            item.setToolTip(1, "\n".join(t for t in (state, tip) if t))
            items[f.path] = item
            if f.parent in items:
                items[f.parent].addChild(item)
                items[f.parent].setExpanded(True)
            else:
                self.file_tree.addTopLevelItem(item)
        self.file_tree.setRootIsDecorated(any(f.parent for f in files))
        # files, as "Added 17 files" counts them: an e-mail's attachments are rows of their own
        # but not files ("Added 17 files" beside "18 files ready", twenty-second trial)
        indexed = sum(1 for f in files if f.state == "indexed" and not f.parent)
        chunks = sum(f.chunks for f in files if f.state == "indexed")
        self.files_label.setText(f"Files — {_files(indexed)} ready to search ({chunks} passages)")
        skipped = lib.skipped(collection)
        self.skipped_list.clear()
        for s in skipped:
            self.skipped_list.addItem(f"{Path(s.path).name} — {s.reason}")
            self.skipped_list.item(self.skipped_list.count() - 1).setToolTip(s.path)
        self.skipped_label.setText(
            f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped" if skipped else "No files skipped")
        self.skipped_list.setVisible(bool(skipped))  # no empty box under "No files skipped"
        self.skipped_box.setMaximumHeight(16_777_215 if skipped else self.skipped_label.sizeHint().height())
        if not self.running and not self.status_label.text():
            self.status_label.setText("Drop documents here, or use Add folder… or Add files…")

    # -- drag and drop -------------------------------------------------------------------

    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    # -- actions -----------------------------------------------------------------------

    def add_paths(self, paths: list[Path], collection: str | None = None,
                  observer: Callable[[ProgressEvent | None], None] | None = None) -> GeneratorWorker | None:
        """Index ``paths`` (files or folders) into ``collection`` (default: the one shown).
        Folders are also watched.  Runs after the indexing already asked for.

        ``observer`` also gets this job's events (from the worker's thread, or an "error"
        event if it fails), then None when it has ended: the way ``hearth index`` follows
        indexing it handed to the window.  Returns the job's worker (None: no library)."""
        lib = self.library
        if lib is None or not paths:
            if observer is not None:
                observer(ProgressEvent(job="index", kind="error",
                                       message="The document library is not available in this window."))
                observer(None)
            return None
        collection = collection or self.current_collection()
        try:
            for p in paths:
                if Path(p).is_dir():
                    self.core.watch_folder(Path(p), collection)
        except Exception:  # indexing goes on; the folder is then not followed
            log.exception("could not record the watched folder")
        # the job takes its place in the library's queue here, on this thread: a worker
        # thread calling index_paths itself would take it whenever the OS ran that thread,
        # and two jobs asked in order could then run in the other order
        token = CancelToken()
        job = lib.index_paths([Path(p) for p in paths], collection, token)
        worker = GeneratorWorker(lambda: job, pass_cancel=False)
        worker.cancel_token = token
        return self._start(worker, observer)

    def reindex_pending(self) -> None:
        """Re-index the files waiting for it (after a change of passage size, say), after
        the indexing already asked for."""
        lib = self.library
        if lib is not None and lib.pending_reindex():
            self._start(GeneratorWorker(lib.reindex_pending))

    def _start(self, worker: GeneratorWorker,
               observer: Callable[[ProgressEvent | None], None] | None = None) -> GeneratorWorker:
        first = not self.running
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_worker_finished)  # a slot: queued to this thread
        if observer is not None:  # connected before start: no event is missed
            worker.yielded.connect(observer)
            worker.errored.connect(lambda exc: observer(ProgressEvent(
                job="index", kind="error", message=f"Indexing failed: {exc}")))
            worker.finished.connect(lambda: observer(None))
        self.workers.append(worker)
        self.refresh()
        if first:
            self._set_running(True)
            self.progress_bar.setRange(0, 0)
            self.status_label.setText("Looking for documents…")
            self.indexing_started.emit()
        worker.start()
        return worker

    @Slot()
    def toggle_pause(self) -> None:
        lib = self.library
        if lib is None:
            return
        if lib.paused:
            lib.resume()
            self.pause_button.setText("Pause")
        else:
            lib.pause()
            self.pause_button.setText("Resume")
            self.status_label.setText(self.status_label.text().split(" · paused")[0] + " · paused")

    @Slot()
    def cancel(self) -> None:
        """Cancel the running job and the ones waiting, the watched folders' own included
        (work done so far is kept; watching goes on)."""
        if self.library is not None and self.library.paused:
            self.library.resume()
        for worker in self.workers:
            worker.cancel()
        watcher = self.core.watcher
        stopped = watcher is not None and watcher.cancel_job()
        if self.workers or stopped:
            self.status_label.setText("Cancelling…")

    def start_watching(self) -> None:
        """Catch up with changes made while Hearth was closed, then keep watching."""
        watcher = self.core.watcher  # the core owns it; None without a library
        if watcher is None or watcher.running:
            return
        try:
            watcher.start(on_event=self._bridge.event.emit)
        except Exception as exc:  # watching is a convenience: never stop the panel for it
            log.exception("cannot watch folders")
            self.status_label.setText(f"Folders are not watched: {exc}")

    def _show_reading(self, path: str) -> None:
        """Mark the row of the file being read now (and no longer the one before it)."""
        before, self._reading = self._reading, path
        waiting = {STATE_LABELS["waiting"], STATE_LABELS["stale"]}
        for i in range(self.file_tree.topLevelItemCount()):
            item = self.file_tree.topLevelItem(i)
            row = item.data(0, Qt.ItemDataRole.UserRole)
            if row == path and item.text(1) in waiting:
                item.setText(1, READING_LABEL)
            elif row == before and row != path and item.text(1) == READING_LABEL:
                item.setText(1, STATE_LABELS["waiting"])  # until the next refresh says what it is

    # -- events ------------------------------------------------------------------------

    @Slot(object)
    def _on_event(self, ev: ProgressEvent) -> None:
        if ev.kind == "progress" and ev.what == "files":
            self._show_progress(ev, ev.data.get("fraction"))
            self.status_label.setText(progress_text(ev))
            self.progress_row.setVisible(True)  # also for the watcher's own updates
            self.pause_button.setEnabled(True)
            self.cancel_button.setEnabled(True)  # a watched folder's job can be stopped too
            file = ev.data.get("file") or ""
            self.file_label.setText(f"Reading {Path(file).name}" if file else "")
            self._show_reading(file)
            self.indexing_progressed.emit(ev)
            if not self._refresh_timer.isActive():
                self._refresh_timer.start()
        elif ev.kind == "progress":
            self.status_label.setText(ev.message)
            self.cancel_button.setEnabled(True)
            self.indexing_status.emit(ev.message)
            if not self._refresh_timer.isActive():  # the files found, listed "Waiting" while
                self._refresh_timer.start()  # the embedding model loads (it was empty then)
        elif ev.kind == "warning":
            path, reason = ev.data.get("file", ""), ev.data.get("reason", ev.message)
            self.file_skipped.emit(path, reason)
        elif ev.kind == "log":
            self.file_label.setText(ev.message)
            if not self._refresh_timer.isActive():
                self._refresh_timer.start()
        elif ev.kind == "done":
            self._reading = ""
            self._show_progress(ev, 1.0)
            self.status_label.setText(done_text(ev.data) if "indexed" in ev.data else ev.message)
            self.file_label.setText("")
            self.pause_button.setEnabled(self.running)
            self.progress_row.setVisible(self.running)
            self.refresh()
            self.indexing_finished.emit(ev)
            self.library_changed.emit()
        elif ev.kind == "cancelled":
            self._reading = ""
            self.status_label.setText(ev.message)
            self.file_label.setText("")
            self.progress_row.setVisible(self.running)
            self.refresh()
            self.indexing_cancelled.emit()
        elif ev.kind == "error":
            self.status_label.setText(ev.message)
            self.indexing_failed.emit(ev.message)

    def _show_progress(self, ev: ProgressEvent, fraction: float | None) -> None:
        """The bar moves with the share of bytes read (each embedded batch, so a large
        file moves it too); its text gives that share, then counts files ("19 / 21 files"
        on a bar at 5 %, a large log still to read, looked wrong: twenty-first trial)."""
        if fraction is None:  # an event without it (an older sender): files done
            fraction = ev.fraction or 0.0
        self.progress_bar.setRange(0, BAR_STEPS)
        self.progress_bar.setValue(round(fraction * BAR_STEPS))
        self.progress_bar.setFormat(f"{int(fraction * 100)} % · {int(ev.done)} / {int(ev.total or 0)} files")

    @Slot(object)
    def _on_error(self, exc: BaseException) -> None:
        message = f"Indexing failed: {exc}"
        self.status_label.setText(message)
        self.indexing_failed.emit(message)

    @Slot()
    def _on_worker_finished(self) -> None:
        worker = self.sender()
        self.workers = [w for w in self.workers if w is not worker]
        self._set_running(self.running)
        self.refresh()

    # -- dialogs and list actions -----------------------------------------------------

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library", start_folder())
        if folder:
            self.add_paths([Path(folder)])

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files to the library", start_folder(), file_filter())
        if files:
            self.add_paths([Path(f) for f in files])

    def _new_collection(self) -> None:
        name, ok = QInputDialog.getText(self, "New collection", "Name of the new collection:")
        if ok and name.strip():
            self.create_collection(name.strip())

    def create_collection(self, name: str) -> None:
        try:
            self.library.create_collection(name)
        except Exception as exc:
            QMessageBox.warning(self, "New collection", str(exc))
            return
        self.refresh()
        self.collection_box.setCurrentText(name)
        self.library_changed.emit()

    def _delete_collection(self) -> None:
        name = self.current_collection()
        answer = QMessageBox.question(
            self, "Delete collection",
            f"Remove the collection “{name}” from Hearth? Your files stay where they are.")
        if answer == QMessageBox.StandardButton.Yes:
            self.library.delete_collection(name)
            self._save_settings()
            self.refresh()
            self.library_changed.emit()

    def _remove_folder(self) -> None:
        item = self.folder_list.currentItem()
        if item is None or self.library is None:
            return
        try:
            self.core.unwatch_folder(Path(item.text()))
        except Exception:  # shown by the list below, which still holds it
            log.exception("could not stop watching the folder")
        self.refresh()
        self.library_changed.emit()

    def _remove_selected_files(self) -> None:
        lib = self.library
        if lib is None:
            return
        for path in dict.fromkeys(item.data(0, Qt.ItemDataRole.UserRole) for item in self.file_tree.selectedItems()):
            lib.remove_path(path)
        self.refresh()
        self.library_changed.emit()

    def _save_settings(self) -> None:
        try:
            self.core.save_settings()
        except OSError:
            log.exception("could not save settings")

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancel indexing and wait for it (call before closing the core)."""
        self.cancel()
        for worker in list(self.workers):
            worker.wait(timeout_ms)
