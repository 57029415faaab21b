"""Load: a 500-message conversation and a 100 KB pasted message with the real engine; a
library of 1,000 files indexing while questions are asked."""

import json
import time
from pathlib import Path
from typing import Any

from desktop.bench import main as bench_main
from desktop.core.chat import ChatService
from desktop.core.engine import EngineOptions
from desktop.core.engine.isolated import IsolatedBackend
from desktop.core.history import History
from desktop.core.settings import ChatSettings


def test_long_conversation_and_huge_message(tmp_path: Path, default_model: Path) -> None:
    history = History(tmp_path / "h.db")
    conv = history.create_conversation()
    for i in range(250):
        history.add_message(conv.id, "user", f"Question {i}: tell me about topic number {i}.")
        history.add_message(conv.id, "assistant", f"Topic {i} is interesting. " * 20)
    start = time.perf_counter()
    assert len(history.messages(conv.id)) == 500
    opened_s = time.perf_counter() - start  # reported, not asserted (timed asserts are flaky)

    engine = IsolatedBackend()
    engine.load(str(default_model), EngineOptions(n_ctx=1024, n_threads=2))
    chat = ChatService(history, engine, ChatSettings(max_tokens=16, temperature=0.0))
    pasted = ("The quick brown fox jumps over the lazy dog. " * 2300)[:100_000]
    events = list(chat.send(conv.id, pasted + "\nSummarize the text above in one sentence."))
    kinds = [e.kind for e in events]
    assert "trimmed" in kinds
    final = events[-1]
    assert final.kind == "finished" and final.message is not None
    assert final.message.status == "complete", final.data
    assert final.data["prompt_tokens"] + 16 <= 1024
    assert history.messages(conv.id)[-2].content.startswith("The quick brown fox")
    assert len(history.messages(conv.id)[-2].content) > 100_000
    engine.close()
    history.close()
    print(f"500 messages read in {opened_s * 1000:.1f} ms")


def test_a_thousand_files_index_while_questions_are_answered(shared_data: Path, capsys: Any) -> None:
    """The short version of `hearth-bench load` (which runs 1,000 files of 50 chunks)."""
    assert bench_main(["load", "--files", "1000", "--chunks-per-file", "1", "--ask-every", "1",
                       "--queries", "10"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["files_indexed"] == 1000 and figures["chunks"] >= 1000
    assert figures["asks_during"] > 0 and figures["ask_errors"] == []
    assert figures["asks_after_answered"] > 0
    assert figures["unchanged_reindexed_files"] == 0
    print(figures)
