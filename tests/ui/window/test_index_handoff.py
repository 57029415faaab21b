"""`hearth index` while the window is open: the window (which holds the library) indexes
the paths through its Library page, and the terminal follows its progress.  A real
window over a real core and library, and the real command in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop.core.app import HearthCore
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.library import handoff
from desktop.core.settings import Settings
from desktop.ui.library_panel import LibraryPanel
from desktop.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[3]


def test_hearth_index_while_the_window_is_open_indexes_there(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    network_log = tmp_path / "network.log"  # both processes record every connection here
    monkeypatch.setenv("HEARTH_NETWORK_LOG", str(network_log))
    settings = Settings()
    settings.ui.welcome_done = True
    core = HearthCore(settings=settings, engine=ScriptedBackend())
    window = MainWindow(core)
    qtbot.addWidget(window)
    window.show()
    assert core.library is not None
    address = core.library.root / handoff.ADDRESS_FILE
    doc = tmp_path / "notes" / "boat.txt"
    doc.parent.mkdir()
    doc.write_text("The boat is moored at pier 7 from April to October.\n", encoding="utf-8")
    try:
        assert address.exists()
        cli = subprocess.Popen([sys.executable, "-m", "desktop.cli", "index", str(doc.parent)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            qtbot.waitUntil(lambda: cli.poll() is not None, timeout=300_000)  # the window's loop runs meanwhile
        finally:
            if cli.poll() is None:
                cli.kill()
        out, err = cli.communicate()
        assert cli.returncode == 0, err
        assert "The Hearth window has your library open, so it is indexing" in err
        assert "Indexed 1 file(s)" in out
        panel = window._panels["library"]
        assert isinstance(panel, LibraryPanel)
        qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
        rows = {panel.file_tree.topLevelItem(i).text(0): panel.file_tree.topLevelItem(i).text(1)
                for i in range(panel.file_tree.topLevelItemCount())}
        assert rows == {"boat.txt": "Indexed"}
        qtbot.waitUntil(lambda: "ended" in window.status_text.text(), timeout=10_000)
        assert "asked from the terminal" in window.status_text.text()  # and no longer "Indexing boat…"

        if os.name == "posix":  # Ctrl+C stops waiting; the window goes on (paused here, so
            # that the job cannot end before the terminal is interrupted)
            core.library.pause()
            late = tmp_path / "late.txt"
            late.write_text("The spare oars are in the shed behind the garage.\n", encoding="utf-8")
            cli = subprocess.Popen([sys.executable, "-m", "desktop.cli", "index", str(late)], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
            try:
                assert cli.stderr is not None
                assert "so it is indexing" in cli.stderr.readline()
                cli.send_signal(signal.SIGINT)
                qtbot.waitUntil(lambda: cli.poll() is not None, timeout=60_000)
            finally:
                if cli.poll() is None:
                    cli.kill()
            out, err = cli.communicate()
            assert cli.returncode == 130 and "Stopped waiting; the window goes on indexing" in err, err
            core.library.resume()
            qtbot.waitUntil(lambda: any(f.path == str(late.resolve()) and f.state == "indexed"
                                        for f in core.library.files()), timeout=120_000)
        assert core.library.search("Where is the boat moored?", top_k=1)[0].title == "boat.txt"
    finally:
        window.close()
        core.close()
    assert not address.exists()  # the window stopped listening when it closed
    lines = network_log.read_text(encoding="utf-8").splitlines()
    assert lines and all(" local " in line for line in lines), lines  # no TCP port, nothing blocked


def test_watched_folders_are_kept_indexed_from_the_start(qtbot: Any, tmp_path: Path) -> None:
    """The watcher started only with the Library page, so a note saved into a watched
    folder was not found by the chat until that page was opened (ninth new-user trial)."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "shed.txt").write_text("The lawn mower lives in the shed.\n", encoding="utf-8")
    settings = Settings()
    settings.ui.welcome_done = True
    first = HearthCore(settings=settings, engine=ScriptedBackend())
    assert first.library is not None
    first.watch_folder(folder)
    first.close()  # a folder watched in an earlier session
    core = HearthCore(settings=settings, engine=ScriptedBackend())
    window = MainWindow(core)
    qtbot.addWidget(window)
    window.show()
    try:
        assert "library" not in window._panels and core.watcher is not None and not core.watcher.running
        window.watch_folders()  # what launching the app does once the window shows
        assert window.modes.currentWidget() is window.chat_page  # the chat stays in front
        qtbot.waitUntil(lambda: core.watcher.running and core.watcher.idle(), timeout=120_000)
        (folder / "gym.txt").write_text("Gym membership: 24.99 a month.\n", encoding="utf-8")
        qtbot.waitUntil(lambda: any(s.title == "gym.txt" for s in core.library.search("gym membership", top_k=2)),
                        timeout=60_000)
        assert core.library.search("lawn mower", top_k=1)[0].title == "shed.txt"  # caught up
        # the status bar said "Ready." while a watched folder was indexed (eleventh trial)
        assert window.library_status.text().startswith("Indexing · ")
        # apart from the answer's speed (fourteenth trial); shown and hidden with the indexing
        # text (which may already be hidden here: the run can end before this line)
        assert window.library_separator.isVisible() == window.library_status.isVisible()
        qtbot.waitUntil(window.library_status.isHidden, timeout=60_000)
        assert window.library_separator.isHidden()
        # and before any file is read (twelfth trial: "Ready." alone while the model loaded)
        window._panels["library"].indexing_status.emit("Loading the embedding model…")
        assert window.library_status.isVisible()
        assert window.library_status.text() == "Indexing · Loading the embedding model…"
        assert window.library_separator.isVisible()
    finally:
        window.close()
        core.close()


def test_launching_hearth_again_brings_the_open_window_to_the_front(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reopening Hearth while its window was hidden in the tray (or still closing) said
    "Your document library is open in the Hearth window (process N)" and stopped (twenty-first
    trial).  Launched again, it brings that window to the front and ends by itself."""
    from desktop.core.library import store

    # this test process plays the window's part (launched, it would name itself so)
    monkeypatch.setattr(store, "_this_program", lambda: f"the Hearth window (process {os.getpid()})")
    settings = Settings()
    settings.ui.welcome_done = True
    core = HearthCore(settings=settings, engine=ScriptedBackend())
    window = MainWindow(core)
    qtbot.addWidget(window)
    try:
        assert not window.isVisible()  # in the tray
        second = subprocess.Popen([sys.executable, "-m", "desktop"], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            qtbot.waitUntil(lambda: second.poll() is not None, timeout=120_000)  # the window's loop runs meanwhile
        finally:
            if second.poll() is None:
                second.kill()
        out = second.communicate()[0]
        assert second.returncode == 0, out
        assert "its window was brought to the front" in out
        qtbot.waitUntil(window.isVisible, timeout=10_000)
        # a window that no longer answers (closing) and keeps the library: a clear refusal
        assert window.handoff is not None
        window.handoff.close()
        code = ("from desktop.ui.app import open_core\n"
                "try:\n    open_core(wait_s=1.0)\nexcept Exception as exc:\n    print(type(exc).__name__, exc)")
        refused = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                 timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert refused.stdout.startswith("LibraryBusy") and "is open in the Hearth window" in refused.stdout, \
            refused.stdout + refused.stderr
    finally:
        window.close()
        core.close()
