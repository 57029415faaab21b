"""The chat engine: a small interface that streams text pieces, with three backends.

- :class:`desktop.core.engine.llama.LlamaBackend`: llama-cpp-python in this process.
- :class:`desktop.core.engine.isolated.IsolatedBackend`: the same, in a child process, so
  a native crash in llama.cpp cannot take the window down (what the app and CLI use).
- :class:`desktop.core.engine.fake.ScriptedBackend`: scripted replies for tests where
  the model is beside the point.

Messages are OpenAI-shaped dictionaries, as in llama-cpp-python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, TypedDict

from desktop.core.jobs import CancelToken
from desktop.core.models import ModelInfo


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class SamplingParams:
    """Sampling settings for one answer.

    temperature 0 means greedy decoding; seed -1 means random; repeat_penalty divides the
    likelihood of tokens among the last 64 (llama.cpp's ``repeat_last_n``), 1.0 is none;
    ``stop``: strings that end the answer where they would begin (beside the chat
    template's own end; a remote server takes the first four, OpenAI's limit).
    """

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int = -1
    repeat_penalty: float = 1.0
    stop: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EngineOptions:
    """How to load a model: context window (tokens), CPU threads, GPU layers."""

    n_ctx: int = 4096
    n_threads: int = 2
    n_gpu_layers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GenerationEvent:
    """One event of a streamed answer.

    kind:
        "token": ``text`` is the next piece of the answer; ``data["tokens"]`` (when
            present) says how many tokens it holds (the isolated engine coalesces them).
        "trimmed": the conversation outgrew the context window; ``data["dropped"]``
            oldest messages were left out of the prompt (the system prompt is kept).
        "done": the answer ended; ``data`` has finish_reason ("stop", "length",
            "cancelled"), prompt_tokens, completion_tokens, n_ctx, tokens_per_s and
            time_to_first_token_s.
    """

    kind: Literal["token", "trimmed", "done"]
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class EngineError(Exception):
    """The engine failed while answering; the conversation so far is kept."""


class EngineCrashed(EngineError):
    """The engine's process died (a native crash); it restarts on the next request."""


class ChatBackend(Protocol):
    """What the chat needs from an engine."""

    @property
    def model(self) -> ModelInfo | None: ...

    def load(self, model_path: str, options: EngineOptions) -> ModelInfo:
        """Load a GGUF model, replacing the current one only on success.

        Raises:
            ModelError: the file is missing, not GGUF, damaged, or of an unsupported
                architecture; the previous model stays loaded.
        """
        ...

    def generate(
        self, messages: list[ChatMessage], params: SamplingParams, cancel: CancelToken | None = None
    ) -> Iterator[GenerationEvent]:
        """Stream the assistant's answer to ``messages``.  Cancelling ends the stream
        with a "done" event whose finish_reason is "cancelled"."""
        ...

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        """Apply LoRA adapters (GGUF file, scale) to the loaded model; [] removes them."""
        ...

    def close(self) -> None: ...
