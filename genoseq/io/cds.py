"""Reference CDS records, as read from GFF3 or GenBank annotation.

Coordinates are 0-based and half-open, like Python slices: a CDS written
``100..200`` in GFF3 or GenBank has ``start=99, end=200``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

from genoseq.io.errors import GenoseqWarning

__all__ = ["CDS", "Annotation"]


@dataclass(frozen=True)
class CDS:
    """One annotated coding sequence on one strand of one sequence.

    Parameters
    ----------
    seqid : str
        Sequence the CDS lies on (GFF3 column 1, GenBank record id).
    start, end : int
        Span of the CDS, 0-based, ``start`` inclusive, ``end`` exclusive, on the
        forward strand whatever ``strand`` is. For a multi-segment CDS this is
        the span from the lowest segment start to the highest segment end.
    strand : int
        +1 or -1.
    id : str
        GFF3 ``ID``; for GenBank the ``/protein_id``, else ``/locus_tag``, else
        ``/gene``, else ``seqid:start..end`` (1-based).
    partial_5, partial_3 : bool
        The CDS runs off its 5' (start codon) or 3' (stop codon) end, in the
        gene's own direction.
    pseudo : bool
        Annotated as a pseudogene.
    translation_table : int or None
        NCBI genetic code given by the annotation (``transl_table``), if any.
    phase : int
        0, 1 or 2: bases at the 5' end of the first segment (in transcription
        order) that precede the first complete codon, as GFF3 column 8 or
        GenBank ``/codon_start`` - 1. Nonzero only for 5'-partial CDS.
    segments : tuple of (int, int)
        The ``(start, end)`` pieces in transcription order: ascending
        coordinates on the + strand, descending on the - strand. A CDS of one
        piece has ``segments == ((start, end),)``, which is the default.
    attributes : dict of str to str
        All GFF3 attributes (URL-decoded; multi-valued ones keep their commas)
        or GenBank qualifiers (multiple values joined by commas).
    """

    seqid: str
    start: int
    end: int
    strand: int
    id: str
    partial_5: bool = False
    partial_3: bool = False
    pseudo: bool = False
    translation_table: int | None = None
    phase: int = 0
    segments: tuple[tuple[int, int], ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.strand not in (1, -1):
            raise ValueError(f"CDS {self.id!r}: strand must be +1 or -1, not {self.strand!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(
                f"CDS {self.id!r}: need 0 <= start < end, got start={self.start}, end={self.end}"
            )
        if self.phase not in (0, 1, 2):
            raise ValueError(f"CDS {self.id!r}: phase must be 0, 1 or 2, not {self.phase!r}")
        if not self.segments:
            object.__setattr__(self, "segments", ((self.start, self.end),))

    @property
    def length(self) -> int:
        """Number of coding bases, summed over segments."""
        return sum(end - start for start, end in self.segments)


@dataclass
class Annotation:
    """The CDS of an annotation file and what it says about its sequences.

    Parameters
    ----------
    cds : list of CDS
        In file order.
    sequence_lengths : dict of str to int
        Sequence lengths by seqid: from ``##sequence-region`` (GFF3, the
        region's end coordinate) or the records themselves (GenBank).
    sequences : dict of str to bytes
        Upper-case sequences by seqid. GenBank records carry them; empty for GFF3.
    """

    cds: list[CDS]
    sequence_lengths: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, bytes] = field(default_factory=dict)

    def by_seqid(self) -> dict[str, list[CDS]]:
        """CDS grouped by sequence, in file order within each group."""
        groups: dict[str, list[CDS]] = {}
        for cds in self.cds:
            groups.setdefault(cds.seqid, []).append(cds)
        return groups


def warn_skipped_cds(
    path: str | os.PathLike, line: int | None, cds_id: str, seqid: str, reason: str
) -> None:
    """Warn (GenoseqWarning) that a CDS was left out, naming file, line, CDS and why."""
    where = os.fspath(path) if line is None else f"{os.fspath(path)}:{line}"
    # 5 = the caller of read_gff3_cds / read_genbank_cds / read_cds, through the parser.
    warnings.warn(
        f"{where}: skipping CDS {cds_id!r} on {seqid!r}: {reason}", GenoseqWarning, stacklevel=5
    )
