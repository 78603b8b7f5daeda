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


class ScriptedObjective:
    """Trains with cross-entropy; reports scripted validation (loss, accuracy) per epoch."""

    def __init__(self, script):
        self.script = list(script)
        self.epoch = -1

    def loss(self, logits, targets):
        return torch.nn.functional.cross_entropy(logits.reshape(-1, 2), targets.reshape(-1))

    def summary(self, logits, targets):
        self.epoch += 1
        loss, accuracy = self.script[self.epoch]
        return loss * 100, int(accuracy * 100), 100


@pytest.mark.parametrize(("monitor", "kept"), [("loss", 1), ("accuracy", 2)])
def test_kept_epoch_follows_the_monitored_figure(tmp_path, monitor, kept):
    # Validation loss is best after epoch 1 while accuracy peaks after epoch 2,
    # as in secondary-structure runs whose loss rises while accuracy still climbs.
    script = [(1.0, 0.50), (2.0, 0.90), (3.0, 0.60)]
    config = TrainConfig(steps_per_epoch=2, max_epochs=3, patience=5, monitor=monitor)
    improved = []
    result = train_tagger(tiny_tagger(), planted_batch, [planted_batch(np.random.default_rng(7))],
                          config, tmp_path, device=torch.device("cpu"), progress=False,
                          objective=ScriptedObjective(script),
                          on_best=lambda model, metrics: improved.append(metrics["epoch"]))
    assert result.best_epoch == kept
    assert improved == ([1] if monitor == "loss" else [1, 2])
    assert [h["accuracy"] for h in result.history] == [0.5, 0.9, 0.6]


def test_patience_counts_epochs_without_accuracy_gain(tmp_path):
    script = [(1.0, 0.5), (0.9, 0.5), (0.8, 0.4), (0.7, 0.9)]
    config = TrainConfig(steps_per_epoch=1, max_epochs=4, patience=2, monitor="accuracy")
    result = train_tagger(tiny_tagger(), planted_batch, [planted_batch(np.random.default_rng(7))],
                          config, tmp_path, device=torch.device("cpu"), progress=False,
                          objective=ScriptedObjective(script))
    # Loss fell every epoch, but accuracy did not rise for two: stop after epoch 3.
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.best_epoch == 1


def test_unknown_monitor_is_refused():
    with pytest.raises(ValueError, match="monitor"):
        TrainConfig(monitor="f1")


def test_checkpoint_from_before_monitor_resumes(tmp_path):
    valid = [planted_batch(np.random.default_rng(7))]
    cpu = torch.device("cpu")
    config = TrainConfig(steps_per_epoch=2, max_epochs=2, patience=5)
    train_tagger(tiny_tagger(), planted_batch, valid, TrainConfig(steps_per_epoch=2, max_epochs=1,
                                                                  patience=5),
                 tmp_path, device=cpu, progress=False)
    # Rewrite the checkpoint as the loop wrote it before ``monitor`` existed.
    path = tmp_path / "checkpoint.pt"
    saved = torch.load(path, weights_only=False)
    del saved["train_config"]["monitor"]
    saved["train_config"]["max_epochs"] = 2
    saved["state"]["best_loss"] = -saved["state"].pop("best_score")
    torch.save(saved, path)
    result = train_tagger(tiny_tagger(), planted_batch, valid, config, tmp_path, device=cpu,
                          progress=False)
    assert [h["epoch"] for h in result.history] == [1, 2]
