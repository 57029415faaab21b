"""The exported GGUF adapter does in llama.cpp what the PEFT adapter does in PyTorch.

With an adapter whose effect is large (random lora_B, std 0.1 on q/k/v and 0.02 on the
other projections: measured here, smaller random adapters drown in the noise that
llama.cpp's 8-bit quantization of activations adds, about 0.23 logits rms), the change it makes to
llama.cpp's logits over a 73-token text correlates >= 0.93 with the change PEFT makes
on the dequantized base in PyTorch; an export without the q/k row permutation scores
clearly lower; and applying the adapter changes llama.cpp's greedy output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

TEXT = (
    "The water cycle describes how water moves around the Earth. The sun heats water in "
    "oceans, lakes and rivers, and some of it turns into vapour and rises into the air. As "
    "the vapour rises it cools and condenses into tiny droplets that form clouds. When the "
    "droplets join together and grow heavy, they fall back to the ground as rain, snow or hail."
)


def llama_logits(backend, ids: list[int]) -> np.ndarray:
    """Logits (tokens x vocab) from llama.cpp, one token at a time through the backend's
    own Llama (its context keeps only the last position's logits)."""
    llm = backend.llama
    llm.reset()
    llm._ctx.kv_cache_clear()
    n_vocab = llm.n_vocab()
    rows = []
    for t in ids:
        llm.eval([t])
        rows.append(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,)).copy())
    return np.stack(rows)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1])


@pytest.fixture(scope="module", params=["llama", "gemma3"])
def base_model(request: pytest.FixtureRequest) -> Path:
    """The two architectures Hearth personalizes: SmolLM2-135M (llama, q/k permuted in
    GGUF) and Gemma 3 270M (gemma3, not permuted; a base model without a chat template)."""
    return request.getfixturevalue("default_model" if request.param == "llama" else "gemma_model")


@pytest.fixture(scope="module")
def setup(base_model: Path, tmp_path_factory: pytest.TempPathFactory):
    import torch

    from desktop.core.models import read_gguf_info
    from desktop.core.personalize.export import (
        AdapterMetadata,
        export_peft_model,
        lora_tensors,
        permutes_qk,
        write_gguf_lora,
    )
    from desktop.core.personalize.trainer import add_lora, load_base_model, load_tokenizer

    torch.manual_seed(0)
    torch.set_num_threads(1)
    default_model = base_model
    tok = load_tokenizer(default_model)
    ids = tok(TEXT, add_special_tokens=False).input_ids
    assert len(ids) >= 64
    model = add_lora(load_base_model(default_model), rank=8, alpha=16)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                # large effect, mostly through attention, where the q/k permutation matters;
                # the MLP and output projections get a smaller one (all seven are covered)
                attention = any(k in name for k in ("q_proj", "k_proj", "v_proj"))
                p.normal_(0, 0.1 if attention else 0.02)
    model.eval()
    x = torch.tensor([ids])
    with torch.no_grad():
        after = model(input_ids=x).logits[0].float().numpy()
        with model.disable_adapter():
            before = model(input_ids=x).logits[0].float().numpy()
    out = tmp_path_factory.mktemp("adapters")
    meta = AdapterMetadata(base_sha256="0" * 64, base_name=default_model.name, rank=8, alpha=16)
    good = export_peft_model(model, out / "permuted.gguf", meta, permute=True)
    if permutes_qk(read_gguf_info(default_model).architecture):
        bad = export_peft_model(model, out / "unpermuted.gguf", meta, permute=False)
    else:  # the wrong choice for an architecture that is not permuted: permute anyway
        from peft import get_peft_model_state_dict

        cfg = model.base_model.model.config
        tensors = lora_tensors(get_peft_model_state_dict(model), "llama",
                               cfg.num_attention_heads, cfg.num_key_value_heads)
        bad = write_gguf_lora(out / "wrongly-permuted.gguf", tensors,
                              read_gguf_info(default_model).architecture, meta)
    return ids, after - before, good, bad


def test_gguf_adapter_matches_peft_and_permutation_matters(setup, base_model: Path) -> None:
    from desktop.core.engine import EngineOptions
    from desktop.core.engine.llama import LlamaBackend

    ids, torch_delta, good, bad = setup
    with LlamaBackend() as backend:
        backend.load(str(base_model), EngineOptions(n_ctx=512, n_threads=1))
        base = llama_logits(backend, ids)
        backend.set_adapters([(str(good), 1.0)])
        with_good = llama_logits(backend, ids)
        backend.set_adapters([(str(bad), 1.0)])
        with_bad = llama_logits(backend, ids)
        backend.set_adapters([])
        base_again = llama_logits(backend, ids)
    r_good = corr(with_good - base, torch_delta)
    r_bad = corr(with_bad - base, torch_delta)
    print(f"{base_model.name}: correlation {r_good:.3f} as exported, {r_bad:.3f} with the "
          f"other q/k row order, over {len(ids)} tokens")
    assert r_good >= 0.93
    assert r_bad < r_good - 0.05
    # removing the adapter restores the base logits (no stale adapter, no stale cache)
    assert np.allclose(base_again, base, atol=1e-3)


def test_applied_adapter_changes_the_answer(setup, base_model: Path) -> None:
    from desktop.core.engine import EngineOptions, SamplingParams
    from desktop.core.engine.llama import LlamaBackend

    _ids, _delta, good, _bad = setup
    params = SamplingParams(temperature=0.0, max_tokens=24, seed=0)
    messages = [{"role": "user", "content": "What is the capital of France?"}]

    def answer(backend: LlamaBackend) -> str:
        return "".join(e.text for e in backend.generate(messages, params) if e.kind == "token")

    with LlamaBackend() as backend:
        backend.load(str(base_model), EngineOptions(n_ctx=512, n_threads=1))
        plain = answer(backend)
        backend.set_adapters([(str(good), 1.0)])
        adapted = answer(backend)
        assert backend.adapters == [(str(good), 1.0)]
        backend.set_adapters([])
        plain_again = answer(backend)
    assert adapted != plain
    assert plain_again == plain


def test_isolated_engine_applies_switches_and_refuses_adapters(setup, base_model: Path, tmp_path: Path) -> None:
    """Through the app's engine (the worker process): applying changes the answer, a
    damaged adapter is refused with a clear error and the previous one stays applied."""
    from desktop.core.engine import EngineOptions, SamplingParams
    from desktop.core.engine.isolated import IsolatedBackend
    from desktop.core.models import ModelError

    if "gemma" in base_model.name:
        # The engine's switching and refusal do not depend on the architecture (covered on
        # llama).  On Gemma this test's deliberately huge random adapter makes the logits
        # near-uniform, so greedy text flips on rounding noise between two evaluations
        # (seen: "|im|im| | |…" vs "|im|im|im|im|…"); the hot-apply on Gemma is covered by
        # test_applied_adapter_changes_the_answer and the correlation test.
        pytest.skip("architecture-independent; degenerate greedy text on gemma3 with this adapter")
    _ids, _delta, good, _bad = setup
    params = SamplingParams(temperature=0.0, max_tokens=16, seed=0)
    messages = [{"role": "user", "content": "Name a colour."}]

    def answer(engine: IsolatedBackend) -> str:
        return "".join(e.text for e in engine.generate(messages, params) if e.kind == "token")

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with IsolatedBackend() as engine:
        engine.load(str(base_model), EngineOptions(n_ctx=512, n_threads=1))
        plain = answer(engine)
        engine.set_adapters([(str(good), 1.0)])
        adapted = answer(engine)
        with pytest.raises(ModelError, match="could not be applied"):
            engine.set_adapters([(str(broken), 1.0)])
        assert answer(engine) == adapted  # the previous adapter is still applied
        engine.set_adapters([(str(good), 0.0)])
        assert answer(engine) == plain  # strength 0 is the base model
        engine.set_adapters([])
        assert answer(engine) == plain
    assert adapted != plain


def test_the_answer_check_asks_as_the_chat_does_before_and_after(setup, base_model: Path,
                                                                  default_model: Path) -> None:
    """The morning report's answer check: the question with its passage quoted, greedy,
    without and with the adapter, each answer scored against the reference."""
    from desktop.core.personalize.evaluate import answer_change, recall_questions

    if base_model != default_model:
        pytest.skip("the check's prompt is the chat's; one architecture shows it")
    _ids, _delta, good, _bad = setup
    passage = "Wi-Fi name: Hearthside. Wi-Fi password: blue-otter-2417. The guest network has no password."
    rows = recall_questions(base_model, good, [
        {"question": "What is the Wi-Fi password?", "answer": "blue-otter-2417", "source": "home.txt",
         "passage": passage},
    ], max_tokens=32)
    (row,) = rows
    assert row["correct_before"] and "blue-otter-2417" in row["before"]  # read from the quote
    assert row["after"] != row["before"]  # the (random) adapter was applied for "after"
    totals = answer_change(rows)
    assert totals["answers_n"] == 1 and totals["answers_correct_before"] == 1
    assert totals["answers_correct_after"] == int(row["correct_after"])
