"""Privacy, end to end: index, ask, chat and personalize with the real models, each a
``hearth`` process as a user runs it, every process recording the connections it sees
(HEARTH_NETWORK_LOG).  Nothing may try the network, and every file Hearth wrote is
private to the user (POSIX: files 0600, folders 0700).  Under ``make test`` this runs in
a network namespace with no interface but loopback (tests/offline.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hearth(home: Path, log: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "HEARTH_NETWORK_LOG": str(log)}
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_whole_session_uses_no_network_and_keeps_files_private(
    tmp_path: Path, shared_data: Path, default_model: Path
) -> None:
    home, log = tmp_path / "home", tmp_path / "network.log"
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "pets.txt").write_text("Our cat is named Marmalade. She is an orange tabby.\n" * 20)
    for name in ("md_markitdown-README.md", "txt_cp1252-latin1_french.txt", "pdf_text_simple_crazyones.pdf"):
        shutil.copy(shared_data / "docs" / name, folder / name)

    steps = [
        ("index", str(folder)),
        ("ask", "What is the name of our cat?", "--temperature", "0", "--max-tokens", "32"),
        ("chat", "Say hello.", "--max-tokens", "16"),
        ("personalize", "--now", "--budget", "2", "--ignore-battery"),
        ("adapters", "list"),
    ]
    for step in steps:
        done = _hearth(home, log, *step)
        assert done.returncode == 0, (step, done.stdout[-2000:], done.stderr[-2000:])

    lines = log.read_text().splitlines() if log.exists() else []
    blocked = [line for line in lines if " blocked " in line]
    assert blocked == [], blocked
    print(f"{len(lines)} local connections (inter-process), 0 blocked")

    assert (home / "data" / "adapters").exists()
    loose = []
    for path in [home, *home.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        if mode != (0o700 if path.is_dir() else 0o600):
            loose.append(f"{path.relative_to(home)} {oct(mode)}")
    assert loose == [], loose
