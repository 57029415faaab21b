"""Model downloads end to end against a real HTTP server on loopback serving real GGUF
files: resume after a dropped connection and after a restart, verification (hub SHA-256,
catalog pin, GGUF architecture), 404, a stalled server, disk space, privacy."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.bench.fileserver import FileServer, make_gguf
from desktop.core import privacy
from desktop.core.downloads import (
    Downloader,
    DownloadError,
    hosts_for,
    part_path,
    partial_bytes,
)
from desktop.core.jobs import CancelToken
from desktop.core.models import read_gguf_info

REPO = "org/tiny-GGUF"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer(stall_s=20) as srv:
        yield srv


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    return make_gguf(src / "tiny.gguf")


def fast() -> Downloader:
    return Downloader(read_timeout=5, retries=2, progress_interval=0)


def test_download_is_verified_then_moved_into_place(server: FileServer, tiny: Path, tmp_path: Path) -> None:
    served = server.add(REPO, "tiny.gguf", tiny)
    dest = tmp_path / "models" / "tiny.gguf"
    events = list(fast().download(server.url(REPO, "tiny.gguf"), dest, architecture="llama"))
    assert events[-1].kind == "done" and events[-1].data["sha256"] == served.sha256
    assert sha256(dest) == served.sha256
    assert not part_path(dest).exists()
    progress = [e for e in events if e.kind == "progress"]
    assert progress[-1].done == served.size and progress[-1].total == served.size
    assert any(e.data.get("speed_bps") for e in progress)
    assert any("left" in e.message for e in progress)  # time left shown
    assert read_gguf_info(dest).architecture == "llama"


def test_dropped_connection_resumes_with_a_range_request(
    server: FileServer, default_model: Path, tmp_path: Path
) -> None:
    """The real default model (98 MB); the server closes the connection at 40 %."""
    served = server.add(REPO, "model.gguf", default_model, mode="drop",
                        drop_at=int(default_model.stat().st_size * 0.4))
    dest = tmp_path / "model.gguf"
    events = list(fast().download(server.url(REPO, "model.gguf"), dest, architecture="llama"))
    assert events[-1].kind == "done"
    assert served.gets[0] is None
    assert served.gets[1] == f"bytes={served.drop_at}-"
    assert sha256(dest) == served.sha256


def test_pause_then_resume_in_a_new_process_state(server: FileServer, tiny: Path, tmp_path: Path) -> None:
    """Pausing keeps the partial file; a fresh Downloader (as after a restart or a kill)
    continues it from where it stopped instead of starting again."""
    served = server.add(REPO, "tiny.gguf", tiny)
    dest = tmp_path / "tiny.gguf"
    cancel = CancelToken()
    events = []
    for event in fast().download(server.url(REPO, "tiny.gguf"), dest, cancel=cancel):
        events.append(event)
        if event.kind == "progress" and event.done > 0:
            cancel.cancel()
    assert events[-1].kind == "cancelled"
    kept = partial_bytes(dest)
    assert 0 < kept < served.size and not dest.exists()

    events = list(fast().download(server.url(REPO, "tiny.gguf"), dest))
    assert events[0].done == kept  # starts where it stopped
    assert served.gets[-1] == f"bytes={kept}-"
    assert events[-1].kind == "done" and sha256(dest) == served.sha256


def test_wrong_checksum_is_reported_by_name_and_never_used(server: FileServer, tiny: Path, tmp_path: Path) -> None:
    server.add(REPO, "tiny.gguf", tiny, mode="bad_sha")
    dest = tmp_path / "tiny.gguf"
    with pytest.raises(DownloadError, match=r"tiny\.gguf failed verification: its SHA-256"):
        list(fast().download(server.url(REPO, "tiny.gguf"), dest))
    assert not dest.exists() and not part_path(dest).exists()


def test_catalog_pin_that_disagrees_with_the_hub_refuses_before_downloading(
    server: FileServer, tiny: Path, tmp_path: Path
) -> None:
    served = server.add(REPO, "tiny.gguf", tiny)
    with pytest.raises(DownloadError, match="pins"):
        list(fast().download(server.url(REPO, "tiny.gguf"), tmp_path / "tiny.gguf",
                             pinned_sha256="ab" * 32))
    assert served.gets == []


def test_catalog_pin_that_matches_is_accepted(server: FileServer, tiny: Path, tmp_path: Path) -> None:
    served = server.add(REPO, "tiny.gguf", tiny)
    events = list(fast().download(server.url(REPO, "tiny.gguf"), tmp_path / "tiny.gguf",
                                  pinned_sha256=served.sha256.upper()))
    assert events[-1].kind == "done"


def test_wrong_architecture_is_refused_and_deleted(server: FileServer, tiny: Path, tmp_path: Path) -> None:
    server.add(REPO, "tiny.gguf", tiny)
    dest = tmp_path / "tiny.gguf"
    with pytest.raises(DownloadError, match="architecture 'llama', not the expected 'qwen2'"):
        list(fast().download(server.url(REPO, "tiny.gguf"), dest, architecture="qwen2"))
    assert not dest.exists() and not part_path(dest).exists()


def test_not_found(server: FileServer, tiny: Path, tmp_path: Path) -> None:
    server.add(REPO, "gone.gguf", tiny, mode="missing")
    with pytest.raises(DownloadError, match=r"gone\.gguf was not found .*404"):
        list(fast().download(server.url(REPO, "gone.gguf"), tmp_path / "gone.gguf"))


def test_stalled_server_is_reported_and_the_partial_file_kept(
    server: FileServer, tiny: Path, tmp_path: Path
) -> None:
    server.add(REPO, "tiny.gguf", tiny, mode="stall")
    dest = tmp_path / "tiny.gguf"
    loader = Downloader(read_timeout=0.5, retries=0, progress_interval=0)
    with pytest.raises(DownloadError, match=r"tiny\.gguf stopped: the server sent nothing for 0.5 s"):
        list(loader.download(server.url(REPO, "tiny.gguf"), dest))
    assert partial_bytes(dest) > 0 and not dest.exists()


def test_server_that_ignores_ranges_starts_over_and_still_verifies(
    server: FileServer, tiny: Path, tmp_path: Path
) -> None:
    # a first try that the server cuts at half the file leaves a partial file (no retry);
    # cutting is deterministic, where cancelling after the first block raced the end of a
    # small file on a busy machine
    served = server.add(REPO, "tiny.gguf", tiny, mode="drop")
    dest = tmp_path / "tiny.gguf"
    with pytest.raises(DownloadError):
        list(Downloader(read_timeout=5, retries=0, progress_interval=0).download(
            server.url(REPO, "tiny.gguf"), dest))
    assert partial_bytes(dest) > 0
    served.mode = "no_range"  # from now on the server does not serve ranges
    events = list(fast().download(server.url(REPO, "tiny.gguf"), dest))
    assert events[-1].kind == "done" and sha256(dest) == served.sha256


def test_too_little_disk_space_is_said_before_downloading(
    server: FileServer, tiny: Path, mount_small_disk: object
) -> None:
    small = mount_small_disk("1m")  # type: ignore[operator]
    served = server.add(REPO, "tiny.gguf", tiny)
    with pytest.raises(DownloadError, match=r"Not enough disk space for tiny\.gguf"):
        list(fast().download(server.url(REPO, "tiny.gguf"), small / "tiny.gguf"))
    assert served.gets == []


def test_hosts_told_to_the_user() -> None:
    assert hosts_for("http://127.0.0.1:9/x") == ["127.0.0.1"]
    hub = hosts_for("https://huggingface.co/org/repo/resolve/main/f.gguf")
    assert hub[0] == "huggingface.co" and all(h.endswith("hf.co") for h in hub[1:])


def test_guard_lets_only_the_download_thread_reach_only_its_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit hook itself (no real DNS): inside allow_hosts the named host resolves and
    its connection is allowed and logged; another host, or the same host from another
    thread or after the block, stays blocked."""
    log = tmp_path / "net.log"
    monkeypatch.setenv("HEARTH_NETWORK_LOG", str(log))
    blocked_elsewhere: list[bool] = []

    def other_thread() -> None:
        try:
            privacy._hook("socket.getaddrinfo", ("mirror.example.org", 443, 0, 0, 0))
            blocked_elsewhere.append(False)
        except privacy.NetworkBlocked:
            blocked_elsewhere.append(True)

    class Sock:
        family = 2

    with privacy.allow_hosts("mirror.example.org"):
        privacy._hook("socket.getaddrinfo", ("mirror.example.org", 443, 0, 0, 0))
        privacy._hook("socket.connect", (Sock(), ("203.0.113.7", 443)))
        with pytest.raises(privacy.NetworkBlocked):
            privacy._hook("socket.getaddrinfo", ("tracker.example.com", 443, 0, 0, 0))
        with pytest.raises(privacy.NetworkBlocked):  # no allowed name resolved just before
            privacy._hook("socket.connect", (Sock(), ("198.51.100.1", 443)))
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    with pytest.raises(privacy.NetworkBlocked):
        privacy._hook("socket.getaddrinfo", ("mirror.example.org", 443, 0, 0, 0))
    assert blocked_elsewhere == [True]
    lines = log.read_text().splitlines()
    assert any("allowed socket.getaddrinfo 'mirror.example.org'" in line for line in lines)
    assert any("allowed socket.connect ('203.0.113.7', 443)" in line for line in lines)
    assert any("blocked socket.getaddrinfo 'tracker.example.com'" in line for line in lines)
    privacy.clear_attempts()  # the blocked attempts above were on purpose


def test_disk_filling_up_during_the_download_is_a_clear_error(
    server: FileServer, tiny: Path, mount_small_disk: object
) -> None:
    small = mount_small_disk("1m")  # type: ignore[operator]
    server.add(REPO, "tiny.gguf", tiny, mode="no_size")  # size unknown until the GET
    with pytest.raises(DownloadError, match=r"Could not write .*tiny\.gguf\.part: No space left"):
        list(fast().download(server.url(REPO, "tiny.gguf"), small / "tiny.gguf"))
    assert not (small / "tiny.gguf").exists()


def test_chunked_body_without_a_length_downloads_pauses_and_resumes(
    server: FileServer, tiny: Path, tmp_path: Path
) -> None:
    """A GET answered with Transfer-Encoding: chunked (no Content-Length), as from some
    proxies, is read without the direct buffered-reader path, and still pauses, resumes
    with a range request and verifies."""
    served = server.add(REPO, "tiny.gguf", tiny, mode="chunked")
    dest = tmp_path / "tiny.gguf"
    cancel = CancelToken()
    for event in fast().download(server.url(REPO, "tiny.gguf"), dest, cancel=cancel):
        if event.kind == "progress" and event.done > 0:
            cancel.cancel()
    kept = partial_bytes(dest)
    assert 0 < kept < served.size
    events = list(fast().download(server.url(REPO, "tiny.gguf"), dest, architecture="llama"))
    assert served.gets[-1] == f"bytes={kept}-"
    assert events[-1].kind == "done" and sha256(dest) == served.sha256


def test_writer_reuses_its_buffers_and_syncs_without_mixing_blocks(tmp_path: Path) -> None:
    """Two 4 KB buffers carry 300 distinct blocks, with an fsync every 8 KB on the side:
    the file and the hash are exactly the blocks in order."""
    from desktop.core.downloads import _BackgroundWriter

    blocks = [bytes([i % 251]) * (4096 - i % 7) for i in range(300)]
    digest = hashlib.sha256()
    with (tmp_path / "out").open("ab") as fh, _BackgroundWriter(
        fh, digest, block_size=4096, buffers=2, sync_bytes=8192
    ) as writer:
        for block in blocks:
            buf = writer.buffer()
            buf[: len(block)] = block
            writer.put(buf, len(block))
    want = b"".join(blocks)
    assert (tmp_path / "out").read_bytes() == want
    assert digest.hexdigest() == hashlib.sha256(want).hexdigest()
