"""``hearth-bench download`` runs end to end on a small file and reports its figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.bench import main
from desktop.bench.fileserver import make_gguf


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_download_bench_kills_and_resumes_without_corruption(tmp_path: Path, capsys: Any) -> None:
    source = make_gguf(tmp_path / "served.gguf", weights=500_000)
    code = main(["download", "--file", str(source), "--repeat", "1", "--kills", "3",
                 "--kill-mb", "2", "--kill-rate-mb", "10"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert figures["corrupt"] == 0 and figures["kills"] + figures["missed"] == 3
    assert figures["kills"] >= 1 and figures["ratio"] > 0
