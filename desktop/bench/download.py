"""``hearth-bench download``: model downloads against a loopback server.

1. Throughput: the same file fetched by plain ``curl`` and by Hearth's downloader (which
   also hashes it and checks its GGUF header), alternately, ``--repeat`` times each; the
   ratio is Hearth's best throughput over curl's best (1.0 = as fast as curl).
2. Kills: ``--kills`` times, a child process downloads a file from a throttled server
   and is SIGKILLed once its partial file passes a uniformly random byte; a fresh
   downloader then resumes it.  A file that does not end byte-identical to the source
   (or that the downloader rejects) counts as corrupt.

The JSON line has ``ratio``, ``kills`` and ``corrupt``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = "bench/files"


def register(sub: Any) -> None:
    p = sub.add_parser("download", help="download throughput vs curl, and resume after kills")
    p.add_argument("--file", type=Path,
                   help="GGUF file to serve (default: the built-in model, 98 MB)")
    p.add_argument("--repeat", type=int, default=3, help="throughput runs per client")
    p.add_argument("--kills", type=int, default=100)
    p.add_argument("--kill-mb", type=float, default=8.0,
                   help="size of the GGUF file used for the kill series, in MB")
    p.add_argument("--kill-rate-mb", type=float, default=40.0,
                   help="server speed during the kill series, MB/s (so kills land mid-file)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--child", nargs=2, metavar=("URL", "DEST"), help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _hearth_fetch(url: str, dest: Path) -> None:
    from desktop.core.downloads import Downloader

    for _ in Downloader(read_timeout=30, progress_interval=0.5).download(url, dest):
        pass


def throughput(source: Path, repeat: int, work: Path) -> dict[str, Any]:
    """Best seconds for curl and for Hearth over ``repeat`` alternating runs."""
    from desktop.bench.fileserver import FileServer
    from desktop.core.downloads import discard_partial

    curl = shutil.which("curl")
    if curl is None:
        raise SystemExit("hearth-bench download: curl is not installed (apt-get install curl).")
    size = source.stat().st_size
    times: dict[str, list[float]] = {"curl": [], "hearth": []}
    with FileServer() as server:
        server.add(REPO, source.name, source)
        url = server.url(REPO, source.name)
        for i in range(repeat):
            for who in ("curl", "hearth") if i % 2 == 0 else ("hearth", "curl"):
                dest = work / f"{who}-{source.name}"
                dest.unlink(missing_ok=True)
                discard_partial(dest)
                t0 = time.perf_counter()
                if who == "curl":
                    subprocess.run([curl, "-sS", "--fail", "-o", str(dest), url], check=True)
                else:
                    _hearth_fetch(url, dest)
                times[who].append(time.perf_counter() - t0)
                dest.unlink(missing_ok=True)
    best = {k: min(v) for k, v in times.items()}
    return {"size_mb": size / 1e6, "curl_s": best["curl"], "hearth_s": best["hearth"],
            "curl_mb_s": size / 1e6 / best["curl"], "hearth_mb_s": size / 1e6 / best["hearth"],
            "ratio": best["curl"] / best["hearth"]}


def kill_series(kills: int, size_mb: float, rate_mb: float, seed: int, work: Path) -> dict[str, Any]:
    """SIGKILL a downloading child at random bytes, resume, count corrupt results."""
    from desktop.bench.fileserver import FileServer, make_gguf
    from desktop.core.downloads import DownloadError, discard_partial, part_path
    from desktop.core.paths import python_command

    rng = random.Random(seed)
    source = make_gguf(work / "kill-source.gguf", weights=int(size_mb * 1e6 / 4))
    size, want = source.stat().st_size, _sha(source)
    corrupt, landed, missed = 0, [], 0
    with FileServer() as server:
        server.add(REPO, source.name, source, rate_bps=rate_mb * 1e6)
        url = server.url(REPO, source.name)
        for i in range(kills):
            dest = work / "kill" / source.name
            dest.unlink(missing_ok=True)
            discard_partial(dest)
            target = rng.randrange(1, size)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
            child = subprocess.Popen(python_command("desktop.bench", "download", "--child",
                                                    url, str(dest)), env=env)
            part = part_path(dest)
            while child.poll() is None:
                try:
                    if part.stat().st_size >= target:
                        break
                except OSError:
                    pass
                time.sleep(0.002)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                landed.append(part.stat().st_size / size if part.exists() else 0.0)
            else:
                missed += 1
            child.wait()
            try:
                if not dest.exists():
                    _hearth_fetch(url, dest)
                if _sha(dest) != want:
                    corrupt += 1
            except DownloadError as exc:
                print(f"kill {i}: {exc}", file=sys.stderr)
                corrupt += 1
    return {"kills": len(landed), "missed": missed, "corrupt": corrupt,
            "landed_min": min(landed, default=0.0), "landed_max": max(landed, default=0.0),
            "kill_file_mb": size / 1e6}


def run(args: argparse.Namespace) -> int:
    from desktop.bench import print_json_line, print_table

    if args.child:
        _hearth_fetch(args.child[0], Path(args.child[1]))
        return 0
    from desktop.core.models import default_model_path

    source = args.file or default_model_path()
    if source is None or not Path(source).is_file():
        print("hearth-bench download: no file to serve; pass --file GGUF.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hearth-bench-download-") as tmp:
        work = Path(tmp)
        speed = throughput(Path(source), args.repeat, work)
        kills = kill_series(args.kills, args.kill_mb, args.kill_rate_mb, args.seed, work)
    print_table(["what", "value"], [
        ["file", f"{Path(source).name} ({speed['size_mb']:.0f} MB)"],
        ["curl MB/s (best)", speed["curl_mb_s"]],
        ["hearth MB/s (best, hashing + header check)", speed["hearth_mb_s"]],
        ["ratio hearth/curl", speed["ratio"]],
        ["kills (landed mid-file)", kills["kills"]],
        ["kills that came too late", kills["missed"]],
        ["where they landed (fraction of file)", f"{kills['landed_min']:.2f}..{kills['landed_max']:.2f}"],
        ["corrupt files after resume", kills["corrupt"]],
    ])
    print_json_line({"bench": "download", **speed, **kills})
    return 0 if kills["corrupt"] == 0 else 1
