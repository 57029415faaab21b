"""Model picker, bad model files, settings dialog and the first-run welcome screen."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QDialogButtonBox
from window_helpers import drop, send, wait_idle

from desktop.core.settings import ChatSettings, Settings, default_threads
from desktop.ui.settings_dialog import SettingsDialog, describe


def _truncated_gguf(path: Path) -> Path:
    # a valid start of a GGUF v3 header that claims 5 keys, then ends
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 10, 5) + struct.pack("<Q", 12) + b"general")
    return path


def test_picker_shows_each_models_metadata(qtbot: Any, make_window: Any, default_model: Path) -> None:
    window = make_window()
    text = window.picker.itemText(0)
    # name · architecture · parameters · quantization · context · size, from the GGUF header
    assert "llama" in text and "parameters" in text and "Q4_1" in text
    assert "context up to 8,192 tokens" in text and "MB" in text
    assert window.picker.itemText(window.picker.count() - 1) == "Add model…"


def test_broken_catalog_entry_is_listed_with_its_error(
    qtbot: Any, make_window: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("not a model")
    settings = Settings()
    settings.chat.extra_models = [str(bad)]
    window = make_window(settings=settings)
    index = window.picker.findData(str(bad))
    assert index >= 0
    assert "cannot be used" in window.picker.itemText(index)
    window.picker.activated.emit(index)  # the user picks it
    assert "notes.gguf is not a GGUF model file" in window.notice.text
    assert window.core.engine.model.name == "scripted"


@pytest.mark.parametrize("kind", ["not_gguf", "truncated"])
def test_bad_model_file_shows_an_error_and_keeps_the_model(
    qtbot: Any, make_window: Any, tmp_path: Path, kind: str
) -> None:
    window = make_window(reply="Still here.")
    before = window.core.engine.model
    if kind == "not_gguf":
        path = tmp_path / "holiday.gguf"  # named like a model, but a text file
        path.write_text("this is not a model")
        expected = "holiday.gguf is not a GGUF model file"
    else:
        path = _truncated_gguf(tmp_path / "half.gguf")
        expected = "half.gguf is truncated"
    with qtbot.waitSignal(window.model_failed, timeout=10_000) as blocker:
        drop(window, [path])
    assert expected in blocker.args[0]
    assert expected in window.notice.text
    assert "Hearth is still using" in window.notice.text
    assert window.core.engine.model is before
    assert str(path) not in window.core.settings.chat.extra_models
    assert window.picker.currentData() == str(before.path)
    qtbot.waitUntil(lambda: not window.loading)  # the load's worker ends just after the signal
    send(qtbot, window, "still working?")
    wait_idle(qtbot, window)
    assert "Still here." in window.view.plain_text()


def _tiny_gguf(path: Path) -> Path:
    """A small but well-formed GGUF file of a supported architecture (the scripted
    engine does not run it; the picker reads its header)."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Tiny Test Model")
    writer.add_context_length(256)
    writer.add_file_type(1)
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize("how", ["dialog", "drop"])
def test_add_model_loads_it_and_remembers_the_choice(
    qtbot: Any, make_window: Any, tmp_path: Path, how: str
) -> None:
    copy = _tiny_gguf(tmp_path / "my-model.gguf")
    window = make_window()
    with qtbot.waitSignal(window.model_loaded, timeout=10_000):
        if how == "drop":
            drop(window, [copy])
        else:
            window.add_model_file(copy)  # what the "Add model…" dialog calls with its file
    assert Settings.load().chat.model_path == str(copy.resolve())
    index = window.picker.findData(str(copy.resolve()))
    assert index >= 0 and window.picker.currentIndex() == index
    assert "Tiny Test Model · llama · 32 parameters · F16 · context up to 256 tokens" in window.picker.itemText(index)


def test_settings_dialog_edits_and_saves_chat_settings(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    dialog = window.open_settings()
    assert isinstance(dialog, SettingsDialog)
    w = dialog.widgets
    for name in ("temperature", "top_p", "max_tokens", "seed", "n_ctx", "n_threads", "n_gpu_layers", "system_prompt"):
        assert w[name].toolTip().startswith(describe(ChatSettings, name))
    assert w["n_threads"].specialValueText() == f"0 = automatic ({default_threads()})"
    w["temperature"].setValue(0.0)
    w["top_p"].setValue(0.5)
    w["max_tokens"].setValue(100)
    w["seed"].setValue(7)
    w["n_threads"].setValue(1)
    w["system_prompt"].setPlainText("Be brief.")
    with qtbot.waitSignal(window.model_loaded, timeout=10_000):  # engine option changed: reload
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    saved = Settings.load().chat
    assert (saved.temperature, saved.top_p, saved.max_tokens, saved.seed) == (0.0, 0.5, 100, 7)
    assert saved.n_threads == 1 and saved.system_prompt == "Be brief."
    assert window.core.chat.params().temperature == 0.0  # the chat uses it at once
    qtbot.waitUntil(lambda: not window.loading)  # the load's worker ends just after the signal
    send(qtbot, window, "hi")
    wait_idle(qtbot, window)
    assert window.core.engine.prompts[-1][0] == {"role": "system", "content": "Be brief."}


def test_settings_dialog_cancel_changes_nothing(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    dialog = window.open_settings()
    dialog.widgets["max_tokens"].setValue(5)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert window.core.settings.chat.max_tokens == 512
    assert not Settings.path().exists()


def test_welcome_screen_on_first_run(qtbot: Any, make_window: Any, default_model: Path) -> None:
    window = make_window(welcome_done=False)
    welcome = window.welcome
    assert welcome is not None and window.pages.currentWidget() is welcome
    text = welcome.findChild(type(welcome.model_label), "welcomePrivacy").text()
    for words in ("conversations", "documents", "models", "adapters", "nothing is sent", "no account", "no telemetry"):
        assert words in text.lower()
    info = window.core.catalog.info(default_model)
    assert info.name in welcome.model_label.text() and info.size_label in welcome.model_label.text()
    # where a user's own files come in (twelfth trial: nothing on screen said)
    assert "Library page" in welcome.findChild(type(welcome.model_label), "welcomeHint").text()
    qtbot.mouseClick(welcome.start_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.content_page
    assert Settings.load().ui.welcome_done is True
    assert window.focusWidget() is window.input  # the cursor is in the message box
    second = make_window(settings=Settings.load(), welcome_done=True)
    assert second.welcome is None


def test_keyboard_shortcuts(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    qtbot.waitUntil(window.isActiveWindow)
    window.system_prompt_button.setFocus()
    qtbot.keyClick(window.system_prompt_button, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.input.hasFocus()
    keys = [s.toString() for s in window.settings_action.shortcuts()]
    assert "Ctrl+," in keys
    assert window.new_chat_action.shortcut().toString() == "Ctrl+N"
    assert window.stop_action.shortcut().toString() == "Esc"
    # one Settings button in the window: the sidebar's (a trial found a second in the chat bar)
    named = [b for b in window.findChildren(QAbstractButton) if b.text() == "Settings"]
    assert named == [window.settings_nav]


def test_start_shows_loading_then_ready(qtbot: Any, make_window: Any) -> None:
    window = make_window(load=False)
    with qtbot.waitSignal(window.model_loaded, timeout=10_000):
        window.load_current_model()
        assert window.status_text.text() == "Loading model…"
        assert not window.send_button.isEnabled()
    assert window.send_button.isEnabled()
    assert window.status_text.text() == "Ready to chat."


def test_a_saved_model_that_is_gone_falls_back_to_the_built_in_one(
    qtbot: Any, make_window: Any, tmp_path: Path, default_model: Path
) -> None:
    from desktop.core.engine.fake import ScriptedBackend
    from desktop.core.models import read_gguf_info

    class Checking(ScriptedBackend):  # a scripted engine that validates like the real one
        def load(self, model_path: str, options: Any) -> Any:
            read_gguf_info(model_path)
            return super().load(model_path, options)

    settings = Settings()
    settings.chat.model_path = str(tmp_path / "deleted.gguf")
    window = make_window(engine=Checking(), settings=settings, load=False)
    with qtbot.waitSignal(window.model_loaded, timeout=10_000) as loaded:
        window.load_current_model()
    assert Path(loaded.args[0].path) == default_model
    assert "deleted.gguf" in window.notice.text and "built-in model instead" in window.notice.text


def test_closing_mid_answer_keeps_it_marked_stopped(qtbot: Any, make_window: Any) -> None:
    window = make_window(reply=" ".join(f"more{i}" for i in range(200)), delay=0.03)
    send(qtbot, window, "talk")
    qtbot.waitUntil(lambda: "more1 more2" in window.view.plain_text())
    cid = window.conversation_id
    window.close()
    last = window.core.history.messages(cid)[-1]
    assert last.status == "stopped" and last.content.startswith("more0 more1")


def test_window_geometry_is_kept_in_hearths_config_folder(qtbot: Any, make_window: Any, hearth_home: Path) -> None:
    window = make_window()
    window.resize(700, 500)
    window.close()
    assert (hearth_home / "config" / "window.ini").exists()
    second = make_window()
    second.restore_geometry()
    assert (second.width(), second.height()) == (700, 500)


def test_the_closed_picker_shows_the_models_name_and_size(
    qtbot: Any, make_window: Any, default_model: Path
) -> None:
    """The chat's top bar read "… · llama · 134.5M parameters · Q4_1 · context up to 8,192
    tokens · 93.8 MB": the closed box now says the name and size; the open list keeps the
    details."""
    window = make_window()
    window.resize(1920, 1080)
    picker = window.picker
    shown = picker.display_text()
    from desktop.core.models import read_gguf_info

    info = read_gguf_info(default_model)
    assert shown == f"{info.name} · {info.size_label}" == "SmolLM2 135M Instruct (built-in) · 93.8 MB"
    for jargon in ("llama", "parameters", "Q4_1", "context"):
        assert jargon not in shown
    assert "Q4_1" in picker.currentText()  # the open list: every detail
    qtbot.waitUntil(lambda: picker.width() <= 460)
    assert picker.width() >= picker.fontMetrics().horizontalAdvance(shown)
