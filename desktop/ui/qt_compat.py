"""A guard against a reference-count bug in PySide6 6.12.0 on Python 3.11.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11.7): every call of a void Qt
method returns ``None`` without taking a reference, and ``Signal.emit`` does the same
with ``True``; 1000 ``QLabel.setText`` calls lower ``sys.getrefcount(None)`` by 1000.
A streaming chat makes such calls for every token, so after a few minutes the count
reaches zero and the process aborts ("Fatal Python error: none_dealloc" or
"bool_dealloc").  6.11.3 does not have the bug, and on Python 3.12+ these objects are
immortal (PEP 683), so the bug is harmless there.  pyproject.toml excludes 6.12 for
that reason; this guard keeps an already-installed 6.12.0 from crashing the window.

The guard measures the leak with a few harmless calls and, only if it is there, adds a
very large number to the three singletons' reference counts: the same thing Python
3.12 does by making them immortal.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_PROBE_CALLS = 64
_HEADROOM = 1 << 40  # far more void calls than any session makes
_applied = False


def void_call_leaks_none() -> bool:
    """True if a void Qt call loses a reference to None (the PySide6 6.12.0 bug)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= _PROBE_CALLS // 2


def protect_singletons() -> bool:
    """Apply the guard if this PySide6 build needs it.  Returns True if applied."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or not void_call_leaks_none():
        return False
    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field
        refcount.value += _HEADROOM
    _applied = True
    log.warning(
        "PySide6 %s loses references to None/True/False on this Python; guarded. "
        "Install PySide6-Essentials 6.11 to avoid this.", _pyside_version()
    )
    return True


def _pyside_version() -> str:
    try:
        import PySide6

        return str(PySide6.__version__)
    except Exception:
        return "?"
