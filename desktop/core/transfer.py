"""Conversations that leave and arrive: export to Markdown and JSON, import from Hearth's
own JSON, ChatGPT's data export and Claude's data export.

Formats read (none is formally specified by its vendor; the structures below are the
ones their data exports hold, as described by the parsers that read them):

- Hearth JSON: ``{"format": "hearth.conversations", "version": 1, "conversations":
  [{title, system_prompt, created_at, updated_at, collections, use_library, messages:
  [{role, content, status, created_at, model, meta}]}]}`` (written by :func:`export_json`).
  Timestamps are Unix seconds (floats); ``meta`` holds the sources and the engine's
  figures as the chat stored them.
- ChatGPT (Settings > Data controls > Export data; ``conversations.json`` in the zip): a
  list of conversations, each ``{title, create_time, update_time, mapping, current_node}``
  where ``mapping`` is a tree of ``{id, parent, children, message}`` nodes and
  ``message`` is ``{author: {role}, create_time, content: {content_type, parts},
  metadata: {model_slug, is_visually_hidden_from_conversation}}``.  Editing or
  regenerating makes branches; the conversation as the user last saw it is the path from
  ``current_node`` up to the root.  Documented by mitkury/chatgpt-export-parser
  (docs/chatgpt-data-export-format.md).
- Claude (Settings > Privacy > Export data; ``conversations.json``): a list of
  ``{uuid, name, created_at, updated_at, chat_messages: [{uuid, sender ("human" or
  "assistant"), text, content: [{type, text}], created_at}]}`` with ISO 8601 times.
  Documented by Sinity/polylogue (docs/providers/claude-ai.md).

Import never changes what exists: every conversation arrives as a new one, and one
already present (same title, creation time and message count) is skipped.  A file that is
partly damaged (one bad conversation, or a file cut off mid-way) imports what is valid
and reports what was skipped.
"""

from __future__ import annotations

import json
import logging
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from desktop.core.history import Conversation, History, Message
from desktop.core.sources import source_label

log = logging.getLogger(__name__)

FORMAT = "hearth.conversations"
VERSION = 1
ROLES = ("system", "user", "assistant")


class TransferError(Exception):
    """The file cannot be read or written at all; the message names it and says why."""


class Memory(Protocol):
    """What import needs to feed memory (the library's ``remember``)."""

    def remember(self, conversation_id: int, title: str, question: str, answer: str) -> None: ...


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        format: "hearth", "chatgpt" or "claude".
        imported: ids of the new conversations, in the file's order.
        duplicates: conversations already present, not imported again.
        skipped: one line per conversation or message left out, saying why.
    """

    format: str
    imported: list[int] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"Imported {len(self.imported)} conversation(s) from a {self.format} export"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already present")
        if self.skipped:
            parts.append(f"{len(self.skipped)} item(s) skipped")
        return "; ".join(parts) + "."


# --------------------------------------------------------------------------- export


def _selected(history: History, conversation_ids: Iterable[int] | None) -> list[Conversation]:
    if conversation_ids is None:
        return sorted(history.list_conversations(), key=lambda c: (c.created_at, c.id))
    return [history.get_conversation(cid) for cid in conversation_ids]


def _message_dict(m: Message) -> dict[str, Any]:
    return {"role": m.role, "content": m.content, "status": m.status, "created_at": m.created_at,
            "model": m.model, "meta": m.meta}


def export_json(
    history: History, conversation_ids: Iterable[int] | None = None, adapter: str | None = None
) -> dict[str, Any]:
    """Conversations as one complete JSON document (the Hearth format above).

    Args:
        conversation_ids: which ones (default: all, oldest first).
        adapter: the personal adapter active when exporting, recorded as such.
    Raises:
        KeyError: an id names no conversation.
    """
    conversations = []
    for conv in _selected(history, conversation_ids):
        conversations.append({
            "id": conv.id, "title": conv.title, "system_prompt": conv.system_prompt,
            "created_at": conv.created_at, "updated_at": conv.updated_at,
            "collections": conv.collections, "use_library": conv.use_library,
            "messages": [_message_dict(m) for m in history.messages(conv.id)],
        })
    return {"format": FORMAT, "version": VERSION, "exported_at": time.time(),
            "adapter": adapter, "conversations": conversations}


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def export_markdown(history: History, conversation_ids: Iterable[int] | None = None) -> str:
    """Conversations as readable Markdown: a heading per conversation, each message
    with who wrote it and when, and the sources an answer drew on as a numbered list."""
    out: list[str] = []
    for conv in _selected(history, conversation_ids):
        out.append(f"# {conv.title}\n\n*Started {_when(conv.created_at)}*\n")
        if conv.system_prompt:
            out.append(f"> System prompt: {conv.system_prompt}\n")
        for m in history.messages(conv.id):
            who = {"user": "You", "assistant": "Hearth", "system": "System"}.get(m.role, m.role)
            extra = f" ({m.model})" if m.model and m.role == "assistant" else ""
            status = "" if m.status == "complete" else f" [{m.status}]"
            out.append(f"## {who}{extra} — {_when(m.created_at)}{status}\n\n{m.content.strip()}\n")
            sources = m.meta.get("sources") or []
            if sources:
                lines = ["**Sources:**", ""]
                for i, src in enumerate(sources, 1):
                    snippet = " ".join(str(src.get("text", "")).split())[:200]
                    lines.append(f"{i}. {source_label(src, full_path=True, section=False)}: {snippet}")
                out.append("\n".join(lines) + "\n")
        out.append("---\n")
    return "\n".join(out)


def export_to_file(
    history: History, path: str | Path, conversation_ids: Iterable[int] | None = None,
    fmt: str | None = None, adapter: str | None = None,
) -> Path:
    """Write an export; ``fmt`` "json" or "markdown" (default: from the suffix, .md or
    .markdown for Markdown, else JSON).  Written to a temporary file then renamed, so
    a failure leaves no half file.

    Raises:
        TransferError: the file cannot be written.
    """
    target = Path(path)
    fmt = fmt or ("markdown" if target.suffix.lower() in (".md", ".markdown") else "json")
    if fmt == "markdown":
        text = export_markdown(history, conversation_ids)
    elif fmt == "json":
        text = json.dumps(export_json(history, conversation_ids, adapter), ensure_ascii=False, indent=1)
    else:
        raise TransferError(f"Unknown export format {fmt!r}: use json or markdown.")
    tmp = target.with_name(target.name + ".part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TransferError(f"Could not write the export to {target}: {exc.strerror or exc}.") from exc
    return target


# --------------------------------------------------------------------------- import


def _salvage_list(text: str, start: int) -> list[Any]:
    """The complete JSON values of a list that begins at ``text[start] == "["`` and may be
    cut off: values are decoded one by one until one fails."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    i = start + 1
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or text[i] == "]":
            break
        try:
            value, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        items.append(value)
    return items


def _load(path: Path) -> tuple[Any, bool]:
    """(parsed JSON, whether it had to be salvaged).  A zip is searched for
    ``conversations.json``."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "conversations.json"]
                if not names:
                    raise TransferError(f"{path} is a zip archive without a conversations.json.")
                raw = zf.read(names[0])
        else:
            raw = path.read_bytes()
    except (OSError, zipfile.BadZipFile) as exc:
        raise TransferError(f"Could not read {path}: {exc}.") from exc
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        return json.loads(text), False
    except json.JSONDecodeError:
        pass
    stripped = text.lstrip()
    if stripped.startswith("["):
        items = _salvage_list(text, text.index("["))
    else:
        key = text.find('"conversations"')
        bracket = text.find("[", key) if key >= 0 else -1
        items = _salvage_list(text, bracket) if bracket >= 0 else []
        if items:
            return {"format": FORMAT if FORMAT in text[:key] else "", "conversations": items}, True
    if not items:
        raise TransferError(
            f"{path} is not a conversation export (not valid JSON). Choose the "
            "conversations.json of a ChatGPT or Claude export, or a Hearth JSON export."
        )
    return items, True


def detect_format(data: Any) -> str:
    """"hearth", "chatgpt" or "claude" for parsed JSON; "" when none fits."""
    if isinstance(data, dict):
        if data.get("format") == FORMAT:
            return "hearth"
        conversations = data.get("conversations")
        if isinstance(conversations, list):  # a Claude export wrapped with its account
            return detect_format(conversations)
        return ""
    if isinstance(data, list):
        for item in data[:20]:
            if isinstance(item, dict):
                if "mapping" in item:
                    return "chatgpt"
                if "chat_messages" in item:
                    return "claude"
                if "messages" in item and "created_at" in item:
                    return "hearth"
    return ""


def _float(value: Any, default: float) -> float:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return default
    return default


@dataclass
class _Parsed:
    title: str
    created_at: float
    updated_at: float
    messages: list[dict[str, Any]]
    system_prompt: str = ""
    collections: list[str] = field(default_factory=list)
    use_library: bool = True


def _from_hearth(conv: Any, label: str, skipped: list[str]) -> _Parsed | None:
    if not isinstance(conv, dict) or not isinstance(conv.get("messages"), list):
        skipped.append(f"{label}: not a conversation (no message list)")
        return None
    now = time.time()
    created = _float(conv.get("created_at"), now)
    messages = []
    for j, m in enumerate(conv["messages"], 1):
        if (not isinstance(m, dict) or m.get("role") not in ROLES
                or not isinstance(m.get("content"), str)):
            skipped.append(f"{label}, message {j}: no valid role and text")
            continue
        meta = m.get("meta") if isinstance(m.get("meta"), dict) else {}
        messages.append({"role": m["role"], "content": m["content"],
                         "status": str(m.get("status") or "complete"),
                         "created_at": _float(m.get("created_at"), created),
                         "model": str(m.get("model") or ""), "meta": meta})
    collections = conv.get("collections")
    return _Parsed(
        title=str(conv.get("title") or "Imported chat"), created_at=created,
        updated_at=_float(conv.get("updated_at"), created), messages=messages,
        system_prompt=str(conv.get("system_prompt") or ""),
        collections=[str(c) for c in collections] if isinstance(collections, list) else [],
        use_library=bool(conv.get("use_library", True)),
    )


def _chatgpt_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if not isinstance(content, dict):
        return ""
    if content.get("content_type") not in ("text", "multimodal_text"):
        return ""
    parts = content.get("parts")
    if not isinstance(parts, list):
        return ""
    return "\n".join(p for p in parts if isinstance(p, str)).strip()


def _chatgpt_path(mapping: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    """The nodes from the root to ``current`` (the branch the user last saw); without a
    valid current node, the path that always follows the last child."""
    if not isinstance(current, str) or current not in mapping:
        roots = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("parent")]
        current = roots[0] if roots else None
        seen: set[str] = set()
        while isinstance(current, str) and current in mapping and current not in seen:
            seen.add(current)
            children = mapping[current].get("children") or []
            if not children or not isinstance(children[-1], str) or children[-1] not in mapping:
                break
            current = children[-1]
    path: list[dict[str, Any]] = []
    seen = set()
    node_id = current
    while isinstance(node_id, str) and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            break
        path.append(node)
        node_id = node.get("parent")
    return path[::-1]


def _from_chatgpt(conv: Any, label: str, skipped: list[str]) -> _Parsed | None:
    if not isinstance(conv, dict) or not isinstance(conv.get("mapping"), dict):
        skipped.append(f"{label}: not a ChatGPT conversation (no mapping)")
        return None
    now = time.time()
    created = _float(conv.get("create_time"), now)
    messages: list[dict[str, Any]] = []
    system = ""
    for node in _chatgpt_path(conv["mapping"], conv.get("current_node")):
        msg = node.get("message")
        if not isinstance(msg, dict):
            continue
        author = msg.get("author")
        role = author.get("role") if isinstance(author, dict) else None
        raw_meta = msg.get("metadata")
        metadata: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        if metadata.get("is_visually_hidden_from_conversation"):
            continue
        text = _chatgpt_text(msg)
        if role not in ("system", "user", "assistant") or not text:
            continue  # tool calls, hidden context, images without text
        if role == "system":
            system = system or text
            continue
        messages.append({"role": role, "content": text, "status": "complete",
                         "created_at": _float(msg.get("create_time"), created),
                         "model": str(metadata.get("model_slug") or "") if role == "assistant" else "",
                         "meta": {"imported_from": "chatgpt"}})
    if not messages:
        skipped.append(f"{label}: no text messages on its current branch")
        return None
    return _Parsed(title=str(conv.get("title") or "Imported ChatGPT chat"), created_at=created,
                   updated_at=_float(conv.get("update_time"), created), messages=messages,
                   system_prompt=system)


def _claude_text(msg: dict[str, Any]) -> str:
    blocks = msg.get("content")
    if isinstance(blocks, list):
        texts = [b["text"] for b in blocks
                 if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)]
        if any(t.strip() for t in texts):
            return "\n\n".join(t for t in texts if t.strip()).strip()
    text = msg.get("text")
    return text.strip() if isinstance(text, str) else ""


def _from_claude(conv: Any, label: str, skipped: list[str]) -> _Parsed | None:
    if not isinstance(conv, dict) or not isinstance(conv.get("chat_messages"), list):
        skipped.append(f"{label}: not a Claude conversation (no chat_messages)")
        return None
    now = time.time()
    created = _float(conv.get("created_at"), now)
    messages: list[dict[str, Any]] = []
    for j, msg in enumerate(conv["chat_messages"], 1):
        if not isinstance(msg, dict):
            skipped.append(f"{label}, message {j}: not a message")
            continue
        role = {"human": "user", "user": "user", "assistant": "assistant"}.get(str(msg.get("sender")))
        text = _claude_text(msg)
        if role is None or not text:
            skipped.append(f"{label}, message {j}: no sender or no text")
            continue
        messages.append({"role": role, "content": text, "status": "complete",
                         "created_at": _float(msg.get("created_at"), created),
                         "model": "", "meta": {"imported_from": "claude"}})
    if not messages:
        skipped.append(f"{label}: no text messages")
        return None
    title = conv.get("name") or conv.get("title") or "Imported Claude chat"
    return _Parsed(title=str(title), created_at=created,
                   updated_at=_float(conv.get("updated_at"), created), messages=messages)


_PARSERS = {"hearth": _from_hearth, "chatgpt": _from_chatgpt, "claude": _from_claude}


def import_file(history: History, path: str | Path, memory: Memory | None = None) -> ImportReport:
    """Import every valid conversation of an export file (or a zip holding
    ``conversations.json``) as new conversations.

    Each conversation is saved in one transaction with its own timestamps, so it is
    searchable at once; with ``memory``, each of its question/answer exchanges is
    remembered as a native one would be (a failure there is logged, not fatal).

    Raises:
        TransferError: the file cannot be read or holds no conversation export at all.
    """
    source = Path(path)
    data, salvaged = _load(source)
    fmt = detect_format(data)
    if not fmt:
        raise TransferError(
            f"{source} is JSON but not a conversation export Hearth knows (Hearth JSON, "
            "ChatGPT conversations.json or Claude conversations.json)."
        )
    items = data["conversations"] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise TransferError(f"{source} holds no list of conversations.")
    report = ImportReport(format=fmt)
    if salvaged:
        report.skipped.append(f"{source.name} is cut off or damaged after conversation {len(items)}")
    existing = {(c.title, round(c.created_at, 3)): c.id for c in history.list_conversations()}
    for i, item in enumerate(items, 1):
        label = f"conversation {i}"
        if isinstance(item, dict) and (item.get("title") or item.get("name")):
            label += f" ({str(item.get('title') or item.get('name'))[:60]})"
        try:
            parsed = _PARSERS[fmt](item, label, report.skipped)
        except Exception as exc:  # a strange item must not stop the rest
            log.exception("import of %s failed", label)
            report.skipped.append(f"{label}: {exc}")
            continue
        if parsed is None:
            continue
        key = (parsed.title, round(parsed.created_at, 3))
        if key in existing and len(history.messages(existing[key])) == len(parsed.messages):
            report.duplicates += 1
            continue
        conv = history.insert_conversation(
            parsed.title, parsed.system_prompt, parsed.created_at, parsed.updated_at,
            parsed.messages, parsed.collections, parsed.use_library,
        )
        report.imported.append(conv.id)
        existing[key] = conv.id
        if memory is not None:
            _remember(memory, conv, parsed.messages)
    return report


def _remember(memory: Memory, conv: Conversation, messages: list[dict[str, Any]]) -> None:
    question = ""
    for m in messages:
        if m["role"] == "user":
            question = m["content"]
        elif m["role"] == "assistant" and question and m["content"].strip():
            try:
                memory.remember(conv.id, conv.title, question, m["content"])
            except Exception:
                log.exception("could not remember an imported exchange")
                return
            question = ""
