"""The "Models" page: the curated catalog beside the user's own models, each with a fit
label for this computer, and downloads the user starts, pauses and resumes.

The rules (fit, RAM, personalization) and the downloads live in the core
(desktop/core/catalog.py, desktop/core/downloads.py); this page only shows them.  A
download runs through :class:`~desktop.ui.workers.GeneratorWorker`; pausing cancels it
and keeps the partial file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.app import HearthCore
from desktop.core.catalog import (
    CatalogEntry,
    CatalogError,
    Hardware,
    detect_hardware,
    fit_for_file,
    fit_label,
    load_catalog,
    personalize_reason,
    recommended,
)
from desktop.core.downloads import (
    Downloader,
    catalog_states,
    catalog_url,
    download_catalog_model,
    unconfirmed_hosts,
)
from desktop.core.jobs import ProgressEvent
from desktop.ui.workers import GeneratorWorker

log = logging.getLogger(__name__)

#: what a user chooses by first (fit, personalization), then the details; "Personalize" had
#: needed a sideways scroll at the end (thirteenth new-user trial)
CATALOG_COLUMNS = ["Model", "On this computer", "Personalize", "Parameters", "Download", "RAM needed",
                   "Family", "Quantization", "Licence", "State"]
FIT_COLUMN = CATALOG_COLUMNS.index("On this computer")
PERSONALIZE_COLUMN = CATALOG_COLUMNS.index("Personalize")
STATE_COLUMN = CATALOG_COLUMNS.index("State")
FIT_RULE = (
    "“fits”: needs at most half of this computer's RAM (or fits in a usable GPU); "
    "“may be slow”: needs more than half, or the file is over 4 GB without a GPU; "
    "“won't fit”: needs more than 85 % of the RAM. RAM needed = file + context memory "
    "for 4096 tokens + 0.3 GB."
)


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


class ModelsPanel(QWidget):
    """Catalog and own models with fit labels; download, pause, resume, remove.

    Args:
        core: the app's HearthCore (its settings and model catalog are used and saved).
        hardware: this computer (default: detected).
        downloader: the downloader (tests pass one with short timeouts).

    Attributes:
        confirm_hosts_fn: asks the user whether these hosts may be contacted; returns True
            to go on (a message box by default; tests replace it).

    Signals:
        models_changed(): a model was downloaded or removed.
        download_failed(str): a download failed (the message names the file).
    """

    models_changed = Signal()
    download_failed = Signal(str)

    def __init__(self, core: HearthCore, parent: QWidget | None = None,
                 hardware: Hardware | None = None, downloader: Downloader | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        self.core = core
        self._window = parent
        self.hardware = hardware or detect_hardware()
        self.downloader = downloader or Downloader()
        self.confirm_hosts_fn: Callable[[CatalogEntry, list[str]], bool] = self._ask_hosts
        self._worker: GeneratorWorker | None = None
        self._downloading: str | None = None
        try:
            self.entries = load_catalog()
        except CatalogError as exc:
            self.entries = []
            log.error("%s", exc)

        layout = QVBoxLayout(self)
        gpu = f", GPU {_size(self.hardware.vram_bytes)}" if self.hardware.vram_bytes else \
            ", no GPU this build can use"
        self.hardware_label = QLabel(
            f"This computer: {_size(self.hardware.ram_bytes)} of RAM{gpu}. "
            "Nothing is downloaded unless you ask."
        )
        self.hardware_label.setToolTip(FIT_RULE)
        self.hardware_label.setWordWrap(True)
        layout.addWidget(self.hardware_label)

        layout.addWidget(QLabel("<b>Catalog</b> (sizes and RAM are estimates)"))
        self.catalog_tree = QTreeWidget()
        self.catalog_tree.setObjectName("catalogTree")
        self.catalog_tree.setHeaderLabels(CATALOG_COLUMNS)
        self.catalog_tree.setRootIsDecorated(False)
        self.catalog_tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.catalog_tree.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.catalog_tree, 3)

        buttons = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.start_download)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.pause_download)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        for b in (self.download_button, self.pause_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("downloadStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

        layout.addWidget(QLabel("<b>Your models</b>"))
        self.own_tree = QTreeWidget()
        self.own_tree.setObjectName("ownModelsTree")
        self.own_tree.setHeaderLabels(["Model", "Architecture", "Parameters", "Quantization",
                                       "Size", "On this computer", "File"])
        self.own_tree.setRootIsDecorated(False)
        # the name in full (it was cut to "SmolLM2 1…" while the file path took the room);
        # the path, last, gets what is left and is shortened in its middle
        own_header = self.own_tree.header()
        own_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        own_header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        own_header.setMinimumSectionSize(60)
        self.own_tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        layout.addWidget(self.own_tree, 2)
        self.refresh()

    # ------------------------------------------------------------------ display

    def refresh(self) -> None:
        """Rebuild both lists from the catalog file, the models folder and the settings."""
        selected = self.selected_entry()
        self.catalog_tree.clear()
        suggest = recommended(self.entries, self.hardware)
        # where the suggestion cannot be personalized, the one to personalize is named too
        # (fourteenth new-user trial: the app is built around it, and only "not
        # personalizable" was said)
        personal = recommended([e for e in self.entries if e.can_personalize], self.hardware)
        for row in catalog_states(self.entries):
            e = row.entry
            state = {"downloaded": "downloaded", "available": "",
                     "partial": f"paused at {_size(row.partial_bytes)}"}[row.state]
            if e.name == self._downloading:
                state = "downloading…"
            cells = {
                "Model": e.name, "On this computer": fit_label(e.ram_bytes, e.size_bytes, self.hardware),
                "Personalize": "yes" if e.can_personalize else "no", "Parameters": e.parameters_label,
                "Download": _size(e.size_bytes), "RAM needed": _size(e.ram_bytes), "Family": e.family,
                "Quantization": e.quantization, "Licence": e.licence, "State": state,
            }
            item = QTreeWidgetItem([cells[c] for c in CATALOG_COLUMNS])
            item.setData(0, Qt.ItemDataRole.UserRole, e.name)
            item.setToolTip(FIT_COLUMN, FIT_RULE)
            item.setToolTip(0, f"{e.repo} · {e.file} · context up to {e.context_length:,} tokens")
            item.setToolTip(PERSONALIZE_COLUMN, personalize_reason(e))
            if suggest is not None and e.name == suggest.name:
                # said where it is seen: following the suggestion had lost personalization
                # without a word (twelfth new-user trial)
                item.setText(0, f"{e.name}  ★ recommended" + ("" if e.can_personalize else " (not personalizable)"))
                item.setToolTip(0, "The largest model that fits this computer well (larger models "
                                   "answer better)." + ("" if e.can_personalize else
                                                        f" Personalize cannot train it: {personalize_reason(e)}")
                                + "\n" + item.toolTip(0))
            if personal is not None and e.name == personal.name and personal is not suggest:
                item.setText(0, f"{e.name}  ✦ recommended to personalize")
                item.setToolTip(0, "The largest model that fits this computer well and that "
                                   "Personalize can train.\n" + item.toolTip(0))
            self.catalog_tree.addTopLevelItem(item)
            if selected is not None and e.name == selected.name:
                item.setSelected(True)
        self.own_tree.clear()
        for path, info, error in self.core.catalog.list():
            if info is None:
                item = QTreeWidgetItem([path.name, "", "", "", "", "cannot be used", str(path)])
                item.setToolTip(0, error or "")
            else:
                item = QTreeWidgetItem([
                    info.name, info.architecture, info.parameters_label, info.quantization,
                    info.size_label, fit_for_file(info.size_bytes, self.hardware), str(path),
                ])
            self.own_tree.addTopLevelItem(item)
        self._update_buttons()

    def row_for(self, name: str) -> QTreeWidgetItem | None:
        for i in range(self.catalog_tree.topLevelItemCount()):
            item = self.catalog_tree.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def select(self, name: str) -> None:
        item = self.row_for(name)
        if item is not None:
            self.catalog_tree.setCurrentItem(item)

    def selected_entry(self) -> CatalogEntry | None:
        items = self.catalog_tree.selectedItems() if hasattr(self, "catalog_tree") else []
        if not items:
            return None
        name = items[0].data(0, Qt.ItemDataRole.UserRole)
        return next((e for e in self.entries if e.name == name), None)

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        busy = self._worker is not None
        state = self.row_for(entry.name).text(STATE_COLUMN) if entry and self.row_for(entry.name) else ""
        self.download_button.setEnabled(entry is not None and not busy and state != "downloaded")
        self.download_button.setText("Resume" if state.startswith("paused") else "Download")
        self.pause_button.setEnabled(busy)
        self.remove_button.setEnabled(entry is not None and not busy and bool(state))

    # ------------------------------------------------------------------ actions

    def _ask_hosts(self, entry: CatalogEntry, hosts: list[str]) -> bool:
        answer = QMessageBox.question(
            self, "Download a model",
            f"To download {entry.name} ({_size(entry.size_bytes)}, licence {entry.licence}), "
            f"Hearth will connect to:\n\n{chr(10).join(hosts)}\n\nNothing else is sent; your "
            "documents and conversations stay on this computer. Continue?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def start_download(self) -> bool:
        """Download (or resume) the selected catalog model.  Returns False when nothing
        started (no selection, busy, or the user declined the host)."""
        entry = self.selected_entry()
        if entry is None or self._worker is not None:
            return False
        settings = self.core.settings
        hosts = unconfirmed_hosts(entry, settings)
        if hosts:
            if not self.confirm_hosts_fn(entry, hosts):
                self.status.setText("Not downloaded: no connection was made.")
                return False
            self.core.confirm_download_hosts(hosts)
        self._downloading = entry.name
        self.status.setText(f"Connecting to {catalog_url(entry, settings)}…")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        worker = GeneratorWorker(download_catalog_model, entry, settings,
                                 downloader=self.downloader, save=self.core.save_settings)
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.refresh()
        worker.start()
        return True

    def pause_download(self) -> None:
        """Pause the running download (its partial file stays for Resume)."""
        if self._worker is not None:
            self._worker.cancel()

    def _on_event(self, event: ProgressEvent) -> None:
        if event.fraction is not None:
            self.progress.setValue(int(event.fraction * 1000))
        self.status.setText(event.message)
        if event.kind == "done":
            self.core.catalog.extra = self.core.settings.chat.extra_models
            self.models_changed.emit()

    def _on_error(self, exc: BaseException) -> None:
        self.status.setText(f"Download failed: {exc}")
        self.download_failed.emit(str(exc))

    def _on_finished(self) -> None:
        self._worker = None
        self._downloading = None
        self.progress.setVisible(False)
        self.refresh()
        refresh = getattr(self._window, "refresh_models", None)
        if callable(refresh):
            refresh()

    def remove_selected(self) -> None:
        """Remove the selected catalog model: its downloaded or partial file is deleted."""
        entry = self.selected_entry()
        if entry is None or self._worker is not None:
            return
        try:
            message = self.core.remove_model(entry.name, self.entries)
        except Exception as exc:
            message = str(exc)
        self.status.setText(message)
        self.refresh()
        self.models_changed.emit()
        refresh = getattr(self._window, "refresh_models", None)
        if callable(refresh):
            refresh()
