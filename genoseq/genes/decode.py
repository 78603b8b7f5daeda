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

import numpy as np

from genoseq.genes.scoring import (
    DecoderParams,
    OverlapRules,
    ScoredCandidates,
    prior_scores_many,
    total_scores,
)

#: Prodigal's overlap limits and genoseq's default penalty.
DEFAULT_OVERLAP = OverlapRules()


def decode(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray:
    """Indices of the candidates chosen under ``params``, sorted by start coordinate."""
    c = scored.candidates
    return select_genes(c.start, c.end, c.strand, total_scores(scored, params), params.overlap)


def joined_totals(scored: list[ScoredCandidates], params: DecoderParams,
                  priors: list[np.ndarray] | None = None) -> np.ndarray:
    """:func:`~genoseq.genes.scoring.total_scores` of many records, joined in one array.

    The same operations in the same order over the records' candidates joined,
    so every value equals the record's own bit for bit. ``priors`` (the records'
    :func:`~genoseq.genes.scoring.prior_scores` under ``params``) are computed if
    not given.
    """
    if not scored:
        return np.zeros(0, dtype=np.float64)
    if priors is None:
        priors = prior_scores_many(scored, params)
    total = (params.coding_weight * np.concatenate([s.coding for s in scored])
             + params.start_weight * np.concatenate([s.start for s in scored])
             + np.concatenate(priors))
    extra = 0.0
    for weight, name in ((params.hexamer_weight, "hexamer"), (params.profile_weight, "profile")):
        present = [getattr(s, name) is not None for s in scored]
        if weight and all(present):
            extra = extra + weight * np.concatenate([getattr(s, name) for s in scored])
        elif weight and any(present):
            raise ValueError(f"joined_totals needs {name} scores for every record or none")
    return total + extra


def decode_many(scored: list[ScoredCandidates], params: DecoderParams,
                priors: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """:func:`decode` of many records, equal to decoding each alone.

    Totals come from :func:`joined_totals`; a record with at most one
    positive candidate (most short contigs) chooses it or nothing without the
    dynamic programme, the others go through :func:`select_genes` alone.
    """
    total = joined_totals(scored, params, priors)
    sizes = np.array([len(s.candidates) for s in scored], dtype=np.int64)
    first = np.cumsum(sizes) - sizes
    owner = np.repeat(np.arange(len(scored)), sizes)
    positive = np.flatnonzero(total > 0)
    count = np.bincount(owner[positive], minlength=len(scored))
    out = [np.zeros(0, dtype=np.int64)] * len(scored)
    one = count == 1
    for r, at in zip(owner[positive][one[owner[positive]]].tolist(),
                     positive[one[owner[positive]]].tolist(), strict=True):
        out[r] = np.array([at - first[r]], dtype=np.int64)
    for r in np.flatnonzero(count > 1).tolist():
        c = scored[r].candidates
        out[r] = select_genes(c.start, c.end, c.strand, total[first[r]:first[r] + sizes[r]],
                              params.overlap)
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
