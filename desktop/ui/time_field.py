"""A clock-time field that accepts what people type: "7", "730", "0730", "7:30", "19.30".

QTimeEdit ignores digits typed over a whole selected field and makes people step through
sections; this line edit reads the text as a whole and shows it back as HH:mm.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import QLineEdit, QWidget


def parse_time(text: str) -> QTime | None:
    """A QTime from loose text, else None.

    "7" -> 07:00, "19" -> 19:00, "730" -> 07:30, "0730" / "07:30" / "7.30" / "7h30" -> 07:30.
    """
    text = text.strip().lower()
    match = re.fullmatch(r"(\d{1,2})\s*[:.h]\s*(\d{1,2})", text)
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
    elif re.fullmatch(r"\d{1,4}", text):
        if len(text) <= 2:
            hours, minutes = int(text), 0
        else:
            hours, minutes = int(text[:-2]), int(text[-2:])
    else:
        return None
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        return None
    return QTime(hours, minutes)


class TimeField(QLineEdit):
    """An HH:mm field with QTimeEdit's ``time()``/``setTime()``.

    Signals:
        time_changed(QTime): a valid time was typed (on every keystroke that makes one).
    """

    time_changed = Signal(QTime)

    def __init__(self, time: QTime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._time = time if time.isValid() else QTime(0, 0)
        self.setText(self._time.toString("HH:mm"))
        self.setMaxLength(5)
        self.setFixedWidth(72)
        self.setPlaceholderText("HH:MM")
        self.textEdited.connect(self._on_edited)
        self.editingFinished.connect(self._normalize)

    def time(self) -> QTime:
        """The last valid time typed (or set)."""
        return QTime(self._time)

    def setTime(self, time: QTime) -> None:  # QTimeEdit's name, so callers need not care
        if time.isValid():
            self._time = QTime(time)
            self.setText(time.toString("HH:mm"))
            self.setProperty("invalid", False)

    def _on_edited(self, text: str) -> None:
        parsed = parse_time(text)
        self.setProperty("invalid", parsed is None)
        self.setToolTip("" if parsed is not None else "Type a time such as 7, 0730 or 19:30.")
        if parsed is not None and parsed != self._time:
            self._time = parsed
            self.time_changed.emit(QTime(parsed))

    def _normalize(self) -> None:
        self.setText(self._time.toString("HH:mm"))
        self.setProperty("invalid", False)
        self.setToolTip("")
