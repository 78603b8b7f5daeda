"""Gene decoding: score candidate genes and pick the best compatible set.

Every candidate gene (a start codon, or a contig edge, through a stop codon;
see :mod:`genoseq.genes.orfs`) gets a score: summed per-base coding evidence
from the coding model, plus the start detector's score, plus a per-gene bias.
A dynamic programme over candidates sorted by their right end then finds the
set of genes with the highest total score in which no two genes overlap by
more than the limits real genomes show (Prodigal's defaults, used here too:
60 bp on the same strand, 200 bp for 3' ends facing each other), paying a
penalty for each overlap. At most one start per stop is chosen, because two
candidates sharing a stop overlap by at least the minimum gene length.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class OverlapRules:
    """How much neighbouring genes may overlap, in bp, and what an overlap costs.

    ``convergent`` is a + strand gene followed by a − strand gene (3' ends
    facing), ``divergent`` a − strand gene followed by a + strand gene (5'
    ends facing).
    """

    same_strand: int = 60
    convergent: int = 200
    divergent: int = 0
    penalty: float = 2.0

    def to_dict(self) -> dict:
        return asdict(self)

    def limit(self, left_strand: int, right_strand: int) -> int:
        if left_strand == right_strand:
            return self.same_strand
        return self.convergent if left_strand > 0 else self.divergent


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


def select_genes(start: np.ndarray, end: np.ndarray, strand: np.ndarray, score: np.ndarray,
                 rules: OverlapRules = OverlapRules()) -> np.ndarray:
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
