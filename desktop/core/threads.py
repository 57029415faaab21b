"""The one owner of the CPU thread budget: how many threads the chat and the background
jobs (indexing, training) use.

The rule (measured in ../shared/DESIGN.md and issue 10): llama.cpp's OpenMP threads spin,
so two heavy jobs on the same cores collapse throughput (19 chat tokens/s beside one
embedding thread against 73 alone, on 2 cores).  So the chat does not share: while an
answer streams, background jobs pause (:mod:`desktop.core.priority`), and when the user
is not chatting they use every core.
"""

from __future__ import annotations

import os


def physical_cores() -> int:
    """Physical CPU cores of this machine (psutil; the logical count where it cannot
    tell), at least 1."""
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except Exception:
        return max(1, os.cpu_count() or 1)


def chat_threads() -> int:
    """Threads for llama.cpp answering the user: the physical cores, leaving one free on
    machines with more than four (the window and the OS keep a core)."""
    physical = physical_cores()
    return max(1, physical - 1) if physical > 4 else physical


def background_threads(requested: int = 0) -> int:
    """Threads for indexing (embedding) and training: ``requested`` if > 0, else every
    physical core.  They no longer leave a core idle for the chat: they pause while an
    answer streams instead (:class:`desktop.core.priority.ChatPriority`)."""
    return requested if requested > 0 else physical_cores()
