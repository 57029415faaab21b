"""One personalization run, start to finish, as a job that yields ProgressEvents.

Phases (``event.data["phase"]``): "data" (tokenize, generate question-answer pairs and
replay answers with llama.cpp, split, pack), "evaluate" (perplexity of the base),
"train", "evaluate" again with the adapter, "export" (GGUF adapter), "recall"
(questions before/after in llama.cpp with the exported adapter), then "done" with the
morning report in ``data["report"]``.

Everything a run needs lives in its run folder (``job.json``, ``docs.jsonl``,
``data.json``, ``eval_before.json``, ``checkpoint.pt``), so a killed run resumes where it
was.  This runs inside the worker process (desktop.core.personalize.worker); tests and
benchmarks may run it in-process.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.answering import FACTUAL_MAX_TOKENS
from desktop.core.jobs import CancelToken, EventKind, ProgressEvent
from desktop.core.paths import atomic_write_bytes, sweep_temporaries
from desktop.core.personalize.dataset import (
    Document,
    TrainingData,
    build_training_data,
    generate_qa,
    generate_replay,
)
from desktop.core.personalize.trainer import CHECKPOINT_FILE, TrainConfig, training_threads
from desktop.core.storage import is_disk_full

log = logging.getLogger(__name__)

JOB_FILE = "job.json"
DOCS_FILE = "docs.jsonl"
DATA_FILE = "data.json"
EVAL_BEFORE_FILE = "eval_before.json"
ADAPTER_FILE = "adapter.gguf"
REPORT_FILE = "report.json"
CANCEL_FLAG = "cancel.flag"
#: while this file exists in the run folder, training waits between steps
PAUSE_FLAG = "pause.flag"


@dataclass
class JobSpec:
    """What to train (job.json in the run folder).

    Attributes:
        model_path: the chat model's GGUF file (the base).
        config: trainer settings (TrainConfig as a dict).
        deadline: seconds since the epoch by which everything must end; None = no limit.
        qa_pairs: question-answer pairs to generate (0 = none).
        replay: general prompts answered by the base model for replay (0 = none).
        heldout_fraction: share of documents held out for evaluation.
        general_margin: allowed relative rise of general-text perplexity (0.03 = 3%).
        eval_max_tokens: tokens scored per perplexity figure (bounds the time).
        recall: generated questions kept out of training and asked before/after (0 = none).
        check: fill-in-the-blank questions about the training documents kept out of
            training and asked before/after, with the passage quoted as the chat does.
        grounded: cloze questions turned into grounded answering examples, in the chat's
            own prompt with a distractor passage (RAFT; 0 = none, and then QA pairs are
            trained as plain exchanges only).
        heldout_answers: grounded examples drawn from the held-out documents, whose
            answers' loss picks the check training keeps and decides the promotion (0 =
            none: held-out perplexity does both).
        register: add the adapter to the registry (and activate it if promoted).
        adapters_root: registry folder (None: data_dir()/"adapters").
    """

    model_path: str
    config: dict[str, Any] = field(default_factory=dict)
    deadline: float | None = None
    qa_pairs: int = 12
    replay: int = 8
    heldout_fraction: float = 0.15
    general_margin: float = 0.03
    eval_max_tokens: int = 4096
    recall: int = 3
    check: int = 12
    grounded: int = 300
    heldout_answers: int = 32
    register: bool = True
    adapters_root: str | None = None
    created: float = field(default_factory=time.time)

    def train_config(self) -> TrainConfig:
        return TrainConfig(**self.config)

    def save(self, run_dir: Path) -> None:
        atomic_write_bytes(run_dir / JOB_FILE, json.dumps(asdict(self), indent=2).encode())

    @classmethod
    def load(cls, run_dir: Path) -> JobSpec:
        raw = json.loads((run_dir / JOB_FILE).read_text())
        return cls(**raw)


def write_documents(run_dir: Path, documents: list[Document]) -> None:
    """Store the documents to learn from (docs.jsonl, one {"path", "text"} per line)."""
    lines = "".join(json.dumps({"path": p, "text": t}, ensure_ascii=False) + "\n" for p, t in documents)
    atomic_write_bytes(run_dir / DOCS_FILE, lines.encode("utf-8"))


def read_documents(run_dir: Path) -> list[Document]:
    out: list[Document] = []
    with open(run_dir / DOCS_FILE, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out.append((row["path"], row["text"]))
    return out


def _event(kind: EventKind, phase: str, message: str, **data: Any) -> ProgressEvent:
    return ProgressEvent("personalize", kind, phase, message=message, data={"phase": phase, **data})


def llama_generator(backend: Any) -> Any:
    """Wrap a loaded LlamaBackend as a greedy prompt -> answer function."""
    from desktop.core.engine import SamplingParams

    def generate(prompt: str, max_tokens: int) -> str:
        params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=0)
        return "".join(
            e.text for e in backend.generate([{"role": "user", "content": prompt}], params)
            if e.kind == "token"
        )

    return generate


def prepare_data(run_dir: Path, spec: JobSpec, tokenizer: Any, cancel: CancelToken) -> Iterator[ProgressEvent]:
    """Build data.json (once per run) from docs.jsonl."""
    cfg = spec.train_config()
    documents = read_documents(run_dir)
    if not documents:
        raise ValueError("No documents to learn from. Add documents to your library first.")
    qa, replay = [], []
    if spec.qa_pairs > 0 or spec.replay > 0:
        from desktop.core.engine import EngineOptions
        from desktop.core.engine.llama import LlamaBackend
        from desktop.core.personalize.dataset import split_by_document

        train_paths, _ = split_by_document([p for p, _ in documents], spec.heldout_fraction, cfg.seed)
        train_set = set(train_paths)
        # generating data may use at most a fifth of the time budget (the rest trains)
        gen_deadline = None
        if spec.deadline is not None:
            gen_deadline = time.time() + 0.2 * max(0.0, spec.deadline - time.time())
        with LlamaBackend() as backend:
            backend.load(spec.model_path, EngineOptions(n_ctx=2048, n_threads=training_threads(cfg.threads)))
            gen = llama_generator(backend)
            yield _event("progress", "data", "Writing practice questions from your documents…")
            qa = generate_qa([d for d in documents if d[0] in train_set], gen, spec.qa_pairs, cancel,
                             seed=cfg.seed, deadline=gen_deadline)
            yield _event("progress", "data", f"{len(qa)} question-answer pairs written. "
                         "Answering general questions to keep general skills…", qa_pairs=len(qa))
            replay = generate_replay(gen, spec.replay, cancel=cancel, deadline=gen_deadline)
    cancel.raise_if_cancelled()

    def tokenize(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False).input_ids)

    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    data = build_training_data(
        documents, tokenize, int(eos), cfg.seq_len, qa, replay, spec.heldout_fraction, cfg.seed,
        n_recall=spec.recall, n_grounded=spec.grounded, n_check=spec.check,
        n_heldout_answers=spec.heldout_answers,
    )
    atomic_write_bytes(run_dir / DATA_FILE, json.dumps(asdict(data)).encode())
    yield _event("progress", "data", f"{data.summary['train_tokens']} training tokens in "
                 f"{data.summary['sequences']} sequences; {len(data.heldout_paths)} documents held out.",
                 summary=data.summary)


def load_data(run_dir: Path) -> TrainingData:
    raw = json.loads((run_dir / DATA_FILE).read_text())
    return TrainingData(**raw)


def run_job(run_dir: Path, cancel: CancelToken | None = None) -> Iterator[ProgressEvent]:
    """Run (or resume) the job in ``run_dir``; see the module docstring for the phases.

    The last event is "done" (data["report"]), "cancelled" or "error" (message says why).
    """
    import torch

    from desktop.core.personalize import evaluate as ev
    from desktop.core.personalize.export import AdapterMetadata, export_peft_model
    from desktop.core.personalize.registry import AdapterRegistry, base_hash
    from desktop.core.personalize.schedule import plan_steps
    from desktop.core.personalize.trainer import (
        Trainer,
        TrainingError,
        add_lora,
        check_personalizable,
        load_base_model,
        load_tokenizer,
        pick_device,
    )

    token = cancel or CancelToken()
    run_dir = Path(run_dir)
    sweep_temporaries(run_dir)  # a killed earlier attempt's half-written checkpoint or adapter
    spec = JobSpec.load(run_dir)
    cfg = spec.train_config()
    threads = training_threads(cfg.threads)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    model_path = Path(spec.model_path)
    t_start = time.time()
    try:
        architecture = check_personalizable(model_path)
        yield _event("progress", "data", "Reading the model's tokenizer…")
        tokenizer = load_tokenizer(model_path)
        if not (run_dir / DATA_FILE).exists():
            yield from prepare_data(run_dir, spec, tokenizer, token)
        data = load_data(run_dir)
        if token.cancelled:
            yield _event("cancelled", "data", "Cancelled before training started.")
            return
        device = pick_device(cfg.device)
        yield _event("progress", "train", f"Loading {model_path.name} for training on {device} "
                     f"with {threads} thread(s)…", device=device, threads=threads)
        model = add_lora(load_base_model(model_path, device), cfg.rank, cfg.alpha, cfg.dropout)
        general_tokens = [list(tokenizer(ev.general_text(), add_special_tokens=False).input_ids)]

        before_path = run_dir / EVAL_BEFORE_FILE
        if before_path.exists():
            before = json.loads(before_path.read_text())
        else:
            yield _event("progress", "evaluate", "Measuring the model before training…")
            t0 = time.time()
            before = {
                "heldout": ev.perplexity(model, data.heldout, cfg.seq_len, spec.eval_max_tokens, adapter=False),
                "general": ev.perplexity(model, general_tokens, cfg.seq_len, spec.eval_max_tokens, adapter=False),
                "answers": ev.answer_loss(model, data.heldout_answers, adapter=False),
                "seconds": time.time() - t0,
            }
            atomic_write_bytes(before_path, json.dumps(before).encode())

        trainer = Trainer(model, data.sequences, cfg, run_dir, deadline=spec.deadline,
                          reserve_s=float(before["seconds"]) + 60.0, loss_from=data.loss_from)
        trainer.load_checkpoint()

        def plan(seconds_per_step: float) -> int:
            if spec.deadline is None:
                return trainer.total_steps
            p = plan_steps(spec.deadline - time.time(), seconds_per_step, trainer.reserve_s,
                           trainer.steps_per_epoch, cfg.max_epochs, min_steps=trainer.step + 1)
            return p.steps

        def general_holds() -> bool:
            """General text no less likely than the promotion allows (the same measure as
            after training, :func:`.evaluate.decide_promotion`): about 3 s a check."""
            now = ev.perplexity(trainer.model, general_tokens, cfg.seq_len, spec.eval_max_tokens)
            return now is None or before["general"] is None or now <= before["general"] * (1 + spec.general_margin)

        def heldout_check() -> float | None:
            """What the promotion measures on what training does not see: the loss of the
            held-out grounded examples' answers, else the held-out documents' perplexity.
            Answers, because perplexity is not what they need: in 60-minute runs on
            squad-a's articles (``hearth-bench qa``) held-out perplexity was best after
            370 of 3,129 steps, yet the adapter of all the steps answered better (F1
            1.27x the library's against 1.22x)."""
            if data.heldout_answers and before.get("answers") is not None:
                return ev.answer_loss(trainer.model, data.heldout_answers)
            return ev.perplexity(trainer.model, data.heldout, cfg.seq_len, spec.eval_max_tokens)

        for event in trainer.run(token, plan, guard=general_holds, validate=heldout_check):
            event.job = "personalize"
            event.data["phase"] = "train"
            yield event
        result = trainer.result
        if result.status == "cancelled":
            yield _event("cancelled", "train", result.message, step=result.steps)
            return
        if result.status == "diverged" and trainer.best_state is None:
            yield _event("error", "train", result.message + " Nothing was changed.", reason="diverged")
            return

        yield _event("progress", "evaluate", "Measuring the model after training…")
        after = {
            "heldout": ev.perplexity(model, data.heldout, cfg.seq_len, spec.eval_max_tokens),
            "general": ev.perplexity(model, general_tokens, cfg.seq_len, spec.eval_max_tokens),
            "answers": ev.answer_loss(model, data.heldout_answers) if before.get("answers") is not None else None,
        }
        sha = base_hash(model_path)
        summary = {**data.summary, "files": len(data.train_paths) + len(data.heldout_paths)}
        meta = AdapterMetadata(base_sha256=sha, base_name=model_path.name, rank=cfg.rank,
                               alpha=cfg.alpha, data_summary=summary)
        yield _event("progress", "export", "Writing the adapter for the chat engine…")
        adapter_path = export_peft_model(model, run_dir / ADAPTER_FILE, meta,
                                         architecture=architecture)
        trainer.model = None  # free the training copy before llama.cpp loads
        del model
        recall: list[dict[str, Any]] = []
        if data.recall:
            yield _event("progress", "recall", "Asking questions about your documents before and after…")
            recall = ev.recall_questions(model_path, adapter_path, data.recall, threads=threads,
                                         max_tokens=FACTUAL_MAX_TOKENS)
        promotion = ev.decide_promotion(before["heldout"], after["heldout"], before["general"],
                                        after["general"], spec.general_margin,
                                        before.get("answers"), after["answers"])
        if result.status == "diverged":
            promotion = ev.Promotion(False, result.message + " The adapter is saved but not switched on.")
        report = {
            "created": time.time(),
            "status": result.status,
            "message": result.message,
            "run_created": spec.created,
            "base_model": model_path.name,
            "base_sha256": sha,
            "steps": result.steps,
            "planned_steps": result.total_steps,
            "train_tokens_seen": result.tokens,
            "train_seconds": round(result.seconds, 1),
            "total_seconds": round(time.time() - t_start, 1),
            "train_loss": result.final_loss,
            "heldout_ppl_before": before["heldout"],
            "heldout_ppl_after": after["heldout"],
            "heldout_change": ev.relative_change(before["heldout"], after["heldout"]),
            "general_ppl_before": before["general"],
            "general_ppl_after": after["general"],
            "general_change": ev.relative_change(before["general"], after["general"]),
            "general_margin": spec.general_margin,
            "heldout_answer_loss_before": before.get("answers"),
            "heldout_answer_loss_after": after["answers"],
            "heldout_answer_change": ev.relative_change(before.get("answers"), after["answers"]),
            "promoted": promotion.promote,
            "promotion_reason": promotion.reason,
            "recall": recall,
            **ev.answer_change(recall),
            "data": summary,
            "train_files": data.train_paths,
            "heldout_files": data.heldout_paths,
            "config": asdict(cfg),
        }
        if spec.register:
            registry = AdapterRegistry(Path(spec.adapters_root) if spec.adapters_root else None)
            # named after the run, so a run killed after registering does not register twice
            name = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(spec.created))
            entry = registry.get(name) if registry.has(name) else None
            if entry is None or entry.report.get("run_created") != spec.created:
                entry = registry.add(adapter_path, report, name)
            report["name"] = entry.name
            if promotion.promote:
                registry.use(entry.name, model_path)
            atomic_write_bytes(entry.path.parent / REPORT_FILE, json.dumps(report, indent=2, default=str).encode())
        atomic_write_bytes(run_dir / REPORT_FILE, json.dumps(report, indent=2, default=str).encode())
        finish_run(run_dir)
        if spec.register:
            (run_dir / ADAPTER_FILE).unlink(missing_ok=True)  # the registry holds its copy
        yield ProgressEvent("personalize", "done", "done", message=promotion.reason,
                            data={"phase": "done", "report": report})
    except (TrainingError, ValueError, OSError) as exc:
        log.exception("personalization failed")
        if is_disk_full(exc):
            yield _event("error", "error", (
                f"The disk holding Hearth's data ({run_dir.parent}) is full, so personalization "
                "stopped. Your adapters and the last checkpoint are kept. Free some space, then "
                "start personalization again: it continues where it stopped."), reason="disk_full")
        else:
            yield _event("error", "error", str(exc))


def finish_run(run_dir: Path) -> None:
    """Remove what only an unfinished run needs (checkpoint, data), keep the report."""
    for name in (CHECKPOINT_FILE, DATA_FILE, DOCS_FILE, EVAL_BEFORE_FILE, JOB_FILE, CANCEL_FLAG, PAUSE_FLAG):
        try:
            os.remove(run_dir / name)
        except FileNotFoundError:
            pass
    shutil.rmtree(run_dir / "best", ignore_errors=True)


def format_report(report: dict[str, Any]) -> str:
    """The morning report as plain text (CLI, notification, log)."""

    def ppl(v: Any) -> str:
        return f"{v:.2f}" if isinstance(v, (int, float)) else "n/a"

    def pct(v: Any) -> str:
        return f"{v:+.1%}" if isinstance(v, (int, float)) else "n/a"

    d = report.get("data", {})
    lines = [
        f"Personal adapter {report.get('name', '')} for {report.get('base_model', '?')}",
        f"  {report.get('message', '')}",
        f"  Learned from {d.get('train_documents', '?')} documents "
        f"({d.get('train_tokens', '?')} tokens, {d.get('qa_pairs', 0)} practice questions, "
        f"{d.get('replay_answers', 0)} general answers); {d.get('heldout_documents', '?')} held out.",
        f"  Held-out documents: perplexity {ppl(report.get('heldout_ppl_before'))} -> "
        f"{ppl(report.get('heldout_ppl_after'))} ({pct(report.get('heldout_change'))})",
        f"  General text:       perplexity {ppl(report.get('general_ppl_before'))} -> "
        f"{ppl(report.get('general_ppl_after'))} ({pct(report.get('general_change'))})",
        *([f"  Held-out answers:   loss {ppl(report.get('heldout_answer_loss_before'))} -> "
           f"{ppl(report.get('heldout_answer_loss_after'))} ({pct(report.get('heldout_answer_change'))})"]
          if report.get("heldout_answer_loss_before") is not None else []),
        f"  {report.get('promotion_reason', '')}",
    ]
    if report.get("answers_n"):
        lines.append(f"  Questions about your documents it did not practise on ({report['answers_n']}): "
                     f"{report['answers_correct_before']} right before, {report['answers_correct_after']} "
                     f"after (F1 {report['answers_f1_before']:.2f} -> {report['answers_f1_after']:.2f})")
    for row in report.get("recall", []):
        lines.append(f"  Q: {row['question']}")
        lines.append(f"     expected: {row['reference'][:120]}")
        lines.append(f"     before ({row['score_before']:.2f}): {row['before'][:120]!r}")
        lines.append(f"     after  ({row['score_after']:.2f}): {row['after'][:120]!r}")
    return "\n".join(lines)
