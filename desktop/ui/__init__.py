"""Hearth's PySide6 window.  It observes and calls the core; the core never imports Qt."""
