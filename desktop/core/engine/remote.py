"""A chat backend on another machine: any server that speaks the OpenAI chat API
(llama.cpp's server, llama-cpp-python's ``python -m llama_cpp.server``, Ollama, vLLM).

Only what the user configured is contacted: :func:`desktop.core.privacy.allow_host`
lets the network guard through to exactly that host and port.  Streaming uses
server-sent events (``data: {chunk}`` lines ending with ``data: [DONE]``) as in the
OpenAI API reference (platform.openai.com/docs/api-reference/chat-streaming).  A server
that goes away mid-answer ends the answer with an :class:`EngineError` that says so; the
text received so far is kept by the chat service like any interrupted answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from desktop.core.engine import (
    ChatMessage,
    EngineError,
    EngineOptions,
    GenerationEvent,
    SamplingParams,
)
from desktop.core.jobs import CancelToken
from desktop.core.models import ModelError, ModelInfo
from desktop.core.privacy import allow_host

log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """``http://host:port/v1`` from what a user typed (``host:port``, a trailing slash,
    with or without ``/v1``).

    Raises:
        ValueError: not an http(s) URL with a host.
    """
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not a server address like http://192.168.1.20:8080/v1.")
    if not parts.path.endswith("/v1"):
        url += "/v1"
    return url


class RemoteBackend:
    """A :class:`~desktop.core.engine.ChatBackend` over an OpenAI-compatible server.

    Args:
        base_url: the server's API root, e.g. ``http://gpu-box.local:8080/v1``.
        model: the model id to ask for; empty picks the server's first model.
        api_key: sent as a bearer token when not empty.
        timeout: seconds to wait for the server to connect or to send the next piece.
    Raises:
        ValueError: the URL is not usable.
    """

    def __init__(self, base_url: str, model: str = "", api_key: str = "", timeout: float = 120.0) -> None:
        self.base_url = normalise_url(base_url)
        parts = urlsplit(self.base_url)
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        allow_host(self.host, self.port)
        self.model_id = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, trust_env=False)
        self._info: ModelInfo | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> ModelInfo | None:
        return self._info

    def _where(self) -> str:
        return f"the chat server at {self.base_url}"

    def test_connection(self) -> list[str]:
        """The server's model ids (GET /models).

        Raises:
            ModelError: the server cannot be reached or does not answer like an
                OpenAI-compatible server; the message says which and what to check.
        """
        try:
            r = self._client.get("/models", timeout=10)
        except httpx.HTTPError as exc:
            raise ModelError(f"Could not reach {self._where()} ({exc}). Check the address, that "
                             "the server runs, and that this computer may connect to it.") from exc
        if r.status_code == 401:
            raise ModelError(f"{self._where()} refused the API key (401). Check the key in Settings.")
        try:
            r.raise_for_status()
            ids = [str(m["id"]) for m in r.json()["data"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{self._where()} does not answer like an OpenAI-compatible server "
                             f"(GET /models: {exc}).") from exc
        return ids

    def load(self, model_path: str, options: EngineOptions) -> ModelInfo:
        """Connect (``model_path`` is ignored: the model lives on the server).

        Raises:
            ModelError: the server is unreachable or lacks the configured model.
        """
        ids = self.test_connection()
        if not ids:
            raise ModelError(f"{self._where()} lists no models.")
        if self.model_id and self.model_id not in ids:
            raise ModelError(f"{self._where()} has no model {self.model_id!r}; it has {', '.join(ids)}.")
        name = self.model_id or ids[0]
        self._info = ModelInfo(Path(self.base_url), name, "remote", 0, "remote", options.n_ctx, 0,
                               metadata={"server": self.base_url})
        return self._info

    def generate(
        self, messages: list[ChatMessage], params: SamplingParams, cancel: CancelToken | None = None
    ) -> Iterator[GenerationEvent]:
        if self._info is None:
            raise EngineError("Not connected to the chat server yet. Choose it in Settings.")
        body: dict[str, Any] = {
            "model": self._info.name, "messages": list(messages), "stream": True,
            "temperature": params.temperature, "top_p": params.top_p, "max_tokens": params.max_tokens,
            "stream_options": {"include_usage": True},
        }
        if params.seed >= 0:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)[:4]  # OpenAI's API takes up to four
        with self._lock:
            start = time.perf_counter()
            first: float | None = None
            n = 0
            finish = "stop"
            usage: dict[str, Any] = {}
            try:
                with self._client.stream("POST", "/chat/completions", json=body) as r:
                    if r.status_code >= 400:
                        r.read()
                        raise EngineError(f"{self._where()} refused the request ({r.status_code}: "
                                          f"{r.text[:300]}).")
                    for line in r.iter_lines():
                        if cancel is not None and cancel.cancelled:
                            finish = "cancelled"
                            break
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            break
                        chunk = json.loads(data)
                        if "error" in chunk:
                            raise EngineError(f"{self._where()} failed: {chunk['error']}")
                        if chunk.get("usage"):
                            usage = chunk["usage"]
                        for choice in chunk.get("choices") or []:
                            text = (choice.get("delta") or {}).get("content") or ""
                            if text:
                                first = first or time.perf_counter()
                                n += 1
                                yield GenerationEvent("token", text=text)
                            if choice.get("finish_reason"):
                                finish = "length" if choice["finish_reason"] == "length" else "stop"
            except httpx.HTTPError as exc:
                raise EngineError(f"{self._where()} went away mid-answer ({exc}). What was "
                                  "written so far is kept; try again when it is back.") from exc
            except json.JSONDecodeError as exc:
                raise EngineError(f"{self._where()} sent something that is not JSON ({exc}).") from exc
            end = time.perf_counter()
            completion = int(usage.get("completion_tokens") or n)
            yield GenerationEvent("done", data={
                "finish_reason": finish,
                "prompt_tokens": int(usage.get("prompt_tokens") or 0),
                "completion_tokens": completion,
                "n_ctx": self._info.context_length,
                "tokens_per_s": (completion - 1) / (end - first) if first and end > first else 0.0,
                "time_to_first_token_s": (first - start) if first else None,
            })

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        """Personal adapters apply to Hearth's own engine only; a remote server keeps its
        own model (logged, not an error, so switching engines keeps working)."""
        if adapters:
            log.warning("personal adapters are not applied to %s", self._where())

    def close(self) -> None:
        self._client.close()
        self._info = None

    def __enter__(self) -> RemoteBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
