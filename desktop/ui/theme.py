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


@dataclass(frozen=True)
class Tokens:
    """The colours of one appearance (CSS colour strings), used by the palette, the
    window's stylesheet (:func:`stylesheet`) and the chat's HTML (:func:`html_colors`).

    Every text colour is paired with the backgrounds it is drawn on in
    :func:`text_pairs`; tests/ui/test_theme.py checks each pair reaches WCAG 2.1 AA
    (contrast ratio >= 4.5:1 for normal text, www.w3.org/TR/WCAG21/#contrast-minimum).
    """

    dark: bool
    window: str  # page background
    surface: str  # cards, inputs, lists, answers
    sidebar: str  # the navigation bar
    text: str
    muted: str  # secondary text (headers, hints, snippets)
    disabled: str  # disabled controls: exempt from the ratio (WCAG 1.4.3), kept >= 3:1
    accent: str  # primary button, selection, focus
    on_accent: str  # text on the accent
    link: str
    border: str
    hover: str
    selected: str  # the current page in the sidebar
    selected_text: str
    user_bubble: str
    error: str
    control_border: str = "#6e7781"  # the ring of a radio button: >= 3:1 on its background


LIGHT_TOKENS = Tokens(
    dark=False, window="#f4f5f7", surface="#ffffff", sidebar="#e9ecf1", text="#1f2328",
    muted="#545d68", disabled="#747c86", accent="#0b57d0", on_accent="#ffffff", link="#0b57d0",
    border="#d0d7de", hover="#dde3ea", selected="#d3e3fd", selected_text="#041e49",
    user_bubble="#dbe8fd", error="#b3261e", control_border="#6e7781",
)
DARK_TOKENS = Tokens(
    dark=True, window="#1b1c1f", surface="#26282c", sidebar="#141517", text="#e8eaed",
    muted="#aab0b8", disabled="#7b8088", accent="#8ab4f8", on_accent="#0b1a33", link="#8ab4f8",
    border="#3c4043", hover="#2f3237", selected="#2d4061", selected_text="#e8f0fe",
    user_bubble="#233450", error="#f2b8b5", control_border="#9aa0a6",
)


def tokens(dark: bool) -> Tokens:
    """The colours of the dark or light appearance."""
    return DARK_TOKENS if dark else LIGHT_TOKENS


def text_pairs(t: Tokens) -> list[tuple[str, str, str]]:
    """(what, text colour, background colour) for every text the window draws.

    The list is what the contrast test checks; add a pair whenever the stylesheet or the
    chat's HTML puts a new text colour on a new background.
    """
    pairs = []
    for bg_name in ("window", "surface", "sidebar", "user_bubble"):
        bg = getattr(t, bg_name)
        pairs += [(f"text on {bg_name}", t.text, bg), (f"muted on {bg_name}", t.muted, bg),
                  (f"link on {bg_name}", t.link, bg)]
    pairs += [
        ("error on surface", t.error, t.surface),
        ("error on window", t.error, t.window),
        ("button text on accent", t.on_accent, t.accent),
        ("current page in the sidebar", t.selected_text, t.selected),
        ("hovered item", t.text, t.hover),
    ]
    h = html_colors(t.dark)
    pairs += [
        ("code text on code background", h.text, h.code_background),
        ("code header", h.muted, h.code_header),
        ("inline code", h.text, h.inline_code_background),
        ("source card text", h.text, h.card_background),
        ("source card details", h.muted, h.card_background),
        ("source card link", h.link, h.card_background),
        ("user message text", h.text, h.user_background),
        ("answer text", h.text, h.card_surface),
        ("answer header", h.muted, h.card_surface),
    ]
    return pairs


def control_pairs(t: Tokens) -> list[tuple[str, str, str]]:
    """(what, colour, background) for the parts of controls that are not text: WCAG 2.1
    1.4.11 asks 3:1 for them (www.w3.org/TR/WCAG21/#non-text-contrast)."""
    return [
        ("radio button ring on window", t.control_border, t.window),
        ("radio button ring on surface", t.control_border, t.surface),
        ("chosen radio button on window", t.accent, t.window),
        ("chosen radio button on surface", t.accent, t.surface),
    ]


def palette_for(t: Tokens) -> QPalette:
    """A Fusion palette from the tokens (both appearances: one look on every desktop)."""
    p = QPalette()
    c = QColor
    roles = {
        QPalette.ColorRole.Window: t.window, QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.surface, QPalette.ColorRole.AlternateBase: t.window,
        QPalette.ColorRole.ToolTipBase: t.surface, QPalette.ColorRole.ToolTipText: t.text,
        QPalette.ColorRole.PlaceholderText: t.muted, QPalette.ColorRole.Text: t.text,
        QPalette.ColorRole.Button: t.surface, QPalette.ColorRole.ButtonText: t.text,
        QPalette.ColorRole.BrightText: t.error, QPalette.ColorRole.Link: t.link,
        QPalette.ColorRole.LinkVisited: t.link, QPalette.ColorRole.Highlight: t.accent,
        QPalette.ColorRole.HighlightedText: t.on_accent,
        QPalette.ColorRole.Light: t.hover, QPalette.ColorRole.Midlight: t.border,
        QPalette.ColorRole.Mid: t.border, QPalette.ColorRole.Dark: t.sidebar,
        QPalette.ColorRole.Shadow: "#000000",
    }
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        for role, colour in roles.items():
            p.setColor(group, role, c(colour))
    for role, colour in roles.items():
        p.setColor(QPalette.ColorGroup.Disabled, role, c(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, c(t.disabled))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, c(t.window))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, c(t.window))
    return p


def dark_palette() -> QPalette:
    """The dark palette (kept for callers of the earlier API)."""
    return palette_for(DARK_TOKENS)


def stylesheet(t: Tokens) -> str:
    """The application's Qt stylesheet: sidebar, cards, bubbles, buttons, spacing.

    Object names it targets: modeBar (the sidebar) and its navButton items, chatCanvas,
    messageUser / messageAssistant (turns), sendButton (primary), adapterBadge,
    sourceCard, reportView; everything else keeps the palette.
    """
    return f"""
QWidget#modeBar {{ background: {t.sidebar}; border-right: 1px solid {t.border}; }}
QToolButton[navButton="true"] {{
    color: {t.text}; background: transparent; border: none; border-radius: 8px;
    padding: 8px 8px; margin: 1px 0; text-align: left; font-size: 10.5pt;
}}
QToolButton[navButton="true"]:hover {{ background: {t.hover}; }}
QToolButton[navButton="true"]:checked {{ background: {t.selected}; color: {t.selected_text}; }}
QWidget#chatCanvas, QScrollArea#chatView {{ background: {t.window}; }}
QFrame#messageUser {{ background: {t.user_bubble}; border-radius: 14px; }}
QFrame#messageAssistant {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 14px; }}
QLabel#messageHeader {{ color: {t.muted}; }}
QToolButton#copyAnswerButton {{
    color: {t.link}; background: transparent; border: 1px solid transparent; border-radius: 6px; padding: 1px 8px;
}}
QToolButton#copyAnswerButton:hover {{ border-color: {t.border}; background: {t.hover}; }}
QPushButton {{
    color: {t.text}; background: {t.surface}; border: 1px solid {t.border}; border-radius: 8px;
    padding: 6px 10px;
}}
QPushButton:hover {{ background: {t.hover}; }}
QPushButton:checked {{ background: {t.selected}; color: {t.selected_text}; }}
QPushButton:disabled {{ color: {t.disabled}; background: {t.window}; }}
QPushButton#sendButton {{ background: {t.accent}; color: {t.on_accent}; border: none; font-weight: 600; }}
QPushButton#sendButton:disabled {{ background: {t.hover}; color: {t.disabled}; }}
QPlainTextEdit, QTextEdit, QLineEdit, QListWidget, QTreeWidget {{
    color: {t.text}; background: {t.surface}; border: 1px solid {t.border}; border-radius: 8px;
    selection-background-color: {t.accent}; selection-color: {t.on_accent};
}}
QLineEdit[invalid="true"] {{ border: 1px solid {t.error}; }}
QTextBrowser#messageBody {{ border: none; background: transparent; }}
QListWidget::item, QTreeWidget::item {{ padding: 5px 6px; }}
QListWidget::item:selected, QTreeWidget::item:selected {{ background: {t.selected}; color: {t.selected_text}; }}
QPushButton#primaryButton, QPushButton#startChattingButton {{ background: {t.accent}; color: {t.on_accent}; border: none; font-weight: 600; }}
QPushButton#primaryButton:disabled, QPushButton#startChattingButton:disabled {{ background: {t.hover}; color: {t.disabled}; }}
QPlainTextEdit#chatInput {{ padding: 6px; }}
QGroupBox {{ border: 1px solid {t.border}; border-radius: 10px; margin-top: 14px; padding: 10px 8px 8px 8px;
    background: {t.surface}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 12px; padding: 0 4px; color: {t.text}; font-weight: 600; }}
QLabel#adapterBadge {{ background: {t.selected}; color: {t.selected_text}; border-radius: 10px; padding: 3px 10px; }}
QStatusBar {{ background: {t.window}; color: {t.muted}; border-top: 1px solid {t.border}; }}
QStatusBar QLabel {{ color: {t.muted}; }}
QSplitter::handle {{ background: {t.border}; }}
QProgressBar {{ border: 1px solid {t.border}; border-radius: 6px; background: {t.surface}; color: {t.text};
    text-align: center; min-height: 16px; }}
QProgressBar::chunk {{ background: {t.accent}; border-radius: 5px; }}
QToolTip {{ color: {t.text}; background: {t.surface}; border: 1px solid {t.border}; }}
QRadioButton, QCheckBox {{ color: {t.text}; spacing: 6px; }}
QRadioButton:disabled, QCheckBox:disabled {{ color: {t.disabled}; }}
QRadioButton::indicator {{ width: 12px; height: 12px; border-radius: 8px;
    border: 2px solid {t.control_border}; background: {t.surface}; }}
QRadioButton::indicator:hover {{ border-color: {t.accent}; }}
QRadioButton::indicator:checked {{ border-color: {t.accent}; background: qradialgradient(
    cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5, stop:0 {t.accent}, stop:0.5 {t.accent},
    stop:0.6 {t.surface}, stop:1 {t.surface}); }}
QRadioButton::indicator:disabled {{ border-color: {t.disabled}; }}
"""


def apply_theme(app: QApplication, dark: bool) -> None:
    """Switch the whole application to the light or dark appearance: the Fusion style
    with Hearth's palette and stylesheet (macOS keeps its own style, which follows the
    system appearance, plus the stylesheet)."""
    global _original_style
    if _original_style is None:
        _original_style = app.style().name()
    t = tokens(dark)
    if sys.platform != "darwin":
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
        app.setPalette(palette_for(t))
    app.setStyleSheet(stylesheet(t))


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
    card_background: str = "#ffffff"  # source cards under an answer
    card_surface: str = "#ffffff"  # the answer's own card


LIGHT = HtmlColors(
    dark=False, text="#1f2328", muted="#545d68", link="#0b57d0", error="#b3261e",
    code_style="default", code_background="#f6f8fa", code_header="#eaeef2",
    inline_code_background="#eff1f3", user_background="#dbe8fd", border="#d0d7de",
    card_background="#f4f5f7", card_surface="#ffffff",
)
DARK = HtmlColors(
    dark=True, text="#e8eaed", muted="#aab0b8", link="#8ab4f8", error="#f2b8b5",
    code_style="github-dark", code_background="#0d1117", code_header="#161b22",
    inline_code_background="#2d333b", user_background="#233450", border="#3c4043",
    card_background="#1b1c1f", card_surface="#26282c",
)


def html_colors(dark: bool) -> HtmlColors:
    """The chat HTML's colours for the dark or light appearance."""
    return DARK if dark else LIGHT
