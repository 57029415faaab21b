"""The installers leave SciPy out (issue 14, smaller download): bm25s then builds its
index with its NumPy backend (its default here too), and must rank and score as with
SciPy installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import json, sys
if sys.argv[1] == "without":
    sys.modules["scipy"] = None  # import scipy -> ImportError, as in the frozen app
from desktop.core.library.retrieval import BM25Index
import bm25s
items = [("a", "The boiler service is due every October; the engineer checks the valve."),
         ("b", "Grandmother's bread: flour, salt, yeast and warm water."),
         ("c", "Water the tomato seedlings every evening in dry weather."),
         ("d", "The boiler pressure valve was replaced in March by the engineer.")]
index = BM25Index(items)
print(json.dumps({"backend": index._retriever.csc_backend,
                  "scipy": "scipy.sparse" in sys.modules and sys.modules["scipy"] is not None,
                  "hits": index.search("boiler valve engineer", 4)}))
"""


def _run(mode: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_bm25_ranks_and_scores_the_same_without_scipy() -> None:
    with_scipy, without = _run("with"), _run("without")
    assert without["backend"] == "numpy"
    assert without["scipy"] is False
    hits_with, hits_without = with_scipy["hits"], without["hits"]
    assert isinstance(hits_with, list) and isinstance(hits_without, list)
    assert [h[0] for h in hits_without] == [h[0] for h in hits_with] and hits_with[0][0] in ("a", "d")
    for (_, s1), (_, s2) in zip(hits_with, hits_without, strict=True):
        assert abs(s1 - s2) < 1e-4 * max(1.0, abs(s1))
