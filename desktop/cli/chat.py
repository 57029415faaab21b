"""``hearth chat`` and ``hearth models``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from desktop.core.jobs import CancelToken
from desktop.core.models import ModelError
from desktop.core.sources import source_label


def add_sampling_options(p: argparse.ArgumentParser) -> None:
    """Sampling options shared by chat and ask."""
    p.add_argument("--temperature", type=float, help="0 means greedy decoding")
    p.add_argument("--top-p", type=float, dest="top_p")
    p.add_argument("--max-tokens", type=int, dest="max_tokens")
    p.add_argument("--seed", type=int, help="-1 for random")
    p.add_argument("--model", help="GGUF file to use instead of the chosen model")
    p.add_argument("--threads", type=int, help="CPU threads for the model")
    p.add_argument("--system", help="system prompt for this conversation")


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="chat with the model (streams the answer to stdout)")
    p.add_argument("question", nargs="?", help="ask one question; omit for an interactive prompt")
    p.add_argument("--no-library", action="store_true", help="answer without your documents")
    add_sampling_options(p)
    p.set_defaults(func=run_chat)

    m = sub.add_parser("models", help="list models and their metadata")
    m.add_argument("--add", metavar="GGUF", help="add a model file to the list")
    m.add_argument("--use", metavar="GGUF", help="choose the model the app and CLI use")
    m.set_defaults(func=run_models)
    from desktop.cli.models import register_subcommands

    register_subcommands(m)


def open_core(args: argparse.Namespace, with_library: bool = True) -> Any:
    """A HearthCore with the model loaded and the command line's overrides applied."""
    from desktop.core.app import HearthCore

    core = HearthCore(with_library=with_library)
    if getattr(args, "threads", None):
        core.settings.chat.n_threads = args.threads
    try:
        core.use_model(getattr(args, "model", None) or None, remember=False)
        if core.adapter_notice:
            print(f"hearth: {core.adapter_notice}", file=sys.stderr)
    except ModelError as exc:
        core.close()
        print(f"hearth: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    return core


def settings_core() -> Any:
    """A HearthCore for commands that only change settings: no library, and the chat
    engine is never started.  Close it (or use ``with``)."""
    from desktop.cli.personalize import _NoEngine
    from desktop.core.app import HearthCore

    return HearthCore(engine=_NoEngine(), with_library=False)


def stream_answer(core: Any, conversation_id: int, text: str, args: argparse.Namespace) -> int:
    """Send ``text`` and print the answer as it streams.  Returns an exit code."""
    params = core.chat.params_if_overridden(
        temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, seed=args.seed
    )
    cancel = CancelToken()
    events = core.chat.send(conversation_id, text, cancel, params)
    code = 0
    try:
        for ev in events:
            if ev.kind == "token":
                sys.stdout.write(ev.text)
                sys.stdout.flush()
            elif ev.kind == "trimmed":
                print(f"\n[older messages left out: the conversation is longer than the "
                      f"context window ({ev.data.get('dropped')} dropped)]", file=sys.stderr)
            elif ev.kind == "finished":
                sys.stdout.write("\n")
                if ev.message is not None and ev.message.status == "error":
                    print(f"hearth: {ev.data.get('error')}", file=sys.stderr)
                    code = 1
                elif ev.message is not None and ev.message.status == "stopped":
                    print("[stopped]", file=sys.stderr)
                sources = ev.message.meta.get("sources", []) if ev.message else []
                for i, src in enumerate(sources, 1):
                    snippet = " ".join(str(src.get("text", "")).split())[:160]
                    print(f"[{i}] {source_label(src, full_path=True, section=False)}: {snippet}")
    except KeyboardInterrupt:
        cancel.cancel()
        for _ in events:  # let the service mark the reply stopped
            pass
        print("\n[stopped]", file=sys.stderr)
    return code


def run_chat(args: argparse.Namespace) -> int:
    core = open_core(args, with_library=not args.no_library)
    try:
        conv = core.history.create_conversation(system_prompt=args.system or "")
        if args.question:
            return stream_answer(core, conv.id, args.question, args)
        print(f"Hearth — {core.engine.model.summary()}\nType your message; an empty line or "
              "Ctrl-D quits, Ctrl-C stops an answer.", file=sys.stderr)
        code = 0
        while True:
            try:
                text = input("> ")
            except EOFError:
                break
            if not text.strip():
                break
            code = stream_answer(core, conv.id, text, args)
        return code
    finally:
        core.close()


def run_models(args: argparse.Namespace) -> int:
    from desktop.core.app import HearthCore

    core = HearthCore(with_library=False)
    try:
        if args.add:
            try:
                info = core.add_model(args.add)
            except ModelError as exc:
                print(f"hearth: {exc}", file=sys.stderr)
                return 2
            print(f"Added {info.summary()}")
        if args.use:
            try:
                info = core.use_model(args.use, remember=True)
            except ModelError as exc:
                print(f"hearth: {exc}", file=sys.stderr)
                return 2
            print(f"Using {info.summary()}")
        current = str(core.current_model_path()) if core.catalog.paths() else ""
        rows = []
        for path, info, error in core.catalog.list():
            mark = "*" if str(path) == current else " "
            if info is None:
                rows.append([mark, path.name, "-", "-", "-", "-", "-", f"error: {error}"])
            else:
                rows.append([mark, info.name, info.architecture, info.parameters_label,
                             info.quantization, str(info.context_length), info.size_label, str(path)])
        from desktop.bench import print_table

        print_table(["", "name", "arch", "params", "quant", "context", "size", "file"], rows)
        return 0
    finally:
        core.close()
