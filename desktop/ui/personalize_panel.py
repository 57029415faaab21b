"""The "Personalize" panel: train a personal adapter overnight, see the morning report,
switch adapters on and off, set their strength, roll back.

All work runs through :class:`desktop.ui.workers.GeneratorWorker` reading the events of
:func:`desktop.core.personalize.controller.run_personalization` (training itself runs in
a separate process).  Widgets are touched only in slots on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTime, Signal
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSlider,
    QStyle,
    QSystemTrayIcon,
    QTextBrowser,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.app import HearthCore
from desktop.core.jobs import ProgressEvent
from desktop.core.sensitive import PRIVATE_DETAILS
from desktop.ui.time_field import TimeField
from desktop.ui.workers import GeneratorWorker, run_in_background

log = logging.getLogger(__name__)

Documents = Iterable[tuple[str, str]]


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


#: the secrets of desktop.core.sensitive.sensitive_content, in plain words, by kind (the
#: summary had said "passwords or codes" of notes held back for a policy number, fourteenth
#: new-user trial)
_SECRET_WORDS = {"a password": "passwords", "a PIN": "PINs", "a code": "codes", "a card's security code": "codes",
                 "a key or token": "keys", "a policy or account number": "account or policy numbers",
                 "a bank account number": "account or policy numbers",
                 "a social security number": "account or policy numbers",
                 "a card number": "card numbers"}


def held_kinds(sensitive: Iterable[str]) -> str:
    """What held-back files seem to hold (their ``PreviewItem.sensitive``: "a password",
    "health details"...), in plain words for the preview's summary: "passwords and PINs",
    "health details", "phone numbers", or "private details (codes, account or policy
    numbers, health details, phone numbers)" for a mix of the private details
    (:data:`desktop.core.sensitive.PRIVATE_DETAILS`) and others."""
    kinds = list(dict.fromkeys(_SECRET_WORDS.get(s, s if s in PRIVATE_DETAILS else "passwords or codes")
                               for s in sensitive))
    order = [*dict.fromkeys(_SECRET_WORDS.values()), "passwords or codes", *PRIVATE_DETAILS]
    kinds.sort(key=lambda k: order.index(k) if k in order else len(order))
    if len(kinds) <= 2 and not set(kinds) & set(PRIVATE_DETAILS):
        return " and ".join(kinds)
    if len(kinds) == 1:
        return kinds[0]
    return "private details (" + ", ".join(kinds) + ")"


def _about_words(tokens: int) -> str:
    """A token count as a user reads it: "about 1,200 words" (a word is about 1.3 tokens)."""
    return f"about {max(1, round(tokens * 0.75)):,} words"


#: rows of the preview shown without scrolling, at least; it takes the page's spare height
PREVIEW_ROWS = 8


class PersonalizePanel(QWidget):
    """Personalization for a non-programmer: one button, a preview, progress, a report.

    Args:
        core: the app's HearthCore (settings, engine, library, history).
        documents: optional function returning the documents to learn from (default:
            the library's, plus conversations when the user opted in).

    Signals:
        personalization_finished(dict): the morning report of a finished run.
        adapter_changed(): the active adapter, its strength or on/off changed.
    """

    personalization_finished = Signal(dict)
    adapter_changed = Signal()

    def __init__(self, core: HearthCore, parent: QWidget | None = None,
                 documents: Callable[[], Documents] | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self._documents = documents
        self.registry = core.adapters
        self._worker: GeneratorWorker | None = None
        self._final_seen = False
        self._preview_docs: list[tuple[str, str]] = []
        self.tray: QSystemTrayIcon | None = None
        settings = core.settings.personalization

        # -- start ---------------------------------------------------------------------
        self.start_button = QPushButton("Personalize overnight")
        self.start_button.setObjectName("primaryButton")
        self.start_button.setToolTip("Teach the assistant your documents while you sleep.")
        self.now_radio = QRadioButton("Start now")
        self.at_radio = QRadioButton("Start at")
        self.at_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.now_radio)
        group.addButton(self.at_radio)
        self.start_time = TimeField(QTime.fromString(settings.start_time, "HH:mm"))
        self.start_time.setObjectName("startTime")
        self.start_time.setAccessibleName("Start at")
        self.finish_time = TimeField(QTime.fromString(settings.finish_by, "HH:mm"))
        self.finish_time.setObjectName("finishTime")
        self.finish_time.setAccessibleName("Finish by")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        when = QHBoxLayout()
        for w in (self.now_radio, self.at_radio, self.start_time, QLabel("finish by"), self.finish_time):
            when.addWidget(w)
        when.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)

        # -- preview -------------------------------------------------------------------
        self.preview_tree = QTreeWidget()
        self.preview_tree.setHeaderLabels(["File", "Length", "Note"])
        self.preview_tree.headerItem().setToolTip(1, "Counted from tokens, the model's word pieces: a word "
                                                     "is about 1.3 tokens")
        self.preview_tree.setRootIsDecorated(False)
        self.preview_tree.hide()  # an empty table with headers until the preview is asked for
        self.preview_button = QPushButton("Show what it will learn from")
        self.preview_label = QLabel("")
        self.preview_label.setWordWrap(True)
        self.preview_box = preview_box = QGroupBox("What it will learn from (untick files to leave them out)")
        pv = QVBoxLayout(preview_box)
        pv.addWidget(self.preview_button)
        pv.addWidget(self.preview_tree)
        pv.addWidget(self.preview_label)

        # -- progress and report -----------------------------------------------------------
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)  # no "0%" before anything ran
        self.progress.hide()  # an empty bar looked unfinished: shown from the first run
        self.status_label = QLabel("Not running.")
        self.status_label.setWordWrap(True)
        # the report in plain words; the figures behind a "Details" fold
        self.report_view = QTextBrowser()
        self.report_view.setObjectName("reportView")
        self.report_view.setOpenLinks(False)
        self.report_view.setPlaceholderText("The morning report appears here.")
        self.report_view.setMinimumHeight(120)
        self.report_view.setMaximumHeight(200)
        self.details_button = QToolButton()
        self.details_button.setObjectName("reportDetailsButton")
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setToolTip("The measurements behind the report")
        self.details_button.setEnabled(False)
        self.details_button.hide()  # a greyed "Details" with nothing behind it: shown with a report
        self.details_view = QPlainTextEdit()
        self.details_view.setObjectName("reportDetails")
        self.details_view.setReadOnly(True)
        self.details_view.hide()
        self.details_button.toggled.connect(self._toggle_details)

        # -- adapters --------------------------------------------------------------------
        self.enabled_box = QCheckBox("Use my personal adapter in chat")
        self.enabled_box.setChecked(settings.adapter_enabled)
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 200)
        self.strength.setValue(round(settings.adapter_scale * 100))
        self.strength_label = QLabel(f"Strength {settings.adapter_scale:.2f}")
        self.adapter_list = QListWidget()
        self.use_button = QPushButton("Use selected")
        self.rollback_button = QPushButton("Roll back")
        self.adapter_status = QLabel("")
        self.adapter_status.setWordWrap(True)
        adapters_box = QGroupBox("Personal adapters")
        av = QVBoxLayout(adapters_box)
        av.addWidget(self.enabled_box)
        sl = QHBoxLayout()
        sl.addWidget(self.strength_label)
        sl.addWidget(self.strength)
        av.addLayout(sl)
        av.addWidget(self.adapter_list)
        ab = QHBoxLayout()
        ab.addWidget(self.use_button)
        ab.addWidget(self.rollback_button)
        ab.addStretch(1)
        av.addLayout(ab)
        av.addWidget(self.adapter_status)

        # what this page is for, before any jargon (a new user's first look)
        self.intro_label = QLabel(
            "Hearth can study your documents so its answers fit your world: your notes, "
            "names and places. It works on this computer only, best overnight while you "
            "sleep, and keeps the previous version so you can go back."
        )
        self.intro_label.setObjectName("personalizeIntro")
        self.intro_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro_label)
        layout.addLayout(when)
        layout.addLayout(buttons)
        layout.addWidget(preview_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.report_view)
        layout.addWidget(self.details_button)
        layout.addWidget(self.details_view)
        layout.addWidget(adapters_box)
        layout.addStretch(1)  # spare height below the page, not between its parts

        self.start_button.clicked.connect(self.start)
        self.now_radio.toggled.connect(self._update_start_label)
        self.start_time.time_changed.connect(self._update_start_label)
        self._update_start_label()
        self.cancel_button.clicked.connect(self.cancel)
        self.preview_button.clicked.connect(self.refresh_preview)
        self.enabled_box.toggled.connect(self._on_enabled)
        self.strength.valueChanged.connect(self._on_strength)
        self.strength.sliderReleased.connect(self.apply_adapter)
        self.use_button.clicked.connect(self._on_use)
        self.rollback_button.clicked.connect(self._on_rollback)
        self.refresh_adapters()
        if core.personalizer.has_unfinished_run():
            self.status_label.setText(
                "An unfinished personalization was interrupted; starting again resumes it "
                "from its last checkpoint."
            )
        active = self.registry.active()
        if active is not None and active.report:
            self._show_report(active.report | {"name": active.name})
        self._show_in_use()

    def _update_start_label(self, *_: object) -> None:
        """The button says what it will do: now, or at the chosen time."""
        if self.now_radio.isChecked():
            self.start_button.setText("Personalize now")
            self.start_button.setToolTip("Teach the assistant your documents, starting now.")
        else:
            at = self.start_time.time().toString("HH:mm")
            self.start_button.setText(f"Personalize at {at}")
            self.start_button.setToolTip(f"Teach the assistant your documents from {at} (on mains power).")

    def _show_in_use(self) -> None:
        """'In use: NAME' from the saved choice (also right after a restart, before the
        model has loaded)."""
        settings = self.core.settings.personalization
        applied = getattr(self.core, "active_adapter", None)
        name = applied or self.registry.active_name
        if name and settings.adapter_enabled and settings.adapter_scale > 0:
            self.adapter_status.setText(f"In use: {name} (strength {settings.adapter_scale:.2f})")
        elif not self.registry.list():
            self.adapter_status.setText("No personal adapter yet: the first run above makes one.")
        else:
            self.adapter_status.setText("No personal adapter in use.")

    # -- documents and preview -------------------------------------------------------------
    def _gather(self) -> list[tuple[str, str]]:
        from desktop.core.personalize import gather_documents

        if self._documents is not None:
            return list(self._documents())
        return list(gather_documents(self.core))

    def refresh_preview(self) -> None:
        """Load the documents and their token counts off the GUI thread."""
        from desktop.core.personalize.controller import preview_documents

        self.preview_button.setEnabled(False)
        self.preview_label.setText("Reading your documents…")
        model_path = self.core.current_model_path()

        def job() -> Any:
            docs = self._gather()
            return docs, preview_documents(docs, model_path)[0]

        run_in_background(job, on_result=self._show_preview, on_error=self._preview_failed)

    def _preview_failed(self, exc: BaseException) -> None:
        self.preview_button.setEnabled(True)
        self.preview_label.setText(str(exc))

    def _show_preview(self, result: Any) -> None:
        docs, preview = result
        self._preview_docs = docs
        self.preview_button.setEnabled(True)
        self.preview_tree.clear()
        self.preview_tree.show()
        for item in preview.items:
            note = f"left out: {item.reason} (tick it to learn from it)" if item.held_back else item.reason
            # the file's name (its path in the tooltip) and its length in words, so that the
            # note is not cut off and no one has to know what a token is (sixth new-user trial)
            row = QTreeWidgetItem([Path(item.path).name, _about_words(item.tokens), note])
            row.setData(0, Qt.ItemDataRole.UserRole, item.path)
            row.setData(1, Qt.ItemDataRole.UserRole, item.held_back)
            row.setToolTip(0, item.path)
            row.setToolTip(2, note)  # the column is narrower than the note
            if item.excluded and not item.held_back:
                row.setDisabled(True)
            else:  # held back (seems to hold a password, health details...): unticked until ticked
                row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                row.setCheckState(0, Qt.CheckState.Unchecked if item.held_back else Qt.CheckState.Checked)
            self.preview_tree.addTopLevelItem(row)
        # the name and "about N words" whole (the Length column was cut off), and the page's
        # spare height, PREVIEW_ROWS rows at least (it showed 7 of 30: ninth new-user trial)
        self.preview_tree.resizeColumnToContents(0)
        self.preview_tree.resizeColumnToContents(1)
        rows = min(self.preview_tree.topLevelItemCount(), PREVIEW_ROWS)
        row_height = self.preview_tree.sizeHintForRow(0) if rows else 0
        self.preview_tree.setMinimumHeight(
            self.preview_tree.header().sizeHint().height() + rows * max(row_height, 1)
            + 2 * self.preview_tree.frameWidth() + 4)
        page = self.layout()
        if isinstance(page, QVBoxLayout):
            page.setStretchFactor(self.preview_box, 4)
        held = [i for i in preview.items if i.held_back and i.sensitive]
        logs = [i for i in preview.items if i.held_back and not i.sensitive]  # dataset.repetitive
        auto = len(preview.items) - len(preview.included) - len(held) - len(logs)
        self.preview_label.setText(
            # "other": the files held back are not among those learned (thirteenth trial:
            # "10 files ... 8 seem to hold private details" read as 8 of the 10)
            f"{len(preview.included)} files to learn from, {_about_words(preview.total_tokens)}"
            + (f"; {auto} left out automatically." if auto else ".")
            + (f" {len(held)} other {'file seems' if len(held) == 1 else 'files seem'} to hold {held_kinds(i.sensitive for i in held)} and "
               f"{'is' if len(held) == 1 else 'are'} left out: your personal adapter could learn "
               "them by heart and repeat them to anyone using this computer. Tick one only if "
               "you want it learned." if held else "")
            + (f" {len(logs)} other {'file looks' if len(logs) == 1 else 'files look'} like a log or generated data "
               "(the same few words over and over) and "
               f"{'is' if len(logs) == 1 else 'are'} left out." if logs else "")
        )

    def _rows(self, checked: Qt.CheckState, held_back: bool) -> list[str]:
        out = []
        for i in range(self.preview_tree.topLevelItemCount()):
            row = self.preview_tree.topLevelItem(i)
            if (not row.isDisabled() and row.checkState(0) == checked
                    and bool(row.data(1, Qt.ItemDataRole.UserRole)) == held_back):
                out.append(str(row.data(0, Qt.ItemDataRole.UserRole)))
        return out

    def excluded_files(self) -> list[str]:
        """Files the user unticked in the preview."""
        return self._rows(Qt.CheckState.Unchecked, held_back=False)

    def included_files(self) -> list[str]:
        """Files held back as seeming to hold a password, health details or phone numbers
        that the user ticked."""
        return self._rows(Qt.CheckState.Checked, held_back=True)

    # -- running -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.running

    def start(self) -> None:
        """Start now or wait for the chosen time, then train (in a separate process)."""
        from desktop.core.personalize.controller import run_personalization
        from desktop.core.personalize.schedule import run_times

        if self.running:
            return
        settings = self.core.settings.personalization
        try:
            self.core.set_personalize_times(self.start_time.time().toString("HH:mm"),
                                            self.finish_time.time().toString("HH:mm"))
        except OSError:
            log.exception("saving settings failed")
        start_at, deadline = run_times(settings.start_time, settings.finish_by, now=self.now_radio.isChecked())
        controller = self.core.personalizer

        def lazy_documents() -> Iterator[tuple[str, str]]:
            # read on the worker thread: a big library takes a while
            yield from (self._preview_docs or self._gather())

        docs = lazy_documents()
        self.report_view.clear()
        self._final_seen = False
        self._worker = GeneratorWorker(
            run_personalization, docs, self.core.current_model_path(), start_at=start_at,
            deadline=deadline, excluded=self.excluded_files(), included=self.included_files(),
            controller=controller,
            priority=getattr(self.core, "priority", None),  # pause while the chat answers
        )
        self._worker.yielded.connect(self.on_event)
        self._worker.errored.connect(self._on_error)
        self._worker.finished.connect(self._on_finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setTextVisible(True)
        self.progress.show()
        self.status_label.setText("Starting…")
        self._show_tray("Hearth is waiting to personalize" if start_at else "Hearth is personalizing")
        self._worker.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self.status_label.setText("Cancelling (the last checkpoint is kept)…")
            self._worker.cancel()

    def on_event(self, event: ProgressEvent) -> None:
        """Show one event of the run (progress, a message, the report)."""
        if event.kind in ("done", "cancelled", "error"):
            self._final_seen = True
        if event.kind == "progress" and event.what == "step":
            total = int(event.total or 0)
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(int(event.done))
            d = event.data
            self.status_label.setText(
                f"Step {int(event.done)} of {total} · loss {d.get('loss_smoothed', 0):.3f} · "
                f"{d.get('tokens_per_s', 0):.0f} tokens/s · about {_fmt_eta(d.get('eta_s'))} left"
            )
        elif event.what == "waiting" and event.kind == "progress":
            self.status_label.setText(event.message)
        elif event.kind == "done":
            report = dict(event.data.get("report", {}))
            self._show_report(report)
            from desktop.core.personalize.summary import plain_summary

            self.progress.setValue(self.progress.maximum())
            self.status_label.setText(
                f"Finished at {dt.datetime.now():%H:%M}. {plain_summary(report).headline}"
            )
            self.refresh_adapters()
            self.apply_adapter()
            self.personalization_finished.emit(report)
            self.notify("Personalization finished", event.message)
        elif event.kind in ("error", "cancelled"):
            self.status_label.setText(event.message)
            if event.kind == "error":
                self.notify("Personalization stopped", event.message)
        elif event.message:
            self.status_label.setText(event.message)

    def _on_error(self, exc: BaseException) -> None:
        self.status_label.setText(f"Personalization failed: {exc}")
        self._final_seen = True

    def _on_finished(self) -> None:
        if not self._final_seen:
            # the run ended without a final word: never leave a step's message showing
            self.status_label.setText(
                f"Stopped at {dt.datetime.now():%H:%M}. Start again to continue from the last checkpoint."
            )
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._worker = None
        if self.tray is not None:
            self.tray.setToolTip("Hearth")

    def _show_report(self, report: dict[str, Any]) -> None:
        """The report in plain words, with the figures behind the Details fold."""
        import html

        from desktop.core.personalize.pipeline import format_report
        from desktop.core.personalize.summary import plain_summary

        summary = plain_summary(report)
        parts = [f"<p><b>{html.escape(summary.headline)}</b></p>"]
        parts += [f"<p>{html.escape(s)}</p>" for s in summary.sentences]
        for question, before, after in summary.examples[:2]:
            parts.append(
                f"<p>Asked “{html.escape(question[:160])}”, it now answers “{html.escape(after[:160])}” "
                f"(before: “{html.escape(before[:120])}”).</p>"
            )
        self.report_view.setHtml("".join(parts))
        self.details_view.setPlainText(format_report(report))
        self.details_button.setEnabled(True)
        self.details_button.show()

    def _toggle_details(self, shown: bool) -> None:
        self.details_view.setVisible(shown)
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    # -- tray ----------------------------------------------------------------------------
    def _show_tray(self, tip: str) -> None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        if self.tray is None:
            icon = QApplication.windowIcon()
            if icon.isNull():
                icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
            self.tray = QSystemTrayIcon(icon, self)
            self.tray.activated.connect(self._restore_window)
        self.tray.setToolTip(tip)
        self.tray.show()

    def _restore_window(self, *_args: Any) -> None:
        window = self.window()
        window.showNormal()
        window.raise_()
        window.activateWindow()

    @property
    def waits_in_tray(self) -> bool:
        """True while a run is scheduled or under way and the tray icon is showing: closing
        the window then hides it instead of quitting."""
        return self.running and self.tray is not None and self.tray.isVisible()

    def notify(self, title: str, message: str) -> None:
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            self.tray.showMessage(title, message)

    # -- adapters --------------------------------------------------------------------------
    def refresh_adapters(self) -> None:
        self.adapter_list.clear()
        have = bool(self.registry.list())
        for widget in (self.enabled_box, self.strength, self.strength_label, self.use_button):
            widget.setEnabled(have)  # nothing to switch on before a first run
        for widget in (self.adapter_list, self.use_button, self.rollback_button, self.enabled_box,
                       self.strength, self.strength_label):
            widget.setVisible(have)  # no empty list and greyed controls before a first run
        for entry in reversed(self.registry.list()):
            # answers to questions about held-out documents where measured (what decides
            # the promotion), else their perplexity; negative = better
            change = entry.report.get("heldout_answer_change", entry.report.get("heldout_change"))
            figure = (f" · {-change:+.0%} on your documents" if isinstance(change, (int, float)) else "")
            item = QListWidgetItem(f"{'● ' if entry.active else ''}{entry.name}{figure}")
            item.setData(Qt.ItemDataRole.UserRole, entry.name)
            self.adapter_list.addItem(item)
        self.rollback_button.setEnabled(bool(self.registry.list()))

    def apply_adapter(self) -> None:
        """Apply the active adapter to the chat with the chosen strength (or none)."""
        self._follow(self.core.reapply_adapter())

    def _follow(self, change: Future[str | None] | None) -> None:
        """Show the outcome of an adapter change the core runs as background work (an
        answer being written holds the engine: the window never waits for it)."""
        if change is not None:
            run_in_background(change.result, on_result=self._on_adapter_applied,
                              on_error=self._on_adapter_failed)

    def _on_adapter_applied(self, _name: str | None) -> None:
        self.refresh_adapters()
        self._show_in_use()
        if self.core.adapter_notice:
            self.adapter_status.setText(self.core.adapter_notice)
        self.adapter_changed.emit()

    def _on_adapter_failed(self, exc: BaseException) -> None:
        # shown to the user; the chat continues without the adapter
        self.refresh_adapters()
        self.adapter_status.setText(str(exc))
        self.adapter_changed.emit()

    def _on_enabled(self, on: bool) -> None:
        self._follow(self.core.set_adapter_options(enabled=bool(on)))
        self._show_in_use()  # from the settings, at once; confirmed once applied

    def _on_strength(self, value: int) -> None:
        self.strength_label.setText(f"Strength {value / 100:.2f}")
        self._follow(self.core.set_adapter_options(scale=value / 100, apply=not self.strength.isSliderDown()))
        self._show_in_use()

    def _on_use(self) -> None:
        item = self.adapter_list.currentItem()
        if item is not None:
            self._follow(self.core.set_adapter(str(item.data(Qt.ItemDataRole.UserRole))))

    def _on_rollback(self) -> None:
        self._follow(self.core.rollback_adapter())

    def shutdown(self) -> None:
        """Cancel a run in progress (the checkpoint is kept) and wait for it to stop."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(30_000)
