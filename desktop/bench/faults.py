"""``hearth-bench faults``: kill Hearth's processes at random moments and count what is lost.

For each activity the benchmark starts the real work in a child process (the ``hearth``
CLI with the real default model), SIGKILLs it after a random delay, and then checks the
invariants a user relies on.  The same functions run a few times in the test suite
(tests/e2e/test_faults.py) and many times here.

Activities and checks after each kill:
    chat: the history opens (integrity_check ok); every message committed before the
        run is unchanged; the question sent in the run is there once the reply started;
        no reply stays "streaming"; no stray temporary files.
    index (``hearth index`` on a folder of 40 notes, a quarter of them rewritten before
        each run so every run has work): the library opens; for every file it reports
        indexed, each of its chunks is in the vector store, and the store holds no chunk
        the manifest does not list (no duplicate, no orphan); unchanged files reported
        indexed stay indexed; no stray temporary files.  After the series, one more run
        finishes the folder.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FaultReport:
    """Outcome of one activity's kill series."""

    activity: str
    kills: int = 0
    mid_work: int = 0  # kills that landed while work was under way (e.g. mid-reply)
    losses: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return len(self.losses)


def _stray_files(home: Path) -> list[str]:
    return [str(p) for p in home.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]


def _snapshot(db: Path) -> dict[int, tuple[str, str, str]]:
    if not db.exists():
        return {}
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT id, role, content, status FROM messages").fetchall()
    finally:
        con.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def kill_chat_once(home: Path, rng: random.Random, max_delay: float = 4.0) -> tuple[list[str], bool]:
    """One chat run killed at a random moment.

    Returns:
        (what was lost, empty when nothing; whether the kill landed mid-reply).
    """
    from desktop.core.history import History

    db = home / "data" / "history.sqlite3"
    before = _snapshot(db)
    question = f"Tell me a long story about the number {rng.randrange(10**6)}."
    env = {**os.environ, "HEARTH_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "chat", "--no-library", "--max-tokens", "300", question],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    time.sleep(rng.uniform(0.0, max_delay))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)  # the engine worker notices its parent's pipe closed and exits
    problems: list[str] = []
    mid_reply = False
    try:
        with History(db) as h:
            if h._db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                problems.append("history failed integrity_check")
            after = {m.id: m for c in h.list_conversations() for m in h.messages(c.id)}
            for mid, (role, content, status) in before.items():
                m = after.get(mid)
                if m is None:
                    problems.append(f"message {mid} ({role}) lost")
                elif m.content != content and status not in ("streaming",):
                    problems.append(f"message {mid} changed")
            new = [m for mid, m in after.items() if mid not in before]
            mid_reply = any(m.role == "assistant" and m.status == "interrupted" for m in new)
            if any(m.role == "assistant" for m in new) and not any(
                m.role == "user" and m.content == question for m in new
            ):
                problems.append("a reply started but its question is missing")
            if any(m.status == "streaming" for m in after.values()):
                problems.append("a reply is still marked streaming after reopening")
    except Exception as exc:  # the history did not even open
        problems.append(f"history did not open: {exc}")
    problems += [f"stray file {p}" for p in _stray_files(home)]
    return problems, mid_reply


def _notes_folder(home: Path) -> Path:
    folder = home / "notes"
    if not folder.exists():
        folder.mkdir(parents=True)
        topics = ["rivers", "bread", "comets", "bees", "glaciers", "violins", "tides", "owls"]
        for i in range(40):
            topic = topics[i % len(topics)]
            text = "\n\n".join(
                f"Note {i} on {topic}, part {p}. " + " ".join(
                    f"The {topic} detail {p}-{w} of note {i} matters." for w in range(30))
                for p in range(4)
            )
            (folder / f"note-{i:02d}-{topic}.txt").write_text(text, encoding="utf-8")
    return folder


def _last_update(home: Path) -> float:
    """When the library's manifest last recorded a file (0 if never)."""
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    if not (home / "data").exists():
        return 0.0
    lib = Library.open(home / "data", LibrarySettings())
    try:
        return max((f.updated_at for f in lib.files()), default=0.0)
    finally:
        lib.close()


def _indexed_and_unchanged(home: Path) -> set[str]:
    """Notes the manifest reports indexed whose file still has the indexed content."""
    import hashlib

    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    if not (home / "data").exists():
        return set()
    lib = Library.open(home / "data", LibrarySettings())
    try:
        return {
            Path(rec.path).name for rec in lib.manifest.files("default")
            if rec.state == "indexed" and Path(rec.path).exists()
            and hashlib.sha256(Path(rec.path).read_bytes()).hexdigest() == rec.sha256
        }
    finally:
        lib.close()


def library_state(home: Path) -> tuple[dict[str, str], list[str]]:
    """(file -> state, problems) of the library under ``home``, checked against the store."""
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    problems: list[str] = []
    lib = Library.open(home / "data", LibrarySettings())
    try:
        states = {Path(f.path).name: f.state for f in lib.files()}
        if "default" not in lib.collection_names():
            return states, problems
        manifest_ids = {i for i, _text in lib.manifest.chunks("default")}
        store_ids = set(lib._store("default").get(include=[])["ids"])
        if len(store_ids) != lib.chunk_count("default"):
            problems.append("the store's count disagrees with its ids")
        orphans = store_ids - manifest_ids
        if orphans:
            problems.append(f"{len(orphans)} chunks in the store that no file lists")
        for rec in lib.manifest.files("default"):
            if rec.state in ("done", "indexed") and not set(rec.chunk_ids) <= store_ids:
                problems.append(f"{Path(rec.path).name} reported indexed but chunks are missing")
    finally:
        lib.close()
    return states, problems


def kill_index_once(home: Path, rng: random.Random, max_delay: float = 25.0) -> tuple[list[str], bool]:
    """One ``hearth index`` run killed at a random moment (see the module docstring)."""
    folder = _notes_folder(home)
    # give every run new work: rewrite a quarter of the notes (they must be re-indexed)
    for path in rng.sample(sorted(folder.iterdir()), 10):
        path.write_text(path.read_text(encoding="utf-8") + f"\n\nAddendum {rng.random()}: "
                        + " ".join(f"word{rng.randrange(10**6)}" for _ in range(200)), encoding="utf-8")
    stable = _indexed_and_unchanged(home)
    env = {**os.environ, "HEARTH_HOME": str(home)}
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "index", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    time.sleep(rng.uniform(6.0, max_delay))  # start-up (imports, embedder) takes seconds
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)
    try:
        after, problems = library_state(home)
    except Exception as exc:
        return [f"library did not open: {exc}"], False
    done = {"done", "indexed"}
    problems += [f"{name} was indexed, is unchanged, and is not indexed any more"
                 for name in stable if after.get(name) not in done]
    problems += [f"stray file {p}" for p in _stray_files(home)]
    mid = not finished and _last_update(home) >= started  # killed after it had saved work
    return problems, mid


def finish_index(home: Path) -> list[str]:
    """Run ``hearth index`` to the end; every note must then be indexed, store consistent."""
    env = {**os.environ, "HEARTH_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "desktop.cli", "index", str(_notes_folder(home))],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    states, problems = library_state(home)
    missing = [n for n, st in states.items() if st not in ("done", "indexed")]
    if len(states) != 40 or missing:
        problems.append(f"after resuming, {40 - len(states) + len(missing)} of 40 notes are not indexed")
    return problems


ACTIVITIES: dict[str, Callable[[Path, random.Random], tuple[list[str], bool]]] = {
    "chat": kill_chat_once,
    "index": kill_index_once,
}
FINISH: dict[str, Callable[[Path], list[str]]] = {"index": finish_index}


def run_kills(activity: str, kills: int, seed: int = 0, home: Path | None = None) -> FaultReport:
    """Kill ``activity`` ``kills`` times in one HEARTH_HOME (a temporary one by default)."""
    rng = random.Random(seed)
    report = FaultReport(activity)
    with tempfile.TemporaryDirectory(prefix=f"hearth-faults-{activity}-") as tmp:
        where = home or Path(tmp)
        for _ in range(kills):
            losses, mid_work = ACTIVITIES[activity](where, rng)
            report.losses += losses
            report.kills += 1
            report.mid_work += int(mid_work)
        if activity in FINISH:
            report.losses += FINISH[activity](where)
    return report


def register(sub: Any) -> None:
    p = sub.add_parser("faults", help="SIGKILL Hearth at random moments and count what is lost")
    p.add_argument("--activity", choices=sorted(ACTIVITIES), action="append")
    p.add_argument("--kills", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from desktop.bench import print_json_line, print_table

    reports = [run_kills(a, args.kills, args.seed) for a in (args.activity or sorted(ACTIVITIES))]
    print_table(
        ["activity", "kills", "mid-work kills", "losses", "first loss"],
        [[r.activity, r.kills, r.mid_work, r.lost, r.losses[0] if r.losses else "-"] for r in reports],
    )
    print_json_line({
        "benchmark": "faults",
        **{r.activity: {"kills": r.kills, "mid_work": r.mid_work, "lost": r.lost} for r in reports},
    })
    return 0 if all(r.lost == 0 for r in reports) else 1
