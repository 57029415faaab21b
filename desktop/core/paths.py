"""Where Hearth keeps things.

All of the user's data, settings, caches and logs live under platformdirs' per-user
folders, or under one folder named by the environment variable ``HEARTH_HOME`` (tests,
portable installs).  Nothing is ever written beside the installed application.

Folders are created with mode 0700 on POSIX: the data is private.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_DIR_NAME = "Hearth"
HOME_ENV = "HEARTH_HOME"


def _root(kind: str) -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser().resolve() / kind
    dirs = platformdirs.PlatformDirs(APP_DIR_NAME, appauthor=False, roaming=False)
    return Path(
        {
            "data": dirs.user_data_dir,
            "config": dirs.user_config_dir,
            "cache": dirs.user_cache_dir,
            "logs": dirs.user_log_dir,
        }[kind]
    )


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing; on POSIX make it 0700.  Returns ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
    return path


def data_dir() -> Path:
    """Conversation history, document library, adapters."""
    return ensure_private_dir(_root("data"))


def config_dir() -> Path:
    """settings.json."""
    return ensure_private_dir(_root("config"))


def cache_dir() -> Path:
    """Things that can be rebuilt."""
    return ensure_private_dir(_root("cache"))


def logs_dir() -> Path:
    """Log files of the app and its worker processes."""
    return ensure_private_dir(_root("logs"))


def models_dir() -> Path:
    """Where catalog models are downloaded to (models the user adds stay where they are)."""
    return ensure_private_dir(data_dir() / "models")


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def resource_path(*parts: str) -> Path:
    """Path of a file under resources/, in the source tree and in a frozen bundle alike."""
    if is_frozen():
        base = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    else:
        base = Path(__file__).resolve().parents[2]
    return base.joinpath("resources", *parts)


def python_command(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module args`` here, or the same inside a frozen bundle.

    The frozen executable understands ``--run-module MODULE`` (see desktop/__main__.py).
    """
    if is_frozen():
        return [sys.executable, "--run-module", module, *args]
    return [sys.executable, "-m", module, *args]


def atomic_write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file.

    Writes a temporary file in the same folder, fsyncs it, and renames it over ``path``.
    The file is created 0600 on POSIX.

    Raises:
        OSError: the folder is not writable or the disk is full (the old file is intact).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sweep_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files a killed process left in ``folder`` (not recursive).

    These are the ``.NAME.PID.tmp`` files of :func:`atomic_write_bytes` (and of the
    checkpoint and adapter writers, which use the same names) whose process PID no longer
    runs; the real file beside them is intact.  Returns the paths removed.
    """
    import psutil

    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        parts = path.name.split(".")
        if len(parts) < 4 or parts[0] != "" or parts[-1] != "tmp" or not parts[-2].isdigit():
            continue
        if int(parts[-2]) == os.getpid() or psutil.pid_exists(int(parts[-2])):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed
