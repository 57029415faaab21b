"""The chat page on its own, over a real core (SQLite history, the chat service): it
answers through a background job and tells its host what happened through signals (the
window is only a shell around it).  The engine is scripted: the model is beside the
point here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from desktop.core.app import HearthCore
from desktop.core.engine.fake import ScriptedBackend
from desktop.ui.chat_page import ChatPage


def test_the_chat_page_answers_and_reports_through_signals(qtbot: Any, default_model: Path) -> None:
    core = HearthCore(engine=ScriptedBackend(reply="Paris is the capital.", delay=0.01), with_library=False)
    try:
        core.use_model(default_model)
        page = ChatPage(core)
        qtbot.addWidget(page)
        statuses: list[str] = []
        titles: list[str] = []
        page.status_changed.connect(statuses.append)
        page.title_changed.connect(titles.append)
        page.open_initial_conversation()
        page.input.setFocus()
        qtbot.keyClicks(page.input, "What is the capital of France?")
        qtbot.keyClick(page.input, Qt.Key.Key_Return)
        # no model yet (the window pushes the model's state in): the message stays
        assert "No model is loaded" in page.notice.text
        assert page.input.toPlainText() == "What is the capital of France?"
        page.model_ready = True
        with qtbot.waitSignal(page.answer_finished, timeout=20_000) as finished:
            qtbot.keyClick(page.input, Qt.Key.Key_Return)
        assert finished.args[0].status == "complete" and finished.args[0].content == "Paris is the capital."
        qtbot.waitUntil(lambda: not page.busy, timeout=20_000)
        assert "Writing…" in statuses and statuses[-1] == "Ready to chat."
        assert titles[-1].startswith("What is the capital of France?")
        messages = core.history.messages(page.conversation_id)
        assert [m.role for m in messages] == ["user", "assistant"]
        page.shutdown()
    finally:
        core.close()
