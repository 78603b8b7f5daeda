"""Tests for genoseq.io.fasta and genoseq.io.compression."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from genoseq.io import (
    InvalidFileError,
    SequenceRecord,
    compression,
    open_input,
    read_fasta,
    read_fastq,
    read_sequences,
)
from genoseq.io import fasta as fasta_module

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
GOOD = DATA / "good"
SHARED_GENOMES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "genomes"

SMALL = [
    ("NC_000913.3:2822708-2823769(-)", "recA E. coli K-12 MG1655", 1062, 1),
    ("NC_000913.3:190-2799", "thrA region", 2610, 20),
    ("short", "", 14, 65),
]


def summary(records):
    return [(r.id, r.description, len(r), r.line) for r in records]


def records_of(data: bytes, **options) -> list[SequenceRecord]:
    return list(read_sequences(io.BytesIO(data), **options))


def error_of(data: bytes, **options) -> InvalidFileError:
    with pytest.raises(InvalidFileError) as caught:
        records_of(data, **options)
    return caught.value


class NonSeekable(io.RawIOBase):
    """A pipe-like stream: readable once, no seeking."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._data.readinto(buffer)


# Bad files: each raises InvalidFileError naming the file, the line and the value.


def nul_line(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n", 0, data.index(b"\x00")) + 1


@pytest.mark.parametrize(
    ("name", "options", "line", "fragments"),
    [
        ("empty.fa", {}, None, ["empty file, expected FASTA/FASTQ"]),
        (
            "no_header.fa",
            {"format": "fasta"},
            2,
            ["expected '>' at start of FASTA record, found 'ATGGC"],
        ),
        ("garbage.txt", {}, 1, ["expected '>'", "found 'This is a plain English text"]),
        ("binary.bin", {}, nul_line(BAD / "binary.bin"), ["NUL byte", "binary data"]),
        ("truncated.fa.gz", {}, None, ["truncated gzip"]),
        ("qual_length.fq", {}, 8, ["record 'read2' has 7 quality characters for 10 sequence"]),
        (
            "protein.fa",
            {"alphabet": "dna"},
            2,
            ["looks like protein (found 'E', 'F'", "expected DNA"],
        ),
        (
            "dna_as_protein.fa",
            {"alphabet": "protein"},
            1,
            ["'recA_cds' looks like DNA", "expected protein"],
        ),
        ("duplicate_ids.fa", {}, 6, ["duplicate record id 'seq1' (first seen on line 1)"]),
        ("empty_record.fa", {}, 3, ["record 'seq2' has an empty sequence"]),
        ("nul_byte.fa", {}, 5, ["NUL byte in 'GGCC\\x00'"]),
    ],
)
def test_bad_file_raises_with_path_and_line(name, options, line, fragments):
    path = BAD / name
    with pytest.raises(InvalidFileError) as caught:
        list(read_sequences(path, **options))
    error = caught.value
    assert (error.path, error.line) == (str(path), line)
    prefix = str(path) if line is None else f"{path}:{line}"
    assert str(error).startswith(prefix + ": ")
    for fragment in fragments:
        assert fragment in str(error)


def test_bad_files_are_fine_where_they_fit():
    (reca,) = read_fasta(BAD / "protein.fa", alphabet="protein")
    assert (reca.id, len(reca), reca.seq[:10]) == ("sp|P0A7G6|RECA_ECOLI", 353, b"MAIDENKQKA")
    (cds,) = read_fasta(BAD / "dna_as_protein.fa", alphabet="dna")
    assert cds.seq.startswith(b"ATGGCTATCGAC")
    ids = [r.id for r in read_fasta(BAD / "duplicate_ids.fa", unique_ids=False)]
    assert ids == ["seq1", "seq2", "seq1"]


# Good files and compression.


@pytest.mark.parametrize(
    "name",
    [
        "small.fa",
        "small_crlf.fa",
        "small_lower.fa",
        "small.fa.bz2",
        "small.fa.xz",
        "small_multimember.fa.gz",
        "gzip_named.fa",
        "plain_named.fa.gz",
    ],
)
def test_good_fasta_variants_read_alike(name):
    records = list(read_fasta(GOOD / name, alphabet="dna"))
    assert summary(records) == SMALL
    reference = list(read_fasta(GOOD / "small.fa"))
    assert records == reference
    assert records[2].seq == b"ACGTNRYKM-ACGT"


@pytest.mark.parametrize(
    "name",
    [
        "small.fa.bz2",
        "small.fa.xz",
        "small_multimember.fa.gz",
        "gzip_named.fa",
        "plain_named.fa.gz",
    ],
)
def test_open_input_decompresses_by_content(name):
    with open_input(GOOD / name) as stream:
        assert stream.read() == (GOOD / "small.fa").read_bytes()


def test_wrapped_fastq_with_at_and_plus_quality_lines():
    records = list(read_fastq(GOOD / "wrapped.fq"))
    assert [(r.id, r.seq, r.quality, r.line) for r in records] == [
        ("EAS54_6_R1_2_1_413_324", b"CCCTTCTTGTCTTCAGCGTTTCTCC", b"@;;;;;;;;;;;;;;;;;;;+;;;;", 1),
        ("EAS54_6_R1_2_1_540_792", b"TTGGCAGGCCAAGGCCGATGGATCA", b"+;;;;;;;;;;;;7;;;;;-@;;;;", 7),
        ("EAS54_6_R1_2_1_443_348", b"GTTGCTTCTGGCGTGGGTGG", b"@;;;;;;;;;;;;;;;;;;;", 13),
    ]
    assert records[0].description == "quality lines start with @ and +"
    assert list(read_sequences(GOOD / "wrapped.fq")) == records


def test_open_input_missing_file_and_directory(tmp_path):
    missing = tmp_path / "missing.fa"
    with pytest.raises(InvalidFileError) as caught:
        open_input(missing)
    assert (caught.value.path, caught.value.line) == (str(missing), None)
    assert str(caught.value) == f"{missing}: no such file"
    with pytest.raises(InvalidFileError, match="is a directory"):
        open_input(tmp_path)


@pytest.mark.parametrize(
    ("compress", "label"), [(gzip.compress, "gzip"), (bz2.compress, "bz2"), (lzma.compress, "xz")]
)
def test_truncated_and_corrupt_streams(tmp_path, compress, label):
    packed = compress((GOOD / "small.fa").read_bytes())
    truncated = tmp_path / "truncated.fa"
    truncated.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InvalidFileError, match=f"truncated {label} file") as caught:
        list(read_fasta(truncated))
    assert caught.value.path == str(truncated)
    corrupt = tmp_path / "corrupt.fa"
    middle = len(packed) // 2
    corrupt.write_bytes(packed[:middle] + bytes(b ^ 0x5A for b in packed[middle : middle + 64]))
    with pytest.raises(InvalidFileError, match=f"(corrupt|truncated) {label}"):
        list(read_fasta(corrupt))


def test_stdlib_gzip_fallback(monkeypatch):
    monkeypatch.setattr(compression, "_gzip_module", gzip)
    assert summary(read_fasta(GOOD / "small_multimember.fa.gz")) == SMALL
    with pytest.raises(InvalidFileError, match="truncated gzip"):
        list(read_fasta(BAD / "truncated.fa.gz"))


def test_named_pipe_is_sniffed(tmp_path):
    fifo = tmp_path / "genome.fifo"
    os.mkfifo(fifo)
    data = (GOOD / "small.fa.xz").read_bytes()

    def write_slowly():
        with open(fifo, "wb") as pipe:
            for byte in data[:8]:  # the magic number arrives in pieces
                pipe.write(bytes([byte]))
                pipe.flush()
            pipe.write(data[8:])

    writer = threading.Thread(target=write_slowly)
    writer.start()
    try:
        assert summary(read_fasta(fifo)) == SMALL
    finally:
        writer.join()


def test_corrupt_gzip_wording(tmp_path):
    packed = bytearray(gzip.compress((GOOD / "small.fa").read_bytes()))
    packed[-8] ^= 0xFF  # CRC of the data
    corrupt = tmp_path / "crc.fa.gz"
    corrupt.write_bytes(packed)
    with pytest.raises(InvalidFileError, match="corrupt gzip"):
        list(read_fasta(corrupt))


# Standard input and open streams.


@pytest.mark.parametrize("name", ["small.fa", "small_multimember.fa.gz", "small.fa.xz"])
@pytest.mark.parametrize("seekable", [True, False])
def test_stdin_is_sniffed(monkeypatch, name, seekable):
    data = (GOOD / name).read_bytes()
    buffer = io.BufferedReader(io.BytesIO(data) if seekable else NonSeekable(data))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(buffer))
    assert summary(read_sequences("-")) == SMALL
    assert not buffer.closed


def test_stdin_errors_name_dash(monkeypatch):
    data = (BAD / "truncated.fa.gz").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(NonSeekable(data))))
    with pytest.raises(InvalidFileError, match="truncated gzip") as caught:
        list(read_fasta("-"))
    assert caught.value.path == "-"


def test_stdin_from_a_real_pipe():
    script = "from genoseq.io import read_fasta\nfor r in read_fasta('-'): print(r.id, len(r))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=(GOOD / "small_multimember.fa.gz").read_bytes(),
        capture_output=True,
        check=True,
    )
    assert result.stdout.decode().split("\n")[:3] == [f"{i} {n}" for i, _, n, _ in SMALL]


def test_open_stream_is_read_and_left_open():
    with open(GOOD / "small.fa.bz2", "rb") as handle:
        assert summary(read_fasta(handle)) == SMALL
        assert not handle.closed
    stream = io.BytesIO(b"\n>a x\nAC\n")
    assert [(r.id, r.line) for r in read_fasta(stream)] == [("a", 2)]
    with pytest.raises(InvalidFileError, match=r"^<stream>:1: record 'a' has an empty"):
        records_of(b">a\n")


def test_text_stream_is_refused():
    with pytest.raises(TypeError, match="binary stream"):
        open_input(io.StringIO(">a\nAC\n"))


# Chunk boundaries: every chunk size gives the same records and error lines.

TRICKY_FASTA = (
    b"\r\n\n>first record with a long description " + b"x" * 50 + b"\r\n"
    b"acgtnACGTN\r\nRYKM-ac\r\n\r\n"
    b">second>with>gt\nA\n>third\n" + b"GATTACA" * 30 + b"\n" + b"CC\n"
    b">fourth tabs\tin\theader  \nTT\n\n  \n\t\n"
)


@pytest.mark.parametrize("chunk_size", [*range(1, 24), 97, 1 << 20])
def test_chunk_boundaries_fasta(chunk_size):
    records = records_of(TRICKY_FASTA, chunk_size=chunk_size)
    assert [(r.id, r.description, r.seq[:12], len(r), r.line) for r in records] == [
        ("first", "record with a long description " + "x" * 50, b"ACGTNACGTNRY", 17, 3),
        ("second>with>gt", "", b"A", 1, 7),
        ("third", "", b"GATTACAGATTA", 212, 9),
        ("fourth", "tabs\tin\theader", b"TT", 2, 12),
    ]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 13, 1 << 20])
def test_record_larger_than_chunks(chunk_size):
    rng = np.random.default_rng(7)
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 5000)].tobytes()
    text = (">big\n" + "\n".join(textwrap.wrap(seq.decode(), 61)) + "\n>tail\nA\n").encode()
    big, tail = records_of(text, chunk_size=chunk_size)
    assert (big.seq, tail.line) == (seq, 2 + -(-5000 // 61))


def _long_blocks_fasta() -> bytes:
    """FASTA whose sequence blocks are long enough for the upper-case fast path,
    some upper-case only, others with lower case, gaps or an IUPAC code."""
    rng = np.random.default_rng(11)
    parts = []
    for index, extra in enumerate([b"", b"acgt", b"", b"R", b"", b"n", b"--"]):
        seq = np.frombuffer(b"ACGTN", np.uint8)[rng.integers(0, 5, 9000 + 997 * index)].tobytes()
        seq = seq[:4000] + extra + seq[4000:]
        lines = [seq[start : start + 60] for start in range(0, len(seq), 60)]
        parts.append(f">r{index} d\n".encode() + b"\n".join(lines))
    return b"\n".join(parts) + b"\n"


@pytest.mark.parametrize("chunk_size", [4096, 5000, 1 << 14, 1 << 20])
def test_upper_case_fast_path_reads_as_translate(monkeypatch, chunk_size):
    data = _long_blocks_fasta()
    taken = []
    check = fasta_module._upper_letters_only
    monkeypatch.setattr(fasta_module, "_upper_letters_only",
                        lambda raw: taken.append(check(raw)[0] is not None) or check(raw))
    fast = records_of(data, chunk_size=chunk_size)
    assert any(taken) and not all(taken)
    assert sum(len(r) for r in fast) > 0 and any(b"-" in r.seq for r in fast)
    # An invalid character after upper-case and lower-case blocks, the fast path still on.
    bad = b">x\n" + (b"A" * 60 + b"\n") * 100 + (b"c" * 60 + b"\n") * 100 + b"ACG1\n"
    fast_error = error_of(bad, chunk_size=chunk_size)
    monkeypatch.setattr("genoseq.io.fasta._FAST_MIN_BLOCK", float("inf"))
    assert summary(fast) == summary(records_of(data, chunk_size=chunk_size))
    assert [r.seq for r in fast] == [r.seq for r in records_of(data, chunk_size=chunk_size)]
    slow_error = error_of(bad, chunk_size=chunk_size)
    assert (fast_error.line, str(fast_error)) == (slow_error.line, str(slow_error))
    assert fast_error.line == 202 and "invalid character '1' in record 'x'" in str(fast_error)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 7, 11, 1 << 20])
def test_chunk_boundaries_fastq_and_error_lines(chunk_size):
    records = list(read_fastq(GOOD / "wrapped.fq", chunk_size=chunk_size))
    assert records == list(read_fastq(GOOD / "wrapped.fq"))
    error = error_of(b">a\nACGT\nAC\nACGT\n\r\n>b\nAC\nA1GT\n", chunk_size=chunk_size)
    assert (error.line, "invalid character '1' in record 'b'" in str(error)) == (8, True)
    error = error_of(b"@a\nAC\n+\nII\n@b\nAC\n+\nI\x00\n", chunk_size=chunk_size)
    assert (error.line, "NUL byte" in str(error)) == (8, True)


# Validation details.


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b">a\nACGT\nAC GT\n", 3, "record 'a' has whitespace ' ' inside a sequence line"),
        (b">a\nACGT\nACGT\t\n>b\nAC\n", 3, "whitespace '\\t'"),
        (b">a\nAC>GT\n", 2, "invalid character '>' in record 'a'"),
        (b">a\nACGT\n>b\nAC\xe9T\n", 4, "invalid character '\\xe9' in record 'b'"),
        (b">a\nAC1T\n", 2, "invalid character '1'"),
        (b">\nACGT\n", 1, "empty record id"),
        (b"> \t\nACGT\n", 1, "empty record id"),
        (b">a\nAC\n>b\n", 3, "record 'b' has an empty sequence"),
        (b">a\xff\xfe\nAC\n", 1, "not UTF-8 text"),
        (b"\n\n;comment\n>a\nAC\n", 3, "found ';comment'"),
    ],
)
def test_fasta_content_errors(data, line, fragment):
    error = error_of(data)
    assert error.line == line
    assert fragment in str(error)


def test_long_values_are_shortened_in_messages():
    error = error_of(b"X" * 500 + b"\n")
    assert "found 'XXXXXXXX" in str(error)
    assert len(str(error)) < 150


def test_blank_lines_and_trailing_whitespace_are_tolerated():
    records = records_of(b"\n\n>a\nAC\n\nGT\n\n\n>b\nT\n \n\t\n\n")
    assert [(r.id, r.seq, r.line) for r in records] == [("a", b"ACGT", 3), ("b", b"T", 9)]


def test_whitespace_only_input_is_empty():
    error = error_of(b"\n  \r\n\t\n")
    assert (error.line, error.message) == (None, "empty file, expected FASTA/FASTQ")


def test_format_mismatch_is_named():
    with pytest.raises(InvalidFileError, match="expected '>'.*this looks like FASTQ") as caught:
        list(read_fasta(GOOD / "wrapped.fq"))
    assert caught.value.line == 1
    with pytest.raises(InvalidFileError, match="expected '@'.*this looks like FASTA"):
        list(read_fastq(GOOD / "small.fa"))


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b"@a\nACGT\n+b\nIIII\n", 3, "'+' line repeats id 'b', expected the record's id 'a'"),
        (b"@a\nACGT\n+\nII I\n", 4, "invalid quality character ' ' in record 'a'"),
        (b"@a\nACGT\n+\nII\n\x7fI\n", 5, "invalid quality character '\\x7f'"),
        (b"@a\nACGT\n+\nIIIII\n", 4, "has 5 quality characters for 4 sequence characters"),
        (b"@a\nACGT\n+\nII\n", 4, "has 2 quality characters for 4 sequence characters"),
        (b"@a\nACGT\n+\n@read2\nAC\n+\nII\n", 4, "has 0 quality characters for 4"),
        (b"@a\nACGT\nACGT\n", 1, "record 'a' ends before its '+' line"),
        (b"@a\nAC\n+\nII\n>b\nAC\n", 5, "expected '@' at start of FASTQ record, found '>b'"),
        (b"@a\nA*GT\n+\nIIII\n", 2, "invalid character '*' in record 'a', expected DNA"),
        (b"@a\nAC\n+\nII\n@a\nAC\n+\nII\n", 5, "duplicate record id 'a' (first seen on line 1)"),
        (b"@e\n\n+\n@r2\nAC\n+\nII\n", 4,
         "record 'e' has an empty sequence but quality '@r2', expected an empty quality line"),
    ],
)
def test_fastq_errors(data, line, fragment):
    error = error_of(data, alphabet="dna" if b"*" in data else None)
    assert error.line == line
    assert fragment in str(error)


@pytest.mark.parametrize(
    "data",
    [
        b"@r1\nAC\n+\nII\n@e x\n\n+\n\n@r3\nG\n+\nI\n",
        b"@r1\nAC\n+\nII\n@e x\n+e\n\n@r3\nG\n+\nI\n",
        b"@r1\r\nAC\r\n+\r\nII\r\n@e x\r\n\r\n+\r\n\r\n@r3\r\nG\r\n+\r\nI\r\n",
    ],
)
def test_fastq_zero_length_reads_are_records(data):
    # Cock et al. (2010): a read may be empty (e.g. trimmed away); its quality line is empty.
    records = records_of(data)
    assert [(r.id, r.seq, r.quality) for r in records] == [
        ("r1", b"AC", b"II"), ("e", b"", b""), ("r3", b"G", b"I")]
    assert records[1].description == "x"
    (last,) = records_of(b"@e\n\n+\n")
    assert (last.id, last.seq, last.quality) == ("e", b"", b"")


def test_fastq_crlf_and_repeated_title():
    (record,) = records_of(b"@r1 x y\r\nACGT\r\nAC\r\n+r1 x y\r\nIIII\r\nII\r\n")
    assert (record.id, record.description, record.seq, record.quality) == (
        "r1",
        "x y",
        b"ACGTAC",
        b"IIIIII",
    )


def test_alphabets():
    dna = b">a\nACGTUNRYSWKMBDHV-acgtunryswkmbdhv\n"
    # U (RNA) is read as T in DNA; the generic alphabet keeps it.
    assert records_of(dna, alphabet="dna")[0].seq == b"ACGTTNRYSWKMBDHV-ACGTTNRYSWKMBDHV"
    assert records_of(dna)[0].seq == b"ACGTUNRYSWKMBDHV-ACGTUNRYSWKMBDHV"
    assert "invalid character '*'" in str(error_of(b">a\nAC*GT\n", alphabet="dna"))
    assert "looks like protein (found 'E', 'L', 'Q')" in str(
        error_of(b">a\nACQLE\n", alphabet="dna")
    )
    protein = b">p\nMKVLAAGIVGLLLAEQWCRFDYHPSTNBZJUOX*-\n"
    assert records_of(protein, alphabet="protein")[0].seq.endswith(b"X*-")
    assert "invalid character '.'" in str(error_of(b">p\nMK.V\n", alphabet="protein"))
    short_dna = b">p\nACGTACGTACGTACGTACG\n"  # below the 20-residue DNA check
    assert len(records_of(short_dna, alphabet="protein")[0]) == 19
    mostly_n = b">p\n" + b"N" * 40 + b"ACGTK\n"  # 4 of 5 non-N residues are bases: 80 %
    assert len(records_of(mostly_n, alphabet="protein")[0]) == 45
    assert records_of(b">a\nAc-*.xZ\n")[0].seq == b"AC-*.XZ"


def test_bad_arguments_fail_at_call_time():
    with pytest.raises(ValueError, match="alphabet must be"):
        read_fasta("unused.fa", alphabet="rna")
    with pytest.raises(ValueError, match="format must be"):
        read_sequences("unused.fa", format="genbank")
    with pytest.raises(ValueError, match="chunk_size"):
        read_sequences("unused.fa", chunk_size=0)


def test_sequence_record():
    (record,) = records_of(b">chr1 the first one\n" + b"ACGT" * 100 + b"\n")
    array = record.array
    assert (array.dtype, array.shape, array.base is record.seq) == (np.uint8, (400,), True)
    assert not array.flags.writeable
    assert bytes(array[:4]) == b"ACGT"
    assert len(record) == 400
    assert repr(record) == (
        "SequenceRecord(id='chr1', description='the first one', length=400, "
        "seq=b'ACGTACGTACGTACGTACGT...')"
    )
    assert record == SequenceRecord("chr1", b"ACGT" * 100, "the first one", line=99)
    assert record != SequenceRecord("chr1", b"ACGT" * 100, "other")


# Real genomes, compared with Biopython.


@pytest.mark.shared
def test_shared_genomes_match_biopython():
    genomes = sorted(SHARED_GENOMES.glob("*.fna.gz"))
    if not genomes:
        pytest.skip(f"no genomes in {SHARED_GENOMES}")
    from Bio import SeqIO

    for path in genomes:
        with gzip.open(path, "rt") as handle:
            expected = [
                (r.id, r.description.partition(" ")[2].strip(), str(r.seq).upper().encode())
                for r in SeqIO.parse(handle, "fasta")
            ]
        found = [(r.id, r.description, r.seq) for r in read_fasta(path)]
        assert found == expected, path.name
