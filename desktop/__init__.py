"""Hearth: a private AI assistant that runs on the user's own computer."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("hearth")
except _metadata.PackageNotFoundError:  # running from a source tree or a frozen bundle
    __version__ = "0.1.0"

APP_NAME = "Hearth"
