"""Per-base training labels of the gene finder: reference CDS → coding frame class and start flags.

Label convention
----------------
For one sequence of length ``L`` and the CDS annotated on it (coordinates
0-based, ``start`` inclusive, ``end`` exclusive), :func:`coding_labels`
returns two arrays of shape ``(L,)``.

``labels`` (``numpy.int8``), one class per base:

- ``0``: non-coding (no CDS covers the base);
- ``1``, ``2``, ``3``: in a + strand CDS, at codon position 0, 1, 2;
- ``4``, ``5``, ``6``: in a - strand CDS, at codon position 0, 1, 2.

The codon position of a base is its offset within its codon, counted in the
gene's direction from the CDS's 5' end. A + strand CDS ``[s, e)`` reads
``1 2 3 1 2 3 ...`` from base ``s`` (first base of the start codon, class 1)
to base ``e - 1`` (last base of the stop codon, class 3). On the - strand
base ``e - 1`` is the first base of the start codon (class 4), ``e - 2`` is
class 5, ``e - 3`` class 6, ``e - 4`` class 4 again, down to base ``s``, the
last base of the stop codon (class 6): read left to right, a - strand CDS
reads ``... 6 5 4 6 5 4``.

- Multi-segment CDS (ribosomal frameshifts such as *E. coli* prfB): the
  codon position runs on from one segment to the next in transcription
  order; bases between segments get the label of whatever else covers them.
- Partial CDS: the phase ``p`` of the CDS's first segment in transcription
  order (GFF3 column 8; GenBank ``/codon_start`` - 1) is the number of bases
  before the first complete codon, so the coding base at offset ``i`` from
  the 5' end (over all segments) has codon position ``(i - p) mod 3``. Where
  a GFF3 phase is ``.``, a CDS partial at its 5' end but complete at its 3'
  end takes its frame from the 3' end (``p = length mod 3``: the stop codon
  ends the CDS); any other CDS gets ``p = 0``.
- Overlaps: a base covered by several CDS takes the label of the longest one
  (length = coding bases summed over segments); among equally long ones, the
  one with the lower ``start``, then the + strand one. This is deterministic
  and does not depend on file order. :func:`coding_mask` keeps every CDS
  instead (multi-hot).

``starts`` (``numpy.uint8``), bit flags per base:

- ``1``: first base of the start codon of a + strand CDS (base ``start``);
- ``2``: first base, in the gene's direction, of the start codon of a
  - strand CDS (base ``end - 1``; the codon is the reverse complement of bases
  ``end - 3 .. end - 1``).

No flag is set for a CDS partial at its 5' end. Both bits can be set on one
base.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from genoseq.io.cds import CDS

__all__ = ["NUM_CLASSES", "START_MINUS", "START_PLUS", "coding_labels", "coding_mask"]

NUM_CLASSES = 7
START_PLUS = 1
START_MINUS = 2


def _codon_positions(cds: CDS) -> Iterator[tuple[int, int, np.ndarray]]:
    """Per segment: start, end, codon position of each base in ascending coordinate order."""
    offset = -cds.phase
    for start, end in cds.segments:
        steps = np.arange(end - start)
        yield start, end, (offset + (steps if cds.strand == 1 else steps[::-1])) % 3
        offset += end - start


def _check_bounds(seq_length: int, cds_list: Sequence[CDS]) -> None:
    for cds in cds_list:
        if cds.end > seq_length:
            raise ValueError(
                f"CDS {cds.id!r} ends at {cds.end}, beyond the sequence length {seq_length}"
            )


def coding_labels(seq_length: int, cds_list: Sequence[CDS]) -> tuple[np.ndarray, np.ndarray]:
    """Per-base coding class and start-codon flags of one sequence.

    Parameters
    ----------
    seq_length : int
        Length ``L`` of the sequence.
    cds_list : sequence of CDS
        The CDS of this sequence only (e.g. ``annotation.by_seqid()[seqid]``).

    Returns
    -------
    labels : numpy.ndarray
        ``int8``, shape ``(L,)``, classes 0-6 as in the module docstring.
    starts : numpy.ndarray
        ``uint8``, shape ``(L,)``, start-codon bit flags (1: + strand,
        2: - strand) as in the module docstring.

    Raises
    ------
    ValueError
        If a CDS ends beyond ``seq_length``.
    """
    _check_bounds(seq_length, cds_list)
    labels = np.zeros(seq_length, dtype=np.int8)
    starts = np.zeros(seq_length, dtype=np.uint8)
    # Painted shortest first, so the longest CDS over a base is painted last.
    for cds in sorted(cds_list, key=lambda cds: (cds.length, -cds.start, cds.strand)):
        first_class = 1 if cds.strand == 1 else 4
        for start, end, position in _codon_positions(cds):
            labels[start:end] = first_class + position
        if not cds.partial_5:
            if cds.strand == 1:
                starts[cds.start] |= START_PLUS
            else:
                starts[cds.end - 1] |= START_MINUS
    return labels, starts


def coding_mask(seq_length: int, cds_list: Sequence[CDS]) -> np.ndarray:
    """Multi-hot coding classes of one sequence, keeping every overlapping CDS.

    Parameters
    ----------
    seq_length : int
        Length ``L`` of the sequence.
    cds_list : sequence of CDS
        The CDS of this sequence only.

    Returns
    -------
    numpy.ndarray
        ``bool``, shape ``(6, L)``: row ``k - 1`` is True where some CDS
        gives the base class ``k`` (rows 0-2: + strand codon positions 0-2,
        rows 3-5: - strand codon positions 0-2). A base outside every CDS is
        False in all rows.

    Raises
    ------
    ValueError
        If a CDS ends beyond ``seq_length``.
    """
    _check_bounds(seq_length, cds_list)
    mask = np.zeros((NUM_CLASSES - 1, seq_length), dtype=bool)
    for cds in cds_list:
        first_row = 0 if cds.strand == 1 else 3
        for start, end, position in _codon_positions(cds):
            mask[first_row + position, np.arange(start, end)] = True
    return mask
