"""The chat page: the conversation list, the chat view, the message box, and the logic
that drives an answer.

It talks to the core through background jobs (:class:`~desktop.ui.workers.GeneratorWorker`
streaming :class:`~desktop.core.chat.ChatEvent` objects) and tells the window what
happened through signals: the window is a shell that shows this page beside the
Library, Personalize and Models pages and owns the menus, the status line and model
loading.  The chat service records every outcome in the history; this page only shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.app import HearthCore
from desktop.core.chat import ChatEvent
from desktop.core.history import Message
from desktop.ui.chat_input import ChatInput
from desktop.ui.chat_view import ChatView
from desktop.ui.conversation_list import ConversationList
from desktop.ui.model_picker import ModelPicker
from desktop.ui.theme import html_colors
from desktop.ui.workers import GeneratorWorker

log = logging.getLogger(__name__)


#: The notice for Enter pressed while an answer is written; hidden when that answer ends.
BUSY_NOTICE = ("Hearth is still answering. Your message stays in the box: send it when the "
               "answer ends, or press Esc to stop it.")


class NoticeBar(QFrame):
    """A dismissible line above the conversation for errors and notices (never modal,
    so nothing blocks an answer being written)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.level = "info"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setObjectName("noticeText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        close = QToolButton()
        close.setObjectName("noticeClose")
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss notice")
        close.clicked.connect(self.hide)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.dark = False
        self.hide()

    def show_notice(self, text: str, level: str = "info") -> None:
        self.level = level
        self.label.setText(text)
        self._style()
        self.show()

    def set_dark(self, dark: bool) -> None:
        self.dark = dark
        self._style()

    def _style(self) -> None:
        if self.level == "error":
            bg, fg, border = ("#3c1f1e", "#f6d7d5", "#8c3a35") if self.dark else ("#fce8e6", "#5f1410", "#f1b0aa")
        else:
            bg, fg, border = ("#1f2a3c", "#d6e4ff", "#3a5a8c") if self.dark else ("#e8f0fe", "#0b2a5c", "#aecbfa")
        self.setStyleSheet(
            f"QFrame#noticeBar {{ background:{bg}; border:1px solid {border}; border-radius:6px; }}"
            f"QLabel#noticeText {{ color:{fg}; }}"
        )

    @property
    def text(self) -> str:
        parent = self.parentWidget()
        visible = self.isVisibleTo(parent) if parent is not None else self.isVisible()
        return self.label.text() if visible else ""


class ChatPage(QWidget):
    """Conversations and the chat with the model, over a :class:`HearthCore`.

    The window pushes the model's state in (``model_ready``, ``is_loading``) and connects
    the model picker's and the Settings button's signals to its own model loading and
    settings dialog.

    Signals:
        answer_finished(object): an answer ended (the final Message, as recorded).
        answer_done(): the answer's job ended (the page is no longer busy).
        status_changed(str): a line for the status bar.
        stats_changed(str): speed and context use of the conversation shown ("" clears).
        title_changed(str): the window title for the conversation shown.
        controls_changed(): what can be done changed (busy, editing, model state).
        activate_requested(): the page wants to be shown (new chat, Ctrl+L).
    """

    answer_finished = Signal(object)
    answer_done = Signal()
    status_changed = Signal(str)
    stats_changed = Signal(str)
    title_changed = Signal(str)
    controls_changed = Signal()
    activate_requested = Signal()

    notice: NoticeBar
    _system_prompt_timer: QTimer

    def __init__(self, core: HearthCore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPage")
        self.core = core
        self.conversation_id: int | None = None
        self.model_ready = False
        self.is_loading: Callable[[], bool] = lambda: False  # the window's model loading
        self._chat_worker: GeneratorWorker | None = None
        self._live: dict[str, Any] | None = None  # the answer being written
        self._editing = False
        self._trimmed = 0  # messages left out of the last answer's context
        self._closed = False
        self._build()

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self.sidebar = ConversationList(self.core.history)
        self.sidebar.conversation_selected.connect(self.open_conversation)
        self.sidebar.new_requested.connect(self.new_chat)
        self.sidebar.delete_confirmed.connect(self.delete_conversation)
        self.sidebar.conversation_renamed.connect(lambda *_: self._update_title())

        chat = QWidget()
        chat.setObjectName("chatArea")
        layout = QVBoxLayout(chat)
        layout.setContentsMargins(8, 8, 8, 6)
        layout.setSpacing(6)

        top = QHBoxLayout()
        self.picker = ModelPicker()
        self.picker.broken_chosen.connect(
            lambda path, error: self.notice.show_notice(error, "error")
        )
        self.picker.setMaximumWidth(460)  # a name and a size, not a bar across a wide screen
        top.addWidget(self.picker, 1)
        self.adapter_badge = QLabel()
        self.adapter_badge.setObjectName("adapterBadge")
        self.adapter_badge.hide()
        top.addWidget(self.adapter_badge)
        top.addStretch(1)  # the picker keeps a reading width; the buttons stay at the right
        self.system_prompt_button = QPushButton("System prompt")
        self.system_prompt_button.setObjectName("systemPromptButton")
        self.system_prompt_button.setCheckable(True)
        self.system_prompt_button.setToolTip("Show or edit this conversation's system prompt")
        self.system_prompt_button.toggled.connect(self._toggle_system_prompt)
        top.addWidget(self.system_prompt_button)
        # Settings is one place: the sidebar's Settings entry (and Ctrl+,), not a second
        # button here (a new-user trial found the two)
        layout.addLayout(top)

        self.system_prompt_panel = QFrame()
        self.system_prompt_panel.setObjectName("systemPromptPanel")
        sp = QVBoxLayout(self.system_prompt_panel)
        sp.setContentsMargins(0, 0, 0, 0)
        sp_label = QLabel("System prompt for this conversation (empty: the default from Settings)")
        sp_label.setObjectName("systemPromptLabel")
        sp.addWidget(sp_label)
        self.system_prompt_edit = QPlainTextEdit()
        self.system_prompt_edit.setObjectName("systemPromptEdit")
        self.system_prompt_edit.setAccessibleName("System prompt for this conversation")
        self.system_prompt_edit.setToolTip(
            "Instructions the model reads before this conversation. Leave empty to use the default."
        )
        self.system_prompt_edit.setTabChangesFocus(True)
        self.system_prompt_edit.setFixedHeight(72)
        self.system_prompt_edit.textChanged.connect(lambda: self._system_prompt_timer.start())
        sp.addWidget(self.system_prompt_edit)
        self.system_prompt_panel.hide()
        layout.addWidget(self.system_prompt_panel)
        self._system_prompt_timer = QTimer(self)
        self._system_prompt_timer.setSingleShot(True)
        self._system_prompt_timer.setInterval(400)
        self._system_prompt_timer.timeout.connect(self.save_system_prompt)

        self.notice = NoticeBar()
        layout.addWidget(self.notice)

        self.view = ChatView()
        self.view.source_activated.connect(self.open_source)
        self.view.code_copied.connect(lambda _code: self._set_status("Code copied to the clipboard."))
        self.view.answer_copied.connect(lambda _text: self._set_status("Answer copied to the clipboard."))
        layout.addWidget(self.view, 1)

        self.edit_banner = QLabel("Editing your last message. Send to replace it and get a new answer; Esc cancels.")
        self.edit_banner.setObjectName("editBanner")
        self.edit_banner.setWordWrap(True)
        self.edit_banner.hide()
        layout.addWidget(self.edit_banner)

        # the message box and its buttons line up with the conversation's column (the
        # chat view's 920 px) instead of running across a wide screen under it
        self.composer = QWidget()
        self.composer.setObjectName("composer")
        self.composer.setMaximumWidth(920)
        composer = QVBoxLayout(self.composer)
        composer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.input = ChatInput()
        self.input.submitted.connect(self.send)
        self.input.edit_last_requested.connect(self.edit_last_message)
        row.addWidget(self.input, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setMinimumWidth(84)
        self.send_button.clicked.connect(self._send_or_stop)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        composer.addLayout(row)

        actions = QHBoxLayout()
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("regenerateButton")
        self.regenerate_button.setToolTip("Answer the last message again (Ctrl+R)")
        self.regenerate_button.clicked.connect(self.regenerate)
        actions.addWidget(self.regenerate_button)
        self.edit_button = QPushButton("Edit last message")
        self.edit_button.setObjectName("editLastButton")
        self.edit_button.setToolTip("Change your last message and send it again (Up in an empty box)")
        self.edit_button.clicked.connect(self.edit_last_message)
        actions.addWidget(self.edit_button)
        actions.addStretch(1)
        composer.addLayout(actions)
        centred = QHBoxLayout()
        centred.setContentsMargins(16, 0, 16, 0)  # the chat view's own side margins
        centred.addStretch(1)
        centred.addWidget(self.composer, 10_000)  # all the width up to its maximum
        centred.addStretch(1)
        layout.addLayout(centred)

        self.splitter = QSplitter()
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(chat)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 850])
        self.splitter.setChildrenCollapsible(False)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.splitter)

        QWidget.setTabOrder(self.input, self.send_button)
        QWidget.setTabOrder(self.send_button, self.regenerate_button)
        QWidget.setTabOrder(self.regenerate_button, self.edit_button)
        QWidget.setTabOrder(self.edit_button, self.picker)
        QWidget.setTabOrder(self.picker, self.system_prompt_button)
        QWidget.setTabOrder(self.system_prompt_button, self.sidebar.new_button)

    def set_dark(self, dark: bool) -> None:
        """Colours of the conversation, the notice bar and the edit banner."""
        self.view.set_colors(html_colors(dark))
        self.notice.set_dark(dark)
        muted = html_colors(dark).muted
        self.edit_banner.setStyleSheet(f"QLabel#editBanner {{ color:{muted}; font-style:italic; }}")

    @property
    def editing(self) -> bool:
        """The last message is being edited in the message box."""
        return self._editing

    def shutdown(self) -> None:
        """Stop an answer being written (kept, marked stopped) and wait for it; late
        events are ignored afterwards (call before the core is closed)."""
        self.save_system_prompt()
        if self._chat_worker is not None:
            self._chat_worker.cancel()
            self._chat_worker.wait(15_000)
        self._closed = True

    # ------------------------------------------------------------------ conversations

    def open_initial_conversation(self) -> None:
        conversations = self.core.history.list_conversations()
        conv = conversations[0] if conversations else self.core.history.create_conversation()
        self.sidebar.refresh()
        self.open_conversation(conv.id)

    def open_conversation(self, conversation_id: int) -> None:
        """Show a conversation's messages (an answer being written there keeps streaming)."""
        self.save_system_prompt()
        self._cancel_edit()
        self.conversation_id = conversation_id
        conv = self.core.history.get_conversation(conversation_id)
        messages = self.core.history.messages(conversation_id)
        self.view.set_messages(messages)
        live = self._live
        if live is not None and live["conversation_id"] == conversation_id and live.get("message"):
            msg = next((m for m in messages if m.id == live["message"].id), live["message"])
            widget = self.view.begin_stream(msg, live["text"])
            if live.get("sources"):
                self.view.set_live_sources(live["sources"])
            del widget
        self.stats_changed.emit("")
        last = next((m for m in reversed(messages) if m.role == "assistant"), None)
        if last is not None and isinstance(last.meta.get("stats"), dict):
            self._show_stats(last.meta["stats"])
        self.system_prompt_edit.blockSignals(True)
        self.system_prompt_edit.setPlainText(conv.system_prompt)
        self.system_prompt_edit.setPlaceholderText(self.core.settings.chat.system_prompt)
        self.system_prompt_edit.blockSignals(False)
        self.sidebar.select(conversation_id)
        self._update_title()
        self.update_controls()

    def new_chat(self) -> None:
        """Open an empty conversation (reusing the current one if it is still empty)."""
        self.activate_requested.emit()
        if self.conversation_id is not None and not self.core.history.messages(self.conversation_id):
            self.focus_input()
            return
        conv = self.core.history.create_conversation()
        self.sidebar.search.clear()
        self.sidebar.refresh()
        self.open_conversation(conv.id)
        self.focus_input()

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation (an answer being written there is stopped first)."""
        live = self._live
        if live is not None and live["conversation_id"] == conversation_id and self._chat_worker is not None:
            self._chat_worker.cancel()
            # its remaining events arrive later and find the conversation gone; no
            # processEvents() here: PySide6 6.12 on Python 3.11 races on None's
            # reference count in processEvents while another thread runs Python.
            self._chat_worker.wait(10_000)
        self.core.delete_conversation(conversation_id)
        self.sidebar.refresh()
        if conversation_id == self.conversation_id:
            self.conversation_id = None
            ids = self.sidebar.ids()
            if ids:
                self.open_conversation(ids[0])
            else:
                self.open_conversation(self.core.history.create_conversation().id)
                self.sidebar.refresh()
        self._set_status("Conversation deleted.")

    def rename_current(self) -> None:
        if self.conversation_id is not None:
            self.sidebar.rename(self.conversation_id)

    def _update_title(self) -> None:
        title = ""
        if self.conversation_id is not None:
            try:
                title = self.core.history.get_conversation(self.conversation_id).title
            except KeyError:
                title = ""
        self.title_changed.emit(f"{title} — Hearth" if title and title != "New chat" else "Hearth")

    def _toggle_system_prompt(self, shown: bool) -> None:
        self.system_prompt_panel.setVisible(shown)
        if shown:
            self.system_prompt_edit.setFocus()

    def save_system_prompt(self) -> None:
        """Store the system prompt being edited in its conversation."""
        self._system_prompt_timer.stop()
        if self.conversation_id is None:
            return
        text = self.system_prompt_edit.toPlainText().strip()
        try:
            conv = self.core.history.get_conversation(self.conversation_id)
        except KeyError:
            return
        if conv.system_prompt != text:
            self.core.history.update_conversation(self.conversation_id, system_prompt=text)

    # ------------------------------------------------------------------ answering

    @property
    def busy(self) -> bool:
        """An answer is being written."""
        return self._chat_worker is not None

    def focus_input(self) -> None:
        self.activate_requested.emit()
        self.input.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _send_or_stop(self) -> None:
        if self.busy:
            self.stop()
        else:
            self.send()

    def send(self) -> None:
        """Send the message box's text (or, when editing, replace the last message)."""
        text = self.input.toPlainText().strip()
        if not text:
            return
        if self.busy:  # Enter while an answer is written: say why nothing happens
            self.notice.show_notice(BUSY_NOTICE, "info")
            return
        if self.is_loading():
            self.notice.show_notice("The model is loading; your message stays in the box.", "info")
            return
        if not self.model_ready:
            self.notice.show_notice(
                "No model is loaded. Choose one in the model list or with Add model… "
                "(your message stays in the box).", "error",
            )
            return
        if self.conversation_id is None:
            self.open_conversation(self.core.history.create_conversation().id)
        cid = self.conversation_id
        assert cid is not None
        self.save_system_prompt()
        self.notice.hide()
        if self._editing:
            last_user = self._last_message(cid, "user")
            self._cancel_edit()
            if last_user is not None:
                self.view.remove_from(last_user.id)
                self.input.clear()
                self._start_answer(self.core.chat.edit_last_user_message, cid, text)
                return
        self.input.clear()
        self._start_answer(self.core.chat.send, cid, text)

    def regenerate(self) -> None:
        """Answer the last user message again."""
        cid = self.conversation_id
        if cid is None or self.busy or not self.model_ready:
            return
        if self._last_message(cid, "user") is None:
            return
        msgs = self.core.history.messages(cid)
        if msgs and msgs[-1].role == "assistant":
            self.view.remove_from(msgs[-1].id)
        self.notice.hide()
        self._start_answer(self.core.chat.regenerate, cid)

    def edit_last_message(self) -> None:
        """Put the last user message in the box for editing; sending replaces it."""
        cid = self.conversation_id
        if cid is None or self.busy:
            return
        last = self._last_message(cid, "user")
        if last is None:
            return
        self._editing = True
        self.input.setPlainText(last.content)
        cursor = self.input.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.input.setTextCursor(cursor)
        self.edit_banner.show()
        self.focus_input()
        self.update_controls()

    def _cancel_edit(self) -> None:
        if self._editing:
            self._editing = False
            self.edit_banner.hide()
            self.input.clear()
            self.update_controls()

    def _last_message(self, cid: int, role: str) -> Message | None:
        return next((m for m in reversed(self.core.history.messages(cid)) if m.role == role), None)

    def escape(self) -> None:
        """Esc: stop the answer being written, or cancel editing."""
        if self.busy:
            self.stop()
        elif self._editing:
            self._cancel_edit()

    def stop(self) -> None:
        """Stop the answer being written; what was written is kept, marked stopped."""
        if self._chat_worker is not None:
            self._chat_worker.cancel()
            self._set_status("Stopping…")

    def _start_answer(self, fn: Any, *args: Any) -> None:
        worker = GeneratorWorker(fn, *args)
        self._live = {"conversation_id": args[0], "message": None, "text": "", "sources": []}
        worker.yielded.connect(self._on_chat_event)
        worker.errored.connect(self._on_chat_error)
        worker.finished.connect(self._on_chat_done)
        self._chat_worker = worker
        self.view.scroll_to_bottom()
        self._set_status("Writing…")
        self.update_controls()
        worker.start()

    def _on_chat_event(self, ev: ChatEvent) -> None:
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        live = self._live
        if live is None:
            return
        here = live["conversation_id"] == self.conversation_id
        if ev.kind == "user_message" and ev.message is not None:
            if here:
                self.view.add_message(ev.message)
                self.view.scroll_to_bottom()
            self.sidebar.refresh()
            self._update_title()
        elif ev.kind == "reply_started" and ev.message is not None:
            live["message"] = ev.message
            if here:
                self.view.begin_stream(ev.message)
        elif ev.kind == "sources":
            live["sources"] = [s.to_dict() for s in ev.sources]
            if here:
                self.view.set_live_sources(live["sources"])
        elif ev.kind == "token":
            live["text"] += ev.text
            if here:
                self.view.append_token(ev.text)
        elif ev.kind == "trimmed":
            dropped = int(ev.data.get("dropped", 0))
            self._set_status(
                f"This conversation is longer than the model's context window: its {dropped} "
                "oldest message(s) were left out of what the model sees (the system prompt is kept)."
            )
            self._trimmed = dropped
        elif ev.kind == "finished" and ev.message is not None:
            self._finish_live(ev.message, ev.data)

    def _finish_live(self, message: Message, data: dict[str, Any]) -> None:
        live = self._live
        if live is not None and live["conversation_id"] == self.conversation_id:
            if self.view.widget_for(message.id) is None:
                self.view.add_message(message)
            self.view.finish_stream(message)
        self._live = None
        if self.notice.isVisible() and self.notice.label.text() == BUSY_NOTICE:
            self.notice.hide()  # the answer it spoke of has ended (fifth new-user trial: it stayed)
        error = data.get("error")
        if message.status == "error" or error:
            self.notice.show_notice(str(error or message.meta.get("error") or "The answer failed."), "error")
            self._set_status("The answer was interrupted by an error.")
        elif message.status == "stopped":
            self._set_status("Stopped. The answer so far is kept.")
        elif self._trimmed:
            self._trimmed = 0
        else:
            self._set_status("Ready to chat.")  # beside "Indexing · …": the chat is ready
        self._show_stats(data)
        self.answer_finished.emit(message)

    def _show_stats(self, data: dict[str, Any]) -> None:
        parts = []
        rate = data.get("tokens_per_s")
        if isinstance(rate, (int, float)) and rate > 0:
            parts.append(f"{rate:.1f} tokens/s")
        used, n_ctx = data.get("context_used"), data.get("n_ctx")
        if isinstance(used, int) and isinstance(n_ctx, int) and n_ctx > 0:
            parts.append(f"context {used:,} / {n_ctx:,} tokens ({100 * used / n_ctx:.0f}%)")
        if parts:
            self.stats_changed.emit(" · ".join(parts))

    def _on_chat_error(self, exc: BaseException) -> None:
        """The answer could not start or be saved (the chat service records every other
        failure in the history itself and reports it in its "finished" event)."""
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        log.error("answer failed: %s", exc, exc_info=exc)
        live, self._live = self._live, None
        if live is not None and live.get("message") is not None:
            self.view.finish_stream(live["message"])
        self.notice.show_notice(str(exc) or type(exc).__name__, "error")
        self._set_status("The answer failed.")

    def _on_chat_done(self) -> None:
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        self._chat_worker = None
        self._live = None
        self.update_controls()
        self.answer_done.emit()

    # ------------------------------------------------------------------ misc

    def open_source(self, source: dict[str, Any]) -> bool:
        """Open a clicked source; when nothing opens (no file opener on this desktop, the
        file was moved, a past conversation) say so in the notice bar instead of doing
        nothing.  Returns True when a file was handed to the system."""
        from desktop.ui.chat_view import _sources_module

        extra = source.get("extra") or {}
        if source.get("kind") == "memory" and isinstance(extra, dict) and extra.get("conversation_id"):
            try:
                self.core.history.get_conversation(int(extra["conversation_id"]))
            except (KeyError, ValueError):
                pass
            else:
                self.open_conversation(int(extra["conversation_id"]))
                return False
        module = _sources_module()
        explain = getattr(module, "open_source_or_explain", None)
        if explain is None:  # a build with its own sources module
            return bool(module.open_source(source)) if module is not None else False
        opened, message = explain(source)
        if message:
            self.notice.show_notice(message, "info")
        return opened

    def update_adapter_badge(self) -> None:
        """Show, beside the model, that a personal adapter shapes the answers."""
        name = self.core.active_adapter
        self.adapter_badge.setVisible(bool(name))
        if name:
            scale = self.core.settings.personalization.adapter_scale
            self.adapter_badge.setText("✦ Personalized")
            self.adapter_badge.setToolTip(
                f"Your personal adapter “{name}” is in use (strength {scale:.2f}). "
                "Switch it off on the Personalize page."
            )

    def _set_status(self, text: str) -> None:
        self.status_changed.emit(text)

    def update_controls(self) -> None:
        """Enable what can be done now (answering, a model loading or missing)."""
        busy, ready, loading = self.busy, self.model_ready, self.is_loading()
        has_user = self.conversation_id is not None and any(
            m.role == "user" for m in self.core.history.messages(self.conversation_id)
        )
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setToolTip("Stop the answer (Esc)" if busy else "Send (Enter)")
        self.send_button.setEnabled(busy or (ready and not loading))
        self.regenerate_button.setEnabled(not busy and ready and has_user)
        self.edit_button.setEnabled(not busy and has_user)
        self.picker.setEnabled(not busy and not loading)
        self.controls_changed.emit()
