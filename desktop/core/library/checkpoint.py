"""Embedding checkpoints: the vectors of a large file's passages kept on disk while the
file is embedded, so that indexing stopped in its middle (Cancel, closing Hearth, a kill)
goes on from there next time instead of from its first passage.

A file is stored in the library only once all its passages are embedded (one manifest
commit per group of files), and a file of a few megabytes holds thousands of passages:
minutes of embedding on two cores that a restart used to redo from 0 (a 3.9 MB log of
3,334 passages, eleventh new-user trial).

One ``.npz`` per file, named by the file's SHA-256: the SHA-1 of each embedded passage's
text (what the embedder was given) and its vector, and the embedding model's name.  A
checkpoint of another model, or a damaged one, is ignored (and replaced).  Checkpoints are
removed once their file is stored, and when not written for a week.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: Fewest passages a file needs for its vectors to be checkpointed (a smaller file is
#: embedded again in seconds).
MIN_CHUNKS = 256
#: Seconds between two checkpoints of the same run while it embeds (a kill loses at most
#: this much embedding).
EVERY_S = 30.0
#: Age in seconds at which an untouched checkpoint is dropped (one week).
MAX_AGE_S = 7 * 24 * 3600.0


def text_key(text: str) -> str:
    """The key of a passage's embedding text: its SHA-1, hex."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCheckpoints:
    """The checkpoints of one library, in ``root`` (created when first written).

    Args:
        root: the folder for the ``.npz`` files.
        model: the embedding model's name; vectors of another model are not reused.
    """

    def __init__(self, root: Path, model: str) -> None:
        self.root = root
        self.model = model

    def _path(self, sha256: str) -> Path:
        return self.root / f"{sha256}.npz"

    def load(self, sha256: str) -> dict[str, np.ndarray]:
        """Text key -> vector for the file of content hash ``sha256``; {} when there is
        no usable checkpoint."""
        path = self._path(sha256)
        if not path.is_file():
            return {}
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) != self.model:
                    return {}
                keys, vectors = data["keys"], data["vectors"]
                return {str(k): vectors[i] for i, k in enumerate(keys)}
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring the damaged embedding checkpoint %s: %s", path.name, exc)
            return {}

    def save(self, sha256: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Write the checkpoint of file ``sha256``: ``vectors`` (len(keys), dim) float32,
        one per text key.  Written to a temporary file and moved into place, so a kill
        leaves the previous checkpoint or the new one.  A failed write (a full disk) is
        logged and otherwise ignored: the checkpoint only saves time."""
        if not keys:
            return
        path = self._path(sha256)
        tmp = path.with_suffix(".tmp.npz")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                np.savez(f, model=np.array(self.model), keys=np.array(list(keys)),
                         vectors=np.asarray(vectors, dtype=np.float32))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not write the embedding checkpoint %s: %s", path.name, exc)
            tmp.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        """Drop the checkpoint of file ``sha256`` (its file is stored)."""
        self._path(sha256).unlink(missing_ok=True)

    def prune(self, max_age_s: float = MAX_AGE_S) -> None:
        """Drop checkpoints not written for ``max_age_s`` seconds (their file was changed
        or removed, or is no longer indexed)."""
        if not self.root.is_dir():
            return
        now = time.time()
        for path in self.root.glob("*.npz"):
            try:
                if now - path.stat().st_mtime > max_age_s:
                    path.unlink()
            except OSError:
                pass
