"""The app's side of the parser process: a per-file time limit and crash survival.

:class:`ParserProcess` sends one file at a time to
:mod:`desktop.core.library.parse_worker` and waits for its answer for at most
``timeout_s`` seconds.  When the limit passes, the process is killed and restarted and
the file is reported as unreadable ("took longer than ..."); when the process dies
(a native crash in a parser, the memory cap), the file is reported likewise.  Either way
the run goes on with the next file.  The process is a
:class:`~desktop.core.process.SupervisedProcess`: its stderr (a crash's traceback) goes to
``parser.log`` in the logs folder.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.jobs import CancelToken
from desktop.core.library.chunking import MAX_CHUNK_TOKENS, OVERLAP_TOKENS, ChunkSpec
from desktop.core.privacy import OFFLINE_ENV
from desktop.core.process import ChildExited, SupervisedProcess

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
    attachments: list[ParsedAttachment] = field(default_factory=list)

    @property
    def chars(self) -> int:
        """Characters of text held, its attachments' included (the indexer bounds them)."""
        return len(self.text) + sum(a.result.chars for a in self.attachments)


@dataclass
class ParsedAttachment:
    """An e-mail's attachment, parsed as a document of its own (see
    :class:`.formats.Attachment`): its name (unique within the message file), the
    message's subject, its size in bytes, the SHA-256 of its bytes, and its text and chunks."""

    name: str
    message: str
    size: int
    sha256: str
    result: ParseResult


class ParserError(Exception):
    """The parser process cannot be started at all (broken installation)."""


class ParserProcess:
    """A restartable child process that extracts and chunks one file at a time.

    Args:
        model_dir: the embedding model folder (its tokenizer sizes the chunks).
        timeout_s: per-file time limit in seconds (renewed after each page OCR reads).
        ocr: read scanned pages and images by OCR.
        chunk_tokens, overlap: passage size and overlap in word pieces (library
            settings); sent with each file, so a change applies from the next file.
    """

    def __init__(self, model_dir: Path, timeout_s: float = 60.0, ocr: bool = True,
                 chunk_tokens: int = MAX_CHUNK_TOKENS, overlap: int = OVERLAP_TOKENS) -> None:
        self.model_dir = model_dir
        self.timeout_s = timeout_s
        self.ocr = ocr
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap
        self._proc: SupervisedProcess | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path | None:
        """The parser's log (its stderr: a crash's traceback lands there)."""
        return self._proc.log_path if self._proc is not None else None

    def _start(self) -> None:
        env = dict(OFFLINE_ENV)
        env["RAYON_NUM_THREADS"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        proc = SupervisedProcess.python_module(
            "desktop.core.library.parse_worker", str(self.model_dir), log_name="parser.log", env=env)
        self._proc = proc
        try:
            first = proc.read_line(STARTUP_TIMEOUT_S)
        except TimeoutError:
            first = None
        if first is None or not first.startswith('{"ready"'):
            self._kill()
            tail = proc.last_log_lines(5)
            raise ParserError(
                "The document reader could not start (desktop.core.library.parse_worker). "
                "Reinstall Hearth." + (" Its last log lines:\n" + "\n".join(tail) if tail else "")
            )

    def parse(self, path: Path, cancel: CancelToken | None = None) -> ParseResult:
        """Extract and chunk ``path`` within the time limit.

        Returns a ParseResult with ok False and a reason for any failure of the file
        itself (including the time limit and a parser crash).

        Raises:
            ParserError: the parser process cannot start.
        """
        with self._lock:
            if self._proc is None or not self._proc.alive:
                if self._proc is not None:
                    self._proc.close()
                self._start()
            proc = self._proc
            assert proc is not None
            try:
                proc.send({"path": str(path), "ocr": self.ocr, "chunk_tokens": self.chunk_tokens,
                           "overlap": self.overlap})
                line = proc.read_line(self.timeout_s, cancel)
                while line is not None and line.startswith('{"alive"'):
                    line = proc.read_line(self.timeout_s, cancel)  # a page done: a new limit
            except TimeoutError:
                self._kill()
                if cancel is not None and cancel.cancelled:
                    return ParseResult(False, reason="cancelled")
                return ParseResult(
                    False, reason=f"reading it took longer than the {self.timeout_s:g} s limit per file"
                )
            except ChildExited:
                line = None
            if line is None:
                code = proc.exit_code()
                tail = proc.last_log_lines(5)
                self._kill()
                log.warning("the parser process died on %s (exit code %s)%s", path, code,
                            ":\n" + "\n".join(tail) if tail else "")
                return ParseResult(False, reason="the document reader crashed on this file")
            raw: dict[str, Any] = json.loads(line)
        if not raw.get("ok"):
            return ParseResult(False, reason=str(raw.get("reason", "could not be read")))
        result = _result(raw)
        result.attachments = [ParsedAttachment(str(a["name"]), str(a["message"]), int(a["size"]),
                                               str(a["sha256"]), _result(a)) for a in raw.get("attachments", [])]
        return result

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.close()

    def close(self) -> None:
        """Stop the process: it ends by itself when its stdin closes; terminated, then
        killed, if it does not."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop(None, timeout=5, terminate_timeout=2)


def _result(raw: dict[str, Any]) -> ParseResult:
    """A parsed document from the worker's reply (or one attachment of it)."""
    return ParseResult(
        True, text=raw["text"], title=raw.get("title", ""), kind=raw.get("kind", "text"),
        chunks=[ChunkSpec(int(c[0]), int(c[1]), c[2], c[3] or "", bool(c[4]) if len(c) > 4 else False)
                for c in raw["chunks"]],
        extractor=str(raw.get("extractor", "")), warnings=[str(w) for w in raw.get("warnings", [])],
    )
