"""``hearth-bench load``: a big library (1,000 files, 50,000 chunks by default) indexes,
and the chat's retrieval stays responsive while it does and after.

Setup (not timed): ``--files`` Markdown files in ten folders, each made of SciFact
abstracts (``../shared/data/ir/scifact``, drawn at random with repetition, one ``##``
section each) until the chunker cuts it into about ``--chunks-per-file`` chunks.

Measured, in one process as the app runs it (indexing in a thread, the chat asking):
    - indexing: files, chunks, chunks/s over each tenth of the run (does it slow down as
      the store grows?), and the whole run's time;
    - retrieval during indexing: every ``--ask-every`` seconds a thread asks what the chat
      asks (:meth:`Library.sources_for`, SciFact claims as questions); latency p50, p95
      and max, and how many asks returned sources;
    - retrieval at full size: ``--queries`` asks, latency p50/p95; the BM25 index build
      time over all chunks;
    - with ``--rewrite N``: N files rewritten (new abstracts) and indexed again while the
      thread keeps asking, so the asks meet a library already at full size;
    - a second indexing run over the unchanged library (the start-up catch-up cost);
    - peak memory of the process and its parser child (psutil, every 50 ms).

``--reuse DIR`` keeps the documents and the library in DIR (made on the first run), so
a later run resumes the indexing there and measures the full-size figures again.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from desktop.bench._docs import SHARED
from desktop.bench.index import PeakMemory

SCIFACT = SHARED / "ir" / "scifact"


def register(sub: Any) -> None:
    p = sub.add_parser("load", help="a 1,000-file, 50,000-chunk library: indexing and retrieval under load")
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--chunks-per-file", type=int, default=50)
    p.add_argument("--ask-every", type=float, default=3.0, help="seconds between asks while indexing")
    p.add_argument("--queries", type=int, default=50, help="asks at full size")
    p.add_argument("--threads", type=int, default=0, help="embedding threads (0: setting: all cores but one)")
    p.add_argument("--data", type=Path, default=SCIFACT, help="BEIR folder whose corpus and queries are used")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rewrite", type=int, default=0, help="files to rewrite and index again at full size")
    p.add_argument("--reuse", type=Path, help="folder for the documents and library, kept between runs")
    p.set_defaults(func=run)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_library(folder: Path, files: int, chunks_per_file: int, data: Path, seed: int = 0) -> None:
    """Write ``files`` Markdown files of about ``chunks_per_file`` chunks each."""
    from desktop.core.library.chunking import Chunker, default_embedding_model_dir
    from desktop.core.library.formats import Extracted

    model_dir = default_embedding_model_dir()
    if model_dir is None:
        raise SystemExit("the embedding model (all-MiniLM-L6-v2) is not installed")
    chunker = Chunker(model_dir)
    rng = random.Random(seed)
    corpus = [f"## {r.get('title') or 'Abstract'}\n\n{r['text']}\n" for r in _read_jsonl(data / "corpus.jsonl")]

    def make(n_abstracts: int) -> str:
        return "\n".join(rng.choice(corpus) for _ in range(n_abstracts))

    # how many abstracts make the wanted number of chunks (measured with the real chunker)
    sample = make(40)
    per_abstract = len(chunker.chunk(Extracted(text=sample, kind="markdown"))) / 40
    n_abstracts = max(1, round(chunks_per_file / per_abstract))
    for i in range(files):
        sub = folder / f"folder-{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"document-{i:04d}.md").write_text(f"# Document {i}\n\n" + make(n_abstracts), encoding="utf-8")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Asker:
    """Asks the library what the chat asks, every ``every`` seconds, in a thread."""

    def __init__(self, library: Any, questions: list[str], every: float, seed: int = 0) -> None:
        self.library, self.questions, self.every = library, questions, every
        self.latencies: list[float] = []
        self.answered = 0
        self.errors: list[str] = []
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="asker")

    def ask(self) -> float:
        question = self._rng.choice(self.questions)
        t0 = time.perf_counter()
        sources = self.library.sources_for(question, None, budget_tokens=1500)
        elapsed = time.perf_counter() - t0
        self.latencies.append(elapsed)
        self.answered += bool(sources)
        return elapsed

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.ask()
            except Exception as exc:  # reported, the benchmark goes on
                self.errors.append(repr(exc))

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark in ``work``; returns its figures (see the module docstring)."""
    from desktop.core.library import Library
    from desktop.core.library.retrieval import BM25Index
    from desktop.core.settings import LibrarySettings

    folder = work / "documents"
    if not folder.exists():
        write_library(folder, args.files, args.chunks_per_file, args.data, args.seed)
    questions = [q["text"] for q in _read_jsonl(args.data / "queries.jsonl")]
    settings = LibrarySettings(memory_enabled=False, embed_threads=args.threads)
    library = Library(work / "library", settings)
    try:
        library.embedder.embed(["warm up the model before timing"])
        segments: list[float] = []  # chunks/s over each tenth of the files
        final = None
        with PeakMemory() as mem, Asker(library, questions, args.ask_every, args.seed) as during:
            t0 = seg_t = time.perf_counter()
            seg_chunks, next_mark = 0, args.files / 10
            for ev in library.index_paths([folder]):
                if ev.kind == "progress" and ev.data.get("files_done", 0) >= next_mark:
                    now = time.perf_counter()
                    chunks = int(ev.data.get("chunks_done", 0))
                    segments.append((chunks - seg_chunks) / max(1e-9, now - seg_t))
                    seg_t, seg_chunks = now, chunks
                    next_mark += args.files / 10
                    print(f"  {ev.data['files_done']} files, {chunks} chunks, {now - t0:.0f} s, "
                          f"{len(during.latencies)} asks so far", flush=True)
                if ev.kind in ("done", "cancelled"):
                    final = ev
            index_s = time.perf_counter() - t0
        if final is None or final.kind != "done":
            raise SystemExit(f"indexing did not finish: {final}")
        chunks = library.chunk_count("default")
        files_indexed = sum(1 for f in library.files("default") if f.state in ("done", "indexed"))
        after = Asker(library, questions, 0.0, args.seed + 1)
        after_lat = [after.ask() for _ in range(args.queries)]
        t1 = time.perf_counter()
        BM25Index(library.manifest.chunks("default"))
        bm25_s = time.perf_counter() - t1
        rewrite: dict[str, Any] = {}
        if args.rewrite:
            rng = random.Random(args.seed + 2)
            corpus = [r["text"] for r in _read_jsonl(args.data / "corpus.jsonl")]
            for path in rng.sample(sorted(folder.rglob("*.md")), args.rewrite):
                path.write_text(path.read_text(encoding="utf-8") + "\n\n## Addendum\n\n"
                                + rng.choice(corpus), encoding="utf-8")
            with Asker(library, questions, args.ask_every, args.seed + 3) as busy:
                t3 = time.perf_counter()
                final2 = [ev for ev in library.index_paths([folder]) if ev.kind in ("done", "cancelled", "error")]
                rewrite_s = time.perf_counter() - t3
            rewrite = {
                "rewrite_files": args.rewrite, "rewrite_chunks": final2[-1].data.get("chunks"),
                "rewrite_seconds": round(rewrite_s, 1), "asks_during_rewrite": len(busy.latencies),
                "rewrite_p50_ms": round(1000 * _percentile(busy.latencies, 0.5), 1),
                "rewrite_p95_ms": round(1000 * _percentile(busy.latencies, 0.95), 1),
                "rewrite_max_ms": round(1000 * max(busy.latencies, default=float("nan")), 1),
                "rewrite_ask_errors": busy.errors[:3],
            }
        t2 = time.perf_counter()
        again = [ev for ev in library.index_paths([folder]) if ev.kind == "done"]
        rescan_s = time.perf_counter() - t2
    finally:
        library.close()
    return {
        "files": args.files, "files_indexed": files_indexed, "chunks": chunks,
        "index_seconds": round(index_s, 1), "chunks_per_s": round(chunks / index_s, 2),
        "chunks_per_s_by_tenth": [round(x, 1) for x in segments],
        "asks_during": len(during.latencies), "asks_during_answered": during.answered,
        "ask_errors": during.errors[:3],
        "during_p50_ms": round(1000 * _percentile(during.latencies, 0.5), 1),
        "during_p95_ms": round(1000 * _percentile(during.latencies, 0.95), 1),
        "during_max_ms": round(1000 * max(during.latencies, default=float("nan")), 1),
        "after_p50_ms": round(1000 * statistics.median(after_lat), 1),
        "after_p95_ms": round(1000 * _percentile(after_lat, 0.95), 1),
        "asks_after_answered": after.answered,
        "bm25_build_s": round(bm25_s, 2),
        "unchanged_reindex_s": round(rescan_s, 1),
        "unchanged_reindexed_files": int(again[0].data.get("indexed", -1)) if again else -1,
        "peak_memory_mib": round(mem.peak / 2**20, 1),
        **rewrite,
    }


def run(args: argparse.Namespace) -> int:
    from desktop.bench import print_json_line, print_table

    if args.reuse:
        args.reuse.mkdir(parents=True, exist_ok=True)
        r = measure(args.reuse, args)
    else:
        with tempfile.TemporaryDirectory(prefix="hearth-bench-load-") as tmp:
            r = measure(Path(tmp), args)
    print_table(
        ["figure", "value"],
        [["files indexed", f"{r['files_indexed']} of {r['files']}"],
         ["chunks", r["chunks"]],
         ["indexing time (s)", r["index_seconds"]],
         ["chunks/s (whole run)", r["chunks_per_s"]],
         ["chunks/s by tenth of the files", " ".join(str(x) for x in r["chunks_per_s_by_tenth"])],
         ["asks while indexing (answered)", f"{r['asks_during']} ({r['asks_during_answered']})"],
         ["ask latency while indexing p50 / p95 / max (ms)",
          f"{r['during_p50_ms']} / {r['during_p95_ms']} / {r['during_max_ms']}"],
         ["ask latency at full size p50 / p95 (ms)", f"{r['after_p50_ms']} / {r['after_p95_ms']}"],
         ["BM25 index build over all chunks (s)", r["bm25_build_s"]],
         ["second run, nothing changed (s; files re-indexed)",
          f"{r['unchanged_reindex_s']} ({r['unchanged_reindexed_files']})"],
         ["peak memory (MiB)", r["peak_memory_mib"]]]
        + ([[f"{r['rewrite_files']} files rewritten at full size: chunks, seconds",
             f"{r['rewrite_chunks']}, {r['rewrite_seconds']}"],
            ["  asks meanwhile, latency p50 / p95 / max (ms)",
             f"{r['asks_during_rewrite']}: {r['rewrite_p50_ms']} / {r['rewrite_p95_ms']} / {r['rewrite_max_ms']}"]]
           if "rewrite_files" in r else []),
    )
    print_json_line({"bench": "load", **r})
    return 0 if r["files_indexed"] == r["files"] and not r["ask_errors"] and not r.get("rewrite_ask_errors") else 1
