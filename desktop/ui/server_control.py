"""The window's switch for the OpenAI-compatible server (File > Serve the OpenAI API).

The setting ``server.enabled`` remembers the switch; when on, the server starts with the
window and stops when the application quits.  It runs on its own thread
(:class:`desktop.core.server.ServerThread`) over the window's own core, so the window's
chat and the server's clients share the one engine and its personal adapter.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMessageBox

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def add_server_action(window: MainWindow, menu: Any) -> QAction:
    """Add the checkable "Serve the OpenAI API" action to ``menu`` and start the server if
    the setting says so.  Returns the action."""
    action = QAction("Serve the OpenAI API", window)
    action.setCheckable(True)
    tip = "Let other programs on this computer use Hearth through the OpenAI API"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    window._server = None
    action.toggled.connect(lambda on: set_serving(window, action, on))
    menu.addAction(action)
    lan = QAction("Server: allow the local network", window)
    lan.setCheckable(True)
    lan.setChecked(window.core.settings.server.allow_lan)
    lan.setStatusTip("Let other computers on your network use the server (needs the access token)")
    lan.toggled.connect(lambda on: set_lan(window, action, lan, on))
    token = QAction("Server: new access token…", window)
    token.setStatusTip("Create a new access token (shown once); the old one stops working")
    token.triggered.connect(lambda: show_new_token(window, action))
    menu.addAction(lan)
    menu.addAction(token)
    window.server_lan_action, window.server_token_action = lan, token
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(lambda: _stop(window))
    if window.core.settings.server.enabled:
        action.setChecked(True)  # starts it
    return action


def set_serving(window: MainWindow, action: QAction, on: bool) -> None:
    """Start or stop the server and remember the choice; a failure (port taken, LAN
    without a token) is shown and the switch goes back off."""
    from desktop.core.server import HearthApi, ServerThread, check_bind

    settings = window.core.settings
    if on and window._server is None:
        host = "0.0.0.0" if settings.server.allow_lan else "127.0.0.1"
        try:
            check_bind(host, settings.server.allow_lan, settings.server.token_sha256)
            server = ServerThread(HearthApi(window.core, settings.server.token_sha256), host,
                                  settings.server.port)
            server.start()
        except (ValueError, OSError) as exc:
            log.warning("server not started: %s", exc)
            QMessageBox.warning(window, "Server not started", str(exc))
            action.setChecked(False)  # the switch goes back off (and the setting with it)
            return
        window._server = server
        window.statusBar().showMessage(f"Serving the OpenAI API on {server.base_url}", 10000)
    elif not on:
        _stop(window)
        window.statusBar().showMessage("Server stopped.", 5000)
    if settings.server.enabled != on:
        window.core.set_server_options(enabled=on)


def _stop(window: MainWindow) -> None:
    server = getattr(window, "_server", None)
    window._server = None
    if server is not None:
        server.stop()


def add_remote_engine_action(window: MainWindow, menu: Any) -> QAction:
    """Add "Chat engine on another computer…": asks for an OpenAI-compatible server's
    address, tests the connection, and saves it (used from the next start; empty goes
    back to this computer's engine)."""
    return _menu_action(window, menu, "Chat engine on another computer…",
                        "Use an OpenAI-compatible server (llama.cpp, Ollama, vLLM) instead of "
                        "this computer's engine", lambda: choose_remote_engine(window))


def _menu_action(window: MainWindow, menu: Any, text: str, tip: str, slot: Any) -> QAction:
    """A menu entry with its tooltip and status-bar tip, running ``slot`` when chosen."""
    action = QAction(text, window)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def choose_remote_engine(window: MainWindow) -> None:
    from PySide6.QtWidgets import QInputDialog

    current = window.core.settings.remote.chat_url
    url, ok = QInputDialog.getText(
        window, "Chat engine on another computer",
        "Address of an OpenAI-compatible server (e.g. http://gpu-box:8080/v1);\n"
        "leave empty to use this computer's own engine:", text=current,
    )
    if ok:
        message = set_remote_engine(window, url.strip())
        QMessageBox.information(window, "Chat engine", message)


def set_remote_engine(window: MainWindow, url: str, model: str = "", api_key: str = "") -> str:
    """Test ``url`` and save it as the chat engine (``""`` switches back to this
    computer).  Returns what to tell the user; nothing is saved when the test fails."""
    from desktop.core.engine.remote import RemoteBackend
    from desktop.core.models import ModelError

    if not url:
        window.core.set_remote_engine("")
        return "Hearth will use this computer's own engine from its next start."
    try:
        backend = RemoteBackend(url, model, api_key)
    except ValueError as exc:
        return str(exc)
    try:
        ids = backend.test_connection()
    except ModelError as exc:
        return f"Not saved: {exc}"
    finally:
        backend.close()
    window.core.set_remote_engine(backend.base_url, model, api_key)
    return (f"Connected to {backend.base_url} (models: {', '.join(ids) or 'none'}). Hearth will "
            "chat through it from its next start.")


def add_library_server_action(window: MainWindow, menu: Any) -> QAction:
    """Add "Library on a Chroma server…": asks for a Chroma server's host and port, tests
    the connection, and saves it (used from the next start; empty keeps the library on
    this computer)."""
    return _menu_action(window, menu, "Library on a Chroma server…",
                        "Keep the library's vectors on a Chroma server (chroma run) instead of this disk",
                        lambda: choose_library_server(window))


def choose_library_server(window: MainWindow) -> None:
    from PySide6.QtWidgets import QInputDialog

    from desktop.core.library import chroma_address

    lib = window.core.settings.library
    current = chroma_address(lib.chroma_host, lib.chroma_port) if lib.chroma_host else ""
    text, ok = QInputDialog.getText(
        window, "Library on a Chroma server",
        "Host and port of a Chroma server (chroma run), e.g. gpu-box.local:8000;\n"
        "leave empty to keep the library on this computer:", text=current,
    )
    if ok:
        QMessageBox.information(window, "Library", set_library_server(window, text.strip()))


def set_library_server(window: MainWindow, address: str) -> str:
    """Test the Chroma server at ``address`` (host:port) and save it as the place of the
    library's vectors (``""``: this computer).  Returns what to tell the user; nothing is
    saved when the test fails."""
    from desktop.core.library import LibraryError, check_chroma_server, parse_chroma_address

    if not address:
        window.core.set_library_server("")
        return ("From its next start Hearth keeps the library on this computer again (your files are "
                "re-indexed here).")
    try:
        host, port = parse_chroma_address(address)
        connected = check_chroma_server(host, port)
    except (ValueError, LibraryError) as exc:
        return f"Not saved: {exc}"
    window.core.set_library_server(host, port)
    return (f"{connected} From its next start Hearth keeps the library's vectors there and "
            "re-indexes your files into it; the list of files stays on this computer.")


def _restart_if_serving(window: MainWindow, action: QAction) -> None:
    if window._server is not None:
        _stop(window)
        set_serving(window, action, True)


def set_lan(window: MainWindow, action: QAction, lan: QAction, on: bool) -> None:
    """Switch listening on the local network; without an access token one is made first
    (and shown once).  A running server restarts on the new address."""
    settings = window.core.settings
    if on and not settings.server.token_sha256:
        show_new_token(window, action, restart=False)
    window.core.set_server_options(allow_lan=on)
    _restart_if_serving(window, action)


def new_server_token(window: MainWindow) -> str:
    """Make and save a new access token; returns it (the settings keep only its hash)."""
    from desktop.core.server import new_token

    token, digest = new_token()
    window.core.set_server_options(token_sha256=digest)
    return token


def show_new_token(window: MainWindow, action: QAction, restart: bool = True) -> str:
    """Make a new token and show it once (selectable); the old one stops working."""
    token = new_server_token(window)
    box = QMessageBox(QMessageBox.Icon.Information, "Server access token",
                      "Clients must send this token (Authorization: Bearer …). It is shown only "
                      f"now; making a new one revokes it.\n\n{token}", QMessageBox.StandardButton.Ok,
                      window)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setModal(False)
    box.show()
    window._token_box = box
    if restart:
        _restart_if_serving(window, action)
    return token
