"""Sequence logos of known motifs and learned filters, written as PNG (logomaker).

Known motifs are drawn as information-content logos (letter height = bits
carried by the base at that position). Learned filters have no probabilities:
each column of weights is centred on its mean and drawn as it is, bases the
filter rewards above the axis and those it penalises below.

Figures are built on a :class:`matplotlib.figure.Figure` that pyplot never
sees, so drawing works with any backend and leaves a notebook's state alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import logomaker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from genoseq.io import atomic_write
from genoseq.motifs.pwm import BASES, DEFAULT_PSEUDOCOUNT, Motif

__all__ = ["filter_logo", "motif_logo", "save_logos"]


def motif_logo(motif: Motif, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> pd.DataFrame:
    """Information-content matrix of a known motif, ready for :func:`save_logos`.

    Returns
    -------
    pandas.DataFrame, shape (width, 4)
        Columns A, C, G, T; each row's letters stack to the position's
        information content in bits.
    """
    probabilities = pd.DataFrame(motif.probabilities(pseudocount).T, columns=list(BASES))
    return logomaker.transform_matrix(probabilities, from_type="probability",
                                      to_type="information")


def filter_logo(weights: np.ndarray) -> pd.DataFrame:
    """Centred weight matrix of a learned filter, ready for :func:`save_logos`.

    Parameters
    ----------
    weights : numpy.ndarray, shape (4, width)
        One first-layer filter, rows A, C, G, T (``model.filters.weight[i]``).

    Returns
    -------
    pandas.DataFrame, shape (width, 4)
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] != 4:
        raise ValueError(f"expected a (4, width) filter, got shape {weights.shape}")
    centred = weights - weights.mean(axis=0, keepdims=True)
    return pd.DataFrame(centred.T, columns=list(BASES))


def save_logos(logos: Sequence[pd.DataFrame], path: str | os.PathLike, *,
               titles: Sequence[str] | None = None, ylabel: str = "bits",
               dpi: int = 100) -> None:
    """Draw logos one above the other and write the figure as PNG, atomically.

    Parameters
    ----------
    logos : sequence of pandas.DataFrame, each shape (width, 4)
        From :func:`motif_logo` or :func:`filter_logo`.
    path : str or os.PathLike
        PNG file.
    titles : sequence of str, optional
        One per logo.
    ylabel : str
        Label of every y axis (``bits`` for motifs, ``weight`` for filters).
    dpi : int
    """
    if not logos:
        raise ValueError("no logos to draw")
    if titles is not None and len(titles) != len(logos):
        raise ValueError(f"{len(titles)} titles for {len(logos)} logos")
    widest = max(len(logo) for logo in logos)
    figure = Figure(figsize=(max(4.0, 0.4 * widest), 1.8 * len(logos)), layout="constrained")
    axes = figure.subplots(len(logos), 1, squeeze=False)[:, 0]
    for number, (logo, ax) in enumerate(zip(logos, axes, strict=True)):
        logomaker.Logo(logo.reset_index(drop=True), ax=ax, color_scheme="classic")
        ax.set_xlim(-0.5, widest - 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.spines[["top", "right"]].set_visible(False)
        if titles is not None:
            ax.set_title(titles[number], loc="left", fontsize=10)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=dpi)
