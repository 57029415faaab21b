"""`make run` on a fresh Debian/Ubuntu: the system libraries Qt's xcb platform plugin
needs are checked (and installed, or the one command to run is printed) before anything
is built.  The table in installers/linux/qt-system-libs.sh is checked against the plugin
PySide6 actually ships, with ldd and the ELF NEEDED entries of every Qt library it loads.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "installers" / "linux" / "qt-system-libs.sh"
# Part of every Debian/Ubuntu system (the C and C++ runtimes, zlib: Priority required).
BASE = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2",
        "librt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libz.so.1"}

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def table() -> dict[str, str]:
    """soname -> package(s) from the script."""
    text = SCRIPT.read_text()
    block = text.split("TABLE='", 1)[1].split("'", 1)[0]
    return {line.split()[0]: line.split()[1] for line in block.splitlines() if line.strip()}


def xcb_plugin() -> Path:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("PySide6 is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    plugin = next(iter(root.rglob("platforms/libqxcb.so")), None)
    if plugin is None:
        pytest.skip("this PySide6 has no xcb plugin")
    return plugin


def plugins(plugin: Path) -> list[Path]:
    """The xcb plugin and the GL integrations it loads (EGL, GLX)."""
    return [plugin, *sorted((plugin.parents[1] / "xcbglintegrations").glob("*.so"))]


def ldd(path: Path) -> dict[str, str]:
    """soname -> resolved path ('' when not found), transitively."""
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout
    resolved = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(not found|\S+)", line)
        if m:
            resolved[m.group(1)] = "" if m.group(2) == "not found" else m.group(2)
    return resolved


def needed(path: Path) -> set[str]:
    out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"NEEDED\s+(\S+)", out))


@pytest.mark.skipif(shutil.which("ldd") is None or shutil.which("objdump") is None, reason="needs ldd and objdump")
def test_every_system_library_qt_needs_is_in_the_table() -> None:
    plugin = xcb_plugin()
    pyside = plugin.parents[3] if plugin.parents[2].name == "Qt" else plugin.parents[2]
    deps: dict[str, str] = {}
    for p in plugins(plugin):
        deps.update(ldd(p))
    # Qt's own libraries (shipped inside PySide6), and what each of them needs directly
    qt_libs = plugins(plugin) + [Path(p) for p in deps.values() if p and str(pyside) in str(Path(p).resolve())]
    system_needed: set[str] = set()
    for lib in qt_libs:
        for soname in needed(lib):
            where = deps.get(soname, "")
            if not where or str(pyside) not in str(Path(where).resolve()):
                system_needed.add(soname)
    assert "libxcb-cursor.so.0" in system_needed  # the one a bare system lacks first
    missing_from_table = system_needed - BASE - set(table())
    assert not missing_from_table, f"add to qt-system-libs.sh: {sorted(missing_from_table)}"
    unused = set(table()) - system_needed
    assert not unused, f"qt-system-libs.sh lists libraries Qt does not load: {sorted(unused)}"


def test_check_reports_exactly_what_the_plugin_cannot_find() -> None:
    plugin = xcb_plugin()
    not_found = {s for p in plugins(plugin) for s, where in ldd(p).items() if not where}
    result = subprocess.run(["sh", str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    reported = {line.strip() for line in result.stdout.splitlines() if line.startswith("  lib")}
    assert not_found <= reported, f"ldd cannot find {not_found - reported}, the check did not say"
    assert (result.returncode == 0) == (not reported)
    if reported:
        assert "sudo apt-get install -y" in result.stdout


def fake_bare_machine(tmp_path: Path) -> dict[str, str]:
    """PATH with an empty linker cache, a non-root `id`, a sudo that cannot be used and an
    apt without package lists (as in a fresh container)."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, body in (("ldconfig", "exit 0"), ("id", "echo 1000"), ("sudo", "exit 1"), ("apt-cache", "exit 1")):
        (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / name).chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{stubs}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def test_without_root_it_stops_with_the_one_command(tmp_path: Path) -> None:
    env = fake_bare_machine(tmp_path)
    result = subprocess.run(["sh", str(SCRIPT), "--ensure"], capture_output=True, text=True, env=env,
                            stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 1
    command = next(line.strip() for line in result.stderr.splitlines() if "sudo apt-get install -y" in line)
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"):
        assert package in command.split()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_stops_before_building(tmp_path: Path) -> None:
    """`make run` on a machine without the libraries: nothing is built, the command is named."""
    work = tmp_path / "hearth"
    (work / "installers" / "linux").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "requirements-models.txt", "installers/opencv_headless.py"):
        shutil.copy(ROOT / name, work / name)
    shutil.copy(SCRIPT, work / "installers" / "linux" / SCRIPT.name)
    env = fake_bare_machine(tmp_path)
    result = subprocess.run(["make", "run", "PYTHON=false"], cwd=work, capture_output=True, text=True,
                            env=env, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode != 0
    assert "sudo apt-get install -y" in result.stderr and "libxcb-cursor0" in result.stderr
    assert not (work / ".venv").exists()  # stopped before building
