"""MotifCNN: shapes, PWM loading, strand symmetry, and a planted motif learned."""

import numpy as np
import torch

from genoseq.nn.motif_cnn import MotifCNN, MotifCNNConfig


def one_hot(index):
    return torch.nn.functional.one_hot(torch.as_tensor(index), 4).float()


def test_pwm_filter_scores_equal_pwm_sums():
    model = MotifCNN(MotifCNNConfig(n_filters=2, filter_width=5))
    pwm = torch.randn(1, 4, 3)
    model.set_filters(pwm, torch.zeros(1))
    seq = torch.randint(0, 4, (1, 20))
    scores = model.filter_scores(one_hot(seq))[0, 0]
    # The 3-wide PWM sits in the middle of the 5-wide filter (offset 1).
    for pos in range(len(scores)):
        expected = sum(pwm[0, seq[0, pos + 1 + j], j] for j in range(3))
        assert torch.isclose(scores[pos], expected, atol=1e-5)


def test_both_strands_scores_do_not_depend_on_orientation():
    model = MotifCNN(MotifCNNConfig(n_filters=4, filter_width=6, both_strands=True)).eval()
    seq = torch.randint(0, 4, (3, 40))
    forward = model(one_hot(seq))
    reverse_complement = model(one_hot((3 - seq).flip(1)))
    torch.testing.assert_close(forward, reverse_complement)


def test_positional_pooling_shapes():
    model = MotifCNN(MotifCNNConfig(window=60, n_filters=8, filter_width=8, pool=4))
    assert model(one_hot(torch.randint(0, 4, (5, 60)))).shape == (5, 1)


def test_learns_a_planted_motif():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    motif = np.array([0, 2, 2, 0, 2, 2])  # AGGAGG

    def batch(n=64):
        seq = rng.integers(0, 4, size=(n, 50))
        label = rng.integers(0, 2, size=n)
        for row in np.flatnonzero(label):
            at = rng.integers(0, 44)
            seq[row, at:at + 6] = motif
        return one_hot(seq), torch.as_tensor(label, dtype=torch.float32)

    model = MotifCNN(MotifCNNConfig(n_filters=4, filter_width=8, hidden=0, dropout=0.0))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        x, y = batch()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x)[:, 0], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x, y = batch(500)
    with torch.no_grad():
        accuracy = ((model(x)[:, 0] > 0).float() == y).float().mean().item()
    assert accuracy > 0.95


def test_forward_is_the_readout_of_the_pooled_features():
    for config in (MotifCNNConfig(n_filters=4, filter_width=6, both_strands=True),
                   MotifCNNConfig(window=40, n_filters=4, filter_width=6, pool=5)):
        model = MotifCNN(config).eval()
        x = one_hot(torch.randint(0, 4, (3, 40)))
        torch.testing.assert_close(model(x), model.readout(model.pooled_features(x)))
