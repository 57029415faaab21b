"""``hearth-bench qa --data DIR``: are Hearth's answers about the user's documents right?

``DIR`` is in the layout of ``../shared/data/qa/squad-a``: ``docs/*.txt`` or ``.md`` (a
title line, then paragraphs separated by blank lines; ``desktop/bench/notes_qa`` holds
personal notes in this layout) and ``questions.jsonl`` (``id``, ``article``,
``question``, ``answers``).  The documents are indexed into a fresh library (a temporary
``HEARTH_HOME``) by the product's own indexing, and every sampled question is asked
through :class:`desktop.core.chat.ChatService` -- the path the window's chat takes -- each
in a conversation of its own, in these modes on the same sample:

- ``closed``: no library;
- ``oracle``: the one paragraph that holds a gold answer is the only source: the ceiling
  for this model, prompt and decoding;
- ``library``: the product's retrieval, as a user gets it;
- ``library+adapter``: the same with a personal adapter (``--adapter FILE.gguf``, or
  ``--train-minutes N`` to let the product's personalization train one on ``DIR/docs``
  alone first; never on the questions);
- ``unanswerable`` (with ``--leave-out N``): questions about N articles that were left out
  of the library; the right reply says it is not in the user's files.

Scoring is SQuAD v1.1's (Rajpurkar et al. 2016, the official ``evaluate-v1.1.py``):
answers and replies are lower-cased, stripped of punctuation and of the articles a/an/the,
and whitespace-collapsed; exact match and token F1 take the best gold answer.  Also the
share of replies that contain a gold answer (normalised), seconds per answer, and for the
library modes answer recall@k (a gold answer is in one of the passages given to the model)
and the share of "not in your files" replies; for every mode with sources, the share of
replies shown with a warning that they do not rest on them (``ungrounded``:
:func:`desktop.core.answering.grounded`, or numbers or names they do not hold,
:func:`desktop.core.answering.unsupported_values`) and those replies' F1.  ``--replies FILE`` keeps every reply, one JSON line each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import string
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("closed", "oracle", "library", "library+adapter", "unanswerable")


# -- scoring (SQuAD v1.1) ----------------------------------------------------------------

#: the documents of ``DIR/docs`` that are read (an article is a file name without it)
DOC_SUFFIXES = (".txt", ".md")

def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 of one prediction against one gold answer (SQuAD v1.1)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Whether a normalised gold answer appears, as whole words, in normalised ``text``."""
    norm = f" {normalize_answer(text)} "
    return any(g and f" {g} " in norm for g in (normalize_answer(a) for a in golds))


def score(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """(F1, exact match) against the best gold answer."""
    return (max(f1_score(prediction, g) for g in golds), max(exact_match(prediction, g) for g in golds))


# -- data ----------------------------------------------------------------------------------

@dataclass
class Question:
    id: str
    article: str
    question: str
    answers: list[str]
    paragraph: str = ""


def load_questions(data: Path) -> list[Question]:
    path = data / "questions.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: --data must hold docs/ and questions.jsonl")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out.append(Question(str(row["id"]), row["article"], row["question"], list(row["answers"])))
    return out


def paragraphs(doc: Path) -> list[str]:
    """The article's paragraphs (blank-line separated), the title line left out."""
    parts = [p.strip() for p in doc.read_text(encoding="utf-8").split("\n\n")]
    return [p for p in parts[1:] if p] or [p for p in parts if p]


def oracle_paragraph(q: Question, paras: Sequence[str]) -> str:
    """The paragraph that holds a gold answer; where several do, the one sharing the most
    words with the question (the crowd worker wrote the question while reading it)."""
    words = set(normalize_answer(q.question).split())
    holding = [p for p in paras if any(a and a in p for a in q.answers)]
    if not holding:
        return ""
    return max(holding, key=lambda p: len(words & set(normalize_answer(p).split())))


def sample(questions: Sequence[Question], limit: int, seed: int,
           articles: Sequence[str] | None = None) -> list[Question]:
    """``limit`` questions spread evenly across articles (round robin over each article's
    questions in a seeded shuffle); 0 means all."""
    rng = random.Random(seed)
    by_article: dict[str, list[Question]] = {}
    for q in questions:
        if articles is None or q.article in articles:
            by_article.setdefault(q.article, []).append(q)
    for qs in by_article.values():
        rng.shuffle(qs)
    order = sorted(by_article)
    out: list[Question] = []
    i = 0
    total = sum(len(v) for v in by_article.values())
    limit = limit or total
    while len(out) < min(limit, total):
        for name in order:
            if i < len(by_article[name]) and len(out) < limit:
                out.append(by_article[name][i])
        i += 1
    return out


# -- asking ------------------------------------------------------------------------------

class OracleContext:
    """A context provider that gives the chat one passage: the gold paragraph; sentence
    similarity comes from ``library`` (the same path as the library modes)."""

    def __init__(self, library: Any) -> None:
        self.passage: Any = None
        self.library = library

    def sources_for(self, query: str, collections: Sequence[str] | None, budget_tokens: int,
                    exclude_conversation: int | None = None) -> list[Any]:
        return [self.passage] if self.passage is not None else []

    def has_documents(self, collections: Sequence[str] | None) -> bool:
        return True

    def files_waiting(self, collections: Sequence[str] | None) -> int:
        return 0

    def mentions(self, query: str, collections: Sequence[str] | None) -> bool:
        return self.library.mentions(query, collections)

    def similarity(self, query: str, texts: Sequence[str]) -> list[float]:
        return self.library.similarity(query, texts)

    def correct_spelling(self, query: str, collections: Sequence[str] | None) -> str:
        return self.library.correct_spelling(query, collections)

    def remember(self, conversation_id: int, title: str, question: str, answer: str) -> None:
        return None

    def forget(self, conversation_id: int, question: str, answer: str) -> None:
        return None


@dataclass
class ModeResult:
    f1: list[float] = field(default_factory=list)
    em: list[float] = field(default_factory=list)
    contains: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    not_found: list[float] = field(default_factory=list)
    ungrounded: list[float] = field(default_factory=list)
    ungrounded_f1: list[float] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")


def ask(chat: Any, history: Any, q: Question, use_library: bool) -> tuple[str, list[Any], float, bool]:
    """Ask ``q`` in a new conversation through ``chat``: (reply, sources given, seconds,
    whether the reply was shown with a warning that its sources do not hold it)."""
    conv = history.create_conversation(title=f"qa {q.id}")
    if not use_library:
        history.update_conversation(conv.id, use_library=False)
    t0 = time.perf_counter()
    reply, sources, ungrounded = "", [], False
    for ev in chat.send(conv.id, q.question):
        if ev.kind == "sources":
            sources = ev.sources
        elif ev.kind == "finished" and ev.message is not None:
            reply = ev.message.content
            ungrounded = bool(ev.message.meta.get("ungrounded") or ev.message.meta.get("unsupported"))
    return reply, sources, time.perf_counter() - t0, ungrounded


def run(args: argparse.Namespace) -> int:
    data: Path = args.data
    docs_dir = data / "docs"
    if not docs_dir.is_dir():
        raise SystemExit(f"{docs_dir} not found: --data must hold docs/ and questions.jsonl")
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown mode(s) {sorted(unknown)}; choose from {', '.join(MODES)}")
    if "library+adapter" in modes and not (args.adapter or args.train_minutes):
        modes.remove("library+adapter")
        print("library+adapter skipped: give --adapter FILE.gguf or --train-minutes N")
    files = {p.stem: p for p in sorted(docs_dir.iterdir()) if p.suffix in DOC_SUFFIXES}
    articles = sorted(files)
    rng = random.Random(args.seed)
    left_out = sorted(rng.sample(articles, args.leave_out)) if args.leave_out else []
    indexed = [a for a in articles if a not in left_out]
    questions = load_questions(data)
    chosen = sample(questions, args.limit, args.seed, indexed)
    unanswerable = sample(questions, args.limit_unanswerable or args.limit, args.seed, left_out) \
        if left_out and "unanswerable" in modes else []
    paras = {a: paragraphs(files[a]) for a in articles}
    for q in chosen:
        q.paragraph = oracle_paragraph(q, paras[q.article])

    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="hearth-bench-qa-")
    home = Path(tmp.name) if tmp is not None else args.work
    home.mkdir(parents=True, exist_ok=True)
    os.environ["HEARTH_HOME"] = str(home)
    from desktop.core.app import HearthCore
    from desktop.core.chat import ChatService
    from desktop.core.sources import Source

    corpus = home / "documents"
    corpus.mkdir(exist_ok=True)
    for a in indexed:  # the library sees only the articles not left out
        (corpus / files[a].name).write_bytes(files[a].read_bytes())
    core = HearthCore()
    results: dict[str, ModeResult] = {}
    training: dict[str, Any] = {}
    replies = open(args.replies, "w", encoding="utf-8") if args.replies else None
    try:
        if args.threads:
            core.settings.chat.n_threads = args.threads
        # every question is asked several times (once per mode): memory would recall the
        # benchmark's own earlier replies, which no user has
        core.settings.library.memory_enabled = False
        core.use_model(args.model or None, remember=False)
        t0 = time.monotonic()
        for _ in core.library.index_paths([corpus]):  # files already indexed are skipped
            pass
        index_s = time.monotonic() - t0
        print(f"indexed {len(indexed)} articles ({core.library.chunk_count('default')} chunks) "
              f"in {index_s:.0f} s; {len(chosen)} questions"
              + (f", {len(unanswerable)} about {len(left_out)} left-out articles" if unanswerable else ""))
        oracle = OracleContext(core.library)
        oracle_chat = ChatService(core.history, core.engine, core.settings.chat, context=oracle)
        adapter_path = ""
        if "library+adapter" in modes:
            adapter_path = args.adapter
            if not adapter_path:
                adapter_path, training = train_adapter(core, corpus, args.train_minutes)
        for mode in modes:
            res = results.setdefault(mode, ModeResult())
            if mode == "library+adapter":
                core.engine.set_adapters([(adapter_path, 1.0)])
            elif "library+adapter" in modes:
                core.engine.set_adapters([])
            qs = unanswerable if mode == "unanswerable" else chosen
            for n, q in enumerate(qs, 1):
                if mode == "oracle":
                    oracle.passage = Source(kind="document", title=files[q.article].name, text=q.paragraph,
                                            path=str(corpus / files[q.article].name))
                    reply, sources, secs, ungrounded = ask(oracle_chat, core.history, q, True)
                else:
                    reply, sources, secs, ungrounded = ask(core.chat, core.history, q, mode != "closed")
                measure(res, mode, q, reply, sources, secs, ungrounded)
                if replies is not None:
                    replies.write(json.dumps({
                        "mode": mode, "id": q.id, "question": q.question, "answers": q.answers,
                        "reply": reply, "f1": round(score(reply, q.answers)[0], 4),
                        "ungrounded": ungrounded, "sources": [s.text for s in sources]}) + "\n")
                if args.verbose:
                    print(f"[{mode} {n}/{len(qs)}] {q.question} -> {reply!r} (gold {q.answers[0]!r})",
                          flush=True)
        if "library+adapter" in modes:
            core.engine.set_adapters([])
    finally:
        if replies is not None:
            replies.close()
        core.close()
        if tmp is not None:
            tmp.cleanup()
    report(results, len(chosen), args, training)
    return 0


def measure(res: ModeResult, mode: str, q: Question, reply: str, sources: Sequence[Any],
            secs: float, ungrounded: bool = False) -> None:
    from desktop.core.answering import is_not_found

    not_found = is_not_found(reply)
    if mode != "closed":
        res.ungrounded.append(float(ungrounded))
    if mode == "unanswerable":
        res.not_found.append(float(not_found))
        res.seconds.append(secs)
        return
    f1, em = score(reply, q.answers)
    if ungrounded:
        res.ungrounded_f1.append(f1)
    res.f1.append(f1)
    res.em.append(em)
    res.contains.append(float(contains_answer(reply, q.answers)))
    res.seconds.append(secs)
    if mode.startswith("library"):
        res.recall.append(float(any(contains_answer(s.text, q.answers) for s in sources)))
        res.not_found.append(float(not_found))
    if len(res.examples) < 3:
        res.examples.append({"question": q.question, "gold": q.answers[0], "reply": reply})


def report(results: dict[str, ModeResult], n: int, args: argparse.Namespace,
           training: dict[str, Any] | None = None) -> None:
    from desktop.bench import print_json_line, print_table

    mean = ModeResult.mean
    rows = []
    for mode, r in results.items():
        rows.append([mode, len(r.seconds), mean(r.f1), mean(r.em), mean(r.contains), mean(r.seconds),
                     mean(r.recall) if r.recall else "", mean(r.not_found) if r.not_found else "",
                     mean(r.ungrounded) if r.ungrounded else "",
                     mean(r.ungrounded_f1) if r.ungrounded_f1 else ""])
    print_table(["mode", "n", "F1", "EM", "contains gold", "s/answer", "recall@k", "not found",
                 "ungrounded", "F1 ungrounded"], rows)
    for mode, r in results.items():
        for ex in r.examples[:2]:
            print(f"  {mode}: {ex['question']} -> {ex['reply'][:160]!r} (gold: {ex['gold']!r})")
    figures: dict[str, Any] = {"bench": "qa", "data": str(args.data), "n": n, "seed": args.seed}
    for mode, r in results.items():
        key = mode.replace("+", "_")
        if r.ungrounded:
            figures[f"{key}_ungrounded"] = round(mean(r.ungrounded), 4)
        if mode == "unanswerable":
            figures["unanswerable_not_found"] = round(mean(r.not_found), 4)
            figures["unanswerable_n"] = len(r.not_found)
            continue
        figures[f"{key}_f1"] = round(mean(r.f1), 4)
        figures[f"{key}_em"] = round(mean(r.em), 4)
        figures[f"{key}_contains"] = round(mean(r.contains), 4)
        figures[f"{key}_seconds"] = round(mean(r.seconds), 3)
        if r.recall:
            figures[f"{key}_recall_at_k"] = round(mean(r.recall), 4)
            figures[f"{key}_not_found"] = round(mean(r.not_found), 4)
    if "library" in results and "oracle" in results and figures.get("oracle_f1"):
        figures["library_vs_oracle"] = round(figures["library_f1"] / figures["oracle_f1"], 4)
    if figures.get("library_adapter_f1") is not None and figures.get("library_f1"):
        figures["adapter_vs_library"] = round(figures["library_adapter_f1"] / figures["library_f1"], 4)
    for key, value in (training or {}).items():  # the adapter trained here: its perplexities
        figures[f"adapter_{key}"] = round(value, 4) if isinstance(value, float) else value
    print_json_line(figures)


#: the figures of the personalization report the JSON line carries, as ``adapter_<key>``
TRAINING_FIGURES = ("steps", "planned_steps", "train_seconds", "heldout_ppl_before", "heldout_ppl_after",
                    "heldout_change", "general_ppl_before", "general_ppl_after", "general_change",
                    "heldout_answer_loss_before", "heldout_answer_loss_after", "heldout_answer_change",
                    "promoted")


def train_adapter(core: Any, corpus: Path, minutes: float) -> tuple[str, dict[str, Any]]:
    """Train a personal adapter on the documents in ``corpus`` alone, through the product's
    personalization job (data, training, export) with a deadline ``minutes`` from now.
    Prints its morning report (perplexity on held-out documents and on general text,
    before and after) and returns its GGUF file (kept in the benchmark's temporary folder)
    and the report's :data:`TRAINING_FIGURES`."""
    from dataclasses import asdict

    from desktop.core.personalize.dataset import read_folder
    from desktop.core.personalize.pipeline import (
        ADAPTER_FILE,
        JobSpec,
        format_report,
        run_job,
        write_documents,
    )
    from desktop.core.personalize.trainer import TrainConfig

    run_dir = corpus.parent / "personalize-run"
    run_dir.mkdir(exist_ok=True)
    write_documents(run_dir, list(read_folder(corpus)))
    model = core.engine.model.path if core.engine.model else str(core.current_model_path())
    JobSpec(model_path=str(model), config=asdict(TrainConfig()), deadline=time.time() + minutes * 60,
            register=False, recall=0, check=0).save(run_dir)
    trained: dict[str, Any] = {}
    stopped = ""
    for event in run_job(run_dir):
        if event.kind in ("error", "cancelled"):  # a run that diverged goes on with its best adapter
            stopped = event.message
            print(f"personalization: {event.message}")
        if event.kind == "done":
            trained = event.data.get("report", {})
            print(format_report(trained))
    if not trained:
        raise SystemExit(f"personalization failed: {stopped}")
    return str(run_dir / ADAPTER_FILE), {k: trained.get(k) for k in TRAINING_FIGURES}


def register(sub: Any) -> None:
    p = sub.add_parser("qa", help="answer correctness on documents with gold answers (SQuAD layout)")
    p.add_argument("--data", type=Path, required=True, help="folder with docs/*.txt (or .md) and questions.jsonl")
    p.add_argument("--limit", type=int, default=300, help="questions, spread evenly over articles (0: all)")
    p.add_argument("--seed", type=int, default=13, help="seed of the question sample")
    p.add_argument("--model", default=None, help="GGUF chat model (default: the built-in model)")
    p.add_argument("--adapter", default=None, help="personal adapter (GGUF) for library+adapter")
    p.add_argument("--train-minutes", type=float, default=0.0,
                   help="train a personal adapter on DIR/docs for this long first (library+adapter)")
    p.add_argument("--modes", default="closed,oracle,library",
                   help=f"comma-separated, from {', '.join(MODES)}")
    p.add_argument("--leave-out", type=int, default=0,
                   help="leave N articles out of the library and ask their questions (unanswerable)")
    p.add_argument("--limit-unanswerable", type=int, default=0,
                   help="questions about left-out articles (default: --limit)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for the model (0: setting)")
    p.add_argument("--work", type=Path, default=None,
                   help="keep the library (and Hearth's data) here and reuse it on the next run")
    p.add_argument("--verbose", action="store_true", help="print every question and reply")
    p.add_argument("--replies", type=Path, default=None,
                   help="write every reply as a JSON line (mode, id, question, answers, reply, f1, "
                        "ungrounded, sources) to this file")
    p.set_defaults(func=run)
