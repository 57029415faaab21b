"""An OpenAI-compatible HTTP server over Hearth's own engine and library.

Endpoints (shapes as in the OpenAI API reference, platform.openai.com/docs/api-reference):

- ``GET /v1/models``: the loaded chat model and the library's embedding model.
- ``POST /v1/chat/completions``: messages, temperature, top_p, max_tokens (or
  max_completion_tokens), seed, stop, stream; usage counts.  Streaming sends
  server-sent events (``data: {chunk}`` lines, then ``data: [DONE]``).  The extension
  field ``"hearth": {"library": true, "collections": [...]}`` answers from the user's
  library; the response then carries ``"hearth": {"sources": [...], "grounded": ...}``
  (streaming: the sources in the first chunk, ``grounded`` in the last); ``grounded`` is
  false when the reply says nothing its sources hold, or a number or name they do not
  (the window then warns).  The active personal adapter applies, as in the window,
  because the server drives the same engine; a request without a system message gets the
  user's default system prompt, as a new conversation in the window does.  A greedy
  request (temperature 0) gets no repeat penalty unless it sends ``repeat_penalty``
  (llama.cpp's server's field, 1.0 to 2.0), as the window's greedy answers; a sampled one
  gets the user's setting.
- ``POST /v1/embeddings``: the library's embedding model (all-MiniLM-L6-v2 by default).

Safety: :func:`check_bind` refuses any non-loopback host unless LAN access is switched
on and an access token is set; with a token set every request needs
``Authorization: Bearer TOKEN`` (else 401).  Bodies, message counts, max_tokens and
embedding inputs are bounded (:class:`Limits`); malformed JSON or wrong types get a 400
with an OpenAI-style error body (``{"error": {"message", "type", "param", "code"}}``).
One engine answers one request at a time: requests wait in a bounded queue (429 when it
is full), in the server's own thread, so the window stays responsive; a client that
disconnects stops its generation.  Hearth makes no outgoing connection for this: the
server only accepts them, and each accepted request is noted in the network log
(:func:`desktop.core.privacy.record_incoming`).

Built on Starlette (ASGI) and uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from desktop.core.answering import AnswerPlan, ReplyStream
from desktop.core.engine import ChatMessage, GenerationEvent, SamplingParams
from desktop.core.jobs import CancelToken
from desktop.core.privacy import record_incoming

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
DISCONNECT_CHECK_S = 0.25  # how often a generation checks that its client is still there
ROLES = {"system", "user", "assistant", "developer"}


@dataclass
class Limits:
    """Bounds on one request (all inclusive).

    Attributes:
        max_body_bytes: request body size.
        max_messages: messages in one chat request.
        max_tokens: the largest max_tokens a client may ask for.
        max_embedding_inputs: texts in one embeddings request.
        max_input_chars: characters of one embedding input.
        max_queue: requests waiting for the engine before new ones get 429.
    """

    max_body_bytes: int = 1_000_000
    max_messages: int = 256
    max_tokens: int = 4096
    max_embedding_inputs: int = 256
    max_input_chars: int = 20_000
    max_queue: int = 64


class ApiError(Exception):
    """An error answered with an OpenAI-style body."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 type_: str = "invalid_request_error", code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.type, self.code = status, message, param, type_, code

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}},
            status_code=self.status,
        )


def new_token() -> tuple[str, str]:
    """A new access token: (token to show the user once, its SHA-256 hex to store)."""
    token = "hearth-" + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (what the settings keep)."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, allow_lan: bool, token_sha256: str) -> None:
    """Refuse to listen beyond this computer unless the user switched LAN access on and
    set an access token.

    Raises:
        ValueError: the message says which setting to change.
    """
    if is_loopback(host):
        return
    if not allow_lan:
        raise ValueError(
            f"Listening on {host} would open Hearth's server to the network. Switch on "
            "'Listen on the local network' (settings: server.allow_lan) to allow it."
        )
    if not token_sha256:
        raise ValueError(
            "Listening on the network needs an access token: create one with "
            "`hearth serve --new-token` (or in Settings) first."
        )


class StopScanner:
    """Cuts a stream of text at the first of some stop strings, holding back just enough
    text to see a stop string split across pieces."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.buffer = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Text safe to emit now; sets ``stopped`` once a stop string was seen."""
        if self.stopped:
            return ""  # pieces that arrive before the engine sees the cancel
        if not self.stops:
            return text
        self.buffer += text
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.buffer, self.stopped = self.buffer[:cut], "", True
            return out
        keep = len(self.buffer) - self.hold
        if keep <= 0:
            return ""
        out, self.buffer = self.buffer[:keep], self.buffer[keep:]
        return out

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


@dataclass
class ChatRequest:
    messages: list[ChatMessage]
    params: SamplingParams
    stop: list[str]
    stream: bool
    include_usage: bool
    library: bool
    collections: list[str] | None


def _number(body: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ApiError(400, f"'{key}' must be a number from {low} to {high}.", key)
    return float(value)


def _integer(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, f"'{key}' must be an integer from {low} to {high}.", key)
    return value


def _content(value: Any, index: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: only text is understood
        texts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(400, f"messages[{index}].content: only text parts are supported.",
                               f"messages[{index}].content")
            texts.append(part["text"])
        return "".join(texts)
    raise ApiError(400, f"messages[{index}].content must be a string or a list of text parts.",
                   f"messages[{index}].content")


def parse_chat_request(body: Any, defaults: SamplingParams, limits: Limits) -> ChatRequest:
    """Validate a chat completions body.

    Raises:
        ApiError: 400 naming the field that is wrong and why.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list.", "messages")
    if len(raw) > limits.max_messages:
        raise ApiError(400, f"Too many messages ({len(raw)}); at most {limits.max_messages}.", "messages")
    messages: list[ChatMessage] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ApiError(400, f"messages[{i}] needs a role of system, user or assistant.", f"messages[{i}].role")
        role = "system" if m["role"] == "developer" else m["role"]
        messages.append({"role": role, "content": _content(m.get("content"), i)})  # type: ignore[typeddict-item]
    if not any(m["role"] == "user" for m in messages):
        raise ApiError(400, "'messages' needs at least one user message.", "messages")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "'model' must be a string.", "model")
    n = _integer(body, "n", 1, 1)
    del n
    params = SamplingParams(defaults.temperature, defaults.top_p, defaults.max_tokens, defaults.seed,
                            defaults.repeat_penalty)
    temperature = _number(body, "temperature", 0.0, 2.0)
    top_p = _number(body, "top_p", 0.0, 1.0)
    repeat_penalty = _number(body, "repeat_penalty", 1.0, 2.0)  # llama.cpp's server's extension
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = _integer(body, key, 1, limits.max_tokens)
    seed = _integer(body, "seed", -(2**63), 2**63 - 1)
    if temperature is not None:
        params.temperature = temperature
    if repeat_penalty is not None:
        params.repeat_penalty = repeat_penalty
    elif params.temperature == 0.0:
        # greedy decoding asks for the likeliest text: no penalty unless the client asks
        # for one, as the window's greedy answers (ChatService: factual answers at
        # temperature 0 use 1.0); the penalty also costs the sampler a pass over the whole
        # vocabulary per token (llama.cpp skips it at 1.0)
        params.repeat_penalty = 1.0
    if top_p is not None:
        params.top_p = top_p
    if max_tokens is not None:
        params.max_tokens = max_tokens
    params.max_tokens = min(params.max_tokens, limits.max_tokens)
    if seed is not None:
        params.seed = seed if seed >= 0 else -1
    stop = body.get("stop")
    if stop is None:
        stops: list[str] = []
    elif isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop):
        stops = list(stop)
    else:
        raise ApiError(400, "'stop' must be a string or a list of up to 4 strings.", "stop")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false.", "stream")
    options = body.get("stream_options") or {}
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    ext = body.get("hearth") or {}
    if not isinstance(ext, dict):
        raise ApiError(400, "'hearth' must be an object like {\"library\": true}.", "hearth")
    collections = ext.get("collections")
    if collections is not None and (not isinstance(collections, list)
                                    or not all(isinstance(c, str) for c in collections)):
        raise ApiError(400, "'hearth.collections' must be a list of collection names.", "hearth.collections")
    library = ext.get("library", False)
    if not isinstance(library, bool):
        raise ApiError(400, "'hearth.library' must be true or false.", "hearth.library")
    return ChatRequest(messages, params, stops, stream, include_usage, library or bool(collections),
                       collections or None)


_END = object()


class _Generation:
    """The engine answering on its own thread (:meth:`HearthApi._generate`): iterate for
    batches of events; :meth:`aclose` (always, even when never iterated) cancels what is
    left and waits for the engine to finish it."""

    def __init__(self, events: AsyncGenerator[list[GenerationEvent], None], cancel: CancelToken,
                 worker: threading.Thread) -> None:
        self._events, self._cancel, self._worker = events, cancel, worker

    def __aiter__(self) -> AsyncGenerator[list[GenerationEvent], None]:
        return self._events

    async def aclose(self) -> None:
        try:
            await self._events.aclose()
        finally:
            self._cancel.cancel()
            await asyncio.to_thread(self._worker.join)


class EngineGate:
    """One generation at a time, in arrival order, with a bounded queue."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self.waiting = 0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        if self.waiting >= self.max_queue:
            raise ApiError(429, "The server is busy: too many requests are waiting. Try again shortly.",
                           type_="server_busy", code="queue_full")
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()


class HearthApi:
    """The server's request handlers over a core (a :class:`desktop.core.app.HearthCore`
    or anything with ``engine``, ``chat`` (for sampling defaults) and ``library``).

    Args:
        core: the app core whose engine (with its adapter) and library answer.
        token_sha256: SHA-256 of the access token; empty for none (loopback only).
        limits: request bounds.
    """

    def __init__(self, core: Any, token_sha256: str = "", limits: Limits | None = None) -> None:
        self.core = core
        self.token_sha256 = token_sha256
        self.limits = limits or Limits()
        self.gate: EngineGate | None = None
        self.created = int(time.time())

    # -- plumbing ----------------------------------------------------------------

    def app(self) -> Starlette:
        """The ASGI application."""
        return Starlette(
            routes=[
                Route("/v1/models", self._wrap(self.models), methods=["GET"]),
                Route("/v1/chat/completions", self._wrap(self.chat_completions), methods=["POST"]),
                Route("/v1/embeddings", self._wrap(self.embeddings), methods=["POST"]),
            ],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    @staticmethod
    async def _not_found(request: Request, exc: Exception) -> Response:
        return ApiError(404, f"Unknown endpoint {request.url.path}.", code="not_found").response()

    @staticmethod
    async def _not_allowed(request: Request, exc: Exception) -> Response:
        return ApiError(405, f"{request.method} is not allowed on {request.url.path}.").response()

    def _wrap(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            client = request.client
            record_incoming(f"{request.method} {request.url.path} from "
                            f"{client.host if client else '?'}:{client.port if client else '?'}")
            try:
                self._authorize(request)
                response: Response = await handler(request)
                return response
            except ApiError as exc:
                return exc.response()
            except Exception as exc:  # never a traceback to the client
                log.exception("server request failed")
                return ApiError(500, f"Hearth could not answer: {exc}", type_="server_error").response()

        return endpoint

    def _authorize(self, request: Request) -> None:
        if not self.token_sha256:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(hash_token(token.strip()), self.token_sha256):
            raise ApiError(401, "Missing or wrong access token: send 'Authorization: Bearer TOKEN' "
                           "with the token Hearth showed when it was created.",
                           type_="invalid_request_error", code="invalid_api_key")

    async def _json(self, request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            raise ApiError(413, f"The request is larger than {self.limits.max_body_bytes} bytes.")
        body = b""
        async for piece in request.stream():
            body += piece
            if len(body) > self.limits.max_body_bytes:
                raise ApiError(413, f"The request is larger than {self.limits.max_body_bytes} bytes.")
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"The request body is not valid JSON ({exc}).") from exc

    def _gate(self) -> EngineGate:
        if self.gate is None:  # made in the server's own event loop
            self.gate = EngineGate(self.limits.max_queue)
        return self.gate

    def _model_id(self) -> str:
        model = self.core.engine.model
        if model is None:
            raise ApiError(503, "No chat model is loaded yet.", type_="server_error", code="model_not_loaded")
        return str(model.name)

    # -- endpoints -----------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        data = []
        model = self.core.engine.model
        if model is not None:
            data.append({"id": model.name, "object": "model", "created": self.created, "owned_by": "hearth"})
        library = getattr(self.core, "library", None)
        if library is not None:
            data.append({"id": str(library.embedding_model), "object": "model", "created": self.created,
                         "owned_by": "hearth"})
        return JSONResponse({"object": "list", "data": data})

    async def embeddings(self, request: Request) -> Response:
        body = await self._json(request)
        library = getattr(self.core, "library", None)
        if library is None:
            raise ApiError(503, "Embeddings need the library, which is not open in this server.",
                           type_="server_error")
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if (not isinstance(inputs, list) or not inputs
                or not all(isinstance(t, str) and t for t in inputs)):
            raise ApiError(400, "'input' must be a non-empty string or a list of non-empty strings "
                           "(token arrays are not supported).", "input")
        if len(inputs) > self.limits.max_embedding_inputs:
            raise ApiError(400, f"Too many inputs ({len(inputs)}); at most "
                           f"{self.limits.max_embedding_inputs}.", "input")
        if any(len(t) > self.limits.max_input_chars for t in inputs):
            raise ApiError(400, f"An input is longer than {self.limits.max_input_chars} characters.", "input")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise ApiError(400, "'encoding_format' must be float or base64.", "encoding_format")
        vectors = await asyncio.to_thread(library.embedder.embed, list(inputs))
        data: list[dict[str, Any]] = []
        for i, vec in enumerate(vectors):
            if fmt == "base64":
                import base64

                import numpy as np

                value: Any = base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()
            else:
                value = [float(x) for x in vec]
            data.append({"object": "embedding", "index": i, "embedding": value})
        tokens = sum(max(1, len(t) // 4) for t in inputs)  # estimate: ~4 characters per token
        return JSONResponse({"object": "list", "data": data, "model": str(library.embedding_model),
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def _sources(self, req: ChatRequest) -> tuple[list[ChatMessage], list[dict[str, Any]], AnswerPlan, str]:
        """The messages for the engine, the sources (as dictionaries), the reply's plan
        (:class:`desktop.core.answering.AnswerPlan`: how it opens, what is shown of the
        model's text, whether it rests on the sources) and the question it answers."""
        system = str(getattr(self.core.chat.settings, "system_prompt", "") or "")
        if system and not any(m["role"] == "system" for m in req.messages):
            # as in the window: the user's default system prompt when the client sends none
            req.messages = [{"role": "system", "content": system}, *req.messages]
        if not req.library:
            return req.messages, [], AnswerPlan(), ""
        library = getattr(self.core, "library", None)
        if library is None:
            raise ApiError(400, "This server was started without the library.", "hearth.library")
        if req.collections:
            known = set(library.collection_names())
            missing = [c for c in req.collections if c not in known]
            if missing:
                raise ApiError(400, f"No collection named {', '.join(missing)}; the library has "
                               f"{', '.join(sorted(known)) or 'none'}.", "hearth.collections")
        from desktop.core.answering import (
            CANDIDATE_BUDGET_TOKENS,
            contextual_question,
            said_earlier,
        )

        # as in the window: a follow-up ("When is it due?") is searched with the question
        # before it, misspelt words are corrected to the files' words, and what the user stated earlier in the conversation is offered
        said = [m["content"] for m in req.messages if m["role"] == "user"]
        question = contextual_question(said)
        from desktop.core.library.store import StoreUnreachable

        try:
            question = await asyncio.to_thread(library.correct_spelling, question, req.collections)
            sources = await asyncio.to_thread(library.sources_for, question, req.collections,
                                                    CANDIDATE_BUDGET_TOKENS)
            searched = await asyncio.to_thread(library.has_documents, req.collections)
            named = searched and await asyncio.to_thread(library.mentions, question, req.collections)
        except StoreUnreachable as exc:  # the library's Chroma server is down: say so
            raise ApiError(503, str(exc), "hearth.library", type_="server_error",
                           code="library_unreachable") from exc
        # grounded as the window's chat grounds it: the sentences that match, fact first
        plan = await asyncio.to_thread(AnswerPlan.make, question, sources + said_earlier(question, said[:-1]),
                                       searched, library.similarity, named)
        return plan.prompt(req.messages), [s.to_dict() for s in plan.shown_sources()], plan, question

    def _generate(self, request: Request, messages: list[ChatMessage],
                  params: SamplingParams, cancel: CancelToken) -> _Generation:
        """Start the engine on its own thread now, and return its events, in batches of
        those that arrived together (one write to the client per batch); a client gone
        or the consumer closing the iterator cancels the generation and waits for the
        engine to finish it.

        The thread starts here, before the caller sends anything, so the engine reads the
        prompt while the response's first bytes go out.  One watcher task checks every
        :data:`DISCONNECT_CHECK_S` seconds that the client is still there (the events
        themselves are awaited directly, with no timeout per token).
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closing: nobody listens any more
                cancel.cancel()

        priority = getattr(self.core, "priority", None)  # background jobs pause meanwhile

        def run() -> None:
            try:
                with priority.answering() if priority is not None else contextlib.nullcontext():
                    for ev in self.core.engine.generate(messages, params, cancel):
                        put(ev)
            except BaseException as exc:  # handed to the request
                put(exc)
            finally:
                put(_END)

        worker = threading.Thread(target=run, name="hearth-serve-generate", daemon=True)
        worker.start()

        async def watch() -> None:
            while not cancel.cancelled:
                await asyncio.sleep(DISCONNECT_CHECK_S)
                if await request.is_disconnected():
                    cancel.cancel()
                    return

        async def events() -> AsyncGenerator[list[GenerationEvent], None]:
            watcher = asyncio.ensure_future(watch())
            try:
                while True:
                    items = [await queue.get()]
                    while not queue.empty():
                        items.append(queue.get_nowait())
                    batch: list[GenerationEvent] = []
                    for item in items:
                        if item is _END:
                            if batch:
                                yield batch
                            return
                        if isinstance(item, BaseException):
                            raise item
                        batch.append(item)
                    yield batch
            finally:
                watcher.cancel()

        return _Generation(events(), cancel, worker)

    async def chat_completions(self, request: Request) -> Response:
        body = await self._json(request)
        req = parse_chat_request(body, self.core.chat.params(), self.limits)
        model_id = self._model_id()
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if req.stream:
            return StreamingResponse(self._stream(request, req, model_id, completion_id, created),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        async with self._gate():
            messages, sources, plan, question = await self._sources(req)
            opening, model_writes = plan.opening()  # "not found", a note's line, the value asked for
            scanner, shaped = StopScanner(req.stop), ReplyStream(plan, question)
            stats: dict[str, Any] = {}
            if model_writes:
                cancel = CancelToken()
                events = self._generate(request, messages, req.params, cancel)
                try:
                    async for batch in events:
                        for ev in batch:
                            if ev.kind == "token" and not scanner.stopped:
                                shaped.feed(scanner.feed(ev.text))
                                if scanner.stopped:
                                    cancel.cancel()
                            elif ev.kind == "done":
                                stats = ev.data
                finally:
                    await events.aclose()
                shaped.feed("" if scanner.stopped else scanner.flush())
            text = opening + ((shaped.ending() or shaped.shown) if model_writes else "")
        result: dict[str, Any] = {
            "id": completion_id, "object": "chat.completion", "created": created, "model": model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": None, "finish_reason": _finish(stats, scanner.stopped)}],
            "usage": _usage(stats),
        }
        if req.library:  # "grounded": false where the reply says nothing its sources hold
            result["hearth"] = {"sources": sources, "grounded": _grounded(plan, text, question)}
        return JSONResponse(result)

    async def _stream(self, request: Request, req: ChatRequest, model_id: str, completion_id: str,
                      created: int) -> AsyncIterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            obj = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                   "model": model_id,
                   "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                   **extra}
            return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

        # a text piece's chunk is the same JSON as chunk({"content": piece}), with only the
        # piece encoded per token (the rest is fixed for the whole answer)
        head, _, tail = chunk({"content": "\x00"}).partition(json.dumps("\x00"))

        def content(piece: str) -> str:
            return head + json.dumps(piece, ensure_ascii=False) + tail

        try:
            async with self._gate():
                messages, sources, plan, question = await self._sources(req)
                opening, model_writes = plan.opening()  # "not found", a note's line, the value asked for
                scanner, shaped = StopScanner(req.stop), ReplyStream(plan, question)
                stats: dict[str, Any] = {}
                cancel = CancelToken()
                # the engine starts reading the prompt now, while the first chunk goes out
                events = self._generate(request, messages, req.params, cancel) if model_writes else _no_events()
                try:
                    first: dict[str, Any] = {"hearth": {"sources": sources}} if req.library else {}
                    yield chunk({"role": "assistant", "content": ""}, **first)
                    if opening:
                        yield content(opening)
                    async for batch in events:
                        out = []
                        for ev in batch:
                            if ev.kind == "token" and not scanner.stopped:
                                piece = shaped.feed(scanner.feed(ev.text))
                                if piece:
                                    out.append(content(piece))
                                if scanner.stopped:
                                    cancel.cancel()
                            elif ev.kind == "done":
                                stats = ev.data
                        if out:
                            yield "".join(out)
                finally:
                    await events.aclose()
                rest = shaped.feed("" if scanner.stopped else scanner.flush()) if model_writes else ""
                # the quoted sentence where the model said nothing or wrote what does not rest
                # on it (already-sent text cannot be taken back: it is added), else what was
                # held back (a fact's answer, a preamble that might be one)
                ending = shaped.ending() if model_writes else ""
                rest += shaped.ending_piece(ending) if ending else shaped.flush() if model_writes else ""
                if rest:
                    yield chunk({"content": rest})
                said = opening + ((ending or shaped.shown) if model_writes else "")
                last: dict[str, Any] = {"hearth": {"grounded": _grounded(plan, said, question)}} if req.library else {}
                yield chunk({}, _finish(stats, scanner.stopped), **last)
                if req.include_usage:
                    obj = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                           "model": model_id, "choices": [], "usage": _usage(stats)}
                    yield f"data: {json.dumps(obj)}\n\n"
        except ApiError as exc:  # headers are sent: report in the stream, as OpenAI does
            yield f"data: {json.dumps({'error': {'message': exc.message, 'type': exc.type, 'param': exc.param, 'code': exc.code}})}\n\n"
        except Exception as exc:
            log.exception("streamed answer failed")
            yield f"data: {json.dumps({'error': {'message': f'Hearth could not answer: {exc}', 'type': 'server_error', 'param': None, 'code': None}})}\n\n"
        yield "data: [DONE]\n\n"


async def _no_events() -> AsyncGenerator[list[GenerationEvent], None]:
    """The events of a reply the model does not write (see :meth:`AnswerPlan.opening`)."""
    return
    yield


def _grounded(plan: AnswerPlan, text: str, question: str) -> bool:
    """Whether a finished reply rests on its sources and holds no number or name they lack
    (:meth:`AnswerPlan.grounded`, :meth:`AnswerPlan.unsupported`)."""
    return plan.grounded(text, question) and not plan.unsupported(text, question)


def _finish(stats: dict[str, Any], stopped: bool) -> str:
    if stopped:
        return "stop"
    reason = stats.get("finish_reason")
    return "length" if reason == "length" else "stop"


def _usage(stats: dict[str, Any]) -> dict[str, int]:
    prompt = int(stats.get("prompt_tokens") or 0)
    completion = int(stats.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class ServerThread:
    """Runs the server (uvicorn) on its own thread and event loop, so neither the window
    nor the CLI blocks; :meth:`stop` shuts it down and waits.

    Args:
        api: the request handlers.
        host, port: where to listen (port 0 picks a free one; see :attr:`port`).
    Raises:
        OSError: from :meth:`start`, when the port is taken (the message says so).
    """

    def __init__(self, api: HearthApi, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        import uvicorn

        self.api = api
        self.host = host
        self.config = uvicorn.Config(api.app(), host=host, port=port, log_level="warning",
                                     access_log=False, lifespan="off", timeout_graceful_shutdown=5,
                                     loop="asyncio", http="h11", ws="none")
        self.server = uvicorn.Server(self.config)
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def port(self) -> int:
        """The port actually listened on (after :meth:`start`; port 0 picks a free one)."""
        return self._port or int(self.config.port)

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/v1"

    def _run(self, sock: socket.socket) -> None:
        try:
            self.server.run(sockets=[sock])
        except SystemExit:  # uvicorn exits on a failed start; start() reports it
            log.error("the server stopped at start")
        finally:
            sock.close()

    def start(self, timeout: float = 30) -> ServerThread:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.config.port))
            sock.listen(128)
            self._port = int(sock.getsockname()[1])
        except OSError as exc:
            sock.close()
            raise OSError(f"Hearth's server could not listen on {self.host}:{self.config.port} "
                          f"({exc.strerror or exc}); is the port in use? Choose another port.") from exc
        self._thread = threading.Thread(target=self._run, args=(sock,), name="hearth-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(f"Hearth's server could not listen on {self.host}:{self.config.port} "
                              "(is the port in use? choose another with --port).")
            if time.monotonic() > deadline:
                self.stop()
                raise OSError(f"Hearth's server did not start on {self.host}:{self.config.port}.")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
