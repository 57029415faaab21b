"""``hearth serve`` with the real built-in model, driven by the official ``openai`` client
and by curl on loopback.  Few and short generations (max_tokens small, greedy)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hearth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def test_openai_client_and_curl_against_hearth_serve(tmp_path: Path, default_model: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    netlog = tmp_path / "network.log"
    env = {**os.environ, "HEARTH_NETWORK_LOG": str(netlog)}
    docs = tmp_path / "docs"
    docs.mkdir()
    recipe = docs / "recipe.txt"
    recipe.write_text("Grandma's plum cake recipe: the secret spice is cardamom, with orange peel.\n",
                      encoding="utf-8")
    indexed = _hearth("index", str(docs), "--collection", "home", env=env)
    assert indexed.returncode == 0, indexed.stderr

    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "serve", "--port", "0", "--threads", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+/v1)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        base = match.group(1)
        client = openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=120)

        ids = [m.id for m in client.models.list().data]
        assert len(ids) == 2 and "minilm" in ids[1].lower()  # the library's embedding model
        question = [{"role": "user", "content": "What is the capital of France?"}]
        done = client.chat.completions.create(model=ids[0], messages=question, max_tokens=12,
                                              temperature=0.0, seed=1)  # type: ignore[arg-type]
        text = done.choices[0].message.content or ""
        assert "Paris" in text
        assert done.usage is not None and 0 < done.usage.completion_tokens <= 12
        assert done.usage.prompt_tokens > 5

        stream = client.chat.completions.create(model=ids[0], messages=question, max_tokens=12,
                                                temperature=0.0, seed=1, stream=True)  # type: ignore[arg-type]
        streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert streamed == text  # greedy: the same answer streamed or not

        grounded = client.chat.completions.create(
            model=ids[0], max_tokens=16, temperature=0.0,
            messages=[{"role": "user", "content": "What is the secret spice in the plum cake?"}],
            extra_body={"hearth": {"library": True, "collections": ["home"]}},
        )
        sources = (grounded.model_extra or {})["hearth"]["sources"]
        assert sources and sources[0]["path"] == str(recipe)
        assert (grounded.model_extra or {})["hearth"]["grounded"] is True

        emb = client.embeddings.create(model=ids[1], input=["a cat sat on the mat", "a kitten on a rug",
                                                             "quarterly tax filing deadline"])
        vecs = np.array([d.embedding for d in emb.data])
        assert vecs.shape == (3, 384)
        assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]

        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=ids[0], messages=[], max_tokens=4)

        curl = subprocess.run(
            ["curl", "-sN", f"{base}/chat/completions", "-H", "Content-Type: application/json", "-d",
             json.dumps({"messages": question, "max_tokens": 6, "temperature": 0, "stream": True})],
            capture_output=True, text=True, timeout=120,
        )
        events = [ln[6:] for ln in curl.stdout.splitlines() if ln.startswith("data: ")]
        assert events[-1] == "[DONE]"
        assert "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
        bad = subprocess.run(
            ["curl", "-s", "-w", "\n%{http_code}", f"{base}/chat/completions", "-d", "{oops"],
            capture_output=True, text=True, timeout=60,
        )
        body, code = bad.stdout.rsplit("\n", 1)
        assert code == "400" and json.loads(body)["error"]["type"] == "invalid_request_error"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
    log = netlog.read_text(encoding="utf-8")
    assert " incoming POST /v1/chat/completions from 127.0.0.1" in log
    assert " blocked " not in log
