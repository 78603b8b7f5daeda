"""Scanning DNA for motif matches with batched convolutions (CPU or GPU).

Records are packed into one base-index stream, each followed by a gap of
unknown bases one shorter than the widest motif, so that no window spans two
records without covering an unknown base. The stream is cut into
overlapping chunks, batched, one-hot encoded on the device and convolved
with every PWM and its reverse complement at once. Motifs are grouped by
width (rounded up to a multiple of :data:`WIDTH_STEP`) so that short motifs
are not padded to the widest one. A window that covers an unknown base (N or
another ambiguity code) is never scored, as Biopython scores it NaN.

Scores are log2-odds sums in float32 and agree with Biopython's
:meth:`~Bio.motifs.matrix.PositionSpecificScoringMatrix.calculate` to about
1e-5; a reverse-strand hit at ``start`` is the reverse-complement PWM
matching ``seq[start:end]`` (Biopython reports it as ``start - len(seq)``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from genoseq.device import ComputeOptions, full_float32
from genoseq.encoding import DNA_UNKNOWN, dna_to_index
from genoseq.io import SequenceRecord, atomic_write, read_fasta
from genoseq.motifs.pwm import DEFAULT_PSEUDOCOUNT, Motif, read_motifs, select_motifs

__all__ = ["HIT_COLUMNS", "max_motif_scores", "scan_motifs", "write_hits"]

#: Columns of the hit table, in order.
HIT_COLUMNS = ["record", "start", "end", "strand", "motif", "name", "score", "relative_score"]

#: Motif widths are padded up to a multiple of this within one convolution.
WIDTH_STEP = 4

#: Positions scored per chunk (one row of a batch).
CHUNK_LENGTH = 4096

#: Bases packed into one stream before it is scanned (bounds host memory).
BLOCK_BASES = 1 << 22

#: Scores held at once by default (batch × motif channels × positions): about 128 MB.
SCORE_BUDGET = 1 << 25

SequenceInput = str | os.PathLike | Iterable[SequenceRecord | tuple[str, str | bytes]]


@dataclass
class _WidthGroup:
    """Motifs of similar width convolved together: forward PWMs, then reverse complements."""

    weight: torch.Tensor  # (channels, 4, width)
    cutoff: torch.Tensor  # (channels, 1) lowest reported score per channel
    motif: np.ndarray  # (channels,) int64 index into the scanned motif list
    reverse: np.ndarray  # (channels,) bool, reverse-complement channel
    first_channel: int  # channels of all groups are numbered consecutively


class _Scanner:
    """PWMs of a motif list as convolution weights, on the device of ``compute``."""

    def __init__(self, motifs: Sequence[Motif], *, pseudocount: float,
                 background: Sequence[float] | None, both_strands: bool,
                 compute: ComputeOptions,
                 threshold: float | None = None, min_relative: float | None = None):
        if not motifs:
            raise ValueError("no motifs to scan")
        if pseudocount <= 0:
            raise ValueError(f"scanning needs a pseudocount > 0, got {pseudocount}")
        if min_relative is not None and not 0 <= min_relative <= 1:
            raise ValueError(f"min_relative must be between 0 and 1, got {min_relative}")
        self.device = compute.torch_device()
        log_odds = [m.log_odds(pseudocount, background) for m in motifs]
        self.best = np.array([m.max(axis=0).sum() for m in log_odds])
        self.worst = np.array([m.min(axis=0).sum() for m in log_odds])
        self.widths = np.array([m.shape[1] for m in log_odds], dtype=np.int64)
        self.max_width = int(self.widths.max())
        cutoffs = np.full(len(motifs), -np.inf)
        if threshold is not None:
            cutoffs = np.maximum(cutoffs, threshold)
        if min_relative is not None:
            cutoffs = np.maximum(cutoffs, self.worst + min_relative * (self.best - self.worst))
        self.groups = self._width_groups(log_odds, cutoffs, 2 if both_strands else 1)
        self.n_channels = sum(len(g.motif) for g in self.groups)
        # Group widths are rounded up, so a chunk overlaps the next by the widest group.
        self.overlap = max(g.weight.shape[2] for g in self.groups) - 1
        widest_group = max(len(g.motif) for g in self.groups)
        self.batch_size = compute.batch(max(1, SCORE_BUDGET // (widest_group * CHUNK_LENGTH)))

    def _width_groups(self, log_odds: list[np.ndarray], cutoffs: np.ndarray,
                      strands: int) -> list[_WidthGroup]:
        padded = -(-self.widths // WIDTH_STEP) * WIDTH_STEP
        groups = []
        first_channel = 0
        for width in np.unique(padded):
            members = np.flatnonzero(padded == width)
            weight = np.zeros((strands * len(members), 4, width), dtype=np.float32)
            for row, m in enumerate(members):
                weight[row, :, :self.widths[m]] = log_odds[m]
                if strands == 2:
                    # Reversing both the base axis (A,C,G,T) and the positions complements.
                    weight[len(members) + row, :, :self.widths[m]] = log_odds[m][::-1, ::-1]
            motif = np.tile(members, strands)
            groups.append(_WidthGroup(
                weight=torch.from_numpy(weight).to(self.device),
                cutoff=torch.from_numpy(cutoffs[motif].astype(np.float32)[:, None]).to(self.device),
                motif=motif, reverse=np.repeat([False, True][:strands], len(members)),
                first_channel=first_channel))
            first_channel += len(motif)
        return groups

    def padded(self, stream: np.ndarray) -> np.ndarray:
        """``stream`` (length,) uint8 padded with unknown bases to whole chunks plus overlap."""
        n_chunks = max(1, -(-(len(stream) - self.max_width + 1) // CHUNK_LENGTH))
        padded = np.full(n_chunks * CHUNK_LENGTH + self.overlap, DNA_UNKNOWN, dtype=np.uint8)
        padded[:len(stream)] = stream
        return padded

    def chunk_scores(self, padded: torch.Tensor) -> Iterator[tuple[int, _WidthGroup, torch.Tensor]]:
        """Scores of every window of a padded stream, a batch of chunks and a group at a time.

        Yields
        ------
        start : int
            Stream position of the first window of the batch.
        group : _WidthGroup
        scores : torch.Tensor of float32, shape (batch, channels, CHUNK_LENGTH)
            Window ``start + b * CHUNK_LENGTH + i`` is ``scores[b, :, i]``.
        """
        chunks = padded.unfold(0, CHUNK_LENGTH + self.overlap, CHUNK_LENGTH)
        bases = torch.arange(4, device=self.device, dtype=torch.uint8).view(1, 4, 1)
        with torch.inference_mode(), full_float32(self.device):
            for first in range(0, len(chunks), self.batch_size):
                one_hot = (chunks[first:first + self.batch_size].unsqueeze(1) == bases).float()
                for group in self.groups:
                    width = group.weight.shape[2]
                    yield (first * CHUNK_LENGTH, group, torch.nn.functional.conv1d(
                        one_hot[:, :, :CHUNK_LENGTH + width - 1], group.weight))


def _records(sequences: SequenceInput) -> Iterator[tuple[str, np.ndarray]]:
    """(id, base indices (length,) uint8) of every input record."""
    if isinstance(sequences, str | os.PathLike):
        sequences = read_fasta(sequences, alphabet="dna")
    for item in sequences:
        if isinstance(item, SequenceRecord):
            yield item.id, dna_to_index(item.seq)
        else:
            record_id, seq = item
            yield str(record_id), dna_to_index(seq)


def _blocks(records: Iterable[tuple[str, np.ndarray]], gap: int
            ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
    """Pack records into streams of about :data:`BLOCK_BASES`.

    Yields (ids, offsets (n,) int64 of each record in the stream, stream
    (length,) uint8 base indices with ``gap`` unknown bases after each record).
    """
    ids: list[str] = []
    pieces: list[np.ndarray] = []
    offsets: list[int] = []
    size = 0
    spacer = np.full(gap, DNA_UNKNOWN, dtype=np.uint8)
    for record_id, index in records:
        ids.append(record_id)
        offsets.append(size)
        pieces.extend((index, spacer))
        size += len(index) + gap
        if size >= BLOCK_BASES:
            yield ids, np.asarray(offsets, dtype=np.int64), np.concatenate(pieces)
            ids, pieces, offsets, size = [], [], [], 0
    if ids:
        yield ids, np.asarray(offsets, dtype=np.int64), np.concatenate(pieces)


def _stream_hits(scanner: _Scanner, stream: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every hit above the cut-offs in one packed stream.

    Parameters
    ----------
    stream : numpy.ndarray of uint8, shape (length,)
        Base indices, ending with at least ``max_width - 1`` unknown bases.

    Returns
    -------
    position, motif, reverse, score : numpy.ndarray, shape (hits,)
        Window start in the stream, motif index, True on the reverse strand,
        float32 score. Windows covering an unknown base are dropped.
    """
    padded = scanner.padded(stream)
    found: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for start, group, scores in scanner.chunk_scores(torch.from_numpy(padded).to(scanner.device)):
        row, channel, offset = torch.nonzero(scores >= group.cutoff, as_tuple=True)
        found.append((start + row * CHUNK_LENGTH + offset, channel + group.first_channel,
                      scores[row, channel, offset]))
    position, channel, score = (torch.cat(parts).cpu().numpy()
                                for parts in zip(*found, strict=True))
    motif = np.concatenate([g.motif for g in scanner.groups])[channel]
    reverse = np.concatenate([g.reverse for g in scanner.groups])[channel]
    unknown_before = np.concatenate([[0], np.cumsum(padded == DNA_UNKNOWN, dtype=np.int32)])
    clean = unknown_before[position + scanner.widths[motif]] == unknown_before[position]
    return position[clean], motif[clean], reverse[clean], score[clean]


def _motif_list(motifs: Sequence[Motif] | str | os.PathLike,
                names: Iterable[str] | str | None) -> list[Motif]:
    if isinstance(motifs, str | os.PathLike):
        motifs = read_motifs(motifs)
    return select_motifs(motifs, names)


def scan_motifs(
    sequences: SequenceInput,
    motifs: Sequence[Motif] | str | os.PathLike,
    *,
    names: Iterable[str] | str | None = None,
    threshold: float | None = None,
    min_relative: float | None = 0.8,
    both_strands: bool = True,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    background: Sequence[float] | None = None,
    compute: ComputeOptions | None = None,
) -> pd.DataFrame:
    """Find every match of every motif in DNA sequences.

    Parameters
    ----------
    sequences : path, or iterable of SequenceRecord or (id, sequence) pairs
        A FASTA file (plain or compressed, ``-`` for standard input), or
        records; sequences as ``str``/``bytes``, any case.
    motifs : sequence of Motif, or path
        Motifs, or a JASPAR/MEME file to read them from.
    names : iterable of str or comma-separated str, optional
        Scan only motifs with these ids or names (see :func:`select_motifs`).
    threshold : float, optional
        Lowest log2-odds score reported.
    min_relative : float, optional
        Lowest relative score, ``(score - min) / (max - min)`` of the PWM,
        reported (0 to 1). Both cut-offs apply when both are given.
    both_strands : bool
        Also report reverse-strand matches.
    pseudocount : float
        Added to every column of counts (spread by the background); > 0.
    background : sequence of 4 floats, optional
        A, C, G, T frequencies for the log-odds; uniform by default.
    compute : ComputeOptions, optional
        Device (None: CUDA if present, else MPS, else the CPU), threads,
        chunks of 4096 positions per convolution (default: as many as keep
        about 2^25 scores in memory) and a tqdm bar over bases (``progress``).
        ``precision`` is not used: scores are always float32.

    Returns
    -------
    pandas.DataFrame
        One row per hit, columns :data:`HIT_COLUMNS`: ``record`` id, 0-based
        ``start`` and exclusive ``end`` on the forward strand, ``strand``
        (``+``/``-``), motif id (``motif``) and ``name``, ``score`` (log2
        odds) and ``relative_score``. Sorted by record (input order), start,
        motif (input order), strand.
    """
    motifs = _motif_list(motifs, names)
    compute = ComputeOptions() if compute is None else compute
    scanner = _Scanner(motifs, pseudocount=pseudocount, background=background,
                       both_strands=both_strands, compute=compute,
                       threshold=threshold, min_relative=min_relative)
    motif_ids = np.array([m.id for m in motifs], dtype=object)
    motif_names = np.array([m.name for m in motifs], dtype=object)
    gap = scanner.max_width - 1
    tables = []
    with tqdm(unit="bp", unit_scale=True, disable=not compute.progress) as bar:
        for ids, offsets, stream in _blocks(_records(sequences), gap):
            position, motif, reverse, score = _stream_hits(scanner, stream)
            record = np.searchsorted(offsets, position, side="right") - 1
            start = position - offsets[record]
            order = np.lexsort((reverse, motif, start, record))
            record, start, motif, reverse, score = (a[order] for a in (record, start, motif,
                                                                         reverse, score))
            span = scanner.best[motif] - scanner.worst[motif]
            tables.append(pd.DataFrame({
                "record": np.array(ids, dtype=object)[record], "start": start,
                "end": start + scanner.widths[motif], "strand": np.where(reverse, "-", "+"),
                "motif": motif_ids[motif], "name": motif_names[motif],
                "score": score.astype(np.float64),
                "relative_score": (score - scanner.worst[motif]) / span,
            }))
            bar.update(len(stream) - len(ids) * gap)
    if not tables:
        return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in zip(
            HIT_COLUMNS, [object, np.int64, np.int64, object, object, object, np.float64,
                          np.float64], strict=True)})
    return pd.concat(tables, ignore_index=True)


def max_motif_scores(
    sequences: SequenceInput,
    motifs: Sequence[Motif] | str | os.PathLike,
    *,
    names: Iterable[str] | str | None = None,
    both_strands: bool = True,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    background: Sequence[float] | None = None,
    compute: ComputeOptions | None = None,
) -> pd.DataFrame:
    """Best score of every motif in every sequence: the plain PWM classifier.

    Parameters are those of :func:`scan_motifs`; ``compute.progress`` is not
    used (no progress bar).

    Returns
    -------
    pandas.DataFrame
        Shape (records, motifs): index the record ids (input order), one
        column per motif id, values the best log2-odds score on either strand;
        NaN for a record without a window free of unknown bases.
    """
    motifs = _motif_list(motifs, names)
    scanner = _Scanner(motifs, pseudocount=pseudocount, background=background,
                       both_strands=both_strands,
                       compute=ComputeOptions() if compute is None else compute)
    device = scanner.device
    channel_motif = torch.from_numpy(np.concatenate([g.motif for g in scanner.groups])).to(device)
    record_ids: list[str] = []
    tables = []
    for ids, offsets, stream in _blocks(_records(sequences), scanner.max_width - 1):
        padded = torch.from_numpy(scanner.padded(stream)).to(device)
        unknown_before = torch.cat([torch.zeros(1, dtype=torch.int32, device=device),
                                    torch.cumsum(padded == DNA_UNKNOWN, 0, dtype=torch.int32)])
        record_of = torch.searchsorted(torch.from_numpy(offsets).to(device),
                                       torch.arange(len(padded), device=device), right=True) - 1
        best = torch.full((len(ids), scanner.n_channels), -torch.inf, device=device)
        for start, group, scores in scanner.chunk_scores(padded):
            batch, channels, length = scores.shape
            position = start + torch.arange(batch * length, device=device).view(batch, 1, length)
            widths = torch.from_numpy(scanner.widths[group.motif]).to(device).view(1, -1, 1)
            covers_unknown = unknown_before[position + widths] != unknown_before[position]
            flat = scores.masked_fill(covers_unknown, -torch.inf).transpose(1, 2)
            record = record_of[position.view(-1)].unsqueeze(1).expand(-1, channels)
            columns = slice(group.first_channel, group.first_channel + channels)
            best[:, columns] = best[:, columns].scatter_reduce(
                0, record, flat.reshape(-1, channels), "amax")
        per_motif = torch.full((len(ids), len(motifs)), -torch.inf, device=device)
        per_motif = per_motif.scatter_reduce(1, channel_motif.expand(len(ids), -1), best, "amax")
        tables.append(per_motif.cpu().numpy().astype(np.float64))
        record_ids.extend(ids)
    values = np.concatenate(tables) if tables else np.zeros((0, len(motifs)))
    values[np.isneginf(values)] = np.nan
    return pd.DataFrame(values, index=pd.Index(record_ids, name="record"),
                        columns=[m.id for m in motifs])


def write_hits(hits: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a hit table from :func:`scan_motifs` as TSV (``-`` for standard output).

    Scores are written with 4 decimals; the file appears atomically.
    """
    with atomic_write(path) as handle:
        hits.to_csv(handle, sep="\t", index=False, float_format="%.4f", lineterminator="\n")
