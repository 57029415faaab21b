"""``hearth-bench serve``: the OpenAI-compatible server against Hearth's own chat path.

Speed: the same engine (IsolatedBackend, the window's engine) answers the same prompt
greedily either directly (``engine.generate``, what the chat service drives) or through
``hearth serve``'s HTTP server on loopback, streamed with the official ``openai`` client;
the two alternate for ``--rounds`` rounds, each answer with a fresh numbered prompt
(one engine serves both, so a repeated prompt would hit its prompt cache).
Figures per answer: time to first text piece (ms, from the call) and tokens/s after the
first piece (tokens - 1 over the time from the first to the last piece; tokens from the
engine's own count on the direct path and the server's usage on the HTTP path, so the
same formula serves both).  The ``openai`` client is made once and kept across requests, as an editor keeps
one, so its connection set-up is not counted in every answer (httpx reuses a pooled
connection and opens a new one after 5 s idle).  Medians over rounds; ``ratio`` = server tokens/s over direct
tokens/s, ``ttft_overhead_ms`` = server minus direct first-token time.  Goal (issue 16):
ratio >= 0.95, overhead <= 30 ms.

Load (``--load-requests N``, default 200, 0 skips): N short chat requests from
``--clients`` concurrent ``openai`` clients, while the chat service (the window's path)
answers in a conversation on the same engine; latency percentiles (nearest rank) and
errors.
"""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
from typing import Any

PROMPT = "Round {i}. Write a short story about a lighthouse keeper and a storm."
SYSTEM = "You are Hearth, a helpful assistant. Answer clearly and concisely."


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="the OpenAI-compatible server vs Hearth's chat path, and a load test")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="0: Hearth's automatic choice")
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--load-requests", type=int, default=200, help="requests in the load test (0 skips)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients in the load test")
    p.add_argument("--load-max-tokens", type=int, default=8)
    p.set_defaults(func=run)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def run(args: argparse.Namespace) -> int:
    import openai

    from desktop.bench import print_json_line, print_table
    from desktop.core.app import HearthCore
    from desktop.core.engine import SamplingParams
    from desktop.core.server import HearthApi, ServerThread

    core = HearthCore(with_library=False)
    if args.threads:
        core.settings.chat.n_threads = args.threads
    core.settings.chat.n_ctx = args.n_ctx
    core.load_model()
    threads = core.engine_options().n_threads
    server = ServerThread(HearthApi(core), "127.0.0.1", 0).start()
    client = openai.OpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=600)
    params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=args.max_tokens, seed=1)

    def messages(i: int) -> list[Any]:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT.format(i=i)}]

    def direct(i: int) -> tuple[float, float, int]:
        start = time.perf_counter()
        first = last = 0.0
        n = 0
        for ev in core.engine.generate(messages(i), params):
            if ev.kind == "token" and ev.text:
                last = time.perf_counter()
                first = first or last
                n += int(ev.data.get("tokens", 1))
        return first - start, (n - 1) / (last - first) if last > first else 0.0, n

    def served(i: int) -> tuple[float, float, int]:
        start = time.perf_counter()
        first = last = 0.0
        n = 0
        stream = client.chat.completions.create(
            model="hearth", messages=messages(i), stream=True, max_tokens=args.max_tokens,
            temperature=0.0, top_p=1.0, seed=1, stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.usage is not None:
                n = chunk.usage.completion_tokens
            if chunk.choices and chunk.choices[0].delta.content:
                last = time.perf_counter()
                first = first or last
        return first - start, (n - 1) / (last - first) if last > first else 0.0, n

    direct(-1)
    served(-2)  # warm-up, one each
    rows, results = [], {"direct": [], "server": []}  # type: dict[str, list[tuple[float, float, int]]]
    for i in range(args.rounds):
        order = [("direct", direct), ("server", served)]
        if i % 2:
            order.reverse()
        for name, fn in order:
            # a prompt of its own for each answer: both paths share one engine, whose
            # prompt cache would otherwise favour whichever answers second
            ttft, tps, n = fn(2 * i + (name == "server"))
            results[name].append((ttft, tps, n))
            rows.append([i + 1, name, round(ttft * 1000, 1), round(tps, 1), n])
    print_table(["round", "path", "first token ms", "tokens/s", "tokens"], rows)

    def med(name: str, k: int) -> float:
        return float(statistics.median(r[k] for r in results[name]))

    summary: dict[str, Any] = {
        "benchmark": "serve",
        "model": core.engine.model.name if core.engine.model else "",
        "threads": threads,
        "rounds": args.rounds,
        "max_tokens": args.max_tokens,
        "direct_tokens_per_s": round(med("direct", 1), 2),
        "server_tokens_per_s": round(med("server", 1), 2),
        "ratio": round(med("server", 1) / med("direct", 1), 4) if med("direct", 1) else None,
        "direct_ttft_ms": round(med("direct", 0) * 1000, 2),
        "server_ttft_ms": round(med("server", 0) * 1000, 2),
        "ttft_overhead_ms": round((med("server", 0) - med("direct", 0)) * 1000, 2),
    }
    if args.load_requests > 0:
        summary.update(_load(core, client, args))
    server.stop()
    core.close()
    print()
    print_table(["figure", "value"], [[k, v] for k, v in summary.items()])
    print_json_line(summary)
    return 0


def _load(core: Any, client: Any, args: argparse.Namespace) -> dict[str, Any]:
    """N requests from C concurrent clients, with the chat service answering meanwhile."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(args.load_requests))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                r = client.chat.completions.create(
                    model="hearth", max_tokens=args.load_max_tokens, temperature=0.0,
                    messages=[{"role": "user", "content": f"Request {i}: name a colour."}],
                )
                if not r.choices or r.choices[0].message.content is None:
                    raise RuntimeError("empty answer")
                with lock:
                    latencies.append(time.perf_counter() - start)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    chat_result: dict[str, Any] = {}

    def window_chat() -> None:
        conv = core.history.create_conversation()
        start = time.perf_counter()
        params = core.chat.params(max_tokens=16, temperature=0.0)
        final = None
        for ev in core.chat.send(conv.id, "What is the capital of France?", None, params):
            if ev.kind == "finished":
                final = ev.message
        chat_result["seconds"] = time.perf_counter() - start
        chat_result["status"] = final.status if final else "none"
        chat_result["text"] = final.content if final else ""

    start = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(args.clients)]
    for t in pool:
        t.start()
    time.sleep(0.5)  # the load is running: now the window's chat asks
    chat = threading.Thread(target=window_chat)
    chat.start()
    for t in pool:
        t.join()
    chat.join()
    wall = time.perf_counter() - start
    for line in errors[:5]:
        print(f"error: {line}")
    ms = [x * 1000 for x in latencies]
    return {
        "load_requests": args.load_requests,
        "load_clients": args.clients,
        "load_errors": len(errors),
        "load_p50_ms": round(percentile(ms, 50), 1) if ms else None,
        "load_p90_ms": round(percentile(ms, 90), 1) if ms else None,
        "load_p99_ms": round(percentile(ms, 99), 1) if ms else None,
        "load_max_ms": round(max(ms), 1) if ms else None,
        "load_requests_per_s": round(len(ms) / wall, 2) if wall else None,
        "window_chat_status": chat_result.get("status"),
        "window_chat_s": round(chat_result.get("seconds", 0.0), 2),
    }
