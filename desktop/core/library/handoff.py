"""Hand ``hearth index`` to the program that holds the library (the window).

One program at a time opens a library (:func:`desktop.core.library.store._hold`).  While
the window has it, ``hearth index PATH`` does not open it: it asks the window to index the
paths, and follows the window's progress events until they are done.

The channel is local and private: :mod:`multiprocessing.connection` (an AF_UNIX socket in
a private temporary folder on POSIX, a named pipe on Windows; never a TCP port), with a
random 32-byte key that both sides prove they know (HMAC challenge, done by
``multiprocessing.connection``).  The window writes the address and the key to
``ADDRESS_FILE`` in the library folder, readable by this user only (0600), and removes it
on close.  Messages are JSON (never pickles).

Protocol, one request per connection: the client sends ``{"op": "index", "paths":
[absolute paths], "collection": name}``; the server answers ``{"kind": "accepted"}`` (or
one "error" event), then the indexing job's :class:`~desktop.core.jobs.ProgressEvent`\\ s as
dictionaries, ending with its final one ("done", "cancelled" or "error").  A second
launch of the window sends ``{"op": "show"}``: the window comes to the front (from the
tray too) and answers ``{"kind": "shown"}``, so that Hearth opens once, as users expect of
a desktop application.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import queue
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from desktop.core.jobs import ProgressEvent
from desktop.core.library.store import HANDOFF_FILE

log = logging.getLogger(__name__)

#: the window's address and key, in the library folder (0600), present while it listens
ADDRESS_FILE = HANDOFF_FILE
#: seconds the client waits for the window to connect and accept before giving up
CONNECT_TIMEOUT_S = 5.0
_MAX_MESSAGE = 1 << 20  # bytes; a request is a list of paths


class HandoffUnavailable(Exception):
    """No program holding the library answers (none listens, or its address is stale)."""


class HandoffRefused(HandoffUnavailable):
    """The program holding the library answered but refused the request; the message
    says why (a path that is not there, say)."""


@dataclass
class IndexRequest:
    """Paths a terminal asked the window to index.

    Attributes:
        paths: absolute paths (files or folders) that existed when asked.
        collection: the collection to add them to.
        send: report to the terminal: a ProgressEvent, or None when the job has ended.
            Thread-safe and never blocks (events are queued and sent by the connection's
            thread); events after the terminal stopped waiting are dropped.
    """

    paths: list[Path]
    collection: str
    send: Callable[[ProgressEvent | None], None]


def _event_dict(ev: ProgressEvent) -> dict[str, Any]:
    return dataclasses.asdict(ev)


def _send_json(conn: Connection, obj: Any) -> None:
    conn.send_bytes(json.dumps(obj, default=str).encode("utf-8"))


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only (0600 on POSIX), atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


class HandoffServer:
    """Listens for ``hearth index`` requests while this program holds the library.

    Args:
        root: the library's folder (``ADDRESS_FILE`` is written there).
        on_request: called with each valid :class:`IndexRequest`, on the connection's own
            thread; it must not block (the window queues it to its GUI thread) and must
            end the job with ``request.send(None)``.
        on_show: called (on the connection's thread, without blocking) when the program is
            launched again: the window comes to the front.  None refuses such requests.

    Use :meth:`start`, then :meth:`close` (also a context manager).
    """

    def __init__(self, root: Path, on_request: Callable[[IndexRequest], None],
                 on_show: Callable[[], None] | None = None) -> None:
        self.root = Path(root)
        self.on_request = on_request
        self.on_show = on_show
        self._listener: Listener | None = None
        self._authkey = b""
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._jobs: set[queue.Queue[ProgressEvent | None]] = set()
        self._jobs_lock = threading.Lock()
        self._record = ""

    @property
    def address_file(self) -> Path:
        return self.root / ADDRESS_FILE

    def start(self) -> HandoffServer:
        """Listen and write the address file.

        Raises:
            OSError: the socket or the address file cannot be made.
        """
        self._authkey = secrets.token_bytes(32)
        family = "AF_PIPE" if sys.platform == "win32" else "AF_UNIX"
        # address None: multiprocessing picks a fresh one (POSIX: a socket in a private
        # temporary folder it removes at exit; Windows: \\.\pipe\pyc-...)
        self._listener = Listener(family=family, authkey=self._authkey)
        self._record = json.dumps({"address": self._listener.address, "family": family,
                                   "authkey": self._authkey.hex(), "pid": os.getpid()})
        _write_private(self.address_file, self._record)
        self._thread = threading.Thread(target=self._serve, name="hearth-handoff", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closing.is_set():
            try:
                conn = listener.accept()  # also checks the key both ways
            except (EOFError, ConnectionError, ValueError) as exc:  # a bad or vanished client
                log.info("handoff: refused a connection: %s", exc)
                continue
            except OSError:
                if not self._closing.is_set():
                    log.exception("handoff: the listener failed; hearth index is refused from now on")
                break
            except Exception as exc:  # AuthenticationError (wrong key) and the like
                log.info("handoff: refused a connection: %s", exc)
                continue
            if self._closing.is_set():
                conn.close()
                break
            threading.Thread(target=self._handle, args=(conn,), name="hearth-handoff-job", daemon=True).start()

    def _handle(self, conn: Connection) -> None:
        jobs: queue.Queue[ProgressEvent | None] = queue.Queue()
        try:
            if not conn.poll(CONNECT_TIMEOUT_S):
                return
            try:
                request = json.loads(conn.recv_bytes(_MAX_MESSAGE).decode("utf-8"))
                if request.get("op") == "show" and self.on_show is not None and not self._closing.is_set():
                    self.on_show()
                    _send_json(conn, {"kind": "shown"})
                    return
                paths = [Path(p) for p in request["paths"]]
                collection = str(request.get("collection") or "default")
                if request.get("op") != "index" or not paths:
                    raise ValueError("not an index request")
            except Exception as exc:
                _send_json(conn, {"kind": "error", "message": f"The window could not read the request: {exc}"})
                return
            bad = [str(p) for p in paths if not p.is_absolute() or not p.exists()]
            if bad:
                _send_json(conn, {"kind": "error", "message": f"Not found: {', '.join(bad)}. Check the path."})
                return
            with self._jobs_lock:
                if self._closing.is_set():
                    return
                self._jobs.add(jobs)
            _send_json(conn, {"kind": "accepted"})
            try:
                self.on_request(IndexRequest(paths, collection, jobs.put))
            except Exception as exc:
                log.exception("handoff: the window could not start indexing")
                _send_json(conn, _event_dict(ProgressEvent(
                    job="index", kind="error", message=f"The window could not start indexing: {exc}")))
                return
            while True:
                ev = jobs.get()
                if ev is None:
                    break
                try:
                    _send_json(conn, _event_dict(ev))
                except OSError:  # the terminal stopped waiting; the window goes on
                    break
                if ev.final:
                    break
        except OSError as exc:
            log.info("handoff: the terminal went away: %s", exc)
        finally:
            with self._jobs_lock:
                self._jobs.discard(jobs)
            conn.close()

    def close(self, timeout: float = 2.0) -> None:
        """Stop listening, remove the address file, and end the open connections (their
        terminals are told the window closed).  Idempotent."""
        if self._listener is None or self._closing.is_set():
            return
        self._closing.set()
        with contextlib.suppress(OSError):
            if self.address_file.read_text(encoding="utf-8") == self._record:
                self.address_file.unlink()
        with self._jobs_lock:
            for jobs in self._jobs:
                jobs.put(None)
        # closing a listening socket does not wake a thread blocked in accept() (Linux,
        # and named pipes on Windows): connect once so that accept() returns and sees
        # the flag
        if self._thread is not None and self._thread.is_alive():
            _connect(self._listener.address, self._listener_family(), self._authkey, timeout)
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _listener_family(self) -> str:
        return "AF_PIPE" if sys.platform == "win32" else "AF_UNIX"

    def __enter__(self) -> HandoffServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(address: Any, family: str, authkey: bytes, timeout: float) -> Connection | None:
    """A connection to ``address`` within ``timeout`` seconds, or None.  Run on a daemon
    thread: ``multiprocessing.connection.Client`` has no timeout of its own, and a program
    that hangs (or a stale address someone else reused) must not hang the caller."""
    result: dict[str, Any] = {}
    guard = threading.Lock()

    def attempt() -> None:
        try:
            conn = Client(address, family=family, authkey=authkey)
        except BaseException:  # refused, gone, wrong key: the caller says unavailable
            return
        with guard:
            if "late" in result:  # the caller gave up meanwhile
                conn.close()
            else:
                result["conn"] = conn

    thread = threading.Thread(target=attempt, name="hearth-handoff-connect", daemon=True)
    thread.start()
    thread.join(timeout)
    with guard:
        result["late"] = True
        found: Connection | None = result.get("conn")
    return found


class IndexHandoff:
    """Indexing asked of the program that holds the library; iterate for its events.

    Iterating yields :class:`ProgressEvent`\\ s until the final one ("done", "cancelled" or
    "error").  If the window closes first, the last event is an "error" saying so.
    :meth:`close` stops following (the window goes on indexing).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def __iter__(self) -> Iterator[ProgressEvent]:
        while True:
            try:
                # poll with a timeout, so that Ctrl+C is seen on every platform
                if not self._conn.poll(0.25):
                    continue
                raw = json.loads(self._conn.recv_bytes(_MAX_MESSAGE).decode("utf-8"))
            except (EOFError, OSError):
                yield ProgressEvent(job="index", kind="error", message=(
                    "The Hearth window closed before indexing finished. What was indexed is kept; "
                    "run the same command again to index the rest."))
                return
            fields = {f.name for f in dataclasses.fields(ProgressEvent)}
            ev = ProgressEvent(**{k: v for k, v in raw.items() if k in fields})
            yield ev
            if ev.final:
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.close()


def _open(root: Path, timeout: float) -> Connection:
    """A connection to the program holding the library at ``root``.

    Raises:
        HandoffUnavailable: no address file, it is stale, or no answer within ``timeout``.
    """
    try:
        record = json.loads((Path(root) / ADDRESS_FILE).read_text(encoding="utf-8"))
        address, family = record["address"], str(record["family"])
        authkey = bytes.fromhex(record["authkey"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HandoffUnavailable(f"no program listens for the library at {root}: {exc}") from None
    conn = _connect(address, family, authkey, timeout)
    if conn is None:
        raise HandoffUnavailable(f"the program at {address} did not answer (a stale address?)")
    return conn


def _ask(conn: Connection, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send ``request`` and return the first reply (the connection is closed on failure).

    Raises:
        HandoffUnavailable: no reply within ``timeout``, or the program went away.
    """
    try:
        _send_json(conn, request)
        if not conn.poll(timeout):
            raise HandoffUnavailable("the program holding the library did not accept the request in time")
        reply: dict[str, Any] = json.loads(conn.recv_bytes(_MAX_MESSAGE).decode("utf-8"))
        return reply
    except (OSError, EOFError, ValueError) as exc:
        conn.close()
        raise HandoffUnavailable(f"the program holding the library went away: {exc}") from None
    except HandoffUnavailable:
        conn.close()
        raise


def request_index(root: Path, paths: list[Path], collection: str = "default",
                  timeout: float = CONNECT_TIMEOUT_S) -> IndexHandoff:
    """Ask the program holding the library at ``root`` to index ``paths`` into ``collection``.

    Args:
        root: the library's folder.
        paths: files or folders (made absolute here).
        timeout: seconds to wait for the window to connect and accept.

    Returns:
        an :class:`IndexHandoff` to follow the job.

    Raises:
        HandoffUnavailable: no address file, or it is stale (the program was killed), or the
            program did not answer within ``timeout``.
        HandoffRefused: it answered but refused the request (the message says why).
    """
    conn = _open(root, timeout)
    reply = _ask(conn, {"op": "index", "paths": [str(Path(p).resolve()) for p in paths],
                        "collection": collection}, timeout)
    if reply.get("kind") != "accepted":
        conn.close()
        raise HandoffRefused(str(reply.get("message") or "the window refused the request"))
    return IndexHandoff(conn)


def request_show(root: Path, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Ask the window holding the library at ``root`` to come to the front.

    Raises:
        HandoffUnavailable: no window listens (it is closing, or was killed), or it did
            not answer within ``timeout``.
        HandoffRefused: the program holding it has no window to show.
    """
    conn = _open(root, timeout)
    reply = _ask(conn, {"op": "show"}, timeout)
    conn.close()
    if reply.get("kind") != "shown":
        raise HandoffRefused(str(reply.get("message") or "it has no window to show"))


__all__ = ["ADDRESS_FILE", "HandoffRefused", "HandoffServer", "HandoffUnavailable", "IndexHandoff", "IndexRequest", "request_index",
           "request_show"]
