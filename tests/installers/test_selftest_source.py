"""``python -m desktop --self-test`` from the source tree: the same check the frozen app
runs (tests/installers/test_frozen_linux.py runs it inside the bundle)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import selftest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], tmp_path: Path) -> tuple[int, str, str]:
    report = tmp_path / "report.txt"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("HEARTH_HOME", None)  # the self-test makes its own temporary home
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "--self-test", "--report", str(report), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return proc.returncode, proc.stdout + proc.stderr, report.read_text(encoding="utf-8")


def test_self_test_from_source_answers_a_prompt(default_model: Path, tmp_path: Path) -> None:
    code, output, report = _run(["--skip", "adapter", "--skip", "library", "--skip", "ocr",
                                 "--skip", "training"], tmp_path)
    assert code == 0, output
    assert "[ok] chat" in report
    answer = next(line for line in report.splitlines() if line.strip().startswith("A: "))
    assert len(answer.strip()) > len("A: ")
    assert "Self-test passed" in report
    assert report.strip() in output.replace("\r", "")  # the report mirrors stdout


def test_engine_self_test_answers_in_the_process_it_was_started_in(
    default_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--self-test engine`` (what runs under qemu-user) starts no worker process: the
    model is loaded and answers in this very process."""
    import psutil

    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    code = selftest.main(["engine", "--report", str(tmp_path / "r.txt")])
    report = (tmp_path / "r.txt").read_text(encoding="utf-8")
    assert code == 0, report
    assert f"(in process {os.getpid()})" in report
    assert "[ok] engine" in report and "[ok] chat" not in report
    info = next(line for line in report.splitlines() if "llama.cpp" in line)
    assert "CPU :" in info  # the features of the CPU backend llama.cpp runs on
    answer = next(line for line in report.splitlines() if line.strip().startswith("A: "))
    assert len(answer.strip()) > len("A: ")
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= children_before


@pytest.mark.slow
def test_full_self_test_from_source(default_model: Path, tmp_path: Path) -> None:
    code, output, report = _run([], tmp_path)
    assert code == 0, output
    for step in ("bundle", "chat", "adapter", "library", "ocr", "training"):
        assert f"[ok] {step}" in report, report
    assert "embedder: OnnxEmbedder from " in report


def test_self_test_reports_a_missing_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hearth_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import desktop.core.models as models

    monkeypatch.setattr(models, "default_model_path", lambda: None)
    code = selftest.main(["--report", str(tmp_path / "r.txt")])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] bundle" in out and "default chat model is missing" in out
    assert "[ok] chat" not in out  # later steps need the models and do not run
    assert os.environ["HEARTH_HOME"] == str(hearth_home)  # restored afterwards
    assert not hearth_home.exists()  # the user's (here: the test's) home is never touched


def test_test_adapter_has_llama_cpp_layout(default_model: Path, tmp_path: Path) -> None:
    import gguf

    path = selftest.write_test_adapter(default_model, tmp_path / "a.gguf", rank=2)
    reader = gguf.GGUFReader(str(path))
    fields = {name: reader.fields[name] for name in ("general.type", "adapter.type", "adapter.lora.alpha")}
    assert bytes(fields["general.type"].parts[-1]).decode() == "adapter"
    assert bytes(fields["adapter.type"].parts[-1]).decode() == "lora"
    assert float(fields["adapter.lora.alpha"].parts[-1][0]) == 2.0
    names = {t.name for t in reader.tensors}
    assert "blk.0.attn_q.weight.lora_a" in names and "blk.0.attn_v.weight.lora_b" in names
