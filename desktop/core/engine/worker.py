"""The engine's worker process: llama.cpp runs here, so a native crash cannot take the
window down.

Protocol: JSON lines.  Requests on stdin::

    {"op": "load", "model_path": ..., "options": {...}}
    {"op": "generate", "messages": [...], "params": {...}}
    {"op": "cancel"}                      # ends the current generation
    {"op": "adapters", "adapters": [[path, scale], ...]}
    {"op": "shutdown"}

Replies on the process's original stdout (fd 1 is pointed at stderr so nothing llama.cpp
prints can corrupt the protocol)::

    {"type": "loaded", "info": {...}}
    {"type": "token", "text": ...} / {"type": "trimmed", ...} / {"type": "done", ...}
    {"type": "ok"}
    {"type": "error", "error": "ModelError" | "EngineError", "message": ...}

For tests, simulated native crashes: ``HEARTH_TEST_CRASH_AFTER_TOKENS=N`` makes the worker
abort after streaming N tokens; ``HEARTH_TEST_CRASH_ON_LOAD=TEXT`` makes it abort while
loading any model whose path contains TEXT.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from typing import Any

from desktop.core.engine import EngineError, EngineOptions, SamplingParams
from desktop.core.jobs import CancelToken
from desktop.core.models import ModelError

# Streamed text is sent at least this often (seconds): 40 updates a second reads as
# smooth, and it spares the app (and the two cores llama.cpp is using) a wake-up per token.
FLUSH_INTERVAL_S = 0.025


def _open_protocol_stream() -> Any:
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(proto_fd, "w", buffering=1, encoding="utf-8")


def main() -> int:
    from desktop.core.privacy import harden

    harden()
    out = _open_protocol_stream()
    write_lock = threading.Lock()

    def send(obj: dict[str, Any]) -> None:
        line = json.dumps(obj, separators=(",", ":"))
        with write_lock:
            out.write(line + "\n")
            out.flush()

    from desktop.core.engine.llama import LlamaBackend

    backend = LlamaBackend()
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    current_cancel: list[CancelToken] = [CancelToken()]
    crash_after = int(os.environ.get("HEARTH_TEST_CRASH_AFTER_TOKENS", "0") or 0)
    crash_on_load = os.environ.get("HEARTH_TEST_CRASH_ON_LOAD", "")

    def reader() -> None:
        for line in sys.stdin:
            try:
                req = json.loads(line)
            except ValueError:
                continue
            if req.get("op") == "cancel":
                current_cancel[0].cancel()
                continue
            if req.get("op") == "generate":
                # the token is made as the request is read, not as it is taken up: a cancel
                # sent right after it (Alt+F4 while the answer was starting) reached the
                # previous answer's token and this one ran on, saved as complete
                current_cancel[0] = req["cancel"] = CancelToken()
            requests.put(req)
        current_cancel[0].cancel()
        requests.put(None)

    threading.Thread(target=reader, daemon=True, name="engine-stdin").start()

    while True:
        req = requests.get()
        if req is None or req.get("op") == "shutdown":
            break
        op = req.get("op")
        try:
            if op == "load":
                if crash_on_load and crash_on_load in req["model_path"]:
                    os.abort()
                info = backend.load(req["model_path"], EngineOptions(**req.get("options", {})))
                send({"type": "loaded", "info": _info_dict(info), "n_ctx": backend.n_ctx})
            elif op == "generate":
                cancel = req["cancel"]
                n = 0
                pending: list[str] = []
                last_send = 0.0
                for ev in backend.generate(req["messages"], SamplingParams(**req["params"]), cancel):
                    if ev.kind != "token":
                        if pending:
                            send({"type": "token", "text": "".join(pending), "data": {"tokens": len(pending)}})
                            pending = []
                        send({"type": ev.kind, "text": ev.text, "data": ev.data})
                        continue
                    n += 1
                    pending.append(ev.text)
                    now = time.monotonic()
                    # The first piece goes at once; later ones are coalesced so the app
                    # wakes at most every FLUSH_INTERVAL_S instead of at every token.
                    if n == 1 or now - last_send >= FLUSH_INTERVAL_S:
                        send({"type": "token", "text": "".join(pending), "data": {"tokens": len(pending)}})
                        pending = []
                        last_send = now
                    if crash_after and n >= crash_after:
                        if pending:
                            send({"type": "token", "text": "".join(pending), "data": {"tokens": len(pending)}})
                        os.abort()
            elif op == "adapters":
                backend.set_adapters([(p, float(s)) for p, s in req.get("adapters", [])])
                send({"type": "ok"})
            else:
                send({"type": "error", "error": "EngineError", "message": f"unknown op {op}"})
        except ModelError as exc:
            send({"type": "error", "error": "ModelError", "message": str(exc)})
        except EngineError as exc:
            send({"type": "error", "error": "EngineError", "message": str(exc)})
        except Exception as exc:  # report, stay alive
            send({"type": "error", "error": "EngineError", "message": f"{type(exc).__name__}: {exc}"})
    backend.close()
    return 0


def _info_dict(info: Any) -> dict[str, Any]:
    return {
        "path": str(info.path), "name": info.name, "architecture": info.architecture,
        "parameters": info.parameters, "quantization": info.quantization,
        "context_length": info.context_length, "size_bytes": info.size_bytes,
        "chat_template": info.chat_template, "file_kind": info.file_kind,
    }


if __name__ == "__main__":
    sys.exit(main())
