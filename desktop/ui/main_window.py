"""Hearth's main window: a shell over the pages.

Layout: the mode bar (Chat / Library / Personalize / Models), the page shown (the chat
page, :class:`~desktop.ui.chat_page.ChatPage`, or a panel built on first use), the menus
and a status line (model, tokens/s, context used).  The window owns model loading and
the settings dialog; the pages talk to the core through signals and background jobs.

Threading: model loading and answering run in :class:`~desktop.ui.workers.GeneratorWorker`
threads; their events arrive as queued signals, so widgets are only touched on the GUI
thread and the window stays responsive.  No dialog blocks the event loop (they are
opened with ``open()``), so an answer keeps streaming while one is shown.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, Signal
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
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.app import HearthCore, ModelSwitch
from desktop.core.jobs import ProgressEvent
from desktop.core.library.handoff import HandoffServer, IndexRequest
from desktop.core.models import ModelError, ModelInfo
from desktop.core.paths import config_dir, resource_path
from desktop.ui.chat_page import ChatPage, NoticeBar
from desktop.ui.library_panel import LibraryPanel, progress_text
from desktop.ui.models_panel import ModelsPanel
from desktop.ui.personalize_panel import PersonalizePanel
from desktop.ui.server_control import (
    add_library_server_action,
    add_remote_engine_action,
    add_server_action,
)
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.theme import apply_theme, wants_dark
from desktop.ui.transfer_actions import add_transfer_actions
from desktop.ui.welcome import WelcomeScreen
from desktop.ui.workers import GeneratorWorker

log = logging.getLogger(__name__)

# the pages beside the chat: mode key -> (button label, widget class); built on first use
PAGES: dict[str, tuple[str, type[QWidget]]] = {
    "library": ("Library", LibraryPanel),
    "personalize": ("Personalize", PersonalizePanel),
    "models": ("Models", ModelsPanel),
}

__all__ = ["PAGES", "MainWindow", "NoticeBar", "app_icon"]


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


class MainWindow(QMainWindow):
    """The window over a :class:`~desktop.core.app.HearthCore`.

    Signals:
        model_loaded(object): a model finished loading (its ModelInfo).
        model_failed(str): loading a model failed (the message shown).
        answer_finished(object): an answer ended (the final Message).
        index_requested(object): ``hearth index`` asked this window to index paths.
    """

    model_loaded = Signal(object)
    model_failed = Signal(str)
    answer_finished = Signal(object)
    #: ``hearth index`` handed paths to this window (an IndexRequest; emitted from the
    #: handoff's thread, handled on the GUI thread)
    index_requested = Signal(object)
    #: Hearth was launched again while this window holds the library (from any thread)
    show_requested = Signal()

    def __init__(self, core: HearthCore) -> None:
        super().__init__()
        self.core = core
        self.setObjectName("mainWindow")
        self.setWindowTitle("Hearth")
        icon = app_icon()
        if not icon.isNull():
            self.setWindowIcon(icon)
        self.setAcceptDrops(True)
        self._load_worker: GeneratorWorker | None = None
        self._reload_pending = False
        self._pending_path: str | None = None
        self._closed = False
        self._panels: dict[str, QWidget] = {}
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
        self.chat_page.open_initial_conversation()
        self._update_controls()
        self.resize(1100, 720)
        self.handoff: HandoffServer | None = None
        self._start_handoff()

    def watch_folders(self) -> None:
        """Start keeping the watched folders indexed (catching up with what changed while
        Hearth was closed), as opening the Library page does: the watcher had started only
        there, so a note saved into a watched folder was not found by the chat until the
        page was opened (ninth new-user trial).  Called once the window shows."""
        library = self.core.library
        if self._closed or library is None or self.core.watcher is None or not library.folders():
            return
        self._panel("library")  # builds the page, which starts the watcher and shows its progress

    def _start_handoff(self) -> None:
        """While this window holds the library, ``hearth index`` hands its paths here
        instead of being refused (see desktop.core.library.handoff)."""
        if self.core.library is None:
            return
        self.index_requested.connect(self._index_from_terminal)
        self.show_requested.connect(self.bring_to_front)
        try:
            self.handoff = HandoffServer(self.core.library.root, self.index_requested.emit,
                                         self.show_requested.emit).start()
        except Exception:  # hearth index is then refused, as before
            log.exception("cannot listen for hearth index")

    def bring_to_front(self) -> None:
        """Show the window in front: from the tray, minimized or behind others (Hearth was
        launched again; a second window would find its library taken)."""
        if self.isMinimized() or not self.isVisible():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def _index_from_terminal(self, request: IndexRequest) -> None:
        """Index what ``hearth index`` asked for, as the Library page's Add folder does,
        reporting its progress back to the terminal."""
        panel = self._panel("library")
        if not isinstance(panel, LibraryPanel):
            request.send(ProgressEvent(job="index", kind="error",
                                       message="The window's Library page could not be opened."))
            request.send(None)
            return
        worker = panel.add_paths(request.paths, request.collection, observer=request.send)
        names = ", ".join(p.name or str(p) for p in request.paths)
        self._set_status(f"Indexing {names}, asked from the terminal (see Library).")
        if worker is not None:  # the status line must not go on saying "Indexing" after it ended
            worker.finished.connect(lambda: self._set_status(
                f"Indexing {names} (asked from the terminal) ended; the Library page lists the files."))

    # ------------------------------------------------------------------ construction

    def _build_chat_page(self) -> None:
        page = self.chat_page = ChatPage(self.core, self)
        page.is_loading = lambda: self.loading
        page.picker.model_chosen.connect(self.load_model)
        page.picker.add_requested.connect(self.choose_model_file)
        page.answer_finished.connect(self.answer_finished)
        page.answer_done.connect(self._run_pending_load)
        page.status_changed.connect(self._set_status)
        page.stats_changed.connect(self._show_stats)
        page.title_changed.connect(self.setWindowTitle)
        page.controls_changed.connect(self._sync_actions)
        page.activate_requested.connect(lambda: self.show_mode("chat"))
        # the page's widgets, by the names the menus, the panels and the tests use
        self.sidebar, self.view, self.input, self.notice = page.sidebar, page.view, page.input, page.notice
        self.picker, self.adapter_badge = page.picker, page.adapter_badge
        self.send_button, self.regenerate_button, self.edit_button = (
            page.send_button, page.regenerate_button, page.edit_button)
        self.system_prompt_button, self.system_prompt_edit = page.system_prompt_button, page.system_prompt_edit
        self.edit_banner = page.edit_banner
        # what the chat page does, reachable from the menus and the other pages
        self.open_conversation, self.new_chat = page.open_conversation, page.new_chat
        self.delete_conversation, self.save_system_prompt = page.delete_conversation, page.save_system_prompt
        self.send, self.regenerate, self.stop, self.escape = page.send, page.regenerate, page.stop, page.escape
        self.edit_last_message, self.focus_input = page.edit_last_message, page.focus_input
        self.open_source, self.update_adapter_badge = page.open_source, page.update_adapter_badge

    @property
    def conversation_id(self) -> int | None:
        """The conversation shown."""
        return self.chat_page.conversation_id

    @property
    def busy(self) -> bool:
        """An answer is being written."""
        return self.chat_page.busy

    @property
    def model_ready(self) -> bool:
        return self.chat_page.model_ready

    @model_ready.setter
    def model_ready(self, ready: bool) -> None:
        self.chat_page.model_ready = ready

    @property
    def _live(self) -> dict[str, Any] | None:
        return self.chat_page._live

    def _build_pages(self) -> None:
        self.modes = QStackedWidget()
        self.modes.setObjectName("modeStack")
        self.modes.addWidget(self.chat_page)
        self.mode_buttons: dict[str, QToolButton] = {}
        self.mode_group = QButtonGroup(self)
        content = QWidget()
        content.setObjectName("contentPage")
        h = QHBoxLayout(content)
        h.setContentsMargins(0, 0, 0, 0)
        h.setSpacing(0)
        bar = QFrame()
        bar.setObjectName("modeBar")
        v = QVBoxLayout(bar)
        v.setContentsMargins(6, 8, 6, 8)
        for key, label in [("chat", "Chat"), *((k, v[0]) for k, v in PAGES.items())]:
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
        self.library_server_action = add_library_server_action(self, file_menu)
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
        # a long message is cut at the bar's width, whole in its tooltip: it had run over the
        # speed and context figures beside it (twelfth new-user trial)
        self.status_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.status_text, 1)
        # what the library is doing, on every page: the chat page said "Ready." while a
        # watched folder was being indexed (eleventh new-user trial)
        self.library_status = QLabel("")
        self.library_status.setObjectName("libraryStatus")
        self.library_status.setToolTip("Indexing your documents: the Library page shows the files")
        self.library_status.hide()
        bar.addPermanentWidget(self.library_status)
        # between the indexing text and the answer's speed ("about 3 min left  0.7 tokens/s"
        # ran together, fourteenth new-user trial)
        self.library_separator = QFrame()
        self.library_separator.setFrameShape(QFrame.Shape.VLine)
        self.library_separator.setFrameShadow(QFrame.Shadow.Sunken)
        self.library_separator.hide()
        bar.addPermanentWidget(self.library_separator)
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
        self.chat_page.set_dark(dark)
        from desktop.ui.icons import nav_icon
        from desktop.ui.theme import tokens

        for key, button in self.mode_buttons.items():
            button.setIcon(nav_icon(key, tokens(dark).text))
        self.settings_nav.setIcon(nav_icon("settings", tokens(dark).text))

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
        cls = PAGES[key][1]
        try:
            panel: QWidget = cls(self.core, self)
        except Exception as exc:  # a broken panel must not take the chat down
            log.exception("the %s panel could not be opened", key)
            panel = QLabel(f"This part of Hearth could not be opened: {exc}")
            panel.setWordWrap(True)
            panel.setAlignment(Qt.AlignmentFlag.AlignCenter)
        panel.setObjectName(panel.objectName() or f"{key}Panel")
        if isinstance(panel, PersonalizePanel):
            panel.adapter_changed.connect(self.chat_page.update_adapter_badge)
        if isinstance(panel, LibraryPanel):  # indexing shows on every page, not "Ready." alone
            panel.indexing_progressed.connect(self._show_indexing)
            # "Loading the embedding model…" too: the status bar had said "Ready." alone
            # while the Library page said it (twelfth new-user trial)
            panel.indexing_status.connect(self._show_indexing_text)
            for done in (panel.indexing_finished, panel.indexing_cancelled, panel.indexing_failed):
                done.connect(self._hide_indexing)
        self._panels[key] = panel
        self.modes.addWidget(panel)
        return panel

    def _show_indexing(self, ev: Any) -> None:
        self._show_indexing_text(progress_text(ev))

    def _show_indexing_text(self, text: str) -> None:
        self.library_status.setText(f"Indexing · {text}")
        self.library_status.show()
        self.library_separator.show()

    def _hide_indexing(self, *_: Any) -> None:
        self.library_status.hide()
        self.library_separator.hide()

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
        """Load ``path`` (default: the saved choice) in the background through
        :meth:`HearthCore.switch_model`: on failure the previous model stays (or the
        built-in one is loaded) and a notice names the file and what to do."""
        if self._load_worker is not None or self.busy:
            # after the current load or answer: a reload of the saved choice (settings
            # changed), or the model the user picked
            self._reload_pending = True
            self._pending_path = path
            return
        self._set_status(f"Loading {Path(path).name}…" if path else "Loading model…")
        self.model_label.setText("Loading model…")

        def load(**_: Any) -> Any:
            yield self.core.switch_model(path)

        worker = GeneratorWorker(load, pass_cancel=False)
        worker.yielded.connect(self._on_model_switched)
        worker.errored.connect(lambda exc: self._on_model_switched(ModelSwitch(None, str(exc))))
        worker.finished.connect(self._on_load_done)
        self._load_worker = worker
        self._update_controls()
        worker.start()

    def load_current_model(self) -> None:
        """Load the saved choice (at start)."""
        self.load_model(None)

    def _on_model_switched(self, result: ModelSwitch) -> None:
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        if result.error:
            self._show_model_error(result)
        if result.loaded is not None:
            self._on_model_loaded(result.loaded, keep_status=bool(result.error))

    def _on_model_loaded(self, info: ModelInfo, keep_status: bool = False) -> None:
        self.model_ready = True
        self.model_label.setText(info.name)
        self.model_label.setToolTip(info.summary())
        self.refresh_models()
        self.picker.set_current(info.path)
        if self.welcome is not None:
            self.welcome.enable_start()
        if not keep_status:
            self._set_status("Ready to chat.")
        if self.core.adapter_notice:
            self.notice.show_notice(self.core.adapter_notice, "warning")
        self.update_adapter_badge()
        self.model_loaded.emit(info)

    def _show_model_error(self, result: ModelSwitch) -> None:
        message = result.message
        if result.kept:
            self.model_label.setText(result.kept)
            self._set_status(f"Ready · still using {result.kept}.")
        elif result.fallback:
            self._set_status("Ready · using the built-in model.")
        else:
            self.model_label.setText("No model loaded")
            self._set_status("No model loaded.")
        self.notice.show_notice(message, "error")
        self.refresh_models()
        self.model_failed.emit(message)

    def _on_load_done(self) -> None:
        if self._closed:  # late events after the window closed (the core may be closed)
            return
        self._load_worker = None
        self._update_controls()
        if self._reload_pending:
            self._run_pending_load()

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
        self.load_model(str(path))

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
        Library."""
        models = [p for p in paths if p.suffix.lower() == ".gguf"]
        others = [p for p in paths if p.suffix.lower() != ".gguf"]
        if others:
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
        if dialog.reindex_needed:  # the user agreed to re-index with the new passage size
            panel = self.show_mode("library")
            reindex = getattr(panel, "reindex_pending", None)
            if callable(reindex):
                reindex()

    # ------------------------------------------------------------------ misc

    def _set_status(self, text: str) -> None:
        self.status_text.setText(text)
        self.status_text.setToolTip(text)

    def _show_stats(self, text: str) -> None:
        """Speed and context use of the conversation shown ("" hides them)."""
        self.stats_label.setText(text)
        self.stats_separator.setVisible(bool(text))

    def _rename_current(self) -> None:
        self.chat_page.rename_current()

    def _update_controls(self) -> None:
        self.chat_page.update_controls()  # emits controls_changed: _sync_actions

    def _sync_actions(self) -> None:
        """The menu actions follow the chat page's buttons."""
        page, busy = self.chat_page, self.chat_page.busy
        self.regenerate_action.setEnabled(page.regenerate_button.isEnabled())
        self.edit_action.setEnabled(page.edit_button.isEnabled())
        self.stop_action.setEnabled(busy or page.editing)
        self.add_model_action.setEnabled(not busy and not self.loading)

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

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop an answer being written (it is kept, marked stopped) and wait for the
        background work to end before the core is closed.  While personalization is
        scheduled or running, the window hides to the system tray instead."""
        self.chat_page.save_system_prompt()
        personalize = self._panels.get("personalize")
        if personalize is not None and getattr(personalize, "waits_in_tray", False):
            event.ignore()
            self.chat_page.stop()  # the window closed: an answer being written stops (kept)
            self.hide()
            personalize.notify(  # type: ignore[attr-defined]
                "Hearth is still personalizing",
                "Hearth keeps working in the tray and tells you when it is done.",
            )
            return
        self.chat_page.shutdown()
        if self._load_worker is not None:
            self._load_worker.wait(60_000)
        self._closed = True
        for panel in self._panels.values():
            shutdown = getattr(panel, "shutdown", None)
            if callable(shutdown):
                shutdown()
        if self.handoff is not None:
            self.handoff.close()  # terminals still waiting are told the window closed
            self.handoff = None
        try:
            self.save_geometry()
        except Exception:
            log.exception("could not save the window geometry")
        super().closeEvent(event)
