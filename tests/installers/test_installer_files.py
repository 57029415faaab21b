"""The installers' source files: icons, workflow, scripts, desktop entry, version."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"


def _load(name: str) -> ModuleType:
    """A script under installers/ as a module (``build`` would clash with PyPA's)."""
    spec = importlib.util.spec_from_file_location(f"hearth_installers_{name}", ROOT / "installers" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("build")
make_icons = _load("make_icons")


def test_every_png_size_is_there_and_square() -> None:
    Image = pytest.importorskip("PIL.Image")
    for size in make_icons.PNG_SIZES:
        with Image.open(ICONS / f"hearth-{size}.png") as image:
            assert image.size == (size, size)
            assert image.mode == "RGBA"
            assert image.getpixel((0, 0))[3] == 0  # transparent corner (rounded square)
            centre = image.getpixel((size // 2, size // 2))
            assert centre[3] == 255


def test_ico_and_icns_hold_the_sizes_each_os_uses() -> None:
    Image = pytest.importorskip("PIL.Image")
    with Image.open(ICONS / "hearth.ico") as ico:
        assert set(ico.info["sizes"]) >= {(s, s) for s in make_icons.ICO_SIZES}
    with Image.open(ICONS / "hearth.icns") as icns:
        pixels = {w * scale for (w, _h, scale) in icns.info["sizes"]}
        assert {32, 64, 128, 256, 512, 1024} <= pixels


def test_committed_pngs_match_the_svg(tmp_path: Path, qapp: object) -> None:
    """The PNGs were rendered from the current SVG (run installers/make_icons.py after
    editing it).  Uses pytest-qt's QApplication: a bare QGuiApplication made here would
    outlive the test and abort every later test that builds a widget."""
    Image = pytest.importorskip("PIL.Image")
    pytest.importorskip("PySide6.QtSvg")
    import io

    fresh = Image.open(io.BytesIO(make_icons.render_png(ICONS / "hearth.svg", 64))).convert("RGBA")
    with Image.open(ICONS / "hearth-64.png") as committed:
        diff = [abs(a - b) for pa, pb in zip(fresh.getdata(), committed.convert("RGBA").getdata(), strict=True)
                for a, b in zip(pa, pb, strict=True)]
    assert max(diff) <= 2


def test_build_takes_the_version_from_pyproject() -> None:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        assert build.project_version() == tomllib.load(fh)["project"]["version"]
    assert build.os_tag() in {"linux", "macos", "windows"}


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("strip") is None,
                    reason="Linux with binutils' strip")
def test_the_strip_check_agrees_with_the_dynamic_loader(tmp_path: Path) -> None:
    """build.strip_native_symbols keeps a stripped copy only if elf_loadable() says the
    loader takes it.  numpy's OpenBLAS (patched by auditwheel's patchelf) is the library
    that binutils' strip misaligned; whatever strip does to it, the check must agree with
    what the dynamic loader then does."""
    import ctypes

    libs = sorted((Path(importlib.util.find_spec("numpy").origin).parent.parent / "numpy.libs").glob("*.so"))
    if not libs:
        pytest.skip("numpy's wheel carries no libraries here")
    library = max(libs, key=lambda p: p.stat().st_size)
    assert build.elf_loadable(library)
    stripped = tmp_path / library.name
    subprocess.run(["strip", "--strip-unneeded", "-o", str(stripped), str(library)], check=True)
    try:
        ctypes.CDLL(str(stripped))
        loads = True
    except OSError as exc:
        loads = False
        assert "not page-aligned" in str(exc)
    assert build.elf_loadable(stripped) == loads
    assert not build.elf_loadable(ROOT / "installers" / "build.py")  # not ELF at all


def test_ocr_engine_comes_without_opencv_gui_build() -> None:
    """rapidocr-onnxruntime declares OpenCV's GUI build (Qt 5 and FFmpeg: 290 MB in the
    installer); Hearth installs it with --no-deps and lists the headless build instead, and
    `make install` replaces a GUI build an older install left."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    assert not [d for d in deps if d.lower().startswith(("rapidocr", "opencv-python>", "opencv-python "))]
    assert any(d.startswith("opencv-python-headless") for d in deps)
    nodeps = (ROOT / "requirements-models.txt").read_text(encoding="utf-8")
    assert "rapidocr-onnxruntime==" in nodeps
    opencv_headless = _load("opencv_headless")
    assert opencv_headless.gui_builds() == [], "run: python installers/opencv_headless.py --fix"
    import re

    import cv2

    assert re.search(r"^\s*GUI:\s+NONE\s*$", cv2.getBuildInformation(), re.M), "cv2 is a GUI build"


def test_workflow_passes_actionlint() -> None:
    actionlint = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install '.[build]')")
    proc = subprocess.run([actionlint, str(ROOT / ".github" / "workflows" / "installers.yml")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("script", ["installers/macos/make_dmg.sh", "installers/linux/install.sh",
                                    "installers/linux/qt-system-libs.sh"])
def test_shell_scripts_pass_shellcheck(script: str) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    proc = subprocess.run(["shellcheck", script], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout


def test_desktop_entry_is_valid() -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    proc = subprocess.run(["desktop-file-validate", "installers/linux/hearth.desktop"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout


def test_linux_install_script_adds_and_removes_a_menu_entry(tmp_path: Path) -> None:
    folder = tmp_path / "Hearth"
    (folder / "app").mkdir(parents=True)
    (folder / "icons").mkdir()
    shutil.copy(ROOT / "installers" / "linux" / "hearth.desktop", folder)
    shutil.copy(ROOT / "installers" / "linux" / "install.sh", folder)
    for size in (16, 32, 48, 64, 128, 256, 512):
        shutil.copy(ICONS / f"hearth-{size}.png", folder / "icons")
    exe = folder / "app" / "Hearth"
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "share"), "PATH": "/usr/bin:/bin"}
    subprocess.run(["sh", str(folder / "install.sh")], check=True, env=env, capture_output=True)
    entry = (tmp_path / "share" / "applications" / "hearth.desktop").read_text(encoding="utf-8")
    assert f'Exec="{exe}" %F' in entry
    assert (tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / "hearth.png").is_file()
    subprocess.run(["sh", str(folder / "install.sh"), "--remove"], check=True, env=env, capture_output=True)
    assert not (tmp_path / "share" / "applications" / "hearth.desktop").exists()
