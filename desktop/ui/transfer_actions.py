"""The window's Export and Import menu actions (conversations to and from files).

The work is :mod:`desktop.core.transfer`; this module asks for the file, runs an import
off the GUI thread (remembering imported exchanges embeds text) and shows the result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.core.jobs import CancelToken
from desktop.core.transfer import ImportReport, TransferError, export_to_file, import_file
from desktop.ui.library_panel import start_folder
from desktop.ui.workers import GeneratorWorker

if TYPE_CHECKING:
    from desktop.core.app import HearthCore
    from desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

EXPORT_FILTERS = "Markdown (*.md);;JSON, complete (*.json)"
IMPORT_FILTERS = "Conversation exports (*.json *.zip);;All files (*)"


def add_transfer_actions(window: MainWindow, menu: Any) -> list[QAction]:
    """Add "Export conversation…", "Export all conversations…" and "Import
    conversations…" to ``menu``; returns the actions (export current, export all,
    import)."""
    made = []
    for text, slot, tip in (
        ("Export conversation…", lambda: choose_export(window, current_only=True),
         "Save this conversation as Markdown or JSON"),
        ("Export all conversations…", lambda: choose_export(window, current_only=False),
         "Save every conversation as Markdown or JSON"),
        ("Import conversations…", lambda: choose_import(window),
         "Bring in a Hearth, ChatGPT or Claude export"),
    ):
        action = QAction(text, window)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        made.append(action)
    return made


def _adapter_name(window: MainWindow) -> str | None:
    try:
        from desktop.core.personalize import active_adapter_name

        return active_adapter_name(window.core.settings)
    except Exception:  # the export must not fail for want of the adapter's name
        log.exception("could not read the active adapter")
        return None


def export_to(window: MainWindow, path: str | Path, current_only: bool) -> Path | None:
    """Write the current (or every) conversation to ``path``; reports in the status bar,
    or in a message box when the file cannot be written."""
    ids = [window.conversation_id] if current_only and window.conversation_id is not None else None
    try:
        written = export_to_file(window.core.history, path, ids, adapter=_adapter_name(window))
    except TransferError as exc:
        QMessageBox.warning(window, "Export failed", str(exc))
        return None
    window.statusBar().showMessage(f"Exported to {written}", 8000)
    return written


def choose_export(window: MainWindow, current_only: bool) -> None:
    name = "hearth-conversations"
    if current_only and window.conversation_id is not None:
        title = window.core.history.get_conversation(window.conversation_id).title
        name = re.sub(r"[^\w\- ]+", "", title).strip()[:60] or "conversation"
    path, chosen = QFileDialog.getSaveFileName(window, "Export conversations", str(Path(start_folder()) / f"{name}.md"),
                                               EXPORT_FILTERS)
    if not path:
        return
    if not Path(path).suffix:
        path += ".json" if chosen.startswith("JSON") else ".md"
    export_to(window, path, current_only)


def _import_job(core: HearthCore, path: str, cancel: CancelToken) -> Iterator[ImportReport]:
    del cancel  # one file, one pass; each conversation is saved whole
    yield import_file(core.history, path, memory=core.library)


class _ImportResult(QObject):
    """Receives the import's outcome on the GUI thread (a QObject slot, so the worker's
    signals are queued here; a plain lambda would run on the worker's thread)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    @Slot(object)
    def on_report(self, report: ImportReport) -> None:
        _imported(self.window, report)

    @Slot(object)
    def on_error(self, exc: BaseException) -> None:
        self.window.statusBar().showMessage("Import failed.", 8000)
        QMessageBox.warning(self.window, "Import failed", str(exc))


def import_from(window: MainWindow, path: str | Path) -> GeneratorWorker:
    """Import ``path`` in the background; when done, the list shows the new
    conversations and the first one opens.  Returns the running worker."""
    worker = GeneratorWorker(_import_job, window.core, str(path))
    receiver = _ImportResult(window)
    worker.yielded.connect(receiver.on_report)
    worker.errored.connect(receiver.on_error)
    window.statusBar().showMessage(f"Importing {Path(path).name}…")
    window._import_run = (worker, receiver)  # kept alive until done
    return worker.start()


def _imported(window: MainWindow, report: ImportReport) -> None:
    window.sidebar.refresh()
    if report.imported:
        window.open_conversation(report.imported[0])
    window.statusBar().showMessage(report.summary(), 15000)
    if report.skipped:
        shown = "\n".join(report.skipped[:15])
        more = f"\n… and {len(report.skipped) - 15} more" if len(report.skipped) > 15 else ""
        box = QMessageBox(QMessageBox.Icon.Information, "Import finished", report.summary(),
                          QMessageBox.StandardButton.Ok, window)
        box.setDetailedText(f"Skipped:\n{shown}{more}")
        box.setModal(False)
        box.show()
        window._import_report_box = box


def choose_import(window: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Import conversations", start_folder(), IMPORT_FILTERS)
    if path:
        import_from(window, path)
