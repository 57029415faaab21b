import json
import os
from pathlib import Path

import pytest

from desktop.core import paths
from desktop.core.settings import Settings, default_threads


def test_hearth_home_moves_everything(hearth_home: Path) -> None:
    for fn in (paths.data_dir, paths.config_dir, paths.cache_dir, paths.logs_dir):
        assert hearth_home in fn().parents


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_folders_are_private(hearth_home: Path) -> None:
    assert paths.data_dir().stat().st_mode & 0o777 == 0o700
    s = Settings()
    s.save()
    assert Settings.path().stat().st_mode & 0o777 == 0o600


def test_settings_round_trip_and_defaults() -> None:
    s = Settings.load()
    assert s.chat.temperature == 0.7 and s.library.memory_enabled
    s.chat.temperature = 0.0
    s.chat.extra_models.append("/x/model.gguf")
    s.personalization.start_time = "02:30"
    s.save()
    again = Settings.load()
    assert again.chat.temperature == 0.0
    assert again.chat.extra_models == ["/x/model.gguf"]
    assert again.personalization.start_time == "02:30"


def test_settings_tolerate_unknown_and_missing_keys() -> None:
    Settings.path().write_text(json.dumps({"chat": {"top_p": 0.5, "future_key": 1}, "new_section": {}}))
    s = Settings.load()
    assert s.chat.top_p == 0.5 and s.chat.max_tokens == 512


def test_damaged_settings_file_is_kept_aside() -> None:
    Settings.path().write_text("{ not json")
    s = Settings.load()
    assert s.chat.max_tokens == 512
    assert Settings.path().with_suffix(".json.bad").exists()


def test_thread_default_is_sane() -> None:
    n = default_threads()
    assert 1 <= n <= (os.cpu_count() or 1)


def test_resource_path_points_at_the_source_tree() -> None:
    assert paths.resource_path().name == "resources"
    assert paths.resource_path().parent == Path(__file__).resolve().parents[2]


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    paths.atomic_write_bytes(target, b"one")
    paths.atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
