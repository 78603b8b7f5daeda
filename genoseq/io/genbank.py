"""GenBank: reading reference CDS and sequences, writing predicted genes.

Both directions go through Biopython's GenBank parser and writer. Whatever
Biopython raises on a malformed file (``ValueError``, ``AssertionError``,
``IndexError``, ...) becomes :class:`~genoseq.io.errors.InvalidFileError`
naming the file and the line (the offending line of a feature, or the last
line Biopython read), and its parser warnings become
:class:`~genoseq.io.errors.GenoseqWarning` naming the file.
"""

from __future__ import annotations

import io
import itertools
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from Bio import BiopythonWarning, SeqIO
from Bio.GenBank.Scanner import GenBankScanner
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
from genoseq.io.compression import UTF8_BOM, open_input
from genoseq.io.errors import GenoseqWarning, InvalidFileError
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
        If the file holds no GenBank record, Biopython cannot parse it (a
        qualifier line without its ``/``, a truncated feature table, ...: the
        message names the line), or a ``/transl_table`` or ``/codon_start`` is
        not an integer.

    Warns
    -----
    GenoseqWarning
        For each CDS left out: one spanning the origin (a ``join`` whose parts
        go back to the start of the sequence), one with parts on both strands,
        or one whose location Biopython could not read; and for each problem
        Biopython's parser warns about (a sequence shorter than the LOCUS
        line says, a location it cannot read, ...).

    Notes
    -----
    ``<`` and ``>`` on a CDS location mark its partial ends (``<`` on the
    left end, which is the 3' end of a - strand CDS). ``/codon_start`` - 1
    gives the phase. Sequences are upper-cased with U (RNA) read as T. Line
    endings may be LF, CRLF or CR, and a UTF-8 byte-order mark at the start
    is skipped.
    """
    with open_input(path) as stream:
        return parse_genbank(stream.read(), path, include_pseudo=include_pseudo)


def parse_genbank(
    data: bytes, path: str | os.PathLike, *, include_pseudo: bool = False
) -> Annotation:
    """Parse the bytes of a GenBank file; see :func:`read_genbank_cds`."""
    data = data.removeprefix(UTF8_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidFileError(path, line, "line is not UTF-8 text, expected GenBank") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = text.lstrip()
    if not first.startswith("LOCUS"):
        line = text[: len(text) - len(first)].count("\n") + 1
        raise InvalidFileError(
            path,
            line,
            f"found {first.partition(chr(10))[0][:40]!r}, expected a GenBank 'LOCUS' line",
        )
    annotation = Annotation(cds=[])
    handle = _CountingReader(text)
    records = _Scanner(handle).parse_records(handle)
    while (record := _next_record(records, handle, path)) is not None:
        seqid = record.id
        annotation.sequence_lengths[seqid] = len(record)
        try:
            annotation.sequences[seqid] = bytes(record.seq).upper().replace(b"U", b"T")
        except UndefinedSequenceError:
            pass
        for feature in record.features:
            if feature.type == "CDS":
                cds = _to_cds(feature, seqid, path)
                if cds is not None and (include_pseudo or not cds.pseudo):
                    annotation.cds.append(cds)
    return annotation


def _next_record(
    records: Iterator[SeqRecord], handle: _CountingReader, path: str | os.PathLike
) -> SeqRecord | None:
    """The next record Biopython parses, None at the end; its failures as InvalidFileError."""
    failure = record = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            record = next(records)
        except StopIteration:
            pass
        except _LocatedError as error:
            failure = InvalidFileError(path, error.line, error.message)
        except MemoryError:
            raise
        except Exception as error:  # any Biopython failure: a bad file
            message = _describe(error)
            if message.startswith("Premature end of"):
                message = f"not valid GenBank: {message} (is the file truncated?)"
            else:
                message = f"not valid GenBank at {_shorten(handle.last_line.rstrip())}: {message}"
            failure = InvalidFileError(path, handle.lines_read or None, message)
    # Outside catch_warnings, which would record them again.
    _forward_warnings(caught, path)
    if failure is not None:
        raise failure
    return record


class _CountingReader(io.StringIO):
    """Text handle counting the lines read, so that an error can name its line.

    Biopython's GenBank scanner reads only with ``readline``.
    """

    def __init__(self, text: str):
        super().__init__(text)
        self.lines_read = 0
        self.last_line = ""
        self.at_end = False

    def readline(self, size: int | None = -1) -> str:
        line = super().readline(size)
        if line:
            self.lines_read += 1
            self.last_line = line
        else:
            self.at_end = True
        return line


class _LocatedError(Exception):
    """A failure inside a feature, with the line and message to report."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _Scanner(GenBankScanner):
    """Biopython's GenBank scanner, telling which feature (and line) it fails on.

    Biopython reads the whole feature table (``parse_feature`` for each
    feature, once it has read the line after it), then turns each feature's
    location and qualifiers into a ``SeqFeature`` (``_feed_feature_table``).
    """

    def __init__(self, handle: _CountingReader):
        super().__init__(debug=0)
        self._reader = handle
        self._feature_lines: list[int] = []

    def parse_feature(self, feature_key, lines):
        # The line after the feature has been read, unless the file ended.
        first = max(1, self._reader.lines_read - len(lines) + self._reader.at_end)
        self._feature_lines.append(first)
        try:
            return super().parse_feature(feature_key, lines)
        except MemoryError:
            raise
        except Exception as error:  # reported with its line
            raise _feature_error(feature_key, list(lines), first, error) from None

    def _feed_feature_table(self, consumer, feature_tuples):
        feature_lines, self._feature_lines = self._feature_lines, []
        for index, feature in enumerate(feature_tuples):
            try:
                GenBankScanner._feed_feature_table(consumer, [feature])
            except MemoryError:
                raise
            except Exception as error:  # reported with its line
                line = feature_lines[index] if index < len(feature_lines) else None
                key, location = feature[0], feature[1]
                raise _LocatedError(
                    line,
                    f"cannot read the {key!r} feature at {_shorten(location)}: "
                    f"{_describe(error)}",
                ) from None


def _feature_error(
    key: str, lines: list[str], first: int, cause: BaseException
) -> _LocatedError:
    """The error for a feature whose ``lines`` (from line ``first`` on) Biopython cannot split."""
    if isinstance(cause, AssertionError):
        # A line that is neither a '/qualifier' nor the continuation of one.
        for offset, text in enumerate(lines[1:], 1):
            if text and not text.startswith(("/", ")")):
                return _LocatedError(
                    first + offset,
                    f"{_shorten(text)} in the {key!r} feature is not a qualifier "
                    "(expected '/name=value' after the location: is the '/' missing?)",
                )
    if str(cause).startswith("Problem with"):
        detail = "it ends inside its location or inside a quoted qualifier value"
    else:
        detail = _describe(cause)
    return _LocatedError(first, f"cannot read the {key!r} feature: {detail}")


def _forward_warnings(caught: list[warnings.WarningMessage], path: str | os.PathLike) -> None:
    """Re-issue Biopython's parser warnings as GenoseqWarning naming the file."""
    for warning in caught:
        if issubclass(warning.category, BiopythonWarning):
            # 5: the caller of read_genbank_cds / read_cds, through the parser.
            warnings.warn(
                f"{os.fspath(path)}: {_first_line(str(warning.message))}",
                GenoseqWarning,
                stacklevel=5,
            )
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def _describe(error: BaseException) -> str:
    """One line for an exception: a ValueError's message; else also its type, from Biopython."""
    message = _first_line(str(error))
    if isinstance(error, ValueError) and message:
        return message
    kind = type(error).__name__
    return f"{kind} in Biopython's parser ({message})" if message else f"{kind} in Biopython's parser"


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().partition("\n")[0].strip()
    return line if len(line) <= limit else line[:limit] + "..."


def _shorten(text: str, limit: int = 40) -> str:
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


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
    if any(int(part.end) <= int(part.start) for part in parts):
        warn_skipped_cds(
            path, None, cds_id, seqid, "a part of its location holds no bases (a site like 1^2?)"
        )
        return None
    references = sorted({part.ref for part in parts if part.ref})
    if references:
        warn_skipped_cds(
            path, None, cds_id, seqid, f"it lies on another record ({', '.join(references)})"
        )
        return None
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
