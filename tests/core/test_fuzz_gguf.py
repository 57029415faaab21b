"""Malformed GGUF files: a clear ModelError every time, never a hang or another exception."""

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.core.engine import EngineOptions
from desktop.core.engine.isolated import IsolatedBackend
from desktop.core.models import ModelError, ModelInfo, read_gguf_info

HEADER_BYTES = 200_000  # the default model's header (metadata + tensor table) fits in this


@pytest.fixture(scope="module")
def header(default_model: Path) -> bytes:
    with default_model.open("rb") as fh:
        return fh.read(HEADER_BYTES)


def _check(tmp_path: Path, data: bytes) -> None:
    f = tmp_path / "fuzzed.gguf"
    f.write_bytes(data)
    try:
        info = read_gguf_info(f)
    except ModelError as exc:
        assert "fuzzed.gguf" in str(exc)
    else:
        assert isinstance(info, ModelInfo)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_headers(tmp_path: Path, header: bytes, data: st.DataObject) -> None:
    buf = bytearray(header[: data.draw(st.integers(0, len(header)))])
    for _ in range(data.draw(st.integers(0, 8))):
        if not buf:
            break
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    _check(tmp_path, bytes(buf))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    version=st.integers(0, 2**32 - 1),
    n_tensors=st.integers(0, 2**64 - 1),
    n_kv=st.integers(0, 2**64 - 1),
    tail=st.binary(max_size=512),
)
def test_absurd_counts_and_garbage(tmp_path: Path, version: int, n_tensors: int, n_kv: int, tail: bytes) -> None:
    _check(tmp_path, b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv) + tail)


@pytest.mark.parametrize("vtype", [13, 99, 2**31])
def test_bad_metadata_value_type(tmp_path: Path, vtype: int) -> None:
    key = b"general.name"
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", vtype)
    (tmp_path / "x.gguf").write_bytes(data)
    with pytest.raises(ModelError, match="unknown value type"):
        read_gguf_info(tmp_path / "x.gguf")


def test_engine_refuses_a_model_whose_tensor_data_is_cut(tmp_path: Path, default_model: Path) -> None:
    """The header is intact but the weights are cut off: llama.cpp must refuse, the
    previous model stays, and the engine still answers."""
    cut = tmp_path / "half-downloaded.gguf"
    with default_model.open("rb") as src:
        cut.write_bytes(src.read(default_model.stat().st_size // 2))
    engine = IsolatedBackend()
    engine.load(str(default_model), EngineOptions(n_ctx=512, n_threads=1))
    with pytest.raises(ModelError, match="half-downloaded.gguf"):
        engine.load(str(cut), EngineOptions(n_ctx=512, n_threads=1))
    assert engine.model is not None and engine.model.path == default_model
    engine.close()
