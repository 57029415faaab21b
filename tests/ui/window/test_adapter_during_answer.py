"""Defect 1 of issue 10: changing the personal adapter while an answer streams froze the
window, because the Personalize page applied it on the GUI thread while the engine held
its lock for the whole stream.

The engine here is a scripted one that holds its lock while it streams, exactly as the
isolated llama.cpp engine does (``IsolatedBackend._lock`` is held from the first to the
last token, and ``set_adapters`` takes it): with the real model an answer of 135M
parameters ends in a second or two, too soon to change the adapter in the middle of it
without a race.  The answer itself goes through the real ChatService, history and
worker thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from window_helpers import send, wait_idle

from desktop.core.engine import ChatMessage, GenerationEvent, SamplingParams
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.hashing import file_sha256
from desktop.core.jobs import CancelToken
from desktop.core.personalize.export import AdapterMetadata, write_gguf_lora
from desktop.core.personalize.registry import AdapterRegistry


class LockingBackend(ScriptedBackend):
    """Streams one word, then waits for ``release`` (at most 10 s) before the rest, all
    under the lock that ``set_adapters`` needs too."""

    def __init__(self) -> None:
        super().__init__(reply="Once upon a time there was a cat.")
        self._lock = threading.Lock()
        self.streaming = threading.Event()
        self.release = threading.Event()

    def generate(self, messages: list[ChatMessage], params: SamplingParams,
                 cancel: CancelToken | None = None) -> Iterator[GenerationEvent]:
        with self._lock:
            self.streaming.set()
            try:
                for i, ev in enumerate(super().generate(messages, params, cancel)):
                    yield ev
                    if i == 0:
                        self.release.wait(10)
            finally:
                self.streaming.clear()

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        with self._lock:
            super().set_adapters(adapters)


def test_switching_the_adapter_off_during_an_answer_does_not_freeze_the_window(
    qtbot: Any, make_window: Any, tmp_path: Path, default_model: Path
) -> None:
    tensors = {"blk.0.attn_q.weight.lora_a": np.zeros((2, 4), np.float32),
               "blk.0.attn_q.weight.lora_b": np.zeros((4, 2), np.float32)}
    meta = AdapterMetadata(file_sha256(default_model), default_model.name, 2, 4.0)
    registry = AdapterRegistry()
    registry.add(write_gguf_lora(tmp_path / "mine.gguf", tensors, "llama", meta), {}, name="mine")
    registry.use("mine", default_model)
    engine = LockingBackend()
    window = make_window(engine=engine)
    assert engine.adapters and window.adapter_badge.isVisibleTo(window)

    send(qtbot, window, "Tell me a story.")
    qtbot.waitUntil(engine.streaming.is_set, timeout=10_000)
    panel = window.show_mode("personalize")
    panel.enabled_box.setChecked(False)  # the user switches personalization off mid-answer
    # the click returned while the answer was still being written: the GUI thread did
    # not wait for the engine
    assert engine.streaming.is_set() and window.busy
    engine.release.set()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: engine.adapters == [] and not window.adapter_badge.isVisibleTo(window),
                    timeout=10_000)
    reply = window.core.history.messages(window.conversation_id)[-1]
    assert reply.status == "complete" and reply.content == engine.reply
    assert window.core.settings.personalization.adapter_enabled is False
