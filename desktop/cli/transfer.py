"""``hearth export`` and ``hearth import``: conversations to and from files."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    e = sub.add_parser("export", help="export conversations to Markdown or JSON")
    e.add_argument("file", help="where to write (.md for Markdown, else JSON)")
    e.add_argument("--conversation", type=int, action="append", dest="conversations",
                   metavar="ID", help="export only this conversation (repeatable); default all")
    e.add_argument("--format", choices=["json", "markdown"], help="default: from the file's suffix")
    e.set_defaults(func=run_export)

    i = sub.add_parser("import", help="import conversations (Hearth JSON, ChatGPT or Claude export)")
    i.add_argument("file", help="conversations.json, the export's zip, or a Hearth JSON export")
    i.add_argument("--no-memory", action="store_true",
                   help="do not add the imported exchanges to memory (faster)")
    i.set_defaults(func=run_import)


def active_adapter_name(core: Any) -> str | None:
    """The personal adapter the chat uses now, or None (also when personalization is not
    installed)."""
    try:
        from desktop.core.personalize import active_adapter_name as active
    except ModuleNotFoundError:
        return None
    return active(core.settings)


def run_export(args: argparse.Namespace) -> int:
    from desktop.core.app import HearthCore
    from desktop.core.transfer import TransferError, export_to_file

    core = HearthCore(with_library=False)
    try:
        try:
            path = export_to_file(core.history, args.file, args.conversations, args.format,
                                  adapter=active_adapter_name(core))
        except KeyError as exc:
            print(f"hearth: {exc.args[0]}; `hearth export` without --conversation exports all.",
                  file=sys.stderr)
            return 2
        except TransferError as exc:
            print(f"hearth: {exc}", file=sys.stderr)
            return 2
        count = len(args.conversations) if args.conversations else len(core.history.list_conversations())
        print(f"Exported {count} conversation(s) to {path}")
        return 0
    finally:
        core.close()


def run_import(args: argparse.Namespace) -> int:
    from desktop.core.app import HearthCore
    from desktop.core.transfer import TransferError, import_file

    core = HearthCore(with_library=not args.no_memory)
    try:
        try:
            report = import_file(core.history, args.file, memory=core.library)
        except TransferError as exc:
            print(f"hearth: {exc}", file=sys.stderr)
            return 2
        print(report.summary())
        for line in report.skipped:
            print(f"  skipped: {line}", file=sys.stderr)
        return 0
    finally:
        core.close()
