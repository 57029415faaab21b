"""The settings dialog: every chat setting (sampling, engine, default system prompt), the
library's passage size and overlap, the appearance, each with its field description as
tooltip, and memory ("What does Hearth know?": the remembered exchanges, each removable,
and the switch that turns memory off).

Changing the passage size or overlap means re-indexing the whole library, so OK first asks
(:meth:`SettingsDialog.confirm_reindex`): Re-index applies everything and the window
re-indexes; Cancel puts the two fields back and leaves the dialog open."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.settings import (
    CHUNK_TOKENS_MAX,
    CHUNK_TOKENS_MIN,
    ChatSettings,
    LibrarySettings,
    Settings,
    UiSettings,
    default_threads,
)

ENGINE_FIELDS = ("n_ctx", "n_threads", "n_gpu_layers")


def describe(section: type, name: str) -> str:
    """The description of a settings field (its dataclass metadata)."""
    for f in dataclasses.fields(section):
        if f.name == name:
            return str(f.metadata.get("description", ""))
    return ""


class SettingsDialog(QDialog):
    """Edits ``settings.chat`` and ``settings.ui``; :meth:`apply` writes the values back.

    ``engine_changed`` (after :meth:`apply`) says whether the model must be reloaded
    (context window, threads or GPU layers changed); ``reindex_needed`` whether the
    passage size or overlap changed with files to re-index (the user agreed).
    """

    def __init__(self, settings: Settings, parent: QWidget | None = None, library: Any = None,
                 save: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self._save = save or settings.save  # the app passes HearthCore.save_settings
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.settings = settings
        self.engine_changed = False
        self.reindex_needed = False
        self.library = library
        #: the open "Re-index now?" question (None when none is open)
        self.reindex_box: QMessageBox | None = None
        chat = settings.chat
        self.widgets: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settingsTabs")
        outer.addWidget(self.tabs)
        general = QWidget()
        layout = QVBoxLayout(general)
        self.tabs.addTab(general, "General")

        answers = QGroupBox("Answers")
        form = QFormLayout(answers)
        prompt = QPlainTextEdit(chat.system_prompt)
        prompt.setObjectName("setting_system_prompt")
        prompt.setToolTip(describe(ChatSettings, "system_prompt") + " Each conversation can change its own.")
        prompt.setAccessibleName("How Hearth should answer")
        prompt.setMinimumHeight(70)
        self.widgets["system_prompt"] = prompt
        form.addRow("How Hearth should answer\n(system prompt)", prompt)
        hint = QLabel("The settings below suit most people; hover over one to see what it does.")
        hint.setObjectName("settingsHint")
        # one line: a wrapped label in a form row is given one line's height before the
        # dialog knows its width, and its second line was drawn under the prompt box
        hint.setWordWrap(False)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        form.addRow(hint)
        self._double("temperature", "Creativity (temperature)", chat.temperature, 0.0, 2.0, 0.05, form)
        self._double("top_p", "Word variety (top-p)", chat.top_p, 0.0, 1.0, 0.01, form)
        self._double("repeat_penalty", "Avoid repeating (penalty)", chat.repeat_penalty, 1.0, 2.0, 0.05, form)
        self._int("max_tokens", "Longest answer (tokens)", chat.max_tokens, 1, 32768, 64, form)
        seed = self._int("seed", "Random seed", chat.seed, -1, 2**31 - 1, 1, form)
        seed.setSpecialValueText("-1 = different each time")
        layout.addWidget(answers)

        engine = QGroupBox("Model engine")
        eform = QFormLayout(engine)
        self._int("n_ctx", "Conversation memory (context, tokens)", chat.n_ctx, 256, 262144, 256, eform)
        threads = self._int("n_threads", "CPU threads", chat.n_threads, 0, 512, 1, eform)
        threads.setSpecialValueText(f"0 = automatic ({default_threads()})")
        gpu = self._int("n_gpu_layers", "GPU layers", chat.n_gpu_layers, 0, 999, 1, eform)
        gpu.setSpecialValueText("0 = CPU only")
        note = QLabel("Changing these reloads the model. A token is about three quarters of a word.")
        note.setObjectName("engineNote")
        note.setWordWrap(True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        eform.addRow(note)
        layout.addWidget(engine)

        passages = QGroupBox("Passages")
        pform = QFormLayout(passages)
        lib = settings.library
        self.chunk_tokens = self._library_int("chunk_tokens", "Passage size (word pieces)", lib.chunk_tokens,
                                              CHUNK_TOKENS_MIN, CHUNK_TOKENS_MAX, pform)
        self.chunk_overlap = self._library_int("chunk_overlap_tokens", "Passage overlap (word pieces)",
                                               lib.chunk_overlap_tokens, 0, lib.chunk_tokens // 2, pform)
        self.chunk_tokens.valueChanged.connect(lambda size: self.chunk_overlap.setMaximum(size // 2))
        pnote = QLabel("Your documents are cut into passages to search them. Changing these re-indexes the library.")
        pnote.setObjectName("passagesNote")
        pnote.setWordWrap(True)
        pnote.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        pform.addRow(pnote)
        # a tab of its own: in General it made the dialog taller than a 768-pixel screen
        library_tab = QWidget()
        library_tab.setObjectName("librarySettingsTab")
        library_layout = QVBoxLayout(library_tab)
        library_layout.addWidget(passages)
        library_layout.addStretch(1)

        look = QGroupBox("Appearance")
        lform = QFormLayout(look)
        theme = QComboBox()
        theme.setObjectName("setting_theme")
        for value, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            theme.addItem(label, value)
        theme.setCurrentIndex(max(0, theme.findData(settings.ui.theme)))
        theme.setToolTip(describe(UiSettings, "theme"))
        self.widgets["theme"] = theme
        lform.addRow("Theme", theme)
        layout.addWidget(look)

        self.tabs.addTab(library_tab, "Library")
        from desktop.ui.memory_view import MemoryView

        self.memory_view = MemoryView(library, settings.library.memory_enabled)
        self.tabs.addTab(self.memory_view, "What does Hearth know?")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("settingsButtons")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        self.buttons = buttons
        self._align_labels([form, eform, lform])
        # room for the memory list's three columns and the engine note on one line
        self.resize(max(self.sizeHint().width(), 680), max(self.sizeHint().height(), 640))

    @staticmethod
    def _align_labels(forms: list[QFormLayout]) -> None:
        """One label column for all groups, so the fields line up across the tab."""
        labels = []
        for form in forms:
            for row in range(form.rowCount()):
                item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                widget = item.widget() if item is not None else None
                if isinstance(widget, QLabel):
                    labels.append(widget)
        width = max((label.sizeHint().width() for label in labels), default=0)
        for label in labels:
            label.setMinimumWidth(width)

    def _field_widget(self, name: str, label: str, widget: Any, form: QFormLayout) -> None:
        widget.setObjectName(f"setting_{name}")
        widget.setToolTip(describe(ChatSettings, name))
        widget.setAccessibleName(label)
        self.widgets[name] = widget
        form.addRow(label, widget)

    def _library_int(self, name: str, label: str, value: int, lo: int, hi: int, form: QFormLayout) -> QSpinBox:
        box = QSpinBox()
        box.setRange(lo, hi)
        box.setValue(value)
        box.setObjectName(f"setting_{name}")
        box.setToolTip(describe(LibrarySettings, name))
        box.setAccessibleName(label)
        form.addRow(label, box)
        return box

    def chunking(self) -> tuple[int, int]:
        """(passage size, overlap) as edited, in word pieces."""
        return self.chunk_tokens.value(), self.chunk_overlap.value()

    def chunking_changed(self) -> bool:
        lib = self.settings.library
        return self.chunking() != (lib.chunk_tokens, lib.chunk_overlap_tokens)

    def accept(self) -> None:
        """OK: when the passage size or overlap changed and the library has files, ask
        first (:meth:`confirm_reindex`); otherwise close as accepted."""
        if self.reindex_box is not None:
            return
        if self.chunking_changed() and self.library is not None:
            estimate = self.library.reindex_estimate()
            if estimate.files:
                self.confirm_reindex(estimate)
                return
        super().accept()

    def confirm_reindex(self, estimate: Any) -> QMessageBox:
        """Ask "Re-index now?" (window-modal, non-blocking); returns the open box.
        Re-index: the dialog is accepted (the caller applies); Cancel: the passage fields
        go back to the saved values and the dialog stays open.

        Args:
            estimate: the library's :class:`~desktop.core.library.library.ReindexEstimate`.
        """
        box = QMessageBox(self)
        box.setObjectName("confirmReindexDialog")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Re-index the library")
        box.setText(f"Changing the passage size means reading {estimate.files_text()} of your library again "
                    f"({estimate.chunks} passages now, {estimate.duration_text()}). Re-index now?")
        box.setInformativeText("Until a file is read again, answers do not use it. Indexing pauses "
                               "while Hearth answers.")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        reindex = box.addButton("Re-index", QMessageBox.ButtonRole.AcceptRole)
        reindex.setObjectName("confirmReindexButton")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.reindex_box = box

        def done() -> None:
            self.reindex_box = None
            box.deleteLater()
            if box.clickedButton() is reindex:
                QDialog.accept(self)
            else:
                lib = self.settings.library
                self.chunk_tokens.setValue(lib.chunk_tokens)
                self.chunk_overlap.setValue(lib.chunk_overlap_tokens)

        box.finished.connect(done)
        box.open()
        return box

    def _double(
        self, name: str, label: str, value: float, lo: float, hi: float, step: float, form: QFormLayout
    ) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setDecimals(2)
        box.setValue(value)
        self._field_widget(name, label, box, form)
        return box

    def _int(
        self, name: str, label: str, value: int, lo: int, hi: int, step: int, form: QFormLayout
    ) -> QSpinBox:
        box = QSpinBox()
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setValue(value)
        self._field_widget(name, label, box, form)
        return box

    def values(self) -> dict[str, Any]:
        """The chat fields as edited (name -> value)."""
        out: dict[str, Any] = {}
        for name, widget in self.widgets.items():
            if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                out[name] = widget.value()
            elif isinstance(widget, QPlainTextEdit):
                out[name] = widget.toPlainText().strip()
        return out

    def theme(self) -> str:
        widget = self.widgets["theme"]
        assert isinstance(widget, QComboBox)
        return str(widget.currentData())

    def apply(self) -> None:
        """Write the edited values into the settings and save them (``save``)."""
        chat = self.settings.chat
        values = self.values()
        self.engine_changed = any(getattr(chat, k) != values[k] for k in ENGINE_FIELDS)
        for name, value in values.items():
            setattr(chat, name, value)
        self.settings.ui.theme = self.theme()
        self.settings.library.memory_enabled = self.memory_view.switch.isChecked()
        if self.chunking_changed():
            size, overlap = self.chunking()
            if self.library is not None:  # marks the files made otherwise stale
                self.reindex_needed = self.library.set_chunking(size, overlap) > 0
            else:
                from desktop.core.settings import check_chunking

                check_chunking(size, overlap)
                self.settings.library.chunk_tokens, self.settings.library.chunk_overlap_tokens = size, overlap
        self._save()

