"""Privacy at run time: no network, no telemetry, no downloads.

:func:`go_offline` sets the hub libraries' offline switches and turns telemetry off
before any of them is imported.  :func:`install_network_guard` adds a
``sys.addaudithook`` hook (PEP 578) that refuses any connection to a non-local address
and records the attempt; local inter-process channels (AF_UNIX, loopback) are allowed.
The app installs both at start; the test suite installs the guard for every test.

When ``HEARTH_NETWORK_LOG`` names a file, every process with the guard also appends
each connection it sees there, one line each (``PID local|blocked EVENT ADDRESS``), so a
test can prove that a whole run, all its processes included, tried no network.

The one exception is a model download the user asked for: :func:`allow_hosts` lets the
calling thread (only it, only while the ``with`` block runs) resolve and connect to the
named hosts; those connections are logged as ``allowed``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


class NetworkBlocked(PermissionError):
    """A non-local network connection was attempted; Hearth never makes one."""


_attempts: list[str] = []
_lock = threading.Lock()
_installed = False
_allowance = threading.local()  # .hosts: set of names, .resolved: the last name was allowed


def go_offline() -> None:
    """Set the environment so no library tries the network or sends telemetry."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if not isinstance(address, tuple) or not address:
        return True
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be network use


_allowed: set[tuple[str, int]] = set()


def allow_host(host: str, port: int) -> None:
    """Let the guard through to exactly ``host``:``port`` (a server the user configured,
    such as a remote chat engine).  A host name is resolved once here, and its addresses
    are allowed on that port too; nothing else is."""
    host = host.strip("[]").lower()
    with _lock:
        _allowed.add((host, int(port)))
    if _is_local((host,)):
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        return  # the connection itself will fail with a clear error
    with _lock:
        for info in infos:
            _allowed.add((str(info[4][0]).split("%")[0].lower(), int(port)))


def _is_allowed(host: Any, port: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    try:
        key = (str(host).split("%")[0].lower(), int(port))
    except (TypeError, ValueError):
        return False
    with _lock:
        return key in _allowed


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[1]
        family = getattr(sock, "family", None)
        if family == getattr(socket, "AF_UNIX", object()) or _is_local(address):
            _log("local", f"{event} {address!r}")
            return
        if isinstance(address, tuple) and len(address) >= 2 and _is_allowed(address[0], address[1]):
            _log("allowed", f"{event} {address!r}")
            return
        if event == "socket.connect" and getattr(_allowance, "resolved", None):
            _log("allowed", f"{event} {address!r} ({_allowance.resolved})")
            return
        _record(f"{event} {address!r}")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host is None or _is_local((host,)):
            _log("local", f"{event} {host!r}")
            return
        if _is_allowed(host, args[1] if len(args) > 1 and args[1] is not None else -1):
            _log("allowed", f"{event} {host!r}")
            return
        hosts = getattr(_allowance, "hosts", None)
        if hosts and str(host).lower() in hosts:
            # socket.create_connection resolves before every connect, so a connect right
            # after an allowed name goes to one of that name's addresses.
            _allowance.resolved = str(host).lower()
            _log("allowed", f"{event} {host!r}")
            return
        _allowance.resolved = None
        _record(f"{event} {host!r}")


@contextmanager
def allow_hosts(*hosts: str) -> Iterator[None]:
    """Let this thread resolve and connect to ``hosts`` (names or IP addresses) inside
    the block: the one network use Hearth has, a model download the user started.  Every
    other host stays blocked, in this thread and all others.  Connections are logged as
    ``allowed`` in the network log."""
    previous = getattr(_allowance, "hosts", None)
    _allowance.hosts = {*(previous or ()), *(h.lower().strip("[]") for h in hosts)}
    _allowance.resolved = None
    try:
        yield
    finally:
        _allowance.hosts = previous
        _allowance.resolved = None


def _log(kind: str, what: str) -> None:
    path = os.environ.get("HEARTH_NETWORK_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {kind} {what}\n")


def _record(what: str) -> None:
    with _lock:
        _attempts.append(what)
    _log("blocked", what)
    raise NetworkBlocked(f"Hearth does not use the network (blocked: {what})")


def record_incoming(what: str) -> None:
    """Note a connection that Hearth accepted (its server); incoming connections are
    never blocked, only logged (``PID incoming WHAT`` in ``HEARTH_NETWORK_LOG``)."""
    _log("incoming", what)


def install_network_guard() -> None:
    """Install the audit hook (once per process; audit hooks cannot be removed)."""
    global _installed
    if _installed:
        return
    sys.addaudithook(_hook)
    _installed = True


def private_files() -> None:
    """Make every file and folder this process creates private to the user (POSIX umask
    077: files 0600, folders 0700).  No effect on Windows, where the profile folder is
    already private."""
    if os.name == "posix":
        os.umask(0o077)


def harden() -> None:
    """Everything a Hearth process does first: offline, private files, network guard."""
    go_offline()
    private_files()
    install_network_guard()


def connection_attempts() -> list[str]:
    """Non-local connection attempts seen by the guard in this process, oldest first."""
    with _lock:
        return list(_attempts)


def clear_attempts() -> None:
    with _lock:
        _attempts.clear()
