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


def test_a_model_llama_cpp_cannot_load_leaves_the_previous_one(
    qtbot: Any, make_window: Any, default_model: Path, tmp_path: Path
) -> None:
    import gguf
    import numpy as np

    broken = tmp_path / "incomplete.gguf"  # a valid header of a llama model with no layers
    writer = gguf.GGUFWriter(str(broken), "llama")
    writer.add_name("Incomplete")
    writer.add_context_length(256)
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    window = make_window(engine=IsolatedBackend(), settings=_greedy())
    before = window.core.engine.model
    with qtbot.waitSignal(window.model_failed, timeout=60_000) as failed:
        window.add_model_file(broken)
    assert "incomplete.gguf" in failed.args[0]
    assert f"Hearth is still using {before.name}" in window.notice.text
    assert window.core.engine.model is before
    assert window.picker.currentData() == str(before.path)


def _malformed_ggufs(folder: Path, model: Path) -> list[Path]:
    """The malformed model files a user might drop: each kind named in the file name."""
    import struct

    header = model.read_bytes()[:200_000]
    key = b"general.name"
    files = {
        "wrong-magic.gguf": b"GGML" + header[4:4096],
        "empty.gguf": b"",
        "cut-in-the-header.gguf": header[:777],
        "cut-in-the-weights.gguf": model.read_bytes()[: model.stat().st_size // 3],
        "absurd-tensor-count.gguf": b"GGUF" + struct.pack("<IQQ", 3, 2**63, 1) + header[24:4096],
        "absurd-key-count.gguf": b"GGUF" + struct.pack("<IQQ", 3, 1, 2**62) + header[24:4096],
        "bad-value-type.gguf": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
        + struct.pack("<I", 99),
        "future-version.gguf": b"GGUF" + struct.pack("<I", 999) + header[8:4096],
    }
    out = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out.append(folder / name)
    return out


def test_malformed_models_dropped_on_the_window_each_get_a_clear_error(
    qtbot: Any, make_window: Any, default_model: Path, tmp_path: Path
) -> None:
    """Malformed GGUF files through the app (header checks in the window's process, the
    rest in the llama.cpp worker): a message naming the file each time, the model in use
    stays, and the window still answers with the real model afterwards."""
    import random

    from window_helpers import drop

    window = make_window(engine=IsolatedBackend(), settings=_greedy())
    before = window.core.engine.model
    files = _malformed_ggufs(tmp_path, default_model)
    rng = random.Random(7)
    header = bytearray(default_model.read_bytes()[:200_000])
    for n in range(12):  # random byte flips in the real header (the weights are left off)
        mutated = bytearray(header[: rng.randrange(len(header))])
        for _ in range(rng.randrange(1, 9)):
            if mutated:
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        (tmp_path / f"flipped-{n}.gguf").write_bytes(bytes(mutated))
        files.append(tmp_path / f"flipped-{n}.gguf")
    for path in files:
        with qtbot.waitSignal(window.model_failed, timeout=60_000) as blocker:
            drop(window, [path])
        qtbot.waitUntil(lambda: not window.loading, timeout=60_000)
        assert path.name in blocker.args[0], blocker.args[0]
        assert window.isVisible() and window.core.engine.model is before
    send(qtbot, window, "What is the capital of France?")
    qtbot.waitUntil(lambda: "Paris" in window.view.plain_text(), timeout=60_000)
    wait_idle(qtbot, window, timeout=60_000)
