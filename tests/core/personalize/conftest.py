from __future__ import annotations

import json
from pathlib import Path

import pytest


def scifact_documents(shared_data: Path, n: int, skip: int = 0) -> list[tuple[str, str]]:
    """SciFact abstracts as (path, text) documents (the shape of Library.documents())."""
    docs = []
    with open(shared_data / "ir" / "scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < skip:
                continue
            if len(docs) >= n:
                break
            row = json.loads(line)
            docs.append((f"scifact/{row['_id']}.txt", f"{row['title']}\n\n{row['text']}"))
    return docs


@pytest.fixture
def scifact(shared_data: Path):
    """scifact(n, skip=0) -> n SciFact abstracts as documents."""
    return lambda n, skip=0: scifact_documents(shared_data, n, skip)
