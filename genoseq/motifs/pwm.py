"""Motif matrices: reading JASPAR and MEME files, and position weight matrices.

A :class:`Motif` keeps the counts of a position frequency matrix (PFM), rows
A, C, G, T and one column per motif position. Log-odds scores are in bits
(log2), as in Biopython and JASPAR, so scores agree with
:class:`Bio.motifs.matrix.PositionSpecificScoringMatrix`.

Pseudocounts are given as a total per column and spread over the bases by
the background: ``p[b, j] = (count[b, j] + pseudocount * background[b]) /
(column_total[j] + pseudocount)``, which is what Biopython's
``counts.normalize(pseudocounts={b: pseudocount * background[b]})`` computes.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from Bio import motifs as bio_motifs

from genoseq.io.compression import open_input
from genoseq.io.errors import InvalidFileError

__all__ = [
    "BASES",
    "DEFAULT_PSEUDOCOUNT",
    "Motif",
    "as_background",
    "read_motifs",
    "select_motifs",
]

#: Row order of every motif matrix.
BASES = "ACGT"

#: Pseudocount added to every column (spread over the bases by the background).
DEFAULT_PSEUDOCOUNT = 1.0

UNIFORM = np.full(4, 0.25)

_MEME_MOTIF_LINE = re.compile(r"^MOTIF[ \t]+(\S+)(?:[ \t]+(\S+))?", re.MULTILINE)


#: Factor on the centred PWM log2-odds loaded as filters. Raw log2-odds of a
#: 15-bp motif span about -77 to +23 (MA0139.2), far beyond the weights of a random
#: filter, and fire on almost no window of a random sequence; loaded like that,
#: the PWM filters barely learn. Centred per position (a random base scores 0
#: on average) and scaled by 0.1 they train like the others. CTCF validation
#: AUROC, seed 0: raw 0.965, x0.1 0.973, centred x0.1 0.975 (genoseq/weights/ctcf.md).
DEFAULT_INIT_SCALE = 0.1

def as_background(background: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """Check and normalise a background base distribution.

    Parameters
    ----------
    background : sequence of 4 floats, or None
        Frequencies of A, C, G, T (rescaled to sum to 1); None: uniform.

    Returns
    -------
    numpy.ndarray of float64, shape (4,)
    """
    if background is None:
        return UNIFORM.copy()
    values = np.asarray(background, dtype=np.float64)
    if values.shape != (4,) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"background must be 4 positive frequencies (A, C, G, T), got {background!r}")
    return values / values.sum()


@dataclass(frozen=True, eq=False)
class Motif:
    """A position frequency matrix with its identifiers.

    Attributes
    ----------
    id : str
        Matrix id, e.g. ``MA0139.2``.
    name : str
        Factor name, e.g. ``CTCF`` (the id again when the file gives none).
    counts : numpy.ndarray of float64, shape (4, width)
        Counts (or frequencies) of A, C, G, T at each motif position.
    """

    id: str
    name: str
    counts: np.ndarray

    @property
    def width(self) -> int:
        return self.counts.shape[1]

    def probabilities(self, pseudocount: float = DEFAULT_PSEUDOCOUNT,
                      background: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """Base probabilities per position, with pseudocounts.

        Returns
        -------
        numpy.ndarray of float64, shape (4, width)
            Columns sum to 1.
        """
        background = as_background(background)
        if pseudocount < 0:
            raise ValueError(f"pseudocount must be >= 0, got {pseudocount}")
        counts = self.counts + pseudocount * background[:, None]
        return counts / counts.sum(axis=0, keepdims=True)

    def log_odds(self, pseudocount: float = DEFAULT_PSEUDOCOUNT,
                 background: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """Position weight matrix: log2 of probability over background.

        Returns
        -------
        numpy.ndarray of float64, shape (4, width)
            ``-inf`` where a base has probability 0 (only with ``pseudocount=0``).
        """
        background = as_background(background)
        with np.errstate(divide="ignore"):
            return np.log2(self.probabilities(pseudocount, background) / background[:, None])

    def information(self, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
        """Information content of each position in bits (uniform background).

        Returns
        -------
        numpy.ndarray of float64, shape (width,)
            Between 0 and 2.
        """
        probabilities = self.probabilities(pseudocount)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.nansum(probabilities * np.log2(probabilities), axis=0)
        return 2.0 - entropy


def _detect_format(text: str, path: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise InvalidFileError(path, None, "empty file, expected JASPAR or MEME motifs")
    if first.startswith(">"):
        return "jaspar"
    if first.startswith("MEME version"):
        return "minimal"
    line = text.splitlines().index(first) + 1
    raise InvalidFileError(path, line, f"expected a JASPAR '>ID NAME' header or 'MEME version', "
                           f"found {first[:40]!r}")


def _checked_counts(bio_motif, path: str, label: str) -> np.ndarray:
    try:
        counts = np.array([bio_motif.counts[base] for base in BASES], dtype=np.float64)
    except (KeyError, ValueError) as error:
        raise InvalidFileError(path, None, f"motif {label}: expected rows A, C, G, T of equal "
                               f"length ({error})") from None
    if counts.ndim != 2 or counts.shape[1] == 0:
        raise InvalidFileError(path, None, f"motif {label} has no positions")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise InvalidFileError(path, None, f"motif {label} has negative or non-numeric counts")
    empty = np.flatnonzero(counts.sum(axis=0) <= 0)
    if len(empty):
        raise InvalidFileError(path, None, f"motif {label}: position {empty[0] + 1} has no counts")
    return counts


def read_motifs(path: str | os.PathLike) -> list[Motif]:
    """Read every motif of a JASPAR or MEME (minimal) motif file.

    The format is recognised from the first non-blank line (``>`` for
    JASPAR, ``MEME version`` for MEME); files may be compressed. MEME
    probabilities are turned into counts with the motif's ``nsites``
    (Biopython's convention), so pseudocounts weigh as for a JASPAR file.

    Parameters
    ----------
    path : str or os.PathLike
        Motif file (``-`` for standard input).

    Returns
    -------
    list of Motif
        In file order.

    Raises
    ------
    InvalidFileError
        Unknown format, no motifs, or a malformed matrix.
    """
    with open_input(path) as handle:
        raw = handle.read()
    name = os.fspath(path)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise InvalidFileError(name, None, f"not a text motif file (byte {error.start} is not "
                               "ASCII)") from None
    fmt = _detect_format(text, name)
    try:
        parsed = list(bio_motifs.parse(io.StringIO(text), fmt))
    except (ValueError, IndexError, KeyError) as error:
        kind = "JASPAR" if fmt == "jaspar" else "MEME"
        detail = str(error) if len(str(error)) <= 80 else str(error)[:77] + "..."
        raise InvalidFileError(name, None, f"malformed {kind} motif file: {detail}") from None
    if not parsed:
        raise InvalidFileError(name, None, "no complete motif found (expected rows A, C, G, T)")
    if fmt == "jaspar":
        labels = [(m.matrix_id, m.name or m.matrix_id) for m in parsed]
    else:
        # Biopython's MEME reader keeps only the first word of "MOTIF id name".
        headers = _MEME_MOTIF_LINE.findall(text)
        labels = [(motif_id, alt or motif_id) for motif_id, alt in headers[:len(parsed)]]
    return [Motif(motif_id, motif_name, _checked_counts(m, name, motif_id))
            for m, (motif_id, motif_name) in zip(parsed, labels, strict=True)]


def select_motifs(motifs: Sequence[Motif], names: Iterable[str] | str | None) -> list[Motif]:
    """Motifs whose id or name equals one of ``names`` (case-insensitive).

    Parameters
    ----------
    motifs : sequence of Motif
    names : iterable of str, comma-separated str, or None
        None or empty keeps every motif. A name matches every motif with that
        factor name (``CTCF`` gives MA0139.2, MA1929.2 and MA1930.2), an id
        exactly one.

    Returns
    -------
    list of Motif
        In the order of ``motifs``.

    Raises
    ------
    ValueError
        A name matches no motif.
    """
    if isinstance(names, str):
        names = names.split(",")
    wanted = [n.strip() for n in names or () if n.strip()]
    if not wanted:
        return list(motifs)
    keys = {n.upper() for n in wanted}
    unknown = [n for n in wanted
               if not any(n.upper() in (m.id.upper(), m.name.upper()) for m in motifs)]
    if unknown:
        raise ValueError(f"no motif with id or name {', '.join(map(repr, unknown))}")
    return [m for m in motifs if m.id.upper() in keys or m.name.upper() in keys]
