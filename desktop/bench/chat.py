"""``hearth-bench chat``: streamed-answer speed through Hearth's engine vs raw llama-cpp-python.

Hearth's side is exactly the window's path: IsolatedBackend (worker process, JSON-lines
pipe) with the model's chat template.  The raw side is ``Llama.create_chat_completion(
stream=True)`` in this process.  Same model, prompt, threads, context and max tokens,
greedy decoding; the two alternate ``--rounds`` times.  Each round uses a fresh prompt
(numbered) so neither side answers from a cached prompt.

``--portable-engine DIR``: also run a third side, the same isolated worker with the
llama_cpp package found in DIR (e.g. the portable build of installers/build.py,
``pip install --target DIR`` of its wheel) first on its PYTHONPATH, and report its speed
against the native (this environment's) worker: ``portable_vs_native``.

Figures: time to first token (ms, from the call to the first text piece) and decode speed
(tokens received after the first piece, per second between the first and the last piece;
Hearth's worker coalesces tokens into pieces at most 25 ms apart, each piece says how many
tokens it holds).  Medians over rounds.

``--during index``: the chat has priority (issue 10).  Through the product (HearthCore in a
temporary home: its ChatService, IsolatedBackend, Library and ChatPriority), the same
greedy chat is measured ``--rounds`` times with nothing running (the reference), then
``--rounds`` times while a large folder (``--limit`` SciFact abstracts written as files)
indexes meanwhile; indexing then runs to its end and is checked (every file indexed, the
vector store holding exactly the chunks the manifest lists).  ``during_ratio`` = median
tokens/s during indexing / median tokens/s alone (goal >= 0.8).
"""


from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SCIFACT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ir" / "scifact"


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="tokens/s and time to first token vs raw llama-cpp-python")
    p.add_argument("--model", help="GGUF file (default: the built-in model)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="0: Hearth's automatic choice")
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--portable-engine", metavar="DIR",
                   help="folder holding another (portable) llama_cpp build to compare")
    p.add_argument("--during", choices=["nothing", "index"], default="nothing",
                   help="index: the product's chat alone vs. while a large folder indexes")
    p.add_argument("--data", type=Path, default=SCIFACT,
                   help="BEIR-layout folder whose corpus is indexed (--during index)")
    p.add_argument("--limit", type=int, default=400,
                   help="documents written as files and indexed (--during index)")
    p.set_defaults(func=run)


PROMPT = "Round {i}. Write a short story about a lighthouse keeper and a storm."
SYSTEM = "You are Hearth, a helpful assistant. Answer clearly and concisely."


def _measure(stream: Any) -> tuple[float, float, int]:
    """``stream`` yields (text, tokens in it).  Returns (time to first token s, tokens/s
    after the first piece, tokens)."""
    start = time.perf_counter()
    first = last = None
    n = first_n = 0
    for piece, tokens in stream:
        if not piece:
            continue
        now = time.perf_counter()
        if first is None:
            first, first_n = now, tokens
        last = now
        n += tokens
    assert first is not None and last is not None, "no tokens streamed"
    ttft = first - start
    tps = (n - first_n) / (last - first) if n > first_n and last > first else 0.0
    return ttft, tps, n


def run(args: argparse.Namespace) -> int:
    if args.during == "index":
        return run_during_index(args)
    from llama_cpp import Llama

    from desktop.bench import print_json_line, print_table
    from desktop.core.engine import EngineOptions, SamplingParams
    from desktop.core.engine.isolated import IsolatedBackend
    from desktop.core.models import default_model_path
    from desktop.core.settings import default_threads

    model = args.model or str(default_model_path())
    threads = args.threads or default_threads()
    params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=args.max_tokens, seed=1)

    hearth = IsolatedBackend()
    hearth.load(model, EngineOptions(n_ctx=args.n_ctx, n_threads=threads))
    from desktop.core.engine.backends import avoid_amx

    avoid_amx()  # as the engine does: llama.cpp's AMX path crashes (backends' docstring)
    raw = Llama(model_path=model, n_ctx=args.n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
    portable = None
    if args.portable_engine:
        from desktop.core.engine.backends import cpu_variants

        engine_dir = Path(args.portable_engine).resolve()
        if not cpu_variants(engine_dir / "llama_cpp" / "lib"):
            raise SystemExit(f"{engine_dir} holds no portable llama_cpp (llama_cpp/lib/*ggml-cpu-*)")
        root = str(Path(__file__).resolve().parents[2])
        portable = IsolatedBackend(env={"PYTHONPATH": os.pathsep.join(
            [str(engine_dir), root, os.environ.get("PYTHONPATH", "")])})
        portable.load(model, EngineOptions(n_ctx=args.n_ctx, n_threads=threads))

    def isolated_stream(backend: Any, i: int) -> Any:
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT.format(i=i)}]
        for ev in backend.generate(msgs, params):
            if ev.kind == "token":
                yield ev.text, int(ev.data.get("tokens", 1))

    def hearth_stream(i: int) -> Any:
        return isolated_stream(hearth, i)

    def portable_stream(i: int) -> Any:
        return isolated_stream(portable, i)

    def raw_stream(i: int) -> Any:
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT.format(i=i)}]
        for chunk in raw.create_chat_completion(
            msgs, stream=True, max_tokens=args.max_tokens, temperature=0.0, top_p=1.0, seed=1  # type: ignore[arg-type]
        ):
            yield chunk["choices"][0]["delta"].get("content"), 1

    # warm-up, one each (first-run page faults, thread pools)
    _measure(hearth_stream(-1))
    _measure(raw_stream(-1))
    sides = [("raw", raw_stream), ("hearth", hearth_stream)]
    if portable is not None:
        _measure(portable_stream(-1))
        sides.append(("portable", portable_stream))
    rows: list[list[Any]] = []
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _fn in sides}
    for i in range(args.rounds):
        order = sides[i % len(sides):] + sides[:i % len(sides)]  # rotate who goes first
        for name, fn in order:
            ttft, tps, n = _measure(fn(i))
            results[name].append((ttft, tps, n))
            rows.append([i + 1, name, round(ttft * 1000, 1), round(tps, 1), n])
    hearth.close()
    raw.close()
    if portable is not None:
        portable.close()

    def med(name: str, k: int) -> float:
        return statistics.median(r[k] for r in results[name])

    print_table(["round", "engine", "first token ms", "tokens/s", "tokens"], rows)
    summary = {
        "benchmark": "chat",
        "model": model.rsplit("/", 1)[-1],
        "threads": threads,
        "rounds": args.rounds,
        "max_tokens": args.max_tokens,
        "hearth_tokens_per_s": round(med("hearth", 1), 2),
        "raw_tokens_per_s": round(med("raw", 1), 2),
        "ratio": round(med("hearth", 1) / med("raw", 1), 4) if med("raw", 1) else None,
        "hearth_ttft_ms": round(med("hearth", 0) * 1000, 2),
        "raw_ttft_ms": round(med("raw", 0) * 1000, 2),
        "ttft_overhead_ms": round((med("hearth", 0) - med("raw", 0)) * 1000, 2),
    }
    if portable is not None:
        summary["portable_tokens_per_s"] = round(med("portable", 1), 2)
        summary["portable_ttft_ms"] = round(med("portable", 0) * 1000, 2)
        summary["portable_vs_native"] = (
            round(med("portable", 1) / med("hearth", 1), 4) if med("hearth", 1) else None)
    print()
    print_table(["figure", "value"], [[k, v] for k, v in summary.items()])
    print_json_line(summary)
    return 0


def run_during_index(args: argparse.Namespace) -> int:
    """``--during index``: see the module docstring.  Returns 0, or 1 when indexing did not
    finish correctly or did not overlap the measured answers."""
    from desktop.bench import print_json_line, print_table
    from desktop.bench.beir import load_beir, write_corpus
    from desktop.core.engine import SamplingParams
    from desktop.core.library.onnx_embedder import embedder_cache_dir
    from desktop.core.models import default_model_path
    from desktop.core.settings import default_threads
    from desktop.core.threads import background_threads

    model = args.model or str(default_model_path())
    threads = args.threads or default_threads()
    params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=args.max_tokens, seed=1)
    corpus = load_beir(args.data, "train").corpus
    corpus = {d: corpus[d] for d in list(corpus)[: args.limit]} if args.limit else corpus
    # the converted embedding model is the user's (converting it again would be timed setup)
    os.environ.setdefault("HEARTH_EMBEDDER_CACHE", str(embedder_cache_dir()))
    with tempfile.TemporaryDirectory(prefix="hearth-bench-chat-during-") as tmp:
        work = Path(tmp)
        folder = work / "corpus"
        write_corpus(corpus, folder)
        old_home = os.environ.get("HEARTH_HOME")
        os.environ["HEARTH_HOME"] = str(work / "home")
        try:
            return _during_index(args, model, threads, params, folder, len(corpus),
                                 print_table, print_json_line, background_threads())
        finally:
            if old_home is None:
                os.environ.pop("HEARTH_HOME", None)
            else:
                os.environ["HEARTH_HOME"] = old_home


def _during_index(args: argparse.Namespace, model: str, threads: int, params: Any, folder: Path,
                  n_docs: int, print_table: Any, print_json_line: Any, index_threads: int) -> int:
    from desktop.core.app import HearthCore
    from desktop.core.engine import EngineOptions
    from desktop.core.jobs import ProgressEvent
    from desktop.core.settings import Settings

    core = HearthCore(Settings())
    try:
        core.engine.load(model, EngineOptions(n_ctx=args.n_ctx, n_threads=threads))
        library = core.library
        library.embedder.embed(["warm up the model before timing"])

        def product_stream(i: int) -> Any:
            conv = core.history.create_conversation()
            core.history.update_conversation(conv.id, use_library=False)  # the chat alone
            tokens = 0
            for ev in core.chat.send(conv.id, PROMPT.format(i=i), params=params):
                if ev.kind == "token":
                    yield ev.text, 1  # the worker sends the first token at once, alone
                elif ev.kind == "finished":
                    tokens = int(ev.data.get("completion_tokens", 0))
            yield "", tokens  # the total, read by measure()

        def measure(i: int) -> tuple[float, float, int]:
            start = time.perf_counter()
            first = last = None
            total = 0
            for piece, n in product_stream(i):
                if not piece:
                    total = n
                    continue
                now = time.perf_counter()
                first = now if first is None else first
                last = now
            assert first is not None and last is not None, "no tokens streamed"
            tps = (total - 1) / (last - first) if total > 1 and last > first else 0.0
            return first - start, tps, total

        measure(-1)  # warm-up
        rows: list[list[Any]] = []
        alone: list[tuple[float, float, int]] = []
        for i in range(args.rounds):
            alone.append(measure(i))
            rows.append([i + 1, "nothing", *_fmt(alone[-1]), ""])
        events: list[ProgressEvent] = []
        under_way = threading.Event()
        t_index = time.perf_counter()

        def index() -> None:
            for ev in library.index_paths([folder]):
                events.append(ev)
                if ev.data.get("chunks_done"):
                    under_way.set()
            under_way.set()

        indexer = threading.Thread(target=index, name="bench-index")
        indexer.start()
        under_way.wait()
        during: list[tuple[float, float, int]] = []
        overlapped = 0
        for i in range(args.rounds):
            during.append(measure(100 + i))
            still = indexer.is_alive()
            overlapped += still
            rows.append([i + 1, "index", *_fmt(during[-1]), "yes" if still else "NO (finished)"])
        indexer.join()
        index_s = time.perf_counter() - t_index
        final = events[-1] if events else None
        files = library.files()
        indexed = [f for f in files if f.state == "indexed"]
        chunks_listed = sum(f.chunks for f in indexed)
        chunks_stored = library.chunk_count("default")
        paused_events = sum(1 for e in events if e.data.get("paused"))
    finally:
        core.close()
    index_ok = (final is not None and final.kind == "done" and len(indexed) == n_docs
                and chunks_listed == chunks_stored)
    med_alone = statistics.median(r[1] for r in alone)
    med_during = statistics.median(r[1] for r in during)
    print_table(["round", "meanwhile", "first token ms", "tokens/s", "tokens", "indexing overlapped"], rows)
    summary = {
        "benchmark": "chat",
        "during": "index",
        "model": model.rsplit("/", 1)[-1],
        "threads": threads,
        "index_threads": index_threads,
        "rounds": args.rounds,
        "max_tokens": args.max_tokens,
        "documents": n_docs,
        "alone_tokens_per_s": round(med_alone, 2),
        "during_tokens_per_s": round(med_during, 2),
        "during_ratio": round(med_during / med_alone, 4) if med_alone else None,
        "alone_ttft_ms": round(statistics.median(r[0] for r in alone) * 1000, 1),
        "during_ttft_ms": round(statistics.median(r[0] for r in during) * 1000, 1),
        "rounds_overlapped": overlapped,
        "index_paused_events": paused_events,
        "index_seconds": round(index_s, 1),
        "index_files_indexed": len(indexed),
        "index_chunks": chunks_stored,
        "index_ok": index_ok,
    }
    print()
    print_table(["figure", "value"], [[k, v] for k, v in summary.items()])
    print_json_line(summary)
    if not index_ok:
        print(f"indexing did not finish correctly: {final.message if final else 'no events'}; "
              f"{len(indexed)} of {n_docs} files indexed, {chunks_listed} chunks listed, "
              f"{chunks_stored} stored")
    if overlapped < args.rounds:
        print(f"indexing finished before {args.rounds - overlapped} answer(s) ended: raise --limit")
    return 0 if index_ok and overlapped == args.rounds else 1


def _fmt(r: tuple[float, float, int]) -> list[Any]:
    return [round(r[0] * 1000, 1), round(r[1], 1), r[2]]
