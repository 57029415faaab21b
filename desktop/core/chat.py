"""The chat: one service that the window and the CLI both drive.

:class:`ChatService` turns "the user sent this" into a stream of :class:`ChatEvent`
objects while keeping the history durable: the user's message is committed before the
engine starts; the reply is committed as it streams (at most every
``commit_interval`` seconds) and finally marked complete, stopped or error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from desktop.core.engine import ChatBackend, ChatMessage, EngineError, SamplingParams
from desktop.core.history import History, HistoryError, Message
from desktop.core.jobs import CancelToken
from desktop.core.settings import ChatSettings
from desktop.core.sources import ContextProvider, Source, ground_messages

log = logging.getLogger(__name__)


@dataclass
class ChatEvent:
    """What happened while answering.

    kind:
        "user_message": ``message`` is the user's committed message.
        "reply_started": ``message`` is the assistant's (empty, streaming) message.
        "sources": ``sources`` were retrieved and given to the model.
        "token": ``text`` is the next piece of the answer.
        "trimmed": ``data["dropped"]`` oldest messages did not fit the context window.
        "finished": ``message`` is the final reply (status complete, stopped or error);
            ``data`` has the engine's figures (tokens_per_s, context_used, n_ctx, ...).
    """

    kind: str
    text: str = ""
    message: Message | None = None
    sources: list[Source] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def title_from(text: str, words: int = 7) -> str:
    """A conversation title from its first message."""
    parts = text.split()
    title = " ".join(parts[:words])
    return (title[:60] + ("…" if len(parts) > words or len(title) > 60 else "")) or "New chat"


class ChatService:
    """Answers in a conversation, keeping the history durable.

    Args:
        history: the conversation store.
        engine: the chat backend (IsolatedBackend in the app).
        settings: sampling defaults.
        context: the library and memory, or None for plain chat.
        commit_interval: seconds between commits of a streaming reply.
    """

    def __init__(
        self,
        history: History,
        engine: ChatBackend,
        settings: ChatSettings,
        context: ContextProvider | None = None,
        commit_interval: float = 0.2,
    ) -> None:
        self.history = history
        self.engine = engine
        self.settings = settings
        self.context = context
        self.commit_interval = commit_interval

    def params(self, **overrides: Any) -> SamplingParams:
        p = SamplingParams(
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
            max_tokens=self.settings.max_tokens,
            seed=self.settings.seed,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(p, key, value)
        return p

    def send(
        self, conversation_id: int, text: str, cancel: CancelToken | None = None,
        params: SamplingParams | None = None,
    ) -> Iterator[ChatEvent]:
        """Commit the user's message, then stream the reply."""
        if not text.strip():
            raise ValueError("The message is empty.")
        conv = self.history.get_conversation(conversation_id)
        if conv.title in ("New chat", "") and not self.history.messages(conversation_id):
            self.history.rename_conversation(conversation_id, title_from(text))
        msg = self.history.add_message(conversation_id, "user", text)
        yield ChatEvent("user_message", message=msg)
        yield from self.reply(conversation_id, cancel, params)

    def regenerate(
        self, conversation_id: int, cancel: CancelToken | None = None,
        params: SamplingParams | None = None,
    ) -> Iterator[ChatEvent]:
        """Drop the last reply (if the last message is one) and answer again."""
        msgs = self.history.messages(conversation_id)
        if msgs and msgs[-1].role == "assistant":
            self.history.delete_messages_from(conversation_id, msgs[-1].id)
        if not any(m.role == "user" for m in self.history.messages(conversation_id)):
            raise ValueError("There is no question to answer again.")
        yield from self.reply(conversation_id, cancel, params)

    def edit_last_user_message(
        self, conversation_id: int, text: str, cancel: CancelToken | None = None,
        params: SamplingParams | None = None,
    ) -> Iterator[ChatEvent]:
        """Replace the last user message (and drop what followed it), then answer."""
        msgs = self.history.messages(conversation_id)
        last_user = next((m for m in reversed(msgs) if m.role == "user"), None)
        if last_user is None:
            raise ValueError("There is no message to edit.")
        self.history.delete_messages_from(conversation_id, last_user.id)
        yield from self.send(conversation_id, text, cancel, params)

    def prompt_messages(self, conversation_id: int) -> list[ChatMessage]:
        """The conversation as the engine sees it (system prompt first)."""
        conv = self.history.get_conversation(conversation_id)
        system = conv.system_prompt or self.settings.system_prompt
        msgs: list[ChatMessage] = [{"role": "system", "content": system}] if system else []
        for m in self.history.messages(conversation_id):
            if m.role in ("user", "assistant") and (m.content or m.role == "user"):
                msgs.append({"role": m.role, "content": m.content})  # type: ignore[typeddict-item]
        return msgs

    def reply(
        self, conversation_id: int, cancel: CancelToken | None = None,
        params: SamplingParams | None = None,
    ) -> Iterator[ChatEvent]:
        """Stream an answer to the conversation as it stands."""
        cancel = cancel or CancelToken()
        params = params or self.params()
        conv = self.history.get_conversation(conversation_id)
        messages = self.prompt_messages(conversation_id)
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        sources: list[Source] = []
        if self.context is not None and conv.use_library and question:
            try:
                sources = self.context.sources_for(question, conv.collections or None, budget_tokens=1200)
            except Exception:  # the library must never stop the chat
                log.exception("retrieval failed; answering without sources")
        model_name = self.engine.model.name if self.engine.model else ""
        reply = self.history.add_message(
            conversation_id, "assistant", "", status="streaming", model=model_name,
            meta={"sources": [s.to_dict() for s in sources]} if sources else {},
        )
        yield ChatEvent("reply_started", message=reply)
        if sources:
            yield ChatEvent("sources", sources=sources, message=reply)
        text = ""
        last_commit = time.monotonic()
        status, stats, error = "complete", {}, None
        try:
            for ev in self.engine.generate(ground_messages(messages, sources), params, cancel):
                if ev.kind == "token":
                    text += ev.text
                    yield ChatEvent("token", text=ev.text)
                    now = time.monotonic()
                    if now - last_commit >= self.commit_interval:
                        try:
                            self.history.update_message(reply.id, content=text)
                        except HistoryError:
                            cancel.cancel()  # cannot save: stop, keep what was saved
                            raise
                        last_commit = now
                elif ev.kind == "trimmed":
                    yield ChatEvent("trimmed", data=dict(ev.data))
                elif ev.kind == "done":
                    stats = dict(ev.data)
                    if stats.get("finish_reason") == "cancelled":
                        status = "stopped"
        except EngineError as exc:
            status, error = "error", str(exc)
        except GeneratorExit:
            self.history.update_message(reply.id, content=text, status="stopped")
            raise
        meta = dict(reply.meta)
        meta["stats"] = stats
        if error:
            meta["error"] = error
        self.history.update_message(reply.id, content=text, status=status, meta=meta)
        final = self.history.get_message(reply.id)
        if status == "complete" and self.context is not None and text.strip():
            try:
                self.context.remember(conversation_id, conv.title, question, text)
            except Exception:
                log.exception("could not store the exchange in memory")
        yield ChatEvent("finished", message=final, data={**stats, "error": error})
