"""Hearth's own wrong answer must never come back as a source above the user's files
(the Wi-Fi loop a new user hit): real library and memory, scripted model."""

from pathlib import Path

from desktop.core.chat import ChatService
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.history import History
from desktop.core.library import Library
from desktop.core.settings import ChatSettings, LibrarySettings

QUESTION = "What is my Wi-Fi password?"


def test_the_wifi_loop_is_gone(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "home.txt").write_text(
        "Home network. The router is in the hall cupboard. Wi-Fi password: blue-otter-2417. "
        "The guest network is called Hearth-guest.")
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    history = History(tmp_path / "h.db")
    engine = ScriptedBackend("Your Wi-Fi password is 11111.")  # a wrong answer
    chat = ChatService(history, engine, ChatSettings(), context=lib)
    try:
        list(lib.index_paths([folder]))
        first = history.create_conversation()
        list(chat.send(first.id, QUESTION))
        assert [s.kind for s in lib.recall(QUESTION)] == ["memory"]  # the exchange is stored

        # Regenerate: the replaced answer is forgotten and this conversation never recalled
        list(chat.regenerate(first.id))
        prompt = engine.prompts[-1][-1]["content"]
        assert "11111" not in prompt and "blue-otter-2417" in prompt
        shown = history.messages(first.id)[-1].meta["sources"]
        assert [s["kind"] for s in shown] == ["document"]

        # Edit: the edited-away turn is not recalled either
        list(chat.edit_last_user_message(first.id, "Tell me my Wi-Fi password?"))
        assert "11111" not in engine.prompts[-1][-1]["content"]

        # Another conversation: the document answers; Hearth's earlier reply stays out
        second = history.create_conversation()
        engine.reply = "It is blue-otter-2417."
        list(chat.send(second.id, QUESTION))
        prompt = engine.prompts[-1][-1]["content"]
        assert "blue-otter-2417" in prompt and "11111" not in prompt
        kinds = [s["kind"] for s in history.messages(second.id)[-1].meta["sources"]]
        assert kinds[0] == "document"
        assert lib.recall(QUESTION, exclude_conversation=first.id) != []  # the second's own
        assert all(s.extra["conversation_id"] != first.id
                   for s in lib.recall(QUESTION, exclude_conversation=first.id))
    finally:
        history.close()
        lib.close()
