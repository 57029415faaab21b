"""``hearth personalize`` and ``hearth adapters``: personalization from a terminal.

    hearth personalize [--now | --at HH:MM] [--budget MINUTES] [--docs PATH]
    hearth personalize --preview [--docs PATH] [--exclude FILE] [--include FILE]
    hearth adapters list | use NAME | off | rollback
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "personalize", help="train a personal adapter on your documents (overnight by default)",
        description="Train a personal LoRA adapter on your documents. By default it waits until "
        "the start time in your settings (01:00) and ends by the finish-by time.",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument("--now", action="store_true", help="start now")
    when.add_argument("--at", metavar="HH:MM", help="start at this time (default: settings, 01:00)")
    p.add_argument("--budget", type=float, metavar="MINUTES",
                   help="time budget in minutes from the start (default: until the finish-by time)")
    p.add_argument("--docs", type=Path, metavar="PATH",
                   help="learn from this folder of .txt/.md files instead of the library")
    p.add_argument("--exclude", action="append", default=[], metavar="FILE",
                   help="leave this file out (repeatable)")
    p.add_argument("--include", action="append", default=[], metavar="FILE",
                   help="learn from this file although it seems to hold a password, code, account "
                        "number or key (such files are left out unless named here; repeatable)")
    when.add_argument("--preview", action="store_true",
                      help="list what it would learn from (and what it leaves out, and why), then stop")
    p.add_argument("--fresh", action="store_true", help="discard an unfinished run instead of resuming it")
    p.add_argument("--ignore-battery", action="store_true", help="start even on battery power")
    p.add_argument("--json", action="store_true", help="print the events as JSON lines")
    p.set_defaults(func=cmd_personalize)

    a = subparsers.add_parser("adapters", help="list, switch and roll back personal adapters")
    asub = a.add_subparsers(dest="adapters_command", metavar="ACTION", required=True)
    asub.add_parser("list", help="list adapters").set_defaults(func=cmd_adapters_list)
    use = asub.add_parser("use", help="make an adapter active")
    use.add_argument("name")
    use.set_defaults(func=cmd_adapters_use)
    asub.add_parser("off", help="switch personalization off").set_defaults(func=cmd_adapters_off)
    asub.add_parser("rollback", help="go back to the previous adapter").set_defaults(func=cmd_adapters_rollback)
    rep = asub.add_parser("report", help="show an adapter's morning report")
    rep.add_argument("name", nargs="?")
    rep.set_defaults(func=cmd_adapters_report)


def _held_back(path: str, reason: str) -> str:
    """The line for a file left out as seeming to hold a secret, health details or phone
    numbers, with the option that adds it."""
    return f"  {path}: {reason} (--include {shlex.quote(path)} learns from it)"


def _preview(core: Any, args: argparse.Namespace) -> int:
    """Print what a run would learn from, as the window's preview shows it: each file with
    its tokens, then those left out with the reason (``--json``: :meth:`Preview.to_dict`
    as one JSON line)."""
    from desktop.core.personalize import gather_documents
    from desktop.core.personalize.controller import preview_documents

    try:
        docs = list(gather_documents(core, args.docs))
    except (ValueError, FileNotFoundError) as exc:
        print(f"hearth personalize: {exc}", file=sys.stderr)
        return 2
    preview, _ = preview_documents(docs, core.current_model_path(), args.exclude, args.include)
    if args.json:  # one JSON object: every file, with its tokens and why it is left out
        print(json.dumps(preview.to_dict()))
        return 0
    n = len(preview.included)
    print(f"It would learn from {n} file{'' if n == 1 else 's'} ({preview.total_tokens:,} tokens):")
    for item in preview.included:
        print(f"  {item.tokens:>8,}  {item.path}")
    left = [i for i in preview.items if i.excluded]
    if left:
        print(f"Left out ({len(left)}):")
        for item in left:
            print(_held_back(item.path, item.reason) if item.held_back else f"  {item.path}: {item.reason}")
    return 0


def _times(args: argparse.Namespace, settings: Any) -> tuple[dt.datetime | None, dt.datetime]:
    from desktop.core.personalize.schedule import run_times

    p = settings.personalization
    return run_times(args.at or p.start_time, p.finish_by, now=args.now, budget_minutes=args.budget)


def cmd_personalize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from desktop.core.app import HearthCore
    from desktop.core.jobs import CancelToken, encode_event
    from desktop.core.personalize import gather_documents
    from desktop.core.personalize.controller import run_personalization
    from desktop.core.personalize.pipeline import format_report

    core = HearthCore(with_library=args.docs is None)
    try:
        if args.preview:
            return _preview(core, args)
        try:
            start, deadline = _times(args, core.settings)
        except ValueError as exc:
            print(f"hearth personalize: {exc}", file=sys.stderr)
            return 2
        controller = core.personalizer
        if args.fresh:
            controller.reset()
        try:
            docs = list(gather_documents(core, args.docs)) if not controller.has_unfinished_run() else []
        except (ValueError, FileNotFoundError) as exc:
            print(f"hearth personalize: {exc}", file=sys.stderr)
            return 2
        if start is not None:
            print(f"Personalization starts at {start:%H:%M} and ends by {deadline:%H:%M}. "
                  "Leave this running (Ctrl+C cancels).")
        token = CancelToken()
        bar: tqdm | None = None
        code = 1
        events = run_personalization(
            docs, core.current_model_path(), start_at=start, deadline=deadline,
            excluded=args.exclude, included=args.include, require_mains=not args.ignore_battery, cancel=token,
            controller=controller,
        )
        try:
            for event in events:
                if args.json:
                    print(encode_event(event), flush=True)
                elif event.what == "step" and event.kind == "progress":
                    if bar is None:
                        bar = tqdm(total=int(event.total or 0), unit="step", desc="Training")
                    bar.total = int(event.total or 0)
                    bar.n = int(event.done)
                    d = event.data
                    bar.set_postfix(loss=f"{d.get('loss_smoothed', 0):.3f}",
                                    tok_s=f"{d.get('tokens_per_s', 0):.0f}",
                                    eta=f"{(d.get('eta_s') or 0) / 60:.0f}m", refresh=False)
                    bar.refresh()
                elif event.what != "waiting" or event.kind != "progress":
                    if bar is not None:
                        bar.close()
                        bar = None
                    if event.message:
                        print(event.message)
                    for item in event.data.get("preview", {}).get("items", []):
                        if item.get("held_back"):
                            print(_held_back(item["path"], item["reason"]))
                if event.kind == "done":
                    code = 0
                    if not args.json:
                        print(format_report(event.data["report"]))
                elif event.kind == "cancelled":
                    code = 130
        except KeyboardInterrupt:
            print("\nCancelling (the last checkpoint is kept)…", file=sys.stderr)
            token.cancel()
            for event in events:
                if event.kind in ("cancelled", "error") and event.message:
                    print(event.message, file=sys.stderr)
            code = 130
        finally:
            if bar is not None:
                bar.close()
        return code
    finally:
        core.close()


def _registry() -> Any:
    from desktop.core.personalize.registry import AdapterRegistry

    return AdapterRegistry()


def cmd_adapters_list(args: argparse.Namespace) -> int:
    entries = _registry().list()
    if not entries:
        print("No personal adapters yet. Run `hearth personalize --now` to make one.")
        return 0
    for e in entries:
        r = e.report
        change = r.get("heldout_change")
        figure = f"held-out ppl {change:+.1%}" if isinstance(change, (int, float)) else ""
        answers = r.get("heldout_answer_change")
        if isinstance(answers, (int, float)):
            figure = f"held-out answers' loss {answers:+.1%}, {figure}"
        print(f"{'*' if e.active else ' '} {e.name}  {e.base_name}  {figure}")
    return 0


def cmd_adapters_use(args: argparse.Namespace) -> int:
    from desktop.core.app import HearthCore
    from desktop.core.personalize.registry import AdapterError

    core = HearthCore(with_library=False, engine=_NoEngine())
    try:
        core.set_adapter(args.name).result()
        core.set_adapter_options(enabled=True, apply=False)
    except AdapterError as exc:
        print(f"hearth adapters: {exc}", file=sys.stderr)
        return 1
    finally:
        core.close()
    print(f"Adapter {args.name} is active.")
    return 0


def cmd_adapters_off(args: argparse.Namespace) -> int:
    _registry().off()
    print("Personalization is off (`hearth adapters rollback` brings the last adapter back).")
    return 0


def cmd_adapters_rollback(args: argparse.Namespace) -> int:
    entry = _registry().rollback()
    print(f"Adapter {entry.name} is active again." if entry else "No earlier adapter: none is active.")
    return 0


def cmd_adapters_report(args: argparse.Namespace) -> int:
    from desktop.core.personalize.pipeline import format_report

    reg = _registry()
    entry = reg.get(args.name) if args.name else reg.active()
    if entry is None:
        print("No active adapter; give a name (see `hearth adapters list`).")
        return 1
    print(format_report({**entry.report, "name": entry.name}) if entry.report else json.dumps({}))
    return 0


class _NoEngine:
    """Stands in for the chat engine where a command needs settings and paths only."""

    model = None

    def load(self, *a: Any) -> Any:
        raise RuntimeError("no engine")

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        pass

    def close(self) -> None:
        pass
