"""The conversation sidebar: New chat, a search box over message text, and the
conversations, newest first.  Rename in place (double-click or F2); delete asks first."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.history import History

ID_ROLE = Qt.ItemDataRole.UserRole


class ConversationList(QWidget):
    """Sidebar over :class:`~desktop.core.history.History`.

    Signals:
        conversation_selected(int): the user opened a conversation.
        new_requested(): the user asked for a new chat.
        delete_confirmed(int): the user confirmed deleting a conversation (the window
            deletes it, after stopping an answer being written there).
        conversation_renamed(int, str)
    """

    conversation_selected = Signal(int)
    new_requested = Signal()
    delete_confirmed = Signal(int)
    conversation_renamed = Signal(int, str)

    def __init__(self, history: History, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationSidebar")
        self.history = history
        self._current: int | None = None
        self._filling = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.setSpacing(6)
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("newChatButton")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.new_requested)
        layout.addWidget(self.new_button)
        self.search = QLineEdit()
        self.search.setObjectName("conversationSearch")
        self.search.setPlaceholderText("Search conversations")
        self.search.setToolTip("Find conversations by the words in their messages or titles")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search conversations")
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("conversationList")
        self.list.setAccessibleName("Conversations")
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)
        layout.addWidget(self.list, 1)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        delete = QAction("Delete conversation", self.list)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._delete_current)
        self.list.addAction(delete)
        self.setTabOrder(self.new_button, self.search)
        self.setTabOrder(self.search, self.list)

    # -- content ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the list (all conversations, or the search results)."""
        self._search_timer.stop()
        query = self.search.text().strip()
        self._filling = True
        self.list.clear()
        if query:
            for conv, msg in self.history.search(query):
                item = self._item(conv.id, conv.title)
                snippet = " ".join(msg.content.split())[:200]
                item.setToolTip(f"{conv.title}\n…{snippet}…" if snippet else conv.title)
        else:
            for conv in self.history.list_conversations():
                self._item(conv.id, conv.title)
        self._filling = False
        self.select(self._current, emit=False)

    def _item(self, conversation_id: int, title: str) -> QListWidgetItem:
        item = QListWidgetItem(title)
        item.setData(ID_ROLE, conversation_id)
        item.setToolTip(title)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    def ids(self) -> list[int]:
        """Conversation ids in the order shown."""
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    def item_for(self, conversation_id: int) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(ID_ROLE) == conversation_id:
                return item
        return None

    def select(self, conversation_id: int | None, emit: bool = False) -> None:
        self._current = conversation_id
        item = self.item_for(conversation_id) if conversation_id is not None else None
        self._filling = True
        if item is not None:
            self.list.setCurrentItem(item)
        else:
            self.list.setCurrentRow(-1)
        self._filling = False
        if emit and conversation_id is not None:
            self.conversation_selected.emit(conversation_id)

    # -- user actions -----------------------------------------------------------------

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if self._filling or current is None:
            return
        cid = int(current.data(ID_ROLE))
        if cid != self._current:
            self._current = cid
            self.conversation_selected.emit(cid)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        cid = int(item.data(ID_ROLE))
        conv = self.history.rename_conversation(cid, item.text())
        if conv.title != item.text():
            self._filling = True
            item.setText(conv.title)
            self._filling = False
        item.setToolTip(conv.title)
        self.conversation_renamed.emit(cid, conv.title)

    def rename(self, conversation_id: int) -> None:
        """Start editing the title in place."""
        item = self.item_for(conversation_id)
        if item is not None:
            self.list.editItem(item)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        cid = int(item.data(ID_ROLE))
        menu = QMenu(self)
        menu.addAction("Rename", lambda: self.rename(cid))
        menu.addAction("Delete…", lambda: self.confirm_delete(cid))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def _delete_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.confirm_delete(int(item.data(ID_ROLE)))

    def confirm_delete(self, conversation_id: int) -> QMessageBox:
        """Ask before deleting (window-modal, non-blocking); returns the open dialog."""
        title = self.history.get_conversation(conversation_id).title
        box = QMessageBox(self.window())
        box.setObjectName("confirmDeleteDialog")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Delete conversation")
        box.setText(f"Delete “{title}”?")
        box.setInformativeText("Its messages are removed from this computer. This cannot be undone.")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        delete_button = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        delete_button.setObjectName("confirmDeleteButton")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def done() -> None:
            if box.clickedButton() is delete_button:
                self.delete_confirmed.emit(conversation_id)
            box.deleteLater()

        box.finished.connect(done)
        box.open()
        return box
