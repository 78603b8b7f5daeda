"""The tagger training loop learns a planted signal, and resumes exactly after an interruption."""

import numpy as np
import pytest
import torch

from genoseq.nn.tagger import BiLSTMTagger, TaggerConfig
from genoseq.nn.train import TrainConfig, evaluate, train_tagger

MOTIF = np.array([2, 0, 3, 3, 0, 1, 0])  # GATTACA


def planted_batch(rng: np.random.Generator, batch: int = 16, length: int = 60):
    """Random DNA; target 1 on every base of a planted GATTACA, else 0."""
    index = rng.integers(0, 4, size=(batch, length))
    targets = np.zeros((batch, length), dtype=np.int64)
    for row in range(batch):
        for start in rng.choice(length - len(MOTIF), size=2, replace=False):
            index[row, start:start + len(MOTIF)] = MOTIF
            targets[row, start:start + len(MOTIF)] = 1
    inputs = torch.nn.functional.one_hot(torch.from_numpy(index), 4).float()
    return inputs, torch.from_numpy(targets)


def tiny_tagger(seed=0):
    torch.manual_seed(seed)
    return BiLSTMTagger(TaggerConfig(input_channels=4, n_classes=2, conv_channels=16,
                                     conv_kernel=7, conv_layers=1, hidden=16, lstm_layers=1,
                                     dropout=0.0))


def test_training_recovers_planted_motif(tmp_path):
    valid = [planted_batch(np.random.default_rng(100 + i)) for i in range(4)]
    model = tiny_tagger()
    before = evaluate(model, valid, torch.device("cpu"))
    config = TrainConfig(steps_per_epoch=60, max_epochs=3, patience=3, learning_rate=1e-2, seed=1)
    result = train_tagger(model, planted_batch, valid, config, tmp_path,
                          device=torch.device("cpu"), progress=False)
    after = evaluate(result.model, valid, torch.device("cpu"))
    assert after["loss"] < 0.5 * before["loss"]
    # Motif bases are ~23% of positions: recall on them shows the motif was learned.
    inputs, targets = valid[0]
    with torch.inference_mode():
        called = result.model(inputs).argmax(-1)
    recall = (called[targets == 1] == 1).float().mean().item()
    assert recall > 0.9
    assert [h["epoch"] for h in result.history] == [1, 2, 3]


def test_interrupted_training_resumes_to_the_same_model(tmp_path):
    valid = [planted_batch(np.random.default_rng(7))]
    config = TrainConfig(steps_per_epoch=10, max_epochs=3, patience=5, learning_rate=5e-3, seed=3)
    cpu = torch.device("cpu")

    straight = train_tagger(tiny_tagger(), planted_batch, valid, config, tmp_path / "a",
                            device=cpu, progress=False)

    calls = {"n": 0}

    def flaky_batch(rng):
        calls["n"] += 1
        if calls["n"] == 15:  # in the middle of epoch 2
            raise KeyboardInterrupt
        return planted_batch(rng)

    with pytest.raises(KeyboardInterrupt):
        train_tagger(tiny_tagger(), flaky_batch, valid, config, tmp_path / "b", device=cpu,
                     progress=False)
    resumed = train_tagger(tiny_tagger(seed=99), planted_batch, valid, config, tmp_path / "b",
                           device=cpu, progress=False)
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)
    assert [h["loss"] for h in resumed.history] == pytest.approx(
        [h["loss"] for h in straight.history])


def test_resume_with_other_settings_is_refused(tmp_path):
    valid = [planted_batch(np.random.default_rng(7))]
    cpu = torch.device("cpu")
    train_tagger(tiny_tagger(), planted_batch, valid, TrainConfig(steps_per_epoch=2, max_epochs=1),
                 tmp_path, device=cpu, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        train_tagger(tiny_tagger(), planted_batch, valid,
                     TrainConfig(steps_per_epoch=2, max_epochs=1, learning_rate=1.0),
                     tmp_path, device=cpu, progress=False)


def test_stride_keeps_one_output_per_position():
    model = BiLSTMTagger(TaggerConfig(input_channels=7, n_classes=7, stride=3, conv_kernel=9))
    for length in (3, 100, 301):
        assert model(torch.zeros(2, length, 7)).shape == (2, length, 7)
