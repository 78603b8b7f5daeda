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
    n = len(windows)
    classes = np.zeros(n, dtype=np.int64)
    rank = np.full(n, -np.inf)
    for m, motif in enumerate(_MOTIFS):
        code = np.array([_BASE_CODES[base] for base in motif], dtype=windows.dtype)
        for b, (low, high, name) in enumerate(_SPACER_BINS):
            for spacer in range(low, high + 1):
                first = codon_column - spacer - len(motif)
                hit = np.all(windows[:, first:first + len(motif)] == code, axis=1)
                value = len(motif) * 100.0 + (name == "5-10bp") * 10.0 - spacer * 0.1
                better = hit & (value > rank)
                classes[better] = 1 + m * len(_SPACER_BINS) + b
                rank[better] = value
    return classes
