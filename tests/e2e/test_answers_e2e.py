"""Right answers from a new user's notes, with the real built-in model (greedy): the facts
a user asked about in the first tries (Wi-Fi password, dentist appointment), the sentence
each answer rests on, and "not found" for what the notes do not say."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.answering import NOT_FOUND


@pytest.mark.slow
def test_answers_from_notes_are_right_and_say_where(tmp_path: Path, default_model: Path) -> None:
    from desktop.core.app import HearthCore

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "wifi.txt").write_text(
        "Home network\n\nThe router is in the hall cupboard, behind the coats. Wi-Fi name: "
        "Hearthside.\nWi-Fi password: blue-otter-2417. The guest network is Hearthside-guest, "
        "no password.\n")
    (notes / "dentist.txt").write_text(
        "Dentist\nDr. Amelia Novak, Riverside Dental, 42 Mill Street.\n"
        "Next appointment: 14 March at 9:30. Bring the insurance card.\n")
    (notes / "car.txt").write_text(
        "Car notes\nThe car is a blue 2016 Skoda Octavia, registration KX16 ABC.\n"
        "Insurance renews on 1 September with Lantern Insurance, policy 88-1204.\n")
    with HearthCore() as core:
        core.settings.chat.n_threads = 1
        core.load_model(default_model)
        for _ in core.library.index_paths([notes]):
            pass
        conv = core.history.create_conversation()

        def ask(question: str) -> tuple[str, list[dict]]:
            for ev in core.chat.send(conv.id, question):
                if ev.kind == "finished":
                    assert ev.message is not None
                    return ev.message.content, ev.message.meta.get("sources", [])
            raise AssertionError("no reply")

        answer, sources = ask("What is my Wi-Fi password?")
        assert "blue-otter-2417" in answer, answer
        assert [Path(s["path"]).name for s in sources] == ["wifi.txt"]
        assert sources[0]["extra"]["evidence"]["text"] == "Wi-Fi password: blue-otter-2417."

        answer, sources = ask("When is my dentist appointment?")
        assert "14" in answer and "March" in answer, answer
        assert sources[0]["extra"]["evidence"]["text"] == "Next appointment: 14 March at 9:30."

        answer, sources = ask("Which bank holds my mortgage?")
        assert answer.startswith(NOT_FOUND) and sources == [], answer
