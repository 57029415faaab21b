"""The OpenAI-compatible server on loopback, driven by the official ``openai`` client and
raw HTTP, over a scripted engine (the model is beside the point here; the real model is
in tests/e2e/test_server_e2e.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from desktop.core.app import HearthCore
from desktop.core.engine import ChatMessage, EngineOptions, GenerationEvent, SamplingParams
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.jobs import CancelToken
from desktop.core.server import HearthApi, Limits, ServerThread, StopScanner, check_bind, new_token
from desktop.core.settings import Settings


class WatchedBackend(ScriptedBackend):
    """Scripted, and records how many answers ran at once and whether one was cancelled."""

    def __init__(self, reply: str, delay: float = 0.0) -> None:
        super().__init__(reply=reply, delay=delay)
        self.running = 0
        self.most_at_once = 0
        self.cancelled = threading.Event()
        self.params: list[SamplingParams] = []
        self._count_lock = threading.Lock()

    def generate(self, messages: list[ChatMessage], params: SamplingParams,
                 cancel: CancelToken | None = None) -> Iterator[GenerationEvent]:
        with self._count_lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.params.append(params)
        try:
            for ev in super().generate(messages, params, cancel):
                if ev.kind == "done" and ev.data.get("finish_reason") == "cancelled":
                    self.cancelled.set()
                yield ev
        finally:
            with self._count_lock:
                self.running -= 1


@pytest.fixture
def serve() -> Iterator[Any]:
    made: list[tuple[ServerThread, HearthCore]] = []

    def start(reply: str = "alpha beta gamma delta", delay: float = 0.0, token_sha256: str = "",
              limits: Limits | None = None) -> tuple[ServerThread, WatchedBackend]:
        backend = WatchedBackend(reply, delay)
        core = HearthCore(settings=Settings(), engine=backend, with_library=False)
        core.engine.load("scripted.gguf", EngineOptions())
        server = ServerThread(HearthApi(core, token_sha256, limits), "127.0.0.1", 0).start()
        made.append((server, core))
        return server, backend

    yield start
    for server, core in made:
        server.stop()
        core.close()


@pytest.fixture
def serve_library(tmp_path: Path) -> Iterator[Any]:
    """serve_library(files, reply) -> (server, backend): a server over a core whose library
    has ``files`` (name -> text, in one folder) indexed and whose scripted engine says
    ``reply``."""
    made: list[tuple[ServerThread | None, HearthCore]] = []

    def start(files: dict[str, str], reply: str) -> tuple[ServerThread, WatchedBackend]:
        notes = tmp_path / "notes"
        notes.mkdir()
        for name, text in files.items():
            (notes / name).write_text(text)
        backend = WatchedBackend(reply)
        core = HearthCore(settings=Settings(), engine=backend)
        made.append((None, core))
        core.engine.load("scripted.gguf", EngineOptions())
        assert core.library is not None
        assert list(core.library.index_paths([notes]))[-1].kind == "done"
        server = ServerThread(HearthApi(core, "", None), "127.0.0.1", 0).start()
        made[-1] = (server, core)
        return server, backend

    yield start
    for server, core in made:
        if server is not None:
            server.stop()
        core.close()


def client(server: ServerThread, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=30)


def test_chat_streaming_and_not_with_the_openai_client(serve: Any) -> None:
    server, backend = serve()
    c = client(server)
    assert [m.id for m in c.models.list().data] == ["scripted"]
    done = c.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "hi"}], max_tokens=7,
        temperature=0.0, top_p=0.5, seed=42,
    )
    assert done.choices[0].message.content == "alpha beta gamma delta"
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None and done.usage.completion_tokens == 4
    p = backend.params[-1]
    assert (p.max_tokens, p.temperature, p.top_p, p.seed) == (7, 0.0, 0.5, 42)
    assert backend.prompts[-1][0]["role"] == "system"  # the default system prompt
    assert backend.prompts[-1][1:] == [{"role": "user", "content": "hi"}]

    stream = c.chat.completions.create(
        model="scripted", messages=[{"role": "system", "content": "be kind"},
                                    {"role": "user", "content": "hi"}],
        stream=True, stream_options={"include_usage": True},
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces) == "alpha beta gamma delta"
    assert finish == "stop" and usage is not None and usage.completion_tokens == 4


def test_stop_sequences_cut_the_answer(serve: Any) -> None:
    tail = " ".join(f"w{i}" for i in range(300))
    server, backend = serve(reply="alpha beta gamma delta " + tail, delay=0.005)
    c = client(server)
    done = c.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}],
                                     stop=[" gam"])
    assert done.choices[0].message.content == "alpha beta"
    stream = c.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}],
                                       stop="ta g", stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices) == "alpha be"
    assert backend.cancelled.wait(30)  # the engine stopped at the stop string
    assert backend.params[-1].max_tokens == 512 and len(backend.prompts) == 2


def test_bad_requests_get_openai_style_400(serve: Any) -> None:
    server, _ = serve(limits=Limits(max_body_bytes=2000, max_messages=3, max_tokens=64))
    c = client(server)
    with pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(model="x", messages=[{"role": "wizard", "content": "hi"}])
    assert err.value.status_code == 400 and "role" in str(err.value)
    with pytest.raises(openai.BadRequestError, match="max_tokens"):
        c.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}], max_tokens=65)
    with pytest.raises(openai.BadRequestError, match="Too many messages"):
        c.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}] * 4)

    url = server.base_url + "/chat/completions"
    with httpx.Client(timeout=30) as h:
        for body in (b"{not json", b'{"messages": "hello"}', b'{"messages": [{"role": "user", "content": 5}]}',
                     b'{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', b"[]"):
            r = h.post(url, content=body, headers={"content-type": "application/json"})
            assert r.status_code == 400, body
            error = r.json()["error"]
            assert set(error) == {"message", "type", "param", "code"}
            assert error["type"] == "invalid_request_error" and "Traceback" not in r.text
        big = h.post(url, content=b'{"messages": "' + b"x" * 5000 + b'"}')
        assert big.status_code == 413 and "larger than 2000 bytes" in big.json()["error"]["message"]
        missing = h.get(server.base_url + "/nothing")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert h.post(server.base_url + "/embeddings", json={"input": "hi"}).status_code == 503


def test_token_is_required_when_set(serve: Any) -> None:
    token, digest = new_token()
    server, _ = serve(token_sha256=digest)
    with pytest.raises(openai.AuthenticationError) as err:
        client(server, "wrong").models.list()
    assert err.value.status_code == 401
    r = httpx.get(server.base_url + "/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert [m.id for m in client(server, token).models.list().data] == ["scripted"]


def test_requests_queue_for_the_one_engine(serve: Any) -> None:
    server, backend = serve(reply="one two three", delay=0.01)
    c = client(server)
    results: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            r = c.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}])
            results.append(r.choices[0].message.content or "")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and results == ["one two three"] * 6
    assert backend.most_at_once == 1


def test_a_client_that_disconnects_stops_its_generation(serve: Any) -> None:
    words = " ".join(f"w{i}" for i in range(2000))
    server, backend = serve(reply=words, delay=0.005)
    with httpx.Client(timeout=30) as h, h.stream(
        "POST", server.base_url + "/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "stream": True},
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if '"content": "w' in line:
                break  # leave after the first word
    assert backend.cancelled.wait(30)


def test_listening_beyond_loopback_needs_the_switch_and_a_token() -> None:
    check_bind("127.0.0.1", False, "")
    check_bind("::1", False, "")
    with pytest.raises(ValueError, match="allow_lan"):
        check_bind("0.0.0.0", False, "abc")
    with pytest.raises(ValueError, match="access token"):
        check_bind("192.168.1.5", True, "")
    check_bind("0.0.0.0", True, "abc")


def test_stop_scanner_holds_back_a_split_stop_string() -> None:
    s = StopScanner(["END"])
    assert s.feed("hello E") == "hello"
    assert s.feed("N") == " "  # "EN" may begin END: held back
    assert s.feed("D more") == "" and s.stopped
    s = StopScanner(["END"])
    assert s.feed("hello EN") + s.flush() == "hello EN"
    assert StopScanner([]).feed("abc") == "abc"


def test_serve_refuses_the_lan_without_the_switch(capsys: Any, hearth_home: Path) -> None:
    from desktop.cli import main

    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "server.allow_lan" in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--allow-lan"]) == 2
    assert "--new-token" in capsys.readouterr().err
    assert main(["serve", "--revoke-token"]) == 0


def test_background_jobs_pause_while_the_server_answers(serve: Any) -> None:
    server, backend = serve()
    core = server.api.core
    seen: list[bool] = []

    class Job:
        paused = False

        def pause(self) -> None:
            self.paused = True

        def resume(self) -> None:
            self.paused = False

    job = Job()
    core.priority.register(job)
    original = backend.generate

    def watching(*args: Any, **kwargs: Any) -> Any:
        seen.append(job.paused)  # the answer runs with background work paused
        yield from original(*args, **kwargs)

    backend.generate = watching  # type: ignore[method-assign]
    stream = client(server).chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "alpha beta gamma delta"
    assert seen == [True]
    assert not job.paused  # and resumed once it ended


def test_greedy_requests_get_no_repeat_penalty_unless_asked(serve: Any) -> None:
    server, backend = serve()
    c = client(server)
    ask: Any = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    c.chat.completions.create(**ask, temperature=0.0)
    assert backend.params[-1].repeat_penalty == 1.0  # greedy, as the window's greedy answers
    c.chat.completions.create(**ask, temperature=0.7)
    assert backend.params[-1].repeat_penalty == Settings().chat.repeat_penalty  # sampled: the setting
    c.chat.completions.create(**ask, temperature=0.0, extra_body={"repeat_penalty": 1.3})
    assert backend.params[-1].repeat_penalty == 1.3  # llama.cpp's extension field
    with pytest.raises(openai.BadRequestError, match="repeat_penalty"):
        c.chat.completions.create(**ask, extra_body={"repeat_penalty": 5})


def test_streamed_chunks_are_the_same_json_batched_or_not(serve: Any) -> None:
    import json

    server, _ = serve(reply='say "hi" \\ naïve\tend')
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        r = http.post("/chat/completions", json={"model": "x", "stream": True,
                                                 "messages": [{"role": "user", "content": "hi"}]})
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks[1:])
    assert text == 'say "hi" \\ naïve\tend'
    for ch in chunks:
        assert set(ch) == {"id", "object", "created", "model", "choices"}
        assert ch["object"] == "chat.completion.chunk" and ch["id"] == chunks[0]["id"]


def ask_library(c: Any, question: str, stream: bool) -> str:
    """The reply to ``question`` from the library, streamed or not, through the OpenAI client ``c``."""
    kwargs: Any = {"model": "m", "messages": [{"role": "user", "content": question}],
                   "extra_body": {"hearth": {"library": True}}}
    if stream:
        return "".join(ch.choices[0].delta.content or "" for ch in
                       c.chat.completions.create(stream=True, **kwargs) if ch.choices)
    return c.chat.completions.create(**kwargs).choices[0].message.content or ""


def test_library_answers_begin_as_the_windows_do(serve_library: Any) -> None:
    """"Not found" and the one value asked for come from the plan, without the model,
    streamed or not, as in the window (the server used to hand every question to the
    model, and never said "not found")."""
    from desktop.core.answering import NOT_FOUND

    server, backend = serve_library(
        {"lemon-cake.txt": "Lemon cake\nBake at 180 degrees Celsius for 35 minutes.\n"}, "model text")
    c = client(server)
    for stream in (False, True):
        assert ask_library(c, "What temperature do I bake the lemon cake at?", stream) == "180 degrees Celsius."
        assert ask_library(c, "What is my Wi-Fi password?", stream).startswith(NOT_FOUND)
    assert backend.params == []  # the model wrote none of these
    assert ask_library(c, "Summarise my notes on the lemon cake", False).endswith("model text")


def test_library_answers_say_whether_they_rest_on_their_sources(serve_library: Any) -> None:
    """As the window warns above the sources: ``hearth.grounded`` is false when the reply
    says nothing the sources hold, in the response (or the stream's last chunk)."""
    server, _ = serve_library({"warsaw.txt": (
        "Warsaw is the capital and largest city of Poland. In 1807 Napoleon created the Duchy of "
        "Warsaw, a French client state, and the city was for a time the capital of a state allied "
        "with France.\n")}, "The capital of France is Paris.")
    # asked about Warsaw, its passage holds the answer's words (a capital, France) but
    # not the name it adds: "Paris"
    body = {"model": "m", "messages": [{"role": "user", "content": "Summarise what my notes say about Warsaw"}],
            "hearth": {"library": True}}
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        done = http.post("/chat/completions", json=body).json()
        streamed = http.post("/chat/completions", json={**body, "stream": True}).text
    assert done["choices"][0]["message"]["content"] == "The capital of France is Paris."
    assert done["hearth"]["sources"] and done["hearth"]["grounded"] is False
    chunks = [json.loads(line[6:]) for line in streamed.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    assert chunks[0]["hearth"]["sources"] and chunks[-1]["hearth"] == {"grounded": False}
    # a fact asked for: the sentence the answer would rest on replaces it, as in the window
    body["messages"] = [{"role": "user", "content": "What is the capital of France?"}]
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        done = http.post("/chat/completions", json=body).json()
        streamed = http.post("/chat/completions", json={**body, "stream": True}).text
    quote = done["choices"][0]["message"]["content"]
    assert quote.startswith("In 1807 Napoleon created") and done["hearth"]["grounded"] is True
    chunks = [json.loads(line[6:]) for line in streamed.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    assert "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks if ch["choices"]) == quote


def test_library_answers_leave_out_the_models_preamble_as_the_window_does(serve_library: Any) -> None:
    """A fact's answer is held back until it is known not to open with "The answer to the
    question is:", which is left out, streamed or not; an answer that says nothing becomes
    the sentence it would rest on (the server used to pass both through)."""
    server, backend = serve_library({"cakes.txt": "Lemon cake\nThe lemon cake is baked by Aunt Maria every Sunday.\n"},
                                    "The answer to the question is: Aunt Maria.")
    c = client(server)
    for stream in (False, True):
        assert ask_library(c, "Who bakes the lemon cake?", stream) == "Aunt Maria."
    backend.reply = "The answer to the question is:"
    for stream in (False, True):
        assert ask_library(c, "Who bakes the lemon cake?", stream) == "The lemon cake is baked by Aunt Maria every Sunday."
    assert backend.params  # the model wrote these (no direct answer)
