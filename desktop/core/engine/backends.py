"""llama.cpp's CPU backends in a portable (distributed) build.

Built for distribution (installers/build.py: ``GGML_BACKEND_DL=ON``,
``GGML_CPU_ALL_VARIANTS=ON``, ``GGML_NATIVE=OFF``), llama.cpp ships its CPU backend as
one shared library per instruction-set level (``libggml-cpu-sse42.so``,
``-sandybridge``, ``-haswell``, ``-skylakex``, ``-zen4``, ..., ``ggml-cpu-*.dll`` on
Windows, ``-apple_m1`` ... on macOS arm64) and registers none of them by itself:
``ggml_backend_load_all_from_path`` scores every variant against the running processor
and loads the best one (ggml/src/ggml-backend-reg.cpp).  llama.cpp's default search
path is the *executable's* folder, which for Python (and a frozen app) is not where the
libraries are, so Hearth names the folder: ``llama_cpp/lib`` beside llama-cpp-python,
which in a frozen bundle is ``_internal/llama_cpp/lib`` (installers/hearth.spec puts
every variant there).

A native build (``pip install`` on the user's own machine, ``make run``) links its one
CPU backend and registers it at start-up; then nothing is loaded here.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_loaded = False


def _libggml() -> tuple[Any, Path]:
    """(a ctypes handle through which ggml's functions are those libllama uses, the
    ``llama_cpp/lib`` folder).

    A wheel cannot hold symlinks, so ``libggml.so`` and ``libggml.so.0`` are two copies of
    one library: opening ``libggml.so`` by path (as ``llama_cpp._ggml`` does) loads a
    second ggml whose backend registry libllama never sees.  Symbols looked up through
    libllama's own handle resolve in libllama's dependencies, i.e. in the ggml it uses
    (dlsym on Linux and macOS); Windows has one ``ggml.dll`` per process anyway.
    """
    import llama_cpp  # loads libllama and with it libggml
    from llama_cpp import llama_cpp as bindings

    lib_dir = Path(llama_cpp.__file__).resolve().parent / "lib"
    handle = getattr(bindings, "_lib", None)
    if handle is not None and hasattr(handle, "ggml_backend_load_all_from_path"):
        return handle, lib_dir
    from llama_cpp import _ctypes_extensions

    return _ctypes_extensions.load_shared_library("ggml", lib_dir), lib_dir


def cpu_variants(lib_dir: Path | None = None) -> list[str]:
    """Names of the CPU backend variant libraries in ``lib_dir`` (default: llama-cpp-python's
    ``lib`` folder), e.g. ``["haswell", "sandybridge", "sse42", "x64", ...]`` sorted; empty for
    a native build (one CPU backend linked in)."""
    if lib_dir is None:
        import importlib.util

        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or spec.origin is None:
            return []
        lib_dir = Path(spec.origin).parent / "lib"
    names = set()
    for path in lib_dir.glob("*ggml-cpu-*"):
        stem = path.name.split(".")[0]
        names.add(stem.split("ggml-cpu-", 1)[1])
    return sorted(names)


def ensure_backends() -> int:
    """Make sure llama.cpp has a CPU backend registered; call before loading a model.

    Idempotent and thread-safe.  Returns the number of registered backends (0 means
    llama.cpp found no backend it can run on this processor: loading a model would then
    fail with llama.cpp's "no backends are loaded").
    """
    global _loaded
    with _lock:
        lib, lib_dir = _libggml()
        lib.ggml_backend_reg_count.restype = ctypes.c_size_t
        lib.ggml_backend_reg_count.argtypes = []
        count = int(lib.ggml_backend_reg_count())
        if count > 0 or _loaded:
            return count
        lib.ggml_backend_load_all_from_path.restype = None
        lib.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        lib.ggml_backend_load_all_from_path(str(lib_dir).encode("utf-8"))
        _loaded = True
        return int(lib.ggml_backend_reg_count())
