"""The window's entry point: ``python -m desktop`` and the frozen app call :func:`main`."""

from __future__ import annotations

import logging
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop.core import privacy

log = logging.getLogger(__name__)


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

    from desktop.core.app import HearthCore
    from desktop.ui.main_window import MainWindow, app_icon

    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    try:
        core = HearthCore()
    except Exception as exc:  # e.g. the history database cannot be opened
        log.exception("Hearth could not start")
        QMessageBox.critical(None, "Hearth could not start", str(exc))
        return 1
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
