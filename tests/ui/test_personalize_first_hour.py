"""The Personalize page as a new user meets it (issue 12): the button says what it will
do, typed times are taken, short notes are learned from, the report speaks plainly with
the figures behind Details, the status ends with the run, and "In use:" survives a
restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from test_personalize_panel import RecordingBackend, add_adapter

from desktop.core.app import HearthCore
from desktop.core.jobs import ProgressEvent
from desktop.ui.personalize_panel import PersonalizePanel
from desktop.ui.time_field import parse_time

REPORT = {"heldout_ppl_before": 20.0, "heldout_ppl_after": 15.0, "heldout_change": -0.25,
          "general_ppl_before": 10.0, "general_ppl_after": 10.1, "general_change": 0.01,
          "promoted": True, "promotion_reason": "Held-out perplexity -25.0%: the new adapter is active.",
          "message": "Trained 10 steps.", "base_model": "m.gguf",
          "data": {"train_documents": 4, "qa_pairs": 6}, "recall": []}


@pytest.fixture
def core(default_model: Path) -> Any:
    c = HearthCore(engine=RecordingBackend(), with_library=False)
    yield c
    c.close()


def test_button_label_follows_start_now(qtbot: Any, core: Any) -> None:
    panel = PersonalizePanel(core, documents=lambda: [])
    qtbot.addWidget(panel)
    assert panel.start_button.text() == "Personalize at 01:00"
    panel.now_radio.setChecked(True)
    assert panel.start_button.text() == "Personalize now"
    panel.at_radio.setChecked(True)
    panel.start_time.selectAll()
    qtbot.keyClicks(panel.start_time, "2330")
    assert panel.start_button.text() == "Personalize at 23:30"


def test_finish_by_takes_typed_digits(qtbot: Any, core: Any) -> None:
    panel = PersonalizePanel(core, documents=lambda: [])
    qtbot.addWidget(panel)
    panel.show()
    panel.finish_time.setFocus()
    panel.finish_time.selectAll()
    qtbot.keyClicks(panel.finish_time, "0645")
    qtbot.keyClick(panel.finish_time, Qt.Key.Key_Return)
    assert panel.finish_time.time().toString("HH:mm") == "06:45"
    assert panel.finish_time.text() == "06:45"
    assert [parse_time(t).toString("HH:mm") for t in ("7", "730", "19:30", "7.05")] == [
        "07:00", "07:30", "19:30", "07:05"]
    assert parse_time("25:00") is None and parse_time("soon") is None


def test_short_notes_are_not_left_out(qtbot: Any, core: Any) -> None:
    docs = [("notes/dentist.txt", "Dentist: Dr. Okafor, Tuesday 14:30."),
            ("notes/car.txt", "Car service due in March."), ("notes/empty.txt", "ok")]
    panel = PersonalizePanel(core, documents=lambda: docs)
    qtbot.addWidget(panel)
    panel.refresh_preview()
    qtbot.waitUntil(lambda: panel.preview_tree.topLevelItemCount() == 3, timeout=20_000)
    rows = {panel.preview_tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole): panel.preview_tree.topLevelItem(i) for i in range(3)}
    assert rows["notes/dentist.txt"].text(2) == "" and not rows["notes/dentist.txt"].isDisabled()
    assert rows["notes/car.txt"].text(2) == ""
    assert "too short" in rows["notes/empty.txt"].text(2)


def test_a_first_visit_shows_no_empty_boxes(qtbot: Any, core: Any) -> None:
    """Seen on the screenshots of a new user's page: an empty file table, an empty bar, a
    greyed "Details", an empty adapter list and greyed buttons, all before any run."""
    docs = [("notes/dentist.txt", "Dentist: Dr. Okafor, Tuesday 14:30.")]
    panel = PersonalizePanel(core, documents=lambda: docs)
    qtbot.addWidget(panel)
    panel.resize(1100, 900)
    panel.show()
    qtbot.waitExposed(panel)
    hidden = (panel.preview_tree, panel.progress, panel.details_button, panel.adapter_list,
              panel.use_button, panel.rollback_button, panel.enabled_box, panel.strength)
    assert not any(w.isVisible() for w in hidden)
    # the spare height goes below the page, not into gaps between its parts
    assert panel.status_label.height() < 2 * panel.status_label.sizeHint().height(), panel.status_label.height()
    assert "No personal adapter yet" in panel.adapter_status.text()
    # the page says what it is for in plain words before the controls
    assert panel.intro_label.isVisible() and "your documents" in panel.intro_label.text()
    assert panel.intro_label.geometry().bottom() < panel.start_button.geometry().top()
    panel.refresh_preview()
    qtbot.waitUntil(lambda: panel.preview_tree.topLevelItemCount() == 1, timeout=20_000)
    assert panel.preview_tree.isVisible()
    panel.on_event(ProgressEvent("personalize", "done", "done", message="done", data={"report": REPORT}))
    assert panel.details_button.isVisible()


def test_report_in_plain_words_with_details_fold_and_final_status(qtbot: Any, core: Any) -> None:
    panel = PersonalizePanel(core, documents=lambda: [])
    qtbot.addWidget(panel)
    panel.show()
    panel.on_event(ProgressEvent("personalize", "progress", "recall",
                                 message="Asking a few questions from your documents before and after…"))
    panel.on_event(ProgressEvent("personalize", "done", "done", message="done", data={"report": REPORT}))
    plain = panel.report_view.toPlainText()
    assert plain.startswith("Hearth now does better on your documents")
    assert "25%" in plain and "4 of your documents" in plain
    for jargon in ("perplexity", "held-out", "Held-out"):
        assert jargon not in plain
    assert not panel.details_view.isVisible()
    panel.details_button.click()
    assert panel.details_view.isVisible() and "perplexity" in panel.details_view.toPlainText()
    assert "Asking a few questions" not in panel.status_label.text()
    assert panel.status_label.text().startswith("Finished at")


def test_in_use_is_filled_after_a_restart(qtbot: Any, core: Any, tmp_path: Path, default_model: Path) -> None:
    add_adapter(tmp_path, default_model, "2026-12-03_0700")
    from desktop.core.personalize.registry import AdapterRegistry

    AdapterRegistry().use("2026-12-03_0700", default_model)
    panel = PersonalizePanel(core, documents=lambda: [])  # a fresh panel, as after a restart
    qtbot.addWidget(panel)
    assert panel.adapter_status.text().startswith("In use: 2026-12-03_0700")
    panel.enabled_box.setChecked(False)
    assert panel.adapter_status.text() == "No personal adapter in use."
    qtbot.waitUntil(lambda: core.active_adapter is None, timeout=10_000)  # applied in the background
    panel.enabled_box.setChecked(True)
    qtbot.waitUntil(lambda: core.active_adapter == "2026-12-03_0700", timeout=10_000)
