"""The settings dialog: every chat setting (sampling, engine, default system prompt), the
appearance, each with its field description as tooltip, and memory ("What does Hearth
know?": the remembered exchanges, each removable, and the switch that turns memory off)."""

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
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.settings import ChatSettings, Settings, UiSettings, default_threads

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
    (context window, threads or GPU layers changed).
    """

    def __init__(self, settings: Settings, parent: QWidget | None = None, library: Any = None,
                 save: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self._save = save or settings.save  # the app passes HearthCore.save_settings
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.settings = settings
        self.engine_changed = False
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
        self._save()
