"""``plot_locus``: the integrated state along one gene's locus, its kicks and (if any) the readout window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from genoseq.enhancers.model import EnhancerModel, load_enhancer_model
from genoseq.enhancers.predict import loci_for
from genoseq.enhancers.table import has_tss


def _locus_table(table: pd.DataFrame, gene: str, cell_type: str | None) -> pd.DataFrame:
    keep = table["measuredGeneSymbol"] == gene
    if cell_type is not None:
        keep &= table["CellType"] == cell_type
    subset = table[keep]
    where = "" if cell_type is None else f" in cell type {cell_type!r}"
    if subset.empty:
        raise KeyError(f"no pairs for gene {gene!r}{where}")
    placed = has_tss(subset)
    if not placed.any():
        raise KeyError(f"gene {gene!r}{where} has no TSS (empty startTSS): its locus "
                       "cannot be drawn")
    # The other pairs of the chromosome bring the neighbourhood's untested elements.
    chrom = subset["chrom"].iloc[0]
    cells = subset["CellType"].unique()
    nearby = table[(table["chrom"] == chrom) & table["CellType"].isin(cells)]
    return nearby[has_tss(nearby)]


def plot_locus(table: pd.DataFrame, gene: str, model: EnhancerModel | None = None, *,
               cell_type: str | None = None, ax: Axes | None = None,
               grid_points: int = 500) -> Figure:
    """Draw the state a promoter would receive along a gene's locus.

    The line is the two-way integrated state at every point of the locus
    (log scale), the shaded band the sweet-spot window, if the model has one (for a monotone
    readout: the threshold), the stems the element kicks (right axis),
    coloured by the element's effect on the gene, and the dot the state at
    the gene's own TSS.

    Parameters
    ----------
    table : pandas.DataFrame
        Element–gene pairs (label columns are not read).
    gene : str
        ``measuredGeneSymbol`` of the locus.
    model : EnhancerModel, optional
        Default: the shipped model.
    cell_type : str, optional
        Needed when the gene has pairs in several cell types.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure.
    grid_points : int
        Points along the locus at which the state is evaluated.

    Returns
    -------
    matplotlib.figure.Figure
        Save it with ``figure.savefig("locus.png")``.

    Raises
    ------
    KeyError
        The gene has no pairs in ``table`` (or in ``cell_type``), no TSS, or
        several cell types and none was given.
    """
    if model is None:
        model, _ = load_enhancer_model()
    model = model.cpu().eval()
    loci = loci_for(model, _locus_table(table, gene, cell_type))
    bucket_index, row = loci.find(gene, cell_type)
    bucket = loci.buckets[bucket_index]
    with torch.inference_mode():
        response = model(bucket)
        real = bucket.positions.shape[1]
        kicks = response.kicks[row]
        positions = bucket.positions[row]
        is_element = bucket.is_element[row].numpy()
        effects = response.effects[row].numpy()
        span = float(positions.max() - positions.min()) or 1.0
        grid = torch.linspace(float(positions.min()) - 0.05 * span,
                              float(positions.max()) + 0.05 * span, grid_points)
        merged, order = torch.sort(torch.cat([positions, grid]), stable=True)
        merged_kicks = torch.cat([kicks, torch.zeros(grid_points)])[order]
        merged_pass = torch.cat([response.log_pass[row], torch.zeros(grid_points)])[order]
        state = model.integrator(merged_kicks.unsqueeze(0), merged.unsqueeze(0),
                                 merged_pass.unsqueeze(0))[0]
        # Grid points only: there the state is what a promoter placed there would receive.
        on_grid = (order >= real).numpy()
        low, high = (float(edge.exp()) for edge in model.readout.window()[:2])
        tss_state = float(response.log_input[row].exp())
        promoter_response = float(model.readout(response.log_input[row]))

    if ax is None:
        figure = Figure(figsize=(9, 4), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    x = positions.numpy()
    ax.plot(merged.numpy()[on_grid], state.numpy()[on_grid], color="black", lw=1.2,
            label="integrated state")
    if not model.config.saturation:
        pass  # the log readout has no window to draw
    elif model.config.readout.monotone:
        ax.axhline(low, color="tab:green", ls="--", label="threshold")
    else:
        ax.axhspan(low, high, color="tab:green", alpha=0.15, label="sweet spot")
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.plot([0.0], [tss_state], "o", color="black", label=f"TSS ({gene})")
    ax.set_yscale("log")
    ax.set_xlabel("offset from TSS (kb)")
    ax.set_ylabel("state")
    kick_ax = ax.twinx()
    colours = np.where(effects[is_element] >= 0, "tab:red", "tab:blue")
    kick_ax.vlines(x[is_element], 0, kicks.numpy()[is_element], colors=colours, lw=1.5)
    kick_ax.set_ylim(bottom=0)
    kick_ax.set_ylabel("element kick (red: effect > 0, blue: < 0)")
    ax.set_title(f"{gene}: {int(is_element.sum())} elements, "
                 f"response {promoter_response:.3f}")
    ax.legend(loc="upper left", fontsize="small")
    return figure
