"""The morning report in plain words, for people who never heard of perplexity.

:func:`plain_summary` turns a run's report (the dictionary the pipeline stores, see
``pipeline.py``) into a headline and a few sentences; the figures stay available behind a
"details" fold (:func:`desktop.core.personalize.pipeline.format_report`).

How the figures are read: ``heldout_change`` is the relative change of perplexity on the
user's documents the run did not train on (negative = the model predicts the user's own
wording better); ``heldout_answer_change`` the same of the loss of short answers to
questions about them (negative = it gives the right answer more surely);
``general_change`` the same on general text (positive = worse).  A
change under ``UNCHANGED`` (2 %) is reported as "about the same": perplexity on a few
thousand tokens moves that much between runs of the same model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UNCHANGED = 0.02


@dataclass(frozen=True)
class PlainSummary:
    """A report in plain words.

    Attributes:
        headline: one sentence ("Hearth now does better on your documents: …").
        sentences: what it learned from, what changed in general, what happens now.
        examples: (question, answer before, answer after) from the before/after quiz.
    """

    headline: str
    sentences: list[str]
    examples: list[tuple[str, str, str]]

    def text(self) -> str:
        """The summary as plain text (headline, then one sentence a line)."""
        return "\n".join([self.headline, *self.sentences])


def _share(value: float) -> str:
    return f"{abs(value) * 100:.0f}%"


def plain_summary(report: dict[str, Any]) -> PlainSummary:
    """Describe a morning report without field jargon.

    Args:
        report: a run's report (keys heldout_change, general_change, promoted, data,
            recall, answers_n, answers_correct_before/after, status; any may be missing
            in an unfinished or failed run).
    Returns:
        a PlainSummary; never raises on missing or non-numeric figures.
    """
    change = report.get("heldout_change")
    answers = report.get("heldout_answer_change")
    general = report.get("general_change")
    promoted = bool(report.get("promoted"))
    d = report.get("data") or {}
    if isinstance(change, (int, float)) and change < -UNCHANGED:
        headline = (f"Hearth now does better on your documents: it predicts their wording "
                    f"{_share(change)} better than before.")
    elif isinstance(answers, (int, float)) and answers < -UNCHANGED:
        headline = "Hearth now answers questions about your documents better than before."
    elif isinstance(change, (int, float)) and change > UNCHANGED:
        headline = "This run made Hearth worse on your documents, so it is not used."
    elif isinstance(change, (int, float)):
        headline = "This run changed little: Hearth knows your documents about as well as before."
    else:
        headline = "Personalization did not finish measuring, so nothing changed in the chat."
    sentences = []
    files = d.get("train_documents")
    if isinstance(files, int):
        questions = int(d.get("qa_pairs") or 0)
        sentences.append(
            f"It learned from {files} of your documents"
            + (f" and {questions} practice questions about them." if questions else ".")
        )
    asked = report.get("answers_n")
    if isinstance(asked, int) and asked > 0:
        before, after = report.get("answers_correct_before"), report.get("answers_correct_after")
        sentences.append(f"Asked {asked} new questions about your documents, it answered {after} "
                         f"right, against {before} before.")
    if report.get("status") == "guarded":  # the trainer's guard on general text stopped it
        sentences.append("It stopped early, at the last point before its everyday language "
                         "would have got noticeably worse.")
    if report.get("status") == "early-stopped":  # the held-out check was best at an earlier check
        sentences.append("It kept the point of its training where it did best on documents it "
                         "had not trained on, before it began to learn yours by rote.")
    if isinstance(general, (int, float)):
        if abs(general) <= UNCHANGED:
            sentences.append("Its everyday language is as good as before.")
        elif general > 0:
            sentences.append(f"Its everyday language got {_share(general)} worse.")
        else:
            sentences.append(f"Its everyday language got {_share(general)} better too.")
    if promoted:
        sentences.append("The chat uses what it learned from now on; you can switch it off "
                         "or roll back below at any time.")
    else:
        sentences.append("The chat keeps answering as before; the new adapter is kept but "
                         "not switched on.")
    examples = [
        (str(r.get("question", "")), str(r.get("before", "")), str(r.get("after", "")))
        for r in report.get("recall") or [] if isinstance(r, dict)
    ]
    return PlainSummary(headline, sentences, examples)
