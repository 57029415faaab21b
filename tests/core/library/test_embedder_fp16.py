"""The PyTorch fallback embedder (issue 14, smaller download): it runs without
sentence-transformers (whose imports bring scikit-learn and SciPy into the installers), and
from the half-precision weights the installers ship, and agrees with sentence-transformers
on the float32 model; the copy keeps its source's identity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.core.library.embedder import (
    HALF_PRECISION_NOTE,
    SentenceEmbedder,
    _MeanPooledBert,
    half_precision_copy,
    model_identity,
)
from desktop.core.library.onnx_embedder import PROBE_TEXTS

TEXTS = PROBE_TEXTS + [
    "Grandma's lemon cake needs three eggs.",
    "The boiler service is due every October.",
]


@pytest.fixture(scope="module")
def half_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return half_precision_copy(model_dir, tmp_path_factory.mktemp("half") / "all-MiniLM-L6-v2")


def _digest(folder: Path) -> str:
    """The part of the identity that names the weights (the base is the folder's name)."""
    return model_identity(folder).split("@", 1)[1]


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> np.ndarray:
    """sentence-transformers on the float32 weights: what the fallback must reproduce."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    return np.asarray(st.encode(TEXTS, batch_size=32, normalize_embeddings=True), dtype=np.float32)


def test_half_precision_copy_halves_the_weights_and_keeps_the_identity(model_dir: Path, half_dir: Path) -> None:
    from safetensors.numpy import load_file

    full = (model_dir / "model.safetensors").stat().st_size
    half = (half_dir / "model.safetensors").stat().st_size
    assert half < 0.51 * full
    dtypes = {v.dtype for v in load_file(str(half_dir / "model.safetensors")).values()}
    assert np.dtype(np.float16) in dtypes and np.dtype(np.float32) not in dtypes
    note = json.loads((half_dir / HALF_PRECISION_NOTE).read_text())
    assert note["source_bytes"]["model.safetensors"] == full
    assert _digest(half_dir) == _digest(model_dir)
    # without the note it is another model (the size differs): a collection would re-index
    other = half_dir.parent / "no-note" / "all-MiniLM-L6-v2"
    half_precision_copy(model_dir, other)
    (other / HALF_PRECISION_NOTE).unlink()
    assert _digest(other) != _digest(model_dir)


def test_fallback_matches_sentence_transformers_without_importing_it(
    model_dir: Path, half_dir: Path, reference: np.ndarray
) -> None:
    exact = SentenceEmbedder(model_dir, threads=1, batch_size=4)
    assert isinstance(exact.model, _MeanPooledBert)
    got = exact.embed(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.min(np.sum(got * reference, axis=1)) >= 0.99999
    halved = SentenceEmbedder(half_dir, threads=1)
    assert halved.model.model.dtype.is_floating_point and str(halved.model.model.dtype) == "torch.float32"
    cosines = np.sum(halved.embed(TEXTS) * reference, axis=1)
    assert np.min(cosines) >= 0.9999, cosines
    # a question does not depend on the batch it would have been in
    assert np.allclose(halved.embed_query([TEXTS[0]])[0], halved.embed(TEXTS)[0], atol=1e-5)


def test_weights_that_do_not_fit_half_precision_are_refused(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    src = tmp_path / "m"
    src.mkdir()
    (src / "config.json").write_text("{}")
    save_file({"w": np.array([1.0, 1e6], dtype=np.float32)}, str(src / "model.safetensors"))
    with pytest.raises(ValueError, match="does not fit float16"):
        half_precision_copy(src, tmp_path / "out")
