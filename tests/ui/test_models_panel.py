"""The Models page: catalog with fit labels beside the user's models, a download from a
loopback mirror that the user confirmed, a tampered download reported by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.bench.fileserver import FileServer, make_gguf
from desktop.core.app import HearthCore
from desktop.core.catalog import Hardware, find_entry
from desktop.core.downloads import Downloader
from desktop.core.engine.fake import ScriptedBackend
from desktop.core.paths import models_dir
from desktop.ui.models_panel import FIT_COLUMN, PERSONALIZE_COLUMN, STATE_COLUMN, ModelsPanel

GB = 1024**3
NAME = "smollm2-360m-instruct"


@pytest.fixture
def core() -> Iterator[HearthCore]:
    c = HearthCore(engine=ScriptedBackend(), with_library=False)
    yield c
    c.close()


@pytest.fixture
def mirror(core: HearthCore, tmp_path: Path) -> Iterator[tuple[FileServer, Any]]:
    panel_entry = find_entry(NAME)
    with FileServer() as server:
        core.settings.models.hub_url = server.base_url
        yield server, panel_entry


def make_panel(qtbot: Any, core: HearthCore) -> ModelsPanel:
    panel = ModelsPanel(core, hardware=Hardware(ram_bytes=8 * GB),
                        downloader=Downloader(read_timeout=5, retries=1, progress_interval=0))
    qtbot.addWidget(panel)
    return panel


def test_catalog_shows_fit_labels_for_this_machine(qtbot: Any, core: HearthCore) -> None:
    panel = make_panel(qtbot, core)
    labels = {panel.catalog_tree.topLevelItem(i).text(0):
              panel.catalog_tree.topLevelItem(i).text(FIT_COLUMN)
              for i in range(panel.catalog_tree.topLevelItemCount())}
    assert labels["qwen2.5-0.5b-instruct"] == "fits"
    (suggested,) = [name for name in labels if "★ recommended" in name]
    assert labels[suggested] == "fits"
    # a suggestion Personalize cannot train says so where it is seen (twelfth trial)
    row = panel.row_for(suggested.split()[0])
    assert (row.text(PERSONALIZE_COLUMN) == "no") == suggested.endswith("(not personalizable)")
    slow = make_panel(qtbot, core)  # two cores, 24 GB: this machine, where the suggestion was smollm2-1.7b
    slow.hardware = Hardware(ram_bytes=24 * GB, cpu_cores=2)
    slow.refresh()
    (named,) = [slow.catalog_tree.topLevelItem(i).text(0) for i in range(slow.catalog_tree.topLevelItemCount())
                if "★ recommended" in slow.catalog_tree.topLevelItem(i).text(0)]
    row = slow.row_for(named.split()[0])
    assert (row.text(PERSONALIZE_COLUMN) == "no") == named.endswith("(not personalizable)")
    # and then the one to personalize is named too (fourteenth trial)
    (personal,) = [slow.catalog_tree.topLevelItem(i).text(0) for i in range(slow.catalog_tree.topLevelItemCount())
                   if "✦ recommended to personalize" in slow.catalog_tree.topLevelItem(i).text(0)]
    assert named.endswith("(not personalizable)")  # smollm2-1.7b on this machine
    assert slow.row_for(personal.split()[0]).text(PERSONALIZE_COLUMN) == "yes"
    phi = panel.row_for("phi-3-mini-4k-instruct")
    assert phi.text(PERSONALIZE_COLUMN) == "no" and "cannot yet" in phi.toolTip(PERSONALIZE_COLUMN)
    assert labels["llama-3.1-8b-instruct"] == "may be slow"
    assert "8.6 GB of RAM" in panel.hardware_label.text()


def test_download_after_the_user_agrees_to_the_host(
    qtbot: Any, core: HearthCore, mirror: tuple[FileServer, Any], tmp_path: Path
) -> None:
    server, entry = mirror
    served = server.add(entry.repo, entry.file, make_gguf(tmp_path / "m.gguf", "llama"))
    panel = make_panel(qtbot, core)
    asked: list[list[str]] = []
    panel.confirm_hosts_fn = lambda e, hosts: asked.append(hosts) is not None  # says no
    panel.select(NAME)
    assert not panel.start_download()
    assert asked == [["127.0.0.1"]] and served.heads == 0 and served.gets == []

    panel.confirm_hosts_fn = lambda e, hosts: True
    with qtbot.waitSignal(panel.models_changed, timeout=20_000):
        assert panel.start_download()
    qtbot.waitUntil(lambda: panel._worker is None, timeout=10_000)
    assert panel.row_for(NAME).text(STATE_COLUMN) == "downloaded"
    dest = models_dir() / entry.file
    assert dest.is_file() and str(dest) in core.settings.chat.extra_models
    files = [panel.own_tree.topLevelItem(i).text(6) for i in range(panel.own_tree.topLevelItemCount())]
    assert str(dest) in files

    panel.select(NAME)
    panel.remove_selected()
    assert not dest.exists() and panel.row_for(NAME).text(STATE_COLUMN) == ""


def test_tampered_download_is_reported_by_name_and_not_offered(
    qtbot: Any, core: HearthCore, mirror: tuple[FileServer, Any], tmp_path: Path
) -> None:
    server, entry = mirror
    server.add(entry.repo, entry.file, make_gguf(tmp_path / "m.gguf", "llama"), mode="bad_sha")
    panel = make_panel(qtbot, core)
    panel.confirm_hosts_fn = lambda e, hosts: True
    panel.select(NAME)
    with qtbot.waitSignal(panel.download_failed, timeout=20_000) as blocker:
        panel.start_download()
    assert entry.file in blocker.args[0] and "failed verification" in blocker.args[0]
    qtbot.waitUntil(lambda: panel._worker is None, timeout=10_000)
    assert not (models_dir() / entry.file).exists()
    assert all(entry.file not in p for p in core.settings.chat.extra_models)
    assert "Download failed" in panel.status.text()


def test_your_models_shows_each_name_in_full(qtbot: Any, core: HearthCore) -> None:
    """Seen on the screenshots: the built-in model's name was cut to "SmolLM2 1…" while
    the file path took the rest of the row."""
    panel = make_panel(qtbot, core)
    panel.resize(1100, 700)
    panel.show()
    qtbot.waitExposed(panel)
    tree = panel.own_tree
    if tree.topLevelItemCount() == 0:
        pytest.skip("no model installed to list")
    metrics = tree.fontMetrics()
    for i in range(tree.topLevelItemCount()):
        name = tree.topLevelItem(i).text(0)
        assert tree.columnWidth(0) >= metrics.horizontalAdvance(name), name
    headers = [tree.headerItem().text(c) for c in range(tree.columnCount() - 1)]
    for column, text in enumerate(headers):  # "On this compute" was cut too
        assert tree.columnWidth(column) >= metrics.horizontalAdvance(text), text
