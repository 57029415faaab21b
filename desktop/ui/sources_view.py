"""How an answer's sources look under it in the chat, and how clicking one opens it.

The chat view renders :func:`sources_html` below an answer (its links are
``hearth-source:N``, N being the number the answer cites as [N]) and, when a link is
clicked, calls :func:`open_source` with ``sources[N - 1]``.  Sources are the dictionaries
stored in the reply's ``meta["sources"]`` (``Source.to_dict()``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

SCHEME = "hearth-source"


def describe(source: dict[str, Any]) -> str:
    """'report.pdf, page 3, “Results”' or 'from your conversation of 12 March'."""
    if source.get("kind") == "memory":
        return f"from {source.get('title') or 'a past conversation'}"
    where = str(source.get("title") or Path(str(source.get("path") or "")).name or "source")
    if source.get("page"):
        where += f", page {source['page']}"
    if source.get("section"):
        where += f", “{source['section']}”"
    return where


def snippet(source: dict[str, Any], length: int = 180) -> str:
    text = " ".join(str(source.get("text") or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def quoted_html(source: dict[str, Any], context: int = 90) -> str:
    """The passage as HTML with the sentence the answer rests on in bold (its
    ``extra["evidence"]``, set by the chat), a little of its surroundings around it; a
    plain snippet where no sentence is marked.  All text is escaped."""
    evidence = (source.get("extra") or {}).get("evidence")
    text = str(source.get("text") or "")
    if not evidence or not (0 <= evidence.get("start", -1) < evidence.get("end", -1) <= len(text)):
        return html.escape(snippet(source))
    a, b = evidence["start"], evidence["end"]
    before = " ".join(text[:a].split())
    after = " ".join(text[b:].split())
    before = ("…" + before[-context:].lstrip()) if len(before) > context else before
    after = (after[:context].rstrip() + "…") if len(after) > context else after
    return (f"{html.escape(before)} <b>{html.escape(' '.join(text[a:b].split()))}</b> "
            f"{html.escape(after)}").strip()


def sources_html(sources: list[dict[str, Any]]) -> str:
    """HTML for the numbered list of sources under an answer ('' when there are none).

    Each entry links to ``hearth-source:N`` (1-based, the answer's citation number) and
    shows where the passage is (file, page, section) and the quoted sentence the answer
    rests on in bold (:func:`quoted_html`).  All text is escaped.
    """
    if not sources:
        return ""
    items = []
    for n, src in enumerate(sources, 1):
        tooltip = html.escape(str(src.get("path") or src.get("title") or ""), quote=True)
        items.append(
            f'<li><a href="{SCHEME}:{n}" title="{tooltip}">[{n}] {html.escape(describe(src))}</a>'
            f'<br><span style="color: palette(mid);">{quoted_html(src)}</span></li>'
        )
    return ('<div class="sources"><b>Sources</b><ol style="margin-top: 2px; margin-left: -24px;">'
            + "".join(items) + "</ol></div>")


def source_number(url: QUrl | str) -> int | None:
    """N from a ``hearth-source:N`` link, else None."""
    text = url.toString() if isinstance(url, QUrl) else str(url)
    if not text.startswith(SCHEME + ":"):
        return None
    try:
        n = int(text.split(":", 1)[1])
    except ValueError:
        return None
    return n if n >= 1 else None


def source_url(source: dict[str, Any]) -> QUrl | None:
    """The file's URL, with ``#page=N`` for PDFs (PDF Open Parameters, Adobe 2008, which
    browsers' and most desktop viewers honour); None for memories and missing paths."""
    path = source.get("path")
    if source.get("kind") == "memory" or not path:
        return None
    url = QUrl.fromLocalFile(str(path))
    if str(path).lower().endswith(".pdf") and source.get("page"):
        url.setFragment(f"page={int(source['page'])}")
    return url


def open_source(source: dict[str, Any]) -> bool:
    """Open the source's file with the system's default application (PDFs at the page).

    Returns False when there is nothing to open (a past conversation: the chat view
    shows that conversation instead, its id is ``source["extra"]["conversation_id"]``)
    or when the file no longer exists or the system refused.
    """
    url = source_url(source)
    if url is None or not Path(url.toLocalFile()).exists():
        return False
    if QDesktopServices.openUrl(url):
        return True
    # Some desktops hand a file URL with a #page fragment to a web browser, or to
    # nothing; open the file itself then.
    return bool(url.hasFragment() and QDesktopServices.openUrl(QUrl.fromLocalFile(url.toLocalFile())))
