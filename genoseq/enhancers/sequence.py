"""Sequence mode: kicks from a MotifCNN run along raw DNA, the same integrator and readout.

The whole model is differentiable from sequence: motif filters fire along
the locus, a small head turns their activations into a non-negative kick
per base, the leaky integrator carries the kicks to the promoter (a marker
channel in the input says where it is), and the sweet-spot readout gives the
promoter's response. :func:`synthetic_loci` draws loci with enhancer motifs
planted at known distances and a known leak and window, so that training
can be checked to recover them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from genoseq.nn.leaky import (
    LeakyIntegrator,
    LeakyIntegratorConfig,
    SweetSpotConfig,
    SweetSpotReadout,
)
from genoseq.nn.motif_cnn import MotifCNN, MotifCNNConfig

_BASES = "ACGT"


@dataclass(frozen=True)
class SequenceEnhancerConfig:
    """Everything needed to rebuild a :class:`SequenceEnhancerModel` exactly.

    Attributes
    ----------
    motif : MotifCNNConfig
        Its filters are run along the locus (its pooled readout is not used).
    integrator : LeakyIntegratorConfig
        Positions are bases, so one step is 0.001 kb.
    readout : SweetSpotConfig
    basal_input : float
        Starting value of the promoter's own kick.
    """

    motif: MotifCNNConfig = field(default_factory=lambda: MotifCNNConfig(
        n_filters=4, filter_width=8, hidden=0, dropout=0.0))
    integrator: LeakyIntegratorConfig = field(default_factory=lambda: LeakyIntegratorConfig(
        initial_leaks_per_kb=(1.0,), shared_leak=True))
    readout: SweetSpotConfig = field(default_factory=SweetSpotConfig)
    basal_input: float = 0.5


class SequenceEnhancerModel(nn.Module):
    """One-hot DNA + promoter marker → per-base kicks → leaky integration → response logit.

    ``forward(x)`` takes ``x`` of shape ``(batch, length, 5)``: one-hot DNA
    in channels 0-3 and, in channel 4, 1 at the promoter and 0 elsewhere;
    it returns the logit of the promoter's response, ``(batch,)``.
    """

    def __init__(self, config: SequenceEnhancerConfig):
        super().__init__()
        self.config = config
        self.motifs = MotifCNN(config.motif)
        self.kick_head = nn.Linear(config.motif.n_filters, 1)
        self.log_basal = nn.Parameter(torch.tensor(math.log(config.basal_input)))
        self.integrator = LeakyIntegrator(config.integrator)
        self.readout = SweetSpotReadout(config.readout)

    @torch.no_grad()
    def load_motifs(self, pwms: torch.Tensor, threshold: float) -> None:
        """Start the first filters from PWMs, so that each exact match kicks by 1.

        Parameters
        ----------
        pwms : torch.Tensor, shape (n, 4, width)
            Log-odds matrices, ``width`` = the filters' width.
        threshold : float
            Score a window must pass to kick at all (the filter's bias is
            ``-threshold``); the kick grows linearly above it.
        """
        n = pwms.shape[0]
        self.motifs.set_filters(pwms, torch.full((n,), -threshold))
        best = pwms.amax(dim=1).sum(dim=1)
        self.kick_head.weight.zero_()
        self.kick_head.weight[0, :n] = 1.0 / (best - threshold)
        # Just below zero: windows no filter fires on kick exactly 0.
        self.kick_head.bias.fill_(-1e-3)

    def kicks(self, dna: torch.Tensor) -> torch.Tensor:
        """Kick at each base from the motif filters, ``(batch, length)``, ≥ 0.

        Parameters
        ----------
        dna : torch.Tensor, shape (batch, length, 4)
            One-hot DNA. A filter window's kick lands on its centre base
            (``(filter_width - 1) // 2`` into the window); the edges get 0.
        """
        activations = torch.relu(self.motifs.filter_scores(dna)).transpose(1, 2)
        kicks = torch.relu(self.kick_head(activations).squeeze(-1))
        left = (self.config.motif.filter_width - 1) // 2
        return nn.functional.pad(kicks, (left, dna.shape[1] - kicks.shape[1] - left))

    def log_input(self, x: torch.Tensor) -> torch.Tensor:
        """Log of the integrated state at each promoter, ``(batch,)``."""
        dna, promoter = x[..., :4], x[..., 4]
        kicks = self.kicks(dna) + promoter * self.log_basal.exp()
        positions = torch.arange(x.shape[1], device=x.device, dtype=x.dtype) / 1000.0
        state = self.integrator(kicks, positions.expand(x.shape[0], -1))
        return torch.log((state * promoter).sum(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout.logit(self.log_input(x))


@dataclass(frozen=True)
class SyntheticLocusRule:
    """The ground truth of :func:`synthetic_loci`.

    Each planted motif kicks by 1 at its centre base; the promoter sits in
    the middle of the locus with its own kick ``basal``; the state decays by
    ``exp(-leak_per_kb)`` per kb; the response is
    ``σ(slope·(log h − log low)) · σ(slope·(log high − log h))``.
    """

    motif: str = "TGATTCAG"
    length: int = 600
    max_motifs: int = 6
    leak_per_kb: float = 4.0
    low: float = 0.8
    high: float = 2.2
    slope: float = 6.0
    basal: float = 0.1

    @property
    def promoter(self) -> int:
        return self.length // 2

    def response(self, state: np.ndarray) -> np.ndarray:
        """Ground-truth response to integrated states ``(n,)``."""
        log_state = np.log(state)
        rising = self.slope * (log_state - math.log(self.low))
        falling = self.slope * (math.log(self.high) - log_state)
        return 1 / (1 + np.exp(-rising)) / (1 + np.exp(-falling))


def synthetic_loci(n: int, rule: SyntheticLocusRule, rng: np.random.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Random loci with planted enhancer motifs and their true promoter response.

    Every exact occurrence of the motif (planted or by chance) is an enhancer.

    Parameters
    ----------
    n : int
        Loci to draw.
    rule : SyntheticLocusRule
    rng : numpy.random.Generator

    Returns
    -------
    inputs : torch.Tensor, shape (n, length, 5), float32
        One-hot DNA plus the promoter marker channel.
    response : torch.Tensor, shape (n,), float32
        True response in (0, 1).
    state : numpy.ndarray, shape (n,)
        True integrated state at the promoter.
    """
    width = len(rule.motif)
    motif = np.array([_BASES.index(b) for b in rule.motif])
    seqs = rng.integers(0, 4, size=(n, rule.length))
    counts = rng.integers(0, rule.max_motifs + 1, size=n)
    for i, count in enumerate(counts):
        for start in rng.integers(0, rule.length - width + 1, size=count):
            seqs[i, start:start + width] = motif
    windows = np.lib.stride_tricks.sliding_window_view(seqs, width, axis=1)
    hits = (windows == motif).all(axis=2)
    centres = np.arange(hits.shape[1]) + (width - 1) // 2
    decay = np.exp(-rule.leak_per_kb * np.abs(centres - rule.promoter) / 1000.0)
    state = rule.basal + hits @ decay
    inputs = np.zeros((n, rule.length, 5), dtype=np.float32)
    inputs[..., :4] = np.eye(4, dtype=np.float32)[seqs]
    inputs[:, rule.promoter, 4] = 1.0
    return (torch.from_numpy(inputs), torch.from_numpy(rule.response(state).astype(np.float32)),
            state)
