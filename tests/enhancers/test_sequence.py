"""Sequence mode on synthetic loci: training recovers the planted leak and sweet-spot window."""

import math

import numpy as np
import pytest
import torch

from genoseq.enhancers.sequence import (
    SequenceEnhancerConfig,
    SequenceEnhancerModel,
    SyntheticLocusRule,
    synthetic_loci,
)
from genoseq.nn.train import BinaryObjective, TrainConfig, train_tagger


def motif_pwm(motif):
    pwm = torch.full((1, 4, len(motif)), -1.0)
    pwm[0, ["ACGT".index(b) for b in motif], range(len(motif))] = 1.0
    return pwm


def test_synthetic_loci_follow_the_rule():
    rule = SyntheticLocusRule()
    inputs, response, state = synthetic_loci(50, rule, np.random.default_rng(0))
    assert inputs.shape == (50, rule.length, 5) and (inputs[..., 4].sum(1) == 1).all()
    assert (inputs[..., :4].sum(-1) == 1).all()
    assert state.min() >= rule.basal and 0 < response.min() and response.max() < 1
    np.testing.assert_allclose(response.numpy(), rule.response(state), rtol=1e-6)


@pytest.fixture
def one_thread():
    """Tiny tensors: threads cost more than they give, and much more on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_recovers_leak_and_window(tmp_path, one_thread):
    rule = SyntheticLocusRule()
    torch.manual_seed(0)
    model = SequenceEnhancerModel(SequenceEnhancerConfig())
    # Filters start from the motif's PWM (as from JASPAR) and stay trainable;
    # the leak, kick scale, promoter input and window start far from the truth.
    model.load_motifs(motif_pwm(rule.motif), threshold=6.0)
    valid = [synthetic_loci(256, rule, np.random.default_rng(1))[:2]]
    result = train_tagger(
        model, lambda rng: synthetic_loci(64, rule, rng)[:2], valid,
        TrainConfig(steps_per_epoch=50, max_epochs=3, patience=3, learning_rate=0.05,
                    weight_decay=0.0, seed=0),
        tmp_path, device=torch.device("cpu"), objective=BinaryObjective(), progress=False)
    model = result.model
    leak = model.integrator.leaks_per_kb()[0, 0].item()
    assert abs(leak - rule.leak_per_kb) < 0.1 * rule.leak_per_kb
    # Window edges in units of one motif's kick (the scale shared by kicks and window).
    one_motif = torch.zeros(1, rule.length, 4)
    one_motif[0, :, 0] = 1.0
    one_motif[0, 100:100 + len(rule.motif)] = torch.eye(4)[["ACGT".index(b) for b in rule.motif]]
    with torch.no_grad():
        kick = model.kicks(one_motif).max().item()
        low, high, slope = (v.item() for v in model.readout.window())
    assert abs(math.exp(low) / kick - rule.low) < 0.1 * rule.low
    assert abs(math.exp(high) / kick - rule.high) < 0.1 * rule.high
    assert abs(slope - rule.slope) < 0.2 * rule.slope
