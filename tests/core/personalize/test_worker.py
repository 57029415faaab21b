"""The training process: resume after SIGKILL, cancel within seconds, NaN handling.

These run the real default model (slow)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from desktop.core.personalize.controller import PersonalizeController
from desktop.core.personalize.trainer import TrainConfig

pytestmark = pytest.mark.slow

SMALL = dict(qa_pairs=0, replay=0, recall=0, check=0, eval_max_tokens=128)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_resume_after_kill_then_cancel(tmp_path: Path, scifact, default_model: Path) -> None:
    run_dir = tmp_path / "run"
    env = {"HEARTH_TEST_STEP_DELAY_S": "0.5"}
    ctl = PersonalizeController(run_dir, env=env)
    ctl.prepare(scifact(6), default_model,
                TrainConfig(seq_len=64, max_steps=40, checkpoint_every_steps=3, threads=1), **SMALL)
    ctl.start()
    events = ctl.events()
    checkpoint_step = None
    for event in events:
        if event.what == "step" and event.data.get("checkpoint"):
            checkpoint_step = int(event.done)
            os.kill(ctl.pid, signal.SIGKILL)  # a crash or a power cut
            break
    assert checkpoint_step == 3
    tail = list(events)
    assert tail[-1].kind == "error" and "resume" in tail[-1].message
    assert ctl.has_unfinished_run()

    ctl2 = PersonalizeController(run_dir, env=env)
    assert ctl2.checkpoint_step() >= checkpoint_step
    ctl2.start()
    resumed, steps = None, []
    for event in ctl2.events():
        if "resumed_from" in event.data:
            resumed = event.data["resumed_from"]
        if event.what == "step" and event.kind == "progress":
            steps.append(int(event.done))
            if len(steps) == 2:
                ctl2.cancel(timeout=120)  # saving the checkpoint on a loaded 2-core machine
        if event.kind in ("cancelled", "error", "done"):
            last = event
    assert resumed is not None and resumed >= checkpoint_step
    assert steps[0] == resumed + 1  # continues, does not start over
    assert last.kind == "cancelled", last.message
    assert ctl2.wait(5) == 2
    assert ctl2.checkpoint_step() >= steps[1]  # the checkpoint was saved on cancel
    assert ctl2.has_unfinished_run()


def test_nan_stops_with_a_clear_message_and_keeps_the_best_adapter(
    tmp_path: Path, scifact, default_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.core.personalize.pipeline import run_job
    from desktop.core.personalize.registry import AdapterRegistry

    monkeypatch.setenv("HEARTH_TEST_NAN_AT_STEP", "5")
    run_dir = tmp_path / "run"
    ctl = PersonalizeController(run_dir)
    ctl.prepare(scifact(6), default_model,
                TrainConfig(seq_len=64, max_steps=20, checkpoint_every_steps=2, threads=1), **SMALL)
    events = list(run_job(run_dir))
    errors = [e for e in events if e.kind == "error"]
    assert errors and "NaN" in errors[0].message and "best adapter so far is kept" in errors[0].message
    done = events[-1]
    assert done.kind == "done"
    report = done.data["report"]
    assert report["status"] == "diverged" and report["steps"] == 4
    assert report["promoted"] is False  # kept, but not switched on
    reg = AdapterRegistry()
    assert [e.name for e in reg.list()] == [report["name"]] and reg.active_name is None
