"""HearthCore ties history, engine, library and adapters together."""

import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.core.app import HearthCore
from desktop.core.engine.fake import ScriptedBackend


def test_deleting_a_conversation_also_forgets_its_memories(default_model: Path) -> None:
    core = HearthCore(engine=ScriptedBackend("Your cat is called Marmalade."))
    try:
        core.load_model()
        conv = core.history.create_conversation()
        list(core.chat.send(conv.id, "What is my cat called?"))
        assert [s.kind for s in core.library.recall("cat called")] == ["memory"]
        core.delete_conversation(conv.id)
        assert core.library.recall("cat called") == []
        assert core.history.list_conversations() == []
    finally:
        core.close()


def test_model_choice_persists(default_model: Path, tmp_path: Path) -> None:
    core = HearthCore(engine=ScriptedBackend(), with_library=False)
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(default_model, copy)
    core.load_model(copy)
    core.close()
    again = HearthCore(engine=ScriptedBackend(), with_library=False)
    assert again.current_model_path() == copy.resolve()
    assert str(copy.resolve()) in again.settings.chat.extra_models
    again.close()


def test_fallback_to_the_built_in_model_is_decided_by_the_core(default_model: Path, tmp_path: Path) -> None:
    core = HearthCore(engine=ScriptedBackend(), with_library=False)
    try:
        broken = tmp_path / "broken.gguf"
        assert core.fallback_model(broken) == default_model  # nothing loaded: the built-in one
        assert core.fallback_model(None) == default_model  # the saved choice failed
        assert core.fallback_model(default_model) is None  # the built-in one itself failed
        core.use_model(default_model)
        assert core.fallback_model(broken) is None  # the loaded model stays
    finally:
        core.close()


def test_switch_model_falls_back_keeps_or_reports_and_never_raises(default_model: Path, tmp_path: Path) -> None:
    from desktop.core.models import read_gguf_info
    from desktop.core.settings import Settings

    class Checking(ScriptedBackend):  # a scripted engine that reads the file as the real one does
        def load(self, model_path: str, options: Any) -> Any:
            read_gguf_info(model_path)
            return super().load(model_path, options)

    saved = tmp_path / "on-a-usb-stick.gguf"  # a saved choice whose drive is not plugged in
    settings = Settings()
    settings.chat.model_path = str(saved)
    core = HearthCore(engine=Checking(), settings=settings, with_library=False)
    try:
        first = core.switch_model()  # nothing loaded yet: the built-in model instead
        assert first.fallback and first.loaded is not None and first.loaded.path == default_model
        assert "on-a-usb-stick.gguf" in first.message and "built-in model instead" in first.message
        assert core.settings.chat.model_path == str(saved)  # tried again next time

        not_a_model = tmp_path / "holiday.gguf"
        not_a_model.write_text("not a model")
        second = core.switch_model(not_a_model)  # a model is loaded: it stays
        assert second.loaded is None and second.kept == first.loaded.name
        assert "holiday.gguf" in second.message and "still using" in second.message
        assert str(not_a_model.resolve()) not in core.settings.chat.extra_models

        ok = core.switch_model(default_model)
        assert ok.error == "" and ok.message == "" and ok.loaded is not None
    finally:
        core.close()


def test_an_older_settings_list_of_folders_is_taken_over_once(tmp_path: Path) -> None:
    from desktop.core.settings import Settings

    folder = tmp_path / "notes"
    folder.mkdir()
    old = Settings.load()
    old.library.watched_folders = [str(folder)]  # as an older version saved it
    old.save()
    with HearthCore(engine=ScriptedBackend()) as core:
        assert core.library is not None and (str(folder), "default") in core.library.folders()
        assert Settings.load().library.watched_folders == []  # the library's record now
        core.unwatch_folder(folder)
    with HearthCore(engine=ScriptedBackend()) as core:
        assert core.library is not None and core.library.folders() == []  # stays removed


def test_settings_change_through_intent_named_calls(tmp_path: Path) -> None:
    from desktop.core.settings import Settings

    core = HearthCore(engine=ScriptedBackend())
    try:
        folder = tmp_path / "notes"
        folder.mkdir()
        core.watch_folder(folder, "home")
        assert (str(folder), "home") in core.library.folders()  # the one record
        core.unwatch_folder(folder)
        assert core.library.folders() == []
        core.set_personalize_times("23:30", "06:00")
        assert Settings.load().personalization.start_time == "23:30"
        with pytest.raises(ValueError, match="HH:MM"):
            core.set_personalize_times("25:99", "06:00")
        assert core.settings.personalization.start_time == "23:30"  # nothing changed
        future = core.set_adapter_options(enabled=False, scale=3.0)
        assert future is not None and future.result() is None  # applied in the background
        saved = Settings.load().personalization
        assert saved.adapter_enabled is False and saved.adapter_scale == 2.0  # clamped
    finally:
        core.close()


def test_server_and_remote_engine_settings_are_saved_by_the_core() -> None:
    from desktop.core.settings import Settings

    core = HearthCore(engine=ScriptedBackend(), with_library=False)
    try:
        core.set_server_options(enabled=True, token_sha256="ab" * 32)
        core.set_remote_engine("http://127.0.0.1:8080/v1", "m", "k")
        saved = Settings.load()
        assert saved.server.enabled and saved.server.token_sha256 == "ab" * 32
        assert not saved.server.allow_lan  # what was not given stays
        assert (saved.remote.chat_url, saved.remote.chat_model) == ("http://127.0.0.1:8080/v1", "m")
        core.set_remote_engine("")
        assert Settings.load().remote.chat_url == "" and Settings.load().remote.chat_api_key == ""
    finally:
        core.close()
