"""The library's store: the manifest (:mod:`.manifest`, SQLite) and the vector store
(chromadb) kept in step.

Layout under the library's root: ``manifest.sqlite3`` and ``chroma/`` (a chromadb
PersistentClient, telemetry off, embeddings always passed explicitly; one store collection
per library collection, plus ``hearth-memory`` for past conversations).

The vectors may live on a Chroma server instead (``library.chroma_host``/``chroma_port``,
a ``chroma run`` on another machine): chromadb's own ``HttpClient``, telemetry off,
embeddings still passed explicitly, and the network guard lets Hearth through to exactly
that host and port (:func:`desktop.core.privacy.allow_host`).  The manifest stays on this
disk under the same lock.  On a server, store collection names carry this library's id
(``hearth-<id>-docs-...``), so two computers sharing one server never mix their vectors.
The client connects on first use, so a server that is down never stops the library from
opening; any call that cannot reach it raises :class:`StoreUnreachable`, whose message
names the server and says that nothing was lost.  When the place of the vectors changes
(this disk to a server, or one server to another), the collections are marked "stale"
and re-indexed from the files, as after a change of embedding model.

Every write that touches both goes through this class, in the crash-safe order
(:meth:`LibraryStore.write_files`): the manifest first records the files as "indexing"
with their old and new chunk ids, then vectors are upserted, stale vectors deleted, and
the manifest commits the files "indexed" and bumps the collection's version.  Chunk ids
are deterministic, so a run killed at any point and started again stores no duplicate.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.library import manifest as mf

log = logging.getLogger(__name__)

MEMORY_STORE = "hearth-memory"
#: the library writes nothing to the vector store while less than this would stay free:
#: chromadb (1.x) can block for good when the disk fills in the middle of one of its
#: writes (seen on a full tmpfs), so indexing stops with a clear message first
RESERVE_BYTES = 32 * 2**20
#: ids per delete call (chromadb's batches are limited; see ``get_max_batch_size``)
DELETE_BATCH = 4000


class LibraryError(Exception):
    """A library operation cannot be done; the message says what to do."""


class LibraryBusy(LibraryError):
    """Another program (the window, or a ``hearth`` command) has the library open.

    Attributes:
        root: the library's folder (None when not known).
        owner: who has it, as that program wrote it ("the Hearth window (process 123)").
    """

    def __init__(self, message: str, root: Path | None = None, owner: str = "") -> None:
        super().__init__(message)
        self.root = root
        self.owner = owner


class StoreUnreachable(LibraryError):
    """The Chroma server that keeps the library's vectors cannot be reached (down, moved,
    or stopped answering mid-call); the message names it and says what to do."""


def chroma_address(host: str, port: int) -> str:
    """``host:port`` as shown to the user (IPv6 hosts in brackets)."""
    host = host.strip().strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_chroma_address(text: str, default_port: int = 8000) -> tuple[str, int]:
    """("host", port) from "host:port", "host" or "[v6::addr]:port".

    Raises:
        ValueError: the port is not a number from 1 to 65535 (the message says so).
    """
    text = text.strip()
    if text.startswith("http://") or text.startswith("https://"):
        text = text.split("://", 1)[1].rstrip("/")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ValueError(f"{text!r}: the port must be a number, as in gpu-box.local:8000.") from None
    if not host or not 0 < port < 65536:
        raise ValueError(f"{text!r} is not a Chroma server address like gpu-box.local:8000.")
    return host, port


def _unreachable(host: str, port: int, exc: BaseException | None, doing: str = "") -> StoreUnreachable:
    what = f" ({exc})" if exc is not None and str(exc) else ""
    during = f" while {doing}" if doing else ""
    return StoreUnreachable(
        f"The Chroma server that keeps your library ({chroma_address(host, port)}) is not "
        f"answering{during}{what}. Nothing was lost: check that it runs (chroma run --host "
        f"{host} --port {port} ...) and that this computer can reach it, then try again; "
        "indexing continues where it stopped. To keep the library on this computer instead, "
        "run `hearth remote --library off` (or File > Library on a Chroma server… in the window)."
    )


def _is_connection_error(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    # chromadb's HttpClient raises ValueError("Could not connect to a Chroma server...")
    return isinstance(exc, ValueError) and "could not connect" in str(exc).lower()


def connect_chroma_server(host: str, port: int, timeout: float = 30.0) -> Any:
    """A chromadb ``HttpClient`` for the Chroma server at ``host``:``port`` (telemetry
    off), after letting the network guard through to exactly that host and port.

    Args:
        timeout: seconds one request may wait for the server (chromadb 1.5's HttpClient
            waits for ever by default, ``httpx.Client(timeout=None)`` in
            ``chromadb/api/fastapi.py``; a server that hangs would hang the library).
    Raises:
        StoreUnreachable: nothing answers there like a Chroma server.
        LibraryError: the host or port is not usable.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from desktop.core.privacy import allow_host

    host = host.strip().strip("[]")
    if not host or any(c in host for c in "/ ") or not 0 < int(port) < 65536:
        raise LibraryError(f"{host!r}:{port} is not a Chroma server address: give a host name or IP "
                           "address and a port from 1 to 65535 (e.g. gpu-box.local and 8000).")
    allow_host(host, int(port))
    try:
        client = chromadb.HttpClient(
            host=host, port=int(port), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
    except Exception as exc:
        if _is_connection_error(exc):
            raise _unreachable(host, port, exc, "connecting") from exc
        raise
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:  # chromadb's private session: a bounded wait instead of none
        import httpx

        session.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
    return client


def check_chroma_server(host: str, port: int) -> str:
    """Connect to a Chroma server and return a sentence saying so (with its version).

    Raises:
        StoreUnreachable, LibraryError: as :func:`connect_chroma_server`; the message says
            what to check.
    """
    client = connect_chroma_server(host, port, timeout=10)
    try:
        version = str(client.get_version())
        client.heartbeat()
    except Exception as exc:
        if _is_connection_error(exc):
            raise _unreachable(host, port, exc, "connecting") from exc
        raise LibraryError(f"{chroma_address(host, port)} does not answer like a Chroma server ({exc}).") from exc
    return f"Connected to the Chroma server at {chroma_address(host, port)} (version {version})."


class _Guarded:
    """A chromadb object whose calls raise :class:`StoreUnreachable` when the server
    cannot be reached (a collection, or the client itself)."""

    def __init__(self, target: Any, host: str, port: int) -> None:
        self._target, self._host, self._port = target, host, port

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except Exception as exc:
                if _is_connection_error(exc):
                    raise _unreachable(self._host, self._port, exc) from exc
                raise

        return call


#: libraries this process holds: resolved root -> [file lock, how many stores use it]
_held: dict[Path, list[Any]] = {}
_held_guard = threading.Lock()
LOCK_FILE = "library.lock"
OWNER_FILE = "library.owner"
HANDOFF_FILE = "library.handoff"  #: the window's address for `hearth index` (see .handoff)


def _hold(root: Path) -> None:
    """Take the library at ``root`` for this process, or raise :class:`LibraryBusy`.

    chromadb's PersistentClient is not safe for two processes at once (its documentation:
    "use a single client at a time"; two writers can corrupt the HNSW index for good), so
    one program at a time opens a library: an OS file lock (``filelock``: flock on POSIX,
    msvcrt on Windows), released when the process ends however it ends.  Stores of the same
    process share it."""
    from filelock import FileLock, Timeout

    key = root.resolve()
    with _held_guard:
        if key in _held:
            _held[key][1] += 1
            return
        lock = FileLock(str(root / LOCK_FILE))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            try:
                owner = (root / OWNER_FILE).read_text(encoding="utf-8").strip()
            except OSError:
                owner = "another Hearth program"
            hint = (" (`hearth index` works while the window is open: the window indexes the files.)"
                    if "the Hearth window" in owner else "")
            raise LibraryBusy(
                f"Your document library ({root}) is open in {owner}. Only one Hearth program "
                f"can use it at a time: close that one, or do this there, then try again.{hint}",
                root=root, owner=owner,
            ) from None
        (root / OWNER_FILE).write_text(_this_program(), encoding="utf-8")
        # a window that was killed left its address for `hearth index` behind (see .handoff)
        (root / HANDOFF_FILE).unlink(missing_ok=True)
        _held[key] = [lock, 1]


def _release(root: Path) -> None:
    key = root.resolve()
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            entry[0].release()


def _this_program() -> str:
    """'the Hearth window (process 123)' or '"hearth index ~/Notes" (process 123)'."""
    args = [Path(sys.argv[0]).name.lower() if sys.argv else "hearth", *sys.argv[1:]]
    if args[0] in ("hearth", "hearth.exe") and len(args) > 1:
        what = '"' + " ".join(["hearth", *args[1:]]) + '"'
    elif args[0].startswith("hearth") or args[0] == "__main__.py":
        what = "the Hearth window"
    else:
        what = "another Hearth program"
    return f"{what} (process {os.getpid()})"


def same_embedding_space(a: str, b: str) -> bool:
    """Whether vectors made under embedding-model names ``a`` and ``b`` can share an index:
    the same weights, whatever the runtime.  The int8 ONNX copy is accepted only when its
    vectors reach cosine >= 0.99 against PyTorch's (see :mod:`.onnx_embedder`), so a library
    indexed by one is searched by the other without re-indexing (re-indexing a big library
    on upgrade would take hours).  Names are ``identity[+recipe]``."""
    return a.split("+", 1)[0] == b.split("+", 1)[0]


class LibraryStore:
    """The manifest and the vector store of one library, kept in step.

    Args:
        root: the library's folder (created if needed).
        embedding_model: the name of the model that makes the vectors ("missing" when
            none is installed); collections made by another are emptied on open
            (:meth:`reconcile_embedding_model`).
        chroma_host, chroma_port: a Chroma server that keeps the vectors instead of
            ``root/chroma`` (empty host: this disk); connected on first use.

    Thread-safe: the manifest serialises its own access; chromadb's client is thread-safe.
    One process at a time: opening a library another program holds raises
    :class:`LibraryBusy`.
    """

    def __init__(self, root: Path, embedding_model: str, chroma_host: str = "", chroma_port: int = 8000) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        _hold(root)  # raises LibraryBusy while another program has it open
        self._closed = False
        self.chroma_host = chroma_host.strip().strip("[]")
        self.chroma_port = int(chroma_port)
        self._client_lock = threading.Lock()
        self._remote_client: Any = None
        try:
            self.embedding_model = embedding_model
            self.manifest = mf.Manifest(root / "manifest.sqlite3")
            if not self.chroma_host:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                self._local_client: Any = chromadb.PersistentClient(
                    path=str(root / "chroma"), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
                )
            self._prefix = ""
            if self.chroma_host:
                from desktop.core.privacy import allow_host

                allow_host(self.chroma_host, self.chroma_port)  # exactly this server, nothing else
                library_id = self.manifest.get_meta("library_id")
                if not library_id:
                    library_id = uuid.uuid4().hex[:12]
                    self.manifest.set_meta("library_id", library_id)
                self._prefix = f"hearth-{library_id}-"
        except BaseException:
            _release(root)
            raise

    @property
    def location(self) -> str:
        """Where the vectors live: "" for this disk, else the server's ``host:port``."""
        return chroma_address(self.chroma_host, self.chroma_port) if self.chroma_host else ""

    @property
    def _client(self) -> Any:
        """The chromadb client: the local PersistentClient, or the server's HttpClient
        (connected on first use; :class:`StoreUnreachable` while the server is down)."""
        if not self.chroma_host:
            return self._local_client
        with self._client_lock:
            if self._remote_client is None:
                self._remote_client = _Guarded(connect_chroma_server(self.chroma_host, self.chroma_port),
                                               self.chroma_host, self.chroma_port)
            return self._remote_client

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.manifest.close()
        _release(self.root)

    # -- vector collections --------------------------------------------------------------

    def vectors(self, collection: str) -> Any:
        """The chromadb collection holding ``collection``'s chunk vectors (cosine space).

        Raises:
            LibraryError: there is no such library collection.
        """
        row = self.manifest.collection(collection)
        if row is None:
            raise LibraryError(f"There is no collection named {collection!r}.")
        return self._get_or_create(row["store_name"], {
            "hnsw:space": "cosine", "hearth_collection": collection, "embedding_model": row["embedding_model"]})

    def memory_vectors(self) -> Any:
        """The chromadb collection holding past exchanges' vectors (cosine space)."""
        return self._get_or_create(MEMORY_STORE, {"hnsw:space": "cosine", "embedding_model": self.embedding_model})

    def vector_ids(self, collection: str) -> set[str]:
        """Ids of every vector stored for ``collection`` (for consistency checks)."""
        return set(self.vectors(collection).get(include=[])["ids"])

    def count(self, collection: str) -> int:
        """Vectors stored for ``collection``."""
        return int(self.vectors(collection).count())

    def _get_or_create(self, name: str, metadata: dict[str, Any]) -> Any:
        # get first: chromadb's get_or_create_collection writes even when the collection
        # exists, and on a full disk that write blocks for good (seen with chromadb 1.x)
        from chromadb.errors import NotFoundError

        name = self._prefix + name
        client = self._client
        try:
            found = client.get_collection(name, embedding_function=None)
        except (NotFoundError, ValueError):
            found = client.get_or_create_collection(name, metadata=metadata, embedding_function=None)
        return _Guarded(found, self.chroma_host, self.chroma_port) if self.chroma_host else found

    def _drop_vectors(self, store_name: str, strict: bool = True) -> None:
        """Delete a store collection; a server that is down raises
        :class:`StoreUnreachable` unless ``strict`` is False (clean-ups on open, which
        must not stop the library from opening)."""
        try:
            self._client.delete_collection(self._prefix + store_name)
        except StoreUnreachable:
            if strict:
                raise
            log.warning("could not drop store collection %s: the Chroma server is not answering", store_name)
        except Exception:
            log.info("store collection %s was already gone", store_name)

    def check_space(self, need_bytes: int = 0) -> None:
        """Raise OSError(ENOSPC) when writing ``need_bytes`` more would leave less than
        :data:`RESERVE_BYTES` free on the library's disk."""
        free = shutil.disk_usage(self.root).free
        if free - need_bytes < RESERVE_BYTES:
            raise OSError(errno.ENOSPC, f"No space left on device: {free // 2**20} MB free, "
                          f"Hearth keeps {RESERVE_BYTES // 2**20} MB", str(self.root))

    # -- collections ---------------------------------------------------------------------

    def create_collection(self, name: str) -> None:
        """Create collection ``name`` (no-op if it exists).

        Raises:
            LibraryError: the name is empty or longer than 100 characters.
        """
        name = name.strip()
        if not name or len(name) > 100:
            raise LibraryError("A collection needs a name of 1 to 100 characters.")
        if self.manifest.collection(name) is not None:
            return
        self.manifest.add_collection(name, "docs-" + hashlib.sha1(name.encode()).hexdigest()[:16],
                                     self.embedding_model)
        self.vectors(name)

    def delete_collection(self, name: str) -> bool:
        """Delete a collection's vectors and manifest entries; False when there was none."""
        row = self.manifest.collection(name)
        if row is None:
            return False
        self._drop_vectors(row["store_name"])
        self.manifest.delete_collection(name)
        return True

    def version(self, collection: str) -> int:
        """Grows with every commit that changes ``collection``'s chunks (-1: no such
        collection); what retrieval compares its caches with."""
        return self.manifest.version(collection)

    def reconcile_embedding_model(self) -> None:
        """Collections made by another embedding model are emptied and their files marked
        "stale" (re-indexed by the next catch-up); past exchanges made by another model are
        dropped from the vector store and memory is marked "stale"."""
        self._reconcile_location()
        if self.embedding_model == "missing":
            return
        for row in self.manifest.collections():
            if same_embedding_space(row["embedding_model"], self.embedding_model):
                continue
            log.warning("collection %s was made by %s; re-indexing with %s", row["name"],
                        row["embedding_model"], self.embedding_model)
            self._drop_vectors(row["store_name"], strict=False)
            self.manifest.mark_stale(row["name"], self.embedding_model)
        memory_model = self.manifest.get_meta("memory_model")
        if self.manifest.has_memories() and memory_model and \
                not same_embedding_space(memory_model, self.embedding_model):
            self._drop_vectors(MEMORY_STORE, strict=False)
            self.manifest.set_meta("memory_model", "stale")
        elif not memory_model:
            self.manifest.set_meta("memory_model", self.embedding_model)

    def reconcile_chunking(self, chunk_tokens: int, overlap: int) -> int:
        """Passages made with another passage size or overlap (library settings, word
        pieces) are dropped and their files marked "stale" (re-indexed by the next
        catch-up), as after a change of embedding model.  The setting the chunks are made
        with is recorded in the manifest (``chunking``, "size/overlap"); a library from
        before it was recorded was chunked with the defaults (222/32).

        Returns:
            the number of files marked stale (0: nothing changed).
        """
        from desktop.core.settings import CHUNK_OVERLAP_DEFAULT, CHUNK_TOKENS_DEFAULT

        wanted = f"{int(chunk_tokens)}/{int(overlap)}"
        collections = self.manifest.collections()
        default = f"{CHUNK_TOKENS_DEFAULT}/{CHUNK_OVERLAP_DEFAULT}" if collections else wanted
        recorded = self.manifest.get_meta("chunking", "") or default
        stale = 0
        if recorded != wanted:
            log.warning("the library's passages were made as %s (size/overlap); re-indexing as %s",
                        recorded, wanted)
            for row in collections:
                stale += len(self.manifest.files(row["name"], state=mf.INDEXED)) + \
                    len(self.manifest.files(row["name"], state=mf.INDEXING))
                self._drop_vectors(row["store_name"], strict=False)
                self.manifest.mark_stale(row["name"], row["embedding_model"])
        if self.manifest.get_meta("chunking", "") != wanted:  # no write when nothing changed:
            self.manifest.set_meta("chunking", wanted)  # a library on a full disk still opens
        return stale

    def _reconcile_location(self) -> None:
        """The vectors moved (this disk <-> a Chroma server, or another server): what the
        manifest records as indexed has no vectors there, so its collections become
        "stale" (re-indexed from the files by the next catch-up) and memory's vectors are
        marked stale.  Only the manifest on this disk changes; no server is contacted."""
        where = self.location
        recorded = self.manifest.get_meta("vector_store", "")
        if recorded == where:
            return
        if self.manifest.collections() or self.manifest.has_memories():
            log.warning("the library's vectors moved from %s to %s; re-indexing", recorded or "this disk",
                        where or "this disk")
            for row in self.manifest.collections():
                self.manifest.mark_stale(row["name"], self.embedding_model)
            if self.manifest.has_memories():
                self.manifest.set_meta("memory_model", "stale")
        self.manifest.set_meta("vector_store", where)

    # -- writes, in the crash-safe order -------------------------------------------------

    def write_files(self, collection: str, files: Sequence[mf.FileEntry], vectors: np.ndarray,
                    metadatas: list[dict[str, Any]]) -> None:
        """Store parsed files: manifest rows "indexing" (old and new chunk ids) -> vectors
        upserted -> stale vectors deleted -> manifest committed "indexed".

        Args:
            vectors: (n_chunks, dim) float32, one row per chunk of ``files`` in order.
            metadatas: one dict per chunk, stored beside its vector.

        Raises:
            OSError: ENOSPC when the write would leave less than :data:`RESERVE_BYTES`
                free (nothing was written then).
        """
        # vectors, the HNSW index and the manifest's copy of the text: a generous estimate
        self.check_space(vectors.nbytes * 4 + sum(len(f.text) for f in files) * 3)
        store = self.vectors(collection)
        old_ids = self.manifest.begin_files(collection, files)
        ids = [i for f in files for i in f.chunk_ids]
        step = max(1, min(4000, int(self._client.get_max_batch_size())))
        for i in range(0, len(ids), step):
            store.upsert(ids=ids[i:i + step], embeddings=vectors[i:i + step], metadatas=metadatas[i:i + step])
        stale = [i for f in files for i in sorted(set(old_ids[f.path]) - set(f.chunk_ids))]
        if stale:
            store.delete(ids=stale)
        self.manifest.commit_files(collection, files)
        # a message read again: the attachments it no longer has go (its others were replaced)
        written = {f.path for f in files}
        self.remove_records([c for f in files if not f.parent
                             for c in self.manifest.children(collection, f.path) if c.path not in written])

    def record_skip(self, collection: str, path: str, size: int, mtime: float, reason: str) -> None:
        """Record ``path`` as skipped for ``reason``; vectors it had are removed first."""
        rec = self.manifest.file(collection, path)
        if rec is not None and rec.chunk_ids:
            self.remove_records([rec])
        self.remove_records(self.manifest.children(collection, path))  # a message's attachments
        self.manifest.record_skip(collection, path, size, mtime, reason)

    def remove_records(self, recs: Sequence[mf.FileRecord]) -> None:
        """Remove files from their collections: vectors first, then manifest rows (a kill
        in between leaves rows whose vectors are gone, which the next removal finishes)."""
        by_collection: dict[str, list[mf.FileRecord]] = {}
        for rec in recs:
            by_collection.setdefault(rec.collection, []).append(rec)
        for collection, group in by_collection.items():
            ids = [i for r in group for i in r.chunk_ids]
            if ids:
                self.check_space()
                store = self.vectors(collection)
                for i in range(0, len(ids), DELETE_BATCH):
                    store.delete(ids=ids[i:i + DELETE_BATCH])
            self.manifest.delete_files(collection, [r.id for r in group])

    def remove_path(self, path: Path | str) -> list[str]:
        """Remove a file, or every file under a folder, from all collections at once
        (vectors, chunks, text, manifest); a message file's attachments go with it.  Returns the collections of the files removed,
        one entry per file."""
        recs = self.manifest.files(under=str(Path(path).expanduser().absolute()))
        self.remove_records(recs)
        return [r.collection for r in recs]

    # -- memory --------------------------------------------------------------------------

    def add_memory(self, memory_id: str, vector: np.ndarray, conversation_id: int, title: str,
                   question: str, answer: str, created_at: float) -> None:
        """Store one exchange: its vector (shape (1, dim)), then its manifest row.

        Raises:
            OSError: ENOSPC when the disk is (nearly) full; nothing was written.
        """
        self.check_space()
        self.memory_vectors().upsert(ids=[memory_id], embeddings=vector,
                                     metadatas=[{"conversation_id": conversation_id}])
        self.manifest.add_memory(memory_id, conversation_id, title, question, answer, created_at)

    def delete_memories(self, memory_ids: Sequence[str]) -> None:
        """Remove stored exchanges: vectors, then manifest rows."""
        if memory_ids:
            self.memory_vectors().delete(ids=list(memory_ids))
            self.manifest.delete_memories(memory_ids)
