"""One program at a time opens a library: chromadb's PersistentClient is not safe for two
processes (two writers can corrupt its index for good), so a second program gets a clear
message naming the first, and the library is free again once that one ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop.core.library import LibraryBusy
from desktop.core.library.store import LibraryStore

ROOT = Path(__file__).resolve().parents[3]


def _holder(library: Path) -> subprocess.Popen[str]:
    """A child process that opens the library and keeps it until its stdin closes."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from desktop.core.library.store import LibraryStore
        store = LibraryStore(Path({str(library)!r}), "test-model")
        print("ready", flush=True)
        sys.stdin.read()
        store.close()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def test_a_second_program_is_told_who_has_the_library(tmp_path: Path, hearth_home: Path) -> None:
    library = hearth_home / "data" / "library"
    own = LibraryStore(library, "test-model")  # this process: two stores share its hold
    again = LibraryStore(library, "test-model")
    again.close()
    own.close()

    child = _holder(library)
    try:
        with pytest.raises(LibraryBusy, match=r"is open in .*process \d+.*Only one Hearth program"):
            LibraryStore(library, "test-model")
        notes = tmp_path / "notes"
        notes.mkdir()
        (notes / "a.txt").write_text("The spare key is under the blue pot.", encoding="utf-8")
        cli = subprocess.run([sys.executable, "-m", "desktop.cli", "index", str(notes)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert cli.returncode == 1 and "Traceback" not in cli.stderr
        assert "Only one Hearth program can use it at a time" in cli.stderr
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(60)
    LibraryStore(library, "test-model").close()  # free again


def test_a_killed_holder_leaves_the_library_free(hearth_home: Path) -> None:
    library = hearth_home / "data" / "library"
    child = _holder(library)
    child.kill()  # the OS drops its lock: no stale lock file blocks the user
    child.wait(60)
    LibraryStore(library, "test-model").close()
