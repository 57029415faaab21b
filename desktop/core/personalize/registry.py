"""The user's personal adapters: list, use, switch off, roll back.

Layout under ``data_dir()/"adapters"``::

    state.json            {"active": NAME | null, "history": [older active names]}
    NAME/adapter.gguf     the llama.cpp LoRA adapter
    NAME/report.json      the morning report of the run that made it

An adapter folder is created as a hidden temporary folder and renamed into place
(``os.replace``, atomic on one file system), so a folder named NAME is always a complete
adapter; state.json is written atomically (temporary file + rename).  Temporary folders
left by a crash are removed on the next open.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.hashing import file_sha256
from desktop.core.models import ModelError, read_gguf_info
from desktop.core.paths import atomic_write_bytes, cache_dir, data_dir, sweep_temporaries
from desktop.core.personalize.export import KEY_BASE_NAME, KEY_BASE_SHA256

ADAPTER_FILE = "adapter.gguf"
REPORT_FILE = "report.json"
STATE_FILE = "state.json"
_TMP_PREFIX = ".incoming-"


class AdapterError(Exception):
    """An adapter cannot be used (message says which and what to do)."""


class AdapterMismatch(AdapterError):
    """The adapter was made for another base model than the one in use."""


@dataclass
class AdapterEntry:
    """One adapter in the registry.

    Attributes:
        name: folder name (a timestamp, e.g. "2026-01-31_0712").
        path: the adapter's GGUF file.
        report: its report (empty dict if missing).
        base_sha256 / base_name: the base model it was trained on.
        active: whether it is the active adapter.
    """

    name: str
    path: Path
    report: dict[str, Any]
    base_sha256: str
    base_name: str
    active: bool


def base_hash(model_path: Path) -> str:
    """SHA-256 of a model file, cached by (path, size, mtime) in the cache folder
    (hashing a multi-GB model takes seconds)."""
    model_path = Path(model_path).resolve()
    st = model_path.stat()
    key = f"{model_path}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = cache_dir() / "model_hashes.json"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return str(cache[key])
    digest = file_sha256(model_path)
    cache[key] = digest
    try:
        atomic_write_bytes(cache_file, json.dumps(cache).encode())
    except OSError:
        pass
    return digest


class AdapterRegistry:
    """The adapters folder.  Args: root (default ``data_dir()/"adapters"``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir() / "adapters"
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(_TMP_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        sweep_temporaries(self.root)

    # -- state -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            state = json.loads((self.root / STATE_FILE).read_text())
            if isinstance(state, dict):
                return state
        except (OSError, ValueError):
            pass
        return {"active": None, "history": []}

    def _save_state(self, state: dict[str, Any]) -> None:
        atomic_write_bytes(self.root / STATE_FILE, json.dumps(state, indent=2).encode())

    @property
    def active_name(self) -> str | None:
        name = self._state().get("active")
        return str(name) if name and (self.root / str(name) / ADAPTER_FILE).exists() else None

    def active(self) -> AdapterEntry | None:
        name = self.active_name
        return self.get(name) if name else None

    # -- listing -----------------------------------------------------------------------
    def get(self, name: str) -> AdapterEntry:
        """Raises AdapterError when there is no adapter called ``name``."""
        folder = self.root / name
        path = folder / ADAPTER_FILE
        if name.startswith(".") or not path.exists():
            raise AdapterError(f"There is no adapter called '{name}'. See `hearth adapters list`.")
        try:
            report = json.loads((folder / REPORT_FILE).read_text())
        except (OSError, ValueError):
            report = {}
        try:
            meta = read_gguf_info(path).metadata
        except ModelError:
            meta = {}
        return AdapterEntry(
            name=name,
            path=path,
            report=report,
            base_sha256=str(meta.get(KEY_BASE_SHA256, "")),
            base_name=str(meta.get(KEY_BASE_NAME, "")),
            active=self._state().get("active") == name,
        )

    def has(self, name: str) -> bool:
        """Whether a complete adapter called ``name`` exists."""
        return not name.startswith(".") and (self.root / name / ADAPTER_FILE).exists()

    def list(self) -> list[AdapterEntry]:
        """All complete adapters, oldest first."""
        names = sorted(
            p.name for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / ADAPTER_FILE).exists()
        )
        return [self.get(n) for n in names]

    # -- changes -----------------------------------------------------------------------
    def add(self, adapter_file: Path, report: dict[str, Any], name: str | None = None) -> AdapterEntry:
        """Copy ``adapter_file`` and ``report`` into a new adapter folder, atomically.

        Returns the new entry (not activated: call :meth:`use`).
        """
        name = name or time.strftime("%Y-%m-%d_%H%M%S")
        base, n = name, 1
        while (self.root / name).exists():
            n += 1
            name = f"{base}-{n}"
        tmp = self.root / f"{_TMP_PREFIX}{name}-{os.getpid()}"
        tmp.mkdir()
        try:
            shutil.copyfile(adapter_file, tmp / ADAPTER_FILE)
            (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2, default=str))
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            os.replace(tmp, self.root / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.get(name)

    def check_compatible(self, name: str, model_path: Path) -> AdapterEntry:
        """The entry, if it was made for the model file ``model_path``.

        Raises:
            AdapterMismatch: made for another base model (compared by file SHA-256).
        """
        entry = self.get(name)
        if entry.base_sha256 and entry.base_sha256 != base_hash(Path(model_path)):
            raise AdapterMismatch(
                f"The adapter '{name}' was trained for {entry.base_name or 'another model'}, "
                f"not for {Path(model_path).name}. Switch back to that model, or personalize "
                "again with this one."
            )
        if not entry.base_sha256:
            raise AdapterMismatch(
                f"The adapter '{name}' does not say which model it was made for; Hearth "
                "will not apply it. Personalize again to make a new one."
            )
        return entry

    def use(self, name: str, model_path: Path | None = None) -> AdapterEntry:
        """Make ``name`` the active adapter (the previous one goes to the rollback history).

        Raises:
            AdapterError / AdapterMismatch: unknown, or made for another model than
                ``model_path`` (checked when given).
        """
        entry = self.check_compatible(name, model_path) if model_path else self.get(name)
        state = self._state()
        if state.get("active") and state["active"] != name:
            state.setdefault("history", []).append(state["active"])
        state["active"] = name
        self._save_state(state)
        entry.active = True
        return entry

    def off(self) -> None:
        """No active adapter (the last one can be brought back with rollback)."""
        state = self._state()
        if state.get("active"):
            state.setdefault("history", []).append(state["active"])
        state["active"] = None
        self._save_state(state)

    def rollback(self) -> AdapterEntry | None:
        """Go back to the adapter active before the current one; None if there was none
        (then no adapter is active).  Adapters that were deleted are skipped."""
        state = self._state()
        history = [h for h in state.get("history", []) if (self.root / h / ADAPTER_FILE).exists()]
        previous = history.pop() if history else None
        state["history"] = history
        state["active"] = previous
        self._save_state(state)
        return self.get(previous) if previous else None

    def remove(self, name: str) -> None:
        """Delete an adapter (not the active one)."""
        if self._state().get("active") == name:
            raise AdapterError(f"'{name}' is in use: switch it off first.")
        folder = self.root / name
        if folder.exists() and not name.startswith("."):
            trash = self.root / f"{_TMP_PREFIX}rm-{name}"
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
