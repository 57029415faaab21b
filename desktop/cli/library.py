"""``hearth index``, ``hearth ask`` and ``hearth library``: the document library from a terminal."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from desktop.core.sources import readable, source_label


def register(sub: Any) -> None:
    p = sub.add_parser("index", help="add files or folders to the library (only changes are re-read)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    p.add_argument("--collection", default="default", help="collection to add them to (default: default)")
    p.add_argument("--watch", action="store_true", help="also keep the folders indexed while Hearth runs")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for embedding (default: setting)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="ask a question answered from your files, with sources")
    p.add_argument("question")
    p.add_argument("--collection", action="append", default=None,
                   help="collection to search (repeat for several; default: all)")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature (0: greedy)")
    p.add_argument("--max-tokens", type=int, default=None, help="longest answer in tokens")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument("--model", type=Path, default=None, help="GGUF model file (default: the chosen one)")
    p.add_argument("--keep", action="store_true",
                   help="keep the question and answer as a conversation in the window (default: not stored)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("library", help="collections, files, skipped files, removal")
    lsub = p.add_subparsers(dest="library_command", metavar="ACTION")
    q = lsub.add_parser("list", help="collections with their counts and folders")
    q.set_defaults(func=cmd_list)
    q = lsub.add_parser("files", help="every file and its state")
    q.add_argument("--collection", default=None)
    q.set_defaults(func=cmd_files)
    q = lsub.add_parser("skipped", help="files that could not be indexed, and why")
    q.add_argument("--collection", default=None)
    q.set_defaults(func=cmd_skipped)
    q = lsub.add_parser("remove", help="remove files or folders from the library (not from disk)")
    q.add_argument("paths", nargs="+", type=Path)
    q.set_defaults(func=cmd_remove)
    q = lsub.add_parser("unwatch", help="stop watching a folder (and remove its documents)")
    q.add_argument("folder", type=Path)
    q.set_defaults(func=cmd_unwatch)
    q = lsub.add_parser("delete-collection", help="delete a collection from the library")
    q.add_argument("name")
    q.set_defaults(func=cmd_delete_collection)
    q = lsub.add_parser("search", help="show the passages retrieved for a question (no model)")
    q.add_argument("query")
    q.add_argument("--collection", action="append", default=None)
    q.add_argument("-k", "--top-k", type=int, default=None)
    q.set_defaults(func=cmd_search)
    q = lsub.add_parser("passages", help="show or change the passage size and overlap (changing them re-indexes)")
    q.add_argument("--size", type=int, default=None, metavar="TOKENS",
                   help="passage size in word pieces (64 to 222; default 222)")
    q.add_argument("--overlap", type=int, default=None, metavar="TOKENS",
                   help="word pieces neighbouring passages share (0 to half the size; default 32)")
    q.add_argument("--reindex", action="store_true", help="re-index the library now (else: the next catch-up)")
    q.set_defaults(func=cmd_passages)
    p.set_defaults(func=cmd_list)  # `hearth library` alone shows the library


def _open_core(threads: int = 0) -> Any:
    """The app's core with its library open (the chat engine starts only if used).

    Args:
        threads: CPU threads for embedding, for this run only (0: the setting).
    """
    from desktop.core.app import HearthCore
    from desktop.core.settings import Settings

    settings = Settings.load()
    if threads:
        settings.library.embed_threads = threads
    return HearthCore(settings=settings)


def print_skipped(skipped: list[dict[str, str]], out: Any = None) -> None:
    """'N files skipped:' then one line per file with its reason (to ``out``, default stdout)."""
    if not skipped:
        return
    out = out or sys.stdout
    print(f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped:", file=out)
    for item in skipped:
        print(f"  {item['file']}: {item['reason']}", file=out)


#: The indexing line while there is no count to show (looking for documents, loading the
#: model, nothing new to read): its words alone, no bar, no "0file [00:00, ?file/s]".
PHASE_FORMAT = "{desc}"
#: The line once the files to read are counted: "Indexing:  40%|████      | 2 of 5 files,
#: 12 chunks, about 5 s left".
FILES_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt} of {total_fmt} {unit}{postfix}"


def progress_bar(file: Any = None) -> Any:
    """The terminal's indexing line (tqdm, to ``file``, default stderr), for :func:`_follow`."""
    from tqdm import tqdm

    return tqdm(total=None, desc="Indexing", unit="files", bar_format=PHASE_FORMAT,
                dynamic_ncols=True, file=file or sys.stderr)


def _time_left(seconds: float) -> str:
    """'about 5 s left', 'about 3 min left', 'about 1.5 h left' (as the window says it)."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def _follow(events: Any, bar: Any) -> Any:
    """Show an indexing job's events on ``bar`` (:func:`progress_bar`) and return its final
    event (None if it ended without one)."""
    final: Any = None
    for ev in events:
        if ev.kind == "progress" and ev.what == "files":
            total, done, d = int(ev.total or 0), int(ev.done), ev.data
            if not total:  # nothing new or changed: words, no bar
                bar.bar_format = PHASE_FORMAT
                bar.set_description_str("Indexing: no new or changed files to read")
                continue
            if bar.total != total:
                bar.reset(total=total)
                bar.bar_format = FILES_FORMAT
                bar.unit = "file" if total == 1 else "files"
                bar.set_description_str("Indexing", refresh=False)
            bar.n = done
            post = [f"{d.get('chunks_done', 0)} passages"]
            if d.get("chunks_per_s"):
                post.append(f"{d['chunks_per_s']:.1f} passages/s")
            if d.get("eta_s") is not None and done < total:
                post.append(_time_left(d["eta_s"]))
            if d.get("paused"):
                post.append("paused")
            bar.set_postfix_str(", ".join(post), refresh=False)
            bar.refresh()
        elif ev.kind == "progress":  # "Looking for documents…", "Loading the embedding model…"
            bar.bar_format = PHASE_FORMAT
            bar.total = None
            bar.set_description_str(ev.message)
        elif ev.kind == "log":
            bar.write(ev.message)
        elif ev.kind in ("done", "cancelled", "error"):
            final = ev
    return final


def _report(final: Any, unwatched: list[Path]) -> int:
    if final is None:
        return 1
    print(final.message)
    print_skipped(final.data.get("skipped", []))
    if unwatched and final.kind == "done":
        folders = [str(p) for p in unwatched]
        print(f"Changes in {', '.join(folders)} are read when you run this again; add --watch to "
              "have Hearth follow them while it runs, as the window's Add folder does.")
    return 0 if final.kind == "done" else 1


def cmd_index(args: argparse.Namespace) -> int:
    from desktop.core.jobs import CancelToken
    from desktop.core.library import LibraryBusy

    missing = [str(p) for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"hearth index: not found: {', '.join(missing)}. Check the path.", file=sys.stderr)
        return 2
    try:
        core = _open_core(args.threads)
    except LibraryBusy as busy:  # the window has the library: it indexes them instead
        return _index_in_window(args, busy)
    library = core.library
    cancel = CancelToken()
    final: Any = None
    bar = progress_bar()
    try:
        if args.watch:
            for path in args.paths:
                if path.is_dir():
                    core.watch_folder(path, args.collection)
        watched = {Path(f).resolve() for f, _ in library.folders()}
        unwatched = [p for p in args.paths if p.is_dir() and p.resolve() not in watched]
        try:
            final = _follow(library.index_paths(args.paths, args.collection, cancel), bar)
        except KeyboardInterrupt:
            cancel.cancel()
            print("\nStopped; run the same command again to resume.", file=sys.stderr)
            return 130
    finally:
        bar.close()
        core.close()
    return _report(final, unwatched)


def _index_in_window(args: argparse.Namespace, busy: Any) -> int:
    """Hand the paths to the Hearth window that holds the library, and follow its progress
    (see :mod:`desktop.core.library.handoff`).  When no window answers (another command
    holds the library, or a window was killed), the refusal ``busy`` is raised again."""
    from desktop.core.library.handoff import (
        ADDRESS_FILE,
        HandoffRefused,
        HandoffUnavailable,
        request_index,
    )

    if busy.root is None or not (busy.root / ADDRESS_FILE).exists():
        raise busy  # another command has it (only the window listens)
    try:
        job = request_index(busy.root, list(args.paths), args.collection)
    except HandoffRefused as exc:
        print(f"hearth index: the Hearth window refused: {exc}", file=sys.stderr)
        return 1
    except HandoffUnavailable:
        print(f"hearth: Your document library ({busy.root}) is open in {busy.owner}, which did not "
              "answer. Only one Hearth program can use it at a time: close that one, or add the "
              "files on its Library page, then try again.", file=sys.stderr)
        return 1
    names = ", ".join(str(p) for p in args.paths)
    try:  # from here on, Ctrl+C only stops this terminal waiting
        print(f"The Hearth window has your library open, so it is indexing {names} now "
              "(its Library page shows them; folders are also watched, as its Add folder does).",
              file=sys.stderr)
        bar = progress_bar()
        try:
            final = _follow(job, bar)
        finally:
            bar.close()
    except KeyboardInterrupt:
        print("\nStopped waiting; the window goes on indexing (see its Library page).", file=sys.stderr)
        return 130
    finally:
        job.close()
    return _report(final, [])


def format_sources(sources: list[Any]) -> str:
    """Numbered lines: [n] file, page N, section — snippet."""
    lines = []
    for i, src in enumerate(sources, 1):
        lines.append(f"[{i}] {source_label(src, full_path=True)}")
        evidence = (src.extra or {}).get("evidence")
        if evidence:  # the sentence the answer rests on
            said = " ".join(readable(evidence["text"], src.path or src.title).split())
            lines.append(textwrap.indent(textwrap.fill(f"» {said}", 90), "    "))
        else:
            lines.append(textwrap.indent(textwrap.fill(src.snippet(240), 90), "    "))
    return "\n".join(lines)


def status_line(file: Any = None) -> Any:
    """What `hearth ask` is doing ("Loading the model…", "Searching your files…", "Writing
    the answer…"): one tqdm line on ``file`` (default stderr), each state set with
    ``set_description_str`` and erased by ``close()``; disabled where ``file`` is not a
    terminal, so a pipe or log keeps the answer alone.  An answer can take a minute on a
    small CPU, and nothing had shown until its first word (tenth new-user trial)."""
    from tqdm import tqdm

    file = file or sys.stderr
    return tqdm(total=None, bar_format="{desc}", file=file, leave=False,
                disable=not getattr(file, "isatty", lambda: False)())


def cmd_ask(args: argparse.Namespace) -> int:
    from desktop.core.app import HearthCore
    from desktop.core.models import ModelError
    from desktop.core.sources import Source

    if not args.question.strip():
        print('hearth ask: the question is empty; write it in quotes: hearth ask "When is the '
              'invoice due?"', file=sys.stderr)
        return 2

    status = status_line()
    status.set_description_str("Opening Hearth…")
    with HearthCore() as core:
        status.set_description_str("Loading the model…")
        try:
            core.use_model(args.model, remember=False)
        except ModelError as exc:
            status.close()
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if core.library is None:
            status.close()
            print("The library is not available in this installation.", file=sys.stderr)
        else:
            unknown = [c for c in (args.collection or []) if c not in core.library.collection_names()]
            if unknown:
                status.close()
                print(f"hearth ask: no collection named {', '.join(unknown)}; the collections are: "
                      f"{', '.join(core.library.collection_names()) or 'none yet'}.", file=sys.stderr)
                return 2
        # A terminal question is a one-off lookup: unless --keep, it is answered in a
        # conversation of its own that is deleted afterwards (with its memory entry), so
        # the window's list does not fill with one chat per `hearth ask`.  Folding the
        # questions into one shared conversation instead would send every earlier
        # question and answer to the model with each new one, changing the answers.
        conv = core.history.create_conversation(title=args.question[:60], collections=args.collection or [])
        params = core.chat.params_if_overridden(temperature=args.temperature, max_tokens=args.max_tokens,
                                                seed=args.seed)
        sources: list[Any] = []
        error = None
        ungrounded, unsupported, read_as = False, [], []
        try:
            for ev in core.chat.send(conv.id, args.question, params=params):
                if ev.kind == "user_message":
                    status.set_description_str("Searching your files…")
                elif ev.kind == "reply_started":
                    status.set_description_str("Writing the answer…")
                elif ev.kind == "sources":
                    sources = ev.sources
                elif ev.kind == "token":
                    status.close()
                    sys.stdout.write(ev.text)
                    sys.stdout.flush()
                elif ev.kind == "finished":
                    error = ev.data.get("error")
                    read_as = list(ev.message.meta.get("read_as") or []) if ev.message is not None else []
                    if ev.message is not None and ev.message.meta.get("sources"):
                        sources = [Source.from_dict(s) for s in ev.message.meta["sources"]]
                        ungrounded = bool(ev.message.meta.get("ungrounded"))
                        unsupported = list(ev.message.meta.get("unsupported") or [])
        finally:
            status.close()
            if not args.keep:
                core.delete_conversation(conv.id)
        print()
        if error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        if read_as:
            from desktop.core.answering import read_as_note

            print(f"\n({read_as_note(read_as)})")
        if sources:
            if ungrounded:
                print("\nSources (the answer is not taken from them: it may come from the model's "
                      "general knowledge, or be wrong):")
            elif unsupported:
                from desktop.core.answering import not_held_note

                print(f"\nSources (check the answer: {not_held_note(unsupported, 'them')}):")
            else:
                print("\nSources:")
            print(format_sources(sources))
        else:
            print("\n(No sources: nothing in your library matched.)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _open_core() as core:
        library = core.library
        infos = library.collections()
        if not infos:
            print("The library is empty. Add documents with: hearth index FOLDER")
        for c in infos:
            print(f"{c.name}: {c.files} files, {c.chunks} passages, {c.skipped} skipped "
                  f"(embedding model {c.embedding_model})")
            for folder in c.folders:
                print(f"  watching {folder}")
    return 0


def cmd_passages(args: argparse.Namespace) -> int:
    """Show the passage size and overlap; with --size/--overlap change them (saved): the
    library's files made otherwise are re-indexed, now with --reindex, else by the next
    catch-up (the window on start, or this command with --reindex)."""
    from desktop.core.settings import Settings, check_chunking

    current = Settings.load().library
    size = current.chunk_tokens if args.size is None else args.size
    overlap = current.chunk_overlap_tokens if args.overlap is None else args.overlap
    try:
        check_chunking(size, overlap)
    except ValueError as exc:
        print(f"hearth library passages: {exc} Nothing was changed.", file=sys.stderr)
        return 2
    with _open_core() as core:
        library = core.library
        if (size, overlap) != (current.chunk_tokens, current.chunk_overlap_tokens):
            estimate = library.reindex_estimate()
            stale = core.set_chunking(size, overlap)
            print(f"Passages are now {size} word pieces, overlapping by {overlap}.")
            if stale:
                how = "now" if args.reindex else \
                    "the next time Hearth opens (or now: hearth library passages --reindex)"
                print(f"The library will be re-indexed: {estimate.files_text()} are read again "
                      f"({estimate.chunks} passages now, {estimate.duration_text()}), {how}.")
        else:
            print(f"Passages are {size} word pieces, overlapping by {overlap}.")
        pending = sum(len(v) for v in library.pending_reindex().values())
        if not args.reindex:
            if pending and (size, overlap) == (current.chunk_tokens, current.chunk_overlap_tokens):
                print(f"{pending} file(s) wait to be re-indexed: hearth library passages --reindex")
            return 0
        final: Any = None
        for ev in library.reindex_pending():
            if ev.kind in ("done", "cancelled", "error"):
                final = ev
        if final is None:
            print("Nothing to re-index.")
            return 0
        print(final.message)
        print_skipped(final.data.get("skipped", []))
        return 0 if final.kind == "done" else 1


def cmd_files(args: argparse.Namespace) -> int:
    with _open_core() as core:
        library = core.library
        for f in library.files(args.collection):
            extra = f" — {f.reason}" if f.reason else ""
            print(f"{f.state:9} {f.chunks:6} passages  [{f.collection}] {f.path}{extra}")
    return 0


def cmd_skipped(args: argparse.Namespace) -> int:
    with _open_core() as core:
        library = core.library
        print_skipped([{"file": s.path, "reason": s.reason} for s in library.skipped(args.collection)])
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _open_core() as core:
        library = core.library
        n = sum(library.remove_path(p) for p in args.paths)
    print(f"Removed {n} file(s) from the library.")
    return 0


def cmd_unwatch(args: argparse.Namespace) -> int:
    with _open_core() as core:
        core.unwatch_folder(args.folder)
    print(f"No longer watching {args.folder}.")
    return 0


def cmd_delete_collection(args: argparse.Namespace) -> int:
    with _open_core() as core:
        library = core.library
        library.delete_collection(args.name)
    print(f"Deleted collection {args.name}.")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _open_core() as core:
        library = core.library
        print(format_sources(library.search(args.query, args.collection, args.top_k)))
    return 0
