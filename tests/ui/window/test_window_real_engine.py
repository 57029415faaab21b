"""The window with the real isolated llama.cpp engine on the default model."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from window_helpers import send, wait_idle

from desktop.core.engine.isolated import IsolatedBackend
from desktop.core.settings import Settings


def _greedy(max_tokens: int = 64) -> Settings:
    settings = Settings()
    settings.chat.temperature = 0.0
    settings.chat.seed = 0
    settings.chat.max_tokens = max_tokens
    settings.chat.n_ctx = 2048
    return settings


def test_real_model_answers_in_the_window(qtbot: Any, make_window: Any, default_model: Path) -> None:
    window = make_window(engine=IsolatedBackend(), settings=_greedy())
    assert window.model_label.text() == window.core.engine.model.name
    send(qtbot, window, "What is the capital of France?")
    qtbot.waitUntil(lambda: "Paris" in window.view.plain_text(), timeout=60_000)
    wait_idle(qtbot, window, timeout=60_000)
    last = window.core.history.messages(window.conversation_id)[-1]
    assert last.status == "complete" and "Paris" in last.content
    assert "tokens/s" in window.stats_label.text() and "/ 2,048 tokens" in window.stats_label.text()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_engine_killed_mid_answer_the_window_survives(
    qtbot: Any, make_window: Any, default_model: Path
) -> None:
    window = make_window(engine=IsolatedBackend(), settings=_greedy(max_tokens=400))
    send(qtbot, window, "Write a long story about a dragon who learns to bake bread.")
    qtbot.waitUntil(lambda: window._live is not None and len(window._live["text"]) > 0, timeout=60_000)
    pid = window.core.engine.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # a native crash of the inference side
    wait_idle(qtbot, window, timeout=60_000)
    assert window.isVisible()
    last = window.core.history.messages(window.conversation_id)[-1]
    assert last.status == "error"
    assert last.content  # the partial answer is kept
    assert "stopped unexpectedly" in window.notice.text
    widget = window.view.widget_for(last.id)
    assert widget is not None and "stopped unexpectedly" in widget.footer.text()
    assert last.content[:40] in window.view.plain_text()
    # the next message restarts the engine and gets an answer
    send(qtbot, window, "What is the capital of France?")
    qtbot.waitUntil(lambda: "Paris" in window.view.plain_text(), timeout=60_000)
    wait_idle(qtbot, window, timeout=60_000)
    assert window.core.history.messages(window.conversation_id)[-1].status == "complete"
    assert window.core.engine.worker_pid != pid
