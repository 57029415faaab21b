"""The training process: ``python -m desktop.core.personalize.worker --run-dir DIR``.

Started by :class:`desktop.core.personalize.controller.PersonalizeController` (through
``desktop.core.paths.python_command`` so it also works frozen).  It runs the job in DIR
(:func:`desktop.core.personalize.pipeline.run_job`) and prints one ProgressEvent per line
as JSON (:func:`desktop.core.jobs.encode_event`) on its original stdout; fd 1 is pointed
at stderr so nothing a native library prints can corrupt the protocol.

Cancel: SIGTERM (POSIX) or the flag file ``cancel.flag`` in DIR (all platforms) makes it
save a checkpoint and exit within a step; the controller kills it after a timeout.
Pause: while the flag file ``pause.flag`` exists in DIR, training waits between steps.
Exit codes: 0 done, 1 error, 2 cancelled.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hearth-personalize-worker")
    parser.add_argument("--run-dir", required=True, type=Path)
    args = parser.parse_args(argv)

    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from desktop.core.privacy import harden

    harden()

    from desktop.core.jobs import CancelToken, encode_event
    from desktop.core.personalize.pipeline import CANCEL_FLAG, PAUSE_FLAG, run_job

    token = CancelToken()
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, lambda *_: token.cancel())
    flag = args.run_dir / CANCEL_FLAG
    flag.unlink(missing_ok=True)
    pause_flag = args.run_dir / PAUSE_FLAG

    def watch_flag() -> None:
        while not token.wait(0.1):  # pause must be quick: the chat waits for it
            if flag.exists():
                token.cancel()
            elif pause_flag.exists():
                token.pause()
            else:
                token.resume()

    threading.Thread(target=watch_flag, daemon=True, name="cancel-flag").start()
    code = 1
    for event in run_job(args.run_dir, token):
        out.write(encode_event(event) + "\n")
        out.flush()
        if event.kind == "done":
            code = 0
        elif event.kind == "cancelled":
            code = 2
    token.cancel()  # stops the flag watcher
    flag.unlink(missing_ok=True)
    out.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
