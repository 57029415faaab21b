"""llama-cpp-python in this process.

Used inside the engine's worker process (see worker.py) and by the raw benchmark.
The prompt is rendered with the model's own chat template from its GGUF metadata
(``tokenizer.chat_template``), falling back to ChatML when a model has none.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

from desktop.core.engine import (
    ChatMessage,
    EngineError,
    EngineOptions,
    GenerationEvent,
    SamplingParams,
)
from desktop.core.engine.context import fit_messages
from desktop.core.jobs import CancelToken
from desktop.core.models import ModelError, ModelInfo, check_chat_model, read_gguf_info

# ChatML (used by SmolLM2, Qwen and others) as the fallback template.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CHATML_STOP = ["<|im_end|>"]


class LlamaBackend:
    """A chat model loaded with llama-cpp-python.  Owns the native model; call close()."""

    def __init__(self) -> None:
        self._llm: Any = None
        self._formatter: Any = None
        self._extra_stop: list[str] = []
        self._info: ModelInfo | None = None
        self._adapters: list[tuple[str, float, Any]] = []

    @property
    def model(self) -> ModelInfo | None:
        return self._info

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (for evaluation and tests)."""
        return self._llm

    def load(self, model_path: str, options: EngineOptions) -> ModelInfo:
        info = read_gguf_info(model_path)
        check_chat_model(info)
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        from desktop.core.engine.backends import avoid_amx, ensure_backends

        avoid_amx()  # llama.cpp's AMX path crashes on the first decode
        if ensure_backends() == 0:
            raise ModelError(
                "The chat engine found no llama.cpp backend it can run on this processor "
                "(the llama_cpp/lib folder of this installation is incomplete). Reinstall Hearth."
            )
        n_ctx = options.n_ctx
        if info.context_length:
            n_ctx = min(n_ctx, info.context_length)
        try:
            llm = Llama(
                model_path=str(info.path),
                n_ctx=n_ctx,
                n_threads=options.n_threads,
                n_threads_batch=options.n_threads,
                n_gpu_layers=options.n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"{info.path.name} could not be loaded by the engine ({exc}). The file may be "
                "damaged or made for a newer llama.cpp: download it again or choose another model."
            ) from exc
        self.close()
        self._llm, self._info = llm, info
        eos_id, bos_id = llm.token_eos(), llm.token_bos()
        eos = llm._model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = llm._model.token_get_text(bos_id) if bos_id != -1 else ""
        template = info.chat_template or CHATML_TEMPLATE
        self._extra_stop = [] if info.chat_template else CHATML_STOP
        self._formatter = Jinja2ChatFormatter(
            template=template, eos_token=eos, bos_token=bos, stop_token_ids=[eos_id]
        )
        return info

    def render(self, messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
        """The prompt text for ``messages`` and its stop strings."""
        resp = self._formatter(messages=list(messages))
        stop = [s for s in ([resp.stop] if isinstance(resp.stop, str) else list(resp.stop or [])) if s]
        return resp.prompt, stop + self._extra_stop

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        prompt, _ = self.render(messages)
        return len(self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    @property
    def n_ctx(self) -> int:
        return int(self._llm.n_ctx()) if self._llm is not None else 0

    def generate(
        self, messages: list[ChatMessage], params: SamplingParams, cancel: CancelToken | None = None
    ) -> Iterator[GenerationEvent]:
        if self._llm is None:
            raise EngineError("No model is loaded. Choose a model first.")
        n_ctx = self.n_ctx
        max_tokens = max(1, min(params.max_tokens, n_ctx // 2))
        kept, dropped = fit_messages(
            messages, self.count_tokens, n_ctx - max_tokens, lambda m: m["role"] == "system"
        )
        if dropped:
            yield GenerationEvent("trimmed", data={"dropped": dropped})
        prompt, stop = self.render(kept)
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) + max_tokens > n_ctx:  # one huge message: keep its end
            tokens = tokens[-(n_ctx - max_tokens):]
        seed = params.seed if params.seed >= 0 else int.from_bytes(os.urandom(4), "little") >> 1
        perf_ctx = _perf_reset(self._llm)
        start = time.perf_counter()
        first: float | None = None
        n = 0
        finish = "stop"
        stream = self._llm.create_completion(
            prompt=tokens,
            max_tokens=max_tokens,
            temperature=max(0.0, params.temperature),
            top_p=params.top_p,
            repeat_penalty=params.repeat_penalty,
            seed=seed,
            stop=stop + list(params.stop),
            stream=True,
        )
        try:
            for chunk in stream:
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                choice = chunk["choices"][0]
                text = choice.get("text") or ""
                if text:
                    n += 1
                    if first is None:
                        first = time.perf_counter() - start
                    yield GenerationEvent("token", text=text)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        finally:
            stream.close()
        elapsed = time.perf_counter() - start
        decode_time = elapsed - (first or 0.0)
        rate = (n - 1) / decode_time if n > 1 and decode_time > 0 else 0.0
        evaluated = _perf_decode(perf_ctx)
        if evaluated is not None:  # llama.cpp's own count and time of the generated tokens
            n, rate = evaluated
        yield GenerationEvent(
            "done",
            data={
                "finish_reason": finish,
                "prompt_tokens": len(tokens),
                "completion_tokens": n,
                "n_ctx": n_ctx,
                "context_used": len(tokens) + n,
                "tokens_per_s": rate,
                "time_to_first_token_s": first or 0.0,
            },
        )

    def set_adapters(self, adapters: list[tuple[str, float]]) -> None:
        """Apply GGUF LoRA adapters with their scales, without reloading the model.

        Uses llama.cpp's ``llama_adapter_lora_init`` / ``llama_set_adapters_lora``; an
        adapter already loaded is reused (changing only its scale is cheap); [] removes
        all.  Afterwards the KV cache and llama-cpp-python's token-prefix cache are
        cleared, so no answer reuses state computed with other adapters.  On any error
        the previous adapters stay applied.

        This does not check that an adapter was made for this exact model file (llama.cpp
        accepts any adapter whose tensor shapes fit); the personalization registry does
        that, by the base model's SHA-256, before calling this.

        Raises:
            ModelError: an adapter file is missing or cannot be loaded (damaged, or made
                for a model of another shape).
            EngineError: no model is loaded, or llama.cpp refused the set.
        """
        import llama_cpp

        if self._llm is None:
            raise EngineError("Load a model before applying an adapter.")
        loaded = {p: h for p, _s, h in self._adapters}
        model_name = self._info.path.name if self._info else "this model"
        new: list[tuple[str, float, Any]] = []

        def free_new() -> None:
            for p, _s, h in new:
                if p not in loaded:
                    llama_cpp.llama_adapter_lora_free(h)

        for path, scale in adapters:
            path = str(path)
            handle = loaded.get(path)
            if handle is None and any(p == path for p, _s, _h in new):
                handle = next(h for p, _s, h in new if p == path)
            if handle is None:
                if not os.path.isfile(path):
                    free_new()
                    raise ModelError(f"The adapter file {path} is missing.")
                handle = llama_cpp.llama_adapter_lora_init(self._llm._model.model, path.encode())
                if not handle:
                    free_new()
                    raise ModelError(
                        f"The adapter {os.path.basename(path)} could not be applied to "
                        f"{model_name}: it was made for another model or is damaged."
                    )
            new.append((path, float(scale), handle))
        n = len(new)
        arr = (llama_cpp.llama_adapter_lora_p_ctypes * max(n, 1))(*[h for _p, _s, h in new])
        scales = (ctypes.c_float * max(n, 1))(*[s for _p, s, _h in new])
        rc = llama_cpp.llama_set_adapters_lora(self._llm._ctx.ctx, arr if n else None, n, scales if n else None)
        if rc != 0:
            free_new()
            raise EngineError(f"llama.cpp refused the adapters (code {rc}).")
        keep = {p for p, _s, _h in new}
        for path, _scale, handle in self._adapters:
            if path not in keep:
                llama_cpp.llama_adapter_lora_free(handle)
        self._adapters = new
        # llama-cpp-python reuses the longest common token prefix of the previous prompt
        # (n_tokens / input_ids): forget it, and clear the KV cache itself.
        self._llm.reset()
        self._llm._ctx.kv_cache_clear()

    @property
    def adapters(self) -> list[tuple[str, float]]:
        """The applied adapters: (file, scale)."""
        return [(p, s) for p, s, _h in self._adapters]

    def close(self) -> None:
        if self._llm is not None:
            import llama_cpp

            if self._adapters:
                try:
                    llama_cpp.llama_set_adapters_lora(self._llm._ctx.ctx, None, 0, None)
                except Exception:
                    pass
            for _p, _s, handle in self._adapters:
                try:
                    llama_cpp.llama_adapter_lora_free(handle)
                except Exception:
                    pass
            self._adapters = []
            self._llm.close()
            self._llm = None
            self._info = None

    def __enter__(self) -> LlamaBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _perf_reset(llm: Any) -> Any:
    """llama.cpp's context pointer of ``llm`` with its performance counters reset, or None
    where this llama-cpp-python does not expose them."""
    try:
        import llama_cpp

        ctx = llm._ctx.ctx
        llama_cpp.llama_perf_context_reset(ctx)
        return ctx
    except Exception:
        return None


def _perf_decode(ctx: Any) -> tuple[int, float] | None:
    """(tokens generated, tokens per second of their decoding) from llama.cpp's counters
    (``llama_perf_context``: ``n_eval``, ``t_eval_ms``), or None without them.

    Counting the streamed chunks instead undercounts: llama-cpp-python holds text back
    while it could still be the start of a stop string and sends it as one chunk, so
    short answers showed "1.0 tokens/s" (fifth new-user trial)."""
    if ctx is None:
        return None
    try:
        import llama_cpp

        perf = llama_cpp.llama_perf_context(ctx)
        n, ms = int(perf.n_eval), float(perf.t_eval_ms)
    except Exception:
        return None
    if n <= 0 or ms <= 0:
        return None
    return n, n / (ms / 1000.0)
