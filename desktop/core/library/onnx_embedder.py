"""A faster embedder: the same all-MiniLM-L6-v2 weights run by ONNX Runtime, int8.

The sentence-transformers folder that ships with Hearth holds PyTorch weights only.  On
first use :func:`convert` exports them (transformer + mean pooling + L2 normalisation, one
graph) with ``torch.onnx.export``, fuses attention, GELU and layer norms with ONNX
Runtime's BERT optimizer (onnxruntime.transformers.optimizer), and quantizes the linear
layers' and attention's weights to int8 with dynamic quantization (weights per output
channel, activations per batch at run time; onnxruntime.quantization.quantize_dynamic).

The weights keep 7 bits (``reduce_range``), so that every processor computes the same
integers.  On x86 processors without AVX-512 VNNI (AVX2, the ones most laptops have) ONNX
Runtime multiplies uint8 activations by int8 weights with ``vpmaddubsw``, which adds two
products into a signed 16-bit sum and saturates when it overflows: 255 x 127 x 2 = 64770
can, 255 x 63 x 2 = 32130 cannot.  ONNX Runtime's documentation gives this remedy ("When
to use reduce-range and per-channel quantization", onnxruntime.ai/docs/performance/
model-optimizations/quantization.html).  VNNI, SSE4.1/AVX (widening to 16 bits first) and
ARM (``sdot``/``udot``) never saturate, so with 7-bit weights all give the same vectors.
Two products stay fp32 (:data:`KEEP_FP32`): the feed-forward outputs of layers 0 and 2,
whose GELU activations have outliers that per-tensor int8 loses.  Measured on this
project's AVX2-only EPYC (``tools/int8_recipes.py``, 2026-12-04: worst probe cosine against
PyTorch; texts per CPU-second on 120 SciFact abstracts, one thread, best of two rounds):

================================================  ===========  ===========
recipe                                            worst probe  texts/CPU-s
================================================  ===========  ===========
8-bit, layer 0 fp32 (v1, until 2026-12-04)        0.98906      15.8
7-bit, layer 0 fp32                               0.98999      15.4
7-bit, layers 0 and 2 fp32 (v2 and v3)            0.99145      16.8
7-bit, layers 0-2 fp32                            0.99131      16.7
7-bit, all six fp32                               0.99136      15.6
================================================  ===========  ===========

v1 reached 0.9917 on the AVX-512 VNNI machine that made it but 0.9891 on AVX2, under the
check's threshold, so AVX2 users fell back to PyTorch at half the speed (24 against 46
chunks per second here, ``hearth-bench index``).  The result
is checked against the PyTorch model on :data:`PROBE_TEXTS`: every probe's cosine
similarity must reach :data:`MIN_COSINE` (0.99), else the conversion is refused and the
caller keeps the PyTorch embedder.  The converted file is cached (keyed by the source
model's identity and :data:`RECIPE`; other recipes' copies of the same model are removed),
so later runs load it in well under a second and never import torch.

The installers convert the default model at build time (installers/hearth.spec) and ship
the result under ``resources/models/embedders/`` (:func:`bundled_dir`), where
:func:`convert` looks first: the installed app never converts (its bundle carries neither
the exporter nor the quantizer), nor the PyTorch weights (embedder.weightless_copy).  Its
probes' PyTorch vectors travel with it (``reference.npy``), and the shipped copy is used
only if the user's processor reproduces them (cosine >= :data:`MIN_COSINE` on every probe:
0.99145 natively and under ``qemu-x86_64 -cpu Nehalem``, ``SandyBridge``, ``Haswell`` and
``max``, the same to seven digits), else :func:`convert` goes on as if nothing were
shipped, and in an installed app :func:`make_embedder` says the library cannot run.

Why it is faster on a CPU: int8 matrix products (AVX2 ``vpmaddubsw``/AVX-512 VNNI) do
about twice the multiply-adds per cycle of fp32 FMA and move a quarter of the weight
bytes.

The residual additions and layer norms stay two plain operators (Add, LayerNormalization),
not fused into ONNX Runtime's SkipLayerNormalization (:data:`SLOW_FUSIONS`, left out both
when the file is made and when a session loads it): its CPU kernel (onnxruntime 1.32) is
eight times slower than the two it replaces, 5.3 ms against 0.67 ms for twelve of them on
one SciFact-sized text (239 tokens x 384, one thread), a fifth of the whole model's time in
ONNX Runtime's profiler.  Recipe v3 is v2 without that fusion: the same weights and
arithmetic, summed in another order (probe cosines against PyTorch 0.99145 both; v3
against v2 on 300 SciFact abstracts: mean cosine 0.9992, worst 0.9978, where rounding
moved some activations to the next int8 step), and 1.23-1.27 times the texts per
CPU-second (48-50 against 39 on 300 SciFact abstracts, one thread, two rounds, 2026-12-05,
this project's AVX-512 VNNI Xeon).  The whole pipeline on SciFact (``hearth-bench index``,
10,611 chunks, two cores): 91.5 -> 129.9 chunks/s, 2.43 times PyTorch's sentence-transformers
alone in the same run (2.57 per CPU second), nDCG@10 0.7369 -> 0.7378
(``hearth-bench retrieval``, train split).  v3's probes give 0.99145 under ``qemu-x86_64
-cpu Haswell`` and ``Nehalem`` too.

How texts are batched: each text is tokenized once, and runs alone (:data:`BATCH_SIZE` 1)
so that no product is spent on padding, and a text's vector never depends on the texts
it was batched with (dynamic quantization scales each product's activations by the whole
batch's range, so a padded neighbour changed a short text's vector: cosine 0.96 between
"ok" alone and "ok" in a batch of four).  Measured here (SciFact chunks, one thread,
CPU time, three rounds on a busy machine): one text per run 32.9, 32.6, 32.7 chunks per
CPU-second; batches of four sorted by token count 31.8, 32.4, 34.0; batches of four
sorted by characters, as before, 28.4 (10.5% of the products were padding, 1.0% by
tokens).  Small products stay in cache; the model's weights are 22 MB.

The cores work on different texts (data parallelism), not on one text together: the
session runs each batch on one thread, and :meth:`OnnxEmbedder.embed` hands batches to
``threads`` worker threads (ONNX Runtime runs concurrent calls on one session).  Splitting
one small batch's ~60 operators across two threads makes both wait for the slower at every
operator, which on a shared or busy machine (the parser process, the window, other
programs) costs much of the second core.  Measured here, 300 SciFact chunks, batches of 4,
2 cores, busy machine, two rounds: one batch on 2 threads 16.7 and 20.6 chunks/s; two
batches at once on 1 thread each 22.0 and 30.3 chunks/s (30 chunks per CPU-second both
ways: the same work, less waiting).  Figures for the whole pipeline are in
``hearth-bench index``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.library.embedder import default_embed_threads, model_identity

log = logging.getLogger(__name__)

#: bump when the export or quantization recipe changes (a new file is made)
RECIPE = "onnx-int8-v3"
MIN_COSINE = 0.99
#: texts per run (see the module's docstring: one, so no padding)
BATCH_SIZE = 1
#: matrix products left in fp32 (see the module's docstring)
KEEP_FP32 = [f"/bert/encoder/layer.{i}/output/dense/MatMul" for i in (0, 2)]
#: graph fusions left out, offline and at run time (see the module's docstring: slower on CPU)
SLOW_FUSIONS = ["SkipLayerNormFusion"]
#: int8 weights keep 7 bits, so no processor's kernels saturate (see the module's docstring)
REDUCE_RANGE = True
MAX_SEQ_TOKENS = 256  # all-MiniLM-L6-v2's sentence_bert_config.json max_seq_length
#: Varied texts (lengths, languages, code, numbers) for the conversion check.
PROBE_TEXTS = [
    "The capital of France is Paris.",
    "Termin płatności: 2021-05-03",
    "def embed(texts): return model.encode(texts, normalize_embeddings=True)",
    "Vitamin D deficiency is associated with an increased risk of respiratory infections "
    "in children, according to a meta-analysis of randomized controlled trials.",
    "東京は日本の首都です。",
    "Invoice 4471 · total 1,299.00 EUR · due 30 days net",
    "a",
    " ".join(["The quick brown fox jumps over the lazy dog."] * 40),  # past 256 tokens
    "# Methods\n\nWe measured the half-life of the protein in HeLa cells by pulse-chase.",
    "Je pense, donc je suis. MOLIÈRE, Le Misanthrope.",
]


#: the probes' PyTorch vectors, (len(PROBE_TEXTS), 384) float32, kept beside model.onnx
REFERENCE_FILE = "reference.npy"


class ConversionError(Exception):
    """The model could not be converted, or the converted model disagrees with PyTorch."""


def cache_path(model_dir: Path, cache_dir: Path) -> Path:
    """Where the converted model of ``model_dir`` is kept (a folder under ``cache_dir``)."""
    return Path(cache_dir) / f"{model_identity(model_dir).replace('@', '-')}-{RECIPE}"


def bundled_dir() -> Path:
    """Where an installed Hearth carries converted models, made when the installer was built:
    ``resources/models/embedders/`` (each in its :func:`cache_path` folder)."""
    from desktop.core.paths import resource_path

    return resource_path("models", "embedders")


def _complete(folder: Path) -> bool:
    return (folder / "model.onnx").is_file() and (folder / "check.json").is_file()


def verify(folder: Path, model_dir: Path) -> dict[str, float]:
    """Run :data:`PROBE_TEXTS` through ``folder/model.onnx`` on this machine and compare with
    the PyTorch vectors its conversion stored (``reference.npy``), as :func:`convert`'s
    check did on the machine that converted it.  About 0.3 s on one core.

    Returns:
        ``{"min_cosine": ..., "mean_cosine": ..., "seconds": ...}``.

    Raises:
        ConversionError: no reference vectors, or a probe's cosine < :data:`MIN_COSINE`.
    """
    t0 = time.monotonic()
    try:
        reference = np.load(folder / REFERENCE_FILE)
        tok = load_tokenizer(model_dir)
        session = _session(folder / "model.onnx", 1)
        got = np.concatenate([_run(session, [e.ids]) for e in tok.encode_batch(PROBE_TEXTS)])
    except Exception as exc:
        raise ConversionError(f"cannot check {folder} on this machine ({type(exc).__name__}: {exc})") from exc
    if reference.shape != got.shape:
        raise ConversionError(f"{folder / REFERENCE_FILE} holds {reference.shape} vectors, not {got.shape}")
    cosines = np.sum(reference.astype(np.float32) * got, axis=1)
    result = {"min_cosine": float(cosines.min()), "mean_cosine": float(cosines.mean()),
              "seconds": round(time.monotonic() - t0, 2)}
    if result["min_cosine"] < MIN_COSINE:
        raise ConversionError(
            f"{folder} disagrees with PyTorch on this processor (cosine {result['min_cosine']:.4f} "
            f"< {MIN_COSINE})")
    return result


class _Pooled:
    """Builds the torch module exported: BERT -> mean over unmasked tokens -> L2 norm."""

    @staticmethod
    def make(auto_model: Any) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self, bert: Any) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids)[0]
                mask = attention_mask.unsqueeze(-1).to(out.dtype)
                summed = (out * mask).sum(1)
                counts = mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(summed / counts, p=2, dim=1)

        return Pooled(auto_model).eval()


def convert(model_dir: Path, cache_dir: Path, quantize: bool = True) -> Path:
    """Export ``model_dir`` (a sentence-transformers BERT folder) to ONNX, quantize it, and
    check it against PyTorch.  Returns the folder holding ``model.onnx``, ``check.json``
    (``min_cosine``, ``mean_cosine``, ``seconds``) and ``reference.npy`` (the probes'
    PyTorch vectors).  Uses the conversion shipped with the app (:func:`bundled_dir`) when
    it passes :func:`verify` here, else a previous conversion in ``cache_dir``.

    Takes about 10-30 s on two cores (export, quantization, check); uses torch, so it is
    done once, in the process that first needs the embedder.  Copies of the same model that
    other recipes (:data:`RECIPE`) left in ``cache_dir`` are removed.
    ``quantize=False`` keeps fp32 (for comparing recipes, tools/int8_recipes.py).

    Raises:
        ConversionError: export or quantization failed, or a probe's cosine < MIN_COSINE.
    """
    out = cache_path(model_dir, cache_dir)
    _remove_other_recipes(out)
    shipped = cache_path(model_dir, bundled_dir())
    if _complete(shipped):
        try:
            log.debug("shipped ONNX embedder %s checked here: %s", shipped, verify(shipped, model_dir))
            return shipped
        except ConversionError as exc:
            log.warning("the ONNX embedder shipped with Hearth is not used: %s", exc)
    if _complete(out):
        return out
    from desktop.core.privacy import go_offline

    go_offline()
    t0 = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    quiet = _OthersBelowWarning()  # the exporter's and optimizer's INFO lines ("Fused Gelu:
    # 6", "Removed 126 nodes") had filled the terminal of a first `make run` (fourteenth trial)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" in `hearth index`'s first run
        # eager attention exports as plain MatMul/Softmax, which the BERT optimizer fuses
        st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True,
                                 model_kwargs={"attn_implementation": "eager"})
        module = _Pooled.make(st[0].auto_model)
        tok = load_tokenizer(model_dir)
        ids, mask, types = _pad([e.ids for e in tok.encode_batch(["Hearth exports this model once.", "a"])])
        fp32 = tmp / "model-fp32.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, (torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types)),
                str(fp32), input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                              "token_type_ids": {0: "batch", 1: "seq"}, "embedding": {0: "batch"}},
            )
        final = tmp / "model.onnx"
        auto_model: Any = st[0].auto_model
        fused = _fuse(fp32, tmp / "model-fused.onnx", auto_model.config)
        if quantize:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # quantize_dynamic advises pre-processing on the root logger, in the user's
            # console; the fusions above are that pre-processing.
            advice = _DropMessage("pre-processing before quantization")
            logging.getLogger().addFilter(advice)
            try:
                quantize_dynamic(str(fused), str(final), per_channel=True, reduce_range=REDUCE_RANGE,
                                 weight_type=QuantType.QInt8,
                                 nodes_to_exclude=KEEP_FP32,
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            finally:
                logging.getLogger().removeFilter(advice)
        else:
            fused.rename(final)
        for leftover in (fp32, tmp / "model-fused.onnx"):
            leftover.unlink(missing_ok=True)
        reference = st.encode(PROBE_TEXTS, batch_size=len(PROBE_TEXTS), normalize_embeddings=True,
                              convert_to_numpy=True, show_progress_bar=False)
        session = _session(final, 1)
        got = np.concatenate([_run(session, [e.ids]) for e in tok.encode_batch(PROBE_TEXTS)])  # as embed does
        cosines = np.sum(np.asarray(reference, dtype=np.float32) * got, axis=1)
        check: dict[str, Any] = {"min_cosine": float(cosines.min()), "mean_cosine": float(cosines.mean()),
                 "seconds": round(time.monotonic() - t0, 1), "recipe": RECIPE,
                 "source": model_identity(model_dir), "quantized": quantize}
        if check["min_cosine"] < MIN_COSINE:
            raise ConversionError(
                f"the converted model disagrees with PyTorch (cosine {check['min_cosine']:.4f} "
                f"< {MIN_COSINE}); keeping the PyTorch embedder")
        (tmp / "check.json").write_text(json.dumps(check), encoding="utf-8")
        np.save(tmp / REFERENCE_FILE, np.asarray(reference, dtype=np.float32))
        if out.exists():
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        log.info("embedding model converted to ONNX (%s): %s", out, check)
        return out
    except ConversionError:
        raise
    except Exception as exc:
        raise ConversionError(f"could not convert the embedding model ({type(exc).__name__}: {exc})") from exc
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


class _OthersBelowWarning(logging.Filter):
    """Drops other libraries' records below WARNING (Hearth's own pass)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith("desktop")


def _remove_other_recipes(folder: Path) -> None:
    """Delete the copies of ``folder``'s model that other recipes left beside it (about
    22 MB each): same ``<identity>-onnx-int8-`` prefix, another recipe."""
    import shutil

    prefix = folder.name[: -len(RECIPE)]
    if not folder.parent.is_dir():
        return
    for old in folder.parent.glob(f"{prefix}onnx-int8-*"):
        if old != folder and old.is_dir() and ".tmp" not in old.name:
            shutil.rmtree(old, ignore_errors=True)
            log.info("removed %s (an earlier recipe's copy)", old)


class _DropMessage(logging.Filter):
    """Drops log records whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def _fuse(source: Path, target: Path, config: Any) -> Path:
    """ONNX Runtime's BERT graph fusions (Attention, BiasGelu, EmbedLayerNormalization,
    LayerNormalization; not SkipLayerNormalization, :data:`SLOW_FUSIONS`); ``source``
    unchanged if the optimizer is not available."""
    import logging as _logging

    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError:
        return source
    previous = _logging.getLogger().level
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = False  # SLOW_FUSIONS
    try:
        model = optimize_model(str(source), model_type="bert", num_heads=int(config.num_attention_heads),
                               hidden_size=int(config.hidden_size), optimization_options=options)
        model.save_model_to_file(str(target))
    finally:
        _logging.getLogger().setLevel(previous)
    return target


def load_tokenizer(model_dir: Path) -> Any:
    """The model's tokenizer, adding [CLS] and [SEP] and truncating at 256 word pieces; no
    padding (:func:`_pad` pads each batch to its longest text)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(MAX_SEQ_TOKENS)
    tok.no_padding()
    return tok


def _pad(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids of one batch -> (input_ids, attention_mask, token_type_ids), each int64 of
    shape (len(rows), longest row), padded with [PAD] (id 0) and mask 0."""
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask, np.zeros_like(ids)


def _session(path: Path, threads: int, optimized_path: Path | None = None) -> Any:
    """An ONNX Runtime session on ``path`` with ``threads`` intra-op threads, all graph
    optimizations but :data:`SLOW_FUSIONS`; ``optimized_path``: write the graph it runs
    there (to inspect it)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # no busy-waiting threads: the chat's llama.cpp threads need the other core
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized_path is not None:
        opts.optimized_model_filepath = str(optimized_path)
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"],
                                disabled_optimizers=SLOW_FUSIONS)


def _run(session: Any, rows: list[list[int]]) -> np.ndarray:
    """Unit vectors (len(rows), 384) float32 for one batch of token id lists."""
    ids, mask, types = _pad(rows)
    (vectors,) = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    return np.asarray(vectors, dtype=np.float32)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 through ONNX Runtime (int8), converted on first use.

    Same interface as :class:`~desktop.core.library.embedder.SentenceEmbedder`.  Questions
    (:meth:`embed_query`) never wait for an indexing batch: ONNX Runtime runs concurrent
    calls on one session.

    Args:
        model_dir: the sentence-transformers folder (PyTorch weights, tokenizer.json).
        cache_dir: where the converted model is kept.
        threads: batches run at once, each on one thread (0:
            :func:`~desktop.core.library.embedder.default_embed_threads`); see the module's
            docstring for why not one batch on several threads.
        batch_size: texts per run (at most; fewer when that keeps every thread busy).

    Raises (on first use): ConversionError (:func:`make_embedder` then falls back to
    PyTorch where the folder holds its weights).
    """

    def __init__(self, model_dir: Path, cache_dir: Path, threads: int = 0, batch_size: int = BATCH_SIZE) -> None:
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file() or not (self.model_dir / "tokenizer.json").is_file():
            raise FileNotFoundError(
                f"{self.model_dir} is not a sentence-transformers model folder (no config.json or "
                "tokenizer.json). Check the library's embedding model setting.")
        self.cache_dir = Path(cache_dir)
        self.name = f"{model_identity(self.model_dir)}+{RECIPE}"
        self.dimension = 384
        self.threads = threads or default_embed_threads()
        self.batch_size = batch_size
        self.check: dict[str, Any] = {}
        #: the converted model's folder (shipped with the app or in ``cache_dir``), once loaded
        self.folder: Path | None = None
        self._session: Any = None
        self._tok: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        #: held while :meth:`embed` runs (an indexing batch); questions do not take it
        self.encode_lock = threading.Lock()

    def _ensure(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                folder = convert(self.model_dir, self.cache_dir)
                self.folder = folder
                self.check = json.loads((folder / "check.json").read_text(encoding="utf-8"))
                self._tok = load_tokenizer(self.model_dir)
                self._session = _session(folder / "model.onnx", 1)
                if self.threads > 1:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="hearth-embed")
            return self._session, self._tok

    def load(self) -> None:
        """Convert (first time) and load the model now.  Raises ConversionError."""
        self._ensure()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), 384), float32: texts tokenized, sorted by token
        count (longest first), cut into batches of at most ``batch_size``, the batches run
        ``threads`` at a time; rows in the order of ``texts``."""
        with self.encode_lock:
            return self._embed(texts, parallel=True)

    def _embed(self, texts: list[str], parallel: bool) -> np.ndarray:
        session, tok = self._ensure()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = [e.ids for e in tok.encode_batch(texts)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]), reverse=True)
        pool = self._pool if parallel else None
        size = self.batch_size
        if pool is not None:  # e.g. 8 texts on 2 threads: two batches of 4, not one of 8 and none
            size = max(1, min(size, -(-len(texts) // self.threads)))
        batches = [order[b:b + size] for b in range(0, len(order), size)]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)

        def run(idx: list[int]) -> np.ndarray:
            return _run(session, [rows[i] for i in idx])

        if pool is None or len(batches) == 1:
            for idx in batches:
                out[idx] = run(idx)
            return out
        for idx, vectors in zip(batches, pool.map(run, batches), strict=True):
            out[idx] = vectors
        return out

    def embed_query(self, texts: list[str]) -> np.ndarray:
        """Like :meth:`embed`, for a question: never waits for an indexing batch (ONNX
        Runtime runs concurrent calls on one session; a question runs on the calling
        thread, not behind the batches queued for the worker threads)."""
        return self._embed(texts, parallel=False)

    def close(self) -> None:
        """Drop the session and stop the worker threads (a later call reloads them)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._session = self._pool = None


def embedder_cache_dir() -> Path:
    """Where converted models are kept: ``$HEARTH_EMBEDDER_CACHE`` (tests share one across
    their temporary homes), else Hearth's cache folder."""
    override = os.environ.get("HEARTH_EMBEDDER_CACHE")
    if override:
        return Path(override)
    from desktop.core.paths import cache_dir

    return cache_dir() / "embedders"


def embedder_identity(model_dir: Path, backend: str) -> str:
    """The name a collection records for vectors made by ``backend`` from ``model_dir``
    (another name re-indexes it)."""
    base = model_identity(model_dir)
    return f"{base}+{RECIPE}" if backend == "onnx" else base


def make_embedder(model_dir: Path, backend: str = "onnx", threads: int = 0) -> Any:
    """The library's embedder: :class:`OnnxEmbedder` (converted now if needed) for backend
    "onnx", falling back to PyTorch's :class:`SentenceEmbedder` (with a logged warning)
    when ONNX Runtime is missing or the conversion fails its check; PyTorch for "torch".

    Raises:
        FileNotFoundError: ``model_dir`` is not a model folder, or the ONNX copy cannot run
            and the folder holds no PyTorch weights to fall back on (an installed Hearth).
    """
    from desktop.core.library.embedder import SentenceEmbedder, has_weights

    if backend == "onnx":
        try:
            emb = OnnxEmbedder(model_dir, embedder_cache_dir(), threads=threads)
            emb.load()
            return emb
        except (ConversionError, ImportError, OSError) as exc:
            if not has_weights(model_dir):
                raise FileNotFoundError(
                    f"The library's embedding model cannot run on this computer ({exc}), and this "
                    "installation has no other copy of it. Chat still works without the library; "
                    "please report this to Hearth's developers.") from exc
            log.warning("the ONNX embedder is not available (%s); using PyTorch", exc)
    elif backend != "torch":
        log.warning("unknown embed_backend %r in the settings; using PyTorch", backend)
    return SentenceEmbedder(model_dir, threads=threads)
