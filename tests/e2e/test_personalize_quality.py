"""A short real run on documents from ../shared/data makes the answers to questions about
documents it did not train on surer, and lowers their perplexity."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_a_short_run_makes_held_out_answers_surer_and_text_likelier(tmp_path: Path, shared_data: Path, default_model: Path) -> None:
    from desktop.core.personalize.pipeline import JobSpec, format_report, run_job, write_documents
    from desktop.core.personalize.registry import AdapterRegistry
    from desktop.core.personalize.trainer import TrainConfig

    docs = []
    with open(shared_data / "ir" / "scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            docs.append((f"scifact/{row['_id']}.txt", f"{row['title']}\n\n{row['text']}"))
            if len(docs) >= 30:
                break
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_documents(run_dir, docs)
    cfg = TrainConfig(seq_len=128, batch_sequences=2, max_steps=14, learning_rate=5e-4, threads=1)
    JobSpec(model_path=str(default_model), config=asdict(cfg), qa_pairs=0, replay=0, recall=0, check=0,
            heldout_fraction=0.2, eval_max_tokens=768).save(run_dir)
    events = list(run_job(run_dir))
    assert events[-1].kind == "done", events[-1].message
    report = events[-1].data["report"]
    print(format_report(report))
    # the short answers of grounded questions about held-out documents (what decides the
    # promotion), and the held-out documents' text; 14 steps are mostly grounded examples,
    # whose passages are context, not targets, so the text moves less than the answers
    assert report["heldout_answer_loss_after"] < 0.8 * report["heldout_answer_loss_before"]
    assert report["heldout_ppl_after"] < report["heldout_ppl_before"]
    assert set(report["heldout_files"]).isdisjoint(report["train_files"])
    if report["promoted"]:
        assert AdapterRegistry().active_name == report["name"]
