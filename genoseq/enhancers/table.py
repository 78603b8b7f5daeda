"""Reading CRISPRi element–gene pair tables and checking what may be a feature.

The table format is the ENCODE-rE2G / CRISPR_comparison benchmark's
(``EPCrisprBenchmark``): one row per element–gene pair with the element's
coordinates, the target gene's TSS and per-element chromatin signals. A screen
file also carries the measured outcome (:data:`LABEL_COLUMNS`); those columns,
or anything derived from them, are never features: :func:`feature_view`
drops them and :func:`check_feature_names` refuses them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
import pandas as pd

from genoseq.io import InvalidFileError, open_input

#: The screen's outcome and what derives from it: never model inputs.
LABEL_COLUMNS = ("EffectSize", "Significant", "pValueAdjusted", "PowerAtEffectSize25",
                 "Regulated")
#: The label a trained model is scored against.
LABEL = "Regulated"
#: Columns every pair needs: the element, the target gene and its TSS, the cell type.
REQUIRED_COLUMNS = ("chrom", "chromStart", "chromEnd", "startTSS", "measuredGeneSymbol",
                    "CellType")
#: The unique key of a pair.
PAIR_KEY = ("chrom", "chromStart", "chromEnd", "measuredGeneSymbol", "CellType")
#: How a missing ``startTSS`` is written (any case): empty, as in the benchmark's own
#: files, or R's ``NA``. Such a pair is kept but cannot be scored.
MISSING_TSS = ("", "na")

_TRUE = {"true", "t", "1", "yes"}
_FALSE = {"false", "f", "0", "no"}


def check_feature_names(names: Iterable[str]) -> None:
    """Raise ValueError if any of ``names`` is a label or label-derived column."""
    refused = sorted(set(names) & set(LABEL_COLUMNS))
    if refused:
        raise ValueError(f"{', '.join(refused)} cannot be features: they are, or derive "
                         f"from, the screen's outcome ({', '.join(LABEL_COLUMNS)})")


def feature_view(table: pd.DataFrame) -> pd.DataFrame:
    """The table without its label columns: the only thing features are built from."""
    return table.drop(columns=[c for c in LABEL_COLUMNS if c in table.columns])


def file_line(table: pd.DataFrame, position: int) -> int:
    """1-based file line of row ``position`` (the header is line 1)."""
    return int(table.index[position]) + 2


def numeric_column(table: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """A column as float64, with a one-line error naming the first bad value.

    Booleans written as TRUE/FALSE (any case) become 1/0.

    Raises
    ------
    InvalidFileError
        The column is missing, or a value is empty, not a number or not finite.
    """
    if column not in table.columns:
        raise InvalidFileError(source, 1, f"missing column {column!r}")
    values = table[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=np.float64)
    text = values.astype(str).str.strip().str.lower()
    as_bool = text.map(lambda v: 1.0 if v in _TRUE else 0.0 if v in _FALSE else np.nan)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    numbers = np.where(np.isnan(numbers), as_bool.to_numpy(dtype=np.float64), numbers)
    bad = ~np.isfinite(numbers)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidFileError(source, file_line(table, first),
                               f"column {column!r}: {values.iloc[first]!r} is not a number")
    return numbers


def tss_positions(table: pd.DataFrame, source: str = "<table>") -> np.ndarray:
    """Each pair's ``startTSS`` as float64, NaN where the table gives none (:data:`MISSING_TSS`).

    Raises
    ------
    InvalidFileError
        The column is missing, or a value is neither missing nor a finite number.
    """
    if "startTSS" not in table.columns:
        raise InvalidFileError(source, 1, "missing column 'startTSS'")
    values = table["startTSS"]
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = (values.isna() | values.astype(str).str.strip().str.lower().isin(MISSING_TSS)
               ).to_numpy()
    out = np.full(len(table), np.nan)
    out[~missing] = numeric_column(table[~missing], "startTSS", source)
    return out


def has_tss(table: pd.DataFrame, source: str = "<table>") -> np.ndarray:
    """Boolean mask, ``(rows,)``: the pairs whose gene has a TSS, the only ones that can be scored."""
    return ~np.isnan(tss_positions(table, source))


def read_pairs(path: str | os.PathLike | BinaryIO) -> pd.DataFrame:
    """Read an element–gene pair table (tab-separated; plain, gzip, bz2 or xz).

    Parameters
    ----------
    path : str, os.PathLike or binary stream
        ``-`` reads standard input.

    Returns
    -------
    pandas.DataFrame
        Every column as in the file (the label columns too, if present); the
        index is the 0-based data row, so row ``i`` is file line ``i + 2``.
        ``chromStart`` and ``chromEnd`` are integers; so is ``startTSS``,
        nullable (``Int64``, ``<NA>`` where missing) if any pair lacks it.

    Raises
    ------
    InvalidFileError
        Empty or unparsable file, a missing required column, bad
        coordinates (``chromEnd`` below ``chromStart``; equal is a
        zero-length element, a point at ``chromStart``), an element on
        another chromosome than its gene (``chrTSS``), or a pair listed twice.
        A missing ``startTSS`` (empty or ``NA``) is not an error: the pair is
        kept, and scoring leaves it unscored.
    """
    with open_input(path) as handle:
        source = handle.name
        try:
            table = pd.read_csv(handle, sep="\t", dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise InvalidFileError(source, None, "empty file, expected a tab-separated "
                                   "table with a header line") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            message = str(error).strip().splitlines()[-1]
            raise InvalidFileError(source, None, f"not a tab-separated table: {message}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InvalidFileError(source, 1, f"missing column(s) {', '.join(missing)}; "
                               f"expected an element-gene pair table with {', '.join(REQUIRED_COLUMNS)}")
    if table.empty:
        raise InvalidFileError(source, None, "no element-gene pairs below the header")
    for column in ("chrom", "measuredGeneSymbol", "CellType"):
        empty = (table[column].str.strip() == "").to_numpy()
        if empty.any():
            raise InvalidFileError(source, file_line(table, int(np.flatnonzero(empty)[0])),
                                   f"empty {column!r}")
    tss = tss_positions(table, source)
    coordinates = {}
    for column in ("chromStart", "chromEnd", "startTSS"):
        values = tss if column == "startTSS" else numeric_column(table, column, source)
        present = ~np.isnan(values)
        bad = present & ((values < 0) | (values != np.round(values)))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InvalidFileError(source, file_line(table, first),
                                   f"{column} {table[column].iloc[first]!r} is not a "
                                   f"non-negative integer")
        coordinates[column] = (values.astype(np.int64) if present.all()
                               else pd.array(values, dtype="Int64"))
    # chromEnd == chromStart is a zero-length element (valid BED): a point at chromStart.
    reversed_ = coordinates["chromEnd"] < coordinates["chromStart"]
    if reversed_.any():
        first = int(np.flatnonzero(reversed_)[0])
        raise InvalidFileError(source, file_line(table, first),
                               f"chromEnd {table['chromEnd'].iloc[first].strip()} is below "
                               f"chromStart {table['chromStart'].iloc[first].strip()}")
    if "chrTSS" in table.columns:
        # A pair without a TSS may name no TSS chromosome either.
        other = (table["chrTSS"] != table["chrom"]).to_numpy() & ~np.isnan(tss)
        if other.any():
            first = int(np.flatnonzero(other)[0])
            raise InvalidFileError(source, file_line(table, first),
                                   f"element on {table['chrom'].iloc[first]} but its gene's "
                                   f"TSS on {table['chrTSS'].iloc[first]}")
    table = table.assign(**coordinates)
    duplicated = table.duplicated(list(PAIR_KEY)).to_numpy()
    if duplicated.any():
        first = int(np.flatnonzero(duplicated)[0])
        raise InvalidFileError(source, file_line(table, first),
                               "element-gene pair listed twice (same chrom, chromStart, "
                               "chromEnd, measuredGeneSymbol, CellType)")
    return table
