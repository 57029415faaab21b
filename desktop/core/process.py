"""One supervised child process, used by the three workers (engine, parser, trainer).

:class:`SupervisedProcess` does what the three have in common (the Vorta ``BorgJob``
pattern in ../shared/STYLE.md):

- spawn ``python -m module`` here or the frozen executable's ``--run-module`` (see
  :func:`desktop.core.paths.python_command`), with no console window on Windows
  (``CREATE_NO_WINDOW``) and the child's stderr appended to a log file in the logs folder;
- JSON lines both ways, each read with an optional time limit (a reader thread feeds a
  queue, so a silent child cannot block the caller for ever);
- :meth:`stop`: a graceful request first (a message, closing stdin, a flag), then
  terminate, then kill, each after its own timeout;
- :meth:`crash_message`: a child that died is turned into a sentence with its exit code
  and the last lines of its log (the traceback or the native library's last words).

Each worker keeps only what differs: its module, its messages and what a crash means
for the user.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from desktop.core.jobs import CancelToken
from desktop.core.paths import logs_dir, python_command

log = logging.getLogger(__name__)

#: How much of the end of a log file is read for a crash message (bytes).
LOG_TAIL_BYTES = 16_384


class ChildExited(Exception):
    """The child process ended (or its pipe broke) while a message was awaited or sent."""


class SupervisedProcess:
    """A child process speaking JSON lines on stdin/stdout, its stderr in a log file.

    Args:
        argv: the command (usually :func:`desktop.core.paths.python_command`; tests pass
            tiny scripts).
        log_name: file name in :func:`desktop.core.paths.logs_dir` for the child's stderr.
        env: extra environment on top of this process's.
        stdin: give the child a pipe to read requests from (False: no stdin).
        log_dir: the folder for the log (default: the logs folder).

    Raises:
        OSError: the program cannot be started.
    """

    def __init__(self, argv: Sequence[str], log_name: str, env: dict[str, str] | None = None,
                 stdin: bool = True, log_dir: Path | None = None) -> None:
        self.log_path = (log_dir or logs_dir()) / log_name
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(self.log_path, "ab")
        self._log_start = self._log.tell()
        kwargs: dict[str, Any] = {}
        if os.name == "nt":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            self.proc: subprocess.Popen[bytes] = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env={**os.environ, **(env or {})},
                **kwargs,
            )
        except OSError:
            self._log.close()
            raise
        self._write_lock = threading.Lock()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._eof = False
        threading.Thread(target=self._pump, daemon=True, name=f"{log_name}-reader").start()

    @classmethod
    def python_module(cls, module: str, *args: str, log_name: str,
                      env: dict[str, str] | None = None, stdin: bool = True) -> SupervisedProcess:
        """Run ``python -m module args`` (or the frozen bundle's equivalent)."""
        return cls(python_command(module, *args), log_name, env=env, stdin=stdin)

    # -- state -------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, waiting up to ``timeout`` s. Raises subprocess.TimeoutExpired."""
        return self.proc.wait(timeout)

    # -- messages ----------------------------------------------------------------------
    def _pump(self) -> None:
        stream = self.proc.stdout
        try:
            if stream is not None:
                for raw in stream:
                    self._lines.put(raw.decode("utf-8", errors="replace"))
        except (OSError, ValueError):
            pass
        self._lines.put(None)

    def send_line(self, line: str) -> None:
        """Write one line (a newline is added). Raises ChildExited on a broken pipe."""
        data = (line.rstrip("\n") + "\n").encode("utf-8")
        with self._write_lock:
            try:
                if self.proc.stdin is None:
                    raise ChildExited("the child has no stdin")
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                raise ChildExited(str(exc)) from exc

    def send(self, obj: dict[str, Any]) -> None:
        """Write ``obj`` as one JSON line. Raises ChildExited."""
        self.send_line(json.dumps(obj))  # ASCII: safe whatever encoding the child reads with

    def read_line(self, timeout: float | None = None, cancel: CancelToken | None = None) -> str | None:
        """The next stdout line (with its newline), or None once the child's stdout ended.

        Raises:
            TimeoutError: nothing came within ``timeout`` seconds, or ``cancel`` was set
                while waiting (the caller decides whether to kill the child).
        """
        if self._eof:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.2 if cancel is not None else None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                wait = min(wait, remaining) if wait is not None else remaining
            try:
                line = self._lines.get(timeout=wait)
            except queue.Empty:
                if cancel is not None and cancel.cancelled:
                    raise TimeoutError from None
                continue
            if line is None:
                self._eof = True
            return line

    def receive(self, timeout: float | None = None, cancel: CancelToken | None = None) -> dict[str, Any]:
        """The next JSON object from the child; lines that are not JSON objects are logged
        and skipped.

        Raises:
            ChildExited: the child's stdout ended (it died or exited).
            TimeoutError: as :meth:`read_line`.
        """
        while True:
            line = self.read_line(timeout, cancel)
            if line is None:
                raise ChildExited("the child's output ended")
            text = line.strip()
            if text.startswith("{"):
                try:
                    return dict(json.loads(text))
                except ValueError:
                    pass
            if text:
                log.info("%s: %s", self.log_path.stem, text)

    def lines(self) -> Iterator[str]:
        """Every stdout line until the child's stdout ends."""
        while True:
            line = self.read_line()
            if line is None:
                return
            yield line

    # -- ending ------------------------------------------------------------------------
    def stop(self, request: dict[str, Any] | Callable[[], None] | None = None,
             timeout: float = 5.0, terminate_timeout: float = 5.0) -> int:
        """Stop the child: the graceful ``request`` (a message to send, a function to call,
        or None: close its stdin), wait ``timeout`` s; then terminate (SIGTERM), wait
        ``terminate_timeout`` s; then kill.  Returns the exit code; closes the pipes and
        the log.  Safe to call on a child that already ended."""
        if self.alive:
            try:
                if callable(request):
                    request()
                elif request is not None:
                    self.send(request)
                else:
                    self._close_stdin()
            except ChildExited:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; terminating it", self.log_path.stem, timeout)
                self.proc.terminate()
                try:
                    self.proc.wait(terminate_timeout)
                except subprocess.TimeoutExpired:
                    log.warning("%s ignored terminate; killing it", self.log_path.stem)
                    self.kill()
        code = self.proc.wait()
        self._close()
        return code

    def kill(self) -> None:
        """Kill the child now (a hung parser, a cut-off run) and reap it."""
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            log.exception("could not kill %s (pid %s)", self.log_path.stem, self.proc.pid)

    def _close_stdin(self) -> None:
        with self._write_lock:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
            except OSError:
                pass

    def _close(self) -> None:
        self._close_stdin()
        try:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        except OSError:
            pass
        try:
            self._log.close()
        except OSError:
            pass

    def close(self) -> None:
        """Kill the child if it still runs and release the pipes and the log."""
        if self.alive:
            self.kill()
        self._close()

    # -- crashes -----------------------------------------------------------------------
    def last_log_lines(self, n: int = 8) -> list[str]:
        """The last ``n`` non-empty lines this child wrote to its log (stderr)."""
        try:
            self._log.flush()
        except (OSError, ValueError):
            pass
        try:
            with open(self.log_path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                start = max(self._log_start, size - LOG_TAIL_BYTES)
                fh.seek(start)
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        return lines[-n:]

    def exit_code(self, timeout: float = 2.0) -> int | None:
        """The exit code once the child has ended (waits up to ``timeout`` s), else None."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def crash_message(self, what: str, advice: str, lines: int = 8) -> str:
        """A sentence for the user: "{what} stopped unexpectedly (exit code N). {advice}
        Details are in LOG." followed by the child's last log lines, if any."""
        code = self.exit_code()
        message = f"{what} stopped unexpectedly (exit code {code}). {advice} Details are in {self.log_path}."
        tail = self.last_log_lines(lines)
        if tail:
            message += " Its last log lines:\n" + "\n".join(tail)
        return message
