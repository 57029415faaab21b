"""``hearth models available | download NAME | remove NAME``: the curated catalog."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def register_subcommands(models_parser: argparse.ArgumentParser) -> None:
    """Add the catalog subcommands under ``hearth models``."""
    sub = models_parser.add_subparsers(dest="models_command", metavar="ACTION")
    a = sub.add_parser("available", help="the catalog of models Hearth can download, with "
                       "whether each fits this computer")
    a.set_defaults(func=run_available)
    d = sub.add_parser("download", help="download a catalog model (resumes a paused or "
                       "interrupted download)")
    d.add_argument("name", help="the model's name in `hearth models available`")
    d.add_argument("--yes", action="store_true",
                   help="agree to contacting the download host without asking")
    d.add_argument("--hub-url", dest="hub_url",
                   help="download from this hub or mirror (saved in the settings)")
    d.set_defaults(func=run_download)
    r = sub.add_parser("remove", help="remove a model (a downloaded file is deleted; a file "
                       "you added yourself is only taken off the list)")
    r.add_argument("name", help="catalog name, file name or path")
    r.set_defaults(func=run_remove)


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def run_available(args: argparse.Namespace) -> int:
    from desktop.bench import print_table
    from desktop.core.catalog import CatalogError, detect_hardware, fit_label, load_catalog
    from desktop.core.downloads import catalog_states

    try:
        entries = load_catalog()
    except CatalogError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    hw = detect_hardware()
    rows = []
    for row in catalog_states(entries):
        e = row.entry
        state = row.state if row.state != "partial" else f"partial {_size(row.partial_bytes)}"
        rows.append([e.name, e.family, e.parameters_label, e.quantization, _size(e.size_bytes),
                     _size(e.ram_bytes), fit_label(e.ram_bytes, e.size_bytes, hw),
                     "yes" if e.can_personalize else "no", e.licence, state])
    print_table(["name", "family", "params", "quant", "size", "RAM", "fit", "personalize",
                 "licence", "state"], rows)
    gpu = f", GPU {_size(hw.vram_bytes)}" if hw.vram_bytes else ", no usable GPU"
    print(f"\nThis computer: {_size(hw.ram_bytes)} RAM{gpu}. Sizes and RAM are estimates.")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from desktop.cli.chat import settings_core

    with settings_core() as core:
        return _download(args, core)


def _download(args: argparse.Namespace, core: Any) -> int:
    from desktop.core.catalog import CatalogError, find_entry, load_catalog
    from desktop.core.downloads import (
        DownloadError,
        catalog_url,
        download_catalog_model,
        unconfirmed_hosts,
    )
    from desktop.core.jobs import CancelToken

    settings = core.settings
    if args.hub_url:
        core.confirm_download_hosts([], hub_url=args.hub_url)
    try:
        entry = find_entry(args.name, load_catalog())
    except CatalogError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    if entry is None:
        print(f"hearth: no model called {args.name!r} in the catalog; "
              "`hearth models available` lists them.", file=sys.stderr)
        return 2
    hosts = unconfirmed_hosts(entry, settings)
    if hosts:
        print(f"To download {entry.name} ({_size(entry.size_bytes)}, licence {entry.licence}) "
              f"Hearth will connect to: {', '.join(hosts)}.\nNothing else is sent; your "
              f"documents and chats stay here. URL: {catalog_url(entry, settings)}",
              file=sys.stderr)
        if not args.yes:
            try:
                answer = input("Continue? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print("Not downloaded.", file=sys.stderr)
                return 1
        core.confirm_download_hosts(hosts)
    cancel = CancelToken()
    last = 0.0
    try:
        for event in download_catalog_model(entry, settings, cancel, save=core.save_settings):
            now = time.monotonic()
            if event.kind == "progress" and now - last >= 1.0:
                last = now
                print(f"\r{event.message}\033[K", end="", file=sys.stderr, flush=True)
            elif event.kind in ("done", "cancelled"):
                print(f"\r{event.message}\033[K", file=sys.stderr)
                if event.kind == "done":
                    print(event.data["path"])
    except KeyboardInterrupt:
        print("\nPaused; run the same command again to resume.", file=sys.stderr)
        return 130
    except DownloadError as exc:
        print(f"\nhearth: {exc}", file=sys.stderr)
        return 1
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from desktop.cli.chat import settings_core
    from desktop.core.downloads import DownloadError

    with settings_core() as core:
        try:
            message = core.remove_model(args.name)
        except DownloadError as exc:
            print(f"hearth: {exc}", file=sys.stderr)
            return 2
    print(message)
    return 0
