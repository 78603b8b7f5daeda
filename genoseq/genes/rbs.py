"""Shine-Dalgarno motif report for the ``rbs_motif`` / ``rbs_spacer`` attributes.

Prodigal reports, for every gene, the best ribosome-binding-site motif it
finds upstream of the start codon and the spacer to it. genoseq scores starts
with its CNN instead, but pipelines read these two attributes, so they are
filled by a plain scan: the longest piece (≥ 3 bp) of the consensus AGGAGG
lying 3-15 bp before the start codon, the spacer reported in Prodigal's bins.
"""

from __future__ import annotations

import numpy as np

CONSENSUS = "AGGAGG"
UPSTREAM = 21
_MOTIFS = sorted({CONSENSUS[i:j] for i in range(len(CONSENSUS))
                  for j in range(i + 3, len(CONSENSUS) + 1)}, key=len, reverse=True)
_SPACER_BINS = ((3, 4, "3-4bp"), (5, 10, "5-10bp"), (11, 12, "11-12bp"), (13, 15, "13-15bp"))


def _spacer_bin(spacer: int) -> str | None:
    for low, high, name in _SPACER_BINS:
        if low <= spacer <= high:
            return name
    return None


def find_rbs(upstream: str) -> tuple[str, str]:
    """Best Shine-Dalgarno motif in the bases just before a start codon.

    Parameters
    ----------
    upstream : str
        Bases immediately 5' of the start codon, in the gene's direction
        (the last character touches the start codon).

    Returns
    -------
    (motif, spacer) : (str, str)
        E.g. ``("GGAGG", "5-10bp")``; ``("None", "None")`` when none is found.
        Longer motifs win; among equal ones, a spacer of 5-10 bp, then the
        one nearest the start.
    """
    best = None
    for motif in _MOTIFS:
        if best is not None and len(motif) < len(best[0]):
            break
        at = upstream.find(motif)
        while at >= 0:
            spacer = len(upstream) - (at + len(motif))
            name = _spacer_bin(spacer)
            if name is not None:
                rank = (len(motif), name == "5-10bp", -spacer)
                if best is None or rank > best[2]:
                    best = (motif, name, rank)
            at = upstream.find(motif, at + 1)
    return ("None", "None") if best is None else (best[0], best[1])


#: Classes of :func:`rbs_classes`: 0 for no motif, then one per (motif, spacer bin), motifs
#: in ``_MOTIFS`` order (longest first), bins in ``_SPACER_BINS`` order.
RBS_CLASSES = 1 + len(_MOTIFS) * len(_SPACER_BINS)
_BASE_CODES = {"A": 0, "C": 1, "G": 2, "T": 3}
#: Windows classified at a time by :func:`rbs_classes`.
RBS_ROWS = 1 << 16


def rbs_class_names() -> list[str]:
    """Names of the :func:`rbs_classes` classes, e.g. ``GGAGG/5-10bp``; class 0 is ``None``."""
    return ["None"] + [f"{motif}/{name}" for motif in _MOTIFS for *_, name in _SPACER_BINS]


def rbs_classes(windows: np.ndarray, codon_column: int) -> np.ndarray:
    """The :func:`find_rbs` motif and spacer bin of many start windows, as class numbers.

    Parameters
    ----------
    windows : np.ndarray, shape (n, width), uint8
        Bases 0-4 read in the gene's direction
        (:func:`genoseq.genes.starts.start_windows`).
    codon_column : int
        Column of the start codon's first base (at least ``UPSTREAM``).

    Returns
    -------
    np.ndarray, shape (n,), int64
        0 where no motif lies 3-15 bp before the start codon, else
        ``1 + motif * 4 + bin`` for the motif :func:`find_rbs` would report
        (same ranking: longest motif, then a 5-10 bp spacer, then the
        nearest).
    """
    if len(windows) > RBS_ROWS:  # bounded memory: the k-mer codes are 16 bytes per base
        return np.concatenate([rbs_classes(windows[first:first + RBS_ROWS], codon_column)
                               for first in range(0, len(windows), RBS_ROWS)])
    n = len(windows)
    longest = max(len(m) for m in _MOTIFS)
    farthest = max(high for _, high, _ in _SPACER_BINS)
    first = codon_column - farthest - longest
    region = windows[:, first:codon_column].astype(np.int32)
    # Every k-mer of the region as a base-5 number (an unknown base, 4, matches no motif).
    codes = {}
    for k in sorted({len(m) for m in _MOTIFS}):
        value = np.zeros((n, region.shape[1] - k + 1), dtype=np.int32)
        for t in range(k):
            value = value * 5 + region[:, t:t + value.shape[1]]
        codes[k] = value
    # (rank, class, motif, column) of every motif and spacer, best last: later ones win.
    placements = []
    for m, motif in enumerate(_MOTIFS):
        for b, (low, high, name) in enumerate(_SPACER_BINS):
            for spacer in range(low, high + 1):
                rank = (len(motif), name == "5-10bp", -spacer)
                placements.append((rank, 1 + m * len(_SPACER_BINS) + b, motif,
                                   codon_column - spacer - len(motif) - first))
    placements.sort()
    motif_code = {motif: sum(_BASE_CODES[base] * 5 ** (len(motif) - 1 - i)
                             for i, base in enumerate(motif)) for motif in _MOTIFS}
    classes = np.zeros(n, dtype=np.int64)
    for _, number, motif, column in placements:
        classes[codes[len(motif)][:, column] == motif_code[motif]] = number
    return classes
