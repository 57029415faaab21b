"""Upgrades keep everything: the current app opened on the data folder that the previous
release (0.1.0) left, kept as a fixture made by that release's code
(tests/fixtures/make_upgrade_fixture.py; what it holds is listed in its expected.json).

The real app core (HearthCore: settings, history, library, the isolated llama.cpp engine
and the personal adapters) is started on it; every conversation, library file and
adapter must be there, and usable: searched, recalled, applied, extended.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest

from desktop.core.engine import SamplingParams
from desktop.core.models import default_model_path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hearth-0.1.0-home.tar.gz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(default_model_path() is None, reason="the built-in model is not installed"),
]


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def old_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    home = tmp_path / "home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    expected = json.loads((home / "expected.json").read_text(encoding="utf-8"))
    return home, expected


def _answer(core: Any, text: str) -> str:
    params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=24, seed=0)
    messages = [{"role": "user", "content": text}]
    return "".join(e.text for e in core.engine.generate(messages, params) if e.kind == "token")


def test_new_app_opens_the_previous_release_data_intact_and_usable(
    old_home: tuple[Path, dict[str, Any]],
) -> None:
    from desktop.core.app import HearthCore
    from desktop.core.personalize.registry import AdapterRegistry

    home, expected = old_home
    adapters_before = _digests(home / "data" / "adapters")
    documents_before = _digests(home / "documents")

    with HearthCore() as core:
        # settings
        s = core.settings
        got = {
            "chat.temperature": s.chat.temperature, "chat.max_tokens": s.chat.max_tokens,
            "chat.system_prompt": s.chat.system_prompt, "library.top_k": s.library.top_k,
            "personalization.adapter_scale": s.personalization.adapter_scale,
            "ui.theme": s.ui.theme, "ui.welcome_done": s.ui.welcome_done,
        }
        assert got == expected["settings"]

        # history: every conversation and message, in order; the reply the old app was
        # writing when it died is kept, marked interrupted
        conversations = {c.id: c for c in core.history.list_conversations()}
        assert sorted(conversations) == sorted(c["id"] for c in expected["conversations"])
        for want in expected["conversations"]:
            conv = conversations[want["id"]]
            assert (conv.title, conv.system_prompt, conv.collections) == (
                want["title"], want["system_prompt"], want["collections"])
            messages = core.history.messages(conv.id)
            assert [[m.role, m.content] for m in messages] == want["messages"]
        statuses = [m.status for m in core.history.messages(expected["conversations"][1]["id"])]
        assert statuses == ["complete", "complete", "complete", "interrupted"]
        assert [c.title for c, _m in core.history.search("sourdough")] == ["Sourdough"]

        # library: the collection, its files and chunks, hybrid search and memory recall
        library = core.library
        assert expected["collection"] in library.collection_names()
        names = sorted(Path(f.path).name for f in library.files(expected["collection"]))
        assert names == expected["documents"]
        assert library.chunk_count(expected["collection"]) == expected["chunks"]
        top = library.search("who checks the boiler pressure valve", [expected["collection"]])[0]
        assert top.title == "boiler.txt" and "Okafor" in top.text
        recalled = library.recall("when is the boiler serviced")
        assert recalled and recalled[0].kind == "memory"

        # adapters: both kept, the same one active, applied to the engine, and it changes
        # the answer (an adapter that loads and changes nothing is a known peer defect)
        registry = AdapterRegistry()
        assert [a.name for a in registry.list()] == expected["adapters"]
        assert registry.active_name == expected["active_adapter"]
        core.load_model()
        assert core.adapter_notice is None
        assert core.apply_adapter() == expected["active_adapter"]
        with_adapter = _answer(core, "What is the capital of France?")
        core.engine.set_adapters([])
        without = _answer(core, "What is the capital of France?")
        assert with_adapter and without and with_adapter != without
        assert registry.rollback() is not None and registry.active_name == expected["adapters"][0]

        # still usable for new work: a new conversation, a new file in the old collection
        new = core.history.create_conversation("After the upgrade")
        core.history.add_message(new.id, "user", "Hello again")
        (home / "documents" / "bins.txt").write_text(
            "The recycling bins are collected on Thursday mornings.\n", encoding="utf-8")
        events = list(library.index_paths([home / "documents" / "bins.txt"], collection=expected["collection"]))
        assert events[-1].kind == "done", events[-1]
        assert library.search("when are the recycling bins collected")[0].title == "bins.txt"

    for db in (home / "data" / "history.sqlite3", *sorted((home / "data" / "library").rglob("*.sqlite3"))):
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", db
        finally:
            con.close()
    after = _digests(home / "data" / "adapters")
    assert {k: v for k, v in after.items() if k.endswith(".gguf")} == {
        k: v for k, v in adapters_before.items() if k.endswith(".gguf")}
    assert {k: v for k, v in _digests(home / "documents").items() if k in documents_before} == documents_before
