"""Candidate genes: every start codon of every open reading frame, both strands.

An ORF is a stretch of codons in one frame, on one strand, that ends at a stop
codon of the chosen NCBI translation table and has no other stop. Each start
codon inside it begins one *candidate gene*, which runs through the stop
codon; the candidates that share a stop form one ORF. The gene decoder picks
among them.

Contig edges (as Prodigal does, unless ``closed=True``):

- an ORF with no stop before the 3' end of the contig runs to the last full
  codon of its frame; its candidates are 3'-partial;
- the first ORF of a frame, if it is open at the 5' end of the contig (the
  frame's first full codon is not a stop), also gets a 5'-partial candidate
  that begins at that first full codon -- also when that codon happens to be a
  start codon, which then begins a complete candidate too (Prodigal keeps only
  the complete one).

Unknown bases: a codon containing anything but A, C, G, T is neither a start
nor a stop. Candidates may not contain any base of a run of at least ``n_run``
(default 50) unknown bases, a scaffold gap. With ``mask_n=True`` (Prodigal
``-m``) the runs of at least ``MASK_RUN`` = 50 are such gaps too, whatever
``n_run``: Prodigal's ``-m`` masks the runs of at least 50 N (``MASK_SIZE`` in
its ``sequence.h``) and builds genes across shorter ones. Nothing is made
partial at a gap, as in Prodigal and pyrodigal: a candidate that would cross
one is dropped, and the candidates of the same ORF that start after the gap
remain complete genes (Prodigal's ``add_nodes`` skips every start whose span
crosses a mask; pyrodigal 3.7 does the same). So a gene with a gap inside is
called from the first start after the gap, ``partial=00``, by Prodigal,
pyrodigal and genoseq alike, and without ``-m`` Prodigal builds it across the
gap (N read as C), where genoseq never does.

Coordinates are 0-based, half-open, on the forward strand, whatever the
gene's strand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from genoseq.encoding import (
    CODONS,
    DNA_UNKNOWN,
    SequenceLike,
    codon_index,
    codon_lookup,
    dna_to_index,
    reverse_complement_index,
)

__all__ = ["DEFAULT_START_CODONS", "MASK_RUN", "OrfCandidates", "find_orfs", "find_orfs_many",
           "start_codon_mask"]

#: Shortest run of unknown bases that ``mask_n`` (Prodigal ``-m``) masks: Prodigal's ``MASK_SIZE``.
MASK_RUN = 50

#: Start codons used by default, if the translation table lists them.
DEFAULT_START_CODONS = ("ATG", "GTG", "TTG")

# Indexed by codon index; -1 (unknown codon) reads the last entry.
_CODON_NAMES = np.array([*CODONS, "NNN"])


@dataclass(frozen=True, eq=False)
class OrfCandidates:
    """Candidate genes of one sequence, as a structure of arrays.

    Every array has shape ``(n_candidates,)``. Candidates are sorted by
    strand (+ first), then ``stop_pos``, then length (longest first, a
    5'-partial candidate before a complete one of the same coordinates), so
    the candidates of one ORF are contiguous and ``orf_id`` counts up from 0.

    Attributes
    ----------
    seq_length : int
        Length of the sequence the candidates were found in.
    translation_table : int
        NCBI translation table used.
    strand : numpy.ndarray of int8
        +1 or -1.
    start, end : numpy.ndarray of int64
        Forward-strand, 0-based, half-open span of the gene, from the start
        codon through the stop codon on either strand (on the - strand the
        stop codon is at ``start`` and the start codon ends at ``end``).
    stop_pos : numpy.ndarray of int64
        Forward-strand position of the leftmost base of the gene's 3'-terminal
        codon: the stop codon, or for a 3'-partial gene the last full codon
        before the contig edge. ``end - 3`` on the + strand, ``start`` on the -.
    start_codon : numpy.ndarray of int8
        Codon index (see :data:`genoseq.encoding.CODONS`) of the gene's first
        codon, read on its strand; -1 if it contains an unknown base (possible
        only for a 5'-partial candidate).
    partial_left, partial_right : numpy.ndarray of bool
        The gene runs off the left (position 0) or right end of the sequence:
        Prodigal's ``partial=LR`` flags, in forward-strand terms.
    orf_id : numpy.ndarray of int64
        ORF the candidate belongs to; candidates with the same stop share it.
    """

    seq_length: int
    translation_table: int
    strand: np.ndarray
    start: np.ndarray
    end: np.ndarray
    stop_pos: np.ndarray
    start_codon: np.ndarray
    partial_left: np.ndarray
    partial_right: np.ndarray
    orf_id: np.ndarray

    def __len__(self) -> int:
        return len(self.strand)

    @property
    def length(self) -> np.ndarray:
        """Gene length in bp, stop codon included; int64, shape (n_candidates,)."""
        return self.end - self.start

    @property
    def start_pos(self) -> np.ndarray:
        """Forward-strand position of the leftmost base of the first codon; int64."""
        return np.where(self.strand > 0, self.start, self.end - 3)

    @functools.cached_property
    def partial_5prime(self) -> np.ndarray:
        """The gene has no start codon: it runs off the contig at its 5' end; bool."""
        return np.where(self.strand > 0, self.partial_left, self.partial_right)

    @functools.cached_property
    def partial_3prime(self) -> np.ndarray:
        """The gene has no stop codon: it runs off the contig at its 3' end; bool."""
        return np.where(self.strand > 0, self.partial_right, self.partial_left)

    @functools.cached_property
    def start_codon_str(self) -> np.ndarray:
        """First codon of each gene as text (``"NNN"`` if unknown); ``<U3``, (n_candidates,)."""
        return _CODON_NAMES[self.start_codon]


def start_codon_mask(
    translation_table: int = 11, start_codons: str | Iterable[str] | None = None
) -> np.ndarray:
    """Which codons may begin a candidate gene.

    Parameters
    ----------
    translation_table : int
        NCBI translation table id.
    start_codons : None, "ncbi" or iterable of str
        ``None``: :data:`DEFAULT_START_CODONS` (ATG, GTG, TTG) that the table
        lists as starts -- NCBI also lists rarely used ones (for table 11: CTG,
        ATT, ATC, ATA) that gene finders leave out. ``"ncbi"``: every start
        codon NCBI lists for the table. An iterable of codons (DNA or RNA,
        either case): exactly those, whether the table lists them or not.

    Returns
    -------
    numpy.ndarray of bool, shape (65,)
        Indexed by codon index, last entry (unknown codon) False.

    Raises
    ------
    ValueError
        A codon that is not three of A/C/G/T/U, or that is a stop in the table.
    """
    code = codon_lookup(translation_table)
    if start_codons is None:
        chosen = [c for c in DEFAULT_START_CODONS if code.start_mask[CODONS.index(c)]]
    elif isinstance(start_codons, str) and start_codons == "ncbi":
        return code.start_mask.copy()
    elif isinstance(start_codons, str):
        raise ValueError(
            f"start_codons={start_codons!r}: expected None, 'ncbi' or a list of codons"
        )
    else:
        chosen = [c.upper().replace("U", "T") for c in start_codons]
    mask = np.zeros(len(CODONS) + 1, dtype=bool)
    for codon in chosen:
        if codon not in CODONS:
            raise ValueError(f"start codon {codon!r} is not three of A, C, G, T")
        if code.stop_mask[CODONS.index(codon)]:
            raise ValueError(f"start codon {codon} is a stop codon in table {code.translation_table}")
        mask[CODONS.index(codon)] = True
    return mask


def _barrier_runs(index: np.ndarray, min_run: int) -> tuple[np.ndarray, np.ndarray]:
    """``[start, end)`` of every run of at least ``min_run`` unknown bases, both int64, sorted.

    Memory follows the number of runs, not the sequence: a span ``[a, b)``
    touches such a run exactly when :func:`_touches_barrier` says so.
    """
    unknown = index == DNA_UNKNOWN
    if not unknown.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    edges = np.diff(unknown.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    run_start = np.flatnonzero(edges == 1)
    run_end = np.flatnonzero(edges == -1)
    del edges
    long = run_end - run_start >= min_run
    return run_start[long], run_end[long]


def _touches_barrier(runs: tuple[np.ndarray, np.ndarray], start: np.ndarray,
                     end: np.ndarray) -> np.ndarray:
    """Whether each span ``[start, end)`` shares a base with one of the runs (bool)."""
    run_start, run_end = runs
    if not len(run_start):
        return np.zeros(len(start), dtype=bool)
    # The first run ending after the span's start is the only one it can meet first.
    k = np.searchsorted(run_end, start, side="right")
    inside = k < len(run_start)
    touches = np.zeros(len(start), dtype=bool)
    touches[inside] = run_start[k[inside]] < end[inside]
    return touches


def _frame_candidates(
    codons: np.ndarray,
    frame: int,
    stop_mask: np.ndarray,
    start_mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidates in one frame of one strand, in that strand's own coordinates.

    Returns the positions of the first codon and of the 3'-terminal codon, the
    first codon's index, and the 5'-partial and 3'-partial flags; all of shape
    ``(n,)``. Partial candidates are always made; no filter is applied yet.
    """
    n_codons = max(0, (len(codons) - frame) // 3)
    frame_codons = codons[frame : frame + 3 * n_codons : 3]
    is_stop = stop_mask[frame_codons]
    stops = np.flatnonzero(is_stop)
    first = np.flatnonzero(start_mask[frame_codons])
    partial_5 = np.zeros(len(first), dtype=bool)
    if n_codons and not is_stop[0]:
        first = np.concatenate(([0], first))
        partial_5 = np.concatenate(([True], partial_5))
    # The next stop at or after each first codon; past the last stop the ORF
    # runs to the frame's last full codon, appended here as a stand-in stop.
    next_stop = np.searchsorted(stops, first)
    partial_3 = next_stop == len(stops)
    last = np.append(stops, n_codons - 1)[next_stop]
    return (
        frame + 3 * first,
        frame + 3 * last,
        frame_codons[first],
        partial_5,
        partial_3,
    )


def find_orfs(
    seq: SequenceLike,
    translation_table: int = 11,
    *,
    start_codons: str | Iterable[str] | None = None,
    min_len: int = 90,
    min_edge_len: int = 60,
    closed: bool = False,
    mask_n: bool = False,
    n_run: int = 50,
) -> OrfCandidates:
    """Enumerate candidate genes on both strands of a DNA sequence.

    Vectorised: the work per frame is a handful of numpy operations, so a
    5 Mbp genome takes well under a second.

    Parameters
    ----------
    seq : bytes, str or numpy.ndarray of uint8, shape (length,)
        ASCII DNA sequence, either case.
    translation_table : int
        NCBI translation table id: its stop codons end ORFs.
    start_codons : None, "ncbi" or iterable of str
        Codons that begin candidates; see :func:`start_codon_mask`. Default:
        ATG, GTG, TTG where the table lists them.
    min_len : int
        Shortest complete gene kept, in bp including the stop codon. 90 is
        Prodigal's ``MIN_GENE``, which counts the same way.
    min_edge_len : int
        Shortest gene kept that runs off a contig edge (either end), in bp.
        60 is Prodigal's ``MIN_EDGE_GENE``. (Prodigal applies it to a
        5'-partial gene's length minus its last codon; here it is the whole
        length, the same rule for both edges.)
    closed : bool
        No gene may run off a contig edge (Prodigal ``-c``): ORFs open at
        either end give no candidates.
    mask_n : bool
        Prodigal ``-m``: no candidate may contain any base of a run of at
        least ``MASK_RUN`` (50) unknown bases, as with the default ``n_run``.
    n_run : int
        No candidate may contain any base of a run of at least this many
        unknown bases.

    Returns
    -------
    OrfCandidates
    """
    index = dna_to_index(seq)
    length = len(index)
    code = codon_lookup(translation_table)
    starts = start_codon_mask(code.translation_table, start_codons)
    barrier = _barrier_runs(index, min(n_run, MASK_RUN) if mask_n else n_run)

    columns: dict[str, list[np.ndarray]] = {
        key: []
        for key in ("strand", "start", "end", "stop_pos", "start_codon", "partial_5", "partial_3")
    }
    strands = ((1, codon_index(index)), (-1, codon_index(reverse_complement_index(index))))
    for strand, codons in strands:
        for frame in range(3):
            first, last, start_codon, partial_5, partial_3 = _frame_candidates(
                codons, frame, code.stop_mask, starts
            )
            if strand > 0:
                start, end = first, last + 3
            else:
                start, end = length - last - 3, length - first
            columns["strand"].append(np.full(len(first), strand, dtype=np.int8))
            columns["start"].append(start)
            columns["end"].append(end)
            columns["stop_pos"].append(end - 3 if strand > 0 else start)
            columns["start_codon"].append(start_codon)
            columns["partial_5"].append(partial_5)
            columns["partial_3"].append(partial_3)
    merged = {key: np.concatenate(parts) for key, parts in columns.items()}
    strand, start, end = merged["strand"], merged["start"], merged["end"]
    partial_5, partial_3 = merged["partial_5"], merged["partial_3"]

    gene_len = end - start
    partial = partial_5 | partial_3
    keep = (gene_len >= np.where(partial, min_edge_len, min_len)) & ~_touches_barrier(
        barrier, start, end)
    if closed:
        keep &= ~partial
    order = np.flatnonzero(keep)[
        np.lexsort((~partial_5[keep], -gene_len[keep], merged["stop_pos"][keep], -strand[keep]))
    ]
    strand, stop_pos = strand[order], merged["stop_pos"][order]
    new_orf = np.ones(len(order), dtype=bool)
    new_orf[1:] = (strand[1:] != strand[:-1]) | (stop_pos[1:] != stop_pos[:-1])
    forward = strand > 0
    return OrfCandidates(
        seq_length=length,
        translation_table=code.translation_table,
        strand=strand,
        start=start[order],
        end=end[order],
        stop_pos=stop_pos,
        start_codon=merged["start_codon"][order],
        partial_left=np.where(forward, partial_5[order], partial_3[order]),
        partial_right=np.where(forward, partial_3[order], partial_5[order]),
        orf_id=np.cumsum(new_orf) - 1,
    )


def find_orfs_many(
    indices: list[np.ndarray],
    translation_table: int = 11,
    *,
    start_codons: str | Iterable[str] | None = None,
    min_len: int = 90,
    min_edge_len: int = 60,
    closed: bool = False,
) -> list[OrfCandidates]:
    """:func:`find_orfs` of many records of plain A/C/G/T bases, in one vectorised pass.

    ``indices`` are base indices (:func:`~genoseq.encoding.dna_to_index`), none
    holding an unknown base (ValueError otherwise: give those to
    :func:`find_orfs`, whose N-run rules they need). Each record gets exactly
    the candidates, in the order, that :func:`find_orfs` gives it alone: the
    records are joined with unknown bases between neighbours (no codon reads
    across two), and every step of :func:`_frame_candidates` is done for all
    records at once, each record's codons a segment of one array. Metagenome
    inputs of thousands of short contigs otherwise pay a dozen numpy calls per
    record and strand.
    """
    code = codon_lookup(translation_table)
    starts_mask = start_codon_mask(code.translation_table, start_codons)
    lengths = np.array([len(index) for index in indices], dtype=np.int64)
    n_records = len(indices)
    if any((index >= DNA_UNKNOWN).any() for index in indices):
        raise ValueError("find_orfs_many takes records of A/C/G/T only")
    gap = np.full(3, DNA_UNKNOWN, dtype=np.uint8)
    joined = np.concatenate([part for index in indices for part in (index, gap)]
                            or [np.zeros(0, dtype=np.uint8)])
    offsets = np.cumsum(lengths + len(gap)) - lengths - len(gap)
    total = len(joined)
    strands = ((1, codon_index(joined), offsets),
               (-1, codon_index(reverse_complement_index(joined)), total - offsets - lengths))
    columns: dict[str, list[np.ndarray]] = {
        key: [] for key in ("record", "strand", "start", "end", "start_codon", "partial_5",
                            "partial_3")}
    for strand, codons, base in strands:
        for frame in range(3):
            n = np.maximum(lengths - frame, 0) // 3  # codons of the frame, per record
            owner = np.repeat(np.arange(n_records), n)
            first_of = np.cumsum(n) - n  # flat index of each record's first codon
            k = np.arange(len(owner)) - first_of[owner]
            frame_codons = codons[base[owner] + frame + 3 * k]
            is_stop = code.stop_mask[frame_codons]
            stops = np.flatnonzero(is_stop)
            # Each record's first codon opens a 5'-partial candidate unless it is a stop.
            opens = first_of[(n > 0)]
            opens = opens[~is_stop[opens]]
            first = np.concatenate([opens, np.flatnonzero(starts_mask[frame_codons])])
            partial_5 = np.zeros(len(first), dtype=bool)
            partial_5[:len(opens)] = True
            record = owner[first]
            # The next stop at or after each first codon, if it lies in the same record;
            # otherwise the ORF runs to the record's last full codon (3'-partial).
            at = np.searchsorted(stops, first)
            has_stop = at < len(stops)
            has_stop[has_stop] = owner[stops[at[has_stop]]] == record[has_stop]
            last = first_of[record] + n[record] - 1
            last[has_stop] = stops[at[has_stop]]
            first_pos = frame + 3 * (first - first_of[record])
            last_pos = frame + 3 * (last - first_of[record])
            if strand > 0:
                start, end = first_pos, last_pos + 3
            else:
                start, end = lengths[record] - last_pos - 3, lengths[record] - first_pos
            columns["record"].append(record)
            columns["strand"].append(np.full(len(first), strand, dtype=np.int8))
            columns["start"].append(start)
            columns["end"].append(end)
            columns["start_codon"].append(frame_codons[first])
            columns["partial_5"].append(partial_5)
            columns["partial_3"].append(~has_stop)
    merged = {key: np.concatenate(parts) for key, parts in columns.items()}
    record, strand, start, end = (merged[key] for key in ("record", "strand", "start", "end"))
    partial_5, partial_3 = merged["partial_5"], merged["partial_3"]
    stop_pos = np.where(strand > 0, end - 3, start)
    gene_len = end - start
    partial = partial_5 | partial_3
    keep = gene_len >= np.where(partial, min_edge_len, min_len)
    if closed:
        keep &= ~partial
    order = np.flatnonzero(keep)[np.lexsort((~partial_5[keep], -gene_len[keep], stop_pos[keep],
                                             -strand[keep], record[keep]))]
    record, strand, stop_pos = record[order], strand[order], stop_pos[order]
    new_orf = np.ones(len(order), dtype=bool)
    new_orf[1:] = ((record[1:] != record[:-1]) | (strand[1:] != strand[:-1])
                   | (stop_pos[1:] != stop_pos[:-1]))
    orf = np.cumsum(new_orf) - 1
    forward = strand > 0
    fields = dict(strand=strand, start=start[order], end=end[order], stop_pos=stop_pos,
                  start_codon=merged["start_codon"][order],
                  partial_left=np.where(forward, partial_5[order], partial_3[order]),
                  partial_right=np.where(forward, partial_3[order], partial_5[order]))
    counts = np.bincount(record, minlength=n_records)
    bounds = np.cumsum(counts) - counts
    out = []
    for r in range(n_records):
        part = slice(bounds[r], bounds[r] + counts[r])
        orf_id = orf[part] - (orf[bounds[r]] if counts[r] else 0)
        out.append(OrfCandidates(seq_length=int(lengths[r]),
                                 translation_table=code.translation_table,
                                 **{key: value[part].copy() for key, value in fields.items()},
                                 orf_id=orf_id))
    return out
