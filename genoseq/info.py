"""Summary statistics of sequence files (``genoseq info``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from genoseq.io import read_sequences

_NUCLEOTIDE_BYTES = np.frombuffer(b"ACGTUN", dtype=np.uint8)


@dataclass(frozen=True)
class FileStats:
    """Summary of one FASTA/FASTQ file.

    ``gc_percent`` is G+C over A+C+G+T(+U), ignoring N and ambiguity codes;
    ``n_percent`` is the share of N among all residues. Both are None for
    protein files, where they mean nothing.
    """

    file: str
    format: str
    type: str
    records: int
    total_length: int
    gc_percent: float | None
    n50: int
    min_length: int
    max_length: int
    n_percent: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def n50(lengths: np.ndarray) -> int:
    """Length L such that records of length >= L hold at least half of all residues.

    Parameters
    ----------
    lengths : np.ndarray, shape (n_records,), integer
    """
    if len(lengths) == 0:
        return 0
    ordered = np.sort(np.asarray(lengths, dtype=np.int64))[::-1]
    cumulative = np.cumsum(ordered)
    return int(ordered[np.searchsorted(cumulative, cumulative[-1] / 2)])


def file_stats(path: str | os.PathLike) -> FileStats:
    """Read ``path`` (FASTA or FASTQ, any supported compression) once and summarise it.

    Raises
    ------
    genoseq.io.InvalidFileError
        If the file is malformed.
    """
    counts = np.zeros(256, dtype=np.int64)
    lengths = []
    file_format = "fasta"
    for record in read_sequences(path):
        if record.quality is not None:
            file_format = "fastq"
        counts += np.bincount(record.array, minlength=256)
        lengths.append(len(record))
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    nucleotides = int(counts[_NUCLEOTIDE_BYTES].sum())
    is_dna = total > 0 and nucleotides >= 0.9 * total
    if is_dna:
        gc = int(counts[ord("G")] + counts[ord("C")])
        acgt = int(counts[[ord(c) for c in "ACGTU"]].sum())
        gc_percent = 100.0 * gc / acgt if acgt else None
        n_percent = 100.0 * int(counts[ord("N")]) / total
    else:
        gc_percent = n_percent = None
    return FileStats(
        file=os.fspath(path),
        format=file_format,
        type="DNA" if is_dna else "protein",
        records=len(lengths),
        total_length=total,
        gc_percent=gc_percent,
        n50=n50(lengths),
        min_length=int(lengths.min()) if len(lengths) else 0,
        max_length=int(lengths.max()) if len(lengths) else 0,
        n_percent=n_percent,
    )
