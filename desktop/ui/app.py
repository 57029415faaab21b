"""The window's entry point: ``python -m desktop`` and the frozen app call :func:`main`."""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop.core import privacy

log = logging.getLogger(__name__)

#: seconds a second launch waits for a window that is closing to let go of the library
CLOSING_WAIT_S = 30.0


def main(argv: list[str] | None = None) -> int:
    """Open Hearth's window and run until it closes.

    Args:
        argv: command-line arguments after the program name (Qt's own options work).
    Returns:
        the process exit code (0 on a normal close, 1 if the core could not open).
    """
    privacy.harden()  # offline, private files (umask 077), network guard
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "hearth", *(argv or [])])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    app.setOrganizationName("Hearth")
    app.setDesktopFileName("hearth")

    from desktop.ui.main_window import MainWindow, app_icon

    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    try:
        core = open_core()
    except Exception as exc:  # e.g. the history database cannot be opened
        log.exception("Hearth could not start")
        QMessageBox.critical(None, "Hearth could not start", str(exc))
        return 1
    if core is None:  # Hearth is open already: its window came to the front
        return 0
    window: MainWindow | None = None
    try:
        window = MainWindow(core)
        window.restore_geometry()
        window.show()
        QTimer.singleShot(0, window.load_current_model)
        QTimer.singleShot(0, window.watch_folders)
        _close_on_signals(window)
        code = app.exec()
    finally:
        if window is not None and window.handoff is not None:  # quit from the tray: no closeEvent
            window.handoff.close()
        core.close()
    return int(code)


def open_core(wait_s: float = CLOSING_WAIT_S) -> Any:
    """The app's core, or None when a Hearth window already holds the library: that window
    is asked to come to the front instead (from the tray, or from behind other windows),
    as a desktop application opens once.  A window that is closing (it no longer answers)
    is given ``wait_s`` seconds to let go of the library.

    Raises:
        LibraryBusy: another program (a ``hearth`` command) holds the library, or the
            window holding it neither answers nor lets go in time.
        Exception: anything else that stops the core from opening.
    """
    from desktop.core.app import HearthCore
    from desktop.core.library import LibraryBusy
    from desktop.core.library.handoff import HandoffRefused, HandoffUnavailable, request_show

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return HearthCore()
        except LibraryBusy as busy:
            if busy.root is None or "the Hearth window" not in busy.owner:
                raise
            try:
                request_show(busy.root)
                log.info("Hearth is open already (%s): its window was brought to the front", busy.owner)
                return None
            except (HandoffUnavailable, HandoffRefused):
                if time.monotonic() >= deadline:
                    raise busy from None
            time.sleep(0.5)  # the window is closing: it lets go of the library when done


def _close_on_signals(window: QWidget) -> None:
    """SIGINT/SIGTERM close the window as the user would (an answer being written is
    kept, marked stopped).  Python runs signal handlers only between bytecodes, so a
    timer gives it a turn while Qt's event loop runs."""

    def handler(signum: int, frame: object) -> None:
        window.close()

    for name in ("SIGINT", "SIGTERM"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, handler)
    timer = QTimer(window)
    timer.setInterval(300)
    timer.timeout.connect(lambda: None)
    timer.start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
