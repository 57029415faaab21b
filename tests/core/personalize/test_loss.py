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


@pytest.mark.parametrize("head_trained", [False, True])
def test_only_the_replies_are_learned_and_padding_never(head_trained: bool) -> None:
    """A chat exchange's prompt is context: with targets from ``lm_targets`` the loss and
    gradients are those of the model's own loss with the prompt and padding labelled -100."""
    from desktop.core.personalize.trainer import (
        chunked_lm_loss,
        chunked_lm_loss_backward,
        lm_targets,
    )

    model = _tiny_lora_model(False)
    if head_trained:
        model.get_base_model().lm_head.weight.requires_grad_(True)
    ids = torch.randint(0, 301, (2, 23))
    targets = lm_targets(ids, loss_from=[15, 9], lengths=[23, 19])  # row 2: 4 tokens of padding
    assert int((targets != -100).sum()) == (23 - 15) + (19 - 9)
    labels = ids.clone()
    labels[0, :15] = -100
    labels[1, :9] = -100
    labels[1, 19:] = -100
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}

    model.zero_grad(set_to_none=True)
    loss = model(input_ids=ids, labels=labels).loss
    loss.backward()
    want = {n: p.grad.clone() for n, p in params.items()}

    model.zero_grad(set_to_none=True)
    total, n = chunked_lm_loss_backward(model, ids, 5, targets)
    assert n == 18 and total / n == pytest.approx(loss.item(), rel=1e-5)
    for name, p in params.items():
        torch.testing.assert_close(p.grad, want[name], rtol=1e-4, atol=1e-6, msg=name)
    with torch.no_grad():
        summed, counted = chunked_lm_loss(model, ids, 5, checkpoint=False, targets=targets)
    assert counted == 18 and float(summed) / 18 == pytest.approx(loss.item(), rel=1e-5)


def test_chunk_rows_follow_the_vocabulary() -> None:
    from desktop.core.personalize.trainer import loss_chunk_rows

    assert loss_chunk_rows(49_152) == 160
    assert loss_chunk_rows(262_144) == 64
    assert loss_chunk_rows(1_000) == 1024
