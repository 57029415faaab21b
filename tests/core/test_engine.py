"""The real llama.cpp engine on the default model, in-process and isolated."""

from pathlib import Path

import pytest

from desktop.core.engine import EngineCrashed, EngineOptions, SamplingParams
from desktop.core.engine.isolated import IsolatedBackend
from desktop.core.engine.llama import LlamaBackend
from desktop.core.jobs import CancelToken
from desktop.core.models import ModelError

QUESTION = [
    {"role": "system", "content": "You are Hearth, a helpful assistant. Answer clearly and concisely."},
    {"role": "user", "content": "What is the capital of France?"},
]
GREEDY = SamplingParams(temperature=0.0, max_tokens=24, seed=1)
OPTS = EngineOptions(n_ctx=1024, n_threads=2)


def _answer(engine, messages=QUESTION, params=GREEDY, cancel=None):
    text, done, trimmed = "", None, None
    for ev in engine.generate(messages, params, cancel):
        if ev.kind == "token":
            text += ev.text
        elif ev.kind == "done":
            done = ev.data
        elif ev.kind == "trimmed":
            trimmed = ev.data
    return text, done, trimmed


@pytest.fixture(scope="module")
def isolated(default_model: Path):
    engine = IsolatedBackend(env={"HEARTH_TEST_CRASH_ON_LOAD": "crash-me"})
    engine.load(str(default_model), OPTS)
    yield engine
    engine.close()


def test_in_process_greedy_is_deterministic(default_model: Path) -> None:
    with LlamaBackend() as engine:
        engine.load(str(default_model), OPTS)
        a, done, _ = _answer(engine)
        b, _, _ = _answer(engine)
    assert a == b and "Paris" in a
    assert done["finish_reason"] == "stop" and done["completion_tokens"] > 0


def test_isolated_streams_the_same_answer(isolated: IsolatedBackend) -> None:
    text, done, _ = _answer(isolated)
    assert "Paris" in text
    assert done["context_used"] == done["prompt_tokens"] + done["completion_tokens"]
    assert done["n_ctx"] == 1024


def test_cancel_ends_the_stream(isolated: IsolatedBackend) -> None:
    cancel = CancelToken()
    pieces: list[str] = []
    for ev in isolated.generate(
        QUESTION[:1] + [{"role": "user", "content": "Write a long poem about the sea."}],
        SamplingParams(max_tokens=400), cancel,
    ):
        if ev.kind == "token":
            pieces.append(ev.text)
            if len(pieces) == 3:
                cancel.cancel()
        if ev.kind == "done":
            assert ev.data["finish_reason"] == "cancelled"
    assert 3 <= len(pieces) < 50


def test_cancel_sent_with_the_request_is_not_lost(isolated: IsolatedBackend) -> None:
    """A cancel that reaches the engine process right behind its request (Alt+F4 as the
    answer starts) stops that answer; it used to cancel the previous answer's token and
    the new one ran to its end, saved as complete (tenth new-user trial)."""
    cancel = CancelToken()
    cancel.cancel()  # on_cancel sends the cancel at once, right after the request
    text, done, _ = _answer(isolated, QUESTION[:1] + [{"role": "user", "content": "Write a long poem about the sea."}],
                            SamplingParams(max_tokens=400), cancel)
    assert done["finish_reason"] == "cancelled"
    assert done["completion_tokens"] <= 1
    assert "Paris" in _answer(isolated)[0]  # the next answer is whole


def test_long_conversation_drops_oldest_turns(isolated: IsolatedBackend) -> None:
    filler = "This is a long message about many different things. " * 40
    msgs = [QUESTION[0]]
    for i in range(12):
        msgs += [{"role": "user", "content": f"{i} {filler}"}, {"role": "assistant", "content": "OK."}]
    msgs.append({"role": "user", "content": "What is the capital of France?"})
    _text, done, trimmed = _answer(isolated, msgs)
    assert trimmed and trimmed["dropped"] >= 2
    assert done["prompt_tokens"] + GREEDY.max_tokens <= 1024


def test_bad_model_keeps_previous(isolated: IsolatedBackend, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="bad.gguf"):
        isolated.load(str(bad), OPTS)
    assert "Paris" in _answer(isolated)[0]


def test_file_that_crashes_the_loader_keeps_previous(
    isolated: IsolatedBackend, default_model: Path, tmp_path: Path
) -> None:
    crasher = tmp_path / "crash-me.gguf"
    crasher.symlink_to(default_model)
    with pytest.raises(ModelError, match="crashed the engine"):
        isolated.load(str(crasher), OPTS)
    assert isolated.model is not None and isolated.model.path == default_model
    assert "Paris" in _answer(isolated)[0]


def test_native_crash_mid_answer_is_survived(default_model: Path) -> None:
    engine = IsolatedBackend(env={"HEARTH_TEST_CRASH_AFTER_TOKENS": "3"})
    engine.load(str(default_model), OPTS)
    tokens = 0
    with pytest.raises(EngineCrashed, match="stopped unexpectedly"):
        for ev in engine.generate(QUESTION, GREEDY):
            if ev.kind == "token":
                tokens += ev.data.get("tokens", 1)
    assert tokens == 3
    # the next request restarts the worker (which crashes again after 3 tokens: still served)
    pid_before = engine.worker_pid
    with pytest.raises(EngineCrashed):
        list(engine.generate(QUESTION, GREEDY))
    assert engine.worker_pid != pid_before
    engine.close()


def test_abandoned_answer_does_not_leak_into_the_next(isolated: IsolatedBackend) -> None:
    gen = isolated.generate(
        QUESTION[:1] + [{"role": "user", "content": "Count from one to one hundred in words."}],
        SamplingParams(max_tokens=300, temperature=0.0),
    )
    next(gen)
    next(gen)
    gen.close()  # e.g. the window closed the conversation, or saving failed
    text, done, _ = _answer(isolated)
    assert "Paris" in text and done["finish_reason"] == "stop"


def test_closing_never_waits_for_an_answer_still_being_written(
    default_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app closing while an answer ignores its cancel (or never got one) stops the
    engine process instead of waiting for the answer's last token."""
    import threading

    from desktop.core.engine import isolated as isolated_module

    monkeypatch.setattr(isolated_module, "CLOSE_WAIT_S", 0.5)
    engine = IsolatedBackend()
    engine.load(str(default_model), OPTS)
    pid = engine.worker_pid
    started, outcome = threading.Event(), []

    def answer() -> None:  # no cancel token: nothing but close() can end it early
        try:
            for _ev in engine.generate(QUESTION[:1] + [{"role": "user", "content": "Write a long story."}],
                                       SamplingParams(max_tokens=4000, temperature=0.8)):
                started.set()
            outcome.append("finished")
        except EngineCrashed:
            outcome.append("stopped")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    assert started.wait(120)
    engine.close()
    thread.join(30)
    assert outcome == ["stopped"] and engine.worker_pid is None
    if Path("/proc/self").exists():  # Linux: the worker process is gone (killed and reaped)
        assert not Path(f"/proc/{pid}").exists()
