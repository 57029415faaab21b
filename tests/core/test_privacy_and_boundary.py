import socket
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core import privacy

ROOT = Path(__file__).resolve().parents[2]


def test_non_local_connection_is_blocked_and_recorded() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    with pytest.raises(privacy.NetworkBlocked):
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
    s.close()
    assert privacy.connection_attempts()
    privacy.clear_attempts()  # this test's attempt was on purpose


def test_name_lookup_is_blocked() -> None:
    with pytest.raises(privacy.NetworkBlocked):
        socket.getaddrinfo("example.com", 443)
    privacy.clear_attempts()


def test_local_channels_are_allowed() -> None:
    a, b = socket.socketpair()
    a.sendall(b"x")
    assert b.recv(1) == b"x"
    a.close()
    b.close()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.create_connection(srv.getsockname(), timeout=2)
    c.close()
    srv.close()
    assert privacy.connection_attempts() == []


def test_core_never_imports_qt() -> None:
    code = (
        "import pkgutil, importlib, sys, desktop.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'desktop.core.'):\n"
        "    if not m.name.endswith('.worker'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    for path in (ROOT / "desktop" / "core").rglob("*.py"):
        assert "PySide6" not in path.read_text(encoding="utf-8"), path


def test_no_telemetry_or_hub_access_configured() -> None:
    import os

    privacy.go_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"


def test_suite_runs_without_network_interfaces_when_possible() -> None:
    """Under `make test` on Linux the suite runs in a network namespace (tests/offline.sh):
    no interface but loopback exists.  Reported, since other runners may not provide it."""
    import os

    if not os.path.exists("/proc/net/dev"):
        pytest.skip("not Linux")
    names = [line.split(":")[0].strip() for line in open("/proc/net/dev").read().splitlines()[2:]]
    if names != ["lo"]:
        pytest.skip(f"not inside tests/offline.sh's namespace (interfaces: {names})")
    assert names == ["lo"]


def test_every_hearth_process_installs_the_network_guard() -> None:
    """Each entry point (app, CLI, benchmarks, self-test, and the engine, parser and
    training workers) hardens itself before doing anything else."""
    entry_points = ["desktop/ui/app.py", "desktop/cli/__init__.py", "desktop/bench/__init__.py",
                    "desktop/selftest.py", "desktop/core/engine/worker.py",
                    "desktop/core/library/parse_worker.py", "desktop/core/personalize/worker.py"]
    for rel in entry_points:
        assert "harden()" in (ROOT / rel).read_text(encoding="utf-8"), rel
    workers = {p.relative_to(ROOT).as_posix() for p in (ROOT / "desktop").rglob("*worker.py")
               if "__main__" in p.read_text(encoding="utf-8")}
    assert workers <= set(entry_points), workers - set(entry_points)
