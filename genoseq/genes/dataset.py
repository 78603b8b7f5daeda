"""Training data for the gene finder: annotated genomes as per-base targets.

A genome folder is laid out like ``../shared/data/genomes``: a ``genomes.tsv``
with columns ``name``, ``translation_table`` (and optionally ``gc_percent``),
and per genome ``<name>.fna.gz`` + ``<name>.gff3.gz`` (reference CDS), and
optionally ``<name>.verified_starts.gff3.gz``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genoseq.encoding import dna_to_index, reverse_complement_index
from genoseq.genes.frames import stop_codons
from genoseq.genes.labels import coding_labels
from genoseq.genes.model import codon_position_to_frame, frame_to_codon_position
from genoseq.io.cds import CDS
from genoseq.io.errors import InvalidFileError
from genoseq.io.fasta import read_fasta
from genoseq.io.gff import read_gff3_cds
from genoseq.nn.train import IGNORE


@dataclass(frozen=True)
class GenomeEntry:
    """One annotated genome of a genome folder."""

    name: str
    fasta: Path
    gff: Path
    translation_table: int
    gc_percent: float | None = None
    verified_starts: Path | None = None


def _first_existing(folder: Path, name: str, suffixes: tuple[str, ...]) -> Path | None:
    for suffix in suffixes:
        if (folder / f"{name}{suffix}").exists():
            return folder / f"{name}{suffix}"
    return None


def read_genome_table(folder: str | os.PathLike) -> list[GenomeEntry]:
    """List the genomes of a genome folder from its ``genomes.tsv``."""
    folder = Path(folder)
    table = folder / "genomes.tsv"
    if not table.exists():
        raise InvalidFileError(table, None, "no such file (a genome folder needs genomes.tsv)")
    entries = []
    with open(table, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"name", "translation_table"} - set(reader.fieldnames or ())
        if missing:
            raise InvalidFileError(table, 1, f"missing column(s) {sorted(missing)}")
        for number, row in enumerate(reader, start=2):
            name = row["name"]
            fasta = _first_existing(folder, name, (".fna.gz", ".fna", ".fa.gz", ".fa", ".fasta"))
            gff = _first_existing(folder, name, (".gff3.gz", ".gff3", ".gff.gz", ".gff"))
            if fasta is None or gff is None:
                raise InvalidFileError(table, number, f"genome {name!r}: no FASTA or GFF3 "
                                       f"file named {name}.fna[.gz] / {name}.gff3[.gz]")
            gc = row.get("gc_percent")
            entries.append(GenomeEntry(
                name=name, fasta=fasta, gff=gff,
                translation_table=int(row["translation_table"]),
                gc_percent=float(gc) if gc else None,
                verified_starts=_first_existing(folder, name, (".verified_starts.gff3.gz",
                                                               ".verified_starts.gff3")),
            ))
    return entries


@dataclass
class LabelledRecord:
    """One sequence with its per-base training targets.

    Attributes
    ----------
    genome, seqid : str
    index : np.ndarray, shape (length,), uint8
        Bases as A=0, C=1, G=2, T=3, other=4.
    frames : np.ndarray, shape (length,), int8
        Absolute-frame classes (:data:`genoseq.genes.model.FRAME_CLASSES`).
    starts : np.ndarray, shape (length,), uint8
        Start-codon flags (1: + strand start codon begins here; 2: − strand).
    cds : list of CDS
    translation_table : int
    """

    genome: str
    seqid: str
    index: np.ndarray
    frames: np.ndarray
    starts: np.ndarray
    cds: list[CDS]
    translation_table: int

    def __len__(self) -> int:
        return len(self.index)

    def slice(self, begin: int, end: int) -> LabelledRecord:
        """Bases ``begin:end`` with the CDS wholly inside, shifted.

        ``begin`` must be a multiple of 3 so the absolute frames stay valid.
        """
        if begin % 3:
            raise ValueError("slices must begin on a multiple of 3")
        inside = [replace(c, start=c.start - begin, end=c.end - begin,
                          segments=tuple((a - begin, b - begin) for a, b in c.segments))
                  for c in self.cds if c.start >= begin and c.end <= end]
        return LabelledRecord(self.genome, f"{self.seqid}:{begin}-{end}", self.index[begin:end],
                              self.frames[begin:end], self.starts[begin:end], inside,
                              self.translation_table)

    def reverse_complement(self) -> LabelledRecord:
        """The other strand, read 5'→3', with targets mirrored (+ and − classes swap)."""
        codon_position = frame_to_codon_position(self.frames)[::-1]
        swapped = np.where(codon_position >= 4, codon_position - 3,
                           np.where(codon_position >= 1, codon_position + 3, 0))
        starts = self.starts[::-1]
        return LabelledRecord(self.genome, f"{self.seqid}(-)",
                              reverse_complement_index(self.index),
                              codon_position_to_frame(swapped).astype(np.int8),
                              ((starts & 1) << 1 | (starts & 2) >> 1).astype(np.uint8),
                              [], self.translation_table)


def load_genome(entry: GenomeEntry) -> list[LabelledRecord]:
    """Read one genome's sequences and reference CDS into labelled records."""
    annotation = read_gff3_cds(entry.gff)
    cds_by_seqid = annotation.by_seqid()
    records = []
    for record in read_fasta(entry.fasta, alphabet="dna"):
        cds = cds_by_seqid.get(record.id, [])
        labels, starts = coding_labels(len(record), cds)
        records.append(LabelledRecord(
            genome=entry.name, seqid=record.id, index=dna_to_index(record.seq),
            frames=codon_position_to_frame(labels).astype(np.int8), starts=starts, cds=cds,
            translation_table=entry.translation_table))
    return records


def split_records(records: list[LabelledRecord], valid_fraction: float
                  ) -> tuple[list[LabelledRecord], list[LabelledRecord]]:
    """Cut the last ``valid_fraction`` of every record off for validation (early stopping)."""
    train, valid = [], []
    for record in records:
        cut = int(len(record) * (1 - valid_fraction)) // 3 * 3
        if cut > 0:
            train.append(record.slice(0, cut))
        if cut < len(record):
            valid.append(record.slice(cut, len(record)))
    return train, valid


class WindowSampler:
    """Draws random training windows from labelled records, both strands.

    ``sampler(rng)`` returns ``(index, targets)``: int64 tensors of shape
    ``(batch_size, window)``; windows begin on multiples of 3 and are padded
    with N / ignored targets past a record's end. Records are drawn in
    proportion to their length; each window comes from the forward strand or
    the reverse complement with equal chance.

    With ``stops`` the inputs are ``{"index": index, "stops": stops}``,
    ``stops`` (batch_size, 64) bool the stop codons of each window's
    translation table (:func:`genoseq.genes.frames.stop_codons`), for a coding
    model with open-frame channels; the windows drawn are the same.
    """

    def __init__(self, records: list[LabelledRecord], window: int, batch_size: int,
                 stops: bool = False):
        if window % 3:
            raise ValueError("window must be a multiple of 3")
        self.strands = [(r, r.reverse_complement()) for r in records]
        lengths = np.array([len(r) for r in records], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.window = window
        self.batch_size = batch_size
        self.stops = [stop_codons(r.translation_table) for r in records] if stops else None

    def __call__(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        index = np.full((self.batch_size, self.window), 4, dtype=np.int64)
        targets = np.full((self.batch_size, self.window), IGNORE, dtype=np.int64)
        picks = rng.choice(len(self.strands), size=self.batch_size, p=self.weights)
        flips = rng.integers(0, 2, size=self.batch_size)
        for row, (pick, flip) in enumerate(zip(picks, flips, strict=True)):
            record = self.strands[pick][flip]
            n_starts = max(len(record) - self.window, 0) // 3 + 1
            begin = 3 * int(rng.integers(0, n_starts))
            piece = slice(begin, begin + self.window)
            length = len(record.index[piece])
            index[row, :length] = record.index[piece]
            targets[row, :length] = record.frames[piece]
        if self.stops is None:
            return torch.from_numpy(index), torch.from_numpy(targets)
        stops = torch.stack([self.stops[pick] for pick in picks])
        return {"index": torch.from_numpy(index), "stops": stops}, torch.from_numpy(targets)


def tiled_batches(records: list[LabelledRecord], window: int, batch_size: int,
                  max_windows: int | None = None, stops: bool = False) -> list[tuple]:
    """Fixed, non-overlapping windows over ``records`` (forward strand), in batches.

    ``stops`` gives inputs as for :class:`WindowSampler` ``(stops=True)``.
    """
    rows = []
    for record in records:
        for begin in range(0, len(record), window):
            rows.append((record.index[begin:begin + window], record.frames[begin:begin + window],
                         record.translation_table))
    if max_windows is not None and len(rows) > max_windows:
        keep = np.linspace(0, len(rows) - 1, max_windows).astype(int)
        rows = [rows[i] for i in keep]
    batches = []
    for first in range(0, len(rows), batch_size):
        chunk = rows[first:first + batch_size]
        index = np.full((len(chunk), window), 4, dtype=np.int64)
        targets = np.full((len(chunk), window), IGNORE, dtype=np.int64)
        for row, (bases, frames, _) in enumerate(chunk):
            index[row, :len(bases)] = bases
            targets[row, :len(frames)] = frames
        inputs = torch.from_numpy(index)
        if stops:
            inputs = {"index": inputs,
                      "stops": torch.stack([stop_codons(table) for _, _, table in chunk])}
        batches.append((inputs, torch.from_numpy(targets)))
    return batches
