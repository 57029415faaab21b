"""The first-run welcome screen: what stays on this computer, and the built-in model,
ready to chat.  Shown while ``settings.ui.welcome_done`` is False."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.core.models import ModelCatalog, default_model_path

PRIVACY_TEXT = (
    "Hearth is an assistant that runs entirely on this computer. Your conversations, "
    "your documents, the models and your personal adapters stay here: nothing is sent "
    "anywhere. There is no account and no telemetry, and Hearth works without an "
    "internet connection."
)


def built_in_model_line(catalog: ModelCatalog) -> tuple[str, bool]:
    """("Name · size", True) for the built-in model, or an explanation and False."""
    default = default_model_path()
    if default is None:
        return ("The built-in model is not installed. Add a GGUF model file to start.", False)
    for path, info, error in catalog.list():
        if path == default:
            if info is not None:
                return (f"{info.name} · {info.parameters_label} parameters · {info.size_label}", True)
            return (f"The built-in model cannot be used: {error}", False)
    return ("The built-in model is not installed. Add a GGUF model file to start.", False)


class WelcomeScreen(QWidget):
    """Signals: start_requested() ("Start chatting"), add_model_requested()."""

    start_requested = Signal()
    add_model_requested = Signal()

    def __init__(self, catalog: ModelCatalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeScreen")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(14)
        title = QLabel("Welcome to Hearth")
        title.setObjectName("welcomeTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        column.addWidget(title)
        text = QLabel(PRIVACY_TEXT)
        text.setObjectName("welcomePrivacy")
        text.setWordWrap(True)
        column.addWidget(text)
        line, ok = built_in_model_line(catalog)
        self.model_label = QLabel(
            f"<b>Ready to chat with the built-in model:</b><br>{html.escape(line)}" if ok
            else html.escape(line)
        )
        self.model_label.setObjectName("welcomeModel")
        self.model_label.setWordWrap(True)
        self.model_label.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.model_label)
        hint = QLabel(
            "To have Hearth answer from your own notes and documents, add their folder on "
            "the Library page (in the list on the left once you start chatting). You can add other GGUF models later (drop a .gguf file "
            "on the window), and change answers and speed in Settings."
        )
        hint.setObjectName("welcomeHint")
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        column.addWidget(hint)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start chatting")
        self.start_button.setObjectName("startChattingButton")
        self.start_button.setDefault(True)
        self.start_button.setAutoDefault(True)
        self.start_button.setEnabled(ok)
        self.start_button.setToolTip("Open a new conversation with the built-in model")
        self.start_button.clicked.connect(self.start_requested)
        self.add_button = QPushButton("Use another model…")
        self.add_button.setObjectName("welcomeAddModelButton")
        self.add_button.setToolTip("Choose a GGUF model file on this computer")
        self.add_button.clicked.connect(self.add_model_requested)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        holder = QWidget()
        holder.setLayout(column)
        holder.setMaximumWidth(560)
        row.addWidget(holder)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.setTabOrder(self.start_button, self.add_button)

    def enable_start(self) -> None:
        """A model is loaded (e.g. the user added one): chatting can start."""
        self.start_button.setEnabled(True)
