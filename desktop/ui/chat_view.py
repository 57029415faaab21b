"""The conversation as the user reads it.

A QScrollArea holding one :class:`MessageWidget` per message (a QTextBrowser that
grows to its content, plus a header and a footer for the status marker and sources).

- Streaming: tokens are buffered and only the reply being written is re-rendered, at
  most every ``RENDER_INTERVAL_MS`` (a single-shot QTimer coalesces them; longer when a
  long reply makes each render costly), so a fast model does not re-parse the Markdown
  on every token.
- Long conversations open fast: only the last ``BATCH`` messages are built; "Show
  earlier messages" builds the previous batch and keeps the reading position.
- The view follows the end of the conversation while the user is at the bottom, and
  stays put when they have scrolled up to read.
- Links: ``hearth-copy:N`` copies code block N of that message to the clipboard,
  ``hearth-source:N`` opens source N (the citation number, 1-based) (desktop.ui.sources_view when present), http(s)
  and mailto links open in the user's browser, anything else is ignored.
"""

from __future__ import annotations

import html
import importlib
import logging
import math
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import answering
from desktop.core.history import Message
from desktop.core.sources import source_label
from desktop.ui.markdown_render import COPY_SCHEME, render_markdown, render_plain
from desktop.ui.theme import HtmlColors, html_colors

log = logging.getLogger(__name__)

RENDER_INTERVAL_MS = 50
BATCH = 40
SOURCE_SCHEME = "hearth-source"
#: ``hearth-version:N`` shows a regenerated reply's earlier answer N (0: the oldest);
#: ``hearth-version:latest`` the reply itself (``Message.meta["earlier"]``)
VERSION_SCHEME = "hearth-version"
STATUS_LABELS = {"stopped": "stopped", "interrupted": "interrupted", "streaming": "writing…"}
#: while an answer from the files is written but not yet shown (checked whole against its
#: sources first): "writing…" over an empty bubble for 30-45 s looked stuck (twelfth trial)
CHECKING = "writing the answer… it appears once checked against the sources below"
#: under an answer cut at the longest-answer setting (a story stopped mid-word, "He", with
#: no word why: eleventh new-user trial)
LENGTH_NOTE = "Cut at the longest answer allowed (Settings › Longest answer); Regenerate or ask to go on."
#: what an answer stopped before it showed anything says (an empty bubble saying "stopped"
#: after the window was closed mid-answer puzzled a new user, eleventh trial)
STOPPED_EMPTY = "{} before the answer was written. Regenerate asks again."
#: shown above the sources of an answer that does not rest on them (``meta["ungrounded"]``,
#: set by the chat: :func:`desktop.core.answering.grounded`)
def unsupported_note(values: list[str]) -> str:
    """The warning above the sources of an answer with numbers or names they do not hold
    (``meta["unsupported"]``, :func:`desktop.core.answering.unsupported_values`)."""
    return f"Check this answer: {answering.not_held_note(values, 'the passages below')}."


#: under a regenerated answer that leaves out the value the first answer took from the line
#: asked about (``meta["direct"]``, :meth:`desktop.core.answering.AnswerPlan.departs_from_direct`)
DIRECT_NOTE = "Check this answer: the line it was asked about says “{}”."
UNGROUNDED_NOTE = ("This answer is not taken from the passages below: it may come from the "
                   "model's general knowledge, or be wrong. Check it.")


@lru_cache(maxsize=1)
def _sources_module() -> Any:
    """desktop.ui.sources_view if this build has it, else None."""
    name = "desktop.ui.sources_view"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def sources_fallback_html(sources: list[dict[str, Any]], colors: HtmlColors) -> str:
    """A plain list of sources with ``hearth-source:N`` links (when sources_view is absent)."""
    items = []
    for i, s in enumerate(sources):
        label = html.escape(source_label(s, section=False))
        items.append(f'<a href="{SOURCE_SCHEME}:{i + 1}" style="color:{colors.link};">[{i + 1}] {label}</a>')
    return f'<span style="color:{colors.muted};">Sources: </span>' + " &nbsp; ".join(items)


class MessageBody(QTextBrowser):
    """A read-only rich-text body whose height follows its content (no own scrolling)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBody")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.setFixedHeight(24)

    def _fit(self, *_: object) -> None:
        height = math.ceil(self.document().size().height()) + 2 * self.frameWidth()
        if height != self.height():
            self.setFixedHeight(max(height, 8))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.ignore()  # let the conversation's scroll area scroll


#: the header of an assistant reply imported from another app's export
#: (``Message.meta["imported_from"]``, set by :mod:`desktop.core.transfer`)
IMPORTED_FROM = {"chatgpt": "ChatGPT", "claude": "Claude"}


class MessageWidget(QFrame):
    """One message: who wrote it, its text, and a footer (status marker, sources)."""

    def __init__(self, view: ChatView, message: Message) -> None:
        super().__init__()
        self.view = view
        self.message = message
        self.code_blocks: list[str] = []
        self.sources: list[dict[str, Any]] = list(message.meta.get("sources") or [])
        self.text = message.content
        #: which of ``message.meta["earlier"]`` is shown instead of the reply; None: the reply
        self.shown_earlier: int | None = None
        is_user = message.role == "user"
        self.setObjectName("messageUser" if is_user else "messageAssistant")
        self.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel()
        self.header.setObjectName("messageHeader")
        top.addWidget(self.header, 1)
        self.copy_button: QToolButton | None = None
        if not is_user:
            self.copy_button = QToolButton()
            self.copy_button.setObjectName("copyAnswerButton")
            self.copy_button.setText("Copy")
            self.copy_button.setToolTip("Copy this answer to the clipboard (as written, in Markdown)")
            self.copy_button.setAccessibleName("Copy answer")
            self.copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.copy_button.clicked.connect(self.copy_answer)
            top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.body = MessageBody(self)
        self.body.anchorClicked.connect(self._on_anchor)
        layout.addWidget(self.body)
        self.footer = QLabel()
        self.footer.setObjectName("messageFooter")
        self.footer.setWordWrap(True)
        self.footer.setTextFormat(Qt.TextFormat.RichText)
        self.footer.setOpenExternalLinks(False)
        self.footer.linkActivated.connect(lambda href: self._on_anchor(QUrl(href)))
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        layout.addWidget(self.footer)
        self.redraw()

    @property
    def colors(self) -> HtmlColors:
        return self.view.colors

    def redraw(self, streaming: bool = False) -> None:
        """Re-render from ``self.text`` and ``self.message`` (status, meta)."""
        c = self.colors
        msg = self.message
        if msg.role == "user":
            who = "You"
            self.body.setHtml(render_plain(self.text, c))
            self.code_blocks = []
            self.setStyleSheet(
                f"QFrame#messageUser {{ background-color: {c.user_background}; border-radius: 14px; }}"
            )
            self.header.setText(f'<b style="color:{c.text};">{who}</b>')
        else:
            rendered = render_markdown(self.shown_text() if not streaming else self.text, c)
            self.code_blocks = rendered.code_blocks
            self.body.setHtml(rendered.html)
            self.setStyleSheet(
                f"QFrame#messageAssistant {{ background-color: {c.card_surface}; "
                f"border: 1px solid {c.border}; border-radius: 14px; }}"
            )
            model = f' <span style="color:{c.muted};">· {html.escape(msg.model)}</span>' if msg.model else ""
            # a reply imported from another assistant's export is labelled with its origin,
            # not as Hearth's own ("Hearth · gpt-4o" misled a new-user trial)
            who = IMPORTED_FROM.get(str(msg.meta.get("imported_from", "")), "Hearth")
            self.header.setText(f'<b style="color:{c.text};">{html.escape(who)}</b>{model}')
            if self.copy_button is not None:
                self.copy_button.setVisible(not streaming and bool(self.text.strip()))
        self._render_footer(streaming)

    def _render_footer(self, streaming: bool) -> None:
        c = self.colors
        parts: list[str] = []
        status = "streaming" if streaming else self.message.status
        if self.shown_earlier is not None and not streaming:
            status = "complete"  # the notes below are the reply's, not an earlier answer's
        if status == "error":
            error = self.message.meta.get("error") or "The answer failed."
            parts.append(f'<span style="color:{c.error};">⚠ {html.escape(str(error))}</span>')
        elif status in ("stopped", "interrupted") and not self.shown_text().strip():
            parts.append(f'<span style="color:{c.muted};"><i>{STOPPED_EMPTY.format(status.capitalize())}</i></span>')
        elif status in STATUS_LABELS:
            label = STATUS_LABELS[status]
            if streaming and not self.text.strip() and self.sources:
                label = CHECKING  # a fact's answer is held back until it is whole
            parts.append(f'<span style="color:{c.muted};"><i>{label}</i></span>')
        elif status == "complete" and self.shown_earlier is None \
                and (self.message.meta.get("stats") or {}).get("finish_reason") == "length":
            parts.append(f'<span style="color:{c.muted};"><i>{LENGTH_NOTE}</i></span>')
        reply = not streaming and self.shown_earlier is None
        if reply and self.message.meta.get("read_as"):
            note = answering.read_as_note(self.message.meta["read_as"])
            parts.append(f'<span style="color:{c.muted};">{html.escape(note)}</span>')
        if self.sources and reply and self.message.meta.get("ungrounded"):
            parts.append(f'<span style="color:{c.muted};">⚠ {html.escape(UNGROUNDED_NOTE)}</span>')
        elif self.sources and reply and self.message.meta.get("unsupported"):
            note = unsupported_note(self.message.meta["unsupported"])
            parts.append(f'<span style="color:{c.muted};">⚠ {html.escape(note)}</span>')
        if self.sources and reply and self.message.meta.get("direct"):
            note = DIRECT_NOTE.format(self.message.meta["direct"])
            parts.append(f'<span style="color:{c.muted};">⚠ {html.escape(note)}</span>')
        earlier = self._earlier() if not streaming else []
        if earlier:  # a regenerated reply: its earlier answers can still be read
            parts.append(self._versions_html(earlier))
        sources = self.shown_sources() if not streaming else self.sources
        if sources:
            module = _sources_module()
            if module is not None:
                parts.append(module.sources_html(sources, c))
            else:
                parts.append(sources_fallback_html(sources, c))
        self.footer.setText("<br>".join(parts))
        self.footer.setVisible(bool(parts))

    def _earlier(self) -> list[dict[str, Any]]:
        return [e for e in self.message.meta.get("earlier") or [] if isinstance(e, dict)]

    def _shown(self) -> dict[str, Any] | None:
        """The earlier answer shown instead of the reply (:attr:`shown_earlier`), if any."""
        earlier, i = self._earlier(), self.shown_earlier
        return earlier[i] if i is not None and i < len(earlier) else None

    def shown_text(self) -> str:
        """The text shown: the reply's, or the earlier answer picked."""
        shown = self._shown()
        return self.text if shown is None else str(shown.get("content", ""))

    def shown_sources(self) -> list[dict[str, Any]]:
        """The sources of the answer shown."""
        shown = self._shown()
        return self.sources if shown is None else list(shown.get("sources") or [])

    def _versions_html(self, earlier: list[dict[str, Any]]) -> str:
        """"‹ earlier  Answer 2 of 3  later ›", each a link to the answer before or after."""
        c = self.colors
        count = len(earlier) + 1
        at = count - 1 if self.shown_earlier is None else self.shown_earlier

        def link(index: int, label: str, tip: str) -> str:
            target = "latest" if index == count - 1 else str(index)
            return (f'<a href="{VERSION_SCHEME}:{target}" title="{tip}" '
                    f'style="color:{c.link}; text-decoration:none;">{label}</a>')

        before = link(at - 1, "‹ earlier", "Show the answer before this one") if at > 0 else ""
        after = link(at + 1, "later ›", "Show the answer after this one") if at < count - 1 else ""
        label = f'<span style="color:{c.muted};">Answer {at + 1} of {count}</span>'
        return " ".join(p for p in (before, label, after) if p)

    def show_version(self, index: int | None) -> None:
        """Show earlier answer ``index`` (0: the oldest) or, with None, the reply itself."""
        earlier = self._earlier()
        self.shown_earlier = index if index is not None and 0 <= index < len(earlier) else None
        self.redraw()

    def _on_anchor(self, url: QUrl) -> None:
        scheme, value = url.scheme(), url.path()
        if scheme == VERSION_SCHEME:
            self.show_version(None if value == "latest" else int(value) if value.isdigit() else None)
            return
        if scheme == COPY_SCHEME:
            try:
                code = self.code_blocks[int(value)]
            except (ValueError, IndexError):
                return
            QGuiApplication.clipboard().setText(code)
            self.view.code_copied.emit(code)
        elif scheme == SOURCE_SCHEME:
            try:  # N is the citation number, 1-based, as in sources_view
                number = int(value)
                source = self.shown_sources()[number - 1] if number >= 1 else None
            except (ValueError, IndexError):
                return
            if source is None:
                return
            self.view.source_activated.emit(source)
        elif scheme in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)

    def copy_answer(self) -> None:
        """Put the answer's text (Markdown as written) on the clipboard; for a code or
        password given as its note's line, the value alone (``meta["copy"]``)."""
        text = self.shown_text()
        if self._shown() is None and self.message is not None and self.message.meta.get("copy"):
            text = str(self.message.meta["copy"])
        QGuiApplication.clipboard().setText(text)
        self.view.answer_copied.emit(text)

    def plain_text(self) -> str:
        parts = [self.body.toPlainText()]
        if self.footer.isVisibleTo(self) and self.footer.text():
            parts.append(_html_to_text(self.footer.text()))
        return "\n".join(parts)


def _html_to_text(fragment: str) -> str:
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(fragment)
    return doc.toPlainText()


class ChatView(QScrollArea):
    """The messages of one conversation.

    Signals:
        code_copied(str): a code block's text was put on the clipboard.
        answer_copied(str): an answer's text was put on the clipboard (its Copy button).
        source_activated(dict): the user clicked a source under an answer.
    """

    code_copied = Signal(str)
    answer_copied = Signal(str)
    source_activated = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.colors = html_colors(False)
        self._messages: list[Message] = []  # the whole conversation
        self._first_built = 0  # index in _messages of the first built widget
        self._widgets: dict[int, MessageWidget] = {}
        self._live: MessageWidget | None = None
        self._stick_to_bottom = True

        self._canvas = QWidget()
        self._canvas.setObjectName("chatCanvas")
        outer = QHBoxLayout(self._canvas)
        outer.setContentsMargins(16, 12, 16, 12)
        self._column = QWidget()
        self._column.setMaximumWidth(920)
        outer.addWidget(self._column)
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(10)
        self.earlier_button = QPushButton("Show earlier messages")
        self.earlier_button.setObjectName("showEarlierButton")
        self.earlier_button.setToolTip("This conversation is long: its older messages load on demand.")
        self.earlier_button.clicked.connect(self.show_earlier)
        self.earlier_button.hide()
        self._layout.addWidget(self.earlier_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.placeholder = QLabel()
        self.placeholder.setObjectName("chatPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self._layout.addWidget(self.placeholder)
        self._layout.addStretch(1)
        self.setWidget(self._canvas)

        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render_live)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        self._update_placeholder()

    # -- conversation -----------------------------------------------------------------

    def set_messages(self, messages: list[Message]) -> None:
        """Show a conversation (oldest first), building only its last BATCH messages."""
        self._render_timer.stop()
        self._live = None
        for widget in self._widgets.values():
            widget.setParent(None)
            widget.deleteLater()
        self._widgets.clear()
        self._messages = list(messages)
        self._first_built = max(0, len(self._messages) - BATCH)
        for msg in self._messages[self._first_built:]:
            self._insert(msg, self._layout.count() - 1)
        self._after_change()
        self._stick_to_bottom = True
        self.scroll_to_bottom()

    def show_earlier(self) -> None:
        """Build the previous batch of messages above the ones shown, keeping the view
        on what the user was reading."""
        if self._first_built == 0:
            return
        bar = self.verticalScrollBar()
        from_bottom = bar.maximum() - bar.value()
        start = max(0, self._first_built - BATCH)
        position = self._layout.indexOf(self.earlier_button) + 1
        for offset, msg in enumerate(self._messages[start:self._first_built]):
            self._insert(msg, position + offset)
        self._first_built = start
        self._stick_to_bottom = False
        self._after_change()

        def restore() -> None:
            bar.setValue(bar.maximum() - from_bottom)

        QTimer.singleShot(0, restore)

    def add_message(self, message: Message) -> MessageWidget:
        """Append a message (e.g. the user's, just sent)."""
        self._messages.append(message)
        widget = self._insert(message, self._layout.count() - 1)
        self._after_change()
        return widget

    def update_message(self, message: Message) -> None:
        """Replace a shown message's text and status (e.g. after Stop or an error)."""
        for i, m in enumerate(self._messages):
            if m.id == message.id:
                self._messages[i] = message
        widget = self._widgets.get(message.id)
        if widget is not None:
            widget.message = message
            widget.text = message.content
            widget.sources = list(message.meta.get("sources") or widget.sources)
            widget.redraw()

    def remove_from(self, message_id: int) -> None:
        """Forget ``message_id`` and every later message (regenerate, edit and resend)."""
        keep = [m for m in self._messages if m.id < message_id]
        for m in self._messages[len(keep):]:
            widget = self._widgets.pop(m.id, None)
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        self._messages = keep
        self._first_built = min(self._first_built, len(keep))
        if self._live is not None and self._live.message.id >= message_id:
            self._live = None
        self._after_change()

    # -- streaming --------------------------------------------------------------------

    def begin_stream(self, message: Message, text: str = "") -> MessageWidget:
        """Show the assistant's reply being written (``text`` so far)."""
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        widget = self._widgets.get(message.id)
        if widget is None:
            widget = self.add_message(message)
        widget.text = text
        self._live = widget
        widget.redraw(streaming=True)
        return widget

    def append_token(self, text: str) -> None:
        """Add a piece of the reply; it is drawn within RENDER_INTERVAL_MS."""
        if self._live is None:
            return
        self._live.text += text
        if not self._render_timer.isActive():
            self._render_timer.start()

    def set_live_sources(self, sources: list[dict[str, Any]]) -> None:
        if self._live is not None:
            self._live.sources = list(sources)
            self._live.redraw(streaming=True)

    def finish_stream(self, message: Message) -> None:
        """The reply is final: draw it with its status marker."""
        self._render_timer.stop()
        self._live = None
        self.update_message(message)

    @property
    def streaming(self) -> bool:
        return self._live is not None

    def _render_live(self) -> None:
        if self._live is not None:
            started = time.perf_counter()
            self._live.redraw(streaming=True)
            # a long reply costs more to re-render: keep the GUI thread mostly idle by
            # re-rendering at most every 4x the last render's cost (50..400 ms)
            cost_ms = (time.perf_counter() - started) * 1000
            self._render_timer.setInterval(int(min(400, max(RENDER_INTERVAL_MS, 4 * cost_ms))))

    # -- appearance -------------------------------------------------------------------

    def set_colors(self, colors: HtmlColors) -> None:
        """Re-render every built message for the light or dark palette."""
        self.colors = colors
        for widget in self._widgets.values():
            widget.redraw(streaming=widget is self._live)
        self._update_placeholder()

    def set_placeholder(self, text: str) -> None:
        self.placeholder.setProperty("hearthText", text)
        self._update_placeholder()

    def _update_placeholder(self) -> None:
        text = self.placeholder.property("hearthText") or (
            "Ask anything. Your conversation stays on this computer. To have answers from "
            "your own files, add a folder on the Library page."
        )
        self.placeholder.setText(f'<span style="color:{self.colors.muted};">{html.escape(text)}</span>')

    # -- inspection (tests, accessibility) ------------------------------------------

    def message_widgets(self) -> list[MessageWidget]:
        """Built message widgets, top to bottom."""
        out = []
        for i in range(self._layout.count()):
            item = self._layout.itemAt(i)
            w = item.widget() if item is not None else None
            if isinstance(w, MessageWidget):
                out.append(w)
        return out

    def widget_for(self, message_id: int) -> MessageWidget | None:
        return self._widgets.get(message_id)

    def plain_text(self) -> str:
        """The text of the built messages as shown, top to bottom."""
        return "\n\n".join(w.plain_text() for w in self.message_widgets())

    @property
    def message_count(self) -> int:
        return len(self._messages)

    # -- internals --------------------------------------------------------------------

    def _insert(self, message: Message, position: int) -> MessageWidget:
        widget = MessageWidget(self, message)
        self._widgets[message.id] = widget
        self._layout.insertWidget(position, widget)
        return widget

    def _after_change(self) -> None:
        self.earlier_button.setVisible(self._first_built > 0)
        if self._first_built > 0:
            self.earlier_button.setText(f"Show earlier messages ({self._first_built})")
        self.placeholder.setVisible(not self._messages)

    def scroll_to_bottom(self) -> None:
        self._stick_to_bottom = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum()) if self._stick_to_bottom else None)

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 24

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.PaletteChange:
            self._update_placeholder()
        return super().event(event)


def connect_sources(view: ChatView, fallback: Callable[[dict[str, Any]], None]) -> None:
    """Open clicked sources with sources_view.open_source when present, else ``fallback``."""

    def on_source(source: dict[str, Any]) -> None:
        module = _sources_module()
        if module is not None:
            module.open_source(source)
        else:
            fallback(source)

    view.source_activated.connect(on_source)
