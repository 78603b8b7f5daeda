"""Element–gene pairs grouped into loci: one locus per gene and cell type, in genomic order.

The tested elements of one gene form its locus (with ``neighbourhood_kb``,
joined by the table's other elements near its TSS). Each element sits at its
signed offset from the gene's TSS (``distanceToTSS`` with the sign of the
element centre minus the TSS; the centre distance when the column is
absent), and the TSS itself is one more position in the walk, where the
promoter's own kick enters. A zero-length element (``chromEnd ==
chromStart``) is a point at ``chromStart``. A pair whose gene has no TSS
(empty ``startTSS``) belongs to no locus: it cannot be placed, so it gets no
effect (NaN), and none of its other columns are read. Loci of similar size
share a bucket, so padding stays small: one bucket is a set of equally long
tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from genoseq.enhancers.table import (
    LABEL,
    check_feature_names,
    feature_view,
    file_line,
    numeric_column,
    tss_positions,
)
from genoseq.io import InvalidFileError

#: Per-element signals, read as log(value + :data:`PSEUDOCOUNT`).
SIGNAL_COLUMNS = ("DHS.RPM", "H3K27ac.RPM", "H3K27ac.RPM.expandedRegion", "H3K4me1.RPM",
                  "CTCF.RPM", "H3K27me3.RPM")
#: Per-element features used as they are.
PLAIN_COLUMNS = ("DHS.percentile", "H3K27ac.percentile", "H3K27ac_peak_overlap",
                 "H3K4me1_peak_overlap", "CTCF_peak_overlap", "H3K27me3_peak_overlap")
#: Per-gene annotation read at the promoter.
GENE_COLUMNS = ("measuredGeneUbiquitousExpressed",)
PSEUDOCOUNT = 0.1


@dataclass
class LocusBucket:
    """Loci of similar size as padded tensors; ``n`` loci, ``length`` slots each.

    Attributes
    ----------
    element_features : torch.Tensor, shape (n, length, n_element_features)
        Transformed, unscaled features; zero at the TSS and padding slots.
    gene_features : torch.Tensor, shape (n, n_gene_features)
    positions : torch.Tensor, shape (n, length)
        Offset from the TSS in kb, ascending; padding repeats the last position.
    is_element : torch.Tensor, shape (n, length), bool
    tss_index : torch.Tensor, shape (n,), int64
        Slot of the TSS in each row.
    rows : torch.Tensor, shape (n, length), int64
        Row position in the table of each tested pair's slot; -1 at the TSS,
        at padding and at untested neighbours (elements that kick but are
        no pair of this gene).
    """

    element_features: torch.Tensor
    gene_features: torch.Tensor
    positions: torch.Tensor
    is_element: torch.Tensor
    tss_index: torch.Tensor
    rows: torch.Tensor

    def to(self, device: torch.device | str) -> LocusBucket:
        return LocusBucket(**{name: getattr(self, name).to(device)
                              for name in self.__dataclass_fields__})

    def gather(self, values: np.ndarray, fill: float = 0.0) -> torch.Tensor:
        """Per-row ``values`` laid out like the slots, shape ``(n, length)``; ``fill`` elsewhere."""
        rows = self.rows.cpu().numpy()
        laid_out = np.where(rows >= 0, values[np.maximum(rows, 0)], fill)
        return torch.as_tensor(laid_out, dtype=torch.float32)


@dataclass
class Loci:
    """All loci of a table: buckets of tensors plus the locus names.

    Attributes
    ----------
    buckets : list of LocusBucket
    names : list of list of (str, str)
        ``(cell type, gene)`` of each locus in each bucket.
    n_rows : int
        Rows of the table the loci were built from.
    """

    buckets: list[LocusBucket]
    names: list[list[tuple[str, str]]]
    n_rows: int

    def scatter(self, per_bucket: Sequence[torch.Tensor]) -> np.ndarray:
        """Slot values ``(n, length)`` per bucket back to one value per table row.

        Rows in no locus (their gene has no TSS) get NaN.
        """
        out = np.full(self.n_rows, np.nan)
        for bucket, values in zip(self.buckets, per_bucket, strict=True):
            rows = bucket.rows.cpu().numpy()
            keep = rows >= 0
            out[rows[keep]] = values.detach().cpu().double().numpy()[keep]
        return out

    def find(self, gene: str, cell_type: str | None = None) -> tuple[int, int]:
        """(bucket, row in bucket) of a gene's locus; KeyError if absent or ambiguous."""
        hits = [(b, i) for b, names in enumerate(self.names) for i, (cell, name) in enumerate(names)
                if name == gene and (cell_type is None or cell == cell_type)]
        if len(hits) != 1:
            found = "no locus" if not hits else f"{len(hits)} loci (give a cell type)"
            raise KeyError(f"{found} for gene {gene!r}")
        return hits[0]


def element_offsets(table: pd.DataFrame, source: str) -> np.ndarray:
    """Signed offset of each element centre from its gene's TSS, bp, shape ``(rows,)``.

    A zero-length element's centre is its ``chromStart``. NaN where the
    gene has no TSS (``distanceToTSS`` is not read there).
    """
    centre = (numeric_column(table, "chromStart", source)
              + numeric_column(table, "chromEnd", source)) / 2
    side = centre - tss_positions(table, source)
    if "distanceToTSS" in table.columns:
        placed = ~np.isnan(side)
        side[placed] = (np.sign(side[placed])
                        * np.abs(numeric_column(table[placed], "distanceToTSS", source)))
    return side


def element_feature_matrix(table: pd.DataFrame, columns: Sequence[str],
                           source: str) -> np.ndarray:
    """Features of each element, ``(rows, len(columns))`` float64; signals log-transformed."""
    check_feature_names(columns)
    view = feature_view(table)
    features = []
    for column in columns:
        values = numeric_column(view, column, source)
        if column in SIGNAL_COLUMNS:
            if (values < 0).any():
                first = int(np.flatnonzero(values < 0)[0])
                raise InvalidFileError(source, file_line(view, first),
                                       f"{column} {values[first]} is negative")
            values = np.log(values + PSEUDOCOUNT)
        features.append(values)
    return np.stack(features, axis=1) if features else np.zeros((len(table), 0))


def _neighbours(view: pd.DataFrame, element_features: np.ndarray,
                groups: dict[tuple[str, str], list[int]], window_kb: float
                ) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Untested elements near each locus's TSS: (offsets in kb, feature rows) per locus.

    The elements are the distinct ``(chrom, chromStart, chromEnd)`` of the
    table in the locus's cell type; an element tested for the locus's gene
    is not repeated. Offsets are element centre minus the gene's TSS
    (``startTSS``), taken from the coordinates.
    """
    chrom = view["chrom"].astype(str).to_numpy()
    cell = view["CellType"].astype(str).to_numpy()
    start = view["chromStart"].to_numpy(dtype=np.int64)
    end = view["chromEnd"].to_numpy(dtype=np.int64)
    centre = (start + end) / 2.0
    tss = tss_positions(view)
    # One row per element (its first); the frame's index is the row position in ``view``.
    first = pd.DataFrame({"c": cell, "h": chrom, "s": start, "e": end}).drop_duplicates()
    positions = first.index.to_numpy()
    universe: dict[tuple[str, str], np.ndarray] = {}
    for key, found in first.groupby(["c", "h"]).indices.items():
        rows = positions[found]
        universe[key] = rows[np.argsort(centre[rows], kind="stable")]
    out = {}
    for key, rows in groups.items():
        row = rows[0]
        candidates = universe[(cell[row], chrom[row])]
        offsets = (centre[candidates] - tss[row]) / 1000.0
        near = np.abs(offsets) <= window_kb
        tested = set(zip(start[rows], end[rows], strict=True))
        untested = np.asarray([(start[c], end[c]) not in tested for c in candidates], dtype=bool)
        keep = candidates[near & untested]
        out[key] = (offsets[near & untested], element_features[keep])
    return out


def build_loci(table: pd.DataFrame, element_columns: Sequence[str] = SIGNAL_COLUMNS + PLAIN_COLUMNS,
               gene_columns: Sequence[str] = GENE_COLUMNS, *, source: str = "<table>",
               max_slots: int = 8192, neighbourhood_kb: float = 0.0) -> Loci:
    """Group pairs into loci (gene × cell type), sorted by offset, in size buckets.

    Parameters
    ----------
    table : pandas.DataFrame
        As from :func:`~genoseq.enhancers.table.read_pairs`; label columns are
        dropped before anything is read.
    element_columns, gene_columns : sequence of str
        Feature columns; label columns are refused (ValueError).
    source : str
        Name for error messages.
    max_slots : int
        Loci are ordered by size and cut into buckets of at most this many
        padded slots (a locus larger than that gets a bucket of its own).
    neighbourhood_kb : float
        If positive, every other element of the table (distinct
        coordinates, same chromosome and cell type) whose centre lies within
        this many kb of the gene's TSS joins the locus as an untested
        element: it kicks, but it is no pair (``rows`` is -1 there).
        0: a locus holds only the gene's tested elements.

    Returns
    -------
    Loci
        Over all rows of ``table``; a row whose gene has no TSS is in no locus.
    """
    check_feature_names([*element_columns, *gene_columns])
    view = feature_view(table)
    absent = [c for c in (*element_columns, *gene_columns) if c not in view.columns]
    if absent:
        raise InvalidFileError(source, 1, f"missing column(s) {', '.join(absent)}, "
                               "which the model reads")
    offsets_kb = element_offsets(view, source) / 1000.0
    # Positions in ``table`` of the rows that can be placed; everything below indexes them.
    placed = np.flatnonzero(~np.isnan(offsets_kb))
    view, offsets_kb = view.iloc[placed], offsets_kb[placed]
    element_features = element_feature_matrix(view, element_columns, source)
    gene_features = (np.stack([numeric_column(view, c, source) for c in gene_columns], axis=1)
                     if gene_columns else np.zeros((len(view), 0)))
    keys = list(zip(view["CellType"].astype(str), view["measuredGeneSymbol"].astype(str),
                    strict=True))
    groups: dict[tuple[str, str], list[int]] = {}
    for row, key in enumerate(keys):
        groups.setdefault(key, []).append(row)
    empty = (np.zeros(0), np.zeros((0, element_features.shape[1])))
    extra = (_neighbours(view, element_features, groups, neighbourhood_kb)
             if neighbourhood_kb > 0 else {})
    sizes = {key: len(rows) + len(extra.get(key, empty)[0]) for key, rows in groups.items()}
    loci = sorted(groups.items(), key=lambda item: (sizes[item[0]], item[0]))
    chunks: list[list] = []
    for locus in loci:
        # Sorted by size, so this locus sets the padded length of its bucket.
        if not chunks or (len(chunks[-1]) + 1) * (sizes[locus[0]] + 1) > max_slots:
            chunks.append([])
        chunks[-1].append(locus)
    buckets, names = [], []
    for chunk in chunks:
        length = sizes[chunk[-1][0]] + 1
        n = len(chunk)
        feats = np.zeros((n, length, element_features.shape[1]), dtype=np.float32)
        genes = np.zeros((n, gene_features.shape[1]), dtype=np.float32)
        positions = np.zeros((n, length), dtype=np.float64)
        is_element = np.zeros((n, length), dtype=bool)
        tss_index = np.zeros(n, dtype=np.int64)
        rows_out = np.full((n, length), -1, dtype=np.int64)
        for i, (key, rows) in enumerate(chunk):
            rows = np.asarray(rows)
            other_offsets, other_features = extra.get(key, empty)
            offsets = np.concatenate([offsets_kb[rows], other_offsets])
            features = np.concatenate([element_features[rows], other_features])
            row_ids = np.concatenate([placed[rows], np.full(len(other_offsets), -1)])
            order = np.argsort(offsets, kind="stable")
            offsets, features, row_ids = offsets[order], features[order], row_ids[order]
            count = len(offsets)
            tss = int(np.searchsorted(offsets, 0.0, side="left"))
            slots = np.concatenate([np.arange(tss), np.arange(tss + 1, count + 1)])
            feats[i, slots] = features
            positions[i, slots] = offsets
            positions[i, count + 1:] = positions[i, count]
            is_element[i, slots] = True
            tss_index[i] = tss
            rows_out[i, slots] = row_ids
            # A gene may list its annotation on every row; the first one is used.
            genes[i] = gene_features[rows[0]]
        buckets.append(LocusBucket(
            element_features=torch.from_numpy(feats), gene_features=torch.from_numpy(genes),
            positions=torch.from_numpy(positions.astype(np.float32)),
            is_element=torch.from_numpy(is_element), tss_index=torch.from_numpy(tss_index),
            rows=torch.from_numpy(rows_out)))
        names.append([key for key, _ in chunk])
    return Loci(buckets=buckets, names=names, n_rows=len(table))


def labels(table: pd.DataFrame, source: str = "<table>") -> np.ndarray:
    """The ``Regulated`` label of each row as 0/1 floats (for training and scoring only)."""
    return numeric_column(table, LABEL, source)
