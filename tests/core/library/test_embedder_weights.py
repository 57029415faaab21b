"""The embedding model's folder as the installers ship it (issue 14, smaller download):
without PyTorch weights, named as its source, and clear when it cannot embed; and the
PyTorch embedder of a checkout, which runs without sentence-transformers (whose imports
bring scikit-learn and SciPy) and agrees with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.core.library import Library, LibraryError
from desktop.core.library.embedder import (
    SOURCE_NOTE,
    SentenceEmbedder,
    _MeanPooledBert,
    has_weights,
    model_identity,
    weightless_copy,
)
from desktop.core.library.onnx_embedder import PROBE_TEXTS, make_embedder
from desktop.core.settings import LibrarySettings

TEXTS = PROBE_TEXTS + [
    "Grandma's lemon cake needs three eggs.",
    "The boiler service is due every October.",
]


@pytest.fixture(scope="module")
def shipped_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return weightless_copy(model_dir, tmp_path_factory.mktemp("shipped") / "all-MiniLM-L6-v2")


def _digest(folder: Path) -> str:
    """The part of the identity that names the weights (the base is the folder's name)."""
    return model_identity(folder).split("@", 1)[1]


def test_weightless_copy_keeps_the_tokenizer_and_the_identity(model_dir: Path, shipped_dir: Path) -> None:
    assert has_weights(model_dir) and not has_weights(shipped_dir)
    assert (shipped_dir / "tokenizer.json").is_file() and (shipped_dir / "config.json").is_file()
    note = json.loads((shipped_dir / SOURCE_NOTE).read_text())
    assert note["source_bytes"]["model.safetensors"] == (model_dir / "model.safetensors").stat().st_size
    assert _digest(shipped_dir) == _digest(model_dir)
    # without the note it is another model: a collection would re-index
    other = weightless_copy(model_dir, shipped_dir.parent / "no-note" / "all-MiniLM-L6-v2")
    (other / SOURCE_NOTE).unlink()
    assert _digest(other) != _digest(model_dir)


def test_a_folder_without_weights_cannot_be_copied_so(shipped_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="holds no weights"):
        weightless_copy(shipped_dir, tmp_path / "again")


def test_without_weights_and_without_an_int8_copy_the_library_says_so(
    shipped_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nothing converted for this folder, and no weights to convert from or fall back on
    monkeypatch.setenv("HEARTH_EMBEDDER_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(FileNotFoundError, match="holds no PyTorch weights"):
        SentenceEmbedder(shipped_dir)
    with pytest.raises(FileNotFoundError, match="cannot run on this computer"):
        make_embedder(shipped_dir, "onnx", threads=1)
    lib = Library.open(tmp_path / "data", LibrarySettings(embedding_model=str(shipped_dir)))
    try:
        with pytest.raises(LibraryError, match="Chat still works without the library"):
            lib.embedder  # noqa: B018
    finally:
        lib.close()


def test_the_pytorch_embedder_matches_sentence_transformers_without_importing_it(model_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    reference = np.asarray(st.encode(TEXTS, batch_size=32, normalize_embeddings=True), dtype=np.float32)
    exact = SentenceEmbedder(model_dir, threads=1, batch_size=4)
    assert isinstance(exact.model, _MeanPooledBert)
    got = exact.embed(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.min(np.sum(got * reference, axis=1)) >= 0.99999
    # a question does not depend on the batch it would have been in
    assert np.allclose(exact.embed_query([TEXTS[0]])[0], got[0], atol=1e-5)
