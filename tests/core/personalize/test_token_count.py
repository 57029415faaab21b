"""The Personalize preview's token count: llama.cpp's tokenizer, quietly."""

from pathlib import Path

import pytest


def test_counting_tokens_says_nothing_on_the_terminal(default_model: Path, capfd: pytest.CaptureFixture[str],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from desktop.core.personalize.controller import count_tokens_function

    caplog.set_level("DEBUG", logger="llama.cpp")
    count = count_tokens_function(default_model)
    assert count("hello world") == 2
    assert capfd.readouterr().err == ""  # llama.cpp printed "n_ctx_seq (512) > n_ctx_train (0)" here
    assert any("n_ctx_train" in r.getMessage() for r in caplog.records)  # kept as debug detail
