"""Training stops when the pipeline's check of general text fails, and keeps the weights
of the last check that passed (early stopping on a validation set)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


def tiny_lora_model():  # type: ignore[no-untyped-def]
    """A two-layer Llama of 101 tokens with rank-4 LoRA: seconds to train a few steps."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from desktop.core.personalize.trainer import add_lora

    config = LlamaConfig(vocab_size=101, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2)
    return add_lora(LlamaForCausalLM(config), 4, 8)


def test_a_failed_check_stops_training_with_the_last_weights_that_passed(tmp_path: Path) -> None:
    from peft import get_peft_model_state_dict

    from desktop.core.personalize.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    model = tiny_lora_model()
    sequences = [[(7 * i + j) % 101 for j in range(16)] for i in range(8)]
    trainer = Trainer(model, sequences, TrainConfig(seq_len=16, max_steps=20, guard_every_s=0.0,
                                                    learning_rate=1e-2, threads=1), tmp_path)
    seen: list[dict[str, torch.Tensor]] = []

    def guard() -> bool:  # passes three times, then the model has "drifted"
        seen.append({k: v.clone() for k, v in get_peft_model_state_dict(model).items()})
        return len(seen) <= 3

    events = list(trainer.run(guard=guard))
    assert trainer.result.status == "guarded" and trainer.step == 4 and trainer.guarded_step == 3
    assert "the adapter of step 3 is kept" in trainer.result.message
    assert any(e.data.get("kept_step") == 3 for e in events)
    now = get_peft_model_state_dict(model)
    assert all(torch.equal(now[k], seen[2][k]) for k in now)  # step 3's weights, not step 4's
    assert not all(torch.equal(seen[2][k], seen[3][k]) for k in now)  # (which differ)


def test_without_a_guard_training_runs_its_steps(tmp_path: Path) -> None:
    from desktop.core.personalize.trainer import TrainConfig, Trainer

    model = tiny_lora_model()
    trainer = Trainer(model, [[i % 101 for i in range(16)]] * 4, TrainConfig(seq_len=16, max_steps=5, threads=1),
                      tmp_path)
    list(trainer.run(guard=lambda: True))
    assert trainer.result.status == "finished" and trainer.step == 5


def test_steps_after_the_last_check_that_went_too_far_are_undone(tmp_path: Path) -> None:
    from peft import get_peft_model_state_dict

    from desktop.core.personalize.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    model = tiny_lora_model()
    trainer = Trainer(model, [[(3 * i + j) % 101 for j in range(16)] for i in range(6)],
                      TrainConfig(seq_len=16, max_steps=6, guard_every_s=0.0, learning_rate=1e-2, threads=1), tmp_path)
    seen: list[dict[str, torch.Tensor]] = []

    def guard() -> bool:  # checks at steps 1-3 pass; the one after the last step does not
        seen.append({k: v.clone() for k, v in get_peft_model_state_dict(model).items()})
        if trainer.step == 3:
            trainer.config.guard_every_s = 1e9  # no check at steps 4-6
        return trainer.step < 6

    list(trainer.run(guard=guard))
    assert len(seen) == 4 and trainer.step == 6
    assert trainer.result.status == "guarded" and trainer.guarded_step == 3
    assert "adapter of step 3 is kept" in trainer.result.message
    now = get_peft_model_state_dict(model)
    assert all(torch.equal(now[k], seen[2][k]) for k in now)


def test_training_keeps_the_check_where_held_out_documents_read_best(tmp_path: Path) -> None:
    """After its last step, the weights of the check with the lowest held-out perplexity
    come back when the last step's is higher (the model began to learn the training
    documents by rote), and the report says so."""
    from peft import get_peft_model_state_dict

    from desktop.core.personalize.summary import plain_summary
    from desktop.core.personalize.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    model = tiny_lora_model()
    trainer = Trainer(model, [[(5 * i + j) % 101 for j in range(16)] for i in range(6)],
                      TrainConfig(seq_len=16, max_steps=6, guard_every_s=0.0, learning_rate=1e-2, threads=1), tmp_path)
    seen: dict[int, dict[str, torch.Tensor]] = {}
    heldout = {1: 20.0, 2: 18.0, 3: 19.0, 4: 21.0, 5: 22.0, 6: 23.0}  # best at step 2

    def validate() -> float:
        seen[trainer.step] = {k: v.clone() for k, v in get_peft_model_state_dict(model).items()}
        return heldout[trainer.step]

    list(trainer.run(guard=lambda: True, validate=validate))
    assert trainer.step == 6 and trainer.result.status == "early-stopped"
    assert "did best on documents it had not trained on at step 2" in trainer.result.message
    now = get_peft_model_state_dict(model)
    assert all(torch.equal(now[k], seen[2][k]) for k in now)
    assert not all(torch.equal(seen[2][k], seen[6][k]) for k in now)
    assert "did best on documents it had not trained on" in plain_summary({"status": "early-stopped"}).text()


def test_the_last_weights_stay_when_held_out_documents_read_best_there(tmp_path: Path) -> None:
    from desktop.core.personalize.trainer import TrainConfig, Trainer

    model = tiny_lora_model()
    trainer = Trainer(model, [[(5 * i + j) % 101 for j in range(16)] for i in range(6)],
                      TrainConfig(seq_len=16, max_steps=6, guard_every_s=0.0, threads=1), tmp_path)
    list(trainer.run(guard=lambda: True, validate=lambda: 30.0 - trainer.step))
    assert trainer.result.status == "finished"


def test_the_best_held_out_check_survives_a_resume(tmp_path: Path) -> None:
    """Overnight runs are paused and resumed: the check where held-out documents read best
    is in the checkpoint, so a resumed run still goes back to it."""
    from desktop.core.personalize.trainer import TrainConfig, Trainer

    cfg = TrainConfig(seq_len=16, max_steps=6, guard_every_s=0.0, threads=1)
    data = [[(5 * i + j) % 101 for j in range(16)] for i in range(6)]
    first = Trainer(tiny_lora_model(), data, cfg, tmp_path)
    for event in first.run(validate=lambda: 10.0 + abs(first.step - 2)):  # best at step 2
        if event.done == 3:
            break
    first.save_checkpoint()
    again = Trainer(tiny_lora_model(), data, cfg, tmp_path)
    assert again.load_checkpoint() and again.valid_step == 2 and again.valid_best == 10.0
    list(again.run(validate=lambda: 10.0 + abs(again.step - 2)))
    assert again.result.status == "early-stopped" and "did best on documents it had not trained on at step 2" in again.result.message


def test_an_explosion_is_judged_on_document_text_not_on_learned_replies(tmp_path: Path) -> None:
    """Replies' losses fall near 0 once learned; an ordinary text step beside them is no
    explosion (a 60-minute run had stopped at step 2,029 on a text loss of 3.06), a real
    jump of the text loss still is."""
    from desktop.core.personalize.trainer import TrainConfig, Trainer

    text = [[(3 * i + j) % 101 for j in range(16)] for i in range(2)]
    reply = [[(5 * i + j) % 101 for j in range(16)] for i in range(2)]

    class Scripted(Trainer):
        losses: list[float] = []

        def train_step(self) -> tuple[float, int]:
            self._last_rows = [self.step % 4]  # rows 0, 1: text; 2, 3: replies
            return self.losses[self.step], 16

    def run(losses: list[float]) -> Scripted:
        trainer = Scripted(tiny_lora_model(), text + reply, TrainConfig(seq_len=16, max_steps=len(losses), threads=1),
                           tmp_path / str(len(losses)), loss_from=[0, 0, 8, 8])
        trainer.losses = losses
        list(trainer.run())
        return trainer

    ordinary = [2.2, 2.0, 0.05, 0.04] * 5 + [3.4, 2.0, 0.03, 0.02]
    assert run(ordinary).result.status == "finished"
    exploded = [2.2, 2.0, 0.05, 0.04] * 5 + [9.5, 2.0, 0.03, 0.02, 1.0]
    trainer = run(exploded)
    assert trainer.result.status == "diverged" and "exploded to 9.50" in trainer.result.message
