"""Light and dark appearance, following the operating system.

Qt 6.5+ reports the OS colour scheme through ``QStyleHints.colorScheme()`` and signals
``colorSchemeChanged``.  macOS and Windows 11 styles repaint themselves; elsewhere (and
on Windows' older style) a dark scheme gets the Fusion style with a dark palette.  The
chat view's HTML takes its colours from :func:`html_colors`, so Markdown and code
blocks stay readable in both schemes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

_original_style: str | None = None


def system_is_dark() -> bool:
    """True when the OS asks for a dark appearance (Qt 6.5+; Unknown counts as light)."""
    hints = QGuiApplication.styleHints()
    try:
        return hints.colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5
        return False


def wants_dark(theme: str) -> bool:
    """``theme`` is the setting ui.theme: "light", "dark" or "system"."""
    if theme == "dark":
        return True
    if theme == "light":
        return False
    return system_is_dark()


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style, with contrast ratios above 7:1 for text."""
    p = QPalette()
    window, base, alt = QColor(32, 33, 36), QColor(24, 25, 27), QColor(42, 44, 48)
    text, disabled = QColor(232, 234, 237), QColor(128, 131, 137)
    highlight = QColor(66, 133, 244)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, alt)
        p.setColor(group, QPalette.ColorRole.ToolTipBase, alt)
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(150, 153, 160))
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, alt)
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.BrightText, QColor(255, 99, 99))
        p.setColor(group, QPalette.ColorRole.Link, QColor(138, 180, 248))
        p.setColor(group, QPalette.ColorRole.LinkVisited, QColor(197, 138, 249))
        p.setColor(group, QPalette.ColorRole.Highlight, highlight)
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.Light, QColor(70, 72, 77))
        p.setColor(group, QPalette.ColorRole.Midlight, QColor(56, 58, 62))
        p.setColor(group, QPalette.ColorRole.Mid, QColor(48, 50, 54))
        p.setColor(group, QPalette.ColorRole.Dark, QColor(18, 18, 20))
        p.setColor(group, QPalette.ColorRole.Shadow, QColor(0, 0, 0))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, window)
    return p


def apply_theme(app: QApplication, dark: bool) -> None:
    """Switch the whole application to the light or dark appearance."""
    global _original_style
    if _original_style is None:
        _original_style = app.style().name()
    if sys.platform == "darwin":
        return  # the macOS style follows the system appearance by itself
    if dark:
        app.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(dark_palette())
    else:
        style = QStyleFactory.create(_original_style) or QStyleFactory.create("Fusion")
        app.setStyle(style)
        app.setPalette(app.style().standardPalette())


@dataclass(frozen=True)
class HtmlColors:
    """Colours for the chat view's HTML (CSS colour strings)."""

    dark: bool
    text: str
    muted: str
    link: str
    error: str
    code_style: str  # a Pygments style name
    code_background: str
    code_header: str
    inline_code_background: str
    user_background: str
    border: str


LIGHT = HtmlColors(
    dark=False, text="#1f2328", muted="#59636e", link="#0b57d0", error="#b3261e",
    code_style="default", code_background="#f6f8fa", code_header="#eaeef2",
    inline_code_background="#eff1f3", user_background="#e8f0fe", border="#d0d7de",
)
DARK = HtmlColors(
    dark=True, text="#e8eaed", muted="#9aa0a6", link="#8ab4f8", error="#f28b82",
    code_style="github-dark", code_background="#0d1117", code_header="#161b22",
    inline_code_background="#2d333b", user_background="#23324d", border="#3c4043",
)


def html_colors(dark: bool) -> HtmlColors:
    return DARK if dark else LIGHT
