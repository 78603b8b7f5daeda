"""Which known motif does a learned filter look like? A Tomtom-like comparison.

Two matrices are compared column by column with Pearson's correlation
coefficient (PCC), at every relative offset with enough overlap and on both
strands of the known motif. PCC of a column is unchanged by adding a
constant or scaling, so a learned filter's raw weights compare directly
with a PWM's log-odds. The score of an alignment is the summed PCC of the
aligned columns divided by the number of columns the two matrices cover
together, so columns left unaligned count as zero and a short motif cannot
win on a few columns of a long filter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from genoseq.motifs.pwm import DEFAULT_PSEUDOCOUNT, Motif

__all__ = ["MATCH_COLUMNS", "best_matches"]

#: Columns of the table :func:`best_matches` returns.
MATCH_COLUMNS = ["motif", "name", "score", "pearson", "overlap", "offset", "strand"]


def _standardised_columns(matrix: np.ndarray) -> np.ndarray:
    """Columns (axis -2 holds the bases) centred and scaled to unit norm; constant ones → 0."""
    centred = matrix - matrix.mean(axis=-2, keepdims=True)
    norm = np.linalg.norm(centred, axis=-2, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 1e-12)


def best_matches(
    matrix: np.ndarray,
    motifs: Sequence[Motif],
    *,
    top: int = 1,
    min_overlap: int = 5,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
) -> pd.DataFrame:
    """Rank known motifs by their similarity to a matrix (e.g. a learned filter).

    Parameters
    ----------
    matrix : numpy.ndarray, shape (4, width) or (n, 4, width)
        Rows A, C, G, T: filter weights, log-odds, or probabilities; or a
        stack of ``n`` such matrices (all filters of a model at once).
    motifs : sequence of Motif
        Known motifs, compared through their log2-odds (uniform background).
    top : int
        Rows returned (per matrix of a stack).
    min_overlap : int
        Fewest aligned columns (capped at the narrower matrix's width).
    pseudocount : float
        For the motifs' log-odds.

    Returns
    -------
    pandas.DataFrame
        Best ``top`` motifs, columns :data:`MATCH_COLUMNS`: ``score`` (summed
        column PCC over the columns covered by either matrix), ``pearson``
        (mean PCC of the aligned columns), ``overlap`` (aligned columns),
        ``offset`` (matrix column where the motif's first column lies, may be
        negative) and ``strand`` (``-``: the motif's reverse complement
        matches). For a stack, a first column ``filter`` numbers the matrices.
    """
    matrices = np.asarray(matrix, dtype=np.float64)
    single = matrices.ndim == 2
    if single:
        matrices = matrices[None]
    if matrices.ndim != 3 or matrices.shape[1] != 4:
        raise ValueError(f"expected a (4, width) or (n, 4, width) matrix, got shape "
                         f"{np.shape(matrix)}")
    queries = _standardised_columns(matrices)
    count, _, width = queries.shape
    # One row per (motif, strand), one column per matrix.
    score, pearson, overlaps, offsets = (np.empty((2 * len(motifs), count)) for _ in range(4))
    for number, motif in enumerate(motifs):
        log_odds = motif.log_odds(pseudocount)
        # Matrix column i faces motif column j at offset i - j; summing the correlation
        # matrix along its diagonals is one product with a 0/1 column-pair → offset map.
        diagonal = (np.arange(width)[:, None] - np.arange(motif.width)[None, :]
                    + motif.width - 1).ravel()
        to_offset = np.zeros((len(diagonal), width + motif.width - 1))
        to_offset[np.arange(len(diagonal)), diagonal] = 1.0
        overlap = to_offset.sum(axis=0)
        usable = overlap >= min(min_overlap, width, motif.width)
        for row, target in ((2 * number, log_odds), (2 * number + 1, log_odds[::-1, ::-1])):
            correlation = np.einsum("nbi,bj->nij", queries, _standardised_columns(target))
            summed = correlation.reshape(count, -1) @ to_offset
            scores = np.where(usable, summed / (width + motif.width - overlap), -np.inf)
            best = scores.argmax(axis=1)
            score[row] = scores[np.arange(count), best]
            pearson[row] = summed[np.arange(count), best] / overlap[best]
            overlaps[row], offsets[row] = overlap[best], best - (motif.width - 1)
    table = pd.DataFrame({
        "filter": np.tile(np.arange(count), 2 * len(motifs)),
        "order": np.repeat(np.arange(2 * len(motifs)), count),
        "motif": np.repeat([m.id for m in motifs], 2 * count),
        "name": np.repeat([m.name for m in motifs], 2 * count),
        "score": score.ravel(), "pearson": pearson.ravel(),
        "overlap": overlaps.ravel().astype(np.int64), "offset": offsets.ravel().astype(np.int64),
        "strand": np.tile(np.repeat(["+", "-"], count), len(motifs)),
    }).sort_values(["filter", "score", "order"], ascending=[True, False, True], kind="stable")
    table = table.drop_duplicates(["filter", "motif"]).groupby("filter").head(top)
    columns = MATCH_COLUMNS if single else ["filter", *MATCH_COLUMNS]
    return table[columns].reset_index(drop=True)
