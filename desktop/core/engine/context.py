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
    orphaned answer.  The number of pairs to drop is found by binary search, so a long
    conversation costs O(log n) calls of ``count_tokens``, not O(n).

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
    if len(body) <= 1 or count_tokens(head + body) <= budget:
        return head + body, 0
    # candidate cuts: drop 2, 4, ... messages (whole turns), finally all but the last
    cuts = list(range(2, len(body) - 1, 2)) + [len(body) - 1]
    lo, hi = 0, len(cuts) - 1  # find the smallest cut that fits; the last one always "fits"
    while lo < hi:
        mid = (lo + hi) // 2
        if count_tokens(head + body[cuts[mid]:]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return head + body[cuts[lo]:], cuts[lo]
