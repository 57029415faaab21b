"""Screenshots of every page of the real window, in light and dark, at two sizes.

A developer tool (not a test, not a benchmark): it builds a throw-away HEARTH_HOME with a
small library (a few personal notes and one PDF from the shared test data), opens the
real HearthCore with the built-in model, asks one question whose answer cites a source,
then saves a PNG of each page:

    chat, library, personalize, models, settings, memory ("What does Hearth know?"), about

for theme in (light, dark) and size in (1280x800, 1920x1080), named
``<page>-<theme>-<W>x<H>.png``.  The images are grabbed with ``QWidget.grab()``, which
renders the widgets themselves (no window manager or screen needed), so it runs under
``QT_QPA_PLATFORM=offscreen``.

Usage (from the repository root):

    QT_QPA_PLATFORM=offscreen PYTHONPATH=$PWD python tools/screenshots.py OUT_FOLDER \
        [--data /path/to/shared/data] [--sizes 1280x800,1920x1080] [--themes light,dark]
        [--add FILE ...] [--ask QUESTION ...]

Takes about a minute on two cores (indexing, then one short answer).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NOTES = {
    "Dentist.md": "# Dentist\n\nDr. Alvarez, Elm Street clinic. Next check-up on 14 March at 9:30. "
                  "Bring the insurance card.\n",
    "Car.md": "# Car\n\nThe car is a blue 2016 Skoda Octavia. Tyres changed in October; next service "
              "at 90,000 km. The spare key is in the kitchen drawer.\n",
    "Home Wi-Fi.txt": "Home Wi-Fi\n\nNetwork name: Hearthnet. The Wi-Fi password is blue-otter-2417. "
                      "The router is behind the bookshelf in the living room.\n",
    "Garden plans.md": "# Garden plans\n\nPlant tomatoes and basil in May. The apple tree needs pruning "
                       "in February. Compost bin is emptied every autumn.\n",
}
PDF = "docs/pdf_text_simple_crazyones.pdf"
QUESTION = "What is the Wi-Fi password?"
PAGES = ("chat", "library", "personalize", "models", "settings", "memory", "about")


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        w, _, h = part.strip().partition("x")
        sizes.append((int(w), int(h)))
    return sizes


def _wait(app: Any, done: Any, timeout: float, what: str) -> None:
    """Run the event loop until ``done()`` (no timed sleeps in place of it)."""
    from PySide6.QtCore import QEventLoop, QTimer

    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()


def _settle(app: Any) -> None:
    """Let layouts and deferred paints run."""
    from PySide6.QtCore import QEventLoop, QTimer

    for _ in range(3):
        loop = QEventLoop()
        QTimer.singleShot(30, loop.quit)
        loop.exec()


def _prepare_home(home: Path, data: Path, extra: list[Path] | None = None) -> Path:
    notes = home.parent / "My notes"
    notes.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (notes / name).write_text(text, encoding="utf-8")
    for path in extra or []:
        shutil.copy(path, notes / path.name)
    pdf = data / PDF
    if pdf.exists():
        shutil.copy(pdf, notes / "Crazy ones (Apple ad).pdf")
    else:
        print(f"note: {pdf} not found; the library has notes only", file=sys.stderr)
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files (made if missing)")
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
                        help="the shared test data folder (for the PDF)")
    parser.add_argument("--sizes", default="1280x800,1920x1080")
    parser.add_argument("--themes", default="light,dark")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--ask", action="append", default=None, metavar="QUESTION",
                        help=f"a question to ask before the screenshots, in one chat (repeatable; "
                             f"default: {QUESTION!r})")
    parser.add_argument("--add", action="append", type=Path, default=None, metavar="FILE",
                        help="a file to put in the library beside the notes (repeatable)")
    args = parser.parse_args(argv)
    sizes = _parse_sizes(args.sizes)
    themes = [t.strip() for t in args.themes.split(",")]
    pages = [p.strip() for p in args.pages.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    tmp = Path(tempfile.mkdtemp(prefix="hearth-shots-"))
    home = tmp / "hearth-home"
    os.environ["HEARTH_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    notes = _prepare_home(home, args.data, args.add)

    from desktop.core import privacy

    privacy.harden()
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    app.setApplicationName("Hearth")
    from desktop.core.app import HearthCore
    from desktop.core.settings import Settings
    from desktop.ui.main_window import MainWindow

    settings = Settings()
    settings.ui.welcome_done = True
    settings.chat.temperature = 0.0
    settings.chat.seed = 0
    settings.chat.max_tokens = 60
    core = HearthCore(settings=settings)
    try:
        assert core.library is not None
        core.watch_folder(notes)
        for ev in core.library.index_paths([notes]):
            if ev.kind in ("done", "error", "cancelled"):
                print("library:", ev.kind, (ev.data or {}).get("message", ""))
        window = MainWindow(core)
        window.show()
        finished: list[Any] = []
        window.answer_finished.connect(finished.append)
        window.load_current_model()
        _wait(app, lambda: window.model_ready and not window.loading, 180, "the model")
        for n, question in enumerate(args.ask or [QUESTION], 1):
            window.input.setPlainText(question)
            window.send()
            _wait(app, lambda n=n: len(finished) >= n and not window.busy, 300, "the answer")
        _shoot_all(app, window, args.out, sizes, themes, pages)
        window.close()
    finally:
        core.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"saved to {args.out}")
    return 0


def _shoot_all(app: Any, window: Any, out: Path, sizes: list[tuple[int, int]],
               themes: list[str], pages: list[str]) -> None:
    for theme in themes:
        window.core.settings.ui.theme = theme
        window.refresh_theme()
        for w, h in sizes:
            window.resize(w, h)
            for page in pages:
                name = out / f"{page}-{theme}-{w}x{h}.png"
                _shoot(app, window, page, name)
                print("saved", name.name)
            window.show_mode("chat")


def _shoot(app: Any, window: Any, page: str, path: Path) -> None:
    if page in ("chat", "library", "personalize", "models"):
        window.show_mode(page)
        if page == "personalize":  # with the preview: what it would learn from, secrets unticked
            panel = window._panel("personalize")
            if panel.preview_tree.topLevelItemCount() == 0:
                panel.refresh_preview()
                _wait(app, lambda: panel.preview_tree.topLevelItemCount() > 0, 120, "the preview")
        _settle(app)
        window.grab().save(str(path))
        return
    if page in ("settings", "memory"):
        window.show_mode("chat")
        dialog = window.open_settings()
        if page == "memory":
            dialog.tabs.setCurrentWidget(dialog.memory_view)
        _settle(app)
        dialog.grab().save(str(path))
        dialog.reject()
        _settle(app)
        return
    if page == "about":
        box = window._about()
        _settle(app)
        box.grab().save(str(path))
        box.done(0)
        _settle(app)
        return
    raise SystemExit(f"unknown page {page!r}; choose from {', '.join(PAGES)}")


if __name__ == "__main__":
    sys.exit(main())
