"""``hearth remote``: chat with an OpenAI-compatible server instead of the local engine,
and keep the library's vectors on a Chroma server instead of this disk."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("remote", help="use an OpenAI-compatible server (llama.cpp, Ollama, vLLM) as the chat engine")
    p.add_argument("--chat", metavar="URL", help="the server, e.g. http://gpu-box:8080/v1 (tested, then saved)")
    p.add_argument("--model", default="", help="model id on that server (default: its first)")
    p.add_argument("--api-key", default="", dest="api_key", help="API key, if the server needs one")
    p.add_argument("--off", action="store_true", help="go back to this computer's own engine")
    p.add_argument("--library", metavar="HOST:PORT",
                   help="keep the library's vectors on this Chroma server (`chroma run`), e.g. "
                        "gpu-box.local:8000 (tested, then saved; re-indexed there); 'off' keeps them here")
    p.set_defaults(func=run_remote)


def run_remote(args: argparse.Namespace) -> int:
    from desktop.cli.chat import settings_core

    with settings_core() as core:
        if args.library is not None:
            code = _library_server(args.library, core)
            if code or not (args.chat or args.off):
                return code
        return _remote(args, core)


def _library_server(value: str, core: Any) -> int:
    from desktop.core.library import LibraryError, check_chroma_server, parse_chroma_address

    if value.strip().lower() in ("off", "", "local", "none"):
        core.set_library_server("")
        print("Saved: the library's vectors are kept on this computer from the next start "
              "(re-indexed from your files).")
        return 0
    try:
        host, port = parse_chroma_address(value)
        print(check_chroma_server(host, port))
    except (ValueError, LibraryError) as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    core.set_library_server(host, port)
    print("Saved: from the next start the library keeps its vectors there (your files are "
          "re-indexed into it; the list of files stays on this computer). "
          "`hearth remote --library off` goes back.")
    return 0


def _remote(args: argparse.Namespace, core: Any) -> int:
    from desktop.core.engine.remote import RemoteBackend
    from desktop.core.models import ModelError

    remote = core.settings.remote
    if args.off:
        core.set_remote_engine("")
        print("Chatting with this computer's own engine again.")
        return 0
    url = args.chat or remote.chat_url
    if not url:
        print("Chat engine: this computer's own (no remote server set). Set one with --chat URL.")
        return 0
    model = args.model if args.chat else remote.chat_model
    key = args.api_key if args.chat else remote.chat_api_key
    try:
        backend = RemoteBackend(url, model, key)
    except ValueError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    try:
        ids = backend.test_connection()
    except ModelError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    finally:
        backend.close()
    if model and model not in ids:
        print(f"hearth: the server has no model {model!r}; it has {', '.join(ids)}.", file=sys.stderr)
        return 2
    print(f"Connected to {backend.base_url}: models {', '.join(ids) or '(none)'}.")
    if args.chat:
        core.set_remote_engine(backend.base_url, model, key)
        print("Saved: Hearth now chats through this server (`hearth remote --off` to go back).")
    return 0
