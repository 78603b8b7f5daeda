"""GFF3: reading reference CDS, writing predicted genes the way Prodigal does.

The reader follows the Sequence Ontology GFF3 specification (v1.26): nine
tab-separated columns, 1-based inclusive coordinates, URL-escaped column 9
values, feature lines sharing an ``ID`` forming one feature, ``##FASTA``
ending the annotation. Only CDS features are kept.

The writer mirrors Prodigal's GFF (column 2 ``<source>``, column 6 the gene
score, the same attributes in the same order with the same number formats,
and on request Prodigal's ``# Sequence Data:`` / ``# Model Data:`` lines before
each sequence's genes), adds ``##sequence-region`` lines, and names genes
``<seqid>_<n>``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

from genoseq.io.atomic import atomic_write
from genoseq.io.cds import CDS, Annotation, warn_skipped_cds
from genoseq.io.compression import open_input, text_lines
from genoseq.io.errors import InvalidFileError
from genoseq.io.genes import number_genes, prodigal_attributes, sequence_data

if TYPE_CHECKING:
    from genoseq.genes.gene import Gene

__all__ = ["read_gff3_cds", "write_gff3"]

_CDS_TYPES = frozenset({"CDS", "SO:0000316"})
_STRANDS = {"+": 1, "-": -1, ".": 0, "?": 0}
_PARTIAL_DIGITS = frozenset({"00", "01", "10", "11"})
# Column 9 reserves ; = & , and the escape character itself; control characters
# (tab and newline included) must never appear literally.
_ATTRIBUTE_UNSAFE = re.compile(r"[;=&,%\x00-\x1f\x7f]")
# Column 1 (seqid) allows only these characters unescaped.
_SEQID_UNSAFE = re.compile(r"[^a-zA-Z0-9.:^*$@!+_?|-]")


def read_gff3_cds(path: str | os.PathLike, *, include_pseudo: bool = False) -> Annotation:
    """Read the CDS features of a GFF3 file.

    Parameters
    ----------
    path : str or os.PathLike
        GFF3 file, plain or compressed (gzip, bz2, xz: recognised by content);
        ``-`` reads standard input.
    include_pseudo : bool
        Keep CDS marked ``pseudo=true`` (or carrying a ``pseudogene``
        attribute). Dropped by default.

    Returns
    -------
    Annotation
        ``cds`` in order of first appearance; ``sequence_lengths`` from the
        ``##sequence-region`` directives; ``sequences`` empty (reading stops at
        ``##FASTA``).

    Raises
    ------
    InvalidFileError
        For a line without 9 tab-separated columns, a coordinate that is not
        a positive integer, start > end, a strand other than ``+ - . ?``, a
        CDS phase other than ``0 1 2 .``, an attribute that is not
        ``tag=value``, lines of one ``ID`` on different sequences or strands,
        or a malformed ``##sequence-region``.

    Warns
    -----
    GenoseqWarning
        For each CDS left out: one spanning the origin (attribute
        ``spans_origin=true``, an end beyond its ``##sequence-region``, or
        segments touching both ends of the sequence), or one whose strand is
        ``.`` or ``?``.

    Notes
    -----
    Partial ends come from ``partial=true`` with ``start_range``/``end_range``
    (NCBI; ``partial=true`` alone marks both ends), or Prodigal's
    ``partial=LR`` digits, where L and R flag the left (lower coordinate) and
    right end. They are turned into 5'/3' by the strand. The phase of a CDS is
    the column 8 value of its first segment in transcription order; see
    :mod:`genoseq.io.annotation` for how a ``.`` phase is resolved. Line
    breaks may be LF, CRLF or CR (see :func:`genoseq.io.compression.text_lines`);
    a UTF-8 byte-order mark before the first line is skipped.
    """
    with open_input(path) as stream:
        return parse_gff3(text_lines(stream), path, include_pseudo=include_pseudo)


@dataclass
class _Feature:
    """The lines of one CDS (several when they share an ID)."""

    seqid: str
    strand: str
    line: int
    pieces: list[tuple[int, int, str]] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)


def parse_gff3(
    lines: Iterable[bytes], path: str | os.PathLike, *, include_pseudo: bool = False
) -> Annotation:
    """Parse GFF3 lines (bytes, first one is line 1); see :func:`read_gff3_cds`."""
    features: dict[object, _Feature] = {}
    lengths: dict[str, int] = {}
    for number, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise InvalidFileError(path, number, "line is not UTF-8 text, expected GFF3") from None
        if line.startswith("#"):
            if line.startswith("##FASTA"):
                break
            if line.startswith("##sequence-region"):
                seqid, length = _sequence_region(line, path, number)
                lengths[seqid] = length
            continue
        if not line.strip():
            continue
        _read_feature_line(line, path, number, features)
    annotation = Annotation(cds=[], sequence_lengths=lengths)
    for feature in features.values():
        cds = _to_cds(feature, path, lengths)
        if cds is not None and (include_pseudo or not cds.pseudo):
            annotation.cds.append(cds)
    return annotation


def _sequence_region(line: str, path: str | os.PathLike, number: int) -> tuple[str, int]:
    fields = line.split()
    if len(fields) != 4 or not all(_is_integer(value) for value in fields[2:]):
        raise InvalidFileError(
            path,
            number,
            f"{line!r} is not '##sequence-region seqid start end' with integer coordinates",
        )
    return unquote(fields[1]), int(fields[3])


def _read_feature_line(
    line: str, path: str | os.PathLike, number: int, features: dict[object, _Feature]
) -> None:
    fields = line.split("\t")
    if len(fields) != 9:
        raise InvalidFileError(
            path,
            number,
            f"found {len(fields)} tab-separated columns, expected 9 in a GFF3 feature line",
        )
    seqid, _, kind, start_text, end_text, _, strand, phase, attribute_text = fields
    start = _coordinate(start_text, "start", path, number)
    end = _coordinate(end_text, "end", path, number)
    if start > end:
        raise InvalidFileError(path, number, f"start {start} is greater than end {end}")
    if strand not in _STRANDS:
        raise InvalidFileError(path, number, f"strand {strand!r} is not one of '+', '-', '.', '?'")
    if kind not in _CDS_TYPES:
        return
    if phase not in ("0", "1", "2", "."):
        raise InvalidFileError(path, number, f"CDS phase {phase!r} is not one of 0, 1, 2, '.'")
    attributes = _parse_attributes(attribute_text, path, number)
    seqid = unquote(seqid)
    key = attributes.get("ID", number)
    feature = features.get(key)
    if feature is None:
        feature = features[key] = _Feature(seqid, strand, number)
    elif (feature.seqid, feature.strand) != (seqid, strand):
        raise InvalidFileError(
            path,
            number,
            f"CDS {key!r} is on {seqid!r} strand {strand!r} here but on {feature.seqid!r} "
            f"strand {feature.strand!r} at line {feature.line}; expected one sequence and strand per ID",
        )
    feature.pieces.append((start - 1, end, phase))
    for tag, value in attributes.items():
        feature.attributes.setdefault(tag, value)


def _is_integer(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _coordinate(text: str, name: str, path: str | os.PathLike, number: int) -> int:
    if not _is_integer(text) or int(text) == 0:
        raise InvalidFileError(path, number, f"{name} {text!r} is not a positive integer")
    return int(text)


def _parse_attributes(text: str, path: str | os.PathLike, number: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    if text == ".":
        return attributes
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        tag, equals, value = item.partition("=")
        if not equals or not tag:
            raise InvalidFileError(path, number, f"attribute {item!r} is not of the form tag=value")
        attributes[unquote(tag)] = unquote(value)
    return attributes


def _partial_ends(
    attributes: dict[str, str], path: str | os.PathLike, number: int
) -> tuple[bool, bool]:
    """(left, right) ends flagged partial, in forward-strand terms."""
    left = "start_range" in attributes
    right = "end_range" in attributes
    value = attributes.get("partial")
    if value is None or value.lower() == "false":
        return left, right
    if value in _PARTIAL_DIGITS:
        return left or value[0] == "1", right or value[1] == "1"
    if value.lower() == "true":
        return (left, right) if left or right else (True, True)
    raise InvalidFileError(
        path, number, f"partial={value!r} is not true, false or Prodigal's 00, 01, 10, 11"
    )


def _to_cds(feature: _Feature, path: str | os.PathLike, lengths: dict[str, int]) -> CDS | None:
    attributes = feature.attributes
    number = feature.line
    strand = _STRANDS[feature.strand]
    pieces = sorted(feature.pieces, reverse=strand == -1)
    start = min(piece[0] for piece in pieces)
    end = max(piece[1] for piece in pieces)
    cds_id = (
        attributes.get("ID")
        or attributes.get("Name")
        or attributes.get("locus_tag")
        or f"{feature.seqid}:{start + 1}..{end}"
    )
    if strand == 0:
        warn_skipped_cds(
            path, number, cds_id, feature.seqid, f"strand {feature.strand!r} is not + or -"
        )
        return None
    length = lengths.get(feature.seqid)
    wraps = length is not None and (
        end > length or (len(pieces) > 1 and start == 0 and end == length)
    )
    if attributes.get("spans_origin", "").lower() == "true" or wraps:
        warn_skipped_cds(
            path, number, cds_id, feature.seqid, "it spans the origin of a circular sequence"
        )
        return None
    left, right = _partial_ends(attributes, path, number)
    partial_5, partial_3 = (left, right) if strand == 1 else (right, left)
    segments = tuple((piece[0], piece[1]) for piece in pieces)
    first_phase = pieces[0][2]
    if first_phase != ".":
        phase = int(first_phase)
    elif partial_5 and not partial_3:
        phase = sum(e - s for s, e in segments) % 3
    else:
        phase = 0
    table = attributes.get("transl_table")
    if table is not None and not _is_integer(table):
        raise InvalidFileError(path, number, f"transl_table={table!r} is not an integer")
    return CDS(
        seqid=feature.seqid,
        start=start,
        end=end,
        strand=strand,
        id=cds_id,
        partial_5=partial_5,
        partial_3=partial_3,
        pseudo=attributes.get("pseudo", "").lower() == "true" or "pseudogene" in attributes,
        translation_table=None if table is None else int(table),
        phase=phase,
        segments=segments,
        attributes=attributes,
    )


def _escape_attribute(value: str) -> str:
    return _ATTRIBUTE_UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", value)


def _escape_seqid(seqid: str) -> str:
    """Escape column 1 (and 2) text, which allows fewer characters than column 9."""
    return _SEQID_UNSAFE.sub(
        lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8")), seqid
    )


def write_gff3(
    path: str | os.PathLike,
    genes: Iterable[Gene],
    sequence_lengths: Mapping[str, int],
    *,
    source: str | None = None,
    model_data: Mapping[str, str] | None = None,
) -> None:
    """Write predicted genes as GFF3, atomically, in Prodigal's layout.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``-`` writes to standard output.
    genes : iterable of Gene
        Genes of any of the sequences, in any order: they are written
        sequence by sequence (in ``sequence_lengths`` order), by position
        within a sequence, and named ``<seqid>_<n>`` (n = 1, 2, ... per
        sequence in that order).
    sequence_lengths : mapping of str to int
        Length of every sequence, in output order; each gets a
        ``##sequence-region`` line, genes or not.
    source : str, optional
        Column 2. Default ``genoseq_v<version>``, as Prodigal writes
        ``Prodigal_v2.6.3``.
    model_data : mapping of str to str, optional
        Per sequence, the value of Prodigal's ``# Model Data:`` line. When
        given, each sequence's genes are preceded by Prodigal's two comment
        lines ``# Sequence Data: seqnum=I;seqlen=L;seqhdr="SEQID"``
        (:func:`~genoseq.io.genes.sequence_data`) and ``# Model Data: ...``,
        also for a sequence without genes; None writes neither.

    Raises
    ------
    ValueError
        If a gene lies on a sequence missing from ``sequence_lengths`` or
        extends beyond its end.
    """
    numbered = number_genes(genes, sequence_lengths)
    for _, gene in numbered:
        if gene.end > sequence_lengths[gene.seqid]:
            raise ValueError(
                f"gene {gene.seqid}:{gene.start + 1}..{gene.end} ends beyond the sequence "
                f"length {sequence_lengths[gene.seqid]}"
            )
    if source is None:
        # Imported here: genoseq/__init__.py may import genoseq.io before defining __version__.
        from genoseq import __version__

        source = f"genoseq_v{__version__}"
    column2 = _escape_seqid(source)
    with atomic_write(path) as handle:
        handle.write("##gff-version 3\n")
        for seqid, length in sequence_lengths.items():
            handle.write(f"##sequence-region {_escape_seqid(seqid)} 1 {length}\n")
        by_seqid: dict[str, list[tuple[str, Gene]]] = {}
        for gene_id, gene in numbered:
            by_seqid.setdefault(gene.seqid, []).append((gene_id, gene))
        for number, (seqid, length) in enumerate(sequence_lengths.items(), 1):
            if model_data is not None:
                handle.write(f"# Sequence Data: {sequence_data(number, length, seqid)}\n"
                             f"# Model Data: {model_data[seqid]}\n")
            for gene_id, gene in by_seqid.get(seqid, []):
                _write_gene(handle, gene_id, gene, column2)


def _write_gene(handle, gene_id: str, gene: Gene, column2: str) -> None:
    attributes = "".join(
        f"{tag}={_escape_attribute(value)};" for tag, value in prodigal_attributes(gene_id, gene)
    )
    strand = "+" if gene.strand == 1 else "-"
    handle.write(
        f"{_escape_seqid(gene.seqid)}\t{column2}\tCDS\t{gene.start + 1}\t{gene.end}\t"
        f"{gene.score:.1f}\t{strand}\t{gene.phase}\t{attributes}\n"
    )
