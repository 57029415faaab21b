"""Hearth's PySide6 window.  It observes and calls the core; the core never imports Qt."""

from desktop.ui.qt_compat import protect_singletons

protect_singletons()
