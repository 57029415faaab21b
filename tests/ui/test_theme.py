"""Readable in light and dark: every text colour the window draws on each background it
is drawn on reaches WCAG 2.1 AA, 4.5:1 (www.w3.org/TR/WCAG21/#contrast-minimum), computed
from the palette, the stylesheet and the chat's HTML colours (desktop/ui/theme.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.theme import (
    apply_theme,
    control_pairs,
    html_colors,
    palette_for,
    stylesheet,
    text_pairs,
    tokens,
)

AA = 4.5


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.1, sRGB)."""
    c = QColor(colour)
    assert c.isValid(), colour

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near-miss


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_text_pair_reaches_aa(dark: bool) -> None:
    low = [(what, fg, bg, round(contrast(fg, bg), 2)) for what, fg, bg in text_pairs(tokens(dark))
           if contrast(fg, bg) < AA]
    assert not low


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_palette_roles_reach_aa(dark: bool) -> None:
    p = palette_for(tokens(dark))
    r = QPalette.ColorRole
    for fg, bg in ((r.Text, r.Base), (r.WindowText, r.Window), (r.ButtonText, r.Button),
                   (r.HighlightedText, r.Highlight), (r.Link, r.Base), (r.Link, r.Window),
                   (r.PlaceholderText, r.Base), (r.ToolTipText, r.ToolTipBase), (r.BrightText, r.Base)):
        ratio = contrast(p.color(fg).name(), p.color(bg).name())
        assert ratio >= AA, (fg, bg, ratio)
    # disabled text is exempt from AA (WCAG 1.4.3) but must stay legible
    disabled = p.color(QPalette.ColorGroup.Disabled, r.ButtonText).name()
    assert contrast(disabled, p.color(QPalette.ColorGroup.Disabled, r.Button).name()) >= 3.0


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_stylesheet_rules_with_text_and_background_reach_aa(dark: bool) -> None:
    """Each stylesheet rule that sets both a text colour and a background is readable."""
    t = tokens(dark)
    checked = 0
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", stylesheet(t)):
        fg = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", body)
        bg = re.search(r"background(?:-color)?:\s*(#[0-9a-fA-F]{6})", body)
        if not (fg and bg):
            continue
        checked += 1
        need = 3.0 if ":disabled" in selector else AA
        assert contrast(fg.group(1), bg.group(1)) >= need, selector.strip()
    assert checked >= 5


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_chat_html_colours_reach_aa(dark: bool) -> None:
    h = html_colors(dark)
    for fg in (h.text, h.muted, h.link, h.error):
        for bg in (h.card_background, h.card_surface, h.user_background):
            assert contrast(fg, bg) >= AA, (fg, bg)


def test_dark_links_are_not_dark_blue() -> None:
    """The reported defect: dark blue links on dark grey."""
    t = tokens(True)
    assert contrast(t.link, t.surface) >= 7.0


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_control_rings_reach_three_to_one(dark: bool) -> None:
    """Radio buttons are not text: WCAG 1.4.11 asks 3:1 against what surrounds them."""
    low = [(what, round(contrast(fg, bg), 2)) for what, fg, bg in control_pairs(tokens(dark))
           if contrast(fg, bg) < 3.0]
    assert not low


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_radio_buttons_are_drawn_visible(qtbot: Any, dark: bool) -> None:
    """The reported defect (radio buttons impossible to see in dark mode), on the drawn
    pixels: the unchosen radio's ring stands out 3:1 from the window behind it."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, dark)
    try:
        box = QWidget()
        qtbot.addWidget(box)
        layout = QVBoxLayout(box)
        radio = QRadioButton("Start now")
        layout.addWidget(radio)
        box.show()
        qtbot.waitExposed(box)
        image = radio.grab().toImage()
        option = QStyleOptionButton()
        radio.initStyleOption(option)
        ring = radio.style().subElementRect(QStyle.SubElement.SE_RadioButtonIndicator, option, radio)
        assert ring.width() > 4, ring  # the indicator, not the label beside it
        background = tokens(dark).window
        best = max(
            contrast(image.pixelColor(x, y).name(), background)
            for x in range(ring.left(), ring.right() + 1) for y in range(ring.top(), ring.bottom() + 1)
        )
        assert best >= 3.0, best
    finally:
        apply_theme(app, False)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_disabled_checkbox_looks_disabled(qtbot: Any, dark: bool) -> None:
    """The stylesheet gave every check box the text colour, so "Use my personal adapter
    in chat" looked usable on the Personalize page before any adapter existed."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, dark)
    try:
        boxes = []
        for enabled in (True, False):
            box = QCheckBox("Use my personal adapter in chat")
            box.setEnabled(enabled)
            qtbot.addWidget(box)
            box.show()
            qtbot.waitExposed(box)
            boxes.append(box)
        t = tokens(dark)

        def closest_to_text(box: QCheckBox) -> float:
            image = box.grab().toImage()
            return min(
                contrast(image.pixelColor(x, y).name(), t.text)
                for x in range(image.width()) for y in range(image.height())
            )

        enabled_box, disabled_box = boxes
        assert closest_to_text(enabled_box) < 1.1  # the label's pixels are the text colour
        assert closest_to_text(disabled_box) > 1.5  # none are on the disabled one
    finally:
        apply_theme(app, False)
