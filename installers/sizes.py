"""What each part of a frozen Hearth bundle weighs.

    python installers/sizes.py dist/Hearth            # Linux / Windows folder
    python installers/sizes.py dist/Hearth.app        # macOS
    python installers/sizes.py --site-packages        # the installed packages of this Python

Groups the bundle's files by the package they come from (the first folder under
``_internal/``, or under ``Contents/Frameworks`` and ``Contents/Resources`` of a .app;
``foo.libs``/``foo_libs`` folders count with ``foo``; the two embedded models count apart;
the executable, which carries the Python modules' archive, counts as one part),
prints a table (largest first) with each part's size and compressed size (gzip level 6,
what installers/build.py's tar.gz uses; Inno Setup and a .dmg compress differently), and
ends with one JSON line ``{"parts": {name: [bytes, gzip_bytes]}, "total": ..., ...}``.
Symlinks are not followed or counted (a .app links Resources into Frameworks).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from collections import defaultdict
from pathlib import Path

# Packages that are one part for the reader: a name prefix -> the part's name.
ALIASES = {
    "chromadb_rust_bindings": "chromadb", "scikit_learn": "sklearn", "scipy": "scipy",
    "PySide6": "PySide6 (Qt)", "shiboken6": "PySide6 (Qt)", "torch": "torch",
    "nvidia": "torch", "triton": "torch", "functorch": "torch", "torchgen": "torch",
}


def _part(relative: Path) -> str:
    parts = relative.parts
    if parts[:2] == ("resources", "models"):
        return "models (embedded)"
    top = parts[0] if len(parts) > 1 else "(top-level files)"
    if top == "(top-level files)" and relative.name.startswith(("libpython", "python3")):
        return "Python"
    name = top.removesuffix(".libs").removesuffix("_libs")
    name = name.split("-")[0] if name.endswith((".dist-info", ".egg-info")) else name
    for prefix, alias in ALIASES.items():
        if name == prefix or name.startswith(prefix + "."):
            return alias
    return name


def _gzip_size(path: Path) -> int:
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    total = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            total += len(comp.compress(chunk))
    return total + len(comp.flush())


def measure(roots: list[Path], compress: bool = True) -> dict[str, list[int]]:
    """Part name -> [bytes, gzip bytes] of every regular file under ``roots``."""
    parts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if path.is_symlink():
                    continue
                entry = parts[_part(path.relative_to(root))]
                entry[0] += path.stat().st_size
                if compress:
                    entry[1] += _gzip_size(path)
    return dict(parts)


def bundle_roots(bundle: Path) -> list[Path]:
    """The folders holding a bundle's packages."""
    if bundle.suffix == ".app":
        return [bundle / "Contents" / "Frameworks", bundle / "Contents" / "Resources"]
    internal = bundle / "_internal"
    return [internal] if internal.is_dir() else [bundle]


def launcher_files(bundle: Path) -> list[Path]:
    """The executable(s) beside ``_internal`` (``Contents/MacOS`` in a .app), which carry
    PyInstaller's archive of the Python modules (PYZ)."""
    folder = bundle / "Contents" / "MacOS" if bundle.suffix == ".app" else bundle
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, nargs="?", help="the frozen app folder or .app")
    parser.add_argument("--site-packages", action="store_true",
                        help="measure this Python's site-packages instead")
    parser.add_argument("--no-compress", action="store_true", help="skip the gzip estimate")
    parser.add_argument("--top", type=int, default=25, help="rows in the table")
    args = parser.parse_args(argv)
    if args.site_packages:
        import sysconfig

        roots = [Path(sysconfig.get_paths()["purelib"])]
    elif args.bundle is not None:
        roots = bundle_roots(args.bundle)
    else:
        parser.error("give a bundle folder or --site-packages")
    parts = measure(roots, compress=not args.no_compress)
    if args.bundle is not None:
        for exe in launcher_files(args.bundle):  # the Python modules (PYZ) live in it
            entry = parts.setdefault("executable (Python modules)", [0, 0])
            entry[0] += exe.stat().st_size
            entry[1] += 0 if args.no_compress else _gzip_size(exe)
    total = [sum(v[0] for v in parts.values()), sum(v[1] for v in parts.values())]
    ranked = sorted(parts.items(), key=lambda kv: kv[1][0], reverse=True)
    print(f"{'part':32} {'MB':>9} {'gzip MB':>9}")
    for name, (size, gz) in ranked[: args.top]:
        print(f"{name[:32]:32} {size / 2**20:9.1f} {gz / 2**20:9.1f}")
    rest = ranked[args.top:]
    if rest:
        print(f"{f'({len(rest)} more)':32} {sum(v[0] for _n, v in rest) / 2**20:9.1f} "
              f"{sum(v[1] for _n, v in rest) / 2**20:9.1f}")
    print(f"{'total':32} {total[0] / 2**20:9.1f} {total[1] / 2**20:9.1f}")
    print(json.dumps({"roots": [str(r) for r in roots], "total": total,
                      "parts": {n: v for n, v in ranked}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
