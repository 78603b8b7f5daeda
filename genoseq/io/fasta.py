"""Streaming reader for FASTA and FASTQ files.

One reader serves both formats, plain or compressed (see
:func:`genoseq.io.compression.open_input`). Input is read in fixed-size
chunks (1 MB by default), so memory stays bounded by about twice the chunk
size plus the largest record, whatever the file size. FASTA sequence blocks are cleaned with one ``bytes.translate`` per
block, which upper-cases, deletes line breaks and marks invalid characters in
a single C pass; there is no Python loop per line or per base. Without an
alphabet, a long block of upper-case letters only (checked by a numpy min and
max) skips that pass: removing its line breaks is all it needs.

Line endings may be ``\n``, ``\r\n`` or a lone ``\r`` (classic Mac OS), told
apart by the first line break of the file. A UTF-8 byte-order mark at the
start of the file is skipped. Blank lines, leading blank lines and
whitespace at the end of the file are ignored, at the cost of a C-level scan
(runs of blank lines are never looked at one by one); a space or tab inside
a sequence line (trailing ones included) is an invalid character. With
``alphabet="dna"``, RNA is read as DNA: U and u become T and t, so every
consumer (translation, the ``.ffn`` output, ...) sees T. Every malformed
input raises :class:`~genoseq.io.errors.InvalidFileError` naming the file,
the 1-based line and the offending value.
"""

from __future__ import annotations

import itertools
import os
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from genoseq.io.compression import UTF8_BOM, open_input
from genoseq.io.errors import InvalidFileError

# Chunks that stay in the CPU cache parse faster than 8-16 MB ones (measured
# 1.2 vs 0.9 GB/s on 60-column FASTA); per-chunk overhead is negligible at 1 MB.
DEFAULT_CHUNK_SIZE = 2**20
"""Bytes read from the input at a time (int)."""

_ALPHABETS = {
    None: (string.ascii_uppercase + "-*.", "letters, '-', '*' or '.'"),
    "dna": ("ACGTUNRYSWKMBDHV-", "DNA (A, C, G, T, U, N, IUPAC codes RYSWKMBDHV or '-')"),
    "protein": (
        "ACDEFGHIKLMNPQRSTVWYBZJUOX*-",
        "protein (the 20 amino acids, B, Z, J, U, O, X, '*' or '-')",
    ),
}
_LETTERS = frozenset(string.ascii_uppercase)
_LINE_BREAKS = b"\r\n"
_CR_TO_LF = bytes.maketrans(b"\r", b"\n")
# Marks an invalid character in translated sequence; real NUL bytes are
# rejected before translation, so any NUL afterwards comes from the table.
_INVALID = b"\x00"
_QUALITY_CHARS = bytes(range(33, 127))
_DNA_BASES = np.frombuffer(b"ACGTU", dtype=np.uint8)
_NOT_RESIDUES = np.frombuffer(b"N-*", dtype=np.uint8)
_MIN_DNA_CHECK_LENGTH = 20
_DNA_FRACTION = 0.9
# Sequence blocks at least this long are first tried as plain upper-case
# letters (numpy calls cost more than they save on shorter ones).
_FAST_MIN_BLOCK = 4096
_UPPER_A, _UPPER_Z = ord("A"), ord("Z")


# Two or more empty lines in a row, after the line break that ends the line
# before them: the FASTQ line splitter hands such a run over as one item, so
# that blank lines cost no Python work each.
_BLANK_RUN = re.compile(rb"\n(\n\n+)")


def _cleaning_table(allowed: str, replace: dict[str, str] | None = None) -> bytes:
    """256-byte ``bytes.translate`` table: upper-cases allowed characters, maps the rest to NUL.

    ``replace`` maps allowed characters to the character they are read as
    (both cases).
    """
    replace = replace or {}
    table = bytearray(256)
    for char in allowed:
        table[ord(char)] = table[ord(char.lower())] = ord(replace.get(char, char))
    return bytes(table)


_TABLES = {alphabet: _cleaning_table(chars) for alphabet, (chars, _) in _ALPHABETS.items()}
# DNA input may be RNA: U is read as T, so that codons, proteins and the bases
# written out are those of the DNA.
_TABLES["dna"] = _cleaning_table(_ALPHABETS["dna"][0], {"U": "T"})


@dataclass(slots=True, repr=False)
class SequenceRecord:
    """One FASTA or FASTQ record.

    Parameters
    ----------
    id : str
        First word of the header line.
    seq : bytes
        Sequence, upper-cased, line breaks removed, IUPAC codes and gaps kept.
    description : str
        Rest of the header after the id, stripped; ``""`` if none.
    quality : bytes or None
        FASTQ quality characters as written (ASCII 33-126), one per base of
        ``seq``; None for FASTA.
    line : int or None
        1-based line number of the header in the file it came from, for
        error messages; not compared by ``==``.
    """

    id: str
    seq: bytes
    description: str = ""
    quality: bytes | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def array(self) -> np.ndarray:
        """Sequence as a read-only ``uint8`` array of shape ``(length,)``, sharing ``seq``'s memory."""
        return np.frombuffer(self.seq, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.seq)

    def __repr__(self) -> str:
        preview = self.seq[:20] + (b"..." if len(self.seq) > 20 else b"")
        fastq = "" if self.quality is None else ", fastq"
        return (
            f"SequenceRecord(id={self.id!r}, description={_shorten(self.description)}, "
            f"length={len(self.seq)}, seq={preview!r}{fastq})"
        )


def read_fasta(
    path: str | os.PathLike | BinaryIO,
    *,
    alphabet: str | None = None,
    unique_ids: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[SequenceRecord]:
    """Iterate over the records of a FASTA file.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        File to read, plain or gzip/bz2/xz compressed (recognised by content);
        ``"-"`` reads standard input.
    alphabet : {None, "dna", "protein"}
        Characters allowed in sequences. None allows letters and ``-*.``;
        ``"dna"`` allows ``ACGTUN``, the IUPAC codes ``RYSWKMBDHV`` and ``-``,
        reads U (RNA) as T, and reports other letters (E, F, I, L, P, Q, ...)
        as protein;
        ``"protein"`` allows the 20 amino acids, ``BZJUOX*-`` and rejects a
        sequence of 20 or more residues of which at least 90 % (N, gaps and
        stops aside) are A, C, G, T or U.
    unique_ids : bool
        Reject a record whose id was already seen in the file.
    chunk_size : int
        Bytes read at a time; memory use is about twice this plus the largest
        record.

    Yields
    ------
    SequenceRecord
        Records in file order, ``quality`` None.

    Raises
    ------
    InvalidFileError
        On malformed input, naming the file, line and offending value.
    """
    return read_sequences(
        path, format="fasta", alphabet=alphabet, unique_ids=unique_ids, chunk_size=chunk_size
    )


def read_fastq(
    path: str | os.PathLike | BinaryIO,
    *,
    alphabet: str | None = None,
    unique_ids: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[SequenceRecord]:
    """Iterate over the records of a FASTQ file.

    Records may wrap sequence and quality over several lines (Cock et al.
    2010, Nucleic Acids Res. 38:1767); quality lines are counted against the
    sequence length, so they may begin with ``@`` or ``+``.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        File to read, plain or gzip/bz2/xz compressed; ``"-"`` reads standard
        input.
    alphabet : {None, "dna", "protein"}
        Characters allowed in sequences, as in :func:`read_fasta`.
    unique_ids : bool
        Reject a record whose id was already seen in the file.
    chunk_size : int
        Bytes read at a time.

    Yields
    ------
    SequenceRecord
        Records in file order, with ``quality`` of the same length as ``seq``.

    Raises
    ------
    InvalidFileError
        On malformed input, naming the file, line and offending value.
    """
    return read_sequences(
        path, format="fastq", alphabet=alphabet, unique_ids=unique_ids, chunk_size=chunk_size
    )


def read_sequences(
    path: str | os.PathLike | BinaryIO,
    *,
    format: str | None = None,
    alphabet: str | None = None,
    unique_ids: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[SequenceRecord]:
    """Iterate over the records of a FASTA or FASTQ file.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        File to read, plain or gzip/bz2/xz compressed; ``"-"`` reads standard
        input. An open stream is read from its current position and left open.
    format : {None, "fasta", "fastq"}
        Expected format; None decides from the first non-blank byte
        (``>`` for FASTA, ``@`` for FASTQ).
    alphabet : {None, "dna", "protein"}
        Characters allowed in sequences, as in :func:`read_fasta`.
    unique_ids : bool
        Reject a record whose id was already seen in the file.
    chunk_size : int
        Bytes read at a time.

    Yields
    ------
    SequenceRecord
        Records in file order.

    Raises
    ------
    ValueError
        At call time, for an unknown ``format`` or ``alphabet``, or a
        ``chunk_size`` below 1.
    InvalidFileError
        While iterating, on malformed input.
    """
    if format not in (None, "fasta", "fastq"):
        raise ValueError(f"format must be None, 'fasta' or 'fastq', got {format!r}")
    if alphabet not in _ALPHABETS:
        raise ValueError(f"alphabet must be None, 'dna' or 'protein', got {alphabet!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of bytes, got {chunk_size!r}")
    return _iter_records(path, format, alphabet, unique_ids, chunk_size)


def _iter_records(
    path: str | os.PathLike | BinaryIO,
    format: str | None,
    alphabet: str | None,
    unique_ids: bool,
    chunk_size: int,
) -> Iterator[SequenceRecord]:
    with open_input(path) as stream:
        name = stream.name
        chunks = _lf_line_breaks(_read_chunks(stream, chunk_size))
        first, line = _skip_leading_blanks(chunks, name)
        marker = first[:1]
        if format is None:
            format = {b">": "fasta", b"@": "fastq"}.get(marker)
        if format is None or marker != (b">" if format == "fasta" else b"@"):
            raise InvalidFileError(name, line, _start_message(first, format))
        builder = _RecordBuilder(name, alphabet, unique_ids)
        parse = _parse_fasta if format == "fasta" else _parse_fastq
        yield from parse(itertools.chain((first,), chunks), line, builder)


def _read_chunks(stream: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    """Yield the stream in chunks, without a leading byte-order mark or trailing whitespace.

    Whitespace-only chunks are held back until a chunk with content follows
    (then they are yielded as they were) or the stream ends (then they are
    dropped and the last chunk with content loses its trailing whitespace).
    Nothing is concatenated, so a long run of blank lines costs one pass, and
    a held chunk equal to the one before is kept as a count, so memory stays
    bounded.
    """
    data = stream.read(max(chunk_size, len(UTF8_BOM)))
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :] or stream.read(chunk_size)
    last = b""  # the latest chunk with content, not yet yielded
    held: list[list] = []  # [chunk, repeats] of the whitespace-only chunks after it
    while data:
        if not data.isspace():
            if last:
                yield last
            for blank, repeats in held:
                for _ in range(repeats):
                    yield blank
            held.clear()
            last = data
        elif held and held[-1][0] == data:
            held[-1][1] += 1
        else:
            held.append([data, 1])
        data = stream.read(chunk_size)
    last = last.rstrip()
    if last:
        yield last


def _lf_line_breaks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Pass chunks through, with CR-only line breaks (classic Mac OS) turned into LF.

    The first line break decides: ``\\n`` or ``\\r\\n`` leave every chunk as
    it is (no cost); a lone ``\\r`` turns every ``\\r`` and ``\\r\\n`` into
    ``\\n``.
    """
    chunks = iter(chunks)
    pending = b""
    for data in chunks:
        data = pending + data if pending else data
        pending = b""
        cr = data.find(b"\r")
        lf = data.find(b"\n")
        if lf >= 0 and (cr < 0 or cr >= lf - 1):
            yield data
            yield from chunks
            return
        if 0 <= cr < len(data) - 1:
            yield from _cr_to_lf(itertools.chain((data,), chunks))
            return
        if cr >= 0:
            pending = data  # ends with its only '\r': the next byte decides
        else:
            yield data
    if pending:
        yield pending


def _cr_to_lf(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Turn ``\\r`` and ``\\r\\n`` into ``\\n``, also when a ``\\r\\n`` spans two chunks."""
    after_cr = False
    for data in chunks:
        if after_cr and data[:1] == b"\n":
            data = data[1:]  # the '\n' of a '\r\n' whose '\r' ended the chunk before
        after_cr = data.endswith(b"\r")
        if b"\r\n" in data:
            data = data.replace(b"\r\n", b"\n")
        if data:
            yield data.translate(_CR_TO_LF)


def _skip_leading_blanks(chunks: Iterator[bytes], name: str) -> tuple[bytes, int]:
    """Return the first chunk from its first non-blank byte on, and that byte's line."""
    line = 1
    for data in chunks:
        _check_no_nul(data, line, name)
        content = data.lstrip()
        if content:
            return content, line + data.count(b"\n", 0, len(data) - len(content))
        line += data.count(b"\n")
    raise InvalidFileError(name, None, "empty file, expected FASTA/FASTQ")


def _start_message(first: bytes, format: str | None) -> str:
    found = _shorten(first.split(b"\n", 1)[0].rstrip(b"\r"))
    if format == "fasta":
        hint = " (this looks like FASTQ)" if first.startswith(b"@") else ""
        return f"expected '>' at start of FASTA record, found {found}{hint}"
    if format == "fastq":
        hint = " (this looks like FASTA)" if first.startswith(b">") else ""
        return f"expected '@' at start of FASTQ record, found {found}{hint}"
    return f"expected '>' at start of FASTA record or '@' at start of FASTQ record, found {found}"


def _check_no_nul(data: bytes, line: int, name: str) -> None:
    """Reject binary data: ``line`` is the line number where ``data`` begins."""
    nul = data.find(b"\x00")
    if nul >= 0:
        context = max(data.rfind(b"\n", 0, nul) + 1, nul - 20)
        raise InvalidFileError(
            name,
            line + data.count(b"\n", 0, nul),
            f"found a NUL byte in {_shorten(data[context : nul + 1])}: this is binary data, "
            "expected FASTA/FASTQ text",
        )


def _upper_letters_only(raw: bytes) -> tuple[bytes | None, bool]:
    """``raw`` without its ``\n`` if that leaves upper-case letters (A-Z) only, else None;
    and whether the next block is worth the same try.

    Such a block is what ``translate`` with the default table would return, so
    the parser can skip that per-byte pass: ``replace`` of the line breaks plus
    a numpy max and min cost about a third of it (4.9 vs 1.8 GB/s on
    60-column lines). A byte above 'Z' (lower case, soft-masked sequence) is
    seen by the max before anything is copied; a byte below 'A' other than
    ``\n`` (gaps, stops, invalid characters) only after the copy, so after one
    such block the parser stops trying. Blocks that are not letters only go
    through ``translate``, as every block did before.
    """
    if np.frombuffer(raw, dtype=np.uint8).max() > _UPPER_Z:
        return None, True
    clean = raw.replace(b"\n", b"")
    if clean and np.frombuffer(clean, dtype=np.uint8).min() >= _UPPER_A:
        return clean, True
    return None, False


def _parse_fasta(
    chunks: Iterable[bytes], line: int, builder: _RecordBuilder
) -> Iterator[SequenceRecord]:
    """Parse FASTA from chunks, the first starting with ``>`` on line ``line``."""
    name = builder.name
    table = builder.table
    # Without an alphabet, upper-case letters are read as they are: a block
    # of nothing else needs only its line breaks removed (see _upper_letters_only;
    # off for the rest of the file once a block holds gaps or the like).
    letters_fast = builder.alphabet is None
    header = b""
    header_line = line
    header_parts: list[bytes] | None = None
    pieces: list[bytes] = []
    after_newline = True
    started = False
    for data in chunks:
        _check_no_nul(data, line, name)
        has_cr = b"\r" in data
        pos = 0
        if header_parts is not None:
            end = data.find(b"\n")
            if end < 0:
                header_parts.append(data)
                continue
            header_parts.append(data[:end])
            header = b"".join(header_parts)
            header_parts = None
            line += 1
            pos = end + 1
        while True:
            # A header is a '>' at the start of a line; any other '>' is left
            # in the sequence block, where the table marks it invalid.
            start = data.find(b">", pos)
            while start >= 0 and (data[start - 1] != 10 if start else not after_newline):
                start = data.find(b">", start + 1)
            block_end = len(data) if start < 0 else start
            if block_end > pos:
                raw = data[pos:block_end]
                clean = None
                if letters_fast and not has_cr and len(raw) >= _FAST_MIN_BLOCK:
                    clean, letters_fast = _upper_letters_only(raw)
                if clean is None:
                    clean = raw.translate(table, _LINE_BREAKS)
                    if _INVALID in clean:
                        raise builder.character_error(raw, line, header)
                line += raw.count(b"\n") if has_cr else len(raw) - len(clean)
                pieces.append(clean)
            if start < 0:
                break
            if started:
                yield builder.build(header, header_line, pieces)
            started = True
            pieces = []
            header_line = line
            end = data.find(b"\n", start)
            if end < 0:
                header_parts = [data[start + 1 :]]
                break
            header = data[start + 1 : end]
            line += 1
            pos = end + 1
        after_newline = data.endswith(b"\n")
    if header_parts is not None:
        header = b"".join(header_parts)
    yield builder.build(header, header_line, pieces)


def _split_lines(
    chunks: Iterable[bytes], line: int, name: str, blank_runs: list[int]
) -> Iterator[bytes]:
    """Yield the lines of the chunked text without their ``\\n``.

    Two or more blank lines in a row within a chunk come as one item, those
    lines joined by ``\\n``: whitespace holding one line break fewer than it
    stands for lines, so that consumers count them without a loop.
    ``blank_runs[0]`` becomes non-zero once such an item may have been
    yielded; until then every item is one line.
    """
    carry = b""
    for data in chunks:
        _check_no_nul(data, line, name)
        lines = data.split(b"\n")
        line += len(lines) - 1
        if len(lines) > 3 and (b"" in lines or b"\r" in lines):
            # Blank lines: runs of them become single items. '\r\n' becomes
            # '\n' first, which the parser cannot tell apart (it ignores a '\r'
            # ending a line).
            parts = _BLANK_RUN.split(data.replace(b"\r\n", b"\n"))
            blank_runs[0] += len(parts) > 1
            lines = parts[0].split(b"\n")
            for index in range(1, len(parts), 2):
                lines.append(parts[index][:-1])
                lines.extend(parts[index + 1].split(b"\n"))
        lines[0] = carry + lines[0]
        carry = lines.pop()
        yield from lines
    if carry:
        yield carry


def _parse_fastq(
    chunks: Iterable[bytes], line: int, builder: _RecordBuilder
) -> Iterator[SequenceRecord]:
    """Parse FASTQ from chunks, the first starting with ``@`` on line ``line``.

    An item of :func:`_split_lines` that holds line breaks is a run of blank
    lines and counts as one line more than it has line breaks; they are
    looked for only in files that have them.
    """
    name = builder.name
    table = builder.table
    blank_runs = [0]
    lines = _split_lines(chunks, line, name, blank_runs)
    line -= 1
    for text in lines:
        line += 1
        if not text.startswith(b"@"):
            if text.isspace() or not text:
                line += text.count(b"\n")
                continue
            raise InvalidFileError(
                name, line, f"expected '@' at start of FASTQ record, found {_shorten(text)}"
            )
        header, header_line = text[1:], line
        sequence_lines = []
        for text in lines:
            if text.startswith(b"+"):
                break
            sequence_lines.append(text)
        else:
            record_id = builder.parse_header(header, header_line)[0]
            raise InvalidFileError(
                name,
                header_line,
                f"record {_shorten(record_id)} ends before its '+' line, expected sequence "
                "lines, a '+' line and quality lines",
            )
        # The sequence lines joined are the text as written, blank runs included.
        raw = b"\n".join(sequence_lines)
        line = header_line + 1 + len(sequence_lines)
        if blank_runs[0] and sequence_lines:
            line = header_line + 2 + raw.count(b"\n")
        record_id, description = builder.parse_header(header, header_line)
        repeated = text[1:].split(None, 1)
        if repeated and repeated[0].decode(errors="backslashreplace") != record_id:
            raise InvalidFileError(
                name,
                line,
                f"'+' line repeats id {_shorten(repeated[0])}, expected the record's id "
                f"{_shorten(record_id)} or nothing",
            )
        seq = raw.translate(table, _LINE_BREAKS)
        if _INVALID in seq:
            raise builder.character_error(raw, header_line + 1, header)
        quality_line = line + 1
        quality_lines = []
        quality_length = 0
        if not seq:
            # A zero-length read (Cock et al. 2010 allow them, e.g. after trimming)
            # still has its quality line, empty.
            text = next(lines, b"")
            line += 1 + text.count(b"\n")
            if text.strip():
                raise InvalidFileError(
                    name,
                    quality_line,
                    f"record {_shorten(record_id)} has an empty sequence but quality "
                    f"{_shorten(text)}, expected an empty quality line",
                )
        while quality_length < len(seq):
            text = next(lines, None)
            if text is None:
                break
            line += 1
            if 10 in text:  # b"\n" (an int test is a fast memchr)
                # A run of blank lines: no quality characters, one entry per line.
                blanks = text.count(b"\n")
                line += blanks
                quality_lines.extend([b""] * (blanks + 1))
                continue
            text = text.rstrip(b"\r")
            quality_lines.append(text)
            quality_length += len(text)
        if quality_length != len(seq):
            if quality_length > len(seq) and text.startswith(b"@"):
                # Most likely a short quality followed by the next record's header.
                quality_length -= len(text)
            raise InvalidFileError(
                name,
                quality_line,
                f"record {_shorten(record_id)} has {quality_length} quality characters for "
                f"{len(seq)} sequence characters, expected one quality character per base",
            )
        quality = b"".join(quality_lines)
        if quality.translate(None, _QUALITY_CHARS):
            raise _quality_error(name, quality_lines, quality_line, record_id)
        yield builder.make(record_id, description, header_line, seq, quality)


def _quality_error(
    name: str, quality_lines: list[bytes], line: int, record_id: str
) -> InvalidFileError:
    offset, bad = next(
        (offset, bad)
        for offset, bad in enumerate(text.translate(None, _QUALITY_CHARS) for text in quality_lines)
        if bad
    )
    return InvalidFileError(
        name,
        line + offset,
        f"invalid quality character {_shorten(bad[:1])} in record {_shorten(record_id)}, "
        "expected ASCII 33-126 ('!' to '~')",
    )


class _RecordBuilder:
    """Turns parsed headers and sequence pieces into validated records."""

    def __init__(self, name: str, alphabet: str | None, unique_ids: bool):
        self.name = name
        self.alphabet = alphabet
        self.table = _TABLES[alphabet]
        self.first_lines: dict[str, int] | None = {} if unique_ids else None

    def parse_header(self, header: bytes, line: int) -> tuple[str, str]:
        """Split a header (without its ``>`` or ``@``) into id and description."""
        try:
            text = header.decode()
        except UnicodeDecodeError:
            raise InvalidFileError(
                self.name, line, f"header {_shorten(header)} is not UTF-8 text, expected text"
            ) from None
        words = text.split(None, 1)
        if not words:
            raise InvalidFileError(
                self.name, line, f"empty record id in header {_shorten(text)}, expected an id"
            )
        return words[0], words[1].strip() if len(words) > 1 else ""

    def build(self, header: bytes, line: int, pieces: list[bytes]) -> SequenceRecord:
        """Record from a FASTA header and its cleaned sequence pieces."""
        record_id, description = self.parse_header(header, line)
        seq = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        return self.make(record_id, description, line, seq, None)

    def make(
        self, record_id: str, description: str, line: int, seq: bytes, quality: bytes | None
    ) -> SequenceRecord:
        """Check a record's sequence and id uniqueness, and build it."""
        if not seq and quality is None:
            raise InvalidFileError(
                self.name, line, f"record {_shorten(record_id)} has an empty sequence"
            )
        if self.first_lines is not None:
            first_line = self.first_lines.setdefault(record_id, line)
            if first_line != line:
                raise InvalidFileError(
                    self.name,
                    line,
                    f"duplicate record id {_shorten(record_id)} (first seen on line {first_line}), "
                    "expected unique ids",
                )
        if self.alphabet == "protein" and len(seq) >= _MIN_DNA_CHECK_LENGTH:
            self._reject_dna(record_id, line, seq)
        return SequenceRecord(record_id, seq, description, quality, line)

    def _reject_dna(self, record_id: str, line: int, seq: bytes) -> None:
        counts = np.bincount(np.frombuffer(seq, dtype=np.uint8), minlength=256)
        residues = len(seq) - counts[_NOT_RESIDUES].sum()
        bases = counts[_DNA_BASES].sum()
        if residues and bases >= _DNA_FRACTION * residues:
            raise InvalidFileError(
                self.name,
                line,
                f"record {_shorten(record_id)} looks like DNA ({bases / residues:.0%} of "
                f"residues are A, C, G, T or U: {_shorten(seq)}), expected protein",
            )

    def character_error(self, raw: bytes, line: int, header: bytes) -> InvalidFileError:
        """Error for the first invalid character of a raw sequence block starting on ``line``."""
        codes = np.frombuffer(raw, dtype=np.uint8)
        valid = np.frombuffer(self.table, dtype=np.uint8) != 0
        valid[list(_LINE_BREAKS)] = True
        invalid = ~valid[codes]
        first = int(np.argmax(invalid))
        line += raw.count(b"\n", 0, first)
        char = raw[first : first + 1]
        words = header.decode(errors="backslashreplace").split(None, 1)
        record = f"record {_shorten(words[0] if words else '')}"
        if self.alphabet == "dna" and char.isalpha():
            letters = sorted({chr(code).upper() for code in np.unique(codes[invalid])} & _LETTERS)
            found = ", ".join(repr(letter) for letter in letters[:5])
            return InvalidFileError(
                self.name, line, f"{record} looks like protein (found {found}), expected DNA"
            )
        if char in b" \t":
            return InvalidFileError(
                self.name,
                line,
                f"{record} has whitespace {_shorten(char)} inside a sequence line, "
                f"expected {_ALPHABETS[self.alphabet][1]}",
            )
        return InvalidFileError(
            self.name,
            line,
            f"invalid character {_shorten(char)} in {record}, expected {_ALPHABETS[self.alphabet][1]}",
        )


def _shorten(value: bytes | str, limit: int = 40) -> str:
    """``repr`` of a value for messages, cut to about ``limit`` characters.

    Bytes that are not UTF-8 text are shown as a bytes literal without its
    ``b`` prefix, so binary data reads ``'\\x8f\\x00'``.
    """
    cut = len(value) > limit
    value = value[:limit]
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            return repr(value)[1:] + ("..." if cut else "")
    return repr(value) + ("..." if cut else "")
