"""The parser process: ``python -m desktop.core.library.parse_worker MODEL_DIR``.

Reads one JSON request per line on stdin (``{"path": "..."}``), extracts and chunks that
file, and writes one JSON line on stdout:

- ``{"ok": true, "text": ..., "title": ..., "kind": ..., "extractor": ..., "warnings": [...],
  "chunks": [[start, end, page, section, ocr], ...], "attachments": [...]}``, where each
  attachment of an e-mail (a document of its own) is ``{"name", "message", "size", "sha256",
  "text", "title", "kind", "extractor", "warnings", "chunks"}``
- ``{"ok": false, "reason": "password-protected PDF ..."}``

A request may say ``"ocr": false`` (the user turned OCR off) and ``"chunk_tokens"`` and
``"overlap"`` (the passage size and overlap in word pieces, library settings; default
:data:`.chunking.MAX_CHUNK_TOKENS` and :data:`.chunking.OVERLAP_TOKENS`).  While OCR reads a long
scan, the worker prints ``{"alive": true}`` after each page; the app then renews the
file's time limit (each page has its own limit inside the worker, see :mod:`.ocr`).

It starts by printing ``{"ready": true}``.  The app kills and restarts it when a file
takes longer than the per-file time limit, and treats its death as that file's failure,
so a hostile or broken document can never hang or crash the app.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def _limit_memory() -> None:
    """Cap the address space (POSIX) so a decompression bomb fails with MemoryError."""
    try:
        import resource

        limit = int(os.environ.get("HEARTH_PARSER_MEMORY_MB", "6144")) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from desktop.core.privacy import harden

    harden()  # this process reads untrusted files: it gets the network guard too
    from desktop.core.library import ocr
    from desktop.core.library.chunking import MAX_CHUNK_TOKENS, OVERLAP_TOKENS, Chunker
    from desktop.core.library.extraction import extract
    from desktop.core.library.formats import Unreadable

    for stream in (sys.stdout, sys.stdin):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8")
    model_dir = Path(argv[0])
    chunkers = {(MAX_CHUNK_TOKENS, OVERLAP_TOKENS): Chunker(model_dir)}  # by (size, overlap)
    _limit_memory()
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()

    def alive() -> None:
        out.write('{"alive": true}\n')
        out.flush()

    ocr.heartbeat = alive
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            path = Path(request["path"])
            key = (int(request.get("chunk_tokens", MAX_CHUNK_TOKENS)), int(request.get("overlap", OVERLAP_TOKENS)))
            if key not in chunkers:
                chunkers[key] = Chunker(model_dir, max_tokens=key[0], overlap=key[1])
            chunker = chunkers[key]
            doc = extract(path, ocr=bool(request.get("ocr", True)))
            reply = {"ok": True, **_chunked(doc, chunker), "attachments": []}
            for att in doc.attachments:
                try:
                    reply["attachments"].append({"name": att.name, "message": att.message, "size": att.size,
                                                 "sha256": att.sha256, **_chunked(att.doc, chunker)})
                except Unreadable as exc:
                    reply["warnings"].append(f"attachment {att.name} skipped: {exc}")
        except Unreadable as exc:
            reply = {"ok": False, "reason": str(exc)}
        except MemoryError:
            reply = {"ok": False, "reason": "reading it needs more memory than allowed (too large or malicious)"}
        except Exception as exc:  # never die on one file
            reply = {"ok": False, "reason": f"could not be read ({type(exc).__name__}: {exc})"}
        out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def _chunked(doc: Any, chunker: Any) -> dict[str, Any]:
    """A reply's fields for one extracted document (:class:`.formats.Extracted`) cut into
    passages by ``chunker``.

    Raises:
        Unreadable: its passages hold no real text.
    """
    from desktop.core.library.formats import Unreadable
    from desktop.core.library.quality import tiny_chunks_reason

    specs = chunker.chunk(doc)
    tiny = tiny_chunks_reason([doc.text[c.start:c.end] for c in specs])
    if tiny and all(len(doc.text[c.start:c.end].strip()) < 3 for c in specs):
        raise Unreadable(f"no real text was extracted ({tiny})")
    return {"text": doc.text, "title": doc.title, "kind": doc.kind, "extractor": doc.extractor,
            "warnings": list(doc.warnings) + ([tiny] if tiny else []),
            "chunks": [[c.start, c.end, c.page, c.section, c.ocr] for c in specs]}


if __name__ == "__main__":
    sys.exit(main())
