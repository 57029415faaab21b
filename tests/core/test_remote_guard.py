"""The network guard lets through exactly the hosts the user configured."""

from __future__ import annotations

import pytest

from desktop.core import privacy
from desktop.core.engine.remote import RemoteBackend, normalise_url


class FakeSocket:
    family = 2  # AF_INET


def test_guard_allows_exactly_the_configured_host_and_port() -> None:
    privacy.allow_host("10.20.30.40", 8080)
    privacy._hook("socket.connect", (FakeSocket(), ("10.20.30.40", 8080)))  # allowed: no error
    for other in (("10.20.30.40", 8081), ("10.20.30.41", 8080)):
        with pytest.raises(privacy.NetworkBlocked):
            privacy._hook("socket.connect", (FakeSocket(), other))
    assert len(privacy.connection_attempts()) == 2
    privacy.clear_attempts()


def test_remote_backend_allows_its_own_server_only() -> None:
    backend = RemoteBackend("10.9.8.7:11434", model="llama3")
    try:
        assert backend.base_url == "http://10.9.8.7:11434/v1"
        privacy._hook("socket.connect", (FakeSocket(), ("10.9.8.7", 11434)))
        with pytest.raises(privacy.NetworkBlocked):
            privacy._hook("socket.connect", (FakeSocket(), ("10.9.8.7", 80)))
        privacy.clear_attempts()
    finally:
        backend.close()


def test_urls_are_normalised_or_refused() -> None:
    assert normalise_url("http://gpu-box:8080/v1/") == "http://gpu-box:8080/v1"
    assert normalise_url("https://example.org") == "https://example.org/v1"
    with pytest.raises(ValueError, match="not a server address"):
        normalise_url("ftp://x")
