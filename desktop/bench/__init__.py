"""``hearth-bench``: benchmarks (not tests).  Each prints a table and, as its last line,
one JSON object of its figures.  Each lives in its own module with ``register(sub)``."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

BENCH_MODULES = [
    "desktop.bench.chat",
    "desktop.bench.retrieval",
    "desktop.bench.index",
    "desktop.bench.ocr",
    "desktop.bench.train",
    "desktop.bench.personalize",
    "desktop.bench.faults",
    "desktop.bench.load",
    "desktop.bench.qa",
    "desktop.bench.serve",
    "desktop.bench.download",
]


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """Print a plain aligned table to stdout."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print("  ".join(
            c.rjust(w) if i and _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=True)
        ).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_json_line(figures: dict[str, Any]) -> None:
    print(json.dumps(figures, sort_keys=True, default=str), flush=True)


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%x"))
        return True
    except ValueError:
        return False


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def main(argv: Sequence[str] | None = None) -> int:
    from desktop.core.privacy import harden

    harden()
    parser = argparse.ArgumentParser(prog="hearth-bench", description="Hearth's benchmarks.")
    sub = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    for name in BENCH_MODULES:
        importlib.import_module(name).register(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
