"""Training pauses between steps (for the chat) and goes on where it was.

Runs the real default model on the smallest run the worker tests use (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.personalize.controller import PersonalizeController
from desktop.core.personalize.trainer import TrainConfig

pytestmark = pytest.mark.slow

SMALL = dict(qa_pairs=0, replay=0, recall=0, eval_max_tokens=128)


def test_training_pauses_between_steps_and_resumes(tmp_path: Path, scifact, default_model: Path) -> None:
    ctl = PersonalizeController(tmp_path / "run", env={"HEARTH_TEST_STEP_DELAY_S": "0.3"})
    ctl.prepare(scifact(4), default_model, TrainConfig(seq_len=64, max_steps=6, threads=1), **SMALL)
    ctl.start()
    steps: list[int] = []
    trail: list[str] = []
    paused_at = None
    for event in ctl.events():
        if event.what == "step" and event.kind == "progress":
            steps.append(int(event.done))
            trail.append(f"step {int(event.done)}")
            if len(steps) == 1:
                ctl.pause()
                assert ctl.paused
        elif "paused" in event.data:
            trail.append("paused" if event.data["paused"] else "resumed")
            if event.data["paused"]:
                paused_at = int(event.done)
                ctl.resume()
        if event.final:
            last = event
    assert last.kind == "done", last.message
    assert paused_at is not None and paused_at >= 1
    # held at a step boundary: the next step comes only after "resumed"
    i = trail.index("paused")
    assert trail[i + 1] == "resumed" and trail[i + 2] == f"step {paused_at + 1}"
    assert steps == list(range(1, 7))  # nothing skipped or repeated
    assert not ctl.paused
