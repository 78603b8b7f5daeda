"""The secondary-structure model: padding never matters, and the objective's two heads."""

import numpy as np
import pytest
import torch

from genoseq.nn.tagger import TaggerConfig
from genoseq.nn.train import IGNORE
from genoseq.structure.data import pad_residues
from genoseq.structure.model import (
    SecondaryStructureModel,
    SecondaryStructureObjective,
    head_probabilities,
    q3_probabilities,
)


def small_model():
    torch.manual_seed(0)
    return SecondaryStructureModel(TaggerConfig(21, 11, conv_channels=8, conv_kernel=5,
                                                conv_layers=2, hidden=8, lstm_layers=2,
                                                dropout=0.0)).eval()


def test_chain_logits_do_not_depend_on_batch_partners():
    model = small_model()
    rng = np.random.default_rng(0)
    long, short = rng.integers(0, 22, 80).astype(np.uint8), rng.integers(0, 22, 13).astype(np.uint8)
    with torch.inference_mode():
        together = model(pad_residues([long, short]))
        alone = model(pad_residues([short]))
    assert together.shape == (2, 80, 11)
    torch.testing.assert_close(together[1, :13], alone[0], atol=1e-5, rtol=1e-5)


def test_wrong_config_is_refused():
    with pytest.raises(ValueError, match="input_channels=21 and n_classes=11"):
        SecondaryStructureModel(TaggerConfig(20, 8))


def test_probabilities_are_distributions():
    logits = torch.randn(2, 5, 11)
    probs = head_probabilities(logits)
    torch.testing.assert_close(probs[..., :8].sum(-1), torch.ones(2, 5))
    torch.testing.assert_close(probs[..., 8:].sum(-1), torch.ones(2, 5))
    q3 = q3_probabilities(probs)
    torch.testing.assert_close(q3.sum(-1), torch.ones(2, 5))
    np.testing.assert_allclose(q3_probabilities(probs.numpy()), q3.numpy(), rtol=1e-6)


def test_objective_skips_a_head_without_labels():
    objective = SecondaryStructureObjective(label_smoothing=0.1)
    logits = torch.randn(1, 4, 11, requires_grad=True)
    targets = torch.tensor([[[IGNORE, 0], [IGNORE, 1], [IGNORE, 2], [IGNORE, IGNORE]]])
    loss = objective.loss(logits, targets)
    assert torch.isfinite(loss)
    loss.backward()
    assert logits.grad[..., :8].abs().sum() == 0 and logits.grad[..., 8:].abs().sum() > 0
    nothing = torch.full((1, 4, 2), IGNORE)
    assert objective.loss(logits, nothing).item() == 0.0
    total, correct, counted = objective.summary(logits.detach(), targets)
    assert counted == 3 and 0 <= correct <= 3 and total > 0
