"""LeakyIntegrator and SweetSpotReadout: the parallel scan equals the plain loop, readouts."""

import pytest
import torch

from genoseq.nn.leaky import (
    LeakyIntegrator,
    LeakyIntegratorConfig,
    SweetSpotConfig,
    SweetSpotReadout,
    linear_scan,
)


def loop_integrator(kicks, positions, leaks, weights):
    """The recurrence as written, one position at a time, each direction and channel."""
    batch, length = kicks.shape
    out = torch.zeros(batch, length, dtype=torch.float64)
    for b in range(batch):
        for c in range(len(weights)):
            forward, backward = [0.0] * length, [0.0] * length
            state = 0.0
            for t in range(length):
                gap = positions[b, t] - positions[b, t - 1] if t else 0.0
                state = torch.exp(-leaks[0, c] * gap) * state + kicks[b, t]
                forward[t] = state
            state = 0.0
            for t in reversed(range(length)):
                gap = positions[b, t + 1] - positions[b, t] if t < length - 1 else 0.0
                state = torch.exp(-leaks[1, c] * gap) * state + kicks[b, t]
                backward[t] = state
            for t in range(length):
                out[b, t] += weights[c] * (forward[t] + backward[t] - kicks[b, t])
    return out


def random_locus(batch, length, generator, dtype=torch.float64):
    gaps = torch.rand(batch, length, generator=generator, dtype=dtype) * 20
    gaps[:, 3] = 0.0  # two kicks at one position
    positions = gaps.cumsum(1) - 100
    kicks = torch.rand(batch, length, generator=generator, dtype=dtype) * 5
    return kicks, positions


@pytest.mark.parametrize("shared", [False, True])
def test_parallel_scan_equals_loop(shared):
    generator = torch.Generator().manual_seed(0)
    integrator = LeakyIntegrator(LeakyIntegratorConfig((0.02, 0.3, 1.5), shared_leak=shared))
    integrator = integrator.double()
    with torch.no_grad():
        integrator.log_leak.add_(torch.randn(integrator.log_leak.shape, generator=generator,
                                             dtype=torch.float64) * 0.3)
        integrator.channel_logits.add_(torch.randn(3, generator=generator, dtype=torch.float64))
    kicks, positions = random_locus(3, 45, generator)
    expected = loop_integrator(kicks, positions, integrator.leaks_per_kb().detach(),
                               integrator.channel_weights().detach())
    torch.testing.assert_close(integrator(kicks, positions).detach(), expected,
                               atol=1e-5, rtol=1e-5)


def test_float32_scan_matches_float64_loop():
    generator = torch.Generator().manual_seed(1)
    integrator = LeakyIntegrator(LeakyIntegratorConfig((0.5,)))
    kicks, positions = (t.float() for t in random_locus(2, 300, generator))
    expected = loop_integrator(kicks.double(), positions.double(),
                               integrator.leaks_per_kb().detach().double(),
                               integrator.channel_weights().detach().double())
    got = integrator(kicks, positions).detach().double()
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_linear_scan_is_the_recurrence():
    generator = torch.Generator().manual_seed(2)
    decay = torch.rand(2, 17, 3, generator=generator, dtype=torch.float64)
    kick = torch.randn(2, 17, 3, generator=generator, dtype=torch.float64)
    state = torch.zeros(2, 3, dtype=torch.float64)
    for t in range(17):
        state = decay[:, t] * state + kick[:, t]
        torch.testing.assert_close(linear_scan(decay, kick)[:, t], state)


def test_impulse_response_sums_to_the_state_and_padding_is_neutral():
    generator = torch.Generator().manual_seed(3)
    integrator = LeakyIntegrator(LeakyIntegratorConfig((0.05, 0.8))).double()
    with torch.no_grad():
        integrator.log_leak[1] += 0.7  # the two directions differ
    kicks, positions = random_locus(2, 30, generator)
    state = integrator(kicks, positions)
    for target in (0, 11, 29):
        response = integrator.impulse_response(positions - positions[:, target:target + 1])
        torch.testing.assert_close(state[:, target], (kicks * response).sum(1))
    padded_kicks = torch.cat([kicks, torch.zeros(2, 5, dtype=torch.float64)], dim=1)
    padded_positions = torch.cat([positions, positions[:, -1:].expand(2, 5)], dim=1)
    torch.testing.assert_close(integrator(padded_kicks, padded_positions)[:, :30], state)


def test_gradients_reach_the_leaks_and_unsorted_positions_are_refused():
    integrator = LeakyIntegrator(LeakyIntegratorConfig((0.3,)))
    kicks, positions = random_locus(2, 10, torch.Generator().manual_seed(4), torch.float32)
    integrator(kicks, positions).sum().backward()
    assert integrator.log_leak.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="sorted"):
        integrator(kicks, positions.flip(1))


def test_sweet_spot_readout():
    readout = SweetSpotReadout(SweetSpotConfig(low=-1.0, high=2.0, slope=3.0)).double()
    u = torch.linspace(-8, 8, 401, dtype=torch.float64)
    response = readout(u).detach()
    assert response[u.abs().argmin()] > 0.9 and response[0] < 1e-6 and response[-1] < 1e-6
    torch.testing.assert_close(torch.sigmoid(readout.logit(u)).detach(), response)
    drop = torch.linspace(-3, 5, 401, dtype=torch.float64)
    torch.testing.assert_close(readout.difference(u, drop), readout(u) - readout(u - drop),
                               atol=1e-12, rtol=1e-9)
    # Tiny drops are resolved in float32 too, where R(u) - R(u - drop) would round to 0.
    readout = readout.float()
    tiny = readout.difference(torch.tensor([-1.0, 0.5, 2.0]), torch.tensor(1e-12))
    slope = torch.func.grad(lambda v: readout(v).sum())(torch.tensor([-1.0, 0.5, 2.0]))
    torch.testing.assert_close(tiny, slope * 1e-12, rtol=1e-4, atol=0)


def test_monotone_readout_never_decreases():
    readout = SweetSpotReadout(SweetSpotConfig(low=0.0, high=1.0, slope=2.0, monotone=True))
    response = readout(torch.linspace(-10, 30, 200)).detach()
    assert (response.diff() >= 0).all() and response[-1] > 0.999


@pytest.mark.cuda
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    integrator = LeakyIntegrator(LeakyIntegratorConfig((0.05, 0.8)))
    kicks, positions = random_locus(4, 500, torch.Generator().manual_seed(5), torch.float32)
    on_cpu = integrator(kicks, positions).detach()
    on_gpu = integrator.cuda()(kicks.cuda(), positions.cuda()).detach().cpu()
    torch.testing.assert_close(on_gpu, on_cpu, atol=1e-5, rtol=1e-5)


def test_transfer_with_site_leaks_equals_the_scan_of_a_unit_kick():
    torch.manual_seed(3)
    integrator = LeakyIntegrator(LeakyIntegratorConfig(initial_leaks_per_kb=(0.01, 0.3, 2.0)))
    with torch.no_grad():
        integrator.log_leak[1] += 0.7  # the two directions differ
    positions = torch.sort(torch.rand(3, 11) * 80, dim=1).values
    log_pass = -torch.rand(3, 11)
    target = torch.tensor([0, 5, 10])
    transfer = integrator.transfer_to(positions, target, log_pass)
    for row in range(3):
        for slot in range(11):
            kick = torch.zeros(1, 11)
            kick[0, slot] = 1.0
            state = integrator(kick, positions[row:row + 1], log_pass[row:row + 1])
            assert state[0, target[row]].item() == pytest.approx(
                transfer[row, slot].item(), rel=1e-5, abs=1e-8)
    # A leaky site between a kick and the target lowers what arrives; without site
    # leaks the transfer is the distance impulse response.
    plain = integrator.transfer_to(positions, target)
    assert (transfer[1, :4] < plain[1, :4]).all() and (transfer[1, 7:] < plain[1, 7:]).all()
    offsets = positions - positions.gather(1, target.unsqueeze(1))
    torch.testing.assert_close(plain, integrator.impulse_response(offsets))
