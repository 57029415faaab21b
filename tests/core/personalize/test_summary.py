"""The morning report in plain words (no perplexity, no held-out)."""

from __future__ import annotations

from desktop.core.personalize.dataset import build_preview, build_training_data
from desktop.core.personalize.summary import plain_summary


def test_better_run_in_plain_words() -> None:
    s = plain_summary({"heldout_change": -0.18, "general_change": 0.005, "promoted": True,
                       "data": {"train_documents": 12, "qa_pairs": 30}})
    assert s.headline == ("Hearth now does better on your documents: it predicts their wording "
                          "18% better than before.")
    text = s.text()
    assert "12 of your documents and 30 practice questions" in text
    assert "everyday language is as good as before" in text
    assert "perplexity" not in text.lower() and "held-out" not in text.lower()


def test_answers_to_new_questions_are_reported_beside_perplexity() -> None:
    s = plain_summary({"heldout_change": -0.1, "promoted": True, "answers_n": 12,
                       "answers_correct_before": 5, "answers_correct_after": 8})
    assert "Asked 12 new questions about your documents, it answered 8 right, against 5 before." in s.text()
    assert "new questions" not in plain_summary({"heldout_change": -0.1}).text()


def test_a_run_the_guard_stopped_says_so() -> None:
    s = plain_summary({"heldout_change": -0.05, "general_change": 0.02, "promoted": True, "status": "guarded"})
    assert "stopped early" in s.text()
    assert "stopped early" not in plain_summary({"heldout_change": -0.05, "status": "finished"}).text()


def test_worse_or_unfinished_runs_say_nothing_changed() -> None:
    worse = plain_summary({"heldout_change": 0.1, "general_change": 0.2, "promoted": False})
    assert "not used" in worse.headline and "20% worse" in worse.text()
    assert "keeps answering as before" in worse.text()
    assert "did not finish" in plain_summary({}).headline


def test_short_notes_are_kept_and_always_trained_on() -> None:
    docs = [("dentist.txt", "Dentist: Dr. Okafor, Tuesday 14:30."), ("tiny.txt", "ok")]
    docs += [(f"long{i}.md", f"word{i} " * 100) for i in range(6)]
    preview, kept = build_preview(docs, lambda t: len(t.split()))
    assert "dentist.txt" in [p for p, _ in kept] and "tiny.txt" not in [p for p, _ in kept]
    for seed in range(10):
        data = build_training_data(kept, lambda t: [1] * len(t.split()), 0, 32, heldout_fraction=0.5, seed=seed)
        assert "dentist.txt" in data.train_paths and "dentist.txt" not in data.heldout_paths
        assert data.heldout_paths  # the long documents still give a measurement


def test_answers_to_held_out_questions_decide_the_promotion_where_measured() -> None:
    """Answers are what the adapter is for: where the held-out grounded examples' answers
    were measured, they decide (general text still bounds the drift); else perplexity."""
    from desktop.core.personalize.evaluate import decide_promotion

    # held-out perplexity slightly worse, answers much surer: switched on
    on = decide_promotion(30.0, 30.3, 11.0, 10.8, 0.03, answers_before=2.0, answers_after=1.2)
    assert on.promote and "loss -40.0%" in on.reason and "held-out perplexity +1.0%" in on.reason
    # perplexity better, answers no surer: kept off
    assert not decide_promotion(30.0, 25.0, 11.0, 10.8, 0.03, answers_before=1.2, answers_after=1.3).promote
    # answers surer but general text 5% worse: kept off
    assert not decide_promotion(30.0, 25.0, 10.0, 10.5, 0.03, answers_before=2.0, answers_after=1.0).promote
    # no answers measured: perplexity decides, as before
    assert decide_promotion(30.0, 25.0, 11.0, 10.8).promote
    assert not decide_promotion(30.0, 30.3, 11.0, 10.8).promote
    s = plain_summary({"heldout_change": 0.01, "heldout_answer_change": -0.4, "general_change": -0.02,
                       "promoted": True})
    assert s.headline == "Hearth now answers questions about your documents better than before."
    assert "not used" not in s.text()
