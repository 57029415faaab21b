"""Render Hearth's icon (resources/icons/hearth.svg) to every size the installers need.

Writes, next to the SVG:
  hearth-{16,24,32,48,64,128,256,512,1024}.png  Linux (hicolor theme), the window icon
  hearth.ico   Windows: 16, 24, 32, 48, 64, 128 and 256 px in one file (PNG-compressed)
  hearth.icns  macOS: 16 to 1024 px (Apple's ic04..ic10 types, written by Pillow)

The SVG is rasterized by Qt's QSvgRenderer (PySide6-Essentials ships QtSvg), each size
drawn from the vector so small sizes stay sharp; Pillow writes the .ico and .icns.
The outputs are committed; run this again after editing the SVG:

    QT_QPA_PLATFORM=offscreen python installers/make_icons.py
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn on a transparent ``size`` x ``size`` canvas, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG file for Qt's renderer")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; it takes str
    buffer.close()
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = ICON_DIR / "hearth.svg"
    images: dict[int, Image.Image] = {}
    for size in PNG_SIZES:
        png = render_png(svg, size)
        (ICON_DIR / f"hearth-{size}.png").write_bytes(png)
        images[size] = Image.open(io.BytesIO(png)).convert("RGBA")
    largest = images[max(ICO_SIZES)]
    largest.save(
        ICON_DIR / "hearth.ico",
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    images[1024].save(
        ICON_DIR / "hearth.icns",
        format="ICNS",
        append_images=[images[s] for s in ICNS_SIZES if s != 1024],
    )
    for name in sorted(p.name for p in ICON_DIR.iterdir()):
        print(f"{name}: {(ICON_DIR / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
