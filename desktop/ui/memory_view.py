""""What does Hearth know?": the past exchanges memory holds, each removable.

Memory stores finished exchanges so later answers can recall them (desktop.core.library,
``Library.remember``/``recall``).  This view lists them (what was said, from which
conversation, when), lets the user forget any of them, and carries the on/off switch
(``settings.library.memory_enabled``), which the settings dialog saves.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)


def _one_line(text: str, length: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _when(seconds: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(seconds)).strftime("%d %b %Y, %H:%M")
    except (TypeError, ValueError, OSError):
        return ""


class MemoryView(QWidget):
    """The memories list with Forget, and the memory switch.

    Args:
        library: the app's Library (None: this installation has no memory; the view says so).
        enabled: the current value of settings.library.memory_enabled.

    Signals:
        memories_changed(int): memories were forgotten (how many remain).
    """

    memories_changed = Signal(int)

    def __init__(self, library: Any, enabled: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryView")
        self.library = library
        layout = QVBoxLayout(self)
        self.switch = QCheckBox("Remember my conversations and use them in later answers")
        self.switch.setObjectName("memorySwitch")
        self.switch.setChecked(enabled)
        self.switch.setToolTip(
            "When on, Hearth keeps each finished exchange and may cite it later as "
            "“from your conversation of …”. Turning it off stops both; what is stored stays "
            "until you forget it below."
        )
        layout.addWidget(self.switch)
        self.summary = QLabel()
        self.summary.setObjectName("memorySummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.tree = QTreeWidget()
        self.tree.setObjectName("memoryList")
        self.tree.setHeaderLabels(["What was said", "Conversation", "When"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(False)  # question and answer on their own lines
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAccessibleName("What Hearth remembers")
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.tree, 1)
        self.detail = QLabel()  # the selected exchange in full: the list cuts long lines
        self.detail.setObjectName("memoryDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail)
        row = QHBoxLayout()
        self.forget_button = QPushButton("Forget selected")
        self.forget_button.setObjectName("forgetMemoryButton")
        self.forget_button.setToolTip("Remove the selected memories; Hearth never recalls them again.")
        self.forget_button.clicked.connect(self.forget_selected)
        row.addWidget(self.forget_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.refresh()

    def refresh(self) -> None:
        """Reload the list from the library."""
        self.tree.clear()
        if self.library is None:
            self.summary.setText("Memory is not available in this installation.")
            self.switch.setEnabled(False)
            self._update_buttons()
            return
        try:
            rows = self.library.memories()
        except Exception as exc:  # shown, never fatal: settings must still open
            log.exception("could not read memories")
            self.summary.setText(f"Could not read what Hearth remembers: {exc}")
            rows = []
        for row in rows:
            said = f"You: {_one_line(row.get('question', ''), 200)}"
            if row.get("answer"):
                said += f"\nHearth: {_one_line(row['answer'], 200)}"
            item = QTreeWidgetItem([said, str(row.get("title") or ""), _when(row.get("created_at"))])
            item.setData(0, Qt.ItemDataRole.UserRole, str(row.get("id")))
            full = f"You: {row.get('question', '')}\n\nHearth: {row.get('answer', '')}"
            item.setToolTip(0, full)
            item.setData(1, Qt.ItemDataRole.UserRole, full)
            self.tree.addTopLevelItem(item)
        if rows:
            self.summary.setText(
                f"Hearth remembers {len(rows)} exchange{'s' if len(rows) != 1 else ''} from your "
                "conversations. Select any to forget them."
            )
        elif self.library is not None and not self.summary.text().startswith("Could not"):
            self.summary.setText("Hearth remembers nothing from your conversations yet.")
        self._update_buttons()

    def count(self) -> int:
        return self.tree.topLevelItemCount()

    def forget_selected(self) -> int:
        """Forget the selected memories; returns how many were removed."""
        if self.library is None:
            return 0
        removed = 0
        for item in self.tree.selectedItems():
            try:
                removed += bool(self.library.forget_memory(str(item.data(0, Qt.ItemDataRole.UserRole))))
            except Exception as exc:
                log.exception("could not forget a memory")
                self.summary.setText(f"Could not forget it: {exc}")
                break
        self.refresh()
        self.memories_changed.emit(self.count())
        return removed

    def _update_buttons(self) -> None:
        selected = self.tree.selectedItems()
        self.forget_button.setEnabled(bool(selected))
        self.detail.setText(str(selected[-1].data(1, Qt.ItemDataRole.UserRole)) if selected else "")
