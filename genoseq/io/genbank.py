"""GenBank: reading reference CDS and sequences, writing predicted genes.

Both directions go through Biopython's GenBank parser and writer.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from Bio import SeqIO
from Bio.Seq import Seq, UndefinedSequenceError
from Bio.SeqFeature import (
    AfterPosition,
    BeforePosition,
    ExactPosition,
    SeqFeature,
    SimpleLocation,
)
from Bio.SeqRecord import SeqRecord

from genoseq.io.atomic import atomic_write
from genoseq.io.cds import CDS, Annotation, warn_skipped_cds
from genoseq.io.compression import open_input
from genoseq.io.errors import InvalidFileError
from genoseq.io.genes import number_genes, prodigal_attributes

if TYPE_CHECKING:
    from genoseq.genes.gene import Gene

__all__ = ["read_genbank_cds", "write_genbank"]


def read_genbank_cds(path: str | os.PathLike, *, include_pseudo: bool = False) -> Annotation:
    """Read the CDS features and sequences of a GenBank file.

    Parameters
    ----------
    path : str or os.PathLike
        GenBank flat file with one or more records, plain or compressed
        (recognised by content); ``-`` reads standard input.
    include_pseudo : bool
        Keep CDS with a ``/pseudo`` or ``/pseudogene`` qualifier. Dropped by
        default.

    Returns
    -------
    Annotation
        ``cds`` in record and feature order, with ``seqid`` the record id
        (accession.version); ``sequence_lengths`` and ``sequences`` of every
        record (``sequences`` leaves out records without sequence data).

    Raises
    ------
    InvalidFileError
        If the file holds no GenBank record, Biopython cannot parse it, or a
        ``/transl_table`` or ``/codon_start`` is not an integer.

    Warns
    -----
    GenoseqWarning
        For each CDS left out: one spanning the origin (a ``join`` whose parts
        go back to the start of the sequence), one with parts on both strands,
        or one whose location Biopython could not read.

    Notes
    -----
    ``<`` and ``>`` on a CDS location mark its partial ends (``<`` on the
    left end, which is the 3' end of a - strand CDS). ``/codon_start`` - 1
    gives the phase.
    """
    with open_input(path) as stream:
        return parse_genbank(stream.read(), path, include_pseudo=include_pseudo)


def parse_genbank(
    data: bytes, path: str | os.PathLike, *, include_pseudo: bool = False
) -> Annotation:
    """Parse the bytes of a GenBank file; see :func:`read_genbank_cds`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidFileError(path, line, "line is not UTF-8 text, expected GenBank") from None
    first = text.lstrip()
    if not first.startswith("LOCUS"):
        line = text[: len(text) - len(first)].count("\n") + 1
        raise InvalidFileError(
            path,
            line,
            f"found {first.partition(chr(10))[0][:40]!r}, expected a GenBank 'LOCUS' line",
        )
    annotation = Annotation(cds=[])
    records = SeqIO.parse(io.StringIO(text), "genbank")
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except ValueError as error:
            raise InvalidFileError(path, None, f"not a valid GenBank file: {error}") from None
        seqid = record.id
        annotation.sequence_lengths[seqid] = len(record)
        try:
            annotation.sequences[seqid] = bytes(record.seq).upper()
        except UndefinedSequenceError:
            pass
        for feature in record.features:
            if feature.type == "CDS":
                cds = _to_cds(feature, seqid, path)
                if cds is not None and (include_pseudo or not cds.pseudo):
                    annotation.cds.append(cds)
    return annotation


def _integer_qualifier(
    qualifiers: dict[str, list[str]], name: str, cds_id: str, path: str | os.PathLike
) -> int | None:
    values = qualifiers.get(name)
    if not values:
        return None
    value = values[0].strip()
    if not (value.isascii() and value.isdigit()):
        raise InvalidFileError(path, None, f"CDS {cds_id!r}: /{name}={value!r} is not an integer")
    return int(value)


def _to_cds(feature: SeqFeature, seqid: str, path: str | os.PathLike) -> CDS | None:
    qualifiers = feature.qualifiers
    location = feature.location
    named = [
        qualifiers[key][0] for key in ("protein_id", "locus_tag", "gene") if qualifiers.get(key)
    ]
    if location is None:
        warn_skipped_cds(
            path, None, named[0] if named else "?", seqid, "its location could not be read"
        )
        return None
    start, end = int(location.start), int(location.end)
    cds_id = named[0] if named else f"{seqid}:{start + 1}..{end}"
    strand = location.strand
    if strand not in (1, -1):
        warn_skipped_cds(path, None, cds_id, seqid, "its parts are not all on one strand")
        return None
    parts = location.parts
    starts = [int(part.start) for part in parts]
    if any((later - earlier) * strand < 0 for earlier, later in itertools.pairwise(starts)):
        warn_skipped_cds(path, None, cds_id, seqid, "it spans the origin of a circular sequence")
        return None
    if strand == 1:
        partial_5 = isinstance(parts[0].start, BeforePosition)
        partial_3 = isinstance(parts[-1].end, AfterPosition)
    else:
        partial_5 = isinstance(parts[0].end, AfterPosition)
        partial_3 = isinstance(parts[-1].start, BeforePosition)
    codon_start = _integer_qualifier(qualifiers, "codon_start", cds_id, path)
    if codon_start not in (None, 1, 2, 3):
        raise InvalidFileError(
            path, None, f"CDS {cds_id!r}: /codon_start={codon_start} is not 1, 2 or 3"
        )
    return CDS(
        seqid=seqid,
        start=start,
        end=end,
        strand=strand,
        id=cds_id,
        partial_5=partial_5,
        partial_3=partial_3,
        pseudo="pseudo" in qualifiers or "pseudogene" in qualifiers,
        translation_table=_integer_qualifier(qualifiers, "transl_table", cds_id, path),
        phase=0 if codon_start is None else codon_start - 1,
        segments=tuple((int(part.start), int(part.end)) for part in parts),
        attributes={key: ",".join(values) for key, values in qualifiers.items()},
    )


def write_genbank(
    path: str | os.PathLike, genes: Iterable[Gene], sequences: Mapping[str, bytes]
) -> None:
    """Write sequences with their predicted genes as GenBank, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``-`` writes to standard output.
    genes : iterable of Gene
        Named and ordered as :func:`genoseq.io.genes.number_genes` does.
    sequences : mapping of str to bytes
        One record per sequence, in this order, genes or not.

    Notes
    -----
    Each gene is a CDS feature with ``<``/``>`` on partial ends, qualifiers
    ``/locus_tag`` (the gene ID), ``/codon_start``, ``/transl_table``,
    ``/note`` (Prodigal's data, ``ID=...; partial=...; ...; tscore=...``) and
    ``/translation`` (without the stop ``*``). The record date is Biopython's
    fixed default, so equal input gives equal files.
    """
    by_seqid: dict[str, list[tuple[str, Gene]]] = {seqid: [] for seqid in sequences}
    for gene_id, gene in number_genes(genes, sequences):
        by_seqid[gene.seqid].append((gene_id, gene))
    records = []
    for seqid, sequence in sequences.items():
        record = SeqRecord(
            Seq(bytes(sequence).decode("ascii")), id=seqid, name=seqid, description=""
        )
        record.annotations["molecule_type"] = "DNA"
        record.features = [
            _gene_feature(gene_id, gene, sequence) for gene_id, gene in by_seqid[seqid]
        ]
        records.append(record)
    with atomic_write(path) as handle:
        SeqIO.write(records, handle, "genbank")


def _gene_feature(gene_id: str, gene: Gene, sequence: bytes) -> SeqFeature:
    left_open, right_open = gene.partial[0] == "1", gene.partial[1] == "1"
    location = SimpleLocation(
        BeforePosition(gene.start) if left_open else ExactPosition(gene.start),
        AfterPosition(gene.end) if right_open else ExactPosition(gene.end),
        strand=gene.strand,
    )
    protein = gene.protein if gene.protein is not None else gene.translate(sequence)
    # "; " rather than Prodigal's ";": GenBank wraps long values at spaces, losslessly.
    note = "; ".join(f"{tag}={value}" for tag, value in prodigal_attributes(gene_id, gene))
    qualifiers = {
        "locus_tag": [gene_id],
        "codon_start": [str(gene.phase + 1)],
        "transl_table": [str(gene.translation_table)],
        "note": [note],
        "translation": [protein.removesuffix("*")],
    }
    return SeqFeature(location, type="CDS", qualifiers=qualifiers)
