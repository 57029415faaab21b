from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop.core.app import HearthCore
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.hashing import file_sha256
from desktop.core.jobs import ProgressEvent
from desktop.core.personalize.export import AdapterMetadata, write_gguf_lora
from desktop.core.personalize.registry import AdapterRegistry
from desktop.ui.personalize_panel import PersonalizePanel


class RecordingBackend(ScriptedBackend):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[tuple[str, float]]] = []

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        self.calls.append(list(adapters))


def add_adapter(tmp: Path, base: Path, name: str, answers: float | None = None) -> None:
    tensors = {"blk.0.attn_q.weight.lora_a": np.zeros((2, 4), np.float32),
               "blk.0.attn_q.weight.lora_b": np.zeros((4, 2), np.float32)}
    meta = AdapterMetadata(file_sha256(base), base.name, 2, 4.0)
    f = write_gguf_lora(tmp / f"{name}.gguf", tensors, "llama", meta)
    report = {"heldout_ppl_before": 20.0, "heldout_ppl_after": 15.0, "heldout_change": -0.25,
              "general_ppl_before": 10.0, "general_ppl_after": 10.1, "general_change": 0.01,
              "promotion_reason": "Held-out perplexity -25.0%: the new adapter is active.",
              "message": "Trained 10 steps.", "base_model": base.name, "data": {}, "recall": []}
    if answers is not None:  # the loss of answers to held-out questions, which decides the promotion
        report["heldout_answer_change"] = answers
    AdapterRegistry().add(f, report, name=name)


@pytest.fixture
def core(default_model: Path):
    engine = RecordingBackend()
    c = HearthCore(engine=engine, with_library=False)
    yield c
    c.close()


def test_preview_lists_files_with_tokens_and_exclusions(qtbot, core, tmp_path: Path) -> None:
    docs = [("notes/a.md", "alpha beta gamma " * 40), ("notes/short.txt", "tiny"), ("notes/b.md", "delta " * 80),
            ("notes/home.txt", "Home network. Wi-Fi password: blue-otter-2417. " * 3)]
    panel = PersonalizePanel(core, documents=lambda: docs)
    qtbot.addWidget(panel)
    assert panel.at_radio.isChecked() and panel.start_time.time().toString("HH:mm") == "01:00"
    assert not panel.enabled_box.isEnabled()  # no adapter yet: nothing to switch on
    assert "No personal adapter yet" in panel.adapter_status.text()
    panel.refresh_preview()
    qtbot.waitUntil(lambda: panel.preview_tree.topLevelItemCount() == 4, timeout=20_000)
    rows = {panel.preview_tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole): panel.preview_tree.topLevelItem(i) for i in range(4)}
    assert rows["notes/a.md"].text(0) == "a.md" and rows["notes/a.md"].toolTip(0) == "notes/a.md"
    assert rows["notes/a.md"].text(1).startswith("about ") and rows["notes/a.md"].text(1).endswith(" words")
    assert int(rows["notes/a.md"].text(1).split()[1]) > 50
    tree = panel.preview_tree  # the Length column whole, and every row in sight (ninth trial)
    assert tree.columnWidth(1) >= tree.fontMetrics().horizontalAdvance(rows["notes/a.md"].text(1))
    assert tree.minimumHeight() >= 4 * tree.sizeHintForRow(0) + tree.header().sizeHint().height()
    assert panel.layout().stretch(panel.layout().indexOf(panel.preview_box)) > 0  # and the spare height
    assert "too short" in rows["notes/short.txt"].text(2)
    assert "seems to hold a password" in rows["notes/home.txt"].text(2) and not rows["notes/a.md"].text(2)
    assert rows["notes/home.txt"].toolTip(2) == rows["notes/home.txt"].text(2)  # whole, where the column cuts it
    assert "1 other file seems to hold passwords" in panel.preview_label.text()
    assert panel.preview_label.text().startswith("2 files to learn from, about ") and "tokens" not in panel.preview_label.text()
    assert "1 left out automatically" in panel.preview_label.text()  # the short file; the note is held back
    # the Wi-Fi note starts unticked (a new user left it ticked when this was a warning)
    assert rows["notes/home.txt"].checkState(0) == Qt.CheckState.Unchecked
    assert rows["notes/a.md"].checkState(0) == Qt.CheckState.Checked
    assert panel.included_files() == [] and panel.excluded_files() == []
    rows["notes/b.md"].setCheckState(0, Qt.CheckState.Unchecked)
    assert panel.excluded_files() == ["notes/b.md"]
    rows["notes/home.txt"].setCheckState(0, Qt.CheckState.Checked)  # the user chooses to include it
    assert panel.included_files() == ["notes/home.txt"] and panel.excluded_files() == ["notes/b.md"]


def test_preview_holds_back_health_details_and_phone_numbers(qtbot, core) -> None:
    # a new-user trial's dentist note and family birthdays list were ticked for training
    docs = [("notes/dentist.txt", "Dentist - Parkside Dental\nAppointment Thursday 14 March, 9:40am with "
                                  "Dr. Shah\ncleaning + check the cracked molar (lower left)\nPhone: 0161 555 0193\n"),
            ("notes/birthdays.txt", "Family birthdays\nMum (Helen) - 3 February - 07700 900412\n"
                                    "Dad (Graham) - 21 June - 07700 900587\nKatie - 9 September - 07700 900236\n"),
            ("notes/car.txt", "Car: blue Ford Focus. Next service due 12 May 2026. MOT due 3 June.")]
    panel = PersonalizePanel(core, documents=lambda: docs)
    qtbot.addWidget(panel)
    panel.refresh_preview()
    qtbot.waitUntil(lambda: panel.preview_tree.topLevelItemCount() == 3, timeout=20_000)
    rows = {panel.preview_tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole): panel.preview_tree.topLevelItem(i)
            for i in range(3)}
    assert rows["notes/dentist.txt"].text(2) == "left out: seems to hold health details (tick it to learn from it)"
    assert rows["notes/birthdays.txt"].text(2) == "left out: seems to hold phone numbers (tick it to learn from it)"
    assert rows["notes/dentist.txt"].checkState(0) == rows["notes/birthdays.txt"].checkState(0) == Qt.CheckState.Unchecked
    assert rows["notes/car.txt"].checkState(0) == Qt.CheckState.Checked and not rows["notes/car.txt"].text(2)
    label = panel.preview_label.text()
    assert "2 other files seem to hold private details (health details, phone numbers) and are left out" in label
    assert "passwords" not in label and "left out automatically" not in label
    rows["notes/dentist.txt"].setCheckState(0, Qt.CheckState.Checked)  # the user chooses to include it
    assert panel.included_files() == ["notes/dentist.txt"] and panel.excluded_files() == []


def test_held_back_summary_names_what_the_files_hold() -> None:
    from desktop.ui.personalize_panel import held_kinds

    assert held_kinds(["a password", "a PIN"]) == "passwords and PINs"
    assert held_kinds(["a password"]) == "passwords"
    assert held_kinds(["health details"]) == "health details"
    assert held_kinds(["phone numbers", "phone numbers"]) == "phone numbers"
    assert held_kinds(["phone numbers", "a code", "health details"]) == \
        "private details (codes, health details, phone numbers)"
    assert held_kinds(["a car registration", "where a spare key is"]) == \
        "private details (where a spare key is, a car registration)"
    # a policy number had been summed up as "passwords or codes" (fourteenth trial)
    assert held_kinds(["a policy or account number", "a password", "phone numbers"]) == \
        "private details (passwords, account or policy numbers, phone numbers)"


def test_progress_report_and_adapter_controls(qtbot, core, tmp_path: Path, default_model: Path) -> None:
    add_adapter(tmp_path, default_model, "2026-01-01_0700")
    add_adapter(tmp_path, default_model, "2026-01-02_0700", answers=-0.4)
    panel = PersonalizePanel(core, documents=lambda: [])
    qtbot.addWidget(panel)
    assert panel.adapter_list.count() == 2
    rows = [panel.adapter_list.item(i).text() for i in range(2)]  # newest first
    assert rows[0].endswith("2026-01-02_0700 · +40% on your documents")  # answers, where measured
    assert rows[1].endswith("2026-01-01_0700 · +25% on your documents")  # else perplexity

    panel.on_event(ProgressEvent("personalize", "progress", "step", 3, 10, "steps",
                                 data={"loss_smoothed": 2.5, "tokens_per_s": 120.0, "eta_s": 600}))
    assert panel.progress.value() == 3 and panel.progress.maximum() == 10
    assert "loss 2.500" in panel.status_label.text() and "120 tokens/s" in panel.status_label.text()
    assert "10 min" in panel.status_label.text()

    reg = panel.registry
    reg.use("2026-01-02_0700", default_model)
    with qtbot.waitSignal(panel.personalization_finished):
        panel.on_event(ProgressEvent("personalize", "done", "done", message="done",
                                     data={"report": reg.get("2026-01-02_0700").report | {"name": "2026-01-02_0700"}}))
    assert "-25.0%" in panel.details_view.toPlainText()  # the figures, behind Details
    engine = core.engine
    # adapter changes run as background work (an answer may hold the engine)
    path = str(reg.root / "2026-01-02_0700" / "adapter.gguf")
    qtbot.waitUntil(lambda: bool(engine.calls) and engine.calls[-1] == [(path, 1.0)], timeout=10_000)

    panel.strength.setValue(50)
    assert core.settings.personalization.adapter_scale == 0.5
    qtbot.waitUntil(lambda: bool(engine.calls[-1]) and engine.calls[-1][0][1] == 0.5, timeout=10_000)
    panel.enabled_box.setChecked(False)
    assert core.settings.personalization.adapter_enabled is False
    qtbot.waitUntil(lambda: engine.calls[-1] == [], timeout=10_000)
    panel.enabled_box.setChecked(True)
    reg.use("2026-01-01_0700", default_model)
    panel.rollback_button.click()
    qtbot.waitUntil(lambda: reg.active_name == "2026-01-02_0700" and bool(engine.calls[-1])
                    and engine.calls[-1][0][0].endswith("2026-01-02_0700/adapter.gguf"), timeout=10_000)
    qtbot.waitUntil(lambda: "In use: 2026-01-02_0700" in panel.adapter_status.text(), timeout=10_000)


def test_scheduled_start_waits_and_cancels(qtbot, core, default_model: Path) -> None:
    panel = PersonalizePanel(core, documents=lambda: [("a.md", "text " * 100)])
    qtbot.addWidget(panel)
    later = (dt.datetime.now() + dt.timedelta(hours=3)).strftime("%H:%M")
    from PySide6.QtCore import QTime

    panel.start_time.setTime(QTime.fromString(later, "HH:mm"))
    panel.start()
    assert panel.running and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: "Waiting to start" in panel.status_label.text(), timeout=10_000)
    assert core.settings.personalization.start_time == later
    panel.cancel()
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=30_000)
    assert "Cancelled" in panel.status_label.text()
