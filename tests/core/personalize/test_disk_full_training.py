"""Training on a nearly full disk: a clear message, no partial checkpoint or adapter, and
the run finishes once space is freed (needs a small tmpfs: Linux, root).  Real model."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from desktop.bench.faults import _stray_files
from desktop.core.personalize.controller import PersonalizeController
from desktop.core.personalize.registry import AdapterRegistry
from desktop.core.personalize.trainer import TrainConfig

pytestmark = pytest.mark.slow


def test_training_on_a_full_disk_stops_clearly_and_resumes(
    mount_small_disk: Any, scifact: Any, default_model: Path
) -> None:
    disk = mount_small_disk("12m")  # room for the run's data, not for a checkpoint (~60 MB)
    ctl = PersonalizeController(disk / "run")
    ctl.prepare(scifact(6), default_model,
                TrainConfig(seq_len=64, max_steps=4, checkpoint_every_steps=2, threads=1),
                qa_pairs=0, replay=0, recall=0, check=0, eval_max_tokens=128, adapters_root=str(disk / "adapters"))
    ctl.start()
    events = list(ctl.events())
    final = events[-1]
    assert final.kind == "error" and final.data.get("reason") == "disk_full", final.message
    assert "is full" in final.message and "Free some space" in final.message
    assert ctl.has_unfinished_run()
    assert _stray_files(disk) == [] and not (disk / "run" / "checkpoint.pt").exists()

    subprocess.run(["mount", "-o", "remount,size=400m", str(disk)], check=True)  # space freed
    ctl = PersonalizeController(disk / "run")
    ctl.start()
    final = list(ctl.events())[-1]
    assert final.kind == "done", final.message
    adapters = AdapterRegistry(disk / "adapters").list()
    assert len(adapters) == 1 and adapters[0].path.stat().st_size > 0
    assert _stray_files(disk) == [] and not ctl.has_unfinished_run()
