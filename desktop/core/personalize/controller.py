"""Run personalization in a separate process and follow it: the one controller the
window, the CLI and the tests use.

    controller = PersonalizeController()
    controller.prepare(documents, model_path, TrainConfig(), deadline=...)
    controller.start()
    for event in controller.events():   # ProgressEvents, ending in done/cancelled/error
        ...
    controller.cancel()                  # from another thread: stops within seconds
    controller.pause(); controller.resume()   # waits between two training steps

A run folder holds everything (see pipeline.py); starting again after a kill or a reboot
resumes from its last checkpoint.  The worker is a
:class:`~desktop.core.process.SupervisedProcess`: stopped by a flag file and SIGTERM, then
terminated and killed after ``timeout`` seconds (the Vorta pattern in ../shared/STYLE.md).
Pause is the flag file ``pause.flag`` in the run folder (all platforms).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from desktop.core.jobs import CancelToken, ProgressEvent, decode_event
from desktop.core.paths import data_dir, sweep_temporaries
from desktop.core.personalize.dataset import Document, Preview, build_preview
from desktop.core.personalize.pipeline import (
    CANCEL_FLAG,
    DATA_FILE,
    JOB_FILE,
    PAUSE_FLAG,
    REPORT_FILE,
    JobSpec,
    write_documents,
)
from desktop.core.personalize.trainer import CHECKPOINT_FILE, TrainConfig
from desktop.core.priority import ChatPriority
from desktop.core.process import SupervisedProcess

log = logging.getLogger(__name__)


def default_run_dir() -> Path:
    return data_dir() / "personalize" / "run"


class PersonalizeController:
    """Starts, follows and cancels the training process for one run folder.

    Args:
        run_dir: the run folder (default ``data_dir()/"personalize"/"run"``).
        env: extra environment for the worker (tests set hooks with it).
    """

    def __init__(self, run_dir: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else default_run_dir()
        sweep_temporaries(self.run_dir)  # left by a killed worker (a running one's are kept)
        self.env = env or {}
        self.child: SupervisedProcess | None = None
        self._cancel_requested = False

    # -- state -------------------------------------------------------------------------
    def has_unfinished_run(self) -> bool:
        """True when a run was started and not finished (it will resume)."""
        return (self.run_dir / JOB_FILE).exists()

    def checkpoint_step(self) -> int | None:
        """The step of the saved checkpoint, if any (reads it; a few MB)."""
        path = self.run_dir / CHECKPOINT_FILE
        if not path.exists():
            return None
        import torch

        try:
            return int(torch.load(path, map_location="cpu", weights_only=False)["step"])
        except Exception:
            return None

    def last_report(self) -> dict[str, Any] | None:
        import json

        try:
            return dict(json.loads((self.run_dir / REPORT_FILE).read_text()))
        except (OSError, ValueError):
            return None

    # -- preparing -----------------------------------------------------------------------
    def prepare(
        self,
        documents: Iterable[Document],
        model_path: Path,
        config: TrainConfig | None = None,
        deadline: dt.datetime | float | None = None,
        resume: bool = True,
        **spec: Any,
    ) -> JobSpec:
        """Write the run folder for a new run, or keep the unfinished one (``resume``),
        updating only its deadline.  ``spec`` sets other JobSpec fields (qa_pairs, ...).

        Raises:
            ValueError: no documents.
            TrainingError: the model's architecture cannot be personalized (named).
        """
        from desktop.core.personalize.trainer import check_personalizable

        check_personalizable(Path(model_path))
        when = deadline.timestamp() if isinstance(deadline, dt.datetime) else deadline
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.has_unfinished_run():
            job = JobSpec.load(self.run_dir)
            job.deadline = when
            job.save(self.run_dir)
            return job
        self.reset()
        docs = list(documents)
        if not docs:
            raise ValueError("There is nothing to learn from: add documents to your library first.")
        write_documents(self.run_dir, docs)
        job = JobSpec(model_path=str(model_path), config=asdict(config or TrainConfig()),
                      deadline=when, **spec)
        job.save(self.run_dir)
        return job

    def reset(self) -> None:
        """Forget an unfinished run (its checkpoint and data)."""
        for name in (JOB_FILE, CHECKPOINT_FILE, DATA_FILE, "docs.jsonl", "eval_before.json", CANCEL_FLAG,
                     PAUSE_FLAG):
            (self.run_dir / name).unlink(missing_ok=True)

    # -- the process ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker process on the prepared run folder.

        Raises:
            RuntimeError: nothing prepared, or a worker is already running.
        """
        if not (self.run_dir / JOB_FILE).exists():
            raise RuntimeError("Prepare a run before starting it.")
        if self.running:
            raise RuntimeError("Personalization is already running.")
        (self.run_dir / CANCEL_FLAG).unlink(missing_ok=True)
        (self.run_dir / PAUSE_FLAG).unlink(missing_ok=True)
        self._cancel_requested = False
        if self.child is not None:
            self.child.close()
        self.child = SupervisedProcess.python_module(
            "desktop.core.personalize.worker", "--run-dir", str(self.run_dir),
            log_name="personalize.log", env=self.env, stdin=False)

    @property
    def running(self) -> bool:
        return self.child is not None and self.child.alive

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    def events(self) -> Iterator[ProgressEvent]:
        """The worker's events until it exits.  If it dies without a final event (a kill,
        a crash), one "error" event says so, with the last lines of its log; the
        checkpoint is kept for the next start."""
        child = self.child
        if child is None:
            raise RuntimeError("Start the run first.")
        final = False
        for line in child.lines():
            event = decode_event(line)
            if event is None:
                if line.strip():
                    log.info("worker: %s", line.rstrip())
                continue
            final = final or event.final
            yield event
        code = child.wait()
        if not final:
            if self._cancel_requested:
                yield ProgressEvent("personalize", "cancelled", "train",
                                    message="Cancelled; the last checkpoint is kept.")
            else:
                yield ProgressEvent(
                    "personalize", "error", "train",
                    message=child.crash_message(
                        "The training process",
                        "Start personalization again to resume from the last checkpoint."),
                    data={"exit_code": code},
                )
        child.stop()  # closes the pipes and the log

    def cancel(self, timeout: float = 15.0) -> None:
        """Ask the worker to stop (flag file + SIGTERM) and kill it after ``timeout``
        seconds if it has not stopped.  Returns at once."""
        self._cancel_requested = True
        try:
            (self.run_dir / CANCEL_FLAG).touch()
        except OSError:
            pass
        child = self.child
        if child is None or not child.alive:
            return

        def graceful() -> None:  # the flag is set; SIGTERM makes it act at once (POSIX)
            if os.name != "nt":
                child.proc.terminate()

        threading.Thread(target=child.stop, args=(graceful, timeout, 5.0), daemon=True,
                         name="personalize-stop").start()

    def pause(self) -> None:
        """Make the worker wait between two training steps (the checkpoint and the
        step count stay); :meth:`resume` lets it go on.  Returns at once."""
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / PAUSE_FLAG).touch()
        except OSError:
            log.exception("could not pause the training")

    def resume(self) -> None:
        (self.run_dir / PAUSE_FLAG).unlink(missing_ok=True)

    @property
    def paused(self) -> bool:
        return (self.run_dir / PAUSE_FLAG).exists()

    def wait(self, timeout: float | None = None) -> int | None:
        return self.child.wait(timeout) if self.child else None


#: ggml's ERROR log level (ggml.h: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5)
_GGML_ERROR = 4
_llama_log_callback: Any = None


def _route_llama_logs() -> None:
    """Send llama.cpp's messages in this process to the ``llama.cpp`` logger: its errors
    as errors, the rest (a model's details, and warnings about llama.cpp's own set-up) as
    debug detail.  llama-cpp-python's own callback maps ggml's levels from an older
    numbering and prints warnings such as "n_ctx_seq (512) > n_ctx_train (0)", which every
    vocab-only load makes, to the terminal whatever ``verbose`` says."""
    global _llama_log_callback
    if _llama_log_callback is not None:
        return
    import ctypes

    import llama_cpp

    llama_log = logging.getLogger("llama.cpp")

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        llama_log.log(logging.ERROR if level == _GGML_ERROR else logging.DEBUG, "%s",
                      text.decode("utf-8", "replace").rstrip())

    _llama_log_callback = forward  # kept: llama.cpp holds only the C pointer
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))


def count_tokens_function(model_path: Path) -> Any:
    """A fast text -> token count function for previews (llama.cpp's tokenizer, vocab only)."""
    import llama_cpp

    _route_llama_logs()
    vocab = llama_cpp.Llama(str(model_path), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return count


def preview_documents(
    documents: Iterable[Document], model_path: Path, excluded: Iterable[str] = (),
    included: Iterable[str] = (),
) -> tuple[Preview, list[Document]]:
    """What a run will learn from: (preview with token counts and exclusions, documents);
    ``excluded`` and ``included`` as in :func:`build_preview`."""
    return build_preview(documents, count_tokens_function(model_path), excluded, included)


def run_personalization(
    documents: Iterable[Document],
    model_path: Path,
    *,
    start_at: dt.datetime | None = None,
    deadline: dt.datetime | None = None,
    config: TrainConfig | None = None,
    excluded: Iterable[str] = (),
    included: Iterable[str] = (),
    require_mains: bool = True,
    controller: PersonalizeController | None = None,
    cancel: CancelToken | None = None,
    priority: ChatPriority | None = None,
    **spec: Any,
) -> Iterator[ProgressEvent]:
    """The whole "Personalize overnight" job as events: wait for the start time (and mains
    power), preview, then run the worker and relay its events.  Cancelling the token
    cancels the worker (checkpoint kept); with ``priority``, training pauses while the
    chat answers.  Used by the window (GeneratorWorker) and CLI.  ``excluded`` and
    ``included`` name files the user unticked or ticked (:func:`build_preview`: a file
    that seems to hold a password is left out unless ``included`` names it).
    """
    from desktop.core.personalize.schedule import wait_until

    token = cancel or CancelToken()
    ctl = controller or PersonalizeController()
    if start_at is not None:
        yield from wait_until(start_at, token, require_mains)
    elif require_mains:
        yield from wait_until(dt.datetime.now(), token, require_mains)
    if token.cancelled:
        yield ProgressEvent("personalize", "cancelled", "waiting", message="Cancelled before it started.")
        return
    if ctl.has_unfinished_run():
        step = ctl.checkpoint_step()
        yield ProgressEvent("personalize", "log", "data", message=(
            f"Resuming the unfinished run from step {step}." if step else "Resuming the unfinished run."),
            data={"phase": "data", "resume_step": step})
        ctl.prepare([], model_path, config, deadline, resume=True)
    else:
        preview, docs = preview_documents(documents, model_path, excluded, included)
        yield ProgressEvent("personalize", "log", "preview", message=(
            f"Learning from {len(preview.included)} files ({preview.total_tokens} tokens); "
            f"{len(preview.items) - len(preview.included)} left out."),
            data={"phase": "preview", "preview": preview.to_dict()})
        ctl.prepare(docs, model_path, config, deadline, resume=False, **spec)
    ctl.start()
    token.on_cancel(ctl.cancel)
    started = time.time()
    unregister = priority.register(ctl) if priority is not None else None
    try:
        yield from ctl.events()
    finally:
        if unregister is not None:
            unregister()
    log.info("personalization worker ended after %.0f s", time.time() - started)
