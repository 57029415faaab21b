"""Markdown to the HTML subset Qt's rich-text engine draws (QTextDocument).

markdown-it-py parses CommonMark (plus tables and strikethrough); raw HTML in the text
is escaped, never interpreted, images are shown as their alt text (the view loads
nothing), and headings are bold lines at the text's size.  Fenced and indented code blocks are highlighted by Pygments with inline
styles (Qt has no external stylesheets for rich text) and get a header with the
language and a ``hearth-copy:N`` link; the caller keeps ``code_blocks[N]``, the block's
raw text, for the clipboard.  Links in the text become links only for http, https and
mailto (:data:`WEB_SCHEMES`): an answer can quote a document, and nothing in a document
may make a link that acts inside the app.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from desktop.ui.theme import HtmlColors

COPY_SCHEME = "hearth-copy"
#: the only links an answer's text may carry; any other (file:, the app's own hearth-*
#: links, javascript:, ...) is shown as plain text, since answers quote documents.
WEB_SCHEMES = ("http", "https", "mailto")


@dataclass
class Rendered:
    """``html`` for a QTextBrowser and the raw text of each code block, in order."""

    html: str
    code_blocks: list[str] = field(default_factory=list)


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Lexer:
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False) if lang else TextLexer()
    except ClassNotFound:
        return TextLexer()


@lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter:
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


def _code_block_html(code: str, lang: str, index: int, colors: HtmlColors) -> str:
    body = highlight(code, _lexer(lang), _formatter(colors.code_style)).rstrip("\n")
    label = html.escape(lang or "code")
    return (
        f'<table width="100%" border="0" cellspacing="0" cellpadding="6" '
        f'bgcolor="{colors.code_background}" style="margin-top:6px; margin-bottom:6px;">'
        f'<tr><td bgcolor="{colors.code_header}"><span style="color:{colors.muted};">{label}</span></td>'
        f'<td bgcolor="{colors.code_header}" align="right">'
        f'<a href="{COPY_SCHEME}:{index}" style="color:{colors.link}; text-decoration:none;" '
        f'title="Copy this code to the clipboard">Copy</a></td></tr>'
        f'<tr><td colspan="2"><pre style="white-space:pre-wrap; margin:0; '
        f'color:{colors.text};">{body}</pre></td></tr></table>'
    )


def _make_parser(colors: HtmlColors) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": False}).enable(["table", "strikethrough"])

    def fence(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        token = tokens[idx]
        lang = (token.info or "").strip().split(" ")[0] if token.type == "fence" else ""
        blocks: list[str] = env.setdefault("code_blocks", [])
        blocks.append(token.content)
        return _code_block_html(token.content, lang, len(blocks) - 1, colors)

    def code_inline(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        return (
            f'<code style="background-color:{colors.inline_code_background};">'
            f"{html.escape(tokens[idx].content)}</code>"
        )

    def image(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
        return f"[{html.escape(alt or 'image')}]"

    def link_open(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        href = str(tokens[idx].attrGet("href") or "")
        web = href.split(":", 1)[0].lower() in WEB_SCHEMES and ":" in href
        env.setdefault("links", []).append(web)
        if not web:  # the answer may quote a document: it cannot make an app link
            return f'<span title="{html.escape(href, quote=True)}">'
        return f'<a href="{html.escape(href, quote=True)}" style="color:{colors.link};">'

    def link_close(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        return "</a>" if (env.get("links") or [True]).pop() else "</span>"

    def table_open(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        return (
            f'<table border="1" cellspacing="0" cellpadding="5" '
            f'style="border-collapse:collapse; border-color:{colors.border}; margin-top:4px; margin-bottom:4px;">'
        )

    def blockquote_open(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        return f'<blockquote style="color:{colors.muted}; margin-left:16px;">'

    def heading_open(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        # A small model often quotes a note's "# Cornwall trip" line first: as <h1> it
        # filled the bubble in huge type (ninth new-user trial).  Headings are bold lines.
        return '<p style="font-weight:600; margin-top:6px; margin-bottom:2px;">'

    def heading_close(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        return "</p>\n"

    md.add_render_rule("heading_open", heading_open)
    md.add_render_rule("heading_close", heading_close)
    md.add_render_rule("table_open", table_open)
    md.add_render_rule("blockquote_open", blockquote_open)
    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    md.add_render_rule("code_inline", code_inline)
    md.add_render_rule("image", image)
    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    return md


_parsers: dict[HtmlColors, MarkdownIt] = {}

#: a line that is only a number and "." or ")": CommonMark reads it as an empty item of a
#: list starting at that number, drawn as an empty reply ("2." answering "How many eggs?")
_BARE_NUMBER = re.compile(r"^( {0,3})(\d{1,9})([.)])[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _keep_bare_numbers(text: str) -> str:
    """Escape the "." or ")" of every line that is only a number (outside code fences), so
    that it shows as written instead of as an empty list item."""
    lines = text.split("\n")
    fence = ""
    for i, line in enumerate(lines):
        opened = _FENCE.match(line)
        if opened and (not fence or opened.group(1) == fence):
            fence = "" if fence else opened.group(1)
        elif not fence:
            lines[i] = _BARE_NUMBER.sub(r"\1\2\\\3", line)
    return "\n".join(lines)


def render_markdown(text: str, colors: HtmlColors) -> Rendered:
    """Render an assistant's Markdown answer.

    Args:
        text: Markdown (possibly cut mid-stream: an unclosed code fence renders as a
            code block running to the end, which is what a reader expects).
        colors: the light or dark palette (theme.html_colors).
    Returns:
        Rendered(html, code_blocks).
    """
    md = _parsers.get(colors)
    if md is None:
        md = _parsers[colors] = _make_parser(colors)
    env: dict[str, Any] = {"code_blocks": []}
    body = md.render(_keep_bare_numbers(text), env)
    return Rendered(f'<div style="color:{colors.text};">{body}</div>', list(env["code_blocks"]))


def render_plain(text: str, colors: HtmlColors) -> str:
    """A user's message: shown as typed (escaped, line breaks and spaces kept)."""
    return (
        f'<p style="white-space:pre-wrap; color:{colors.text}; margin:0;">'
        f"{html.escape(text)}</p>"
    )
