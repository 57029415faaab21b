"""Fitting a conversation into the model's context window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

M = TypeVar("M")


def fit_messages(
    messages: Sequence[M],
    count_tokens: Callable[[Sequence[M]], int],
    budget: int,
    is_system: Callable[[M], bool],
) -> tuple[list[M], int]:
    """Drop the oldest turns until the prompt fits ``budget`` tokens.

    The system message (if first) and the last message are always kept.  Whole
    user/assistant pairs are dropped from the front so the prompt never starts with an
    orphaned answer.

    Args:
        messages: the conversation, oldest first.
        count_tokens: tokens of a candidate prompt made of those messages.
        budget: tokens available for the prompt (context window minus the answer).
    Returns:
        (messages kept, number of messages dropped).  If even the system prompt and
        the last message do not fit, they are returned anyway and the engine truncates.
    """
    msgs = list(messages)
    head = [msgs[0]] if msgs and is_system(msgs[0]) else []
    body = msgs[len(head):]
    dropped = 0
    while len(body) > 1 and count_tokens(head + body) > budget:
        step = 2 if len(body) > 2 else 1
        body = body[step:]
        dropped += step
    return head + body, dropped
