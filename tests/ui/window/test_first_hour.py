"""What a new user met in their first hour (issue 12): sources that cannot open say so,
the status line belongs to the conversation shown, About names the version and the data
folder, answers can be copied, the personal adapter shows in the chat, and the sidebar
marks the current page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QToolButton
from window_helpers import send, wait_idle

from desktop import __version__
from desktop.core.paths import data_dir
from desktop.ui import sources_view


def _answer_with_source(window: Any, source: dict[str, Any]) -> Any:
    history = window.core.history
    conv = history.create_conversation()
    history.add_message(conv.id, "user", "q")
    history.add_message(conv.id, "assistant", "a [1]", meta={"sources": [source]})
    window.sidebar.refresh()
    window.open_conversation(conv.id)
    return window.view.message_widgets()[-1]


def test_an_answer_held_back_until_checked_says_so(qtbot: Any, make_window: Any) -> None:
    from desktop.ui.chat_view import CHECKING

    # "writing…" over an empty bubble for 30-45 s looked stuck (twelfth trial)
    window = make_window()
    widget = _answer_with_source(window, {"kind": "document", "title": "car.md", "text": "MOT due: 12 April"})
    widget.text = ""
    widget.redraw(streaming=True)
    assert CHECKING in widget.footer.text()
    widget.text = "The MOT is due on 12 April."
    widget.redraw(streaming=True)
    assert CHECKING not in widget.footer.text() and "writing…" in widget.footer.text()


def test_a_source_nothing_can_open_shows_a_message(
    qtbot: Any, make_window: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    window = make_window()
    doc = tmp_path / "dentist.txt"
    doc.write_text("Dentist: Dr. Okafor, 12 May 14:30.")
    # this desktop has no application for the file (no xdg-open, no handler)
    monkeypatch.setattr(sources_view.QDesktopServices, "openUrl", lambda url: False)
    widget = _answer_with_source(window, {"kind": "document", "title": doc.name, "path": str(doc),
                                          "text": "Dentist: Dr. Okafor."})
    assert window.notice.text == ""
    QGuiApplication.clipboard().setText("an answer the user copied")
    widget.footer.linkActivated.emit("hearth-source:1")
    assert "No application on this computer opens dentist.txt" in window.notice.text
    assert str(doc) in window.notice.text
    # the clipboard keeps what the user copied (thirteenth trial: it was replaced by the path)
    assert QGuiApplication.clipboard().text() == "an answer the user copied"
    # a PDF's page is said too (twelfth trial: the message left it out)
    scan = tmp_path / "report.pdf"
    scan.write_bytes(b"%PDF-1.4\n")
    widget = _answer_with_source(window, {"kind": "document", "title": scan.name, "path": str(scan),
                                          "page": 3, "text": "Blood Pressure 142/88 mmHg"})
    widget.footer.linkActivated.emit("hearth-source:1")
    assert "opens report.pdf" in window.notice.text and "page 3" in window.notice.text

    gone = tmp_path / "moved.pdf"
    widget = _answer_with_source(window, {"kind": "document", "title": gone.name, "path": str(gone),
                                          "page": 2, "text": "t"})
    widget.footer.linkActivated.emit("hearth-source:1")
    assert "moved.pdf is no longer at" in window.notice.text


def test_the_source_card_shows_file_page_and_quote(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    widget = _answer_with_source(window, {
        "kind": "document", "title": "car.pdf", "path": str(tmp_path / "car.pdf"), "page": 4,
        "text": "The car's next service is due in March. Bring the logbook. " + "More text. " * 30,
    })
    footer = widget.plain_text()
    assert "[1] car.pdf, page 4" in footer
    assert "“The car's next service is due in March." in footer


def test_status_line_shows_the_speed_of_the_conversation_shown(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    history = window.core.history
    conv = history.create_conversation()
    history.add_message(conv.id, "user", "q")
    history.add_message(conv.id, "assistant", "a", meta={"stats": {"tokens_per_s": 42.5}})
    window.sidebar.refresh()
    window.open_conversation(conv.id)
    assert "42.5 tokens/s" in window.stats_label.text()
    window.new_chat()
    assert window.stats_label.text() == ""  # not the previous chat's speed


def test_a_failed_model_leaves_no_stale_status(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    fake = tmp_path / "holiday.gguf"
    fake.write_text("not a model")
    with qtbot.waitSignal(window.model_failed, timeout=10_000):
        window.add_model_file(fake)
    qtbot.waitUntil(lambda: not window.loading)
    assert "although its name ends in .gguf" in window.notice.text
    assert "files ending in .gguf" not in window.notice.text
    assert "could not be loaded" not in window.status_text.text()
    assert "still using" in window.status_text.text()


def test_about_names_version_and_data_folder(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    box = window._about()
    text = box.text() + box.informativeText()
    assert __version__ in text and str(data_dir()) in text
    box.close()


def test_copy_answer_button(qtbot: Any, make_window: Any) -> None:
    window = make_window(reply="Your dentist is Dr. **Okafor**.")
    send(qtbot, window, "Who is my dentist?")
    wait_idle(qtbot, window)
    widget = window.view.message_widgets()[-1]
    assert widget.copy_button is not None and widget.copy_button.isVisible()
    QGuiApplication.clipboard().clear()
    widget.copy_button.click()
    assert QGuiApplication.clipboard().text() == "Your dentist is Dr. **Okafor**."
    assert "copied" in window.status_text.text()
    user_widget = window.view.message_widgets()[0]
    assert user_widget.copy_button is None
    # a password given as its note's line: Copy takes the password alone (twelfth trial)
    history = window.core.history
    conv = history.create_conversation(title="wifi")
    history.add_message(conv.id, "user", "What is the Wi-Fi password?")
    history.add_message(conv.id, "assistant", "Wi-Fi password: copper-Heron-9182", status="complete",
                        meta={"copy": "copper-Heron-9182"})
    window.open_conversation(conv.id)
    window.view.message_widgets()[-1].copy_button.click()
    assert QGuiApplication.clipboard().text() == "copper-Heron-9182"


def test_adapter_badge_shows_when_an_adapter_is_in_use(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    assert not window.adapter_badge.isVisible()
    window.core.active_adapter = "2026-12-03_0700"
    window.update_adapter_badge()
    assert window.adapter_badge.isVisible() and "Personalized" in window.adapter_badge.text()
    assert "2026-12-03_0700" in window.adapter_badge.toolTip()
    window.core.active_adapter = None
    window.update_adapter_badge()
    assert not window.adapter_badge.isVisible()


def test_sidebar_has_icons_and_marks_the_current_page(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    buttons = [b for b in window.findChildren(QToolButton) if b.property("navButton")]
    assert {b.objectName() for b in buttons} >= {"mode_chat", "mode_library", "mode_personalize", "nav_settings"}
    assert all(not b.icon().isNull() for b in buttons)
    assert window.mode_buttons["chat"].isChecked()
    window.show_mode("library")
    assert window.mode_buttons["library"].isChecked() and not window.mode_buttons["chat"].isChecked()
