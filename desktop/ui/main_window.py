"""Hearth's main window.

Layout: an optional mode bar (Chat / Library / Personalize, when those panels are in
this build), the conversation sidebar, and the chat: model picker, per-conversation
system prompt, the conversation, the message box with Send/Stop, Regenerate and Edit,
and a status line (model, tokens/s, context used).

Threading: model loading and answering run in :class:`~desktop.ui.workers.GeneratorWorker`
threads; their events arrive here as queued signals, so widgets are only touched on the
GUI thread and the window stays responsive.  No dialog blocks the event loop (they are
opened with ``open()``), so an answer keeps streaming while one is shown.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.app import HearthCore
from desktop.core.chat import ChatEvent
from desktop.core.history import Message
from desktop.core.models import (
    ModelError,
    ModelInfo,
    check_chat_model,
    read_gguf_info,
)
from desktop.core.paths import config_dir, resource_path
from desktop.ui.chat_input import ChatInput
from desktop.ui.chat_view import ChatView
from desktop.ui.conversation_list import ConversationList
from desktop.ui.model_picker import ModelPicker
from desktop.ui.server_control import add_remote_engine_action, add_server_action
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.theme import apply_theme, html_colors, wants_dark
from desktop.ui.transfer_actions import add_transfer_actions
from desktop.ui.welcome import WelcomeScreen
from desktop.ui.workers import GeneratorWorker

log = logging.getLogger(__name__)

# (mode key, button label, module, class): panels other parts of Hearth provide.
PANELS = (
    ("library", "Library", "desktop.ui.library_panel", "LibraryPanel"),
    ("personalize", "Personalize", "desktop.ui.personalize_panel", "PersonalizePanel"),
    ("models", "Models", "desktop.ui.models_panel", "ModelsPanel"),
)


def optional_class(module_name: str, class_name: str) -> type | None:
    """``module_name.class_name`` if this build has that module, else None.  Any other
    import failure (a bug inside the module) is raised, not hidden."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    cls = getattr(module, class_name, None)
    return cls if isinstance(cls, type) else None


def app_icon() -> QIcon:
    """The app icon from resources/icons/ when present (else an empty icon)."""
    folder = resource_path("icons")
    icon = QIcon()
    for name in ("hearth.png", "hearth-256.png", "hearth-512.png", "hearth.svg", "icon.png"):
        if (folder / name).exists():
            icon.addFile(str(folder / name))
    if icon.isNull() and folder.is_dir():
        for path in sorted(folder.glob("*.png")):
            icon.addFile(str(path))
    return icon


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


class MainWindow(QMainWindow):
    """The window over a :class:`~desktop.core.app.HearthCore`.

    Signals:
        model_loaded(object): a model finished loading (its ModelInfo).
        model_failed(str): loading a model failed (the message shown).
        answer_finished(object): an answer ended (the final Message).
    """

    model_loaded = Signal(object)
    model_failed = Signal(str)
    answer_finished = Signal(object)

    notice: NoticeBar
    _system_prompt_timer: QTimer

    def __init__(self, core: HearthCore) -> None:
        super().__init__()
        self.core = core
        self.setObjectName("mainWindow")
        self.setWindowTitle("Hearth")
        icon = app_icon()
        if not icon.isNull():
            self.setWindowIcon(icon)
        self.setAcceptDrops(True)
        self.conversation_id: int | None = None
        self.model_ready = False
        self._chat_worker: GeneratorWorker | None = None
        self._load_worker: GeneratorWorker | None = None
        self._live: dict[str, Any] | None = None  # the answer being written
        self._editing = False
        self._reload_pending = False
        self._pending_path: str | None = None
        self._closed = False
        self._fallback_pending: Path | None = None  # the model to load after a failed one
        self._load_target: Path | None = None
        self._panels: dict[str, QWidget] = {}
        self._panel_classes: dict[str, type] = {}
        self.dark = False

        self._build_chat_page()
        self._build_pages()
        self._build_actions()
        self._build_status()
        self.refresh_theme()
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._on_color_scheme_changed)
        self.refresh_models()
        self._open_initial_conversation()
        self._update_controls()
        self.resize(1100, 720)

    # ------------------------------------------------------------------ construction

    def _build_chat_page(self) -> None:
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
        self.picker.model_chosen.connect(self.load_model)
        self.picker.broken_chosen.connect(
            lambda path, error: self.notice.show_notice(error, "error")
        )
        self.picker.add_requested.connect(self.choose_model_file)
        top.addWidget(self.picker, 1)
        self.adapter_badge = QLabel()
        self.adapter_badge.setObjectName("adapterBadge")
        self.adapter_badge.hide()
        top.addWidget(self.adapter_badge)
        self.system_prompt_button = QPushButton("System prompt")
        self.system_prompt_button.setObjectName("systemPromptButton")
        self.system_prompt_button.setCheckable(True)
        self.system_prompt_button.setToolTip("Show or edit this conversation's system prompt")
        self.system_prompt_button.toggled.connect(self._toggle_system_prompt)
        top.addWidget(self.system_prompt_button)
        self.settings_button = QPushButton("Settings")
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.setToolTip("Sampling, engine and appearance settings (Ctrl+,)")
        self.settings_button.clicked.connect(self.open_settings)
        top.addWidget(self.settings_button)
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
        layout.addLayout(row)

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
        layout.addLayout(actions)

        self.splitter = QSplitter()
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(chat)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 850])
        self.splitter.setChildrenCollapsible(False)
        self.chat_page = self.splitter

        QWidget.setTabOrder(self.input, self.send_button)
        QWidget.setTabOrder(self.send_button, self.regenerate_button)
        QWidget.setTabOrder(self.regenerate_button, self.edit_button)
        QWidget.setTabOrder(self.edit_button, self.picker)
        QWidget.setTabOrder(self.picker, self.system_prompt_button)
        QWidget.setTabOrder(self.system_prompt_button, self.settings_button)
        QWidget.setTabOrder(self.settings_button, self.sidebar.new_button)

    def _build_pages(self) -> None:
        self.modes = QStackedWidget()
        self.modes.setObjectName("modeStack")
        self.modes.addWidget(self.chat_page)
        self.mode_buttons: dict[str, QToolButton] = {}
        self.mode_group = QButtonGroup(self)
        available = []
        for key, label, module, cls_name in PANELS:
            cls = optional_class(module, cls_name)
            if cls is not None:
                self._panel_classes[key] = cls
                available.append((key, label))
        content = QWidget()
        content.setObjectName("contentPage")
        h = QHBoxLayout(content)
        h.setContentsMargins(0, 0, 0, 0)
        h.setSpacing(0)
        if available:
            bar = QFrame()
            bar.setObjectName("modeBar")
            v = QVBoxLayout(bar)
            v.setContentsMargins(6, 8, 6, 8)
            for key, label in [("chat", "Chat"), *available]:
                button = QToolButton()
                button.setObjectName(f"mode_{key}")
                button.setText(label)
                button.setCheckable(True)
                button.setMinimumWidth(124)
                button.setProperty("navButton", True)
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                button.setIconSize(QSize(20, 20))
                button.setToolTip({"chat": "Conversations with the model",
                                   "library": "Your documents, for answers with sources",
                                   "personalize": "Teach the model about your world",
                                   "models": "Download a capable model; see what fits"}.get(key, label))
                button.clicked.connect(lambda _=False, k=key: self.show_mode(k))
                self.mode_group.addButton(button)
                self.mode_buttons[key] = button
                v.addWidget(button)
            v.addStretch(1)
            settings_nav = QToolButton()
            settings_nav.setObjectName("nav_settings")
            settings_nav.setText("Settings")
            settings_nav.setProperty("navButton", True)
            settings_nav.setMinimumWidth(124)
            settings_nav.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            settings_nav.setIconSize(QSize(20, 20))
            settings_nav.setToolTip("Sampling, engine, appearance and memory (Ctrl+,)")
            settings_nav.clicked.connect(self.open_settings)
            self.settings_nav = settings_nav
            v.addWidget(settings_nav)
            self.mode_buttons["chat"].setChecked(True)
            h.addWidget(bar)
        h.addWidget(self.modes, 1)

        self.pages = QStackedWidget()
        self.pages.setObjectName("pageStack")
        self.pages.addWidget(content)
        self.content_page = content
        self.welcome: WelcomeScreen | None = None
        if not self.core.settings.ui.welcome_done:
            self.welcome = WelcomeScreen(self.core.catalog)
            self.welcome.start_requested.connect(self.finish_welcome)
            self.welcome.add_model_requested.connect(self.choose_model_file)
            self.pages.addWidget(self.welcome)
            self.pages.setCurrentWidget(self.welcome)
        self.setCentralWidget(self.pages)

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        chat_menu = menu.addMenu("&Chat")
        help_menu = menu.addMenu("&Help")

        def action(text: str, slot: Any, shortcuts: list[Any], tip: str, menu_: Any) -> QAction:
            a = QAction(text, self)
            keys: list[QKeySequence] = []
            for s in shortcuts:
                for seq in (QKeySequence.keyBindings(s) if isinstance(s, QKeySequence.StandardKey) else [QKeySequence(s)]):
                    if not seq.isEmpty() and seq not in keys:
                        keys.append(seq)
            a.setShortcuts(keys)
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            menu_.addAction(a)
            return a

        self.new_chat_action = action("New chat", self.new_chat, ["Ctrl+N"], "Start a new conversation", file_menu)
        self.add_model_action = action("Add model…", self.choose_model_file, ["Ctrl+O"], "Add a GGUF model file", file_menu)
        self.settings_action = action(
            "Settings…", self.open_settings, [QKeySequence.StandardKey.Preferences, "Ctrl+,"],
            "Sampling, engine and appearance settings", file_menu,
        )
        file_menu.addSeparator()
        self.transfer_actions = add_transfer_actions(self, file_menu)
        self.server_action = add_server_action(self, file_menu)
        self.remote_engine_action = add_remote_engine_action(self, file_menu)
        file_menu.addSeparator()
        self.quit_action = action("Quit", self.close, [QKeySequence.StandardKey.Quit, "Ctrl+Q"], "Close Hearth", file_menu)
        self.stop_action = action("Stop", self.escape, ["Esc"], "Stop the answer being written (Esc)", chat_menu)
        self.regenerate_action = action("Regenerate", self.regenerate, ["Ctrl+R"], "Answer the last message again", chat_menu)
        self.edit_action = action("Edit last message", self.edit_last_message, ["Ctrl+E"], "Change your last message and send it again", chat_menu)
        self.focus_action = action("Focus message box", self.focus_input, ["Ctrl+L"], "Move the cursor to the message box", chat_menu)
        self.rename_action = action("Rename conversation", self._rename_current, ["F2"], "Rename this conversation", chat_menu)
        action("About Hearth", self._about, [], "About Hearth", help_menu)

    def _build_status(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("statusLine")
        self.status_text = QLabel("")
        self.status_text.setObjectName("statusText")
        bar.addWidget(self.status_text, 1)
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("statsLabel")
        self.stats_label.setToolTip("Speed of the last answer, and how much of the context window it used")
        bar.addPermanentWidget(self.stats_label)
        self.stats_separator = separator = QFrame()
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)
        separator.hide()
        bar.addPermanentWidget(separator)
        self.model_label = QLabel("No model loaded")
        self.model_label.setObjectName("modelStatus")
        bar.addPermanentWidget(self.model_label)

    # ------------------------------------------------------------------ appearance

    def refresh_theme(self) -> None:
        """Apply ui.theme (light, dark, or follow the OS)."""
        dark = wants_dark(self.core.settings.ui.theme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, dark)
        self.dark = dark
        self.view.set_colors(html_colors(dark))
        self.notice.set_dark(dark)
        from desktop.ui.icons import nav_icon
        from desktop.ui.theme import tokens

        for key, button in self.mode_buttons.items():
            button.setIcon(nav_icon(key, tokens(dark).text))
        if getattr(self, "settings_nav", None) is not None:
            self.settings_nav.setIcon(nav_icon("settings", tokens(dark).text))
        muted = html_colors(dark).muted
        self.edit_banner.setStyleSheet(f"QLabel#editBanner {{ color:{muted}; font-style:italic; }}")

    def _on_color_scheme_changed(self, *_: object) -> None:
        if self.core.settings.ui.theme == "system":
            self.refresh_theme()

    def restore_geometry(self) -> None:
        """Window geometry from Qt's settings store (the only thing kept there), in
        Hearth's config folder so HEARTH_HOME moves it too."""
        data = self._qsettings().value("geometry")
        if data is not None:
            self.restoreGeometry(data)

    def save_geometry(self) -> None:
        self._qsettings().setValue("geometry", self.saveGeometry())

    @staticmethod
    def _qsettings() -> QSettings:
        return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)

    # ------------------------------------------------------------------ welcome and modes

    def finish_welcome(self) -> None:
        """Leave the welcome screen for the chat (remembered: it is shown once)."""
        self.core.finish_welcome()
        self.pages.setCurrentWidget(self.content_page)
        if self.welcome is not None:
            self.welcome.deleteLater()
            self.welcome = None
        self.focus_input()

    def show_mode(self, key: str) -> QWidget:
        """Show "chat" or a panel ("library", "personalize"), building it on first use."""
        if key == "chat":
            self.modes.setCurrentWidget(self.chat_page)
            widget: QWidget = self.chat_page
        else:
            widget = self._panel(key)
            self.modes.setCurrentWidget(widget)
        button = self.mode_buttons.get(key)
        if button is not None:
            button.setChecked(True)
        return widget

    def _panel(self, key: str) -> QWidget:
        if key in self._panels:
            return self._panels[key]
        cls = self._panel_classes[key]
        try:
            panel: QWidget = cls(self.core, self)
        except Exception as exc:  # a broken panel must not take the chat down
            log.exception("the %s panel could not be opened", key)
            panel = QLabel(f"This part of Hearth could not be opened: {exc}")
            panel.setWordWrap(True)
            panel.setAlignment(Qt.AlignmentFlag.AlignCenter)
        panel.setObjectName(panel.objectName() or f"{key}Panel")
        changed = getattr(panel, "adapter_changed", None)
        if changed is not None:
            changed.connect(self.update_adapter_badge)
        self._panels[key] = panel
        self.modes.addWidget(panel)
        return panel

    # ------------------------------------------------------------------ conversations

    def _open_initial_conversation(self) -> None:
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
        self.stats_label.clear()
        self.stats_separator.hide()
        last = next((m for m in reversed(messages) if m.role == "assistant"), None)
        if last is not None and isinstance(last.meta.get("stats"), dict):
            self._show_stats(last.meta["stats"])
        self.system_prompt_edit.blockSignals(True)
        self.system_prompt_edit.setPlainText(conv.system_prompt)
        self.system_prompt_edit.setPlaceholderText(self.core.settings.chat.system_prompt)
        self.system_prompt_edit.blockSignals(False)
        self.sidebar.select(conversation_id)
        self._update_title()
        self._update_controls()

    def new_chat(self) -> None:
        """Open an empty conversation (reusing the current one if it is still empty)."""
        self.show_mode("chat")
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

    def _rename_current(self) -> None:
        if self.conversation_id is not None:
            self.sidebar.rename(self.conversation_id)

    def _update_title(self) -> None:
        title = ""
        if self.conversation_id is not None:
            try:
                title = self.core.history.get_conversation(self.conversation_id).title
            except KeyError:
                title = ""
        self.setWindowTitle(f"{title} — Hearth" if title and title != "New chat" else "Hearth")

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
        self.show_mode("chat")
        self.input.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _send_or_stop(self) -> None:
        if self.busy:
            self.stop()
        else:
            self.send()

    def send(self) -> None:
        """Send the message box's text (or, when editing, replace the last message)."""
        text = self.input.toPlainText().strip()
        if not text or self.busy:
            return
        if self.loading:
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
        self._update_controls()

    def _cancel_edit(self) -> None:
        if self._editing:
            self._editing = False
            self.edit_banner.hide()
            self.input.clear()
            self._update_controls()

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
        self._update_controls()
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
            self.status_text.setProperty("trimmed", dropped)
        elif ev.kind == "finished" and ev.message is not None:
            self._finish_live(ev.message, ev.data)

    def _finish_live(self, message: Message, data: dict[str, Any]) -> None:
        live = self._live
        if live is not None and live["conversation_id"] == self.conversation_id:
            if self.view.widget_for(message.id) is None:
                self.view.add_message(message)
            self.view.finish_stream(message)
        self._live = None
        error = data.get("error")
        if message.status == "error" or error:
            self.notice.show_notice(str(error or message.meta.get("error") or "The answer failed."), "error")
            self._set_status("The answer was interrupted by an error.")
        elif message.status == "stopped":
            self._set_status("Stopped. The answer so far is kept.")
        elif self.status_text.property("trimmed"):
            self.status_text.setProperty("trimmed", None)
        else:
            self._set_status("Ready.")
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
            self.stats_label.setText(" · ".join(parts))
            self.stats_separator.show()

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
        self._update_controls()
        self._run_pending_load()

    def _run_pending_load(self) -> None:
        if self._reload_pending and not self.busy and self._load_worker is None:
            self._reload_pending = False
            self.load_model(self._pending_path)

    # ------------------------------------------------------------------ models

    def refresh_models(self) -> None:
        """Fill the model picker from the catalog."""
        current = self.core.engine.model.path if self.core.engine.model else self._chosen_model_path()
        self.picker.set_models(self.core.catalog.list(), current)

    def _chosen_model_path(self) -> str | None:
        try:
            return str(self.core.current_model_path())
        except ModelError:
            return None

    def load_model(self, path: str | None = None) -> None:
        """Load ``path`` (default: the saved choice) in the background.  On failure the
        previous model stays and a notice names the file and what to do."""
        if self._load_worker is not None or self.busy:
            # after the current load or answer: a reload of the saved choice (settings
            # changed), or the model the user picked
            self._reload_pending = True
            self._pending_path = path
            return
        target = path
        self._load_target = Path(path) if path else (Path(p) if (p := self._chosen_model_path()) else None)
        self._set_status("Loading model…")
        self.model_label.setText("Loading model…")
        self._start_load(self.core.load_model, target)

    def _start_load(self, fn: Any, *args: Any) -> None:
        """Run a model load in a GeneratorWorker, connected before it starts (a load
        that ends at once must still reach _on_load_done)."""

        def load(**_: Any) -> Any:
            yield fn(*args)

        worker = GeneratorWorker(load, pass_cancel=False)
        worker.yielded.connect(self._on_model_loaded)
        worker.errored.connect(self._on_model_error)
        worker.finished.connect(self._on_load_done)
        self._load_worker = worker
        self._update_controls()
        worker.start()

    def load_current_model(self) -> None:
        """Load the saved choice (at start)."""
        self.load_model(None)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        self.model_ready = True
        self.model_label.setText(info.name)
        self.model_label.setToolTip(info.summary())
        self.refresh_models()
        self.picker.set_current(info.path)
        if self.welcome is not None:
            self.welcome.enable_start()
        self._set_status("Ready.")
        if self.core.adapter_notice:
            self.notice.show_notice(self.core.adapter_notice, "warning")
        self.update_adapter_badge()
        self.model_loaded.emit(info)

    def _on_model_error(self, exc: BaseException) -> None:
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        message = str(exc)
        current = self.core.engine.model
        if current is not None:
            message += f" Hearth is still using {current.name}."
            self.model_label.setText(current.name)
        elif (fallback := self.core.fallback_model(self._load_target)) is not None:
            message += " Hearth uses its built-in model instead."
            self._fallback_pending = fallback
        else:
            self.model_label.setText("No model loaded")
            message += " Choose a working model with Add model…"
        self.notice.show_notice(message, "error")
        if current is not None:
            self._set_status(f"Ready · still using {current.name}.")
        elif self._fallback_pending is not None:
            self._set_status("Loading the built-in model…")
        else:
            self._set_status("No model loaded.")
        self.refresh_models()
        self.model_failed.emit(message)

    def _on_load_done(self) -> None:
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        self._load_worker = None
        self._update_controls()
        if self._reload_pending:
            self._run_pending_load()
            return
        if self._fallback_pending is not None:
            fallback, self._fallback_pending = self._fallback_pending, None
            self.load_model(str(fallback))

    @property
    def loading(self) -> bool:
        return self._load_worker is not None

    def choose_model_file(self) -> None:
        """Ask for a GGUF file (non-blocking dialog), then add and load it."""
        dialog = QFileDialog(self, "Add a model", str(Path.home()), "GGUF models (*.gguf);;All files (*)")
        dialog.setObjectName("addModelDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.add_model_file)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def add_model_file(self, path: str | Path) -> None:
        """Check a model file and load it; it joins the model list once it loads."""
        if self._load_worker is not None:
            self.notice.show_notice("A model is already loading; try again in a moment.", "info")
            return
        if self.busy:
            self.notice.show_notice("Stop the answer being written before switching models.", "info")
            return
        target = Path(path)
        self._load_target = target
        self._set_status(f"Loading {target.name}…")
        self.model_label.setText("Loading model…")

        def add_and_load() -> ModelInfo:
            check_chat_model(read_gguf_info(target))
            return self.core.load_model(target)

        self._start_load(add_and_load)

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.drop_paths(paths)

    def drop_paths(self, paths: list[Path]) -> None:
        """Models (.gguf) are added and the first is loaded; other files go to the
        Library when this build has it (else they are tried as models, which explains
        what Hearth accepts)."""
        models = [p for p in paths if p.suffix.lower() == ".gguf"]
        others = [p for p in paths if p.suffix.lower() != ".gguf"]
        if others and "library" in self._panel_classes:
            panel = self.show_mode("library")
            add = getattr(panel, "add_paths", None)
            if callable(add):
                add(list(others))
            others = []
        for extra in models[1:]:
            try:
                self.core.add_model(extra)
            except ModelError as exc:
                self.notice.show_notice(str(exc), "error")
        if models:
            self.add_model_file(models[0])
        elif others:
            self.add_model_file(others[0])
        if models[1:]:
            self.refresh_models()

    # ------------------------------------------------------------------ settings

    def open_settings(self) -> SettingsDialog:
        """Open the settings dialog (window-modal, non-blocking)."""
        dialog = SettingsDialog(self.core.settings, self, library=self.core.library,
                                save=self.core.save_settings)
        dialog.accepted.connect(lambda: self._apply_settings(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _apply_settings(self, dialog: SettingsDialog) -> None:
        dialog.apply()
        self.refresh_theme()
        self.system_prompt_edit.setPlaceholderText(self.core.settings.chat.system_prompt)
        self._set_status("Settings saved.")
        if dialog.engine_changed and self.model_ready:
            self.load_model(None)

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

    def _about(self) -> QMessageBox:
        from desktop.ui.about import about_text

        box = QMessageBox(self)
        box.setObjectName("aboutBox")
        box.setWindowTitle("About Hearth")
        title, details = about_text()
        box.setText(title)
        box.setInformativeText(details)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.finished.connect(box.deleteLater)
        box.open()
        return box

    def update_adapter_badge(self) -> None:
        """Show, beside the model, that a personal adapter shapes the answers."""
        name = getattr(self.core, "active_adapter", None)
        self.adapter_badge.setVisible(bool(name))
        if name:
            scale = self.core.settings.personalization.adapter_scale
            self.adapter_badge.setText("✦ Personalized")
            self.adapter_badge.setToolTip(
                f"Your personal adapter “{name}” is in use (strength {scale:.2f}). "
                "Switch it off on the Personalize page."
            )

    def _set_status(self, text: str) -> None:
        self.status_text.setText(text)

    def _update_controls(self) -> None:
        busy, ready = self.busy, self.model_ready
        has_user = self.conversation_id is not None and any(
            m.role == "user" for m in self.core.history.messages(self.conversation_id)
        )
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setToolTip("Stop the answer (Esc)" if busy else "Send (Enter)")
        self.send_button.setEnabled(busy or (ready and not self.loading))
        self.regenerate_button.setEnabled(not busy and ready and has_user)
        self.regenerate_action.setEnabled(self.regenerate_button.isEnabled())
        self.edit_button.setEnabled(not busy and has_user)
        self.edit_action.setEnabled(self.edit_button.isEnabled())
        self.stop_action.setEnabled(busy or self._editing)
        self.picker.setEnabled(not busy and not self.loading)
        self.add_model_action.setEnabled(not busy and not self.loading)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop an answer being written (it is kept, marked stopped) and wait for the
        background work to end before the core is closed.  While personalization is
        scheduled or running, the window hides to the system tray instead."""
        self.save_system_prompt()
        personalize = self._panels.get("personalize")
        if personalize is not None and getattr(personalize, "waits_in_tray", False):
            event.ignore()
            self.hide()
            personalize.notify(  # type: ignore[attr-defined]
                "Hearth is still personalizing",
                "Hearth keeps working in the tray and tells you when it is done.",
            )
            return
        if self._chat_worker is not None:
            self._chat_worker.cancel()
            self._chat_worker.wait(15_000)
        if self._load_worker is not None:
            self._load_worker.wait(60_000)
        self._closed = True
        for panel in self._panels.values():
            shutdown = getattr(panel, "shutdown", None)
            if callable(shutdown):
                shutdown()
        try:
            self.save_geometry()
        except Exception:
            log.exception("could not save the window geometry")
        super().closeEvent(event)
