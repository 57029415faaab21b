"""A short run of the fault-injection benchmark (hearth-bench faults runs it 100+ times per activity)."""

from pathlib import Path

from desktop.bench.faults import run_kills


def test_chat_survives_random_kills(default_model: Path) -> None:
    report = run_kills("chat", kills=6, seed=1)
    assert report.kills == 6
    assert report.losses == []
    print(f"{report.mid_work} of {report.kills} kills landed mid-reply")


def test_indexing_survives_random_kills_and_resumes() -> None:
    report = run_kills("index", kills=3, seed=2)
    assert report.losses == []
    print(f"{report.mid_work} of {report.kills} kills landed mid-index")


def test_training_survives_random_kills_and_resumes(default_model: Path, shared_data: Path) -> None:
    report = run_kills("train", kills=3, seed=3)
    assert report.losses == []
    print(f"kills landed: {dict(report.moments)}")
