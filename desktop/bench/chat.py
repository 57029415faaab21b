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
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="tokens/s and time to first token vs raw llama-cpp-python")
    p.add_argument("--model", help="GGUF file (default: the built-in model)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="0: Hearth's automatic choice")
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--portable-engine", metavar="DIR",
                   help="folder holding another (portable) llama_cpp build to compare")
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
    raw = Llama(model_path=model, n_ctx=args.n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
    portable = None
    if args.portable_engine:
        import os
        from pathlib import Path

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
