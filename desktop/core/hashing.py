"""Content hashes of files, used wherever Hearth identifies a file by what it holds: the
library (whether a file changed since it was indexed) and the model catalog (which base
model an adapter was trained on)."""

from __future__ import annotations

import hashlib
from pathlib import Path

#: Bytes read per step: big enough to keep the hash fast, small enough to keep memory flat.
READ_BLOCK = 1 << 20


def file_sha256(path: Path | str, chunk: int = READ_BLOCK) -> str:
    """Hex SHA-256 (64 lowercase hex digits) of the file at ``path``, read ``chunk`` bytes at
    a time.

    Raises:
        OSError: the file cannot be opened or read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
