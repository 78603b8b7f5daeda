"""The decoder: the highest-scoring compatible set of candidate genes (a dynamic programme).

Every candidate gene (a start codon, or a contig edge, through a stop codon;
see :mod:`genoseq.genes.orfs`) has a score (:mod:`genoseq.genes.scoring`). A
dynamic programme over candidates sorted by their right end finds the set of
genes with the highest total score in which no two genes overlap by more
than the limits real genomes show (Prodigal's defaults, used here too: 60 bp
on the same strand, 200 bp for 3' ends facing each other), paying a penalty
for each overlap (:class:`~genoseq.genes.scoring.OverlapRules`). At most one
start per stop is chosen, because two candidates sharing a stop overlap by at
least the minimum gene length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genoseq.genes.scoring import (
    DecoderParams,
    OverlapRules,
    ScoredCandidates,
    prior_scores_many,
    self_trained_score_many,
    total_scores,
)

#: Prodigal's overlap limits and genoseq's default penalty.
DEFAULT_OVERLAP = OverlapRules()


def decode(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray:
    """Indices of the candidates chosen under ``params``, sorted by start coordinate."""
    c = scored.candidates
    return select_genes(c.start, c.end, c.strand, total_scores(scored, params), params.overlap)


def joined_totals(scored: list[ScoredCandidates], params: DecoderParams) -> np.ndarray:
    """:func:`~genoseq.genes.scoring.total_scores` of many records, joined in one array.

    The same operations in the same order over the records' candidates joined,
    so every value equals the record's own bit for bit.
    """
    if not scored:
        return np.zeros(0, dtype=np.float64)
    total = (params.coding_weight * np.concatenate([s.coding for s in scored])
             + params.start_weight * np.concatenate([s.start for s in scored])
             + np.concatenate(prior_scores_many(scored, params)))
    extra = self_trained_score_many(scored, params)
    if extra is None:
        raise ValueError("joined_totals needs the same self-trained scores for every record")
    return total + extra


@dataclass
class JoinedChoice:
    """What :func:`decode` chooses in many records, worked out over their joined totals.

    Attributes
    ----------
    total : np.ndarray
        :func:`joined_totals`.
    owner : np.ndarray
        Record of each joined candidate.
    first : np.ndarray
        Where each record's candidates begin in ``total``.
    positive : np.ndarray
        Joined indices of the candidates with a positive total.
    count : np.ndarray
        Positive candidates per record: a record with none chooses nothing, one
        with one chooses it (without the dynamic programme).
    chosen : dict
        Record -> the candidates (its own indices) :func:`select_genes` chooses,
        for every record with more than one positive candidate.
    """

    total: np.ndarray
    owner: np.ndarray
    first: np.ndarray
    positive: np.ndarray
    count: np.ndarray
    chosen: dict


def decode_joined(scored: list[ScoredCandidates], params: DecoderParams) -> JoinedChoice:
    """:class:`JoinedChoice` of many records: each record's decoding, as alone."""
    total = joined_totals(scored, params)
    sizes = np.array([len(s.candidates) for s in scored], dtype=np.int64)
    first = np.cumsum(sizes) - sizes
    owner = np.repeat(np.arange(len(scored)), sizes)
    positive = np.flatnonzero(total > 0)
    count = np.bincount(owner[positive], minlength=len(scored))
    chosen = {}
    for r in np.flatnonzero(count > 1).tolist():
        c = scored[r].candidates
        chosen[r] = select_genes(c.start, c.end, c.strand,
                                 total[first[r]:first[r] + sizes[r]], params.overlap)
    return JoinedChoice(total, owner, first, positive, count, chosen)


def decode_many(scored: list[ScoredCandidates], params: DecoderParams) -> list[np.ndarray]:
    """:func:`decode` of many records, equal to decoding each alone (:func:`decode_joined`)."""
    joined = decode_joined(scored, params)
    out = [np.zeros(0, dtype=np.int64)] * len(scored)
    single = joined.positive[joined.count[joined.owner[joined.positive]] == 1]
    for r, at in zip(joined.owner[single].tolist(), single.tolist(), strict=True):
        out[r] = np.array([at - joined.first[r]], dtype=np.int64)
    for r, chosen in joined.chosen.items():
        out[r] = chosen
    return out


def select_genes(start: np.ndarray, end: np.ndarray, strand: np.ndarray, score: np.ndarray,
                 rules: OverlapRules = DEFAULT_OVERLAP) -> np.ndarray:
    """Indices of the highest-scoring compatible set of candidate genes.

    Parameters
    ----------
    start, end : np.ndarray, shape (n,), integer
        0-based half-open forward-strand coordinates.
    strand : np.ndarray, shape (n,), +1 / -1
    score : np.ndarray, shape (n,), float
        Total score of each candidate; only positive ones can be chosen,
        since dropping a gene with a negative score always helps.
    rules : OverlapRules

    Returns
    -------
    np.ndarray of int64
        Chosen candidate indices, sorted by start coordinate.
    """
    keep = np.flatnonzero(score > 0)
    keep = keep[np.lexsort((start[keep], end[keep]))]
    if len(keep) == 0:
        return keep
    max_limit = max(rules.same_strand, rules.convergent, rules.divergent)
    kept_start, kept_end = start[keep], end[keep]
    # Candidates ending by a gene's start lie before it in this order (its start < its end);
    # those ending within max_limit after it may overlap it within the rules.
    n_before = np.searchsorted(kept_end, kept_start, side="right").tolist()
    n_reach = np.minimum(np.searchsorted(kept_end, kept_start + max_limit, side="right"),
                         np.arange(len(keep))).tolist()
    starts = kept_start.tolist()
    ends = kept_end.tolist()
    strands = strand[keep].tolist()
    scores = score[keep].tolist()
    limits = {(a, b): rules.limit(a, b) for a in (1, -1) for b in (1, -1)}
    penalty = rules.penalty
    best = [0.0] * len(keep)          # best total of a chain ending with gene k
    back = [-1] * len(keep)           # predecessor of gene k in that chain
    prefix_best = [0.0] * len(keep)   # max of best[0..k]
    prefix_arg = [0] * len(keep)
    for k in range(len(keep)):
        value, pred = 0.0, -1
        nb = n_before[k]
        if nb and prefix_best[nb - 1] > value:
            value, pred = prefix_best[nb - 1], prefix_arg[nb - 1]
        if n_reach[k] > nb:
            s, strand_k = starts[k], strands[k]
            for p in range(nb, n_reach[k]):
                if starts[p] >= s or ends[p] - s > limits[strands[p], strand_k]:
                    continue
                candidate = best[p] - penalty
                if candidate > value:
                    value, pred = candidate, p
        total = scores[k] + value
        best[k] = total
        back[k] = pred
        if k and prefix_best[k - 1] >= total:
            prefix_best[k] = prefix_best[k - 1]
            prefix_arg[k] = prefix_arg[k - 1]
        else:
            prefix_best[k] = total
            prefix_arg[k] = k
    chosen = []
    k = prefix_arg[-1]
    while k >= 0:
        chosen.append(keep[k])
        k = back[k]
    chosen = np.asarray(chosen[::-1], dtype=np.int64)
    return chosen[np.argsort(start[chosen], kind="stable")]
