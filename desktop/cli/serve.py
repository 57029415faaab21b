"""``hearth serve``: the OpenAI-compatible server from a terminal."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from desktop.cli.chat import open_core
from desktop.cli.transfer import active_adapter_name


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="run the OpenAI-compatible server (127.0.0.1 only unless you allow the LAN)"
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, help="TCP port (default: the setting, 8765)")
    p.add_argument("--allow-lan", action="store_true",
                   help="allow a non-loopback --host (saved in settings; needs a token)")
    p.add_argument("--new-token", action="store_true",
                   help="create a new access token, show it once, and require it from now on")
    p.add_argument("--revoke-token", action="store_true",
                   help="revoke the access token (LAN serving stops working) and exit")
    p.add_argument("--no-library", action="store_true", help="serve without the document library")
    p.add_argument("--threads", type=int, help="CPU threads for the model")
    p.add_argument("--model", help="GGUF file to serve instead of the chosen model")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from desktop.cli.chat import settings_core
    from desktop.core.server import HearthApi, ServerThread, check_bind, new_token

    with settings_core() as settings_owner:
        server_settings = settings_owner.settings.server
        if args.revoke_token:
            settings_owner.set_server_options(token_sha256="")
            print("The access token is revoked; clients that used it are refused.")
            return 0
        if args.new_token:
            token, digest = new_token()
            settings_owner.set_server_options(token_sha256=digest)
            print(f"New access token (shown only now; keep it safe):\n  {token}")
        if args.allow_lan and not server_settings.allow_lan:
            settings_owner.set_server_options(allow_lan=True)
    try:
        check_bind(args.host, server_settings.allow_lan, server_settings.token_sha256)
    except ValueError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else server_settings.port
    core = open_core(args, with_library=not args.no_library)
    try:
        api = HearthApi(core, token_sha256=server_settings.token_sha256)
        server = ServerThread(api, args.host, port)
        try:
            server.start()
        except OSError as exc:
            print(f"hearth: {exc}", file=sys.stderr)
            return 2
        adapter = None if core.adapter_notice else active_adapter_name(core)
        token_note = "a bearer token is required" if server_settings.token_sha256 else "no token"
        print(f"Serving {core.engine.model.name if core.engine.model else '?'}"
              f"{f' with adapter {adapter}' if adapter else ''} on {server.base_url} "
              f"({token_note}); Ctrl-C stops.", flush=True)
        if core.adapter_notice:
            print(f"hearth: {core.adapter_notice}", file=sys.stderr)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        server.stop()
        print("Server stopped.", file=sys.stderr)
        return 0
    finally:
        core.close()
