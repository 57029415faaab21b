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

from desktop.core.sources import readable, source_label

SCHEME = "hearth-source"


def describe(source: dict[str, Any]) -> str:
    """'report.pdf, page 3, “Results”' or 'from your conversation of 12 March'."""
    return source_label(source)


def _name(source: dict[str, Any]) -> str:
    return str(source.get("path") or source.get("title") or "")


def snippet(source: dict[str, Any], length: int = 180) -> str:
    """The passage's first sentences, whole, up to ``length`` characters (cut with an
    ellipsis only when a single sentence is longer)."""
    text = " ".join(readable(str(source.get("text") or ""), _name(source)).split())
    if len(text) <= length:
        return text
    cut = text[:length]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if end >= length // 3:
        return cut[: end + 1]
    return cut[: length - 1].rstrip() + "…"


def quoted_html(source: dict[str, Any], context: int = 90) -> str:
    """The passage as HTML with the sentence the answer rests on in bold (its
    ``extra["evidence"]``, set by the chat), a little of its surroundings around it; a
    plain snippet where no sentence is marked.  All text is escaped."""
    evidence = (source.get("extra") or {}).get("evidence")
    text = str(source.get("text") or "")
    if not evidence or not (0 <= evidence.get("start", -1) < evidence.get("end", -1) <= len(text)):
        return html.escape(snippet(source))
    a, b = evidence["start"], evidence["end"]
    name = _name(source)  # a Markdown note is shown without its markup
    before = " ".join(readable(text[:a], name).split())
    after = " ".join(readable(text[b:], name).split())
    before = ("…" + before[-context:].lstrip()) if len(before) > context else before
    after = (after[:context].rstrip() + "…") if len(after) > context else after
    return (f"{html.escape(before)} <b>{html.escape(' '.join(readable(text[a:b], name).split()))}</b> "
            f"{html.escape(after)}").strip()


def sources_html(sources: list[dict[str, Any]], colors: Any = None) -> str:
    """HTML for the source cards under an answer ('' when there are none).

    One card per source: the citation number and file name (a link to
    ``hearth-source:N``, N 1-based as the answer cites it), the page and section, and
    the quoted passage with the sentence the answer rests on in bold (:func:`quoted_html`),
    a link to the same source.
    ``colors`` is a theme.HtmlColors (default: the light one).
    All text is escaped.
    """
    if not sources:
        return ""
    if colors is None:
        from desktop.ui.theme import html_colors

        colors = html_colors(False)
    c = colors
    cards = []
    for n, src in enumerate(sources, 1):
        tooltip = html.escape(str(src.get("path") or src.get("title") or ""), quote=True)
        quote = quoted_html(src)
        cards.append(
            f'<table width="100%" cellspacing="0" cellpadding="8" border="1" '
            f'style="border-color:{c.border}; border-style:solid; background-color:{c.card_background}; '
            f'margin-top:6px;"><tr><td>'
            f'<a href="{SCHEME}:{n}" title="{tooltip}" style="color:{c.link}; text-decoration:none;">'
            f'<b>[{n}] {html.escape(describe(src))}</b></a>'
            # the quote opens the file too: a new user clicked it and nothing happened
            # (eleventh trial)
            + (f'<br><a href="{SCHEME}:{n}" title="{tooltip}" style="color:{c.text}; text-decoration:none;">'
               f'<i>“{quote}”</i></a>' if quote else "")
            + "</td></tr></table>"
        )
    return (f'<div class="sources"><span style="color:{c.muted};"><b>Sources</b></span>'
            + "".join(cards) + "</div>")


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
    browsers' and most desktop viewers honour); an e-mail's attachment opens its message
    (the attachment is not a file on disk); None for memories and missing paths."""
    path = source.get("path")
    if source.get("kind") == "memory" or not path:
        return None
    parent = (source.get("extra") or {}).get("attached_to")
    if parent:
        return QUrl.fromLocalFile(str(parent))
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


def open_source_or_explain(source: dict[str, Any]) -> tuple[bool, str]:
    """Open a clicked source, or say why nothing opened.

    Returns:
        (opened, message): ``message`` is "" when the file was handed to the system's
        opener, else one sentence for the user (the file is gone; nothing on this
        desktop opens it, in which case the sentence gives its location, which can be
        selected and copied; the clipboard is not touched).
    """
    if source.get("kind") == "memory":
        return False, (
            f"This passage is {describe(source)}; pick that conversation in the list on the "
            "left to read it."
        )
    # an e-mail's attachment is not a file on disk: its message is what opens
    path = str((source.get("extra") or {}).get("attached_to") or source.get("path") or "")
    if not path:
        return False, "This source has no file to open."
    if not Path(path).exists():
        return False, (
            f"{Path(path).name} is no longer at {path}: it was moved or deleted. "
            "Add it to the library again to cite it."
        )
    if open_source(source):
        return True, ""
    # the clipboard is left alone: it may hold an answer the user copied a moment before
    # (thirteenth new-user trial); the path can be selected in the message
    where = f" The passage is on page {int(source['page'])}." if source.get("page") else ""
    return False, (
        f"No application on this computer opens {Path(path).name}. It is at {path} (select "
        f"the location here to copy it into a file manager).{where}"
    )
