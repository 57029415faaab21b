"""Sidebar icons, drawn with QPainter in the theme's colour (no image files, so they stay
sharp at any scale and follow light and dark)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

SIZE = 64  # drawn at 64 px, scaled down by Qt


def _chat(p: QPainter) -> None:
    path = QPainterPath()
    path.addRoundedRect(QRectF(8, 10, 48, 34), 10, 10)
    tail = QPainterPath()
    tail.moveTo(18, 42)
    tail.lineTo(14, 56)
    tail.lineTo(30, 43)
    p.drawPath(path.united(tail))


def _library(p: QPainter) -> None:
    for x, top in ((10, 12), (24, 8), (38, 16)):
        p.drawRoundedRect(QRectF(x, top, 11, 54 - top), 2, 2)
    p.drawLine(QPointF(6, 56), QPointF(58, 56))


def _personalize(p: QPainter) -> None:
    def star(cx: float, cy: float, r: float) -> QPainterPath:
        path = QPainterPath()
        for i in range(8):
            radius = r if i % 2 == 0 else r * 0.32
            angle = math.pi / 4 * i - math.pi / 2
            point = QPointF(cx + radius * math.cos(angle), cy + radius * math.sin(angle))
            path.moveTo(point) if i == 0 else path.lineTo(point)
        path.closeSubpath()
        return path

    p.drawPath(star(28, 34, 22))
    p.drawPath(star(50, 14, 9))


def _settings(p: QPainter) -> None:
    cx, cy = 32.0, 32.0
    path = QPainterPath()
    for i in range(16):
        r = 24 if i % 2 == 0 else 17
        for k in (-0.16, 0.16):
            a = 2 * math.pi * (i + 0.5 + k) / 16
            point = QPointF(cx + r * math.cos(a), cy + r * math.sin(a))
            path.moveTo(point) if (i == 0 and k < 0) else path.lineTo(point)
    path.closeSubpath()
    p.drawPath(path)
    p.drawEllipse(QPointF(cx, cy), 7, 7)


def _models(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(14, 14, 36, 36), 6, 6)
    p.drawRect(QRectF(24, 24, 16, 16))
    for k in (22, 32, 42):
        for a, b in (((k, 6), (k, 14)), ((k, 50), (k, 58)), ((6, k), (14, k)), ((50, k), (58, k))):
            p.drawLine(QPointF(*a), QPointF(*b))


DRAW = {"chat": _chat, "library": _library, "personalize": _personalize, "settings": _settings,
        "models": _models, "catalog": _models}


def nav_icon(name: str, colour: str) -> QIcon:
    """The sidebar icon ``name`` (chat, library, personalize, settings, models) drawn as
    an outline in ``colour`` (a CSS colour); an empty icon for unknown names."""
    draw = DRAW.get(name)
    if draw is None:
        return QIcon()
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(colour), 4.5)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    draw(painter)
    painter.end()
    return QIcon(pixmap)
