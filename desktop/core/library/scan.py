"""Which files the library looks at: the one list of names it ignores (used by indexing's
scan and by the folder watcher alike) and the walk over the folders the user gave.

Ignored: hidden entries (``.name``), Office lock files (``~$name``), editor backups and
partial downloads (``name~``, ``.tmp``, ``.part``, ``.swp``), and the folder metadata that
Windows and macOS write beside documents (``Thumbs.db``, ``desktop.ini``, ``.DS_Store``).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from desktop.core.library.manifest import DEFAULT_COLLECTION

IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = ("~", ".tmp", ".part", ".swp")
#: compared in lower case: Windows writes ``Thumbs.db``, older versions ``thumbs.db``
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})


def is_ignored(name: str) -> bool:
    """Whether a file or folder called ``name`` (its last path component) is left out of
    the library (see the module's docstring for the list)."""
    return (name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES)
            or name.lower() in IGNORED_NAMES)


@dataclass
class SkippedFile:
    """A file that could not be indexed, and why (a sentence for the user)."""

    path: str
    reason: str
    collection: str = DEFAULT_COLLECTION


def os_reason(exc: OSError) -> str:
    """Why a file cannot be read, as a phrase for the user ("permission denied", ...)."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (the link points back to itself)"
    if isinstance(exc, FileNotFoundError):
        return "not found (a broken link, or removed meanwhile)"
    return f"cannot be read ({exc.strerror or exc})"


def scan(paths: list[Path]) -> tuple[list[Path], list[SkippedFile], list[Path]]:
    """Files under ``paths`` (folders recursively, following links once, skipping ignored
    entries), files that cannot even be listed, and the folders given.

    Returns:
        (files in walk order, each once; files and folders that cannot be read, with the
        reason; the given paths that are folders, made absolute).
    """
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    roots: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()

    def add_file(p: Path, st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            skipped.append(SkippedFile(str(p), "not a regular file (a device, pipe or socket)"))
        elif str(p) not in seen_files:
            seen_files.add(str(p))
            files.append(p)

    def walk(folder: Path) -> None:
        try:
            st = folder.stat()
        except OSError as exc:
            skipped.append(SkippedFile(str(folder), os_reason(exc)))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            return  # a link back to a folder already walked
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(SkippedFile(str(folder), os_reason(exc)))
            return
        for entry in entries:
            if is_ignored(entry.name):
                continue
            p = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=True):
                    walk(p)
                    continue
                st2 = p.stat()
            except OSError as exc:
                skipped.append(SkippedFile(str(p), os_reason(exc)))
                continue
            add_file(p, st2)

    for raw in paths:
        p = Path(raw).expanduser().absolute()
        try:
            if p.is_dir():
                roots.append(p)
                walk(p)
                continue
            st = p.stat()
        except OSError as exc:
            if os.path.lexists(p):
                skipped.append(SkippedFile(str(p), os_reason(exc)))
            continue
        add_file(p, st)
    return files, skipped, roots
