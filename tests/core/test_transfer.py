"""Export and import of conversations on a real SQLite history (no model needed).

Fixture structures: ChatGPT's ``conversations.json`` as described in
mitkury/chatgpt-export-parser (docs/chatgpt-data-export-format.md), Claude's as in
Sinity/polylogue (docs/providers/claude-ai.md); see desktop/core/transfer.py.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from desktop.core.history import History
from desktop.core.transfer import (
    TransferError,
    export_json,
    export_markdown,
    export_to_file,
    import_file,
)

FIXTURES = Path(__file__).parent / "fixtures" / "transfer"

SOURCE = {"kind": "document", "title": "notes.pdf", "text": "Bread needs time to rise.",
          "path": "/home/ada/notes.pdf", "page": 3, "section": None, "start": 0, "end": 24,
          "score": 0.5, "chunk_id": "c1", "collection": "home", "extra": {}}


class Recorder:
    def __init__(self) -> None:
        self.exchanges: list[tuple[int, str, str, str]] = []

    def remember(self, conversation_id: int, title: str, question: str, answer: str) -> None:
        self.exchanges.append((conversation_id, title, question, answer))


def make_history(path: Path) -> History:
    h = History(path)
    c1 = h.create_conversation("Bread", system_prompt="Be brief.", collections=["home"])
    h.add_message(c1.id, "user", "How long does dough rise?")
    h.add_message(c1.id, "assistant", "About two hours [1].", model="SmolLM2",
                  meta={"sources": [SOURCE], "stats": {"tokens_per_s": 150.0}})
    c2 = h.create_conversation("Ünïcode ✓")
    h.add_message(c2.id, "user", "Say hi\nin two lines")
    h.add_message(c2.id, "assistant", "Hi", status="stopped")
    return h


def without_ids(doc: dict) -> list[dict]:
    return [{k: v for k, v in c.items() if k != "id"} for c in doc["conversations"]]


def test_hearth_json_round_trip_is_exact(tmp_path: Path) -> None:
    with make_history(tmp_path / "a.db") as a:
        out = export_to_file(a, tmp_path / "all.json", adapter="ada-v1")
        first = json.loads(out.read_text(encoding="utf-8"))
        assert first["adapter"] == "ada-v1"
        assert first["conversations"][0]["messages"][1]["meta"]["sources"][0]["page"] == 3
    with History(tmp_path / "b.db") as b:
        report = import_file(b, out)
        assert report.format == "hearth" and len(report.imported) == 2 and not report.skipped
        second = export_json(b)
        assert without_ids(second) == without_ids(first)
        # imported conversations are searchable like native ones
        assert b.search("dough")[0][0].title == "Bread"
        # importing again changes nothing: already present
        again = import_file(b, out)
        assert again.imported == [] and again.duplicates == 2
        assert len(b.list_conversations()) == 2


def test_import_adds_beside_existing_and_feeds_memory(tmp_path: Path) -> None:
    with make_history(tmp_path / "a.db") as a:
        out = export_to_file(a, tmp_path / "one.json", conversation_ids=[1])
    with History(tmp_path / "b.db") as b:
        mine = b.create_conversation("Mine")
        b.add_message(mine.id, "user", "keep me")
        memory = Recorder()
        report = import_file(b, out, memory=memory)
        assert len(report.imported) == 1 and report.imported[0] != mine.id
        assert [m.content for m in b.messages(mine.id)] == ["keep me"]
        assert memory.exchanges == [(report.imported[0], "Bread", "How long does dough rise?",
                                     "About two hours [1].")]


def test_markdown_is_readable_with_sources(tmp_path: Path) -> None:
    with make_history(tmp_path / "a.db") as h:
        md = export_markdown(h, [1])
        assert md.startswith("# Bread")
        assert "## You" in md and "## Hearth (SmolLM2)" in md
        assert "**Sources:**" in md and "1. /home/ada/notes.pdf, page 3: Bread needs time" in md
        path = export_to_file(h, tmp_path / "chat.md")
        assert "# Ünïcode ✓" in path.read_text(encoding="utf-8")
        assert "[stopped]" in path.read_text(encoding="utf-8")


def test_chatgpt_export_follows_current_branch(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as h:
        memory = Recorder()
        report = import_file(h, FIXTURES / "chatgpt_conversations.json", memory=memory)
        assert report.format == "chatgpt"
        assert len(report.imported) == 2
        assert len(report.skipped) == 2  # the tool-only and the mapping-less conversation
        assert any("Broken: mapping missing" in s for s in report.skipped)
        sourdough = h.get_conversation(report.imported[0])
        assert sourdough.title == "Sourdough starter"
        assert sourdough.created_at == pytest.approx(1717000000.123)
        msgs = h.messages(sourdough.id)
        assert [m.role for m in msgs] == ["user", "assistant", "user", "assistant"]
        assert "ABANDONED" not in " ".join(m.content for m in msgs)
        assert msgs[1].content.startswith("Once a day") and msgs[1].model == "gpt-4o"
        assert msgs[2].content == "What flour ratio for rye?"  # image part left out
        assert msgs[3].created_at == pytest.approx(1717000101.0)
        # no valid current node: the last child's path
        bikes = h.messages(report.imported[1])
        assert [m.content for m in bikes][0] == "Which gear for climbing hills?"
        assert len(memory.exchanges) == 3
        assert h.search("rye")[0][0].id == sourdough.id


def test_claude_export(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as h:
        report = import_file(h, FIXTURES / "claude_conversations.json")
        assert report.format == "claude" and len(report.imported) == 1
        assert any("message 3" in s for s in report.skipped)
        assert any("Empty chat" in s for s in report.skipped)
        conv = h.get_conversation(report.imported[0])
        assert conv.title == "Tomato seedlings"
        msgs = h.messages(conv.id)
        assert [(m.role, m.content) for m in msgs] == [
            ("user", "When should I transplant tomato seedlings?"),
            ("assistant", "After the last frost, once they have two sets of true leaves."),
            ("user", "How deep should I plant them?"),
            ("assistant", "Deep: bury the stem up to the first leaves."),
        ]
        assert msgs[0].created_at == pytest.approx(1712049301.0)


def test_zip_and_cut_off_files_import_what_is_valid(tmp_path: Path) -> None:
    raw = (FIXTURES / "chatgpt_conversations.json").read_text(encoding="utf-8")
    archive = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("conversations.json", raw)
        zf.writestr("user.json", "{}")
    cut = tmp_path / "cut.json"
    cut.write_text(raw[: raw.index('"title": "Bike gears"')], encoding="utf-8")
    with History(tmp_path / "h.db") as h:
        assert len(import_file(h, archive).imported) == 2
    with History(tmp_path / "h2.db") as h:
        report = import_file(h, cut)
        assert len(report.imported) == 1
        assert any("cut off" in s for s in report.skipped)
    with make_history(tmp_path / "a.db") as a:
        text = json.dumps(export_json(a), ensure_ascii=False)
    cut_hearth = tmp_path / "cut-hearth.json"
    cut_hearth.write_text(text[: text.index('{"id": 2') + 10], encoding="utf-8")
    with History(tmp_path / "h3.db") as h:
        report = import_file(h, cut_hearth)
        assert report.format == "hearth" and len(report.imported) == 1


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("this is not json", encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with History(tmp_path / "h.db") as h:
        with pytest.raises(TransferError, match="garbage.json"):
            import_file(h, garbage)
        with pytest.raises(TransferError, match="not a conversation export"):
            import_file(h, other)
        with pytest.raises(TransferError, match="Could not read"):
            import_file(h, tmp_path / "missing.json")
        with pytest.raises(TransferError, match="Could not write"):
            export_to_file(h, tmp_path / "no" / "such" / "dir.json")
        assert h.list_conversations() == []
