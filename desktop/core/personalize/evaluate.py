"""Evaluation for the morning report: perplexity before/after, recall questions, and the
rule that decides whether a new adapter becomes active.

Perplexity is exp(mean next-token negative log-likelihood) over non-overlapping windows
of ``seq_len`` tokens (Jelinek et al. 1977; the windowing of Hugging Face's "Perplexity
of fixed-length models" guide with stride = window).  "Before" is the same PyTorch model
with the adapter disabled, so both figures use the same weights and code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.paths import resource_path

GENERAL_TEXT = ("personalize", "general.txt")
DEFAULT_GENERAL_MARGIN = 0.03  # the goal: general text at most 3% worse


def general_text() -> str:
    """The built-in general-domain text (resources/personalize/general.txt)."""
    return resource_path(*GENERAL_TEXT).read_text(encoding="utf-8")


def perplexity(
    model: Any,
    token_lists: Sequence[Sequence[int]],
    seq_len: int,
    max_tokens: int = 8192,
    adapter: bool = True,
    chunk: int = 128,
) -> float | None:
    """Perplexity of ``model`` on documents given as token ids.

    Args:
        token_lists: one token list per document; windows never span documents.
        seq_len: window length in tokens.
        max_tokens: stop after this many scored tokens (bounds the time).
        adapter: False evaluates a PEFT model with its adapter disabled (the base).
    Returns:
        perplexity (>= 1), or None when there are fewer than 2 tokens.
    """
    import contextlib

    import torch

    from desktop.core.personalize.trainer import chunked_lm_loss

    device = next(model.parameters()).device
    ctx = contextlib.nullcontext() if adapter or not hasattr(model, "disable_adapter") else model.disable_adapter()
    total, count = 0.0, 0
    model.eval()
    with ctx, torch.no_grad():
        for toks in token_lists:
            for s in range(0, len(toks), seq_len):
                window = list(toks[s : s + seq_len])
                if len(window) < 2:
                    continue
                ids = torch.tensor([window], dtype=torch.long, device=device)
                loss_sum, n = chunked_lm_loss(model, ids, chunk, checkpoint=False)
                total += float(loss_sum)
                count += n
                if count >= max_tokens:
                    break
            if count >= max_tokens:
                break
    if count == 0:
        return None
    return math.exp(total / count)


def answer_loss(model: Any, examples: Sequence[dict[str, Any]], adapter: bool = True,
                chunk: int = 128) -> float | None:
    """Mean negative log-likelihood (nats per token) of the replies of chat examples given
    their prompts: how surely ``model`` gives the short grounded answer, and stops.

    Args:
        examples: {"ids": token ids of a whole exchange, "loss_from": index of the
            reply's first token} (:attr:`.dataset.TrainingData.heldout_answers`).
        adapter: False evaluates a PEFT model with its adapter disabled (the base).
    Returns:
        the mean over every reply token of the examples, or None when there are none.
    """
    import contextlib

    import torch

    from desktop.core.personalize.trainer import chunked_lm_loss, lm_targets

    device = next(model.parameters()).device
    ctx = contextlib.nullcontext() if adapter or not hasattr(model, "disable_adapter") else model.disable_adapter()
    total, count = 0.0, 0
    model.eval()
    with ctx, torch.no_grad():
        for ex in examples:
            ids = torch.tensor([list(ex["ids"])], dtype=torch.long, device=device)
            loss_sum, n = chunked_lm_loss(model, ids, chunk, checkpoint=False,
                                          targets=lm_targets(ids, [int(ex["loss_from"])]))
            total += float(loss_sum)
            count += n
    return total / count if count else None


def relative_change(before: float | None, after: float | None) -> float | None:
    """(after - before) / before, or None."""
    if before is None or after is None or before == 0:
        return None
    return (after - before) / before


@dataclass
class Promotion:
    """Whether the new adapter becomes active, and why (a sentence for the report)."""

    promote: bool
    reason: str


def decide_promotion(
    heldout_before: float | None,
    heldout_after: float | None,
    general_before: float | None,
    general_after: float | None,
    margin: float = DEFAULT_GENERAL_MARGIN,
    answers_before: float | None = None,
    answers_after: float | None = None,
) -> Promotion:
    """Activate only if what training did not see got better and general-text perplexity
    rose by at most ``margin`` (relative, 0.03 = 3%).  What training did not see: the
    answers of grounded examples from held-out documents (:func:`answer_loss`) where
    they were measured, since answers are what the adapter is for; else the held-out
    documents' perplexity."""
    held = relative_change(heldout_before, heldout_after)
    gen = relative_change(general_before, general_after)
    answers = relative_change(answers_before, answers_after)
    if answers is not None:
        if answers >= 0:
            return Promotion(False, f"Answers to questions about held-out documents did not improve "
                                    f"(loss {answers:+.1%}); the previous setting is kept.")
        if gen is not None and gen > margin:
            return Promotion(False, f"General text got {gen:+.1%} worse (limit {margin:.0%}); the previous "
                                    "setting is kept.")
        ppl = f", held-out perplexity {held:+.1%}" if held is not None else ""
        general = f", general text {gen:+.1%}" if gen is not None else ""
        return Promotion(True, f"Answers to questions about held-out documents: loss {answers:+.1%}"
                               f"{ppl}{general}: the new adapter is active.")
    if held is None:
        return Promotion(False, "There were no held-out documents to check the adapter on.")
    if held >= 0:
        return Promotion(False, f"Held-out perplexity did not improve ({held:+.1%}); the previous setting is kept.")
    if gen is not None and gen > margin:
        return Promotion(False, f"General text got {gen:+.1%} worse (limit {margin:.0%}); the previous setting is kept.")
    general = f", general text {gen:+.1%}" if gen is not None else ""
    return Promotion(True, f"Held-out perplexity {held:+.1%}{general}: the new adapter is active.")


_WORD = re.compile(r"\w+", re.U)


def answer_score(answer: str, reference: str) -> float:
    """Token-overlap F1 between an answer and the reference (SQuAD's F1, Rajpurkar et al.
    2016, on lower-cased words)."""
    a = [w.lower() for w in _WORD.findall(answer)]
    r = [w.lower() for w in _WORD.findall(reference)]
    if not a or not r:
        return 0.0
    common: dict[str, int] = {}
    for w in set(a):
        common[w] = min(a.count(w), r.count(w))
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(a), same / len(r)
    return 2 * precision * recall / (precision + recall)


def contains_reference(answer: str, reference: str) -> bool:
    """Whether ``answer`` holds ``reference``'s words in order (lower-cased, punctuation
    ignored): the answer states the fact, whatever it adds around it."""
    ref = " ".join(w.lower() for w in _WORD.findall(reference))
    return bool(ref) and f" {ref} " in " " + " ".join(w.lower() for w in _WORD.findall(answer)) + " "


def recall_questions(
    model_path: Path,
    adapter_path: Path,
    pairs: Sequence[dict[str, str]],
    scale: float = 1.0,
    threads: int = 1,
    max_tokens: int = 64,
) -> list[dict[str, Any]]:
    """Ask each question to the chat model without and with the exported adapter
    (llama.cpp, greedy), scoring answers against the reference with :func:`answer_score`
    and :func:`contains_reference`.

    A pair with a ``passage`` is asked as the chat asks a question about the user's files
    (the passage quoted in the prompt, :class:`desktop.core.answering.AnswerPlan`); one
    without it is asked bare.

    Returns one dict per question: question, reference, before, after, score_before,
    score_after, correct_before, correct_after.
    """
    if not pairs:
        return []
    from desktop.core.answering import AnswerPlan
    from desktop.core.engine import ChatMessage, EngineOptions, SamplingParams
    from desktop.core.engine.llama import LlamaBackend
    from desktop.core.sources import Source

    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=0)
    out: list[dict[str, Any]] = [
        {"question": p["question"], "reference": p["answer"]} for p in pairs
    ]
    prompts: list[list[ChatMessage]] = []
    for p in pairs:
        ask: list[ChatMessage] = [{"role": "user", "content": p["question"]}]
        if p.get("passage"):
            source = Source("document", Path(p.get("source", "")).name, p["passage"], path=p.get("source"))
            ask = AnswerPlan.make(p["question"], [source], searched=False).prompt(ask)
        prompts.append(ask)
    with LlamaBackend() as backend:
        backend.load(str(model_path), EngineOptions(n_ctx=2048, n_threads=threads))
        for label, adapters in (("before", []), ("after", [(str(adapter_path), scale)])):
            backend.set_adapters(adapters)
            for row, messages in zip(out, prompts, strict=True):
                text = "".join(e.text for e in backend.generate(messages, params) if e.kind == "token")
                row[label] = text.strip()
                row[f"score_{label}"] = answer_score(text, row["reference"])
                row[f"correct_{label}"] = contains_reference(text, row["reference"])
    return out


def answer_change(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals of :func:`recall_questions`' rows for the report: ``answers_n``, and for
    "before" and "after" the mean F1 (``answers_f1_*``) and the number of answers that
    state the reference (``answers_correct_*``).  Empty when there are no rows."""
    if not rows:
        return {}
    n = len(rows)
    return {
        "answers_n": n,
        **{f"answers_f1_{k}": round(sum(float(r.get(f"score_{k}", 0.0)) for r in rows) / n, 4)
           for k in ("before", "after")},
        **{f"answers_correct_{k}": sum(1 for r in rows if r.get(f"correct_{k}")) for k in ("before", "after")},
    }
