"""Watched folders: watchdog events, debounced, turned into index and remove jobs.

Changes are collected per path; once no new change has arrived for ``debounce_s``
seconds the batch is applied on the watcher's own thread: existing paths are indexed
into their folder's collection, vanished ones removed at once.  Before watching, the
watcher catches up with what changed while Hearth was closed
(:meth:`Library.catch_up`).  Every event of those jobs goes to ``on_event``.

The watcher is owned above the library (the app's core holds it as ``core.watcher``): it
depends only on the small :class:`WatchedLibrary` protocol, which
:class:`desktop.core.library.Library` satisfies, and the library does not know it; it
follows the list of watched folders through :meth:`WatchedLibrary.add_folder_listener`.
Names are ignored by the same rule as indexing's scan (:func:`.scan.is_ignored`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from desktop.core.jobs import CancelToken, ProgressEvent
from desktop.core.library.scan import is_ignored

log = logging.getLogger(__name__)


class WatchedLibrary(Protocol):
    """What the watcher needs of a library."""

    def folders(self) -> list[tuple[str, str]]: ...

    def folder_collection(self, path: Path) -> str | None: ...

    def catch_up(self, cancel: CancelToken | None = None) -> Iterator[ProgressEvent]: ...

    def index_paths(self, paths: Sequence[Path], collection: str = ...,
                    cancel: CancelToken | None = None) -> Iterator[ProgressEvent]: ...

    def remove_path(self, path: Path | str) -> int: ...

    def add_folder_listener(self, listener: Callable[[Path, bool], None]) -> Callable[[], None]: ...


class FolderWatcher:
    """Keeps a library's watched folders indexed while the app runs.

    Made idle; :meth:`start` catches up and begins watching, :meth:`stop` ends it for good.

    Args:
        library: the library to update.
        on_event: called (from the watcher's thread) with every ProgressEvent.
        debounce_s: quiet time before a batch of changes is applied.
    """

    def __init__(self, library: WatchedLibrary, on_event: Callable[[ProgressEvent], None] | None = None,
                 debounce_s: float = 2.0) -> None:
        self.library = library
        self.on_event = on_event
        self.debounce_s = debounce_s
        self._observer: Any = None
        self._watches: dict[str, Any] = {}
        self._pending: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.cancel = CancelToken()
        self._job: CancelToken | None = None  # the indexing job running now, if any
        self._thread = threading.Thread(target=self._run, daemon=True, name="library-watcher")
        self._unlisten: Callable[[], None] | None = None
        self.busy = threading.Event()  # set while applying changes (tests wait on idle)

    @property
    def watched_folders(self) -> list[str]:
        """The folders being watched now (absolute paths, sorted)."""
        return sorted(self._watches)

    @property
    def running(self) -> bool:
        """Whether :meth:`start` was called and :meth:`stop` not yet."""
        return self._observer is not None and not self.cancel.cancelled

    def start(self, on_event: Callable[[ProgressEvent], None] | None = None) -> None:
        """Catch up with changes made while Hearth was closed, then watch every watched
        folder (and those added later) until :meth:`stop`; no-op when running or stopped.

        Args:
            on_event: replaces the ``on_event`` given at construction.

        Raises:
            OSError: the system's file watching cannot start.
        """
        from watchdog.observers import Observer

        if self._observer is not None or self.cancel.cancelled:
            return
        if on_event is not None:
            self.on_event = on_event
        self._observer = Observer()
        self._unlisten = self.library.add_folder_listener(self._folder_changed)
        for folder, _ in self.library.folders():
            self.watch(Path(folder))
        self._observer.start()
        self._thread.start()

    def _folder_changed(self, folder: Path, watched: bool) -> None:
        if watched:
            self.watch(folder)
        else:
            self.unwatch(folder)

    def watch(self, folder: Path) -> None:
        from watchdog.events import FileSystemEventHandler

        key = str(folder)
        if self._observer is None or key in self._watches or not folder.is_dir():
            return
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                if event.is_directory and event.event_type in ("modified", "closed"):
                    return  # a folder's mtime changes with its files; those come on their own
                for attr in ("src_path", "dest_path"):
                    p = getattr(event, attr, "")
                    if p:
                        watcher.changed(os.fsdecode(p))

        try:
            self._watches[key] = self._observer.schedule(Handler(), key, recursive=True)
        except OSError as exc:
            log.warning("cannot watch %s: %s", key, exc)

    def unwatch(self, folder: Path) -> None:
        handle = self._watches.pop(str(folder), None)
        if handle is not None and self._observer is not None:
            try:
                self._observer.unschedule(handle)
            except (KeyError, ValueError):
                pass

    def changed(self, path: str) -> None:
        if is_ignored(os.path.basename(path)):
            return
        with self._lock:
            self._pending[path] = time.monotonic()
        self._wake.set()

    def cancel_job(self) -> bool:
        """Stop the indexing job running now (catching up, or applying a change) and keep
        watching; the files it had not reached are indexed with the next change or the
        next start, as after a cancelled run of the window's own.  Returns whether a job
        was running."""
        with self._lock:
            job = self._job
        if job is None or job.cancelled:
            return False
        job.cancel()
        return True

    def _new_job(self) -> CancelToken:
        """A token for the next job, cancelled too by :meth:`stop`."""
        job = CancelToken()
        with self._lock:
            self._job = job
        if self.cancel.cancelled:
            job.cancel()
        return job

    def changes_waiting(self) -> int:
        """Changed files seen and not yet handed to an indexing job (the quiet time of
        ``debounce_s`` runs): a note saved a moment ago."""
        with self._lock:
            return len(self._pending)

    def idle(self) -> bool:
        """True when no change is waiting or being applied."""
        with self._lock:
            return not self._pending and not self.busy.is_set()

    def _emit(self, event: ProgressEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("watch event callback failed")

    def _run(self) -> None:
        self.busy.set()
        try:
            job = self._new_job()
            self._follow(self.library.catch_up(job), job)
        except Exception as exc:
            log.exception("catching up with watched folders failed")
            self._emit(ProgressEvent("index", "error", message=f"Catching up failed: {exc}"))
        finally:
            self.busy.clear()
        while not self.cancel.cancelled:
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                if not self._pending:
                    continue
                newest = max(self._pending.values())
                if time.monotonic() - newest < self.debounce_s:
                    continue
                batch = sorted(self._pending)
                self._pending.clear()
                self.busy.set()
            try:
                self._apply(batch)
            except Exception as exc:
                log.exception("applying folder changes failed")
                self._emit(ProgressEvent("index", "error", message=f"Updating the library failed: {exc}"))
            finally:
                self.busy.clear()

    def _apply(self, batch: list[str]) -> None:
        by_collection: dict[str, list[Path]] = {}
        for raw in batch:
            path = Path(raw)
            if not os.path.lexists(path):
                removed = self.library.remove_path(path)
                if removed:
                    self._emit(ProgressEvent("index", "log", message=f"Removed {path.name} from the library."))
                continue
            collection = self.library.folder_collection(path)
            if collection is not None:
                by_collection.setdefault(collection, []).append(path)
        job = self._new_job()
        self._follow((event for collection, paths in by_collection.items() if not job.cancelled
                      for event in self.library.index_paths(paths, collection, job)), job)

    def _follow(self, events: Iterator[ProgressEvent], job: CancelToken) -> None:
        """Pass on a job's events; one cancelled before it said so (before it began)
        still ends with a "cancelled" event, which the window waits for."""
        ended = False
        for event in events:
            ended = ended or event.kind == "cancelled"
            self._emit(event)
        if job.cancelled and not ended and not self.cancel.cancelled:
            self._emit(ProgressEvent("index", "cancelled", message=(
                "Indexing stopped; the watched folders are brought up to date with their next change "
                "or when Hearth starts.")))

    def close(self) -> None:
        """Same as :meth:`stop` (the core closes what it owns)."""
        self.stop()

    def stop(self) -> None:
        """Stop watching and wait for the change being applied (its job is cancelled)."""
        self.cancel.cancel()
        with self._lock:
            job = self._job
        if job is not None:
            job.cancel()
        self._wake.set()
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._observer is None:
            return
        try:
            self._observer.stop()
            self._observer.join(timeout=5)
        except Exception:
            pass
        self._watches.clear()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
