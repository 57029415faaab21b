"""Saved e-mail for the tests, written with the standard library's ``email`` package."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path


def message(subject: str, body: str) -> EmailMessage:
    """A plain-text message from Ana to Ben."""
    msg = EmailMessage()
    msg["From"] = "Ana Lima <ana@example.org>"
    msg["To"] = "Ben Okafor <ben@example.org>"
    msg["Date"] = "Tue, 01 Dec 2026 09:30:00 +0000"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def write_eml(path: Path, subject: str, body: str, attachments: dict[str, str] | None = None) -> Path:
    """Write :func:`message` with text ``attachments`` (file name: text) to ``path``."""
    msg = message(subject, body)
    for name, text in (attachments or {}).items():
        msg.add_attachment(text.encode(), maintype="text", subtype="plain", filename=name)
    path.write_bytes(bytes(msg))
    return path
