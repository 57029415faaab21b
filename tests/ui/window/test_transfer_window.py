"""Export and import from the window's File menu (real window, real history)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from desktop.ui.transfer_actions import export_to, import_from

FIXTURES = Path(__file__).resolve().parents[2] / "core" / "fixtures" / "transfer"


def test_import_chatgpt_then_export(make_window: Any, qtbot: Any, tmp_path: Path) -> None:
    window = make_window(load=False)
    texts = [a.text() for a in window.transfer_actions]
    assert texts == ["Export conversation…", "Export all conversations…", "Import conversations…"]

    worker = import_from(window, FIXTURES / "chatgpt_conversations.json")
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: "Imported 2 conversation(s)" in window.statusBar().currentMessage())
    assert window.conversation_id is not None
    conv = window.core.history.get_conversation(window.conversation_id)
    assert conv.title == "Sourdough starter"
    assert window.conversation_id in window.sidebar.ids()
    assert window._import_report_box.isVisible()  # two skipped conversations are listed
    window.chat_page.open_conversation(window.conversation_id)
    headers = [w.header.text() for w in window.view.message_widgets() if w.message.role == "assistant"]
    assert headers and all(">ChatGPT</b>" in h and "gpt-4o" in h for h in headers)  # not "Hearth"

    out = export_to(window, tmp_path / "one.json", current_only=True)
    assert out is not None
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [c["title"] for c in doc["conversations"]] == ["Sourdough starter"]
    assert doc["conversations"][0]["messages"][1]["model"] == "gpt-4o"


def test_server_switch_serves_the_window_engine(make_window: Any, qtbot: Any) -> None:
    import httpx

    from desktop.core.settings import Settings

    settings = Settings()
    settings.server.port = 0  # any free port
    window = make_window(settings=settings)
    assert not window.server_action.isChecked() and window._server is None
    window.server_action.setChecked(True)
    server = window._server
    assert server is not None and server.host == "127.0.0.1"
    assert window.core.settings.server.enabled
    try:
        models = httpx.get(server.base_url + "/models", timeout=30).json()
        assert models["data"][0]["id"] == "scripted"
        reply = httpx.post(server.base_url + "/chat/completions", timeout=30,
                           json={"messages": [{"role": "user", "content": "hi"}]}).json()
        assert reply["choices"][0]["message"]["content"] == "Hello from Hearth."
    finally:
        window.server_action.setChecked(False)
    assert window._server is None and not window.core.settings.server.enabled


def test_server_switch_goes_back_off_when_the_port_is_taken(make_window: Any, monkeypatch: Any) -> None:
    import socket

    from PySide6.QtWidgets import QMessageBox

    from desktop.core.settings import Settings

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        settings = Settings()
        settings.server.port = busy.getsockname()[1]
        window = make_window(settings=settings, load=False)
        window.server_action.setChecked(True)
        assert window._server is None and not window.server_action.isChecked()
        assert warnings and "port" in warnings[0]
        assert not window.core.settings.server.enabled


def test_remote_engine_setting_is_tested_before_it_is_saved(make_window: Any) -> None:
    import socket

    from desktop.ui.server_control import set_remote_engine

    window = make_window()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    message = set_remote_engine(window, f"127.0.0.1:{port}")
    assert message.startswith("Not saved: Could not reach") and window.core.settings.remote.chat_url == ""

    from desktop.core.server import HearthApi, ServerThread

    with ServerThread(HearthApi(window.core), "127.0.0.1", 0) as server:  # a real server to name
        message = set_remote_engine(window, server.base_url)
    assert "Connected to" in message and "scripted" in message
    assert window.core.settings.remote.chat_url == server.base_url
    assert "own engine" in set_remote_engine(window, "")
    assert window.core.settings.remote.chat_url == ""


def test_lan_switch_makes_a_token_and_requires_it(make_window: Any, monkeypatch: Any) -> None:
    import httpx

    from desktop.core.settings import Settings
    from desktop.ui import server_control

    shown: list[str] = []
    real = server_control.new_server_token
    monkeypatch.setattr(server_control, "new_server_token", lambda w: shown.append(real(w)) or shown[-1])
    settings = Settings()
    settings.server.port = 0
    window = make_window(settings=settings)
    window.server_action.setChecked(True)
    try:
        window.server_lan_action.setChecked(True)
        server = window._server
        assert server is not None and server.host == "0.0.0.0"
        assert len(shown) == 1 and window.core.settings.server.token_sha256
        assert shown[0] in window._token_box.text()
        url = server.base_url + "/models"
        assert httpx.get(url, timeout=30).status_code == 401
        ok = httpx.get(url, headers={"Authorization": f"Bearer {shown[0]}"}, timeout=30)
        assert ok.status_code == 200
        window.server_token_action.trigger()  # a new token revokes the old one
        url = window._server.base_url + "/models"
        assert httpx.get(url, headers={"Authorization": f"Bearer {shown[0]}"}, timeout=30).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Bearer {shown[1]}"}, timeout=30).status_code == 200
        window.server_lan_action.setChecked(False)
        assert window._server.host == "127.0.0.1"
    finally:
        window.server_action.setChecked(False)


def test_export_and_import_dialogs_open_in_the_users_documents(
        make_window: Any, monkeypatch: Any, tmp_path: Path) -> None:
    """Not in the folder Hearth was started from (a new user's export dialog opened in the
    install folder).  The dialogs are modal, so their arguments are recorded instead."""
    from PySide6.QtWidgets import QFileDialog

    from desktop.ui import transfer_actions
    from desktop.ui.library_panel import start_folder

    window = make_window(load=False)
    seen: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _w, _t, where, _f: (seen.append(where), ("", ""))[1])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda _w, _t, where, _f: (seen.append(where), ("", ""))[1])
    monkeypatch.chdir(tmp_path)
    transfer_actions.choose_export(window, current_only=False)
    transfer_actions.choose_import(window)
    assert seen == [str(Path(start_folder()) / "hearth-conversations.md"), start_folder()]
    assert str(tmp_path) not in seen[0]
