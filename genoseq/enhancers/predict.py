"""Element effects and scores of element–gene pairs with a trained enhancer model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from genoseq.device import ComputeOptions
from genoseq.enhancers.loci import Loci, build_loci
from genoseq.enhancers.model import EnhancerModel, load_enhancer_model
from genoseq.enhancers.table import has_tss
from genoseq.io import GenoseqWarning

SCORE_COLUMN = "genoseq_score"


def loci_for(model: EnhancerModel, table: pd.DataFrame, source: str = "<table>") -> Loci:
    """The loci of ``table`` with the feature columns ``model`` was trained on."""
    return build_loci(table, model.config.element_columns, model.config.gene_columns,
                      source=source, neighbourhood_kb=model.config.neighbourhood_kb)


def element_effects_and_scores(model: EnhancerModel, loci: Loci, *,
                               compute: ComputeOptions | None = None
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Effect and ranking score of each pair's element, one forward pass per locus bucket.

    Each a value per table row, ``(rows,)``, NaN for a pair whose gene has
    no TSS (it belongs to no locus). The effect: positive when removing the
    element lowers the promoter's response (a CRISPRi knock-down would
    reduce expression), negative when it raises it (the state was above the
    sweet spot). The score: ``|effect|``, or the logit of a pair-readout
    model (:meth:`EnhancerModel.pair_scores`).

    Parameters
    ----------
    model : EnhancerModel
    loci : Loci
        The pairs, as built by :func:`loci_for`.
    compute : ComputeOptions, optional
        Device (None: CUDA if present, else MPS, else the CPU) and threads.
        Every locus bucket is one forward pass in float32, so
        ``batch_size``, ``precision`` and ``progress`` are not used.
    """
    device = (ComputeOptions() if compute is None else compute).torch_device()
    model = model.to(device).eval()
    effects, scores = [], []
    with torch.inference_mode():
        for bucket in loci.buckets:
            response = model(bucket.to(device))
            effects.append(response.effects)
            scores.append(model.pair_scores(response))
    return loci.scatter(effects), loci.scatter(scores)


def pair_inputs(model: EnhancerModel, loci: Loci) -> np.ndarray:
    """The pair readout's inputs per table row, ``(rows, features)`` (NaN rows: no TSS).

    See :meth:`EnhancerModel.pair_inputs`; computed on the CPU.
    """
    model = model.cpu().eval()
    columns = []
    with torch.inference_mode():
        per_bucket = [model.pair_inputs(bucket.to(torch.device("cpu")))
                      for bucket in loci.buckets]
    n_features = per_bucket[0].shape[-1] if per_bucket else 0
    for column in range(n_features):
        columns.append(loci.scatter([values[..., column] for values in per_bucket]))
    return np.column_stack(columns) if columns else np.empty((loci.n_rows, 0))


def element_effects(model: EnhancerModel, loci: Loci, *,
                    compute: ComputeOptions | None = None) -> np.ndarray:
    """The effects of :func:`element_effects_and_scores`."""
    return element_effects_and_scores(model, loci, compute=compute)[0]


def element_scores(model: EnhancerModel, loci: Loci, *,
                   compute: ComputeOptions | None = None) -> np.ndarray:
    """The ranking scores of :func:`element_effects_and_scores`."""
    return element_effects_and_scores(model, loci, compute=compute)[1]


def score_enhancer_pairs(table: pd.DataFrame, model: EnhancerModel | None = None, *,
                         compute: ComputeOptions | None = None, source: str = "<table>"
                         ) -> pd.DataFrame:
    """The table with a :data:`SCORE_COLUMN` column, higher = more likely regulated.

    The score is the element's effect ``|effect|``, or for a model with a
    pair readout the logit of P(regulated) (:meth:`EnhancerModel.pair_scores`).

    Every row is kept. A pair whose gene has no TSS (empty ``startTSS``)
    cannot be placed in a locus: its score is NaN, and one
    :class:`~genoseq.io.GenoseqWarning` says how many pairs that is.

    Parameters
    ----------
    table : pandas.DataFrame
        Element–gene pairs (see :func:`~genoseq.enhancers.table.read_pairs`);
        label columns, if present, are kept in the output but never read.
    model : EnhancerModel, optional
        Default: the shipped model.
    compute : ComputeOptions, optional
        Device and threads, as in :func:`element_effects`.
    source : str
        Name of the table in error messages.
    """
    if model is None:
        model, _ = load_enhancer_model()
    scores = element_scores(model, loci_for(model, table, source), compute=compute)
    unplaced = int((~has_tss(table, source)).sum())
    if unplaced:
        warnings.warn(f"{source}: {unplaced} of {len(table)} pairs have no TSS (empty "
                      f"startTSS) and cannot be scored; their {SCORE_COLUMN} is left empty",
                      GenoseqWarning, stacklevel=2)
    return table.assign(**{SCORE_COLUMN: scores})
