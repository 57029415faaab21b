"""A scripted chat backend for tests where the model is beside the point."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from desktop.core.engine import ChatMessage, EngineOptions, GenerationEvent, SamplingParams
from desktop.core.jobs import CancelToken
from desktop.core.models import ModelInfo


class ScriptedBackend:
    """Streams ``reply`` word by word, ``delay`` seconds apart, and records prompts."""

    def __init__(self, reply: str = "Hello from a scripted model.", delay: float = 0.0) -> None:
        self.reply = reply
        self.delay = delay
        self.prompts: list[list[ChatMessage]] = []
        self.params: list[SamplingParams] = []
        self.adapters: list[tuple[str, float]] = []
        self._info: ModelInfo | None = None

    @property
    def model(self) -> ModelInfo | None:
        return self._info

    def load(self, model_path: str, options: EngineOptions) -> ModelInfo:
        self._info = ModelInfo(Path(model_path), "scripted", "llama", 0, "F32", 2048, 0)
        return self._info

    def generate(
        self, messages: list[ChatMessage], params: SamplingParams, cancel: CancelToken | None = None
    ) -> Iterator[GenerationEvent]:
        self.prompts.append(list(messages))
        self.params.append(params)
        reply = self.reply
        for stop in params.stop:  # as llama.cpp does: the answer ends where a stop string begins
            reply = reply.split(stop, 1)[0]
        words = reply.split(" ")
        n = 0
        for i, word in enumerate(words):
            if cancel is not None and cancel.cancelled:
                yield GenerationEvent("done", data={"finish_reason": "cancelled", "completion_tokens": n})
                return
            if self.delay:
                time.sleep(self.delay)
            n += 1
            yield GenerationEvent("token", text=word if i == 0 else " " + word)
        yield GenerationEvent(
            "done", data={"finish_reason": "stop", "completion_tokens": n, "tokens_per_s": 0.0,
                          "context_used": n, "n_ctx": 2048},
        )

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        self.adapters = list(adapters)

    def close(self) -> None:
        self._info = None
