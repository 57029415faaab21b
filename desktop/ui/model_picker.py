"""The model picker: every model in the catalog with what its GGUF header says, broken
entries with their error, and "Add model…"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

from desktop.core.models import ModelInfo

ADD_MODEL = "__add_model__"
ERROR_ROLE = Qt.ItemDataRole.UserRole + 1
SHORT_ROLE = Qt.ItemDataRole.UserRole + 2  # what the closed box shows: name and size


class ModelPicker(QComboBox):
    """A combo box of models.  The open list shows each model's full description from
    its GGUF header; the closed box shows only its name and size (the architecture,
    parameters, quantization and context made the chat's top bar read like a spec sheet).

    Signals:
        model_chosen(str): the user picked a usable model (its path).
        broken_chosen(str, str): the user picked an entry that cannot be used (path, why).
        add_requested(): the user picked "Add model…".
    """

    model_chosen = Signal(str)
    broken_chosen = Signal(str, str)
    add_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelPicker")
        self.setAccessibleName("Model")
        self.setToolTip("The model that answers. Add any GGUF model file with “Add model…”.")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(22)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._current = ""
        self.activated.connect(self._on_activated)

    def set_models(
        self, rows: list[tuple[Path, ModelInfo | None, str | None]], current: str | Path | None
    ) -> None:
        """Fill from ``ModelCatalog.list()`` and select ``current`` (a path)."""
        self.blockSignals(True)
        self.clear()
        for path, info, error in rows:
            if info is not None:
                self.addItem(info.summary(), str(path))
                self.setItemData(self.count() - 1, f"{info.name} · {info.size_label}", SHORT_ROLE)
                self.setItemData(self.count() - 1, f"{info.summary()}\n{path}", Qt.ItemDataRole.ToolTipRole)
            else:
                self.addItem(f"⚠ {path.name} — cannot be used", str(path))
                self.setItemData(self.count() - 1, error or "", ERROR_ROLE)
                self.setItemData(self.count() - 1, error or "", Qt.ItemDataRole.ToolTipRole)
        self.insertSeparator(self.count())
        self.addItem("Add model…", ADD_MODEL)
        self.setItemData(self.count() - 1, "Choose a GGUF model file on this computer.", Qt.ItemDataRole.ToolTipRole)
        self.blockSignals(False)
        view = self.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 32)
        self.set_current(current)

    def display_text(self) -> str:
        """What the closed box shows for the current model (its name and size)."""
        short = self.itemData(self.currentIndex(), SHORT_ROLE)
        return str(short) if short else self.currentText()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        option.currentText = self.display_text()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def set_current(self, path: str | Path | None) -> None:
        """Show ``path`` as the chosen model (after it loaded, or to undo a failed pick)."""
        self._current = str(path) if path else ""
        index = self.findData(self._current) if self._current else -1
        if index < 0 and self._current:
            resolved = str(Path(self._current).resolve())
            for i in range(self.count()):
                data = self.itemData(i)
                if isinstance(data, str) and data != ADD_MODEL and str(Path(data).resolve()) == resolved:
                    index = i
                    break
        self.blockSignals(True)
        self.setCurrentIndex(max(index, 0) if self.count() > 2 else -1)
        self.blockSignals(False)
        self.setToolTip(self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")

    def _on_activated(self, index: int) -> None:
        data = self.itemData(index)
        error = self.itemData(index, ERROR_ROLE)
        self.set_current(self._current)  # the choice shows once the model has loaded
        if data == ADD_MODEL:
            self.add_requested.emit()
        elif error:
            self.broken_chosen.emit(str(data), str(error))
        elif isinstance(data, str) and data != self._current:
            self.model_chosen.emit(data)
