"""The gene score: each candidate's evidence parts, the weights combining them, and the total.

A candidate gene's score, maximised by the decoder (:mod:`genoseq.genes.decode`),
is ``coding_weight * coding + start_weight * start + prior + self-trained
terms`` (:func:`total_scores`), less ``OverlapRules.penalty`` for each
overlap the decoder allows:

- ``coding``: the coding model's per-base log-likelihood ratios of the
  candidate's frame against non-coding, summed over the gene
  (:func:`coding_evidence`, :func:`coding_scores`);
- ``start``: the start detector's logit for its start codon, clipped to
  ±``START_LOGIT_CAP``;
- the prior: a constant, a term proportional to the gene's length and one
  proportional to its ORF's length (:func:`prior_scores`);
- after self-training, the genome's hexamer and start-profile scores
  (:func:`self_trained_score`; :mod:`genoseq.genes.adapt`).

The weights are :class:`DecoderParams`, fitted on training genomes
(:mod:`genoseq.genes.train`) and saved with the networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genoseq.config import DictConfig
from genoseq.genes.orfs import OrfCandidates

#: Start logits are clipped to ±START_LOGIT_CAP, so that no start alone decides a gene.
START_LOGIT_CAP = 10.0


@dataclass(frozen=True)
class OverlapRules(DictConfig):
    """How much neighbouring genes may overlap, in bp, and what an overlap costs.

    ``convergent`` is a + strand gene followed by a − strand gene (3' ends
    facing), ``divergent`` a − strand gene followed by a + strand gene (5'
    ends facing).
    """

    same_strand: int = 60
    convergent: int = 200
    divergent: int = 0
    penalty: float = 2.0


    def limit(self, left_strand: int, right_strand: int) -> int:
        if left_strand == right_strand:
            return self.same_strand
        return self.convergent if left_strand > 0 else self.divergent


@dataclass(frozen=True)
class DecoderParams(DictConfig):
    """Weights of the gene score, fitted on training genomes.

    ``score = coding_weight * coding_llr + hexamer_weight * hexamer_llr
    + start_weight * start_logit + profile_weight * start_profile
    + start_codon_weight * start_profile_codon + rbs_weight * rbs + gene_bias
    + length_bias * length_kb + orf_length_bias * orf_length_kb``;
    the start logit is clipped to ±10, per-base coding log-ratios to
    ±``llr_clip``. ``hexamer_weight`` and ``profile_weight`` weigh the
    self-trained scores of the second pass. ``orf_length_kb`` is the length
    of the candidate's ORF (stop codon to its most upstream start), the same
    for every start of one ORF: it lets the prior say how likely an ORF this
    long is to hold a gene without pushing every gene to its most upstream
    start, which ``length_bias`` does.
    """

    coding_weight: float = 0.3
    start_weight: float = 1.0
    gene_bias: float = -10.0
    length_bias: float = 0.0
    orf_length_bias: float = 0.0
    edge_start_score: float = 0.0
    #: Added once for each end of a candidate that runs off its sequence (5'- or 3'-partial):
    #: a gene cut by a contig's end shows only part of its evidence, and its missing start
    #: or stop would otherwise count against it. 0 in the shipped networks' weights; the
    #: metagenome statistics library sets its own (genes.md).
    edge_bonus: float = 0.0
    llr_clip: float = 8.0
    hexamer_weight: float = 0.0
    profile_weight: float = 0.0
    #: Extra weight on the start-codon part of the self-trained start profile (the three
    #: codon columns' log-odds, ``ScoredCandidates.profile_codon``), beside ``profile_weight``
    #: on the whole window: a genome's start-codon usage says more per column than the
    #: bases around it, as Prodigal weighs start-codon type apart from the RBS (session 14).
    start_codon_weight: float = 0.0
    #: Weight of the self-trained Shine-Dalgarno class score (``ScoredCandidates.rbs``):
    #: the genome's own log-odds of the motif and spacer bin found 3-15 bp upstream of a
    #: start (session 15).
    rbs_weight: float = 0.0
    #: The RBS score counts only in genomes whose starts show Shine-Dalgarno sites at least
    #: this strongly (``ScoredCandidates.rbs_strength``), as Prodigal decides per genome
    #: whether it uses SD sites: in a genome that does not (leaderless archaeal genes), the
    #: class log-odds are noise.
    rbs_min_strength: float = 0.0
    #: Added to every candidate of an ORF shorter than ``short_orf_length`` bp, scaled by
    #: how much shorter (``1 − orf_length / short_orf_length``): a prior for short genes that
    #: the linear length terms cannot give without moving every start (session 16).
    short_orf_bias: float = 0.0
    short_orf_length: float = 300.0
    #: How the self-trained start profile scores a candidate
    #: (:func:`genoseq.genes.adapt.start_profile_part`): 1, its per-position log-odds; 3,
    #: the starts of an ORF ranked by the profile averaged over codon-length blocks (the
    #: composition around a start, not the codon phase), the ORF keeping its best
    #: per-position score (session 17).
    profile_pool: int = 1
    overlap: OverlapRules = field(default_factory=OverlapRules)
    #: Rounds of self-training (self-trained pass only): round 1 learns the genome's
    #: statistics from the first pass's genes, each further round from the genes that the
    #: self-trained pass chooses with the statistics of the round before.
    self_training_rounds: int = 1


@dataclass
class ScoredCandidates:
    """Candidates of one sequence with their score parts (for decoding and calibration).

    Attributes
    ----------
    candidates : OrfCandidates
    coding : np.ndarray, shape (n,)
        Summed coding-model log-likelihood ratio.
    start : np.ndarray, shape (n,)
        Start logit, clipped; ``edge_start_score`` for 5'-partial candidates.
    start_known : np.ndarray, shape (n,), bool
        Whether ``start`` holds the detector's logit yet: it is computed only
        for candidates that can reach a positive score (see
        :meth:`genoseq.genes.finder.GeneFinder.fill_start_logits`).
    hexamer : np.ndarray, shape (n,), or None
        Self-trained hexamer score (second pass only).
    profile : np.ndarray, shape (n,), or None
        Self-trained start-profile score (second pass only; 0 for 5'-partial).
    profile_codon : np.ndarray, shape (n,), or None
        The part of ``profile`` read on the start codon's three bases.
    rbs : np.ndarray, shape (n,), or None
        Self-trained log-odds of the candidate's Shine-Dalgarno class
        (:func:`genoseq.genes.adapt.rbs_log_odds`; 0 for 5'-partial).
    rbs_strength : float
        How strongly the genome's starts show Shine-Dalgarno sites: minus the
        log-odds of the "no site" class (0 without RBS statistics).
    log_probs : np.ndarray, shape (length, 7), or None
        Coding-model log-probabilities, kept on request (coding track).
    exact : np.ndarray, shape (n,), bool, or None
        Whether ``coding`` comes from fp32 arithmetic: every candidate in an
        fp32 run; in a reduced-precision run, those re-scored by
        :func:`genoseq.genes.recheck.rescore_exact`. None: all.
    start_exact : np.ndarray, shape (n,), bool, or None
        The same for ``start``.
    orf_length : np.ndarray, shape (n,), or None
        Length of each candidate's ORF in bp (:func:`orf_lengths`), filled on
        first use.
    """

    candidates: OrfCandidates
    coding: np.ndarray
    start: np.ndarray
    start_known: np.ndarray
    hexamer: np.ndarray | None = None
    profile: np.ndarray | None = None
    profile_codon: np.ndarray | None = None
    rbs: np.ndarray | None = None
    rbs_strength: float = 0.0
    #: Each candidate's Shine-Dalgarno class (:func:`genoseq.genes.rbs.rbs_classes`), kept
    #: once computed: it reads only the sequence, so every self-training round reuses it.
    rbs_class: np.ndarray | None = field(default=None, repr=False)
    log_probs: np.ndarray | None = None
    exact: np.ndarray | None = None
    start_exact: np.ndarray | None = None
    orf_length: np.ndarray | None = None
    #: :func:`prior_scores` per decoder weights object, computed once (the prior reads only
    #: the candidates, which never change): ``id(params) -> (params, read-only prior)``.
    priors: dict = field(default_factory=dict, repr=False, compare=False)


def coding_evidence(log_probs: np.ndarray, clip: float = 8.0) -> np.ndarray:
    """Prefix sums of per-base coding log-likelihood ratios.

    Parameters
    ----------
    log_probs : np.ndarray, shape (length, 7)
        Log-probabilities over the coding model's absolute-frame classes
        (:data:`genoseq.genes.model.FRAME_CLASSES`), or the logits they come
        from: only differences against column 0 are used, and those are the
        same for both.
    clip : float
        Per-base log-ratios are clipped to ``[-clip, clip]`` so that one
        over-confident base cannot decide a gene.

    Returns
    -------
    np.ndarray, shape (length + 1, 7), float64
        Column c holds the cumulative sum of ``log p(c) - log p(non-coding)``;
        column 0 is zero.
    """
    out = np.empty((len(log_probs) + 1, log_probs.shape[1]), dtype=np.float64)
    out[0] = 0.0
    ratios = out[1:]  # built in place: the (length, 7) float64 array is the largest of a genome
    np.subtract(log_probs, log_probs[:, :1], out=ratios, dtype=np.float64)
    np.clip(ratios, -clip, clip, out=ratios)
    np.cumsum(ratios, axis=0, out=ratios)
    return out


def candidate_frame_class(start: np.ndarray, end: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """Absolute-frame class (1-6) of each candidate gene.

    A + strand gene on ``[start, end)`` has codons starting at positions ≡
    ``start`` (mod 3); a − strand gene, read in its own direction, at
    positions ≡ ``end - 1`` (mod 3).
    """
    return np.where(strand > 0, 1 + start % 3, 4 + (end - 1) % 3)


def coding_scores(cumulative: np.ndarray, start: np.ndarray, end: np.ndarray,
                  strand: np.ndarray, offset: int = 0) -> np.ndarray:
    """Summed coding log-likelihood ratio of each candidate, shape (n_candidates,).

    ``cumulative`` (:func:`coding_evidence`) may cover only part of the
    record, starting at record position ``offset``; coordinates stay the
    record's, since the frame of a candidate depends on them.
    """
    frame = candidate_frame_class(start, end, strand)
    return cumulative[end - offset, frame] - cumulative[start - offset, frame]


class CodingSums:
    """:func:`coding_scores` of :func:`coding_evidence`, fed the logits chunk by chunk.

    The prefix sums of a record are built one chunk of positions at a time,
    the running sum carried from chunk to chunk, and kept only where a
    candidate starts or ends: memory follows the chunk and the candidates,
    not the record (the (length + 1, 7) float64 prefix array of
    :func:`coding_evidence` is 56 bytes per base). The carry enters the
    first row of each chunk before its cumulative sum, so every prefix value
    is the same sequence of float64 additions as in :func:`coding_evidence`,
    and :meth:`result` equals ``coding_scores(coding_evidence(logits, clip),
    start, end, strand)`` exactly.

    Parameters
    ----------
    start, end, strand : np.ndarray, shape (n,)
        Candidates, record coordinates.
    clip : float
        As for :func:`coding_evidence`.
    """

    def __init__(self, start: np.ndarray, end: np.ndarray, strand: np.ndarray,
                 clip: float = 8.0):
        self.n = len(start)
        frame = candidate_frame_class(start, end, strand)
        points = np.concatenate([start, end]).astype(np.int64, copy=False)
        self._order = np.argsort(points, kind="stable")
        self._points = points[self._order]
        self._frames = np.concatenate([frame, frame])[self._order]
        self._values = np.zeros(2 * self.n, dtype=np.float64)  # prefix[0] = 0
        self._carry: np.ndarray | None = None
        self.clip = clip
        self.done = 0

    def add(self, logits: np.ndarray) -> None:
        """The logits (or log-probabilities) of the next ``len(logits)`` positions."""
        if not len(logits):
            return
        first, stop = self.done, self.done + len(logits)
        ratios = np.empty(logits.shape, dtype=np.float64)
        np.subtract(logits, logits[:, :1], out=ratios, dtype=np.float64)
        np.clip(ratios, -self.clip, self.clip, out=ratios)
        if self._carry is not None:
            ratios[0] += self._carry
        np.cumsum(ratios, axis=0, out=ratios)
        # Prefix value p (the sum over positions < p) is row p - first - 1 of this chunk.
        lo, hi = np.searchsorted(self._points, [first + 1, stop + 1])
        self._values[lo:hi] = ratios[self._points[lo:hi] - first - 1, self._frames[lo:hi]]
        self._carry = ratios[-1].copy()
        self.done = stop

    def result(self) -> np.ndarray:
        """Summed coding log-likelihood ratio of each candidate, shape (n,)."""
        values = np.empty(2 * self.n, dtype=np.float64)
        values[self._order] = self._values
        return values[self.n:] - values[:self.n]


def orf_maxima(values: np.ndarray, orf_id: np.ndarray) -> np.ndarray:
    """Each candidate's ORF's largest value, shape (n_candidates,).

    The candidates of one ORF are contiguous (:class:`OrfCandidates`), so the
    maxima are reduced over runs of equal ``orf_id``.
    """
    if not len(values):
        return values
    first = np.flatnonzero(np.r_[True, orf_id[1:] != orf_id[:-1]])
    return np.repeat(np.maximum.reduceat(values, first), np.diff(np.r_[first, len(values)]))


def orf_lengths(candidates: OrfCandidates) -> np.ndarray:
    """Length in bp of each candidate's ORF: its longest candidate (the most upstream start).

    Shape (n_candidates,), int64.
    """
    return orf_maxima(candidates.end - candidates.start, candidates.orf_id)


#: Decoder weights whose priors a ScoredCandidates keeps (the latest ones).
PRIORS_KEPT = 4


def prior_scores(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray:
    """Per-candidate prior: a constant plus terms proportional to the gene's and its ORF's length.

    (Plus ``edge_bonus`` for each end of the candidate that runs off the sequence.)

    With only a constant, a short gene must gather as much evidence per gene as
    a long one; the length terms let calibration trade the two. The gene's
    own length also favours its upstream starts; the ORF's length is the same
    for every start of the ORF and so says only whether the ORF holds a gene.
    """
    # Keyed by identity (hashing the weights costs more than a short record's prior); the
    # weights are kept beside their prior, so an id cannot be reused while it is cached.
    cached = scored.priors.get(id(params))
    if cached is not None and cached[0] is params:
        return cached[1]
    c = scored.candidates
    length_kb = (c.end - c.start) / 1000.0
    prior = params.gene_bias + params.length_bias * length_kb
    if params.edge_bonus:
        prior = prior + params.edge_bonus * (c.partial_left.astype(np.float64)
                                             + c.partial_right)
    if params.orf_length_bias or params.short_orf_bias:
        if scored.orf_length is None:
            scored.orf_length = orf_lengths(scored.candidates)
        prior = prior + params.orf_length_bias * (scored.orf_length / 1000.0)
    if params.short_orf_bias:
        shortfall = np.clip(1.0 - scored.orf_length / params.short_orf_length, 0.0, None)
        prior = prior + params.short_orf_bias * shortfall
    prior = np.asarray(prior, dtype=np.float64)
    prior.flags.writeable = False
    if len(scored.priors) >= PRIORS_KEPT:  # calibration tries thousands of weights
        del scored.priors[next(iter(scored.priors))]
    scored.priors[id(params)] = (params, prior)
    return prior


def prior_scores_many(scored: list[ScoredCandidates], params: DecoderParams
                      ) -> list[np.ndarray]:
    """:func:`prior_scores` of many records (cached ones read without a call each)."""
    key, out = id(params), []
    for one in scored:
        hit = one.priors.get(key)
        out.append(hit[1] if hit is not None and hit[0] is params else prior_scores(one, params))
    return out


def self_trained_score(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray | float:
    """Weighted hexamer + start-profile scores of the candidates (0 before self-training)."""
    total = 0.0
    if params.hexamer_weight and scored.hexamer is not None:
        total = total + params.hexamer_weight * scored.hexamer
    if params.profile_weight and scored.profile is not None:
        total = total + params.profile_weight * scored.profile
    if params.start_codon_weight and scored.profile_codon is not None:
        total = total + params.start_codon_weight * scored.profile_codon
    if uses_rbs(scored, params):
        total = total + params.rbs_weight * scored.rbs
    return total


def uses_rbs(scored: ScoredCandidates, params: DecoderParams) -> bool:
    """Whether ``params`` count the RBS score of these candidates (weight, statistics, gate)."""
    return bool(params.rbs_weight) and scored.rbs is not None and (
        scored.rbs_strength >= params.rbs_min_strength)


def self_trained_score_many(scored: list[ScoredCandidates], params: DecoderParams
                            ) -> np.ndarray | float | None:
    """:func:`self_trained_score` of many records over their candidates joined.

    The same operations in the same order, so every value equals the record's
    own; None when the records differ in which self-trained scores they hold.
    """
    total = 0.0
    for weight, name in ((params.hexamer_weight, "hexamer"), (params.profile_weight, "profile"),
                         (params.start_codon_weight, "profile_codon"),
                         (params.rbs_weight, "rbs")):
        if not weight:
            continue
        present = {getattr(one, name) is not None for one in scored}
        if len(present) > 1:
            return None
        if True not in present:
            continue
        if name == "rbs":  # the gate is per record (per genome): a record below it adds 0
            parts = [one.rbs if uses_rbs(one, params) else np.zeros_like(one.rbs)
                     for one in scored]
            total = total + weight * np.concatenate(parts)
        else:
            total = total + weight * np.concatenate([getattr(one, name) for one in scored])
    return total


def total_scores(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray:
    """Score of every candidate under ``params``, shape (n_candidates,)."""
    total = (params.coding_weight * scored.coding + params.start_weight * scored.start
             + prior_scores(scored, params))
    return total + self_trained_score(scored, params)


def best_case_scores(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray:
    """Score of every candidate with the highest start logit there can be."""
    best_case = params.coding_weight * scored.coding + prior_scores(scored, params)
    best_case = best_case + self_trained_score(scored, params)
    return best_case + params.start_weight * START_LOGIT_CAP


def coding_part(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray:
    """The coding evidence's share of each candidate's score (Prodigal's ``cscore``)."""
    coding = params.coding_weight * scored.coding
    if params.hexamer_weight and scored.hexamer is not None:
        coding = coding + params.hexamer_weight * scored.hexamer
    return coding


def rbs_part(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray | None:
    """The RBS score's share of each candidate's score (Prodigal's ``rscore``); None if unused."""
    return params.rbs_weight * scored.rbs if uses_rbs(scored, params) else None
