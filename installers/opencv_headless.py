"""Keep OpenCV's GUI build out of Hearth's environment (and so out of its installers).

    python installers/opencv_headless.py          # exit 1, naming the fix, if a GUI build is here
    python installers/opencv_headless.py --fix    # uninstall it, reinstall the headless build

The OCR engine, rapidocr-onnxruntime, declares ``opencv-python``: OpenCV built with its
HighGUI windows, which brings Qt 5, FFmpeg and GTK's libraries (measured in the Linux
bundle: cv2 84 MB + opencv_python.libs 203 MB).  It only does image arithmetic
(``cv2.resize``, ``cv2.warpPerspective``, ...), which ``opencv-python-headless`` has too.
Hearth therefore installs the engine with ``--no-deps`` (requirements-models.txt) and
lists its dependencies, headless OpenCV included, in pyproject.toml.  An environment made
before that, or by a plain ``pip install rapidocr-onnxruntime``, holds the GUI build as
well; both distributions write the same ``cv2/`` folder, so removing the GUI one deletes
files the headless one needs: ``--fix`` reinstalls the headless build's files afterwards.
``installers/build.py`` refuses to freeze an environment with a GUI build
(:func:`gui_builds`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import metadata

#: the distributions that ship OpenCV with HighGUI (the headless ones end in -headless)
GUI_BUILDS = ("opencv-python", "opencv-contrib-python")
HEADLESS = "opencv-python-headless"


def gui_builds() -> list[str]:
    """``name==version`` of each OpenCV GUI build installed in this Python (empty: none)."""
    found = []
    for name in GUI_BUILDS:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return found


def fix() -> int:
    """Uninstall the GUI builds and (re)install the headless build's files; 0 on success."""
    found = gui_builds()
    if not found:
        return 0
    try:
        headless = f"{HEADLESS}=={metadata.version(HEADLESS)}"
    except metadata.PackageNotFoundError:
        headless = f"{HEADLESS}>=4.5.1.48,<6"  # pyproject.toml's range
    pip = [sys.executable, "-m", "pip"]
    print(f"Replacing OpenCV's GUI build ({', '.join(found)}) with {headless}", flush=True)
    steps = [
        [*pip, "uninstall", "--quiet", "-y", *(spec.split("==")[0] for spec in found)],
        [*pip, "install", "--quiet", "--force-reinstall", "--no-deps", headless],
        [sys.executable, "-c", "import cv2"],
    ]
    for cmd in steps:
        if subprocess.run(cmd).returncode != 0:
            print(f"failed: {' '.join(cmd)}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fix", action="store_true", help="replace a GUI build by the headless one")
    args = parser.parse_args(argv)
    if args.fix:
        return fix()
    found = gui_builds()
    if found:
        print(f"OpenCV's GUI build is installed ({', '.join(found)}): run "
              f"{sys.executable} installers/opencv_headless.py --fix", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
