"""The chat: one service that the window and the CLI both drive.

:class:`ChatService` turns "the user sent this" into a stream of :class:`ChatEvent`
objects while keeping the history durable: the user's message is committed before the
engine starts; the reply is committed as it streams (at most every
``commit_interval`` seconds) and finally marked complete, stopped or error.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from desktop.core import answering
from desktop.core.answering import AnswerPlan
from desktop.core.engine import ChatBackend, ChatMessage, EngineError, SamplingParams
from desktop.core.history import History, HistoryError, Message
from desktop.core.jobs import CancelToken
from desktop.core.priority import ChatPriority
from desktop.core.sensitive import mentions_secret, sensitive_content
from desktop.core.settings import ChatSettings
from desktop.core.sources import ContextProvider, Source

log = logging.getLogger(__name__)

#: Earlier answers a regenerated reply keeps readable (``Message.meta["earlier"]``).
EARLIER_ANSWERS_KEPT = 4


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
            ``data`` has the engine's figures (tokens_per_s, context_used, n_ctx, ...)
            and ``data["error"]``: the failure's message, or None.  Every failure after
            the reply was started is recorded in the history here (status error, the
            text so far kept), not left to the caller.
    """

    kind: str
    text: str = ""
    message: Message | None = None
    sources: list[Source] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def title_from(text: str, words: int = 7) -> str:
    """A conversation title from its first message; in a message that holds a secret
    (:func:`desktop.core.sensitive.sensitive_content`), words with a digit or symbol
    become "•••" (the chat list is on screen whenever the window is: "Gmail password is
    •••", not the password)."""
    if sensitive_content(text):
        text = re.sub(r"\S*[\d!@#$%^&*]\S*", "•••", text)
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
        priority: told when each answer starts and ends, so background jobs pause
            meanwhile (:class:`desktop.core.priority.ChatPriority`); None: nothing pauses.
    """

    def __init__(
        self,
        history: History,
        engine: ChatBackend,
        settings: ChatSettings,
        context: ContextProvider | None = None,
        commit_interval: float = 0.2,
        priority: ChatPriority | None = None,
    ) -> None:
        self.history = history
        self.engine = engine
        self.settings = settings
        self.context = context
        self.commit_interval = commit_interval
        self.priority = priority

    def params_if_overridden(self, **overrides: Any) -> SamplingParams | None:
        """:meth:`params` with ``overrides`` when any is set, else None (so the service
        chooses: greedy and short for a factual question answered from the files)."""
        return self.params(**overrides) if any(v is not None for v in overrides.values()) else None

    def params(self, **overrides: Any) -> SamplingParams:
        p = SamplingParams(
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
            max_tokens=self.settings.max_tokens,
            seed=self.settings.seed,
            repeat_penalty=self.settings.repeat_penalty,
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
        """Answer the last question again.  The last reply (if the last message is one) is
        replaced, and kept in the new one's ``meta["earlier"]`` (oldest first, at most
        :data:`EARLIER_ANSWERS_KEPT`, each ``{"content", "sources"}``) so that it can still
        be read: a right answer had been replaced by a wrong one for good (ninth new-user
        trial).  Memory forgets it."""
        msgs = self.history.messages(conversation_id)
        earlier: list[dict[str, Any]] = []
        if msgs and msgs[-1].role == "assistant":
            last = msgs[-1]
            earlier = list(last.meta.get("earlier") or [])
            if last.content.strip():
                earlier.append({"content": last.content, "sources": last.meta.get("sources") or []})
            self._forget_replies(conversation_id, msgs, last.id)
            self.history.delete_messages_from(conversation_id, last.id)
        if not any(m.role == "user" for m in self.history.messages(conversation_id)):
            raise ValueError("There is no question to answer again.")
        yield from self.reply(conversation_id, cancel, params, fresh=False,
                              earlier=earlier[-EARLIER_ANSWERS_KEPT:])

    def edit_last_user_message(
        self, conversation_id: int, text: str, cancel: CancelToken | None = None,
        params: SamplingParams | None = None,
    ) -> Iterator[ChatEvent]:
        """Replace the last user message (and drop what followed it), then answer.  A
        conversation titled from the message edited (its first) is titled from the new
        text; a title the user gave is kept."""
        msgs = self.history.messages(conversation_id)
        last_user = next((m for m in reversed(msgs) if m.role == "user"), None)
        if last_user is None:
            raise ValueError("There is no message to edit.")
        if not text.strip():
            raise ValueError("The message is empty.")
        first_user = next(m for m in msgs if m.role == "user")
        if (first_user.id == last_user.id
                and self.history.get_conversation(conversation_id).title == title_from(last_user.content)):
            self.history.rename_conversation(conversation_id, title_from(text))
        self._forget_replies(conversation_id, msgs, last_user.id)
        self.history.delete_messages_from(conversation_id, last_user.id)
        yield from self.send(conversation_id, text, cancel, params)

    def _forget_replies(self, conversation_id: int, msgs: list[Message], from_id: int) -> None:
        """Drop from memory the exchanges whose replies are about to be deleted (from
        message ``from_id`` on), so a replaced answer is never recalled."""
        if self.context is None:
            return
        question = ""
        for m in msgs:
            if m.role == "user":
                question = m.content
            elif m.role == "assistant" and m.id >= from_id:
                # a stopped reply's statement was kept without the reply (see _reply)
                answers = [m.content] if m.content.strip() else []
                answers += [""] if m.status == "stopped" else []
                for answer in answers:
                    try:
                        self.context.forget(conversation_id, question, answer)
                    except Exception:
                        log.exception("could not forget a replaced answer")

    def _plan(self, conversation_id: int, conv: Any, question: str,
              earlier: Sequence[str] = ()) -> tuple[AnswerPlan, str]:
        """Retrieve for ``question`` (its misspelt words corrected to the files' words;
        never recalling this conversation itself; what the user stated ``earlier`` in it is
        offered instead, :func:`answering.said_earlier`) and plan the reply; the library
        failing never stops the chat.  Returns the plan and the question it answers."""
        if self.context is None or not conv.use_library or not question:
            return AnswerPlan(), question
        collections = conv.collections or None
        try:
            question = self.context.correct_spelling(question, collections)
            sources = self.context.sources_for(question, collections, answering.CANDIDATE_BUDGET_TOKENS,
                                               exclude_conversation=conversation_id)
            searched = self.context.has_documents(collections)
            named = searched and self.context.mentions(question, collections)
        except Exception as exc:
            from desktop.core.library.store import StoreUnreachable

            if isinstance(exc, StoreUnreachable):  # the user must know the files were not read
                log.warning("retrieval failed: %s", exc)
                return AnswerPlan(notice=f"I couldn't search your files: {exc}"), question
            log.exception("retrieval failed; answering without sources")
            return AnswerPlan(), question
        stated = answering.said_earlier(question, earlier, conversation_id)
        plan = AnswerPlan.make(question, sources + stated, searched, self.context.similarity, named)
        if plan.not_found:
            try:
                plan.waiting = self.context.files_waiting(collections)
            except Exception:
                log.exception("could not count the files waiting to be read")
        return plan, question

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
        params: SamplingParams | None = None, fresh: bool = True,
        earlier: Sequence[dict[str, Any]] = (),
    ) -> Iterator[ChatEvent]:
        """Stream an answer to the conversation as it stands (``earlier``: the answers it
        replaces, kept in its ``meta["earlier"]``, see :meth:`regenerate`).

        With the library on, a question is answered from the sentences of the user's files
        that match it best (:mod:`desktop.core.answering`); the sources shown are exactly
        the passages the model was given, and the sentence the answer rests on is marked in
        its source's ``extra["evidence"]``.  A question that nothing in the files answers
        gets :data:`NOT_FOUND` first, then the model's general answer, marked as such.  A
        question a note's labelled line answers ("Password: …") gets that line
        (:func:`desktop.core.answering.labelled_value`) unless it is regenerated.  A
        ``fresh`` factual question with no ``params`` given is decoded greedily and short;
        Regenerate (``fresh`` False) samples with the settings.  Background jobs
        registered with ``priority`` pause from the start of the answer to its end.
        """
        if self.priority is None:
            yield from self._reply(conversation_id, cancel, params, fresh, earlier)
            return
        with self.priority.answering():
            yield from self._reply(conversation_id, cancel, params, fresh, earlier)

    def _reply(
        self, conversation_id: int, cancel: CancelToken | None, params: SamplingParams | None,
        fresh: bool, earlier: Sequence[dict[str, Any]] = (),
    ) -> Iterator[ChatEvent]:
        cancel = cancel or CancelToken()
        conv = self.history.get_conversation(conversation_id)
        messages = self.prompt_messages(conversation_id)
        said = [m["content"] for m in messages if m["role"] == "user"]
        question = said[-1] if said else ""
        # a follow-up ("What is her phone number?") is searched with the question before it
        typed = answering.contextual_question(said)
        plan, query = self._plan(conversation_id, conv, typed, said[:-1])  # misspellings corrected
        if params is None:
            params = self.params()
            if fresh and plan.factual and (plan.evidence or plan.memories or plan.not_found):
                params.temperature = 0.0
                params.repeat_penalty = 1.0  # the answer copies words from the quote
                params.max_tokens = min(params.max_tokens, answering.FACTUAL_MAX_TOKENS)
        if plan.evidence or plan.memories:  # the reply ends where it starts copying the prompt's frame
            params = replace(params, stop=[*params.stop, *answering.ECHO_STOPS])
        # greedy decoding without a repeat penalty is what loops; a sampled poem may repeat
        # its refrain on purpose
        greedy = params.temperature == 0.0 and params.repeat_penalty <= 1.0
        sources = plan.shown_sources()
        model_name = self.engine.model.name if self.engine.model else ""
        meta: dict[str, Any] = {"sources": [s.to_dict() for s in sources]} if sources else {}
        if earlier:
            meta["earlier"] = list(earlier)
        reply = self.history.add_message(
            conversation_id, "assistant", "", status="streaming", model=model_name, meta=meta)
        yield ChatEvent("reply_started", message=reply)
        if sources:
            yield ChatEvent("sources", sources=sources, message=reply)
        text = ""
        last_commit = time.monotonic()
        status, stats, error = "complete", {}, None
        quote = ""  # what replaces the model's answer (ReplyStream.ending)
        try:
            # "not found", a note's own line, or the one value asked for: no model needed;
            # no general answer to a question about the user, it could only be invented
            opening, model_writes = plan.opening(fresh)  # Regenerate asks the model
            text = opening
            if text:
                yield ChatEvent("token", text=text)
            # a fact's answer is held back until it is known not to begin with a preamble
            # ("The answer to the question is:") or the question itself, which are left out
            stream = answering.ReplyStream(plan, query, greedy, fresh)
            if model_writes and cancel.cancelled:  # stopped while the library was searched
                model_writes, status = False, "stopped"
            events = self.engine.generate(plan.prompt(messages), params, cancel) if model_writes else iter(())
            for ev in events:
                if ev.kind == "token":
                    piece = stream.feed(ev.text)
                    text = opening + stream.shown
                    if stream.looped:  # the same words over and over: kept once, stopped
                        getattr(events, "close", lambda: None)()  # the engine stops the answer
                        break
                    if piece:
                        yield ChatEvent("token", text=piece)
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
            # the quoted sentence where the answer said nothing or does not rest on the quotes;
            # else what was held back (a fact's answer, a quotation mark until its pair was known)
            quote = stream.ending() if status == "complete" and model_writes else ""
            rest = "" if quote else stream.flush()
            if rest:
                yield ChatEvent("token", text=rest)
                text = opening + stream.shown
        except EngineError as exc:
            status, error = "error", str(exc)
        except GeneratorExit:
            self.history.update_message(reply.id, content=text, status="stopped")
            raise
        except HistoryError:
            raise  # the history cannot be written: nothing more can be recorded
        except Exception as exc:  # any other failure is recorded too, never left "streaming"
            log.exception("the answer failed")
            status, error = "error", str(exc) or type(exc).__name__
        if quote:
            piece = stream.ending_piece(quote)
            if piece:
                yield ChatEvent("token", text=piece)
            text = opening + quote
        meta = dict(reply.meta)
        read_as = answering.respelled(typed, query)
        if read_as:  # shown, so that a word read wrongly is seen ("gust" read as "guest")
            meta["read_as"] = read_as
        if (sources and status == "complete" and not answering.is_creative(query)  # a story is made up
                and not answering.is_not_found(text)):  # nor is "not found" checked against them
            if plan.grounded(text, query):  # the sentence it rests on is highlighted
                meta["sources"] = [s.to_dict() for s in plan.mark_evidence(text, query)]
                missing = plan.unsupported(text, query)
                if missing:  # "Tesla" where the note says "TSI": named in a warning
                    meta["unsupported"] = missing
            else:  # the sources are shown as not what it says
                meta["ungrounded"] = True
            if not fresh and plan.departs_from_direct(text):  # Regenerate took another value
                meta["direct"] = plan.direct
        copied = answering.copied_value(query, text) if plan.direct and text == plan.direct else ""
        if plan.direct and text != plan.direct and not meta.get("direct"):  # Regenerate kept the
            # value in a sentence ("The garage door code is 9035."): Copy takes the code alone,
            # as it does under the first answer (fourteenth new-user trial)
            copied = answering.copied_value(query, plan.direct)
        if copied:  # what Copy takes: the password, not "Wi-Fi password: " before it
            meta["copy"] = copied
        meta["stats"] = stats
        if error:
            meta["error"] = error
        self.history.update_message(reply.id, content=text, status=status, meta=meta)
        final = self.history.get_message(reply.id)
        # an answer that does not rest on the passages quoted for it is not kept either: a
        # wrong answer recalled later would come back cited as something the user was told
        # nor is one about a secret asked with a typo ("wats the wifi pasword", ninth trial):
        # memory sees the question as typed, so it is checked as read too
        if (status == "complete" and self.context is not None and text.strip() and not plan.not_found
                and not answering.is_not_found(text) and not plan.notice and not meta.get("ungrounded")
                and not meta.get("unsupported") and not meta.get("direct")
                and not mentions_secret(query)):
            try:
                self.context.remember(conversation_id, conv.title, question, text)
            except Exception:
                log.exception("could not store the exchange in memory")
        elif (status == "stopped" and self.context is not None and answering.is_statement(question)
              and not mentions_secret(query)):  # as read: "my wifi pasword is ..."
            # what the user told Hearth is kept when its reply was stopped (Esc); the reply,
            # cut short, is not (a fact told and then stopped was forgotten, tenth trial)
            try:
                self.context.remember(conversation_id, conv.title, question, "")
            except Exception:
                log.exception("could not store the exchange in memory")
        yield ChatEvent("finished", message=final, data={**stats, "error": error})
