"""Shine-Dalgarno motif report for the ``rbs_motif`` / ``rbs_spacer`` attributes.

Prodigal reports, for every gene, the best ribosome-binding-site motif it
finds upstream of the start codon and the spacer to it. genoseq scores starts
with its CNN instead, but pipelines read these two attributes, so they are
filled by a plain scan: the longest piece (≥ 3 bp) of the consensus AGGAGG
lying 3-15 bp before the start codon, the spacer reported in Prodigal's bins.
"""

from __future__ import annotations

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
