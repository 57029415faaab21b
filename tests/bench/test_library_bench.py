"""The library benchmarks' plumbing: the Cranfield converter's traps, and a retrieval and
index run on a tiny BEIR folder (the figures themselves are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from desktop.bench import main
from desktop.bench.beir import convert_cranfield, load_beir
from desktop.bench.retrieval import evaluate, percentile, to_doc_run


def test_cranfield_conversion_handles_the_traps(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "cran"
    figures = convert_cranfield(shared_data / "ir" / "cranfield", out)
    assert figures == {"documents": 1400, "queries": 225, "relevant_judgments": 1612}
    data = load_beir(out, "test")
    assert sorted(int(q) for q in data.queries) == list(range(1, 226))  # positional ids
    raw = [json.loads(line) for line in (out / "queries.jsonl").read_text().splitlines()]
    assert raw[2]["_id"] == "3" and raw[2]["cran_qry_id"] == "004"  # cran.qry skips 003
    assert {g for r in data.qrels.values() for g in r.values()} == {1}  # binary, no -1


def test_metrics_on_a_known_ranking() -> None:
    qrels = {"q1": {"a": 1, "b": 1}}
    perfect = evaluate(qrels, {"q1": to_doc_run(["x/a.md", "x/a.md", "x/b.md", "x/c.md"])})
    assert perfect == {"ndcg@10": 1.0, "recall@10": 1.0}
    half = evaluate(qrels, {"q1": to_doc_run(["x/c.md", "x/a.md"])})
    assert half["recall@10"] == 0.5 and 0 < half["ndcg@10"] < 1
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 95) == 4


def _tiny_beir(folder: Path) -> None:
    (folder / "qrels").mkdir(parents=True)
    docs = {
        "d1": ("Tomato growing", "Tomatoes need full sun and regular watering in summer."),
        "d2": ("Bread baking", "Sourdough bread rises slowly with a wild yeast starter."),
        "d3": ("Bicycle repair", "A punctured inner tube is patched after finding the leak."),
    }
    (folder / "corpus.jsonl").write_text("\n".join(
        json.dumps({"_id": k, "title": t, "text": x}) for k, (t, x) in docs.items()), encoding="utf-8")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in [
        {"_id": "1", "text": "how often to water tomatoes"},
        {"_id": "2", "text": "fixing a flat bike tyre"}]), encoding="utf-8")
    (folder / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n2\td3\t1\n",
                                              encoding="utf-8")


def test_retrieval_and_index_benchmarks_run_end_to_end(tmp_path: Path, capsys: Any) -> None:
    data = tmp_path / "tiny"
    _tiny_beir(data)
    assert main(["retrieval", "--data", str(data), "--split", "dev", "--components"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["queries"] == 2 and figures["ndcg@10"] == 1.0
    assert {"latency_p50_ms", "latency_p95_ms", "bm25_ndcg@10", "dense_ndcg@10"} <= set(figures)
    assert main(["index", "--data", str(data), "--split", "dev"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["chunks"] == 3 and figures["ratio"] > 0 and figures["peak_memory_mib"] > 0
