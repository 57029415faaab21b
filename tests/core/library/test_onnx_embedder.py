"""The int8 ONNX embedder agrees with PyTorch's all-MiniLM-L6-v2 (issue 15: cosine >= 0.99
on every probe, checked at conversion) and is what the library uses by default."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.core.library.embedder import SentenceEmbedder
from desktop.core.library.onnx_embedder import (
    MIN_COSINE,
    RECIPE,
    OnnxEmbedder,
    cache_path,
    embedder_cache_dir,
)


def test_onnx_vectors_match_pytorch(embedder: Any, model_dir: Path) -> None:
    assert isinstance(embedder, OnnxEmbedder)
    check = json.loads((cache_path(model_dir, embedder_cache_dir()) / "check.json").read_text())
    assert check["min_cosine"] >= MIN_COSINE
    texts = ["Grandma's lemon cake needs three eggs.", "Where are the winter tyres stored?",
             "Vitamin D and respiratory infections in children: a meta-analysis."]
    torch_vectors = SentenceEmbedder(model_dir, threads=1).embed(texts)
    onnx_vectors = embedder.embed(texts)
    assert onnx_vectors.shape == (3, 384) and onnx_vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-4)
    assert (np.sum(onnx_vectors * torch_vectors, axis=1) >= MIN_COSINE).all()
    # same ranking for a question
    q = embedder.embed_query(["how many eggs in the cake"])[0]
    assert int(np.argmax(onnx_vectors @ q)) == 0


def test_converted_model_is_reused_and_named(embedder: Any, model_dir: Path) -> None:
    again = OnnxEmbedder(model_dir, embedder_cache_dir(), threads=1)
    again.load()  # from the cache: no second conversion
    assert again.name == embedder.name and again.name.endswith(f"+{RECIPE}")


def test_the_layer_norms_run_unfused_where_onnx_runtime_s_fused_kernel_is_slower(
        embedder: Any, tmp_path: Path) -> None:
    """SkipLayerNormalization (about eight times slower than Add + LayerNormalization on
    CPU, see the module's docstring) is neither in the file nor made by the session."""
    import onnx

    from desktop.core.library.onnx_embedder import _session

    assert embedder.folder is not None
    path = embedder.folder / "model.onnx"
    on_disk = {n.op_type for n in onnx.load(str(path)).graph.node}
    _session(path, 1, optimized_path=tmp_path / "run.onnx")
    running = {n.op_type for n in onnx.load(str(tmp_path / "run.onnx")).graph.node}
    for ops in (on_disk, running):
        assert "LayerNormalization" in ops and "SkipLayerNormalization" not in ops, sorted(ops)
    assert "QAttention" in running  # the other fusions stay


def test_batches_run_on_several_threads_and_keep_the_texts_order(embedder: Any, model_dir: Path) -> None:
    """With 2 threads, batches run at once on two worker threads (data parallelism), and
    every vector still lands at its own text's row, whatever the length order; a text's
    vector does not depend on the texts embedded with it (no padding, no shared
    quantization range)."""
    texts = ["Where are the winter tyres stored?", "a", "Grandma's lemon cake needs three eggs and lemon zest.",
             "The boiler was serviced on 12 March.", "Vitamin D and respiratory infections in children.",
             "ok", "The passport expires in 2031; renew it six months before.", "Meeting at noon."]
    parallel = OnnxEmbedder(model_dir, embedder_cache_dir(), threads=2)
    callers: set[str] = set()
    import threading

    from desktop.core.library import onnx_embedder

    real_run = onnx_embedder._run

    def spy(session: Any, rows: list[list[int]]) -> np.ndarray:
        callers.add(threading.current_thread().name)
        return real_run(session, rows)

    onnx_embedder._run = spy
    try:
        vectors = parallel.embed(texts)
    finally:
        onnx_embedder._run = real_run
    assert len([name for name in callers if name.startswith("hearth-embed")]) == 2
    one_by_one = np.stack([embedder.embed([t])[0] for t in texts])
    assert vectors.shape == (len(texts), 384)
    assert np.allclose(vectors, one_by_one, atol=1e-5)
    parallel.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("hearth-embed")]
    # closed, it loads again on the next call
    assert parallel.embed(["a"]).shape == (1, 384)
    parallel.close()


def test_a_conversion_shipped_with_the_app_is_used_first_without_converting(
        embedder: Any, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The installers ship the conversion made at build time (resources/models/embedders/):
    the app uses it, after checking the stored PyTorch vectors on this processor, and
    converts nothing (its cache stays empty)."""
    from desktop.core.library import onnx_embedder

    made = cache_path(model_dir, embedder_cache_dir())
    assert (made / onnx_embedder.REFERENCE_FILE).is_file()  # convert() keeps the probes' vectors
    shipped_root = tmp_path / "resources" / "models" / "embedders"
    shutil.copytree(made, shipped_root / made.name)
    monkeypatch.setattr(onnx_embedder, "bundled_dir", lambda: shipped_root)
    empty_cache = tmp_path / "cache"
    got = OnnxEmbedder(model_dir, empty_cache, threads=1)
    got.load()
    assert got.folder == shipped_root / made.name
    assert not empty_cache.exists()
    assert np.allclose(got.embed(["The boiler was serviced."]), embedder.embed(["The boiler was serviced."]),
                       atol=1e-5)
    assert onnx_embedder.verify(got.folder, model_dir)["min_cosine"] >= MIN_COSINE


def test_a_shipped_conversion_this_processor_does_not_reproduce_is_not_used(
        embedder: Any, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A shipped copy whose vectors differ here from the ones stored at build time (a
    different int8 code path, a damaged file) is refused with a warning; the app then
    goes on as without it (here: the conversion in its cache)."""
    from desktop.core.library import onnx_embedder

    made = cache_path(model_dir, embedder_cache_dir())
    shipped = tmp_path / "embedders" / made.name
    shutil.copytree(made, shipped)
    reference = np.load(shipped / onnx_embedder.REFERENCE_FILE)
    np.save(shipped / onnx_embedder.REFERENCE_FILE, np.roll(reference, 1, axis=0))  # wrong rows
    monkeypatch.setattr(onnx_embedder, "bundled_dir", lambda: shipped.parent)
    with pytest.raises(onnx_embedder.ConversionError, match="disagrees with PyTorch on this processor"):
        onnx_embedder.verify(shipped, model_dir)
    got = OnnxEmbedder(model_dir, embedder_cache_dir(), threads=1)
    with caplog.at_level(logging.WARNING, logger=onnx_embedder.__name__):
        got.load()
    assert got.folder == made
    assert "shipped with Hearth is not used" in caplog.text


def test_copies_an_earlier_recipe_left_in_the_cache_are_removed(
        embedder: Any, model_dir: Path, tmp_path: Path) -> None:
    """An upgrade changes the recipe: the old copy (22 MB) goes, this recipe's stays, and
    another model's copies are left alone."""
    made = cache_path(model_dir, embedder_cache_dir())
    cache = tmp_path / "cache"
    shutil.copytree(made, cache / made.name)
    old = cache / made.name.replace(RECIPE, "onnx-int8-v1")
    other_model = cache / "another-model-0123456789ab-onnx-int8-v1"
    for folder in (old, other_model):
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"old")
    got = OnnxEmbedder(model_dir, cache, threads=1)
    got.load()
    assert got.folder == cache / made.name
    assert not old.exists() and other_model.is_dir()


def test_self_test_fails_when_the_library_did_not_get_the_int8_embedder(model_dir: Path) -> None:
    """The int8 copy gives the same vectors on every processor, so the PyTorch embedder in
    its place means a broken build (onnxruntime missing, no converted model)."""
    from desktop import selftest

    out = selftest._Output(None)
    with pytest.raises(selftest.StepFailed, match="did not load"):
        selftest._check_embedder(out, SentenceEmbedder(model_dir, threads=1), "onnx")
    selftest._check_embedder(out, SentenceEmbedder(model_dir, threads=1), "torch")  # asked for


def test_the_conversion_keeps_other_libraries_info_lines_out_of_the_terminal() -> None:
    # "Fused Gelu: 6", "Removed 126 nodes" filled the terminal of a first `make run`
    # (fourteenth new-user trial); Hearth's own lines and others' warnings stay
    import logging

    from desktop.core.library.onnx_embedder import _OthersBelowWarning

    quiet = _OthersBelowWarning()

    def record(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "m", None, None)

    assert not quiet.filter(record("fusion_base", logging.INFO))
    assert quiet.filter(record("fusion_base", logging.WARNING))
    assert quiet.filter(record("desktop.core.library.onnx_embedder", logging.INFO))
