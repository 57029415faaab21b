"""``hearth``: the same core as the window, from a terminal.

Each subcommand group lives in its own module with a ``register(subparsers)`` function.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMAND_MODULES = [
    "desktop.cli.chat",
    "desktop.cli.library",
    "desktop.cli.personalize",
    "desktop.cli.transfer",
    "desktop.cli.serve",
    "desktop.cli.remote",
]


def build_parser() -> argparse.ArgumentParser:
    from desktop import __version__

    parser = argparse.ArgumentParser(
        prog="hearth", description="Hearth: a private AI assistant on your own computer."
    )
    parser.add_argument("--version", action="version", version=f"Hearth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from desktop.core.privacy import harden

    harden()
    # a line at a time even into a pipe or a log file: a long command (personalize, index)
    # shows each stage as it starts; the frozen app printed nothing for minutes otherwise
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        from desktop.core.library import LibraryBusy

        if isinstance(exc, LibraryBusy):  # the window (or another command) has it open
            print(f"hearth: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
