"""``hearth-bench index --data DIR --split NAME``: indexing throughput of the whole
pipeline against the raw embedder, on a BEIR-layout corpus.

The corpus is written as one Markdown file per document (setup, not timed), then indexed
into a fresh library: scan, hash, parse and chunk in the parser process, embed, store in
chromadb, commit the manifest.  Then, in the same process and with the same model,
threads and batch size, the raw embedder (sentence-transformers ``encode``) embeds the
very same chunk texts.  Reported: chunks/s and MB/min of both, their ratio (pipeline /
raw; goal >= 0.90), and peak memory (resident set of this process plus its children,
sampled every 50 ms with psutil).  ``--split`` only selects which queries' documents
``--limit`` keeps first; the corpus is the collection's.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from desktop.bench.beir import load_beir, write_corpus


def register(sub: Any) -> None:
    p = sub.add_parser("index", help="indexing throughput: whole pipeline vs. the raw embedder")
    p.add_argument("--data", type=Path, required=True, help="BEIR-layout folder")
    p.add_argument("--split", default="test", help="qrels split name (qrels/SPLIT.tsv)")
    p.add_argument("--limit", type=int, default=0, help="index only the first N documents (0: all)")
    p.add_argument("--threads", type=int, default=0, help="embedding threads (0: setting: all cores but one)")
    p.set_defaults(func=run)


class PeakMemory:
    """Peak resident memory of this process plus its children, sampled in a thread."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:
                pass
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def cpu_seconds(children: bool = True) -> float:
    """User + system CPU seconds of this process (and its live children)."""
    import psutil

    proc = psutil.Process()
    t = proc.cpu_times()
    total = t.user + t.system
    if children:
        for child in proc.children(recursive=True):
            try:
                ct = child.cpu_times()
                total += ct.user + ct.system
            except Exception:
                pass
    return float(total)


def run(args: argparse.Namespace) -> int:
    from desktop.bench import print_json_line, print_table
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    data = load_beir(args.data, args.split)
    corpus = data.corpus
    if args.limit:
        judged = [d for r in data.qrels.values() for d in r if d in corpus]
        ids = list(dict.fromkeys(judged + list(corpus)))[: args.limit]
        corpus = {d: corpus[d] for d in ids}
    with tempfile.TemporaryDirectory(prefix="hearth-bench-index-") as tmp:
        work = Path(tmp)
        folder = work / "corpus"
        write_corpus(corpus, folder)
        settings = LibrarySettings(memory_enabled=False, embed_threads=args.threads)
        library = Library(work / "library", settings)
        try:
            embedder: Any = library.embedder
            embedder.embed(["warm up the model before timing"])
            final = None
            library.parser.parse(folder / next(iter(sorted(p.name for p in folder.iterdir()))))
            with PeakMemory() as mem:
                cpu0 = cpu_seconds()
                t0 = time.perf_counter()
                for ev in library.index_paths([folder], "bench"):
                    if ev.kind in ("done", "cancelled"):
                        final = ev
                pipeline_s = time.perf_counter() - t0
                pipeline_cpu = cpu_seconds() - cpu0
            assert final is not None and final.kind == "done", final
            texts = [t for _, t in library.manifest.chunks("bench")]
            mb = final.data["bytes"] / 1e6
            model = embedder.model
            cpu1 = cpu_seconds(children=False)
            t1 = time.perf_counter()
            model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)
            raw_s = time.perf_counter() - t1
            raw_cpu = cpu_seconds(children=False) - cpu1
            threads = embedder.threads
        finally:
            library.close()
    n = len(texts)
    pipe_cps, raw_cps = n / pipeline_s, n / raw_s
    ratio = pipe_cps / raw_cps
    print(f"{args.data}: {len(corpus)} documents, {mb:.2f} MB, {n} chunks, {threads} embedding thread(s)")
    cpu_ratio = (n / pipeline_cpu) / (n / raw_cpu)
    print_table(
        ["stage", "seconds", "chunks/s", "MB/min", "CPU s", "chunks/CPU-s"],
        [["whole pipeline", pipeline_s, pipe_cps, mb / pipeline_s * 60, pipeline_cpu, n / pipeline_cpu],
         ["raw embedder (encode)", raw_s, raw_cps, mb / raw_s * 60, raw_cpu, n / raw_cpu]],
    )
    print(f"ratio pipeline/raw: {ratio:.3f} (wall clock), {cpu_ratio:.3f} (CPU time, which other "
          f"programs on a shared machine do not distort)   peak memory: {mem.peak / 2**20:.0f} MiB "
          f"(time inside embed+store steps: {final.data['embed_seconds']:.1f} s)")
    print_json_line({
        "bench": "index", "data": str(args.data), "documents": len(corpus), "chunks": n,
        "megabytes": round(mb, 3), "threads": threads,
        "pipeline_chunks_per_s": round(pipe_cps, 2), "pipeline_mb_per_min": round(mb / pipeline_s * 60, 3),
        "raw_chunks_per_s": round(raw_cps, 2), "raw_mb_per_min": round(mb / raw_s * 60, 3),
        "ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3),
        "pipeline_cpu_s": round(pipeline_cpu, 2), "raw_cpu_s": round(raw_cpu, 2), "peak_memory_mib": round(mem.peak / 2**20, 1),
        "skipped": len(final.data["skipped"]),
    })
    return 0
