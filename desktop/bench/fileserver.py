"""A real HTTP file server on loopback that behaves like the Hugging Face hub's
``resolve`` endpoint, for the download tests and ``hearth-bench download``.

It serves files under ``/{repo}/resolve/main/{file}`` with range requests (206 with
Content-Range), publishes each file's SHA-256 as ``X-Linked-Etag`` on HEAD (as the hub
does for LFS files), and can misbehave on purpose per file:

- ``drop``: the first full GET sends part of the file, then closes the connection;
- ``bad_sha``: publishes a wrong SHA-256;
- ``missing``: answers 404;
- ``stall``: sends a little, then nothing for ``stall_s`` seconds;
- ``no_range``: ignores Range and always answers 200 with the whole file;
- ``no_size``: HEAD gives no size (so the disk cannot be checked beforehand);
- ``chunked``: GET sends the body with ``Transfer-Encoding: chunked``, no Content-Length
  (as some proxies and mirrors do).

``rate_bps`` (per file) throttles sending to about that many bytes per second.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Served:
    path: Path
    sha256: str
    size: int
    mode: str = "ok"
    drop_at: int = 0
    rate_bps: float = 0.0
    gets: list[str | None] = field(default_factory=list)  # the Range header of each GET
    heads: int = 0


class FileServer:
    """``with FileServer() as server: server.add("org/repo", "x.gguf", path, mode=...)``;
    ``server.base_url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, stall_s: float = 30.0) -> None:
        self.files: dict[str, Served] = {}
        self.stall_s = stall_s
        self.stop_event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                outer._answer(self, head=True)

            def do_GET(self) -> None:
                outer._answer(self, head=False)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away (the kill series kills them on purpose)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, repo: str, name: str, path: Path, mode: str = "ok",
            drop_at: int | None = None, rate_bps: float = 0.0) -> Served:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while block := fh.read(1 << 22):
                h.update(block)
        size = path.stat().st_size
        served = Served(path, h.hexdigest(), size, mode,
                        drop_at if drop_at is not None else size // 2, rate_bps)
        self.files[f"/{repo}/resolve/main/{name}"] = served
        return served

    def url(self, repo: str, name: str) -> str:
        return f"{self.base_url}/{repo}/resolve/main/{name}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, req: BaseHTTPRequestHandler, head: bool) -> None:
        served = self.files.get(req.path)
        if served is None or served.mode == "missing":
            req.send_response(404)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        sha = "0" * 64 if served.mode == "bad_sha" else served.sha256
        if head:
            served.heads += 1
            req.send_response(200)
            req.send_header("X-Linked-Etag", f'"{sha}"')
            if served.mode != "no_size":
                req.send_header("X-Linked-Size", str(served.size))
                req.send_header("Content-Length", str(served.size))
            req.send_header("Accept-Ranges", "bytes")
            req.end_headers()
            return
        range_header = req.headers.get("Range")
        served.gets.append(range_header)
        start = 0
        if range_header and served.mode != "no_range":
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= served.size:
                req.send_response(416)
                req.send_header("Content-Range", f"bytes */{served.size}")
                req.send_header("Content-Length", "0")
                req.end_headers()
                return
            req.send_response(206)
            req.send_header("Content-Range", f"bytes {start}-{served.size - 1}/{served.size}")
        else:
            req.send_response(200)
        chunked = served.mode == "chunked"
        if chunked:
            req.send_header("Transfer-Encoding", "chunked")
        else:
            req.send_header("Content-Length", str(served.size - start))
        req.send_header("Accept-Ranges", "bytes")
        req.end_headers()
        stop = served.size
        if served.mode == "drop" and len(served.gets) == 1:
            stop = max(start, served.drop_at)
        try:
            with served.path.open("rb") as fh:
                fh.seek(start)
                pos = start
                began = time.monotonic()
                step = 1024 if served.mode == "stall" else (64 << 10 if served.rate_bps else 1 << 20)
                while pos < stop:
                    if served.rate_bps:
                        ahead = (pos - start) / served.rate_bps - (time.monotonic() - began)
                        if ahead > 0 and self.stop_event.wait(ahead):
                            return
                    block = fh.read(min(step, stop - pos))
                    if not block:
                        break
                    if served.mode == "stall" and pos > start:
                        self.stop_event.wait(self.stall_s)
                        return
                    if chunked:
                        req.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                    else:
                        req.wfile.write(block)
                    pos += len(block)
                if chunked:
                    req.wfile.write(b"0\r\n\r\n")
                req.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if stop < served.size:
            req.close_connection = True


def make_gguf(path: Path, architecture: str = "llama", weights: int = 700_000) -> Path:
    """Write a real GGUF model file with the gguf package: one float32 tensor of
    ``weights`` values (about 4 x ``weights`` bytes), for serving in tests."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_name("tiny test model")
    writer.add_context_length(128)
    rng = np.random.default_rng(0)
    writer.add_tensor("token_embd.weight", rng.standard_normal(weights).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
