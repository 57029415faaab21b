"""Indexing: files and folders into a collection, as a job that reports progress.

One :class:`Indexer` per library holds the one queue of indexing work (jobs run one at a
time, in the order they were asked for) and the pause switch.  Each job is an
:class:`IndexRun`:

1. :meth:`IndexRun.scan`: walk the paths (:func:`.scan.scan`), drop files that vanished,
   record files that cannot be indexed, keep those that are new or changed (size, mtime);
2. :meth:`IndexRun.produce` (a thread): hash each file (unchanged content: only its
   size and mtime are updated), then parse and chunk it in the parser process with a
   per-file time limit;
3. :meth:`IndexRun.flush`: every :data:`FLUSH_CHUNKS` chunks (or when the reader is slow),
   embed in length-sorted batches and store (:meth:`.store.LibraryStore.write_files`,
   crash-safe), so a run killed at any point loses only the group in flight;
4. :meth:`IndexRun.progress`: events for the window and the CLI.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.hashing import file_sha256
from desktop.core.jobs import CancelToken, PauseSwitch, ProgressEvent, RateEstimator
from desktop.core.library import checkpoint as ck
from desktop.core.library import manifest as mf
from desktop.core.library.chunking import embedding_text
from desktop.core.library.embedder import Embedder, embed_in_batches
from desktop.core.library.formats import is_supported
from desktop.core.library.parsing import ParseResult, ParserProcess
from desktop.core.library.scan import SkippedFile, os_reason, scan
from desktop.core.library.store import LibraryStore, StoreUnreachable
from desktop.core.settings import LibrarySettings
from desktop.core.storage import is_disk_full

log = logging.getLogger(__name__)

JOB = "index"
#: Chunks gathered before an embed + store + commit step (bigger: better batching,
#: more work redone after a kill).
FLUSH_CHUNKS = 256
#: Parsed files the reader may get ahead of the embedder: more than a group's
#: (FLUSH_CHUNKS) worth of small files, so that the embedder never waits for the parser
#: after storing a group (at 64, SciFact's abstracts left it idle 1.7 s of 25 s).
READ_AHEAD = 256
#: ... and at most this many characters of their text (memory: a few large files)
READ_AHEAD_CHARS = 16_000_000
#: A group smaller than FLUSH_CHUNKS is stored anyway once it has waited this long while
#: the reader is busy (a slow file must not hold back the ones read before it).
SLOW_FLUSH_S = 3.0


def chunk_id(path: str, start: int, end: int) -> str:
    """Deterministic chunk id: SHA-1 of path and character offsets (24 hex digits)."""
    return hashlib.sha1(f"{path}\x00{start}\x00{end}".encode()).hexdigest()[:24]


class _Ticket:
    """A place in an :class:`IndexQueue` (weakly referenced there: a job dropped before it
    ever ran frees its place with it)."""


class IndexQueue:
    """Indexing jobs waiting for their turn: one runs at a time, in the order asked.

    The order is that of :meth:`join`, which :meth:`Indexer.run` calls when a job is
    asked for (not when its generator first runs on some worker thread), so two requests
    made one after the other run in that order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[weakref.ref[_Ticket]] = deque()
        self._running = False

    def _prune(self) -> None:
        while self._waiting and self._waiting[0]() is None:
            self._waiting.popleft()

    @property
    def busy(self) -> bool:
        """Whether a job runs or waits."""
        with self._cond:
            return self._running or any(ref() is not None for ref in self._waiting)

    def join(self) -> _Ticket:
        """Take a place in the queue; returns the ticket to wait with (keep a reference to
        it while the job may still run)."""
        ticket = _Ticket()
        with self._cond:
            self._waiting.append(weakref.ref(ticket))
        return ticket

    def wait_turn(self, ticket: _Ticket, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``ticket``'s turn; True when it has begun
        (call :meth:`finish` after the job)."""

        def turn() -> bool:
            self._prune()
            return not self._running and bool(self._waiting) and self._waiting[0]() is ticket

        with self._cond:
            if not self._cond.wait_for(turn, timeout):
                return False
            self._waiting.popleft()
            self._running = True
            return True

    def leave(self, ticket: _Ticket) -> None:
        """Give up a place not yet reached (the job was cancelled while waiting)."""
        with self._cond:
            self._waiting = deque(ref for ref in self._waiting if ref() is not ticket)
            self._cond.notify_all()

    def finish(self) -> None:
        """The running job ended: the next one begins."""
        with self._cond:
            self._running = False
            self._cond.notify_all()


class Indexer:
    """Runs a library's indexing jobs, one at a time, and pauses them.

    Args:
        store: where parsed files are stored.
        settings: ``max_file_mb`` and the parser's settings.
        embedder: returns the embedding model (loaded on first use).
        parser: returns the parser process (started on first use).
        flush_chunks: chunks per embed + store + commit step (tests make it small so that
            a kill lands between commits).
    """

    def __init__(self, store: LibraryStore, settings: LibrarySettings, embedder: Callable[[], Embedder],
                 parser: Callable[[], ParserProcess], flush_chunks: int = FLUSH_CHUNKS) -> None:
        self.store = store
        self.settings = settings
        self.embedder = embedder
        self.parser = parser
        self.flush_chunks = flush_chunks
        self.queue = IndexQueue()
        #: vectors of large files embedded so far, kept for a run stopped in their middle
        self.checkpoints = ck.EmbeddingCheckpoints(store.root / "checkpoints", store.embedding_model)
        #: fewest passages of a file whose vectors are checkpointed
        self.checkpoint_min_chunks = ck.MIN_CHUNKS
        #: the pause every indexing job waits on between files and batches
        self.pause_switch = PauseSwitch()

    # -- jobs --------------------------------------------------------------------------

    def run(self, paths: list[Path], collection: str, cancel: CancelToken) -> Iterator[ProgressEvent]:
        """Index ``paths`` into ``collection`` once the jobs asked for before it have ended
        (see :meth:`.library.Library.index_paths` for the events).  Takes its place in the
        queue now, when asked, whichever thread later runs the returned generator."""
        return self._run(self.queue.join(), paths, collection, cancel)

    def _run(self, ticket: _Ticket, paths: list[Path], collection: str,
             cancel: CancelToken) -> Iterator[ProgressEvent]:
        started = False
        try:  # a job cancelled, or a generator dropped, while waiting gives up its place
            if not (started := self.queue.wait_turn(ticket, 0)):
                yield ProgressEvent(JOB, "log", message="Waiting for the indexing already running…")
                while not (started := self.queue.wait_turn(ticket, 0.5)):
                    if cancel.cancelled:
                        yield ProgressEvent(JOB, "cancelled", message="Indexing cancelled.")
                        return
        finally:
            if not started:
                self.queue.leave(ticket)
        try:
            yield from IndexRun(self, paths, collection, cancel).events()
        except StoreUnreachable as exc:  # the Chroma server went away: stop, keep what is done
            log.warning("indexing stopped: %s", exc)
            yield ProgressEvent(JOB, "error", message=f"Indexing stopped. {exc}",
                                data={"reason": "store_unreachable"})
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.warning("indexing stopped: disk full (%s)", exc)
            yield ProgressEvent(JOB, "error", message=(
                f"The disk holding your library ({self.store.root}) is full, so indexing stopped. "
                "Everything indexed so far is kept. Free some space, then index again: it "
                "continues where it stopped."), data={"reason": "disk_full"})
        finally:
            self.queue.finish()


@dataclass
class ParsedFile:
    """A file read by :meth:`IndexRun.produce`, waiting to be embedded and stored; or an
    e-mail's attachment, a document of its own at ``<message file>/<name>`` whose
    ``parent`` is the message file (size: the attachment's bytes; mtime: the message's)."""

    path: str
    size: int
    mtime: float
    sha: str
    result: ParseResult
    ids: list[str]
    texts: list[str]
    parent: str = ""

    def entry(self) -> mf.FileEntry:
        """What the manifest records for it."""
        r = self.result
        chunks = [mf.ChunkEntry(cid, r.text[c.start:c.end], t, c.page, c.section, c.start, c.end)
                  for cid, c, t in zip(self.ids, r.chunks, self.texts, strict=True)]
        return mf.FileEntry(self.path, self.size, self.mtime, self.sha, r.title, r.text,
                            r.extractor, r.warnings, chunks, self.parent)


class _GroupCheckpoint:
    """The checkpointed vectors of one group's large files (:mod:`.checkpoint`): those
    found at the start, by index into the group's passages, then each batch as it is
    embedded, written every :data:`.checkpoint.EVERY_S` seconds and on :meth:`save`."""

    def __init__(self, checkpoints: ck.EmbeddingCheckpoints, pending: list[ParsedFile], min_chunks: int) -> None:
        self.checkpoints = checkpoints
        self.files: list[tuple[ParsedFile, int]] = []  # (large file, index of its first passage)
        self.vectors: dict[int, np.ndarray] = {}
        start = 0
        for p in pending:
            if len(p.texts) >= min_chunks:
                self.files.append((p, start))
                found = checkpoints.load(p.sha)
                for j, text in enumerate(p.texts):
                    if (vec := found.get(ck.text_key(text))) is not None:
                        self.vectors[start + j] = vec
            start += len(p.texts)
        self._saved = time.monotonic()

    def add(self, indexes: list[int], vectors: np.ndarray) -> None:
        if not self.files:
            return
        self.vectors.update(zip(indexes, vectors, strict=True))
        if time.monotonic() - self._saved >= ck.EVERY_S:
            self.save()

    def save(self) -> None:
        for p, start in self.files:
            done = [start + j for j in range(len(p.texts)) if start + j in self.vectors]
            if done:
                self.checkpoints.save(p.sha, [ck.text_key(p.texts[i - start]) for i in done],
                                      np.stack([self.vectors[i] for i in done]))
        self._saved = time.monotonic()

    def remove(self) -> None:
        for p, _ in self.files:
            self.checkpoints.remove(p.sha)


class IndexRun:
    """One indexing job: ``paths`` into ``collection``; iterate :meth:`events`.

    Args:
        indexer: the library's indexer (store, models, pause switch).
        read_ahead: parsed files the reader may hold ahead of the embedder.
    """

    def __init__(self, indexer: Indexer, paths: list[Path], collection: str, cancel: CancelToken,
                 read_ahead: int = READ_AHEAD) -> None:
        self.indexer = indexer
        self.store = indexer.store
        self.manifest = indexer.store.manifest
        self.paths = paths
        self.collection = collection
        self.cancel = cancel
        #: what the reader thread hands over: ("parsed" | "same" | "error", path, stat,
        #: sha256, ParseResult | None | exception), then None at the end
        self.results: queue.Queue[Any] = queue.Queue(maxsize=read_ahead)
        #: characters of parsed text in :attr:`results` (bounded by READ_AHEAD_CHARS)
        self._ahead_chars = 0
        self._ahead = threading.Condition()
        self.work: list[tuple[Path, os.stat_result]] = []
        self.skipped: list[SkippedFile] = []
        self.removed = self.unchanged = self.indexed = 0
        self.files_done = self.chunks_done = self.bytes_done = self.bytes_total = 0
        self.pending: list[ParsedFile] = []
        self.pending_chunks = 0
        self.embed_s = 0.0
        self._rate = RateEstimator()
        self._chunk_rate = RateEstimator()
        self._last_event = 0.0

    # -- pause -------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Paused: the whole library's indexing, or this job alone (its token)."""
        return self.indexer.pause_switch.paused or self.cancel.paused

    def wait_while_paused(self, token: CancelToken) -> None:
        """Return once neither the library's pause nor this job's holds, or ``token``
        (the job's, or the reader thread's stop) is cancelled."""
        while self.paused and not token.cancelled:
            time.sleep(0.1)  # two switches to watch: a short poll serves both

    # -- the job -----------------------------------------------------------------------

    def events(self) -> Iterator[ProgressEvent]:
        """Run the job; yields "progress", "warning" (one per skipped file) and "log"
        events, then "done" or "cancelled"."""
        t0 = time.monotonic()
        self.store.create_collection(self.collection)
        self.indexer.checkpoints.prune()
        yield ProgressEvent(JOB, "progress", "scanning", message="Looking for documents…")
        yield from self.scan()
        if self.work:
            # Load the model before the clock starts, so rate and ETA reflect indexing.
            yield ProgressEvent(JOB, "progress", "loading", message=(
                "Loading the embedding model… (the first time, Hearth prepares it: about a minute)"))
            self.indexer.embedder().embed(["warm up"])
        stop = CancelToken()  # ends the reader when this generator ends, however it ends
        self.cancel.on_cancel(stop.cancel)
        reader = threading.Thread(target=self.produce, args=(stop,), daemon=True, name="index-parse")
        reader.start()
        try:
            yield self._progress_now()
            cancelled = yield from self._consume()
        finally:
            stop.cancel()
            while reader.is_alive():
                try:
                    self.results.get(timeout=0.2)
                except queue.Empty:
                    pass
        yield from self._finish(cancelled, time.monotonic() - t0)

    def scan(self) -> Iterator[ProgressEvent]:
        """Find the files to read (into :attr:`work`); remove vanished ones, record the
        ones that cannot be indexed."""
        candidates, skipped, roots = scan(self.paths)
        for root in roots:
            gone = [rec for rec in self.manifest.files(self.collection, under=str(root))
                    if not os.path.lexists(rec.on_disk)]
            self.store.remove_records(gone)
            self.removed += sum(1 for rec in gone if not rec.parent)
        for p in self.paths:
            if not os.path.lexists(p):
                self.removed += len(self.store.remove_path(p))
        if self.removed:
            yield ProgressEvent(JOB, "log", message=f"Removed {self.removed} deleted file(s) from the library.")
        for item in skipped:
            yield self._skip(item.path, None, item.reason)
        max_bytes = int(self.indexer.settings.max_file_mb * 1024 * 1024)
        for path in candidates:
            try:
                st = path.stat()
            except OSError as exc:
                yield self._skip(str(path), None, os_reason(exc))
                continue
            known = self.manifest.file(self.collection, str(path))
            if known and known.state in (mf.INDEXED, mf.SKIPPED) and known.size == st.st_size \
                    and known.mtime == st.st_mtime:
                if known.state == mf.SKIPPED:
                    self.skipped.append(SkippedFile(known.path, known.reason, self.collection))
                else:
                    self.unchanged += 1
                continue
            reason = ""
            if not is_supported(path):
                reason = f"not a format Hearth reads ({path.suffix or 'no extension'})"
            elif st.st_size > max_bytes:
                reason = (f"too large ({st.st_size / 1e6:.0f} MB; the limit is "
                          f"{self.indexer.settings.max_file_mb:g} MB, see Settings)")
            elif st.st_size == 0:
                reason = "empty file"
            if reason:
                yield self._skip(str(path), st, reason)
                continue
            self.work.append((path, st))
        # the small files first: a note added beside a 5 MB log was searchable only after the
        # log (fourteenth new-user trial); and each is listed "Waiting" until it is stored
        self.work.sort(key=lambda item: item[1].st_size)
        self.manifest.record_waiting(self.collection, [(str(p), st.st_size, st.st_mtime) for p, st in self.work])
        self.bytes_total = sum(st.st_size for _, st in self.work)

    def produce(self, stop: CancelToken) -> None:
        """The reader thread: hash and parse :attr:`work` in order into :attr:`results`;
        always ends with None, however long the consumer keeps the queue full."""
        try:
            for path, st in self.work:
                if stop.cancelled:
                    break
                self.wait_while_paused(stop)
                key = str(path)
                try:
                    sha = file_sha256(path)
                except OSError as exc:
                    self.results.put(("parsed", key, st, "", ParseResult(False, reason=os_reason(exc))))
                    continue
                rec = self.manifest.file(self.collection, key)
                if rec is not None and rec.state == mf.INDEXED and rec.sha256 == sha:
                    self.results.put(("same", key, st, sha, None))
                    continue
                result = self.indexer.parser().parse(path, stop)
                with self._ahead:  # a big file waits until what is ahead of it is embedded
                    while self._ahead_chars >= READ_AHEAD_CHARS and not stop.cancelled:
                        self._ahead.wait(0.2)
                    self._ahead_chars += result.chars
                while not stop.cancelled:
                    try:
                        self.results.put(("parsed", key, st, sha, result), timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except Exception as exc:  # surfaced by the consumer
            self.results.put(("error", "", None, "", exc))
        finally:
            # the end marker must arrive, however long the consumer is busy embedding (a
            # dropped marker left big indexing runs waiting forever); once the consumer
            # has ended it cancels ``stop`` and no longer needs it
            while True:
                try:
                    self.results.put(None, timeout=0.2)
                    break
                except queue.Full:
                    if stop.cancelled:
                        break

    def _consume(self) -> Generator[ProgressEvent, None, bool]:
        """Take what the reader hands over, flushing groups; returns whether cancelled."""
        finished = False
        oldest = 0.0
        while not finished:
            if self.cancel.cancelled:
                return True
            if self.paused:
                yield self._progress_now()
                self.wait_while_paused(self.cancel)
                continue
            cur = ""
            try:
                got: Any = self.results.get(timeout=0.2)
            except queue.Empty:
                got = False
            if got is None:
                finished = True
            elif got is not False:
                kind, cur, st, sha, result = got
                if kind == "error":
                    raise result
                if result is not None:
                    with self._ahead:
                        self._ahead_chars -= result.chars
                        self._ahead.notify()
                if kind == "same":
                    self.manifest.update_stat(self.collection, cur, st.st_size, st.st_mtime)
                    self.unchanged += 1
                    self.files_done += 1
                    self.bytes_done += st.st_size
                elif not result.ok:
                    if result.reason == "cancelled":
                        return True
                    yield self._skip(cur, st, result.reason)
                    self.files_done += 1
                    self.bytes_done += st.st_size
                else:
                    if not self.pending:
                        oldest = time.monotonic()
                    self._add_pending(cur, st, sha, result)
            slow = self.results.empty() and time.monotonic() - oldest > SLOW_FLUSH_S
            if self.pending and (self.pending_chunks >= self.indexer.flush_chunks or finished or slow):
                yield from self.flush()
                if self.cancel.cancelled:
                    return True
            if cur:
                ev = self.progress(cur)
                if ev:
                    yield ev
        return False

    def _add_pending(self, path: str, st: os.stat_result, sha: str, result: ParseResult) -> None:
        """Queue a parsed file, and each of its attachments as a document of its own (in
        the same group, so that they are stored with it)."""
        files = [ParsedFile(path, st.st_size, st.st_mtime, sha, result, [], [])]
        files += [ParsedFile(str(Path(path) / a.name), a.size, st.st_mtime, a.sha256, a.result, [], [], parent=path)
                  for a in result.attachments]
        for f in files:
            r = f.result
            f.ids = [chunk_id(f.path, c.start, c.end) for c in r.chunks]
            f.texts = [embedding_text(r.text[c.start:c.end], c.section, r.title) for c in r.chunks]
            self.pending.append(f)
            self.pending_chunks += len(f.ids)

    def flush(self) -> Iterator[ProgressEvent]:
        """Embed the pending files' chunks (pausing and cancelling between batches) and
        store them; yields progress as batches finish."""
        t_embed = time.monotonic()
        pending = self.pending
        texts = [t for p in pending for t in p.texts]
        checkpoint = _GroupCheckpoint(self.indexer.checkpoints, pending, self.indexer.checkpoint_min_chunks)
        todo = [i for i in range(len(texts)) if i not in checkpoint.vectors]
        embedded: Any = None
        for item in embed_in_batches(self.indexer.embedder(), [texts[i] for i in todo],
                                     on_batch=lambda idx, vecs: checkpoint.add([todo[i] for i in idx], vecs)):
            if isinstance(item, tuple):
                done = len(texts) - len(todo) + item[0]
                # the file whose passages are being embedded (the group's first had been
                # named all along, a large log's name never shown: twenty-first trial)
                ends = itertools.accumulate(len(p.texts) for p in pending)
                current = next((p for p, end in zip(pending, ends, strict=True) if done < end), pending[-1])
                ev = self.progress(current.parent or current.path, extra_chunks=done)
                if ev:
                    yield ev
                self.wait_while_paused(self.cancel)  # pause between batches too
                if self.cancel.cancelled:
                    checkpoint.save()
                    self.embed_s += time.monotonic() - t_embed
                    return
            else:
                embedded = item
        assert embedded is not None
        vectors = np.zeros((len(texts), embedded.shape[1]), dtype=np.float32)
        vectors[todo] = embedded
        for i, vec in checkpoint.vectors.items():
            vectors[i] = vec
        metas = [{"file": p.path, "ocr": c.ocr} for p in pending for c in p.result.chunks]
        self.store.write_files(self.collection, [p.entry() for p in pending], vectors, metas)
        checkpoint.remove()
        self.embed_s += time.monotonic() - t_embed
        files = [p for p in pending if not p.parent]  # the files scanned (attachments come with them)
        self.files_done += len(files)
        self.indexed += len(files)
        self.chunks_done += self.pending_chunks
        self.bytes_done += sum(p.size for p in files)
        self.pending, self.pending_chunks = [], 0

    def _finish(self, cancelled: bool, seconds: float) -> Iterator[ProgressEvent]:
        files_total = len(self.work)
        figures = {
            "indexed": self.indexed, "unchanged": self.unchanged, "removed": self.removed,
            "chunks": self.chunks_done, "skipped": [{"file": s.path, "reason": s.reason} for s in self.skipped],
            "seconds": seconds, "embed_seconds": self.embed_s, "files_total": files_total,
            "bytes": self.bytes_done, "collection": self.collection,
        }
        if cancelled:
            # the files not reached stay in the list, and the next catch-up indexes them: a
            # log cancelled while it was re-indexed vanished from the file list (twelfth trial)
            self.manifest.record_waiting(self.collection, [(str(p), st.st_size, st.st_mtime) for p, st in self.work])
            yield ProgressEvent(JOB, "cancelled", "files", self.files_done, files_total, "files",
                                message=f"Indexing stopped after {self.files_done} of {files_total} files; "
                                        "it resumes where it stopped next time.", data=figures)
            return
        yield self._progress_now()
        summary = f"Indexed {self.indexed} file(s) ({self.chunks_done} passages)"
        if self.unchanged:
            summary += f", {self.unchanged} unchanged"
        if self.removed:
            summary += f", {self.removed} removed"
        if self.skipped:
            summary += f"; {len(self.skipped)} file(s) skipped"
        yield ProgressEvent(JOB, "done", "files", self.files_done, files_total, "files",
                            message=summary + ".", data=figures)

    # -- reporting ---------------------------------------------------------------------

    def _skip(self, path: str, st: os.stat_result | None, reason: str) -> ProgressEvent:
        """Record ``path`` as skipped; returns the warning event to yield."""
        item = SkippedFile(path, reason, self.collection)
        self.skipped.append(item)
        self.store.record_skip(self.collection, path, st.st_size if st else 0, st.st_mtime if st else 0, reason)
        return ProgressEvent(JOB, "warning", "skipped", message=f"{Path(path).name}: {reason}",
                             data={"file": path, "reason": reason})

    def _progress_now(self) -> ProgressEvent:
        ev = self.progress(force=True)
        assert ev is not None
        return ev

    def progress(self, file: str = "", force: bool = False, extra_chunks: int = 0) -> ProgressEvent | None:
        """A "progress" event (None when the last was under 0.1 s ago and not ``force``):
        ``done``/``total`` files, and in ``data``: files_done, files_total, chunks_done,
        chunks_per_s, bytes_done, bytes_total, mb_per_min, eta_s (seconds, from the
        smoothed byte rate), fraction (0 to 1 of the bytes to read, moving with each
        embedded batch, not only with each finished file), file, paused, collection.
        ``extra_chunks``: chunks of the group being embedded, counted before they are
        stored (their share of the group's bytes counts as read)."""
        now = time.monotonic()
        if not force and now - self._last_event < 0.1:
            return None
        self._last_event = now
        chunks = self.chunks_done + extra_chunks
        files_total = len(self.work)
        bytes_now = float(self.bytes_done)
        if extra_chunks and self.pending_chunks:
            group_bytes = sum(p.size for p in self.pending if not p.parent)
            bytes_now += group_bytes * min(1.0, extra_chunks / self.pending_chunks)
        if self.bytes_total:
            fraction = min(1.0, bytes_now / self.bytes_total)
        else:
            fraction = self.files_done / files_total if files_total else 1.0
        self._rate.update(bytes_now, now)
        self._chunk_rate.update(chunks, now)
        rate = self._rate.rate
        return ProgressEvent(
            JOB, "progress", "files", self.files_done, files_total, "files",
            message=f"{self.files_done} of {files_total} files · {chunks} passages",
            data={"files_done": self.files_done, "files_total": files_total, "chunks_done": chunks,
                  "chunks_per_s": self._chunk_rate.rate, "bytes_done": self.bytes_done,
                  "bytes_total": self.bytes_total, "mb_per_min": rate * 60 / 1e6 if rate else None,
                  "eta_s": self._rate.eta(bytes_now, self.bytes_total), "fraction": fraction, "file": file,
                  "paused": self.paused, "collection": self.collection},
        )
