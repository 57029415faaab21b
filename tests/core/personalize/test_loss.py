"""The trainer's lm_head and loss, done in chunks without autograd, give the same loss and
the same LoRA gradients as the plain ``model(ids, labels=ids).loss.backward()``."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _tiny_lora_model(tie: bool) -> object:
    from transformers import LlamaConfig, LlamaForCausalLM

    from desktop.core.personalize.trainer import add_lora

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=301, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=tie)
    model = add_lora(LlamaForCausalLM(config), 4, 8)
    with torch.no_grad():  # B starts at zero: give A a gradient too
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    return model


@pytest.mark.parametrize("tie,chunk,head_trained", [
    (True, 7, False), (False, 64, False), (True, 0, False),
    (False, 7, True),  # a trainable lm_head takes the autograd path
])
def test_chunked_loss_and_gradients_match_plain_backward(tie: bool, chunk: int, head_trained: bool) -> None:
    from desktop.core.personalize.trainer import chunked_lm_loss_backward

    model = _tiny_lora_model(tie)
    if head_trained:
        model.get_base_model().lm_head.weight.requires_grad_(True)
    ids = torch.randint(0, 301, (2, 23))
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}

    model.zero_grad(set_to_none=True)
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    want = {n: p.grad.clone() for n, p in params.items()}

    model.zero_grad(set_to_none=True)
    total, n = chunked_lm_loss_backward(model, ids, chunk)
    assert n == 2 * 22
    assert total / n == pytest.approx(loss.item(), rel=1e-5)
    for name, p in params.items():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, want[name], rtol=1e-4, atol=1e-6, msg=name)


def test_chunk_rows_follow_the_vocabulary() -> None:
    from desktop.core.personalize.trainer import loss_chunk_rows

    assert loss_chunk_rows(49_152) == 160
    assert loss_chunk_rows(262_144) == 64
    assert loss_chunk_rows(1_000) == 1024
