"""``hearth-bench retrieval --data DIR --split NAME``: quality and latency of the chat's
retrieval on a BEIR-layout collection.

The corpus is written as one Markdown file per document and indexed by the library's own
pipeline (same parser, chunking, embedder, store); each query goes through
``Library.search`` -- the very call the chat makes -- with ``--chunks`` chunks (default
30), and the ranked chunks are turned into a document ranking by each document's first
(best) chunk, since BEIR judges documents.  Measures (pytrec_eval, the Python binding of
NIST's trec_eval): nDCG@10 (Järvelin and Kekäläinen 2002, trec_eval's ``ndcg_cut``
with gains = judgment grades) and recall@10; plus query latency p50/p95 of the
whole ``search`` call at the corpus's size.  With ``--components`` the BM25-only and
dense-only rankings that are fused are scored as well.

Also registers ``convert-cranfield`` (see :mod:`desktop.bench.beir`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from desktop.bench.beir import doc_id_of, load_beir, register_convert, write_corpus


def register(sub: Any) -> None:
    p = sub.add_parser("retrieval", help="nDCG@10, recall@10 and latency of the chat's retrieval (BEIR folder)")
    p.add_argument("--data", type=Path, required=True, help="BEIR-layout folder")
    p.add_argument("--split", default="test", help="qrels split name (qrels/SPLIT.tsv)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N queries (0: all)")
    p.add_argument("--corpus-limit", type=int, default=0,
                   help="index only the documents judged for the chosen queries plus others up to N (0: all)")
    p.add_argument("--work", type=Path, default=None,
                   help="keep the index here and reuse it on the next run (default: a temporary folder)")
    p.add_argument("--chunks", type=int, default=30, help="chunks retrieved per query (then grouped by document)")
    p.add_argument("--components", action="store_true", help="also score BM25 alone and dense alone")
    p.add_argument("--bm25-weight", type=float, default=None, help="override the weight of BM25 against dense (setting bm25_weight)")
    p.add_argument("--threads", type=int, default=0, help="embedding threads (0: setting)")
    p.add_argument("--backend", choices=["onnx", "torch"], default="onnx",
                   help="the library's embedder (setting embed_backend)")
    p.set_defaults(func=run)
    register_convert(sub)


def evaluate(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean nDCG@10 and recall@10 over the judged queries (pytrec_eval)."""
    import pytrec_eval

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10"})
    per_query = evaluator.evaluate({q: run.get(q, {}) for q in qrels})
    return {
        "ndcg@10": statistics.fmean(v["ndcg_cut_10"] for v in per_query.values()),
        "recall@10": statistics.fmean(v["recall_10"] for v in per_query.values()),
    }


def to_doc_run(ranked_paths: list[str]) -> dict[str, float]:
    """Document ranking from ranked chunk paths: each document at its best chunk's rank."""
    out: dict[str, float] = {}
    for path in ranked_paths:
        doc = doc_id_of(path)
        if doc not in out:
            out[doc] = float(len(ranked_paths) - len(out))
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def build_index(data: Any, work: Path, threads: int, bm25_weight: float | None = None,
                backend: str = "onnx") -> Any:
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    settings = LibrarySettings(memory_enabled=False, embed_threads=threads, embed_backend=backend)
    if bm25_weight is not None:
        settings.bm25_weight = bm25_weight
    library = Library(work / "library", settings)
    folder = work / "corpus"
    write_corpus(data.corpus, folder)
    t0 = time.monotonic()
    final = None
    for ev in library.index_paths([folder], "bench"):
        if ev.kind in ("done", "cancelled"):
            final = ev
    return library, time.monotonic() - t0, final


def select(data: Any, limit: int, corpus_limit: int) -> Any:
    if limit:
        keep = list(data.queries)[:limit]
        data.queries = {q: data.queries[q] for q in keep}
        data.qrels = {q: data.qrels[q] for q in keep}
    if corpus_limit:
        needed = {d for r in data.qrels.values() for d in r}
        ids = [d for d in data.corpus if d in needed]
        ids += [d for d in data.corpus if d not in needed][: max(0, corpus_limit - len(ids))]
        data.corpus = {d: data.corpus[d] for d in ids}
    return data


def run(args: argparse.Namespace) -> int:
    from desktop.bench import print_json_line, print_table
    from desktop.core.library.retrieval import CANDIDATE_DEPTH

    data = select(load_beir(args.data, args.split), args.limit, args.corpus_limit)
    tmp = None
    work = args.work
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="hearth-bench-")
        work = Path(tmp.name)
    library, index_s, final = build_index(data, work, args.threads, args.bm25_weight, args.backend)
    try:
        library.search("warm up", top_k=1)
        runs: dict[str, dict[str, dict[str, float]]] = {"hybrid (chat)": {}}
        if args.components:
            runs["bm25 only"] = {}
            runs["dense only"] = {}
        latencies: list[float] = []
        for qid, text in data.queries.items():
            t = time.perf_counter()
            sources = library.search(text, ["bench"], top_k=args.chunks)
            latencies.append((time.perf_counter() - t) * 1000)
            runs["hybrid (chat)"][qid] = to_doc_run([s.path for s in sources])
            if args.components:
                bm = library.retriever.bm25_ranking("bench", text, CANDIDATE_DEPTH)
                rows = library.manifest.chunk_rows("bench", bm)
                runs["bm25 only"][qid] = to_doc_run([rows[i]["path"] for i in bm if i in rows])
                qvec = library.embedder.embed([text])[0]
                dense = library.retriever.dense_ranking("bench", qvec, CANDIDATE_DEPTH)
                rows = library.manifest.chunk_rows("bench", dense)
                runs["dense only"][qid] = to_doc_run([rows[i]["path"] for i in dense if i in rows])
        chunks = library.chunk_count("bench")
    finally:
        library.close()
        if tmp is not None:
            tmp.cleanup()
    scores = {name: evaluate(data.qrels, r) for name, r in runs.items()}
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"{args.data} split {args.split}: {len(data.queries)} queries, {len(data.corpus)} documents, "
          f"{chunks} chunks (indexed in {index_s:.0f} s)")
    print_table(["ranking", "nDCG@10", "recall@10"],
                [[name, s["ndcg@10"], s["recall@10"]] for name, s in scores.items()])
    print(f"query latency (Library.search, {args.chunks} chunks): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    chat = scores["hybrid (chat)"]
    figures: dict[str, Any] = {
        "bench": "retrieval", "data": str(args.data), "split": args.split, "queries": len(data.queries),
        "documents": len(data.corpus), "chunks": chunks, "ndcg@10": round(chat["ndcg@10"], 4),
        "recall@10": round(chat["recall@10"], 4), "latency_p50_ms": round(p50, 2),
        "latency_p95_ms": round(p95, 2), "index_seconds": round(index_s, 1), "embed_backend": args.backend,
    }
    for name, s in scores.items():
        if name != "hybrid (chat)":
            key = name.split()[0]
            figures[f"{key}_ndcg@10"] = round(s["ndcg@10"], 4)
            figures[f"{key}_recall@10"] = round(s["recall@10"], 4)
    print_json_line(figures)
    return 0
