"""What Help > About says: the version, and where Hearth keeps the user's data."""

from __future__ import annotations

import html

from desktop import __version__
from desktop.core.paths import config_dir, data_dir


def about_text() -> tuple[str, str]:
    """(title, details) as rich text: the version, the data and settings folders, and
    the privacy promise.  Folders are the live ones (HEARTH_HOME moves them)."""
    title = f"<b>Hearth {html.escape(__version__)}</b><br>A private assistant that runs on this computer."
    details = (
        "Conversations, documents, models and adapters stay on this computer.<br><br>"
        f"Your data: <code>{html.escape(str(data_dir()))}</code><br>"
        f"Settings: <code>{html.escape(str(config_dir()))}</code><br><br>"
        "To remove Hearth completely, delete these two folders as well (see README, “Uninstall”)."
    )
    return title, details
