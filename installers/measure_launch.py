"""Measure how fast the frozen app starts.

    python installers/measure_launch.py [--exe dist/Hearth/Hearth] [--runs 3] [--mode MODE]

Modes:
  first-line  (default) launch ``Hearth --self-test`` with every heavy step skipped and
              time the first line it prints (the bundle is unpacked, Python and the
              app's package are imported: everything before the window's own work),
              and the process's exit.
  window      launch the GUI and time until a visible top-level window titled "Hearth"
              exists on the X display (needs DISPLAY, e.g. under ``xvfb-run -a``, and
              xdotool); the app is then closed.

Prints one line per run and ends with one JSON line: median seconds per figure.
Wall-clock timings on a shared machine are noisy; take the median of several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXE = ROOT / "dist" / "Hearth" / ("Hearth.exe" if sys.platform == "win32" else "Hearth")
SKIP_ALL = ["--skip", "chat", "--skip", "adapter", "--skip", "library", "--skip", "training"]


def first_line(exe: Path) -> dict[str, float]:
    """Seconds from launch to the self-test's first printed line, and to its exit."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("HEARTH_HOME", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "--self-test", *SKIP_ALL], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    t_line = time.perf_counter() - t0
    rest = proc.stdout.read()
    code = proc.wait()
    t_exit = time.perf_counter() - t0
    if code != 0 or not line.startswith("Hearth self-test"):
        raise SystemExit(f"the self-test failed (exit {code}):\n{line}{rest}")
    return {"first_line_s": t_line, "exit_s": t_exit}


def window(exe: Path, timeout: float = 120.0) -> dict[str, float]:
    """Seconds from launch until a visible window named Hearth exists (X11 + xdotool)."""
    if not os.environ.get("DISPLAY"):
        raise SystemExit("window mode needs an X display: run under xvfb-run -a")
    xdotool = shutil.which("xdotool")
    if xdotool is None:
        raise SystemExit("window mode needs xdotool (apt-get install xdotool)")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    with tempfile.TemporaryDirectory(prefix="hearth-launch-") as home:
        env["HEARTH_HOME"] = home  # a fresh user: the first-run window
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(exe)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while True:
                found = subprocess.run([xdotool, "search", "--onlyvisible", "--pid", str(proc.pid),
                                        "--name", "Hearth"], capture_output=True, text=True)
                if found.stdout.strip():
                    elapsed = time.perf_counter() - t0
                    break
                if proc.poll() is not None:
                    raise SystemExit(f"the app exited ({proc.returncode}) before showing a window:\n"
                                     + (proc.stderr.read().decode(errors="replace") if proc.stderr else ""))
                if time.perf_counter() - t0 > timeout:
                    raise SystemExit(f"no window within {timeout:.0f} s")
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return {"window_s": elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exe", type=Path, default=DEFAULT_EXE, help="the frozen executable")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mode", choices=["first-line", "window"], default="first-line")
    args = parser.parse_args(argv)
    if not args.exe.exists():
        raise SystemExit(f"{args.exe} does not exist: build it with python installers/build.py")
    measure = first_line if args.mode == "first-line" else window
    runs = []
    for i in range(args.runs):
        figures = measure(args.exe)
        runs.append(figures)
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
    medians = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
    print(json.dumps({"exe": str(args.exe), "mode": args.mode, "runs": args.runs, **medians}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
