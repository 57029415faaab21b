"""Watched folders: watchdog events, debounced, turned into index and remove jobs.

Changes are collected per path; once no new change has arrived for ``debounce_s``
seconds the batch is applied on the watcher's own thread: existing paths are indexed
into their folder's collection, vanished ones removed at once.  Before watching, the
watcher catches up with what changed while Hearth was closed
(:meth:`Library.catch_up`).  Every event of those jobs goes to ``on_event``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.jobs import CancelToken, ProgressEvent

if TYPE_CHECKING:
    from desktop.core.library.library import Library

log = logging.getLogger(__name__)


class FolderWatcher:
    """Keeps a library's watched folders indexed while the app runs.

    Args:
        library: the library to update.
        on_event: called (from the watcher's thread) with every ProgressEvent.
        debounce_s: quiet time before a batch of changes is applied.
    """

    def __init__(self, library: Library, on_event: Callable[[ProgressEvent], None] | None = None,
                 debounce_s: float = 2.0) -> None:
        from watchdog.observers import Observer

        self.library = library
        self.on_event = on_event
        self.debounce_s = debounce_s
        self._observer: Any = Observer()
        self._watches: dict[str, Any] = {}
        self._pending: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.cancel = CancelToken()
        self._thread = threading.Thread(target=self._run, daemon=True, name="library-watcher")
        self.busy = threading.Event()  # set while applying changes (tests wait on idle)

    def start(self) -> None:
        for folder, _ in self.library.folders():
            self.watch(Path(folder))
        self._observer.start()
        self._thread.start()

    def watch(self, folder: Path) -> None:
        from watchdog.events import FileSystemEventHandler

        key = str(folder)
        if key in self._watches or not folder.is_dir():
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
        if handle is not None:
            try:
                self._observer.unschedule(handle)
            except (KeyError, ValueError):
                pass

    def changed(self, path: str) -> None:
        name = os.path.basename(path)
        if name.startswith((".", "~$")) or name.endswith(("~", ".tmp", ".part", ".swp")):
            return
        with self._lock:
            self._pending[path] = time.monotonic()
        self._wake.set()

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
            for event in self.library.catch_up(self.cancel):
                self._emit(event)
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
        for collection, paths in by_collection.items():
            if self.cancel.cancelled:
                return
            for event in self.library.index_paths(paths, collection, self.cancel):
                self._emit(event)

    def stop(self) -> None:
        self.cancel.cancel()
        self._wake.set()
        try:
            self._observer.stop()
            self._observer.join(timeout=5)
        except Exception:
            pass
        if self._thread.is_alive():
            self._thread.join(timeout=30)
