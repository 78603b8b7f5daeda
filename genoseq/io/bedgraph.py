"""bedGraph: per-base values of genome tracks, runs of equal values merged into one line."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from genoseq.io.atomic import atomic_write

__all__ = ["bedgraph_lines", "write_bedgraph"]


def bedgraph_lines(seqid: str, values: np.ndarray, decimals: int = 2) -> list[str]:
    """bedGraph lines of one sequence's per-base values, rounded, equal neighbours merged.

    Parameters
    ----------
    seqid : str
    values : np.ndarray, shape (length,)
        One value per base, position 0 first.
    decimals : int
        Values are rounded to, and written with, this many decimals.

    Returns
    -------
    list of str
        ``seqid<TAB>start<TAB>end<TAB>value`` lines, 0-based half-open.
    """
    rounded = np.round(values, decimals)
    if len(rounded) == 0:
        return []
    change = np.flatnonzero(np.diff(rounded)) + 1
    begins = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(rounded)]])
    return [f"{seqid}\t{b}\t{e}\t{rounded[b]:.{decimals}f}\n"
            for b, e in zip(begins.tolist(), ends.tolist(), strict=True)]


def write_bedgraph(path: str | os.PathLike, tracks: Iterable[tuple[str, str, Iterable[str]]]
                   ) -> None:
    """Write tracks into one bedGraph file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``-`` writes to standard output.
    tracks : iterable of (name, description, lines)
        Each track's header values and its :func:`bedgraph_lines`.
    """
    with atomic_write(path) as handle:
        for name, description, lines in tracks:
            handle.write(f'track type=bedGraph name="{name}" description="{description}"\n')
            handle.writelines(lines)
