"""Sources: retrieved passages (from documents or past conversations) that an answer
may cite, and how they are put in front of the model.

Document text is untrusted quoted material: the prompt (built in
:mod:`desktop.core.answering`) fences each passage and tells the model it is information,
not instructions, and text that a chat template would
read as a control token (``<|im_start|>``, ``</s>``, ``[INST]``...; the engine tokenizes
the prompt with special tokens on) is defused, so a document cannot open a turn of its
own.  Nothing in a passage is ever executed: the chat has no tools.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Source:
    """One retrieved passage.

    Attributes:
        kind: "document" or "memory" (a past conversation).
        title: what the user sees ("report.pdf", "your conversation of 12 March").
        text: the passage given to the model.
        path: the file, for documents; None for memory.
        page: 1-based page for PDFs, else None.
        section: heading or section the passage is under, if known.
        start, end: character offsets of the passage in the document's extracted text.
        score: the retrieval score (higher is better).
        chunk_id: the store's id of the passage.
        collection: the collection it came from.
        extra: anything else (conversation id, date).
    """

    kind: str
    title: str
    text: str
    path: str | None = None
    page: int | None = None
    section: str | None = None
    start: int | None = None
    end: int | None = None
    score: float = 0.0
    chunk_id: str = ""
    collection: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def snippet(self, length: int = 200) -> str:
        """The passage as read (:func:`readable`), on one line, cut at ``length`` characters."""
        text = " ".join(readable(self.text, self.path or self.title).split())
        return text if len(text) <= length else text[: length - 1].rstrip() + "…"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Source:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)


#: Files read as Markdown (``desktop.core.library.formats.MARKDOWN_EXTENSIONS``).
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".rst"})
#: Formats whose extracted text marks headings Markdown's way ("# Title"), as the
#: extractors of ``desktop.core.library.formats`` and ``.office`` write them.
HEADED_SUFFIXES = frozenset({".docx", ".odt", ".epub", ".html", ".htm", ".xhtml", ".rtf", ".eml", ".mbox"})
_HEADING_MARK = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)


def readable(text: str, name: str) -> str:
    """``text`` as a reader sees it, for a passage quoted under an answer (a new-user
    trial saw "# Dentist" on a source card).  A Markdown file (``name``'s suffix in
    :data:`MARKDOWN_SUFFIXES`) loses its markup ("# Dentist" -> "Dentist", "**due**
    Friday" -> "due Friday"; parsed by markdown-it-py, CommonMark) and keeps its lines;
    text extracted from a document (:data:`HEADED_SUFFIXES`) loses the "#" marks of its
    headings; any other text is unchanged (a "#" line of code or a log stays)."""
    suffix = Path(name).suffix.lower()
    if suffix in HEADED_SUFFIXES:
        return _HEADING_MARK.sub("", text)
    if suffix not in MARKDOWN_SUFFIXES or not text:
        return text
    from markdown_it import MarkdownIt

    blocks = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "inline":
            blocks.append("".join("\n" if c.type in ("softbreak", "hardbreak") else c.content
                                  for c in token.children or ()))
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    return "\n".join(b for b in blocks if b.strip())


def source_label(source: Source | Mapping[str, Any], full_path: bool = False, section: bool = True) -> str:
    """Where a passage comes from, as the user reads it: 'report.pdf, page 3, “Results”',
    'minutes.docx, attached to quote.eml' for an e-mail's attachment, or 'from your
    conversation of 12 March' for a past conversation.  The one rule for
    the window's cards, the terminal, exports and the model's prompt.

    Args:
        source: a :class:`Source` or its ``to_dict()`` form (as stored in a message).
        full_path: name a file by its full path (terminal, exports), not its title.
        section: add the section heading when known.
    """
    raw = source if isinstance(source, Mapping) else source.to_dict()
    title, path = str(raw.get("title") or ""), str(raw.get("path") or "")
    if raw.get("kind") == "memory":
        return f"from {title or 'a past conversation'}"
    where = ((path or title) if full_path else (title or Path(path).name if path else title)) or "source"
    parent = str((raw.get("extra") or {}).get("attached_to") or "")
    if parent and not full_path:  # an e-mail's attachment (the full path already names the message)
        where += f", attached to {Path(parent).name}"
    if raw.get("page"):
        where += f", page {raw['page']}"
    if section and raw.get("section"):
        where += f", “{raw['section']}”"
    return where


class ContextProvider(Protocol):
    """What the chat asks of the library and memory (issue: chat with your files)."""

    def sources_for(
        self, query: str, collections: Sequence[str] | None, budget_tokens: int,
        exclude_conversation: int | None = None,
    ) -> list[Source]:
        """Passages relevant to ``query``, best first, fitting ``budget_tokens``; past
        exchanges of conversation ``exclude_conversation`` are never among them."""
        ...

    def has_documents(self, collections: Sequence[str] | None) -> bool:
        """Whether the collections (None: all) hold any indexed passage."""
        ...

    def files_waiting(self, collections: Sequence[str] | None) -> int:
        """Files of the collections (None: all) found and not yet read into the library
        (an indexing run is under way, or was stopped before them)."""
        ...

    def mentions(self, query: str, collections: Sequence[str] | None) -> bool:
        """Whether a passage of the collections (None: all) names something ``query``
        asks about (a content word, not one naming the kind of answer)."""
        ...

    def similarity(self, query: str, texts: Sequence[str]) -> list[float]:
        """Cosine similarity (-1 to 1) of ``query`` to each of ``texts``, in order."""
        ...

    def correct_spelling(self, query: str, collections: Sequence[str] | None) -> str:
        """``query`` with words the collections' passages lack, where one edit away is a
        word they hold ("gust wifi pasword" -> "guest wifi password"), replaced by it."""
        ...

    def forget(self, conversation_id: int, question: str, answer: str) -> None:
        """Drop one stored exchange from memory (its reply was replaced or edited away)."""
        ...

    def remember(self, conversation_id: int, title: str, question: str, answer: str) -> None:
        """Store a finished exchange for later recall (no-op when memory is off)."""
        ...


#: strings chat templates use as control tokens: ChatML and Llama 3 (<|...|>), Llama 2
#: and Mistral (<s>, </s>, [INST], <<SYS>>), Gemma (<start_of_turn>, <end_of_turn>)
_CONTROL_TEXT = re.compile(r"<\|[^<>|\n]{0,40}\|>|</?s>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>")


def quote_untrusted(text: str) -> str:
    """``text`` made safe to quote inside a prompt's source fence: the fence markers
    (<<< >>>) and control-token strings get look-alike brackets (‹ ›)."""
    text = text.replace("<<<", "‹‹‹").replace(">>>", "›››")
    return _CONTROL_TEXT.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›")
                             .replace("[", "⟦").replace("]", "⟧"), text)
