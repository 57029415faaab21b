"""The window with the library on a Chroma server (a real ``chroma run`` on loopback):
the Library panel indexes into it as it does on this disk, and the server going away
mid-indexing shows a clear message in the panel.  The setting is tested before it is
saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.settings import Settings
from desktop.ui.library_panel import LibraryPanel
from tests.chroma_server import core_on_server, free_port
from tests.core.library.test_chroma_server import _notes


def test_library_panel_indexes_into_a_chroma_server_and_reports_it_going_away(
        qtbot: Any, tmp_path: Path, chroma_server: Any) -> None:
    core = core_on_server(chroma_server.port)
    try:
        panel = LibraryPanel(core, watch=False)
        qtbot.addWidget(panel)
        panel.show()
        with qtbot.waitSignal(panel.indexing_finished, timeout=300_000) as blocker:
            panel.add_paths([_notes(tmp_path / "notes")])
        assert blocker.args[0].data["indexed"] == 3
        qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
        assert core.library is not None and core.library.store.count("default") >= 3

        more = tmp_path / "more"
        more.mkdir()
        (more / "late.txt").write_text("The boiler was serviced in March.\n", encoding="utf-8")
        chroma_server.kill()
        with qtbot.waitSignal(panel.indexing_failed, timeout=300_000) as failed:
            panel.add_paths([more])
        message = failed.args[0]
        assert f"127.0.0.1:{chroma_server.port}" in message and "Nothing was lost" in message
        assert message in panel.status_label.text()
        qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
        assert {s.state for s in core.library.files() if s.path.startswith(str(tmp_path / "notes"))} == {"indexed"}
    finally:
        core.close()


def test_library_server_setting_is_tested_before_it_is_saved(make_window: Any, chroma_server: Any) -> None:
    from desktop.ui.server_control import set_library_server

    window = make_window(load=False)
    port = free_port()  # nobody listens there
    message = set_library_server(window, f"127.0.0.1:{port}")
    assert message.startswith("Not saved: The Chroma server") and f"127.0.0.1:{port}" in message
    assert window.core.settings.library.chroma_host == ""
    message = set_library_server(window, f"127.0.0.1:{chroma_server.port}")
    assert message.startswith("Connected to the Chroma server")
    saved = Settings.load().library
    assert (saved.chroma_host, saved.chroma_port) == ("127.0.0.1", chroma_server.port)
    assert "this computer" in set_library_server(window, "")
    assert Settings.load().library.chroma_host == ""
