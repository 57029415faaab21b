"""Personalization: a LoRA adapter trained overnight on the user's own documents.

Modules: dataset (what it learns from), trainer (PEFT LoRA in PyTorch), export (llama.cpp
GGUF adapter), evaluate (perplexity, recall, promotion), registry (the adapters folder),
schedule (start time, budget, mains power), pipeline (one run as a job), worker (the
training process), controller (start/follow/cancel it).  No Qt here.

The app calls :func:`apply_active_adapter` after loading a model and whenever the
adapter settings change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop.core.personalize.dataset import Document, conversation_documents, read_folder
from desktop.core.personalize.registry import AdapterMismatch, AdapterRegistry

log = logging.getLogger(__name__)

__all__ = ["AdapterMismatch", "AdapterRegistry", "active_adapter_name", "apply_active_adapter",
           "gather_documents"]


def active_adapter_name(settings: Any) -> str | None:
    """The personal adapter the chat uses now (``settings``: the app's Settings), or None
    when personalization is switched off or no adapter is active."""
    if not settings.personalization.adapter_enabled:
        return None
    name: str | None = AdapterRegistry().active_name
    return name


def apply_active_adapter(core: Any, registry: AdapterRegistry | None = None) -> str | None:
    """Apply the active adapter to ``core.engine`` with the user's strength, or none.

    Reads ``core.settings.personalization.adapter_enabled`` / ``adapter_scale``, checks
    that the adapter was made for the model in use (``core.current_model_path()``, by
    file SHA-256) and calls ``core.engine.set_adapters``.  Switching off applies [].

    Returns:
        the applied adapter's name, or None when none is applied.
    Raises:
        AdapterMismatch: the active adapter belongs to another base model; no adapter is
            applied and the message says what to do.
    """
    registry = registry or AdapterRegistry()
    settings = core.settings.personalization
    name = registry.active_name
    if not settings.adapter_enabled or name is None or settings.adapter_scale <= 0:
        core.engine.set_adapters([])
        return None
    try:
        entry = registry.check_compatible(name, Path(core.current_model_path()))
    except AdapterMismatch:
        core.engine.set_adapters([])
        raise
    scale = max(0.0, min(2.0, float(settings.adapter_scale)))
    core.engine.set_adapters([(str(entry.path), scale)])
    return entry.name


def gather_documents(core: Any = None, docs_path: Path | None = None,
                     include_conversations: bool | None = None) -> Iterator[Document]:
    """The documents to learn from: ``docs_path`` (a folder of .txt/.md files) if given,
    else ``core.library.documents()``; plus the conversations when the user opted in
    (settings.personalization.include_conversations) and ``core`` is given.

    Raises:
        ValueError: neither a folder nor a library is available.
    """
    if docs_path is not None:
        yield from read_folder(Path(docs_path))
    elif core is not None and getattr(core, "library", None) is not None:
        yield from core.library.documents()
    else:
        raise ValueError(
            "There is no document library to learn from. Index some documents first, or "
            "pass a folder with --docs."
        )
    if include_conversations is None:
        include_conversations = bool(core is not None and core.settings.personalization.include_conversations)
    if include_conversations and core is not None:
        yield from conversation_documents(core.history)
