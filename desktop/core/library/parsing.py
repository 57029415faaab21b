"""The app's side of the parser process: a per-file time limit and crash survival.

:class:`ParserProcess` sends one file at a time to
:mod:`desktop.core.library.parse_worker` and waits for its answer for at most
``timeout_s`` seconds.  When the limit passes, the process is killed and restarted and
the file is reported as unreadable ("took longer than ..."); when the process dies
(a native crash in a parser, the memory cap), the file is reported likewise.  Either way
the run goes on with the next file.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from desktop.core.jobs import CancelToken
from desktop.core.library.chunking import ChunkSpec
from desktop.core.paths import python_command
from desktop.core.privacy import OFFLINE_ENV

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 120.0


@dataclass
class ParseResult:
    """A parsed file: its extracted text and chunks, or why it was skipped."""

    ok: bool
    text: str = ""
    title: str = ""
    kind: str = "text"
    chunks: list[ChunkSpec] = field(default_factory=list)
    reason: str = ""
    extractor: str = ""
    warnings: list[str] = field(default_factory=list)


class ParserError(Exception):
    """The parser process cannot be started at all (broken installation)."""


class ParserProcess:
    """A restartable child process that extracts and chunks one file at a time.

    Args:
        model_dir: the embedding model folder (its tokenizer sizes the chunks).
        timeout_s: per-file time limit in seconds (renewed after each page OCR reads).
        ocr: read scanned pages and images by OCR.
    """

    def __init__(self, model_dir: Path, timeout_s: float = 60.0, ocr: bool = True) -> None:
        self.model_dir = model_dir
        self.timeout_s = timeout_s
        self.ocr = ocr
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> None:
        env = dict(os.environ)
        env.update(OFFLINE_ENV)
        env["RAYON_NUM_THREADS"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        proc = subprocess.Popen(
            python_command("desktop.core.library.parse_worker", str(self.model_dir)),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, encoding="utf-8", bufsize=1, env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True,
                         name="parser-reader").start()
        self._proc, self._lines = proc, lines
        first = self._next_line(STARTUP_TIMEOUT_S, None)
        if first is None or not first.startswith('{"ready"'):
            self._kill()
            raise ParserError(
                "The document reader could not start (desktop.core.library.parse_worker). "
                "Reinstall Hearth."
            )

    def _next_line(self, timeout: float, cancel: CancelToken | None) -> str | None:
        """The next line, None on EOF; raises TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            try:
                return self._lines.get(timeout=min(0.2, remaining))
            except queue.Empty:
                if cancel is not None and cancel.cancelled:
                    raise TimeoutError from None

    def parse(self, path: Path, cancel: CancelToken | None = None) -> ParseResult:
        """Extract and chunk ``path`` within the time limit.

        Returns a ParseResult with ok False and a reason for any failure of the file
        itself (including the time limit and a parser crash).

        Raises:
            ParserError: the parser process cannot start.
        """
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            assert self._proc is not None and self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps({"path": str(path), "ocr": self.ocr}) + "\n")
                self._proc.stdin.flush()
                line = self._next_line(self.timeout_s, cancel)
                while line is not None and line.startswith('{"alive"'):
                    line = self._next_line(self.timeout_s, cancel)  # a page done: a new limit
            except TimeoutError:
                self._kill()
                if cancel is not None and cancel.cancelled:
                    return ParseResult(False, reason="cancelled")
                return ParseResult(
                    False, reason=f"reading it took longer than the {self.timeout_s:g} s limit per file"
                )
            except (BrokenPipeError, OSError):
                line = None
            if line is None:
                self._kill()
                return ParseResult(False, reason="the document reader crashed on this file")
            raw: dict[str, Any] = json.loads(line)
        if not raw.get("ok"):
            return ParseResult(False, reason=str(raw.get("reason", "could not be read")))
        return ParseResult(
            True, text=raw["text"], title=raw.get("title", ""), kind=raw.get("kind", "text"),
            chunks=[ChunkSpec(int(c[0]), int(c[1]), c[2], c[3] or "", bool(c[4]) if len(c) > 4 else False)
                    for c in raw["chunks"]],
            extractor=str(raw.get("extractor", "")), warnings=[str(w) for w in raw.get("warnings", [])],
        )

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.kill()
            proc.wait(timeout=10)
        except Exception:
            log.exception("could not stop the parser process")

    def close(self) -> None:
        """Stop the process (it ends by itself when its stdin closes)."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
            proc.wait(timeout=5)


def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    if stream is None:
        lines.put(None)
        return
    try:
        for line in stream:
            lines.put(line)
    except (OSError, ValueError):
        pass
    lines.put(None)
