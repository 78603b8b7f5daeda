"""Element mode: kicks from measured element activity, one leaky integrator per locus.

Every element of a gene's neighbourhood (its tested elements and, when
``neighbourhood_kb`` > 0, every other element of the table within that
distance of the TSS) kicks the locus state by ``exp(f(features))`` (``f`` a
learnt linear map or small MLP of its standardised chromatin signals); the
promoter adds its own kick, from the gene's annotation. On its way to the
TSS the state decays with distance and, with ``barriers``, loses a further
element-specific share at every element it passes (``exp(−softplus(g(features)))``,
``g`` linear: a CTCF site can act as a boundary). The state reaching the TSS
from both sides is read through a sweet-spot window (or, as an ablation, a
monotone threshold). The effect of an element is the promoter's response with
every kick minus its response with that element's kick removed — what a
CRISPRi screen measures — so an element's effect depends on its neighbours'
kicks. By linearity the state without element ``i`` is ``H − kick_i ·
transfer_i``, which equals running the integrator again without it (tested).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from genoseq.config import DictConfig
from genoseq.enhancers.loci import GENE_COLUMNS, PLAIN_COLUMNS, SIGNAL_COLUMNS, LocusBucket
from genoseq.enhancers.table import check_feature_names
from genoseq.nn.checkpoint import load_model_state, reading_model, save_model
from genoseq.nn.leaky import (
    LeakyIntegrator,
    LeakyIntegratorConfig,
    SweetSpotConfig,
    SweetSpotReadout,
)

SHIPPED_MODEL = "enhancer"
#: Seven channels, leaks 0.001 to 1 per kb (decay lengths 1 kb to 1 Mb), log-spaced.
DEFAULT_LEAKS_PER_KB = (0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0)
#: Effects below this magnitude are treated as this magnitude in the log link.
EFFECT_FLOOR = 1e-30
#: Added to |offset| (kb) before the pair readout takes its log: an element at the TSS.
PAIR_DISTANCE_FLOOR_KB = 0.01
#: Untested elements this close to a TSS kick too: every tested pair of the K562
#: screens lies within it (largest distance 2.38 Mb); fixed before any evaluation.
NEIGHBOURHOOD_KB = 2500.0
#: Starting bias of the barrier network: softplus(-6) ≈ 0.0025, nearly no loss per element.
BARRIER_START = -6.0


@dataclass(frozen=True)
class EnhancerModelConfig(DictConfig):
    """Everything needed to rebuild an :class:`EnhancerModel` exactly.

    Attributes
    ----------
    element_columns : tuple of str
        Per-element feature columns (signals in
        :data:`~genoseq.enhancers.loci.SIGNAL_COLUMNS` are log-transformed).
    gene_columns : tuple of str
        Per-gene annotation columns, read at the promoter.
    hidden : int
        Hidden units of the kick network; 0 for log-linear kicks.
    integrator : LeakyIntegratorConfig
    readout : SweetSpotConfig
    neighbourhood_kb : float
        Untested elements of the table within this distance of a TSS kick
        too (see :func:`~genoseq.enhancers.loci.build_loci`); 0: only the
        gene's tested elements.
    barriers : bool
        Element-specific leaks: each element passed on the way to the TSS
        takes its own, learnt share of the state. False: the distance leak only.
    competition : bool
        The promoter reads the summed input of all the locus's elements, so
        an element's effect depends on its neighbours' kicks. False
        (ablation): each element is read alone with the promoter.
    saturation : bool
        The response is the readout (sweet spot or monotone sigmoid) of the
        log input. False: the response is the log input itself, so an
        effect is the log-fold drop of the input, ``−log(1 − share)``.
    pair_readout : bool
        The link to P(regulated) also reads the pair's own inputs linearly
        (the element's standardised features, log distance to the TSS and
        the gene features: what a logistic regression on the pair reads),
        beside the log of the integrator's effect; the pair's score is then
        that logit. False: the score is the effect alone.
    """

    element_columns: tuple[str, ...] = SIGNAL_COLUMNS + PLAIN_COLUMNS
    gene_columns: tuple[str, ...] = GENE_COLUMNS
    hidden: int = 0
    integrator: LeakyIntegratorConfig = field(default_factory=lambda: LeakyIntegratorConfig(
        initial_leaks_per_kb=DEFAULT_LEAKS_PER_KB))
    readout: SweetSpotConfig = field(default_factory=lambda: SweetSpotConfig(
        low=0.0, high=3.0, slope=1.0))
    neighbourhood_kb: float = NEIGHBOURHOOD_KB
    barriers: bool = False
    competition: bool = True
    saturation: bool = False
    pair_readout: bool = False

    def __post_init__(self):
        object.__setattr__(self, "element_columns", tuple(self.element_columns))
        object.__setattr__(self, "gene_columns", tuple(self.gene_columns))
        check_feature_names([*self.element_columns, *self.gene_columns])


@dataclass
class LocusResponse:
    """What :meth:`EnhancerModel.forward` computes for one bucket of ``n`` loci.

    Attributes
    ----------
    kicks : torch.Tensor, shape (n, length)
        Every slot's kick (the promoter's at the TSS slot, 0 at padding).
    log_pass : torch.Tensor, shape (n, length)
        Log of the share of a passing state each slot lets through (0 at the
        TSS, at padding and without barriers).
    log_input : torch.Tensor, shape (n,)
        Log of the integrated state at each TSS.
    contributions : torch.Tensor, shape (n, length)
        What each element adds to its TSS's state (0 outside element slots).
    pair_logit : torch.Tensor, shape (n, length), or None
        With ``pair_readout``: the linear readout of each slot's own pair
        inputs, added to the link's logit.
    effects : torch.Tensor, shape (n, length)
        Response with all kicks minus response without the element's kick
        (0 outside element slots); positive: removing the element lowers the
        promoter's response, as a CRISPRi knock-down of an enhancer does.
    """

    kicks: torch.Tensor
    log_pass: torch.Tensor
    log_input: torch.Tensor
    contributions: torch.Tensor
    effects: torch.Tensor
    pair_logit: torch.Tensor | None = None


def _kick_network(n_features: int, hidden: int) -> nn.Module:
    if hidden:
        return nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    return nn.Linear(n_features, 1)


class EnhancerModel(nn.Module):
    """Element kicks → two-way leaky integration along the locus → sweet-spot response.

    Feature standardisation (``feature_mean``, ``feature_scale``, buffers set
    by :meth:`set_feature_scaling` from the training loci) is part of the
    saved state.
    """

    def __init__(self, config: EnhancerModelConfig):
        super().__init__()
        self.config = config
        n_features = len(config.element_columns)
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_scale", torch.ones(n_features))
        self.kick_net = _kick_network(n_features, config.hidden)
        self.promoter_net = nn.Linear(len(config.gene_columns), 1)
        if config.barriers:
            self.barrier_net = nn.Linear(n_features, 1)
            with torch.no_grad():
                self.barrier_net.weight.mul_(0.1)
                self.barrier_net.bias.fill_(BARRIER_START)
        self.integrator = LeakyIntegrator(config.integrator)
        self.readout = SweetSpotReadout(config.readout)
        # The link from |effect| to P(regulated): logit = slope · log|effect| + bias.
        self.log_link_slope = nn.Parameter(torch.zeros(()))
        self.link_bias = nn.Parameter(torch.zeros(()))
        if config.pair_readout:
            self.pair_net = nn.Linear(n_features + 1 + len(config.gene_columns), 1)
            with torch.no_grad():
                self.pair_net.weight.zero_()
                self.pair_net.bias.zero_()

    @torch.no_grad()
    def set_feature_scaling(self, buckets: list[LocusBucket]) -> None:
        """Standardise element features with their mean and spread over ``buckets``."""
        values = torch.cat([b.element_features[b.is_element] for b in buckets])
        self.feature_mean.copy_(values.mean(0))
        self.feature_scale.copy_(values.std(0).clamp_min(1e-6))

    def forward(self, bucket: LocusBucket) -> LocusResponse:
        scaled = (bucket.element_features - self.feature_mean) / self.feature_scale
        element_kicks = torch.exp(self.kick_net(scaled).squeeze(-1)) * bucket.is_element
        promoter = torch.exp(self.promoter_net(bucket.gene_features).squeeze(-1))
        tss = nn.functional.one_hot(bucket.tss_index, bucket.positions.shape[1])
        kicks = element_kicks + tss * promoter.unsqueeze(-1)
        if self.config.barriers:
            log_pass = -nn.functional.softplus(self.barrier_net(scaled).squeeze(-1))
            log_pass = log_pass * bucket.is_element
        else:
            log_pass = torch.zeros_like(kicks)
        transfer = self.integrator.transfer_to(bucket.positions, bucket.tss_index,
                                               log_pass if self.config.barriers else None)
        contributions = element_kicks * transfer
        if self.config.competition:
            at_tss = promoter + contributions.sum(1)
            log_input = torch.log(at_tss)
            # Each element's input: the whole locus's, shared by all its elements.
            slot_input, slot_log = at_tss.unsqueeze(1), log_input.unsqueeze(1)
        else:
            # Ablation: each element alone with the promoter; no element sees another.
            log_input = torch.log(promoter)
            slot_input = promoter.unsqueeze(1) + contributions
            slot_log = torch.log(slot_input)
        # The promoter's own kick keeps the state positive when one element is removed.
        share = (contributions / slot_input).clamp(max=1 - 1e-6)
        drop = -torch.log1p(-share)
        if self.config.saturation:
            effects = self.readout.difference(slot_log, drop)
        else:
            effects = drop
        effects = effects * bucket.is_element
        pair_logit = None
        if self.config.pair_readout:
            pair_logit = self.pair_net(self._pair_inputs(bucket, scaled)).squeeze(-1)
            pair_logit = pair_logit * bucket.is_element
        return LocusResponse(kicks=kicks, log_pass=log_pass, log_input=log_input,
                             contributions=contributions, effects=effects,
                             pair_logit=pair_logit)

    def _pair_inputs(self, bucket: LocusBucket, scaled: torch.Tensor) -> torch.Tensor:
        distance = torch.log(bucket.positions.abs() + PAIR_DISTANCE_FLOOR_KB)
        genes = bucket.gene_features.unsqueeze(1).expand(-1, scaled.shape[1], -1)
        return torch.cat([scaled, distance.unsqueeze(-1), genes], dim=-1)

    def pair_inputs(self, bucket: LocusBucket) -> torch.Tensor:
        """Each slot's own pair inputs, shape ``(n, length, features)``.

        The element's standardised features, the log distance to the TSS
        (kb) and the gene features: what the pair readout reads (and what a
        logistic regression on the pair alone would read).
        """
        scaled = (bucket.element_features - self.feature_mean) / self.feature_scale
        return self._pair_inputs(bucket, scaled)

    def regulated_logit(self, effects: torch.Tensor,
                        pair_logit: torch.Tensor | None = None) -> torch.Tensor:
        """Logit of P(regulated) from effects, any shape: monotone in ``|effect|``.

        ``pair_logit`` (the response's, with ``pair_readout``) is added.
        """
        magnitude = effects.abs().clamp_min(EFFECT_FLOOR)
        logit = self.log_link_slope.exp() * torch.log(magnitude) + self.link_bias
        return logit if pair_logit is None else logit + pair_logit

    def pair_scores(self, response: LocusResponse) -> torch.Tensor:
        """Ranking score of every slot: ``|effect|``, or with ``pair_readout`` the logit."""
        if self.config.pair_readout:
            return self.regulated_logit(response.effects, response.pair_logit)
        return response.effects.abs()


def save_enhancer_model(model: EnhancerModel, path_stem: str | os.PathLike,
                        metadata: dict | None = None) -> None:
    """Write ``<stem>.pt`` and ``<stem>.json`` (config + metadata)."""
    save_model(model, model.config.to_dict(), path_stem, metadata)


def load_enhancer_model(path_stem: str | os.PathLike | None = None
                        ) -> tuple[EnhancerModel, dict]:
    """Load a model saved by :func:`save_enhancer_model`; None → the shipped one.

    Returns the model (in eval mode, on the CPU) and its metadata.
    """
    with reading_model(path_stem, "genoseq enhancer model"):
        state, config, metadata = load_model_state(path_stem, SHIPPED_MODEL)
        model = EnhancerModel(EnhancerModelConfig.from_dict(config))
        model.load_state_dict(state)
    return model.eval(), metadata
