"""LoRA training of the chat model's own GGUF file with PyTorch and PEFT.

- Base: the GGUF the chat uses, loaded by transformers (``from_pretrained(dir,
  gguf_file=name)`` dequantizes it to float32), so the adapter is trained against the
  weights it is served with (../shared/DESIGN.md).
- Adapter: PEFT LoRA on q/k/v/o/gate/up/down only (no lm_head, no embeddings, no DoRA,
  no rsLoRA: llama.cpp scales by alpha / r).
- Optimizer: AdamW (Loshchilov & Hutter 2019), linear warm-up then cosine decay to 10%
  of the peak learning rate.
- Precision: float32, or bfloat16 autocast (LoRA weights and optimizer stay float32)
  where the hardware does bf16 natively (CUDA with bf16 support, CPUs with AVX512-BF16 or
  AMX; elsewhere bf16 is 10 to 500x slower, DESIGN.md).
- Device: CUDA, Apple MPS or CPU, picked automatically.
- Threads: all physical cores but one, so the chat keeps a core (OpenMP threads spin:
  oversubscription collapses throughput, DESIGN.md).
- Loss: packed sequences (no padding); the output projection and cross-entropy are
  computed and back-propagated chunk by chunk into the final hidden states, then the
  body is back-propagated once ("fused linear cross-entropy", as in Liger-Kernel and
  Apple's Cut Cross-Entropy, Wijmans et al. 2024, done here in plain PyTorch), so
  full-vocabulary logits (seq_len x 49k floats for the default model) never exist at
  once and nothing is recomputed.
- Checkpoints (LoRA weights, optimizer state, step, best weights) are written atomically
  every ``checkpoint_every_s`` seconds and on cancel; a new start resumes from them.
- A NaN or exploding loss stops training and keeps the best weights so far.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from desktop.core.jobs import CancelToken, ProgressEvent, RateEstimator
from desktop.core.paths import atomic_write_bytes
from desktop.core.personalize.export import TARGET_MODULES

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
NAN_HOOK_ENV = "HEARTH_TEST_NAN_AT_STEP"  # test hook: the loss at this step becomes NaN
SLOW_HOOK_ENV = "HEARTH_TEST_STEP_DELAY_S"  # test hook: sleep this long after each step


class TrainingError(Exception):
    """Training cannot go on (message for the user)."""


def check_personalizable(model_path: Path, ram_bytes: int | None = None) -> str:
    """The GGUF architecture of ``model_path`` if Hearth can train and export an adapter
    for it (desktop.core.catalog.PERSONALIZABLE_ARCHITECTURES) within this machine's
    memory (the catalog's training-peak rule against 85 % of ``ram_bytes``, default the
    total RAM), checked before any training work starts.

    Raises:
        TrainingError: another architecture (the message names it), a model too large for
            this RAM, or an unreadable file.
    """
    import psutil

    from desktop.core.catalog import PERSONALIZABLE_ARCHITECTURES, training_peak_bytes
    from desktop.core.models import ModelError, read_gguf_info

    try:
        info = read_gguf_info(model_path)
    except ModelError as exc:
        raise TrainingError(str(exc)) from exc
    arch = info.architecture
    ram = ram_bytes if ram_bytes is not None else int(psutil.virtual_memory().total)
    need = training_peak_bytes(info.parameters)
    if arch in PERSONALIZABLE_ARCHITECTURES and need > 0.85 * ram:
        raise TrainingError(
            f"{Path(model_path).name} ({info.parameters_label} parameters) needs about "
            f"{need / 1e9:.1f} GB of memory to personalize and this computer has "
            f"{ram / 1e9:.1f} GB. Personalize a smaller model (the Models page says which "
            "ones can be)."
        )
    if arch not in PERSONALIZABLE_ARCHITECTURES:
        raise TrainingError(
            f"Hearth cannot personalize {Path(model_path).name} yet: its architecture '{arch}' "
            f"is not one it can train and export (it can: "
            f"{', '.join(sorted(PERSONALIZABLE_ARCHITECTURES))}). Choose a model of one of "
            "those families to personalize; chat with this one works as before."
        )
    return arch


class TrainingDiverged(TrainingError):
    """The loss became NaN or exploded; the best adapter so far is kept."""


@dataclass
class TrainConfig:
    """Hyper-parameters and run settings.

    Defaults: rank 16 and alpha 32 (alpha/r = 2), learning rate 2e-4 (the usual LoRA
    range, Hu et al. 2021; QLoRA used 1e-4..2e-4), 256-token sequences (the default model
    is small and the CPU slow), warm-up 5% of steps (at least 3).
    """

    seq_len: int = 256
    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.0
    learning_rate: float = 2e-4
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    warmup_fraction: float = 0.05
    batch_sequences: int = 1
    max_steps: int = 0
    max_epochs: float = 3.0
    threads: int = 0
    precision: str = "auto"
    device: str = "auto"
    seed: int = 0
    checkpoint_every_s: float = 600.0
    #: seconds between checks of general text (:meth:`Trainer.run`'s ``guard``)
    guard_every_s: float = 300.0
    checkpoint_every_steps: int = 0
    loss_chunk: int = 0  # positions per lm_head/loss chunk; 0: loss_chunk_rows(vocab)
    max_grad_norm: float = 1.0
    explode_factor: float = 3.0

    def key(self) -> str:
        """A hash of the settings that must match for a checkpoint to be resumed."""
        fixed = {k: v for k, v in asdict(self).items() if k in ("seq_len", "rank", "alpha", "seed", "batch_sequences")}
        return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:16]


def training_threads(requested: int = 0) -> int:
    """Torch threads for training: ``requested`` if > 0, else every physical core
    (:func:`desktop.core.threads.background_threads`; training pauses while the chat
    answers)."""
    from desktop.core.threads import background_threads

    return background_threads(requested)


def pick_device(requested: str = "auto") -> str:
    """"cuda" if available, else "mps" (Apple), else "cpu"; or ``requested``."""
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_native_bf16() -> bool:
    """True when this CPU does bf16 arithmetic in hardware (AVX512-BF16 or AMX-BF16), as
    oneDNN reports it (``torch.ops.mkldnn._is_mkldnn_bf16_supported``), else from
    /proc/cpuinfo's flags.  Measured on this project's 2-vCPU AVX512-BF16 machine: a LoRA
    step of the default model 1.65x faster with bf16 autocast; on CPUs without it bf16 is
    10 to 500x slower (../shared/DESIGN.md), hence float32 there."""
    try:
        import torch

        if bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()):
            return True
    except (AttributeError, RuntimeError):
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def pick_precision(device: str, requested: str = "auto") -> str:
    """"bf16" where the hardware does bf16 natively, else "fp32" (or ``requested``)."""
    import torch

    if requested in ("fp32", "bf16"):
        return requested
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    if device == "cpu" and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def lr_at(step: int, total: int, peak: float, warmup: int, min_ratio: float) -> float:
    """Learning rate at 0-based ``step``: linear warm-up over ``warmup`` steps, then
    cosine decay from ``peak`` to ``peak * min_ratio`` at ``total``."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def tokenizer_cache_dir(model_path: Path) -> Path:
    from desktop.core.paths import cache_dir

    st = model_path.stat()
    key = hashlib.sha256(f"{model_path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir() / "tokenizers" / key


def load_tokenizer(model_path: Path) -> Any:
    """The Hugging Face tokenizer of a GGUF model (converted once, then cached)."""
    from transformers import AutoTokenizer

    model_path = Path(model_path)
    cached = tokenizer_cache_dir(model_path)
    if (cached / "tokenizer_config.json").exists():
        try:
            return AutoTokenizer.from_pretrained(cached)
        except Exception:  # a damaged cache is rebuilt
            log.warning("tokenizer cache %s unreadable; rebuilding", cached)
    tok = AutoTokenizer.from_pretrained(model_path.parent, gguf_file=model_path.name)
    try:
        tok.save_pretrained(cached)
    except OSError:
        pass
    return tok


def load_base_model(model_path: Path, device: str = "cpu") -> Any:
    """transformers model dequantized from the GGUF file, float32, on ``device``.

    Raises:
        TrainingError: transformers cannot read this GGUF (architecture or quantization
            it does not support), with the file name.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model_path = Path(model_path)
    check_personalizable(model_path)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            model_path.parent, gguf_file=model_path.name, dtype=torch.float32
        )
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        raise TrainingError(
            f"{model_path.name} cannot be loaded for training ({exc}). Personalization needs a "
            "model whose GGUF architecture and quantization transformers can read."
        ) from exc
    model.config.use_cache = False
    text_config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    if getattr(text_config, "final_logit_softcapping", None):
        raise TrainingError(
            f"{model_path.name} caps its output logits (final_logit_softcapping), which "
            "Hearth's training loss does not model yet; it cannot be personalized."
        )
    return model.to(device)  # type: ignore[arg-type]


def add_lora(model: Any, rank: int, alpha: float, dropout: float = 0.0) -> Any:
    """Wrap ``model`` with a PEFT LoRA on q/k/v/o/gate/up/down (no rsLoRA, no DoRA, no bias)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,  # type: ignore[arg-type]
        lora_dropout=dropout,
        target_modules=list(TARGET_MODULES),
        bias="none",
        use_rslora=False,
        use_dora=False,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _causal_parts(model: Any) -> tuple[Any, Any]:
    """(decoder body returning hidden states, lm_head) of a plain or PEFT-wrapped model."""
    inner = model
    if hasattr(inner, "get_base_model"):
        inner = inner.get_base_model()
    return inner.model, inner.lm_head


def _ce_sum(hidden: Any, weight: Any, targets: Any) -> Any:
    import torch.nn.functional as F

    logits = hidden @ weight.t()
    return F.cross_entropy(logits.float(), targets, reduction="sum")


#: a target that is not learned or scored (PyTorch's ``cross_entropy`` default ignore_index)
IGNORE_INDEX = -100


def lm_targets(input_ids: Any, loss_from: Sequence[int] | None = None,
               lengths: Sequence[int] | None = None) -> Any:
    """Next-token targets (batch, T-1) of ``input_ids`` (batch, T): the next token, or
    :data:`IGNORE_INDEX` before row i's ``loss_from[i]`` (a prompt's tokens are context,
    not targets) and at or after its ``lengths[i]`` (padding)."""
    import torch

    y = input_ids[:, 1:].clone()
    pos = torch.arange(1, input_ids.shape[1], device=y.device)
    for i in range(y.shape[0]):
        start = loss_from[i] if loss_from else 0
        end = lengths[i] if lengths else input_ids.shape[1]
        y[i, (pos < start) | (pos >= end)] = IGNORE_INDEX
    return y


def chunked_lm_loss(model: Any, input_ids: Any, chunk: int = 64, checkpoint: bool = True,
                    targets: Any = None) -> tuple[Any, int]:
    """Summed next-token cross-entropy of ``input_ids`` (batch, T) and the token count
    (of the targets scored: ``targets`` (batch, T-1) from :func:`lm_targets`, default
    every next token).

    The lm_head projection and the loss are computed ``chunk`` positions at a time (for
    evaluation; training uses :func:`chunked_lm_loss_backward`); with ``checkpoint`` and
    grad enabled each chunk's logits are recomputed in backward instead of kept, so at
    most ``chunk x vocab`` logits exist at once.  The lm_head has no bias in
    the supported architectures (it is checked).
    """
    import torch
    from torch.utils.checkpoint import checkpoint as ckpt

    body, head = _causal_parts(model)
    if getattr(head, "bias", None) is not None:
        raise TrainingError("Models whose output layer has a bias are not supported.")
    hidden = body(input_ids=input_ids).last_hidden_state
    h = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    y = (input_ids[:, 1:] if targets is None else targets).reshape(-1)
    if targets is not None:
        keep = y != IGNORE_INDEX
        h, y = h[keep], y[keep]
    total = torch.zeros((), device=h.device, dtype=torch.float32)
    for s in range(0, h.shape[0], chunk):
        if checkpoint and torch.is_grad_enabled():
            total = total + ckpt(_ce_sum, h[s : s + chunk], head.weight, y[s : s + chunk], use_reentrant=False)
        else:
            total = total + _ce_sum(h[s : s + chunk], head.weight, y[s : s + chunk])
    return total, int(y.numel())


LOSS_BUFFER_BYTES = 32 << 20


def loss_chunk_rows(vocab: int, budget_bytes: int = LOSS_BUFFER_BYTES) -> int:
    """Positions per chunk of the output projection and loss: as many as fit
    ``budget_bytes`` of float32 logits (``rows x vocab``), a multiple of 32 between 64 and
    1024.  The default model (49,152 tokens) gets 160; Gemma 3 (262,144) 64.  Larger
    chunks make the projection a larger matrix product, which the CPU runs faster per
    FLOP: at 64 rows it took 42 % of a training step of the default model, measured with
    torch.profiler (1 thread, 2 x 256 tokens)."""
    rows = budget_bytes // (4 * max(1, vocab))
    return int(min(1024, max(64, rows // 32 * 32)))


def _head_loss_and_grad(h: Any, weight: Any, y: Any, chunk: int) -> tuple[float, Any]:
    """Summed cross-entropy of ``h @ weight.T`` (rows of ``h``: (n, d) float32; weight
    (vocab, d), frozen) against targets ``y`` (n,), and its gradient with respect to
    ``h`` for the mean loss (n, d), without autograd.

    Per chunk of rows, in one reused (chunk, vocab) buffer: logits = h W^T; the loss is
    logsumexp - the target's logit (max-subtracted, as log_softmax does); the gradient of
    the mean loss with respect to the logits, (softmax - onehot) / n, is formed in place
    and multiplied by W.  Same maths as ``F.cross_entropy(reduction="sum") / n`` and
    ``backward``, with no (chunk, vocab) temporaries beyond the one buffer.
    """
    import torch

    n = h.shape[0]
    grad = torch.empty_like(h)
    buf = torch.empty((min(chunk, n), weight.shape[0]), dtype=h.dtype, device=h.device)
    total = 0.0
    with torch.no_grad():
        for s in range(0, n, chunk):
            hs, ys = h[s : s + chunk], y[s : s + chunk]
            m = hs.shape[0]
            logits = buf[:m]
            torch.mm(hs, weight.t(), out=logits)
            picked = logits.gather(1, ys[:, None])
            top = logits.amax(dim=1, keepdim=True)
            logits.sub_(top).exp_()
            sums = logits.sum(dim=1, keepdim=True)
            total += float((top + sums.log() - picked).sum())
            logits.mul_(1.0 / (sums * n))
            logits[torch.arange(m, device=h.device), ys] -= 1.0 / n
            torch.mm(logits, weight, out=grad[s : s + m])
    return total, grad


def chunked_lm_loss_backward(model: Any, input_ids: Any, chunk: int = 0,
                             targets: Any = None) -> tuple[float, int]:
    """Forward and backward of the mean next-token cross-entropy of ``input_ids`` (batch,
    T), with the lm_head and loss done ``chunk`` positions at a time (0: as many as
    :func:`loss_chunk_rows` gives for the vocabulary).  ``targets`` (batch, T-1), from
    :func:`lm_targets`, leaves out positions marked :data:`IGNORE_INDEX` (default: every
    next token is learned).

    The final hidden states are computed, the lm_head and loss give the gradient of the
    loss with respect to them chunk by chunk (each chunk's logits made and freed; in
    float32 by :func:`_head_loss_and_grad`, without autograd, the lm_head being frozen),
    then the decoder body is back-propagated once with that gradient.  Gradients end up
    in the trainable parameters as with ``loss.backward()``.  If the loss is not finite
    the body's backward is skipped.

    Returns:
        (summed loss in nats, number of predicted tokens).
    """
    import torch

    body, head = _causal_parts(model)
    if getattr(head, "bias", None) is not None:
        raise TrainingError("Models whose output layer has a bias are not supported.")
    chunk = chunk or loss_chunk_rows(int(head.weight.shape[0]))
    hidden = body(input_ids=input_ids).last_hidden_state
    h = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    y = (input_ids[:, 1:] if targets is None else targets).reshape(-1)
    if targets is not None:
        keep = (y != IGNORE_INDEX).nonzero().squeeze(1)
        h, y = h.index_select(0, keep), y.index_select(0, keep)
    n = int(y.numel())
    if n == 0:
        return 0.0, 0
    plain = (not head.weight.requires_grad and h.dtype == torch.float32
             and head.weight.dtype == torch.float32
             and not torch.is_autocast_enabled(h.device.type))
    if plain:
        total, grad = _head_loss_and_grad(h.detach(), head.weight.detach(), y, chunk)
        if math.isfinite(total):
            h.backward(grad)
        return total, n
    leaf = h.detach().requires_grad_(True)
    total = 0.0
    for s in range(0, n, chunk):
        part = _ce_sum(leaf[s : s + chunk], head.weight, y[s : s + chunk]) / n
        part.backward()
        total += float(part.detach())
    if math.isfinite(total) and leaf.grad is not None:
        h.backward(leaf.grad)
    return total * n, n


@dataclass
class TrainResult:
    """How training ended.

    Attributes:
        status: "finished", "budget" (stopped at the deadline), "cancelled", "diverged",
            "guarded" (stopped by :meth:`Trainer.run`'s guard), "early-stopped" (ran its
            steps, then went back to the check where ``validate`` was lowest).
        steps: steps done; tokens: training tokens seen.
        final_loss / best_loss: smoothed training loss (nats per token).
        message: a sentence for the user.
    """

    status: str
    steps: int
    total_steps: int
    tokens: int
    final_loss: float | None
    best_loss: float | None
    seconds: float
    message: str = ""


class Trainer:
    """Trains a PEFT LoRA ``model`` on packed ``sequences``; resumable.

    Args:
        model: PEFT-wrapped causal LM (see :func:`add_lora`).
        sequences: token sequences: packed text ``config.seq_len`` long, or a chat
            exchange of any length (a batch of several is padded to its longest).
        loss_from: per sequence, the index of its first learned token (a chat exchange's
            reply); None or empty: every token is learned.
        config: hyper-parameters.
        run_dir: where checkpoint.pt lives.
        deadline: time.time() by which training must stop (None: no limit).
        reserve_s: seconds kept after training for evaluation and export.
    """

    def __init__(
        self,
        model: Any,
        sequences: Sequence[Sequence[int]],
        config: TrainConfig,
        run_dir: Path,
        deadline: float | None = None,
        reserve_s: float = 0.0,
        loss_from: Sequence[int] | None = None,
    ) -> None:
        import torch

        if not sequences:
            raise TrainingError("There is no training text. Add documents to your library first.")
        self.model = model
        self.sequences = [list(s) for s in sequences]
        self.loss_from = list(loss_from or [0] * len(self.sequences))
        if len(self.loss_from) != len(self.sequences):
            raise ValueError("loss_from must give one index per sequence")
        self.config = config
        self.run_dir = Path(run_dir)
        self.deadline = deadline
        self.reserve_s = reserve_s
        self.device = next(model.parameters()).device
        self.precision = pick_precision(self.device.type, config.precision)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.params, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.step = 0
        self.total_steps = 0
        self.tokens = 0
        self.ema: float | None = None
        #: the smoothed loss of steps on document text alone (what an explosion is judged by)
        self.text_ema: float | None = None
        self._last_rows: list[int] = []
        self.best_loss: float | None = None
        self.best_state: dict[str, Any] | None = None
        self.elapsed = 0.0
        self.resumed_from: int | None = None
        self._last_ckpt = time.monotonic()
        #: the weights at the last check of ``run``'s guard that passed, and their step
        self.guarded_state: dict[str, Any] | None = None
        self.guarded_step = 0
        #: the lowest held-out perplexity at ``run``'s checks (``validate``), its weights and step
        self.valid_best: float | None = None
        self.valid_state: dict[str, Any] | None = None
        self.valid_step = 0

    # -- data order --------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.sequences) / self.config.batch_sequences))

    def batch(self, step: int) -> list[int]:
        """The indices of the sequences of 0-based ``step``: a fresh shuffle each epoch
        (seeded), so the order after a resume is the same as without the interruption."""
        n, b = len(self.sequences), self.config.batch_sequences
        epoch, pos = divmod(step * b, n)
        order = list(range(n))
        random.Random(self.config.seed * 1_000_003 + epoch).shuffle(order)
        return [order[(pos + i) % n] for i in range(b)]

    # -- checkpoints -------------------------------------------------------------------
    def _lora_state(self) -> dict[str, Any]:
        from peft import get_peft_model_state_dict

        return {k: v.detach().clone().cpu() for k, v in get_peft_model_state_dict(self.model).items()}

    def save_checkpoint(self) -> Path:
        """Write checkpoint.pt atomically (temporary file, fsync, rename).

        Raises:
            OSError: the disk is full or not writable (the previous checkpoint is intact).
        """
        import torch

        path = self.run_dir / CHECKPOINT_FILE
        state = {
            "config_key": self.config.key(),
            "step": self.step,
            "total_steps": self.total_steps,
            "tokens": self.tokens,
            "ema": self.ema,
            "best_loss": self.best_loss,
            "best_state": self.best_state,
            "valid_best": self.valid_best,
            "valid_state": self.valid_state,
            "valid_step": self.valid_step,
            "elapsed": self.elapsed,
            "lora": self._lora_state(),
            "optimizer": self.optimizer.state_dict(),
            "saved": time.time(),
        }
        buffer = io.BytesIO()  # serialised first, so a full disk is a plain OSError (ENOSPC)
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getbuffer())
        self._last_ckpt = time.monotonic()
        return path

    def load_checkpoint(self) -> bool:
        """Resume from checkpoint.pt if it exists and was made with the same settings."""
        import torch
        from peft import set_peft_model_state_dict

        path = self.run_dir / CHECKPOINT_FILE
        if not path.exists():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            log.warning("checkpoint %s unreadable (%s); starting over", path, exc)
            return False
        if state.get("config_key") != self.config.key():
            log.warning("checkpoint %s was made with other settings; starting over", path)
            return False
        set_peft_model_state_dict(self.model, state["lora"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.total_steps = int(state["total_steps"])
        self.tokens = int(state["tokens"])
        self.ema = state.get("ema")
        self.best_loss = state.get("best_loss")
        self.best_state = state.get("best_state")
        self.valid_best = state.get("valid_best")
        self.valid_state = state.get("valid_state")
        self.valid_step = int(state.get("valid_step") or 0)
        self.elapsed = float(state.get("elapsed", 0.0))
        self.resumed_from = self.step
        return True

    def restore_best(self) -> None:
        """Put the best weights seen (lowest smoothed loss at a checkpoint) back."""
        from peft import set_peft_model_state_dict

        if self.best_state is not None:
            set_peft_model_state_dict(self.model, self.best_state)

    def _back_to_best_check(self) -> int:
        """The weights of the passing check where held-out documents read best (else the
        guard's last passing check) become the best and the model's (:meth:`restore_best`);
        with no passing check the model is left as it is.  Returns that check's step."""
        if self.valid_state is not None:
            self.best_loss, self.best_state = None, self.valid_state
            self.restore_best()
            return self.valid_step
        self.best_loss, self.best_state = None, self.guarded_state
        self.restore_best()
        return self.guarded_step

    def _check(self, validate: Callable[[], float | None] | None) -> None:
        """Remember the weights of a passing check, and those where ``validate`` (held-out
        perplexity) was lowest."""
        self.guarded_state, self.guarded_step = self._lora_state(), self.step
        value = validate() if validate is not None else None
        if value is not None and (self.valid_best is None or value < self.valid_best):
            self.valid_best, self.valid_state, self.valid_step = value, self.guarded_state, self.step

    # -- one step ----------------------------------------------------------------------
    def train_step(self) -> tuple[float, int]:
        """One optimizer step; returns (mean loss per token, tokens)."""
        import torch

        cfg = self.config
        warmup = max(3, int(self.total_steps * cfg.warmup_fraction))
        lr = lr_at(self.step, max(self.total_steps, self.step + 1), cfg.learning_rate, warmup, cfg.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        rows = self._last_rows = self.batch(self.step)
        lengths = [len(self.sequences[i]) for i in rows]
        width = max(lengths)
        ids = torch.tensor([self.sequences[i] + [0] * (width - len(self.sequences[i])) for i in rows],
                           dtype=torch.long, device=self.device)
        targets = lm_targets(ids, [self.loss_from[i] for i in rows], lengths)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            loss_sum, n = chunked_lm_loss_backward(self.model, ids, cfg.loss_chunk, targets)
        value = loss_sum / max(1, n)
        hook = os.environ.get(NAN_HOOK_ENV)
        if hook and int(hook) == self.step + 1:
            value = float("nan")
        if not math.isfinite(value):
            self.optimizer.zero_grad(set_to_none=True)
            return value, sum(lengths)
        torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return value, sum(lengths)

    # -- the loop ----------------------------------------------------------------------
    def run(
        self,
        cancel: CancelToken | None = None,
        plan: Callable[[float], int] | None = None,
        guard: Callable[[], bool] | None = None,
        validate: Callable[[], float | None] | None = None,
    ) -> Iterator[ProgressEvent]:
        """Train, yielding a progress event per step; the generator's return value (via
        ``self.result``) says how it ended.

        Args:
            cancel: checked between steps; a cancel saves a checkpoint and stops; a pause
                waits before the next step (one "log" event with data["paused"] True,
                another with False on resuming; the time paused does not count in the
                step times the deadline plan uses).
            plan: given the measured seconds per step (after 2 steps), returns the total
                steps (used once, when not resuming and ``config.max_steps`` is 0).
            guard: called every ``config.guard_every_s`` seconds of training; False means
                the model has drifted too far (the pipeline's check of general text), and
                training stops with the weights of the passing check where ``validate`` was
                lowest, else of the last check that passed (status "guarded"; early
                stopping on a validation set, as in Prechelt, "Early Stopping - But
                When?", 1998).  A 60-minute run on squad-a's articles had made general
                text 3.2 % less likely after three epochs.
            validate: called at each check that passes, and after the last step: a loss
                on what training does not see, lower is better (the pipeline's: the loss
                of the replies of grounded examples from held-out documents, else those
                documents' perplexity; None: not measured).  The weights where it was
                lowest are kept when training ends, or when the guard fails (early
                stopping on the validation loss: the best of the checks, not the last).
                Three full epochs on squad-a's articles had left held-out documents 0.3 %
                less likely than before training, where 1,063 steps had made them 11.7 %
                more likely.
        """
        cfg = self.config
        token = cancel or CancelToken()
        if self.total_steps == 0:
            if cfg.max_steps > 0:
                self.total_steps = cfg.max_steps
            else:
                self.total_steps = max(1, math.ceil(self.steps_per_epoch * cfg.max_epochs))
        planned = self.resumed_from is not None or cfg.max_steps > 0 or plan is None
        rate = RateEstimator(smoothing=0.2)
        started = time.monotonic()
        base_elapsed = self.elapsed
        step_times: list[float] = []
        delay = float(os.environ.get(SLOW_HOOK_ENV, "0") or 0)
        self.result = TrainResult("finished", self.step, self.total_steps, self.tokens, self.ema, self.best_loss, 0.0)
        if self.resumed_from is not None:
            yield ProgressEvent("train", "log", "step", self.step, self.total_steps, "steps",
                                f"Resuming from the checkpoint at step {self.step}.",
                                {"resumed_from": self.step})
        rate.update(self.tokens)
        last_guard = time.monotonic()
        while self.step < self.total_steps:
            if token.paused:
                yield ProgressEvent("train", "log", "step", self.step, self.total_steps, "steps",
                                    f"Paused at step {self.step}.", {"paused": True})
                if not token.wait_if_paused():
                    yield ProgressEvent("train", "log", "step", self.step, self.total_steps, "steps",
                                        f"Resumed at step {self.step}.", {"paused": False})
            if token.cancelled:
                self.save_checkpoint()
                self.result = self._result("cancelled", started, base_elapsed,
                                           f"Cancelled at step {self.step}; the checkpoint is kept.")
                return
            if self.deadline is not None and time.time() + self._mean(step_times) + self.reserve_s > self.deadline:
                self.result = self._result("budget", started, base_elapsed,
                                           f"Stopped at step {self.step} to finish on time.")
                break
            t0 = time.monotonic()
            loss, n_tok = self.train_step()
            if delay:
                time.sleep(delay)
            step_times.append(time.monotonic() - t0)
            # An explosion is judged on document text alone: a reply's loss is a few tokens,
            # near 0 once learned and above 2 for a new one, so beside it a smoothed loss
            # over both kinds made an ordinary text step look exploded (step 2,029 of a
            # 60-minute run on squad-a's articles: 3.06 against a smoothed 1.0).
            text_step = all(self.loss_from[i] == 0 for i in self._last_rows)
            if not math.isfinite(loss) or (
                text_step and self.text_ema is not None and self.step > 5
                and loss > cfg.explode_factor * max(self.text_ema, 0.5)
            ):
                self.restore_best()
                what = "became NaN" if not math.isfinite(loss) else f"exploded to {loss:.2f}"
                kept = "the best adapter so far is kept" if self.best_state is not None else "no adapter was kept"
                self.result = self._result(
                    "diverged", started, base_elapsed,
                    f"Training stopped at step {self.step + 1}: the loss {what}; {kept}.",
                )
                yield ProgressEvent("train", "error", "step", self.step, self.total_steps, "steps",
                                    self.result.message, {"loss": loss, "reason": "diverged"})
                return
            self.step += 1
            self.tokens += n_tok
            self.ema = loss if self.ema is None else 0.9 * self.ema + 0.1 * loss
            if text_step:
                self.text_ema = loss if self.text_ema is None else 0.9 * self.text_ema + 0.1 * loss
            if not planned and plan is not None and len(step_times) >= 2:
                self.total_steps = max(self.step, plan(self._mean(step_times[1:])))
                planned = True
            tps = rate.update(self.tokens)
            eta = None
            if step_times:
                eta = self._mean(step_times[-20:]) * (self.total_steps - self.step)
            due = (cfg.checkpoint_every_steps and self.step % cfg.checkpoint_every_steps == 0) or (
                time.monotonic() - self._last_ckpt >= cfg.checkpoint_every_s
            )
            if (guard is not None or validate is not None) and time.monotonic() - last_guard >= cfg.guard_every_s:
                if guard is not None and not guard():
                    kept_step = self._back_to_best_check()
                    self.result = self._result(
                        "guarded", started, base_elapsed,
                        f"Stopped at step {self.step}: general text had become less likely than allowed; "
                        + (f"the adapter of step {kept_step} is kept." if kept_step else "no step was kept."))
                    yield ProgressEvent("train", "log", "step", self.step, self.total_steps, "steps",
                                        self.result.message, {"guarded_at": self.step, "kept_step": kept_step})
                    break
                self._check(validate)
                last_guard = time.monotonic()
            if due:
                if self.best_loss is None or self.ema <= self.best_loss:
                    self.best_loss, self.best_state = self.ema, self._lora_state()
                self.elapsed = base_elapsed + time.monotonic() - started
                self.save_checkpoint()
            yield ProgressEvent(
                "train", "progress", "step", self.step, self.total_steps, "steps",
                f"Step {self.step} of {self.total_steps}, loss {self.ema:.3f}",
                {"loss": loss, "loss_smoothed": self.ema, "tokens": self.tokens,
                 "tokens_per_s": tps or 0.0, "eta_s": eta, "checkpoint": bool(due)},
            )
        if self.result.status == "finished":
            self.result = self._result("finished", started, base_elapsed,
                                       f"Trained {self.step} steps on {self.tokens} tokens.")
        if (self.result.status in ("finished", "budget") and guard is not None
                and self.guarded_state is not None and self.guarded_step < self.step and not guard()):
            kept_step = self._back_to_best_check()  # the steps since the last check went too far
            self.result = self._result(
                "guarded", started, base_elapsed,
                f"Trained {self.step} steps; general text had become less likely than allowed, so the "
                f"adapter of step {kept_step} is kept.")
        elif (self.result.status in ("finished", "budget") and validate is not None
                and self.valid_state is not None and self.valid_step < self.step):
            last = validate()
            if last is not None and self.valid_best is not None and last > self.valid_best:
                kept_step = self._back_to_best_check()  # the held-out check was best earlier
                self.result = self._result(
                    "early-stopped", started, base_elapsed,
                    f"Trained {self.step} steps; it did best on documents it had not trained on at "
                    f"step {kept_step}, whose adapter is kept.")
        if self.result.status not in ("guarded", "early-stopped") and (
                self.best_loss is None or (self.ema is not None and self.ema <= self.best_loss)):
            self.best_loss, self.best_state = self.ema, self._lora_state()
        self.result.best_loss = self.best_loss
        self.save_checkpoint()

    @staticmethod
    def _mean(xs: Sequence[float]) -> float:
        return sum(xs) / len(xs) if xs else 0.0

    def _result(self, status: str, started: float, base_elapsed: float, message: str) -> TrainResult:
        self.elapsed = base_elapsed + time.monotonic() - started
        return TrainResult(status, self.step, self.total_steps, self.tokens, self.ema,
                           self.best_loss, self.elapsed, message)
