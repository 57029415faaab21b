"""BEIR-layout collections for the library benchmarks, and a Cranfield converter.

BEIR layout (Thakur et al. 2021): ``corpus.jsonl`` ({"_id", "title", "text"}),
``queries.jsonl`` ({"_id", "text"}), ``qrels/SPLIT.tsv`` (header, then
``query-id<TAB>corpus-id<TAB>score``).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote


@dataclass
class BeirData:
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path, split: str) -> BeirData:
    """Read a BEIR folder; only queries judged in ``split`` are kept.

    Raises:
        SystemExit: a file is missing (with the path).
    """
    folder = Path(folder)
    for need in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / need).is_file():
            raise SystemExit(f"{folder / need} is missing: --data must be a BEIR-layout folder "
                             "(corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv).")
    corpus: dict[str, dict[str, str]] = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                corpus[str(d["_id"])] = {"title": d.get("title") or "", "text": d.get("text") or ""}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or (n == 0 and not parts[2].lstrip("-").isdigit()):
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries: dict[str, str] = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                if str(d["_id"]) in qrels:
                    queries[str(d["_id"])] = d["text"]
    qrels = {q: r for q, r in qrels.items() if q in queries}
    return BeirData(corpus, queries, qrels)


def doc_file_name(doc_id: str) -> str:
    return quote(doc_id, safe="") + ".md"


def doc_id_of(path: str) -> str:
    return unquote(Path(path).name[:-3])


def write_corpus(corpus: dict[str, dict[str, str]], folder: Path) -> int:
    """One Markdown file per document ("# title" then the text), removing other documents'
    files from an earlier run; returns the corpus's bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {doc_file_name(d) for d in corpus}
    for stale in folder.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    total = 0
    for doc_id, doc in corpus.items():
        body = (f"# {doc['title']}\n\n" if doc["title"].strip() else "") + doc["text"]
        data = body.encode("utf-8")
        path = folder / doc_file_name(doc_id)
        if not path.exists() or path.stat().st_size != len(data):
            path.write_bytes(data)
        total += len(data)
    return total


# -- Cranfield ----------------------------------------------------------------------------


def _smart_records(text: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    field = None
    for line in text.splitlines():
        m = re.match(r"^\.([ITABW])\s*(.*)$", line)
        if m:
            if m.group(1) == "I":
                records.append({"I": m.group(2).strip()})
                field = None
            else:
                field = m.group(1)
                records[-1].setdefault(field, "")
            continue
        if field and records:
            records[-1][field] += line.strip() + " "
    return [{k: " ".join(v.split()) for k, v in r.items()} for r in records]


def convert_cranfield(src: Path, out: Path) -> dict[str, int]:
    """Write Cranfield 1400 as a BEIR folder with split "test".

    Traps handled (see the data's README): ``cranqrel`` numbers queries 1..225 by their
    position in ``cran.qry`` (whose .I numbers skip values), so query ids here are those
    positions; code -1 means not relevant; grades 1..4 are all taken as relevant (binary,
    since the direction of the grades is disputed).
    """
    docs = _smart_records((src / "cran.all.1400").read_text(encoding="utf-8", errors="replace"))
    queries = _smart_records((src / "cran.qry").read_text(encoding="utf-8", errors="replace"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"_id": str(int(d["I"])), "title": d.get("T", ""), "text": d.get("W", "")}) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for position, q in enumerate(queries, 1):
            fh.write(json.dumps({"_id": str(position), "text": q.get("W", ""), "cran_qry_id": q["I"]}) + "\n")
    judged = 0
    with open(out / "qrels" / "test.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for line in (src / "cranqrel").read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            qid, did, code = parts[0], parts[1], int(parts[2])
            if code >= 1:
                fh.write(f"{int(qid)}\t{int(did)}\t1\n")
                judged += 1
    return {"documents": len(docs), "queries": len(queries), "relevant_judgments": judged}


def cmd_convert_cranfield(args: argparse.Namespace) -> int:
    from desktop.bench import print_json_line

    figures = convert_cranfield(args.src, args.out)
    print(f"Wrote {args.out} (split 'test'): {figures}")
    print_json_line(figures)
    return 0


def register_convert(sub: Any) -> None:
    p = sub.add_parser("convert-cranfield", help="write Cranfield 1400 as a BEIR folder (split 'test')")
    default_src = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ir" / "cranfield"
    p.add_argument("--src", type=Path, default=default_src, help="folder with cran.all.1400, cran.qry, cranqrel")
    p.add_argument("--out", type=Path, required=True, help="BEIR folder to write")
    p.set_defaults(func=cmd_convert_cranfield)
