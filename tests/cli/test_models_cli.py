"""``hearth models available | download | remove`` against a loopback mirror."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop.bench.fileserver import FileServer, make_gguf
from desktop.cli import main
from desktop.core.catalog import find_entry
from desktop.core.paths import models_dir
from desktop.core.settings import Settings


def test_available_lists_the_catalog_with_fit(capsys: Any) -> None:
    assert main(["models", "available"]) == 0
    out = capsys.readouterr().out
    assert "qwen2.5-0.5b-instruct" in out and "gemma-3-4b-it" in out
    assert "fits" in out and "This computer:" in out


def test_download_from_a_mirror_then_remove(tmp_path: Path, capsys: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    entry = find_entry("smollm2-360m-instruct")
    assert entry is not None
    src = make_gguf(tmp_path / "served.gguf", entry.architecture)
    with FileServer() as server:
        server.add(entry.repo, entry.file, src)
        # the user is asked about the host first; "no" downloads nothing
        monkeypatch.setattr("builtins.input", lambda prompt="": "n")
        assert main(["models", "download", entry.name, "--hub-url", server.base_url]) == 1
        err = capsys.readouterr().err
        assert "Hearth will connect to: 127.0.0.1" in err
        assert not (models_dir() / entry.file).exists()

        monkeypatch.setattr("builtins.input", lambda prompt="": "y")
        assert main(["models", "download", entry.name]) == 0
    dest = models_dir() / entry.file
    assert capsys.readouterr().out.strip() == str(dest)
    assert dest.is_file()
    settings = Settings.load()
    assert str(dest) in settings.chat.extra_models and "127.0.0.1" in settings.models.confirmed_hosts

    assert main(["models", "download", entry.name]) == 0  # already there: no connection
    assert "already downloaded" in capsys.readouterr().err

    assert main(["models", "remove", entry.name]) == 0
    assert "deleted the downloaded file" in capsys.readouterr().out
    assert not dest.exists()
    assert str(dest) not in Settings.load().chat.extra_models


def test_removing_a_model_added_by_path_keeps_the_file(tmp_path: Path, capsys: Any) -> None:
    own = make_gguf(tmp_path / "my-model.gguf", "llama")
    settings = Settings.load()
    settings.chat.extra_models.append(str(own))
    settings.save()
    assert main(["models", "remove", str(own)]) == 0
    assert "is untouched" in capsys.readouterr().out
    assert own.is_file()
    assert str(own) not in Settings.load().chat.extra_models


def test_unknown_name_is_a_clear_error(capsys: Any) -> None:
    assert main(["models", "download", "no-such-model", "--yes"]) == 2
    assert "no model called 'no-such-model'" in capsys.readouterr().err
    assert main(["models", "remove", "no-such-model"]) == 2
