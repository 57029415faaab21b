"""Hearth's own wrong answer must never come back as a source above the user's files
(the Wi-Fi loop a new user hit): real library and memory, scripted model."""

from pathlib import Path

from desktop.core.chat import ChatService
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.history import History
from desktop.core.library import Library
from desktop.core.settings import ChatSettings, LibrarySettings

QUESTION = "Where is the router?"  # the trial asked for the Wi-Fi password: memory keeps no secrets now


def test_the_wifi_loop_is_gone(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "home.txt").write_text(
        "Home network. The router is in the hall cupboard. Wi-Fi password: blue-otter-2417. "
        "The guest network is called Hearth-guest.")
    # a wrong answer made of the passage's own words: one that is not ("in the garage") is
    # now shown as not resting on the passages and never stored at all
    wrong, right = "in the home network", "hall cupboard"
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    history = History(tmp_path / "h.db")
    engine = ScriptedBackend("The router is in the home network.")  # a wrong answer
    chat = ChatService(history, engine, ChatSettings(), context=lib)
    try:
        list(lib.index_paths([folder]))
        first = history.create_conversation()
        list(chat.send(first.id, QUESTION))
        assert [s.kind for s in lib.recall(QUESTION)] == ["memory"]  # the exchange is stored

        # Regenerate: the replaced answer is forgotten and this conversation never recalled
        list(chat.regenerate(first.id))
        prompt = engine.prompts[-1][-1]["content"]
        assert wrong not in prompt and right in prompt
        shown = history.messages(first.id)[-1].meta["sources"]
        assert [s["kind"] for s in shown] == ["document"]

        # Edit: the edited-away turn is not recalled either
        list(chat.edit_last_user_message(first.id, "Tell me where the router is?"))
        assert wrong not in engine.prompts[-1][-1]["content"]

        # Another conversation: the document answers; Hearth's earlier reply stays out
        second = history.create_conversation()
        engine.reply = "It is in the hall cupboard."
        list(chat.send(second.id, QUESTION))
        prompt = engine.prompts[-1][-1]["content"]
        assert right in prompt and wrong not in prompt
        kinds = [s["kind"] for s in history.messages(second.id)[-1].meta["sources"]]
        assert kinds[0] == "document"
        assert lib.recall(QUESTION, exclude_conversation=first.id) != []  # the second's own
        assert all(s.extra["conversation_id"] != first.id
                   for s in lib.recall(QUESTION, exclude_conversation=first.id))

        # the password itself is answered, but never kept in memory
        third = history.create_conversation()
        list(chat.send(third.id, "What is my Wi-Fi password?"))
        assert "blue-otter-2417" in history.messages(third.id)[-1].content
        assert lib.memory.memories()  # the router exchanges
        assert not any("blue-otter" in m["answer"] or "password" in m["question"].lower()
                       for m in lib.memory.memories())
    finally:
        history.close()
        lib.close()


def test_questions_asked_before_do_not_crowd_out_what_the_user_stated(tmp_path: Path, embedder) -> None:
    # "Which football team do I support?", asked twice, then got "not found": its two
    # exchanges were the nearest memories and the fact told earlier was left out (twelfth trial)
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        lib.remember(1, "a", "By the way, my favourite football team is Bristol Rovers.", "Noted.")
        for conversation in (2, 3, 4):
            lib.remember(conversation, "b", "Which football team do I support?", "The")
        recalled = lib.recall("Which football team do I support?")
        stated = [s for s in recalled if "Bristol Rovers" in s.text]
        assert len(stated) == 1 and len(recalled) == 3
    finally:
        lib.close()
