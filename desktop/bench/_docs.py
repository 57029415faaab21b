"""Documents for the personalization benchmarks: SciFact abstracts from ../shared/data, or
a folder of .txt/.md files."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.core.personalize.dataset import Document, read_folder

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def bench_documents(path: Path | None, n: int) -> list[Document]:
    """``n`` documents: from ``path`` (a BEIR corpus.jsonl or a folder), default SciFact."""
    path = path or SHARED / "ir" / "scifact" / "corpus.jsonl"
    if not path.exists():
        raise SystemExit(f"benchmark documents not found at {path}; pass --docs")
    if path.suffix == ".jsonl":
        docs: list[Document] = []
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                docs.append((f"{path.parent.name}/{row['_id']}", f"{row.get('title', '')}\n\n{row['text']}"))
                if len(docs) >= n:
                    break
        return docs
    return list(read_folder(path))[:n]
