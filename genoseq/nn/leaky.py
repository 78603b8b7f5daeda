"""LeakyIntegrator: a distance-aware linear recurrence along a locus, and its readouts.

A hidden state walks along the DNA. At each position ``t`` it decays by the
leak over the genomic gap to the previous position and takes that position's
kick::

    h[t] = a ** Δ[t] · h[t-1] + kick[t],   a = exp(-leak) per kb,  Δ[t] = pos[t] - pos[t-1] (kb)

It runs in both directions, so the state at a promoter remembers every
element on either side, each weighted by how far away it is. The recurrence
is linear, so it is computed with a parallel prefix scan (Hillis & Steele
1986; for linear recurrences in neural networks see Martin & Cundy 2018,
"Parallelizing linear recurrent neural nets over sequence length"): log2(T)
vectorised steps instead of a Python loop over T positions, the same on CPU
and GPU. Decays are products of numbers ≤ 1, so the scan cannot overflow.

The state may have several channels, each with its own leak; their weighted
sum (weights on the simplex) is what a promoter reads. One channel is one
exponential decay; a few channels with spread-out leaks approximate the
heavy-tailed, power-law-like fall of enhancer–promoter contact with distance.

:class:`SweetSpotReadout` turns the log of the integrated state into a
response in (0, 1): ``σ(k·(u − lo)) · σ(k·(hi − u))`` — on only inside a
window, off when the input is too weak or too strong — or, as an ablation,
the monotone ``σ(k·(u − lo))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genoseq.config import DictConfig


def linear_scan(decay: torch.Tensor, kick: torch.Tensor) -> torch.Tensor:
    """Solve ``h[t] = decay[t] · h[t-1] + kick[t]`` (``h[-1] = 0``) along dimension 1.

    Hillis–Steele scan over the maps ``h ↦ A·h + B``: after the step with
    offset ``o`` each position holds the composition of the last ``2o`` maps.

    Parameters
    ----------
    decay : torch.Tensor, shape (batch, length, channels)
        Factor applied to the previous state; ``decay[:, 0]`` is not used.
    kick : torch.Tensor, shape (batch, length, channels)

    Returns
    -------
    torch.Tensor, shape (batch, length, channels)
        The state after each position's kick.
    """
    factor, state = decay, kick
    length = kick.shape[1]
    offset = 1
    while offset < length:
        state = torch.cat([state[:, :offset],
                           state[:, offset:] + factor[:, offset:] * state[:, :-offset]], dim=1)
        factor = torch.cat([factor[:, :offset], factor[:, offset:] * factor[:, :-offset]], dim=1)
        offset *= 2
    return state


@dataclass(frozen=True)
class LeakyIntegratorConfig(DictConfig):
    """Everything needed to rebuild a :class:`LeakyIntegrator` exactly.

    Attributes
    ----------
    initial_leaks_per_kb : tuple of float
        One starting leak per channel (decay ``exp(-leak)`` per kb); the
        number of entries is the number of channels.
    shared_leak : bool
        One set of leaks for both directions; otherwise the state travelling
        towards higher coordinates and the one travelling towards lower
        coordinates leak at their own, separately learnt rates.
    """

    initial_leaks_per_kb: tuple[float, ...] = (1.0,)
    shared_leak: bool = False

    def __post_init__(self):
        object.__setattr__(self, "initial_leaks_per_kb",
                           tuple(float(v) for v in self.initial_leaks_per_kb))
        if not self.initial_leaks_per_kb or min(self.initial_leaks_per_kb) <= 0:
            raise ValueError("initial_leaks_per_kb needs at least one positive leak")

    @property
    def n_channels(self) -> int:
        return len(self.initial_leaks_per_kb)


class LeakyIntegrator(nn.Module):
    """Leaky integration of kicks along sorted genomic positions, in both directions.

    ``forward(kicks, positions)`` takes kicks ``(batch, length)`` at positions
    ``(batch, length)`` in kb, sorted ascending in each row, and returns the
    input a promoter at each position receives, ``(batch, length)``: the
    channel-weighted sum of the state arriving from lower coordinates and
    the state arriving from higher coordinates, with the position's own kick
    counted once. Padding at the end of a row (kick 0, position equal to the
    row's last real position) changes nothing.
    """

    FORWARD, BACKWARD = 0, 1

    def __init__(self, config: LeakyIntegratorConfig):
        super().__init__()
        self.config = config
        n_directions = 1 if config.shared_leak else 2
        log_leaks = torch.tensor([math.log(v) for v in config.initial_leaks_per_kb])
        self.log_leak = nn.Parameter(log_leaks.repeat(n_directions, 1))
        # Weights start proportional to the leaks: Σ_c λ_c·exp(−λ_c·d) over log-spaced
        # leaks falls like 1/d between 1/λ_max and 1/λ_min, as contact frequency does.
        self.channel_logits = nn.Parameter(log_leaks.clone())

    def leaks_per_kb(self) -> torch.Tensor:
        """Leak rates per kb, shape ``(2, channels)``: row 0 forward, row 1 backward."""
        return self.log_leak.exp().expand(2, -1)

    def channel_weights(self) -> torch.Tensor:
        """Weights of the channels in the promoter's input, shape ``(channels,)``, sum 1."""
        return torch.softmax(self.channel_logits, dim=0)

    def directional_states(self, kicks: torch.Tensor, positions: torch.Tensor,
                           log_pass: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """States travelling towards higher and towards lower coordinates.

        Parameters
        ----------
        kicks : torch.Tensor, shape (batch, length)
        positions : torch.Tensor, shape (batch, length)
            kb, ascending in each row.
        log_pass : torch.Tensor, shape (batch, length), optional
            Log of the factor (≤ 0) by which a state arriving at each
            position is multiplied before that position's kick is added: a
            site-specific leak on top of the distance leak (a boundary such
            as a CTCF site). None: every position lets the state pass whole.

        Returns
        -------
        forward, backward : torch.Tensor, shape (batch, length, channels)
            ``forward[:, t]`` integrates kicks at positions ≤ t,
            ``backward[:, t]`` those at positions ≥ t; both include ``kick[t]``.
        """
        gaps = positions.diff(dim=1)
        if bool((gaps < 0).any()):
            raise ValueError("positions must be sorted ascending in each row")
        leaks = self.leaks_per_kb()
        zero = gaps.new_zeros(gaps.shape[0], 1)
        # decay[t] multiplies the state arriving from the neighbour at t-1 (forward)
        # or t+1 (backward): both use the gap between the two.
        forward_gaps = torch.cat([zero, gaps], dim=1).unsqueeze(-1)
        backward_gaps = torch.cat([gaps, zero], dim=1).unsqueeze(-1)
        passing = 0.0 if log_pass is None else log_pass.unsqueeze(-1)
        channel_kicks = kicks.unsqueeze(-1).expand(-1, -1, self.config.n_channels)
        forward = linear_scan(torch.exp(-leaks[self.FORWARD] * forward_gaps + passing),
                              channel_kicks)
        backward = linear_scan(torch.exp(-leaks[self.BACKWARD] * backward_gaps + passing).flip(1),
                               channel_kicks.flip(1)).flip(1)
        return forward, backward

    def forward(self, kicks: torch.Tensor, positions: torch.Tensor,
                log_pass: torch.Tensor | None = None) -> torch.Tensor:
        forward, backward = self.directional_states(kicks, positions, log_pass)
        both = forward + backward - kicks.unsqueeze(-1)
        return both @ self.channel_weights()

    def transfer_to(self, positions: torch.Tensor, target: torch.Tensor,
                    log_pass: torch.Tensor | None = None) -> torch.Tensor:
        """What a unit kick at each position adds to the input of the target position.

        The closed form of :meth:`forward` for one target per row: a kick
        at ``s`` reaches target ``t`` decayed by the distance leak of its
        direction of travel and by the pass factors of every position it
        enters on the way (``s+1 … t`` going forward, ``t … s−1`` going
        backward; the target's own factor included, the source's not).

        Parameters
        ----------
        positions : torch.Tensor, shape (batch, length)
            kb, ascending in each row.
        target : torch.Tensor, shape (batch,), int64
            Index of the target position in each row.
        log_pass : torch.Tensor, shape (batch, length), optional
            As in :meth:`directional_states`.

        Returns
        -------
        torch.Tensor, shape (batch, length)
            1 at the target itself.
        """
        at = target.unsqueeze(1)
        weights = self.impulse_response(positions - positions.gather(1, at))
        if log_pass is None:
            return weights
        index = torch.arange(positions.shape[1], device=positions.device).unsqueeze(0)
        total = log_pass.cumsum(1)
        total_at, own_at = total.gather(1, at), log_pass.gather(1, at)
        from_left = total_at - total
        from_right = (total - log_pass) - (total_at - own_at)
        crossed = torch.where(index < at, from_left,
                              torch.where(index > at, from_right, torch.zeros_like(total)))
        return weights * torch.exp(crossed)

    def impulse_response(self, offsets: torch.Tensor) -> torch.Tensor:
        """What a unit kick at ``offset`` kb from a target adds to the target's input.

        Parameters
        ----------
        offsets : torch.Tensor, any shape
            Kick position minus target position, kb; negative offsets lie
            at lower coordinates, so their signal travels forward.

        Returns
        -------
        torch.Tensor, same shape as ``offsets``
            ``Σ_c w_c · exp(-leak_c · |offset|)`` with the leaks of the
            direction of travel.
        """
        leaks = self.leaks_per_kb()
        leak = torch.where(offsets.unsqueeze(-1) < 0, leaks[self.FORWARD], leaks[self.BACKWARD])
        return torch.exp(-leak * offsets.abs().unsqueeze(-1)) @ self.channel_weights()


@dataclass(frozen=True)
class SweetSpotConfig(DictConfig):
    """Everything needed to rebuild a :class:`SweetSpotReadout` exactly.

    Attributes
    ----------
    low, high : float
        Starting window edges on the log state.
    slope : float
        Starting steepness ``k`` of both edges.
    monotone : bool
        Ablation: only the rising edge, ``σ(k·(u − low))`` (more input is never worse).
    """

    low: float = 0.0
    high: float = 2.0
    slope: float = 4.0
    monotone: bool = False

    def __post_init__(self):
        if self.high <= self.low or self.slope <= 0:
            raise ValueError("the window needs high > low and a positive slope")


def _sigmoid_step(x: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """``σ(x) − σ(x − step)`` without cancellation, however small ``step``.

    For ``a ≥ b``: ``σ(a) − σ(b) = σ(a)·σ(−b)·(1 − e^(b − a))``, whose factors
    are all accurate (and finite: ``b − a ≤ 0``).
    """
    other = x - step
    rising = step >= 0
    upper, lower = torch.where(rising, x, other), torch.where(rising, other, x)
    gap = torch.sigmoid(upper) * torch.sigmoid(-lower) * -torch.expm1(-step.abs())
    return torch.where(rising, gap, -gap)


class SweetSpotReadout(nn.Module):
    """Response in (0, 1) of a promoter to the log ``u`` of its integrated input.

    ``forward(u)`` gives ``σ(k·(u − low)) · σ(k·(high − u))`` (or only the
    first factor when ``monotone``), elementwise, for ``u`` of any shape.
    """

    def __init__(self, config: SweetSpotConfig):
        super().__init__()
        self.config = config
        self.low = nn.Parameter(torch.tensor(float(config.low)))
        self.log_width = nn.Parameter(torch.tensor(math.log(config.high - config.low)))
        self.log_slope = nn.Parameter(torch.tensor(math.log(config.slope)))

    def window(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(low, high, slope) as they are now; high is meaningless when ``monotone``."""
        return self.low, self.low + self.log_width.exp(), self.log_slope.exp()

    def _edges(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low, high, slope = self.window()
        return slope * (u - low), slope * (high - u)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        rising, falling = self._edges(u)
        if self.config.monotone:
            return torch.sigmoid(rising)
        return torch.sigmoid(rising) * torch.sigmoid(falling)

    def logit(self, u: torch.Tensor) -> torch.Tensor:
        """``log(R / (1 − R))`` of the response, computed from log-sigmoids."""
        rising, falling = self._edges(u)
        if self.config.monotone:
            return rising
        log_response = nn.functional.logsigmoid(rising) + nn.functional.logsigmoid(falling)
        return log_response - torch.log(-torch.expm1(log_response.clamp(max=-1e-7)))

    def difference(self, u: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        """``R(u) − R(u − drop)``, accurate even when ``drop`` is far below ``u``'s precision.

        Parameters
        ----------
        u, drop : torch.Tensor, broadcastable shapes
            Log input with all kicks, and how much lower it is without one
            of them (``log H − log(H − contribution)``).
        """
        rising, falling = self._edges(u)
        slope = self.log_slope.exp()
        rise = _sigmoid_step(rising, slope * drop)
        if self.config.monotone:
            return rise
        fall = _sigmoid_step(falling, -slope * drop)
        return torch.sigmoid(falling) * rise + torch.sigmoid(rising - slope * drop) * fall
