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

On a processor with Intel AMX (Sapphire Rapids and later Xeons) llama.cpp repacks
quantized weights into its AMX buffer and multiplies there, and that path crashes
(SIGSEGV/general protection fault in ``ggml_backend_amx_mul_mat`` on the first decode,
llama.cpp issue #20824, closed unfixed; measured here with llama-cpp-python 0.3.36 on the
built-in Q4_1 model, native build).  :func:`avoid_amx` loads models without llama.cpp's
extra weight buffers on such processors (``use_extra_bufts`` off, which llama.cpp's own
``--no-repack`` does): plain AVX-512 kernels, no crash.
"""

from __future__ import annotations

import ctypes
import sys
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


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the processor has Intel AMX: the ``amx_tile``/``amx_int8`` flags of
    ``cpuinfo`` (Linux); where that file does not exist (Windows, macOS), NumPy's run-time
    CPU dispatch flag ``AVX512_SPR`` (the Sapphire Rapids feature group, AVX512-FP16:
    every processor with AMX has it; ``numpy._core._multiarray_umath.__cpu_features__``),
    False when NumPy does not say."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
                    return bool(flags & {"amx_tile", "amx_int8"})
        return False
    except OSError:
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        return False
    return bool(__cpu_features__.get("AVX512_SPR", False))


_amx_avoided = False


def avoid_amx() -> bool:
    """On a processor with AMX (:func:`cpu_has_amx`), make every ``llama_cpp.Llama`` this
    process creates load its weights without llama.cpp's extra buffer types (the AMX
    buffer whose matrix multiply crashes, see the module's docstring).  llama-cpp-python
    0.3 has no argument for ``use_extra_bufts``, so the default parameters it starts from
    are wrapped.  Idempotent; returns whether models now load that way."""
    global _amx_avoided
    with _lock:
        if _amx_avoided:
            return True
        if not cpu_has_amx():
            return False
        from llama_cpp import llama_cpp as bindings

        defaults = bindings.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = defaults()
            params.use_extra_bufts = False
            return params

        bindings.llama_model_default_params = without_extra_buffers
        _amx_avoided = True
        return True


if __name__ == "__main__" and sys.argv[1:2] == ["--run-module"]:
    # python -m desktop.core.engine.backends --run-module MODULE ARGS...: run another
    # program that loads llama.cpp (its own server, for the remote-engine test) with
    # avoid_amx() applied
    import runpy

    avoid_amx()
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
