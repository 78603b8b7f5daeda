"""Unusual but valid sequence and annotation input: RNA, byte-order marks, CR line breaks, blank lines.

Each case is a real file in a temporary folder, read through the command line
(``genoseq info``, ``genoseq predict``) where a command reads it.
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from genoseq.cli import main
from genoseq.io import InvalidFileError, read_fasta, read_fastq, read_sequences
from genoseq.io.annotation import read_cds
from genoseq.io.errors import GenoseqWarning
from genoseq.io.gff import read_gff3_cds

ANNOTATION = Path(__file__).resolve().parents[1] / "data" / "annotation"
BOM = b"\xef\xbb\xbf"

FASTA = b">a first\nACGTACGTAC\nGGTTA\n\n>b\nacgtn\n>c x y\nTTTT\n"
FASTQ = b"@r1 one\nACGTAC\nGT\n+\nIIIIII\n@#\n@r2\nACG\n+r2\n!~I\n"


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def info_row(path: Path) -> list[str]:
    code, out, err = run("info", "--tsv", path)
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split("\t")[0] == "file"
    return row.split("\t")[1:]  # everything but the file name


def records(path, **options):
    return [(r.id, r.description, r.seq, r.quality, r.line) for r in read_sequences(path, **options)]


# RNA --------------------------------------------------------------------------


def test_rna_is_read_as_dna():
    (record,) = read_fasta(io.BytesIO(b">r\nAUGuuuGGC\n"), alphabet="dna")
    assert record.seq == b"ATGTTTGGC"
    (read,) = read_fastq(io.BytesIO(b"@r\nAUGu\n+\nIIII\n"), alphabet="dna")
    assert read.seq == b"ATGT"
    # Without an alphabet the letters are kept as written (upper-cased).
    (record,) = read_fasta(io.BytesIO(b">r\nAUGu\n"))
    assert record.seq == b"AUGU"


def test_rna_input_gives_the_outputs_of_its_dna(tmp_path, tiny_gene_model):
    rng = np.random.default_rng(7)
    dna = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=4000).tobytes()
    rna = dna.replace(b"T", b"U")
    rna = rna[:2000] + rna[2000:].lower()  # lower-case u too
    outputs = {}
    for name, seq in (("dna", dna), ("rna", rna)):
        genome = tmp_path / f"{name}.fa"
        genome.write_bytes(b">contig1\n" + b"\n".join(seq[i : i + 70] for i in range(0, 4000, 70)))
        files = [tmp_path / f"{name}.{ext}" for ext in ("gff", "faa", "ffn")]
        code, _, err = run("predict", "-i", genome, "-o", files[0], "-a", files[1],
                           "-d", files[2], "--model", tiny_gene_model, "-q", "--threads", "1")
        assert (code, err) == (0, "")
        outputs[name] = [path.read_bytes() for path in files]
    assert outputs["rna"] == outputs["dna"]
    gff, faa, ffn = outputs["rna"]
    assert faa.count(b">") >= 1  # the tiny model calls genes
    proteins = b"".join(line for line in faa.splitlines() if not line.startswith(b">"))
    bases = b"".join(line for line in ffn.splitlines() if not line.startswith(b">"))
    assert b"X" not in proteins and b"N" not in bases and b"U" not in bases


# UTF-8 byte-order mark -----------------------------------------------------------


@pytest.mark.parametrize(("name", "text"), [("bom.fa", FASTA), ("bom.fq", FASTQ)], ids=["fasta", "fastq"])
def test_byte_order_mark_is_skipped(tmp_path, name, text):
    plain, marked = tmp_path / f"plain_{name}", tmp_path / name
    plain.write_bytes(text)
    marked.write_bytes(BOM + text)
    assert records(marked) == records(plain)
    assert records(marked, chunk_size=1) == records(plain)
    assert info_row(marked) == info_row(plain)


def test_byte_order_mark_alone_is_an_empty_file(tmp_path):
    path = tmp_path / "bom_only.fa"
    path.write_bytes(BOM + b"\n\n")
    code, out, err = run("info", path)
    assert (code, out) == (2, "")
    assert err == f"genoseq: error: {path}: empty file, expected FASTA/FASTQ\n"


def test_byte_order_mark_before_gff3(tmp_path):
    text = (ANNOTATION / "basic.gff3").read_bytes()
    assert text.startswith(b"##gff-version")
    path = tmp_path / "bom.gff3"
    path.write_bytes(BOM + text)
    for reader in (read_gff3_cds, read_cds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GenoseqWarning)
            assert reader(path) == reader(ANNOTATION / "basic.gff3")


# CR-only (classic Mac OS) line breaks ------------------------------------------------


@pytest.mark.parametrize(("name", "text"), [("cr.fa", FASTA), ("cr.fq", FASTQ)], ids=["fasta", "fastq"])
def test_cr_line_breaks_are_read(tmp_path, name, text):
    plain, mac = tmp_path / f"plain_{name}", tmp_path / name
    plain.write_bytes(text)
    mac.write_bytes(text.replace(b"\n", b"\r"))
    expected = records(plain)
    assert len(expected) in (2, 3)
    for chunk_size in (1, 2, 5, 2**20):
        assert records(mac, chunk_size=chunk_size) == expected
    assert info_row(mac) == info_row(plain)


def test_cr_line_breaks_error_names_the_right_line_and_leaves_no_output(tmp_path, tiny_gene_model):
    path = tmp_path / "cr_protein.fa"
    path.write_bytes(b">a\rACGTACGT\r>b\rACGT\rMKLE\r")
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = run("predict", "-i", path, "-o", out / "genes.gff", "-a", out / "genes.faa",
                            "--model", tiny_gene_model, "-q")
    assert (code, stdout) == (2, "")
    assert err == f"genoseq: error: {path}:5: record 'b' looks like protein (found 'E', 'L'), " \
                  "expected DNA\n"
    assert list(out.iterdir()) == []


def test_cr_line_breaks_in_gff3(tmp_path):
    text = (ANNOTATION / "basic.gff3").read_bytes()
    path = tmp_path / "cr.gff3"
    path.write_bytes(text.replace(b"\n", b"\r"))
    for reader in (read_gff3_cds, read_cds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GenoseqWarning)
            assert reader(path) == reader(ANNOTATION / "basic.gff3")


def test_cr_line_breaks_gff3_error_names_the_line(tmp_path):
    path = tmp_path / "cr_bad.gff3"
    path.write_bytes(b"##gff-version 3\rc\tt\tCDS\t1\t9\t.\t+\t0\tID=a\rc\tt\tCDS\t9\t1\t.\t+\t0\tID=b\r")
    for reader in (read_gff3_cds, read_cds):
        with pytest.raises(InvalidFileError) as caught:
            reader(path)
        assert str(caught.value) == f"{path}:3: start 9 is greater than end 1"


# Blank lines ---------------------------------------------------------------------


def test_many_blank_lines_are_cheap(tmp_path):
    # 16 MB of blank lines between and after records. Reading them used to
    # copy the pending text once per chunk (quadratic) and, in FASTQ, to look
    # at each blank line in Python (15 s for 50 MB).
    blank = b"\n" * (16 * 2**20)
    fasta, fastq = tmp_path / "blank.fa", tmp_path / "blank.fq"
    fasta.write_bytes(b">a\nACGT\n" + blank + b">b\nGG\n" + blank)
    fastq.write_bytes(b"@a\nACGT\n+\nIIII\n" + blank + b"@b\nGG\n+\nII\n" + blank)
    started = time.perf_counter()
    assert [(r.id, r.line) for r in read_sequences(fasta, chunk_size=4096)] == [
        ("a", 1), ("b", 16 * 2**20 + 3)]
    assert [(r.id, r.line) for r in read_sequences(fastq, chunk_size=4096)] == [
        ("a", 1), ("b", 16 * 2**20 + 5)]
    assert info_row(fasta)[:4] == ["fasta", "DNA", "2", "6"]
    assert info_row(fastq)[:4] == ["fastq", "DNA", "2", "6"]
    assert time.perf_counter() - started < 10


def test_blank_lines_inside_fastq_records_keep_line_numbers(tmp_path):
    # Runs of blank lines (LF and CRLF) inside a record count every line.
    path = tmp_path / "blanks.fq"
    path.write_bytes(b"@a\n\n\n\nAC\n\n\nGT\n+\n\n\n\nII\n\n\n\nII\n\n\n\n@b\r\n\r\n\r\n\r\nAC\r\n+\r\nI\r\n")
    with pytest.raises(InvalidFileError) as caught:
        list(read_sequences(path))
    assert str(caught.value) == (
        f"{path}:27: record 'b' has 1 quality characters for 2 sequence characters, "
        "expected one quality character per base"
    )
    path.write_bytes(b"@a\n\n\n\nAC\n\n\nGT\n+\n\n\n\nII\n\n\n\nI\x7f\n")
    with pytest.raises(InvalidFileError) as caught:
        list(read_sequences(path))
    assert str(caught.value) == (
        f"{path}:17: invalid quality character '\\x7f' in record 'a', expected ASCII 33-126 "
        "('!' to '~')"
    )
    path.write_bytes(b"@a\n\n\n\nAC\n\n\nGT\n+\n\n\n\nII\n\n\n\nII\n\n\n\n@b\n")
    with pytest.raises(InvalidFileError) as caught:
        list(read_sequences(path))
    assert str(caught.value).startswith(f"{path}:21: record 'b' ends before its '+' line")
