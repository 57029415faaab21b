"""The parser process: ``python -m desktop.core.library.parse_worker MODEL_DIR``.

Reads one JSON request per line on stdin (``{"path": "..."}``), extracts and chunks that
file, and writes one JSON line on stdout:

- ``{"ok": true, "text": ..., "title": ..., "kind": ..., "chunks": [[start, end, page, section], ...]}``
- ``{"ok": false, "reason": "password-protected PDF ..."}``

It starts by printing ``{"ready": true}``.  The app kills and restarts it when a file
takes longer than the per-file time limit, and treats its death as that file's failure,
so a hostile or broken document can never hang or crash the app.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


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
    from desktop.core.library.chunking import Chunker
    from desktop.core.library.formats import Unreadable, extract

    for stream in (sys.stdout, sys.stdin):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8")
    chunker = Chunker(Path(argv[0]))
    _limit_memory()
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            path = Path(request["path"])
            doc = extract(path)
            specs = chunker.chunk(doc)
            reply = {
                "ok": True, "text": doc.text, "title": doc.title, "kind": doc.kind,
                "chunks": [[c.start, c.end, c.page, c.section] for c in specs],
            }
        except Unreadable as exc:
            reply = {"ok": False, "reason": str(exc)}
        except MemoryError:
            reply = {"ok": False, "reason": "reading it needs more memory than allowed (too large or malicious)"}
        except Exception as exc:  # never die on one file
            reply = {"ok": False, "reason": f"could not be read ({type(exc).__name__}: {exc})"}
        out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
