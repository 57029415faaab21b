"""Build Hearth's installer for the operating system this runs on.

    python installers/build.py [--dist DIR] [--work DIR] [--no-package]

1. Freezes the app with PyInstaller (installers/hearth.spec: one folder, windowed) into
   DIR/Hearth/ (DIR/Hearth.app on macOS), with the version from pyproject.toml.
2. Packages it:
   - Linux: Hearth-VERSION-linux-ARCH.tar.xz (the folder, a .desktop file, icons and
     install.sh for a per-user menu entry).
   - macOS: Hearth-VERSION-macos-ARCH.dmg via installers/macos/make_dmg.sh, which also
     signs and notarizes when the credentials are in the environment.
   - Windows: Hearth-VERSION-windows-ARCH-setup.exe via Inno Setup's ISCC
     (installers/windows/hearth.iss), when ISCC is installed.
3. Prints the bundle's size, the installer's (compressed) size and the build time, and
   ends with one JSON line of those figures (sizes in bytes, times in seconds).

The chat engine must be portable: llama.cpp compiled with its CPU backend variants chosen
at run time (``GGML_BACKEND_DL``, ``GGML_CPU_ALL_VARIANTS``, ``GGML_NATIVE=OFF``), not for
the build machine's processor (which crashes with SIGILL on users' older CPUs).
``--portable-engine`` first rebuilds llama-cpp-python that way in this environment (the
installers workflow does); without it the build stops if the installed llama.cpp is a
native build, unless ``--allow-native-engine`` (a bundle for this machine only).

Needs the ``build`` extra: ``pip install -e .[build]`` in a developer checkout, or the
packages it lists.  Build outputs go under build/ and dist/ (git-ignored) unless --work
and --dist say otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "installers" / "hearth.spec"
APP_NAME = "Hearth"


# llama.cpp for distribution (see the module docstring).  install_cpu_variants.cmake makes
# llama-cpp-python's wheel carry the variant libraries (it installs only "ggml-cpu").
ENGINE_CMAKE_INCLUDE = ROOT / "installers" / "engine" / "install_cpu_variants.cmake"
PORTABLE_ENGINE_CMAKE_ARGS = [
    "-DGGML_NATIVE=OFF", "-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON",
    "-DLLAVA_BUILD=OFF",  # Hearth loads no vision projector: less to compile and ship
]


#: The Linux archive's xz options (filters, preset), chosen by measurement (figures in
#: installers/README.md): the x86 BCJ filter turns relative call/jump targets of the
#: bundle's machine code into absolute ones, which repeat, before LZMA2 sees them; every
#: xz since 5.0 (and libarchive, Python's lzma) decodes it.  ``-T0``: every core, in
#: independent blocks of three dictionaries.  Preset 8 (a 32 MiB dictionary, blocks of 96
#: MiB, where 6 has 8 and 24) finds the repeats between the 14 CPU variants of llama.cpp's
#: backend and between libraries: 400.6 -> 393.9 MB on the whole bundle (2026-12-04), for
#: about 370 MiB of memory per compressing thread and 33 MiB to unpack.
XZ_OPTIONS = ["--x86", "--lzma2=preset=8"]


def pyz_compression_level(os_name: str) -> int:
    """zlib level for the Python modules' archive (PYZ) inside the executable.

    0 (stored) where the installer compresses the whole bundle solidly with LZMA (Linux
    tar.xz, Windows Inno Setup ``lzma2`` + ``SolidCompression``): LZMA over the 220 MB of
    bytecode makes a third less than over PyInstaller's per-module zlib (measured
    2026-12-03 on a sample of 1 module in 8: 10.3 MB zlib -> 6.4 MB xz of the same
    modules stored, while xz over the zlib entries gains nothing), at the price of that much
    more disk once installed.  PyInstaller's default (6) on macOS, whose .dmg compresses
    each chunk with zlib anyway."""
    return 0 if os_name in ("linux", "windows") else 6


def portable_engine_env() -> dict[str, str]:
    """The environment for ``pip`` to compile llama-cpp-python portably (CMAKE_ARGS)."""
    args = [*PORTABLE_ENGINE_CMAKE_ARGS,
            f"-DCMAKE_PROJECT_llama_cpp_INCLUDE={ENGINE_CMAKE_INCLUDE.as_posix()}"]
    return {**os.environ, "CMAKE_ARGS": " ".join(args)}


def install_portable_engine() -> None:
    """Recompile the installed llama-cpp-python version portably, into this environment.

    Raises:
        SystemExit: llama-cpp-python is not installed, or pip failed.
    """
    from importlib import metadata

    try:
        version = metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        raise SystemExit("llama-cpp-python is not installed: pip install '.[build]' first.") from None
    cmd = [sys.executable, "-m", "pip", "install", "--force-reinstall", "--no-deps",
           "--no-cache-dir", "--no-binary", "llama-cpp-python", f"llama-cpp-python=={version}"]
    env = portable_engine_env()
    print(f"$ CMAKE_ARGS='{env['CMAKE_ARGS']}' {' '.join(cmd)}", flush=True)
    if subprocess.run(cmd, env=env).returncode != 0:
        raise SystemExit("Building the portable llama.cpp failed; see pip's output above.")


def engine_variants() -> list[str]:
    """The CPU backend variants of the installed llama.cpp (empty: a native build).
    Read from the files, without loading llama.cpp (desktop/core/engine/backends.py)."""
    sys.path.insert(0, str(ROOT))
    from desktop.core.engine.backends import cpu_variants

    return cpu_variants()


def project_version() -> str:
    """The ``[project] version`` of pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def os_tag() -> str:
    """'linux', 'macos' or 'windows'."""
    return {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")


def arch_tag() -> str:
    """'x86_64' or 'arm64' (the names users see on download pages)."""
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(machine, machine)


def folder_size(path: Path) -> int:
    """Bytes of all regular files under ``path`` (symlinks not followed or counted)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            file = Path(dirpath) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def freeze(dist: Path, work: Path, version: str, clean: bool = False) -> Path:
    """Run PyInstaller on the spec; returns the bundle (the folder, or the .app on macOS).

    Raises:
        SystemExit: PyInstaller is not installed or the build failed.
    """
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit(
            "PyInstaller is not installed. Install the build extra: pip install '.[build]' "
            "(or: pip install 'pyinstaller>=6.10,<7')."
        ) from None
    env = {**os.environ, "HEARTH_VERSION": version, "PYTHONNOUSERSITE": "1",
           "PYINSTALLER_ZLIB_COMPRESSION_LEVEL": str(pyz_compression_level(os_tag()))}
    cmd = [
        sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm",
        "--distpath", str(dist), "--workpath", str(work), "--log-level", "WARN",
    ]
    if clean:
        cmd.append("--clean")
    print("$", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(f"PyInstaller failed (exit code {result.returncode}); see its output above.")
    bundle = dist / (f"{APP_NAME}.app" if sys.platform == "darwin" else APP_NAME)
    if not bundle.exists():
        raise SystemExit(f"PyInstaller finished but {bundle} is missing.")
    return bundle


def elf_loadable(path: Path, page: int = 4096) -> bool:
    """True if ``path`` is a 64-bit little-endian ELF file whose PT_LOAD segments are all
    page-aligned: ``p_align`` a multiple of ``page`` and ``p_vaddr - p_offset`` a multiple
    of it (the dynamic loader's checks; glibc's message otherwise is "ELF load command
    address/offset not page-aligned").  False for anything else."""
    import struct

    with open(path, "rb") as fh:
        head = fh.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return False
        phoff = struct.unpack_from("<Q", head, 0x20)[0]
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    if phentsize < 56 or len(table) < phentsize * phnum:
        return False
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, _filesz, _memsz, align = struct.unpack_from(
            "<IIQQQQQQ", table, i * phentsize)
        if p_type == 1 and (align % page or (vaddr - offset) % page):
            return False
    return True


def strip_native_symbols(bundle: Path, min_bytes: int = 1 << 20) -> tuple[int, int]:
    """Strip the symbol tables (``strip --strip-unneeded``; the dynamic symbols stay) from
    the bundle's native libraries of at least ``min_bytes``, Linux only.  Each library is
    stripped into a copy that replaces it only if it is still loadable (:func:`elf_loadable`):
    binutils' strip misaligns some libraries that auditwheel patched with patchelf (numpy's
    OpenBLAS failed to load after PyInstaller's blanket strip), and those keep their
    symbols.  Returns (libraries stripped, bytes saved); (0, 0) without ``strip``.
    Measured 2026-12-03: libtorch_cpu.so alone 434 -> 345 MB."""
    tool = shutil.which("strip")
    if tool is None or not sys.platform.startswith("linux"):
        print("Not stripping native libraries (no strip program, or not Linux).")
        return 0, 0
    count = saved = 0
    for path in sorted(bundle.rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size < min_bytes:
            continue
        if not elf_loadable(path):
            continue
        tmp = path.with_name(path.name + ".stripped")
        result = subprocess.run([tool, "--strip-unneeded", "-o", str(tmp), str(path)],
                                capture_output=True, text=True)
        before = path.stat().st_size
        if result.returncode == 0 and tmp.is_file() and tmp.stat().st_size < before:
            if elf_loadable(tmp):
                shutil.copymode(path, tmp)
                os.replace(tmp, path)
                count += 1
                saved += before - path.stat().st_size
                continue
            print(f"  kept the symbols of {path.relative_to(bundle)} (stripping misaligns it)")
        tmp.unlink(missing_ok=True)
    print(f"Stripped the symbol tables of {count} native libraries: {human(saved)} less", flush=True)
    return count, saved


def executable(bundle: Path) -> Path:
    """The app's executable inside a bundle made by :func:`freeze`."""
    if sys.platform == "darwin":
        return bundle / "Contents" / "MacOS" / APP_NAME
    return bundle / (f"{APP_NAME}.exe" if sys.platform == "win32" else APP_NAME)


def package_linux(bundle: Path, dist: Path, version: str, compression: str = "xz",
                  xz_options: list[str] | None = None) -> list[Path]:
    """A tar.xz (or tar.gz) with the folder, hearth.desktop, icons and install.sh.

    xz (:data:`XZ_OPTIONS` unless ``xz_options`` says otherwise, ``-T0``: every core)
    makes the download smaller than gzip on this bundle, which is mostly native libraries
    and model weights (figures in installers/README.md); every Linux desktop's archive
    tool opens it.  Falls back to gzip
    when the ``xz`` program is missing.  No AppImage: appimagetool is not available from a
    package registry here, and the archive with install.sh gives the same menu entry."""
    linux = ROOT / "installers" / "linux"
    icons = ROOT / "resources" / "icons"
    name = f"{APP_NAME}-{version}-linux-{arch_tag()}"
    xz = shutil.which("xz") if compression == "xz" else None
    out = dist / f"{name}.tar.{'xz' if xz else 'gz'}"
    top = APP_NAME
    print(f"Packaging {out.name} ...", flush=True)

    def _filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    def _add_all(tar: tarfile.TarFile) -> None:
        tar.add(bundle, arcname=f"{top}/app", filter=_filter)
        tar.add(linux / "hearth.desktop", arcname=f"{top}/hearth.desktop", filter=_filter)
        tar.add(linux / "install.sh", arcname=f"{top}/install.sh", filter=_filter)
        # the frozen app bundles Qt but not the system's xcb libraries: install.sh checks them
        tar.add(linux / "qt-system-libs.sh", arcname=f"{top}/qt-system-libs.sh", filter=_filter)
        tar.add(linux / "README.txt", arcname=f"{top}/README.txt", filter=_filter)
        for size in (16, 32, 48, 64, 128, 256, 512):
            tar.add(icons / f"hearth-{size}.png", arcname=f"{top}/icons/hearth-{size}.png",
                    filter=_filter)

    if xz is None:
        with tarfile.open(out, "w:gz", compresslevel=6) as tar:
            _add_all(tar)
        return [out]
    with open(out, "wb") as sink:
        cmd = [xz, "-T0", *(XZ_OPTIONS if xz_options is None else xz_options), "-c"]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=sink)
        assert proc.stdin is not None
        try:
            with tarfile.open(fileobj=proc.stdin, mode="w|") as tar:
                _add_all(tar)
        finally:
            proc.stdin.close()
            code = proc.wait()
    if code != 0:
        out.unlink(missing_ok=True)
        raise SystemExit(f"xz failed (exit code {code}) while packaging {out.name}.")
    return [out]


def package_macos(bundle: Path, dist: Path, version: str) -> list[Path]:
    """A .dmg with the app and an Applications link (signed/notarized when configured)."""
    out = dist / f"{APP_NAME}-{version}-macos-{arch_tag()}.dmg"
    script = ROOT / "installers" / "macos" / "make_dmg.sh"
    subprocess.run(["bash", str(script), str(bundle), str(out), version], check=True)
    return [out]


def find_iscc() -> str | None:
    """Inno Setup's command-line compiler, if installed."""
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("ProgramFiles(x86)"), os.environ.get("ProgramFiles"),
                 os.environ.get("LOCALAPPDATA", "") + "\\Programs"):
        if base:
            candidate = Path(base) / "Inno Setup 6" / "ISCC.exe"
            if candidate.exists():
                return str(candidate)
    return None


def package_windows(bundle: Path, dist: Path, version: str) -> list[Path]:
    """A per-user setup .exe made by Inno Setup (skipped with a message without ISCC)."""
    iscc = find_iscc()
    if iscc is None:
        print("Windows installer skipped: Inno Setup 6 (ISCC.exe) is not installed. "
              "Install it (choco install innosetup) and run this again.")
        return []
    base = f"{APP_NAME}-{version}-windows-{arch_tag()}-setup"
    cmd = [
        iscc, f"/DAppVersion={version}", f"/DSourceDir={bundle}", f"/DOutputDir={dist}",
        f"/DOutputBase={base}", f"/DRepoRoot={ROOT}", str(ROOT / "installers" / "windows" / "hearth.iss"),
    ]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return [dist / f"{base}.exe"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (default: build/)")
    parser.add_argument("--no-package", action="store_true", help="freeze only; make no installer")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's caches first")
    parser.add_argument("--compression", choices=["xz", "gz"], default="xz",
                        help="Linux archive: tar.xz (smaller, default) or tar.gz")
    parser.add_argument("--xz-options", default=" ".join(XZ_OPTIONS),
                        help=f"xz's filters and preset for the tar.xz (default: {' '.join(XZ_OPTIONS)!r}; "
                             "e.g. '-6' for a faster build)")
    parser.add_argument("--portable-engine", action="store_true",
                        help="first recompile llama-cpp-python with every CPU variant (slow)")
    parser.add_argument("--no-strip", action="store_true",
                        help="Linux: keep the native libraries' symbol tables")
    parser.add_argument("--allow-native-engine", action="store_true",
                        help="build even if llama.cpp is compiled for this machine's CPU only")
    args = parser.parse_args(argv)
    if args.portable_engine:
        install_portable_engine()
    variants = engine_variants()
    if variants:
        print(f"llama.cpp CPU variants (chosen at run time): {', '.join(variants)}", flush=True)
    elif args.allow_native_engine:
        print("WARNING: llama.cpp here is compiled for this machine's processor only; the "
              "bundle may crash (SIGILL) on other computers.", flush=True)
    else:
        raise SystemExit(
            "llama.cpp in this environment is compiled for this machine's processor only "
            "(no ggml-cpu-* variant libraries in llama_cpp/lib); the installer would crash on "
            "older CPUs. Run with --portable-engine, or --allow-native-engine for a bundle "
            "meant for this machine only."
        )
    sys.path.insert(0, str(ROOT / "installers"))
    from opencv_headless import gui_builds

    if gui_builds():
        raise SystemExit(
            f"OpenCV's GUI build is installed here ({', '.join(gui_builds())}): it would add "
            "Qt 5 and FFmpeg (about 290 MB) to the bundle. Replace it by the headless build: "
            f"{sys.executable} installers/opencv_headless.py --fix"
        )
    dist, work = args.dist.resolve(), args.work.resolve()
    version = project_version()
    print(f"Building {APP_NAME} {version} for {os_tag()} {arch_tag()}", flush=True)

    t0 = time.perf_counter()
    bundle = freeze(dist, work, version, clean=args.clean)
    if os_tag() == "linux" and not args.no_strip:
        strip_native_symbols(bundle)
    freeze_s = time.perf_counter() - t0
    outputs: list[Path] = []
    if not args.no_package:
        packager = {"linux": package_linux, "macos": package_macos, "windows": package_windows}[os_tag()]
        if os_tag() == "linux":
            outputs = package_linux(bundle, dist, version, compression=args.compression,
                                    xz_options=args.xz_options.split())
        else:
            outputs = packager(bundle, dist, version)
    total_s = time.perf_counter() - t0

    size = folder_size(bundle)
    print(f"Bundle:    {bundle} ({human(size)}, {size} bytes)")
    print(f"Executable: {executable(bundle)}")
    for out in outputs:
        print(f"Installer: {out} ({human(out.stat().st_size)}, {out.stat().st_size} bytes)")
    print(f"Build time: {freeze_s:.0f} s to freeze, {total_s - freeze_s:.0f} s to package, "
          f"{total_s:.0f} s in all")
    print(json.dumps({
        "version": version, "os": os_tag(), "arch": arch_tag(), "bundle": str(bundle),
        "executable": str(executable(bundle)), "bundle_bytes": size,
        "installers": {out.name: out.stat().st_size for out in outputs},
        "freeze_s": round(freeze_s, 1), "build_s": round(total_s, 1),
        "engine_cpu_variants": variants,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
