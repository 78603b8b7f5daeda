"""Property-based tests of the readers (hypothesis).

- On arbitrary bytes, and on valid files with random damage, the FASTA/FASTQ,
  GFF3 and GenBank readers either return or raise ``InvalidFileError``, and
  warn only with ``GenoseqWarning``: nothing else escapes.
- Valid generated FASTA and FASTQ (wrapped records; FASTQ qualities ASCII
  33-126, Cock et al. 2010, Nucleic Acids Res. 38:1767) read as Biopython
  reads them, whatever the chunk size and line endings.

Runs are derandomized (the same examples every time) and small enough to take
a few seconds each.
"""

from __future__ import annotations

import io
import string
import warnings
from pathlib import Path

import pytest
from Bio import SeqIO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genoseq.io import InvalidFileError, read_sequences
from genoseq.io.annotation import read_cds
from genoseq.io.errors import GenoseqWarning
from genoseq.io.genbank import read_genbank_cds
from genoseq.io.gff import read_gff3_cds

ANNOTATION = Path(__file__).resolve().parents[1] / "data" / "annotation"
BOM = b"\xef\xbb\xbf"


def _settings(examples: int):
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A file path for readers that take paths; each example overwrites it."""
    return tmp_path_factory.mktemp("fuzz") / "input"


def _outcome(reader, *args, **options):
    """What a reader does: its result or its InvalidFileError; asserts that only GenoseqWarnings are issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = reader(*args, **options)
        except InvalidFileError as error:
            assert "\n" not in str(error)
            result = error
    assert [w.category for w in caught if w.category is not GenoseqWarning] == []
    return result


def _sequence_records(data: bytes, **options):
    return _outcome(
        lambda: [
            (r.id, r.description, r.seq, r.quality, r.line)
            for r in read_sequences(io.BytesIO(data), **options)
        ]
    )


# Generators of valid files ----------------------------------------------------------

IDS = st.text(alphabet=[chr(c) for c in range(33, 127)], min_size=1, max_size=12)
DESCRIPTIONS = st.text(alphabet=[chr(c) for c in range(32, 127)], max_size=20)
LETTERS = string.ascii_letters + "-*."
QUALITY = [chr(c) for c in range(33, 127)]
LINE_ENDINGS = st.sampled_from(["\n", "\r\n"])
CHUNK_SIZES = st.sampled_from([1, 2, 3, 7, 64, 2**20])


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


@st.composite
def fasta_files(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        title = draw(IDS)
        description = draw(DESCRIPTIONS)
        if description.strip():
            title += " " + description
        lines.append(">" + title)
        sequence = draw(st.text(alphabet=LETTERS, min_size=1, max_size=150))
        lines += _wrap(sequence, draw(st.integers(1, 80)))
        if draw(st.booleans()):
            lines.append("")  # a blank line between records
    ending = draw(LINE_ENDINGS)
    return ending.join(lines) + draw(st.sampled_from(["", ending, ending * 3]))


@st.composite
def fastq_files(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        title = draw(IDS.filter(lambda text: not text.startswith("@")))
        description = draw(DESCRIPTIONS)
        if description.strip():
            title += " " + description
        sequence = draw(st.text(alphabet=string.ascii_letters, max_size=150))
        quality = draw(
            st.text(alphabet=QUALITY, min_size=len(sequence), max_size=len(sequence))
        )
        lines.append("@" + title)
        lines += _wrap(sequence, draw(st.integers(1, 80)))
        lines.append("+" + (title if draw(st.booleans()) else ""))
        lines += _wrap(quality, draw(st.integers(1, 80)))
    ending = draw(LINE_ENDINGS)
    # An empty last quality line needs its line break (Biopython: "Unexpected end of file").
    last = ending if lines[-1] == "" else draw(st.sampled_from(["", ending]))
    return ending.join(lines) + last


def _biopython(text: str, format: str):
    handle = io.TextIOWrapper(io.BytesIO(text.encode()), newline=None)
    records = []
    for record in SeqIO.parse(handle, format):
        words = record.description.split(None, 1)
        quality = record.letter_annotations.get("phred_quality")
        records.append(
            (
                record.id,
                words[1].strip() if len(words) > 1 else "",
                str(record.seq).upper().encode(),
                None if quality is None else bytes(q + 33 for q in quality),
            )
        )
    return records


@_settings(150)
@given(text=fasta_files(), chunk_size=CHUNK_SIZES)
def test_valid_fasta_reads_as_biopython_reads_it(text, chunk_size):
    ours = _sequence_records(text.encode(), chunk_size=chunk_size, unique_ids=False)
    assert not isinstance(ours, InvalidFileError), ours
    assert [record[:4] for record in ours] == _biopython(text, "fasta")


@_settings(150)
@given(text=fastq_files(), chunk_size=CHUNK_SIZES)
def test_valid_fastq_reads_as_biopython_reads_it(text, chunk_size):
    ours = _sequence_records(text.encode(), chunk_size=chunk_size, unique_ids=False)
    assert not isinstance(ours, InvalidFileError), ours
    assert [record[:4] for record in ours] == _biopython(text, "fastq")


@_settings(100)
@given(text=st.one_of(fasta_files(), fastq_files()), chunk_size=CHUNK_SIZES)
def test_cr_line_breaks_and_byte_order_mark_read_the_same(text, chunk_size):
    data = text.replace("\r\n", "\n").encode()
    expected = _sequence_records(data, unique_ids=False)
    assert not isinstance(expected, InvalidFileError), expected
    for variant in (data.replace(b"\n", b"\r"), BOM + data):
        assert _sequence_records(variant, chunk_size=chunk_size, unique_ids=False) == expected


# Damage -------------------------------------------------------------------------------

JUNK = st.sampled_from(
    [b">", b"@", b"+", b"\n", b"\r", b"\r\n", b"\n\n\n", b" ", b"\t", b"\x00", b"\xff",
     b"\xef\xbb\xbf", b"E", b"U", b"!", b"~", b"\x7f", b"#", b";", b"=", b"%", b"%zz",
     b"/", b'"', b"(", b")", b",", b"..", b"0", b"-1", b"99999999999999999999"]
)


@st.composite
def damaged(draw, base: bytes) -> bytes:
    """``base`` with a few random insertions, deletions, cuts, line copies and CR line breaks."""
    data = base
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "cut", "copy_line", "cr", "bytes"]))
        position = draw(st.integers(0, len(data)))
        if kind == "insert":
            data = data[:position] + draw(JUNK) + data[position:]
        elif kind == "bytes":
            data = data[:position] + draw(st.binary(max_size=8)) + data[position:]
        elif kind == "delete":
            data = data[:position] + data[position + draw(st.integers(1, 12)) :]
        elif kind == "cut":
            data = data[:position]
        elif kind == "cr":
            data = data.replace(b"\n", b"\r")
        else:
            lines = data.split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[index])
            data = b"\n".join(lines)
    return data


@_settings(300)
@given(
    data=st.binary(max_size=300),
    format=st.sampled_from([None, "fasta", "fastq"]),
    alphabet=st.sampled_from([None, "dna", "protein"]),
    chunk_size=CHUNK_SIZES,
)
def test_sequence_reader_on_arbitrary_bytes_raises_only_invalid_file_error(
    data, format, alphabet, chunk_size
):
    _sequence_records(data, format=format, alphabet=alphabet, chunk_size=chunk_size)


@_settings(300)
@given(
    data=st.one_of(fasta_files(), fastq_files()).map(str.encode).flatmap(damaged),
    alphabet=st.sampled_from([None, "dna", "protein"]),
    chunk_size=CHUNK_SIZES,
)
def test_sequence_reader_on_damaged_files_is_the_same_for_every_chunk_size(
    data, alphabet, chunk_size
):
    whole = _sequence_records(data, alphabet=alphabet)
    chunked = _sequence_records(data, alphabet=alphabet, chunk_size=chunk_size)
    if isinstance(whole, InvalidFileError):
        assert isinstance(chunked, InvalidFileError)
        # The first chunk is searched for NUL bytes before its first line is
        # judged (binary files get "binary data", not "expected '>'"), so
        # which of the two is found first depends on the chunk size.
        if "NUL byte" not in str(whole) + str(chunked):
            # The same line; the quoted text of a bad first line may be cut
            # at the end of the first chunk.
            assert chunked.line == whole.line
    else:
        assert chunked == whole


# GFF3 ----------------------------------------------------------------------------------

SEQIDS = st.sampled_from(["ctg1", "ctg2", "c%3B1", "x"])


@st.composite
def gff3_lines(draw) -> str:
    kind = draw(st.sampled_from(["feature", "feature", "feature", "region", "comment"]))
    if kind == "region":
        return f"##sequence-region {draw(SEQIDS)} 1 {draw(st.integers(-5, 200))}"
    if kind == "comment":
        return draw(st.sampled_from(["# note", "##gff-version 3", "###", "##FASTA", ""]))
    start = draw(st.integers(0, 220))
    end = draw(st.one_of(st.integers(0, 220), st.just(start + 2)))
    attributes = draw(
        st.lists(
            st.sampled_from(
                ["ID=cds1", "ID=cds2", "Name=a%3Bb", "partial=true", "partial=01", "partial=x",
                 "start_range=.,1", "end_range=9,.", "transl_table=11", "transl_table=x",
                 "spans_origin=true", "pseudo=true", "pseudogene=unitary", "locus_tag=L1",
                 "broken", "=v", "note=%zz"]
            ),
            max_size=4,
        )
    )
    columns = [
        draw(SEQIDS),
        "src",
        draw(st.sampled_from(["CDS", "CDS", "SO:0000316", "gene", "exon"])),
        str(start),
        str(end),
        ".",
        draw(st.sampled_from(["+", "-", ".", "?", "x"])),
        draw(st.sampled_from(["0", "1", "2", ".", "3"])),
        ";".join(attributes) or ".",
    ]
    return "\t".join(columns)


GFF3_FILES = st.lists(gff3_lines(), max_size=12).map(
    lambda lines: ("##gff-version 3\n" + "\n".join(lines) + "\n").encode()
)


@_settings(250)
@given(
    data=st.one_of(
        GFF3_FILES,
        GFF3_FILES.flatmap(damaged),
        damaged((ANNOTATION / "basic.gff3").read_bytes()),
        st.binary(max_size=200),
    ),
    include_pseudo=st.booleans(),
)
def test_gff3_reader_raises_only_invalid_file_error(scratch, data, include_pseudo):
    scratch.write_bytes(data)
    gff = _outcome(read_gff3_cds, scratch, include_pseudo=include_pseudo)
    either = _outcome(read_cds, scratch, include_pseudo=include_pseudo)
    if data.lstrip().startswith((b"##gff-version", BOM + b"##gff-version")):
        assert type(either) is type(gff)


# GenBank -------------------------------------------------------------------------------

GENBANK = (ANNOTATION / "basic.gb").read_bytes()
FEATURE_LINES = st.sampled_from(
    [b"     CDS             1..9", b"     CDS             complement(<2..>9)",
     b"     CDS             join(1..3,5..9", b"     CDS             order(1..3,5..9)",
     b"     CDS             9..1", b"     CDS             A:1..5", b"     CDS             1^2",
     b"     gene            1..60", b"     CDS", b"                     /codon_start=7",
     b"                     /transl_table=x", b"                     /note=\"open",
     b"                     note=\"no slash\"", b"                     /pseudo",
     b"              short", b"                     )", b"ORIGIN", b"//",
     b"        1 acgt", b"CONTIG      join(A:1..5)", b"LOCUS       y 5 bp DNA linear",
     b"FEATURES             Location/Qualifiers"]
)


@st.composite
def genbank_files(draw) -> bytes:
    """basic.gb with GenBank-like lines inserted or replaced, then byte-level damage."""
    lines = GENBANK.split(b"\n")
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()):
            lines[index] = draw(FEATURE_LINES)
        else:
            lines.insert(index, draw(FEATURE_LINES))
    data = b"\n".join(lines)
    return draw(damaged(data)) if draw(st.booleans()) else data


@_settings(200)
@given(data=st.one_of(genbank_files(), st.binary(max_size=200).map(lambda b: b"LOCUS" + b)))
def test_genbank_reader_raises_only_invalid_file_error(scratch, data):
    scratch.write_bytes(data)
    genbank = _outcome(read_genbank_cds, scratch)
    either = _outcome(read_cds, scratch)
    if data.startswith(b"LOCUS"):
        assert type(either) is type(genbank)
        if isinstance(genbank, InvalidFileError):
            assert str(either) == str(genbank)
