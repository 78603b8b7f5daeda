"""Annotation reading (GFF3, GenBank), per-base labels, and gene writers."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from Bio import SeqIO
from Bio.Data import CodonTable
from Bio.Seq import Seq

from genoseq.genes.gene import Gene
from genoseq.genes.labels import coding_labels, coding_mask
from genoseq.io import InvalidFileError, read_fasta
from genoseq.io.annotation import read_cds
from genoseq.io.cds import CDS
from genoseq.io.errors import GenoseqWarning
from genoseq.io.genbank import read_genbank_cds, write_genbank
from genoseq.io.genes import (
    number_genes,
    write_gene_sequences,
    write_proteins,
    write_sco,
)
from genoseq.io.gff import read_gff3_cds, write_gff3

DATA = Path(__file__).resolve().parents[1] / "data" / "annotation"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GENOMES = SHARED / "genomes"


def _read_quietly(reader, path, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = reader(path, **options)
    return result, [str(w.message) for w in caught if issubclass(w.category, GenoseqWarning)]


# GFF3 reading ----------------------------------------------------------------


def test_gff3_reads_cds_of_both_strands_with_decoded_attributes():
    annotation, _ = _read_quietly(read_gff3_cds, DATA / "basic.gff3")
    cds = {c.id: c for c in annotation.cds}
    assert list(cds) == ["plus1", "minus1", "fs1", "p5", "p_right"]
    assert annotation.sequence_lengths == {"ctg1": 60, "ctg2": 1000}
    assert annotation.sequences == {}
    plus = cds["plus1"]
    assert (plus.seqid, plus.start, plus.end, plus.strand) == ("ctg1", 3, 18, 1)
    assert plus.attributes["Name"] == "a;b,c=d"
    assert plus.attributes["note"] == "50% done"
    assert plus.translation_table is None
    minus = cds["minus1"]
    assert (minus.start, minus.end, minus.strand, minus.translation_table) == (20, 35, -1, 4)
    assert not (minus.partial_5 or minus.partial_3 or minus.pseudo)


def test_gff3_lines_sharing_an_id_are_one_cds_in_transcription_order():
    annotation, _ = _read_quietly(read_gff3_cds, DATA / "basic.gff3")
    fs1 = next(c for c in annotation.cds if c.id == "fs1")
    assert (fs1.start, fs1.end, fs1.strand) == (99, 175, -1)
    assert fs1.segments == ((151, 175), (99, 150))
    assert fs1.length == 75


def test_gff3_partial_flags_and_phase():
    annotation, _ = _read_quietly(read_gff3_cds, DATA / "basic.gff3")
    cds = {c.id: c for c in annotation.cds}
    # partial=true + start_range on a + strand CDS: the 5' end is missing; phase column 2.
    assert (cds["p5"].partial_5, cds["p5"].partial_3, cds["p5"].phase) == (True, False, 2)
    # Prodigal's partial=01 (right end open) on the - strand is the 5' end; phase '.'
    # is inferred from the 3' end: 50 bases, so 2 bases precede the first codon.
    right = cds["p_right"]
    assert (right.partial_5, right.partial_3, right.phase) == (True, False, 2)


def test_gff3_pseudo_dropped_unless_asked_for():
    annotation, _ = _read_quietly(read_gff3_cds, DATA / "basic.gff3", include_pseudo=True)
    pseudo = [c for c in annotation.cds if c.pseudo]
    assert [c.id for c in pseudo] == ["ps1"]


def test_gff3_origin_spanning_cds_skipped_with_warning():
    annotation, messages = _read_quietly(read_gff3_cds, DATA / "basic.gff3")
    assert {"ori1", "ori2"}.isdisjoint(c.id for c in annotation.cds)
    assert len(messages) == 2
    assert "basic.gff3:13: skipping CDS 'ori1' on 'ctg2'" in messages[0]
    assert "basic.gff3:14: skipping CDS 'ori2'" in messages[1]
    assert all("spans the origin" in m for m in messages)


def test_gff3_origin_spanning_as_two_segments_touching_both_ends(tmp_path):
    path = tmp_path / "wrap.gff3"
    path.write_text(
        "##sequence-region c 1 100\n"
        "c\tt\tCDS\t91\t100\t.\t+\t0\tID=w\n"
        "c\tt\tCDS\t1\t5\t.\t+\t2\tID=w\n"
    )
    with pytest.warns(GenoseqWarning, match="'w'.*spans the origin") as record:
        assert read_gff3_cds(path).cds == []
    assert record[0].filename == __file__  # the warning points at the caller


def test_gff3_unknown_strand_cds_skipped_with_warning(tmp_path):
    path = tmp_path / "dot.gff3"
    path.write_text("c\tt\tCDS\t1\t9\t.\t.\t0\tID=x\n")
    with pytest.warns(GenoseqWarning, match=r"dot.gff3:1: skipping CDS 'x'.*strand '\.'"):
        assert read_gff3_cds(path).cds == []


def test_gff3_prodigal_partial_digits_are_left_right(tmp_path):
    path = tmp_path / "prodigal.gff"
    path.write_text(
        "c\tp\tCDS\t1\t30\t.\t-\t0\tID=c_1;partial=10\nc\tp\tCDS\t40\t60\t.\t+\t0\tID=c_2;partial=11\n"
    )
    first, second = read_gff3_cds(path).cds
    assert (first.partial_5, first.partial_3) == (False, True)
    assert (second.partial_5, second.partial_3) == (True, True)


def test_gff3_gzip_and_stdin(tmp_path, monkeypatch):
    packed = tmp_path / "basic.gff3.gz"
    packed.write_bytes(gzip.compress((DATA / "basic.gff3").read_bytes()))
    plain, _ = _read_quietly(read_gff3_cds, DATA / "basic.gff3")
    unpacked, _ = _read_quietly(read_gff3_cds, packed)
    assert unpacked == plain
    with open(packed, "rb") as handle:
        monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": handle})())
        from_stdin, _ = _read_quietly(read_cds, "-")
    assert from_stdin == plain


BAD_GFF3 = [
    ("c\tt\tCDS\t1\t9\t.\t+\t0\n", 1, "found 8 tab-separated columns, expected 9"),
    (
        "##gff-version 3\nc\tt\tCDS\t1x\t9\t.\t+\t0\tID=a\n",
        2,
        "start '1x' is not a positive integer",
    ),
    ("c\tt\tgene\t0\t9\t.\t+\t.\tID=a\n", 1, "start '0' is not a positive integer"),
    ("c\tt\tCDS\t1\t9.5\t.\t+\t0\tID=a\n", 1, "end '9.5' is not a positive integer"),
    ("# x\n\nc\tt\tCDS\t10\t9\t.\t+\t0\tID=a\n", 3, "start 10 is greater than end 9"),
    ("c\tt\tCDS\t1\t9\t.\tx\t0\tID=a\n", 1, "strand 'x' is not one of"),
    ("c\tt\tCDS\t1\t9\t.\t+\t3\tID=a\n", 1, "CDS phase '3' is not one of 0, 1, 2"),
    (
        "c\tt\tCDS\t1\t9\t.\t+\t0\tID=a;broken\n",
        1,
        "attribute 'broken' is not of the form tag=value",
    ),
    ("c\tt\tCDS\t1\t9\t.\t+\t0\tID=a;partial=maybe\n", 1, "partial='maybe' is not true, false"),
    ("c\tt\tCDS\t1\t9\t.\t+\t0\tID=a;transl_table=x\n", 1, "transl_table='x' is not an integer"),
    ("##sequence-region c 1\n", 1, "is not '##sequence-region seqid start end'"),
    (
        "c\tt\tCDS\t1\t9\t.\t+\t0\tID=a\nc\tt\tCDS\t20\t29\t.\t-\t0\tID=a\n",
        2,
        "CDS 'a' is on 'c' strand '-' here but on 'c' strand '+' at line 1",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_GFF3)
def test_gff3_bad_lines_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.gff3"
    path.write_text(text)
    with pytest.raises(InvalidFileError) as caught:
        read_gff3_cds(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)


def test_gff3_binary_line_is_invalid(tmp_path):
    path = tmp_path / "binary.gff3"
    path.write_bytes(b"##gff-version 3\n\xff\xfe\x00\n")
    with pytest.raises(InvalidFileError, match=r"binary.gff3:2: line is not UTF-8"):
        read_gff3_cds(path)


# GenBank reading -------------------------------------------------------------


def test_genbank_reads_cds_partials_pseudo_and_sequence():
    annotation, messages = _read_quietly(read_genbank_cds, DATA / "basic.gb")
    cds = {c.id: c for c in annotation.cds}
    assert list(cds) == ["PA1.1", "A_2", "A_3", "A_4", "A_5", "a8"]
    assert annotation.sequence_lengths == {"ctgA.1": 60}
    assert (
        annotation.sequences["ctgA.1"]
        == b"CAGATTTTCATATTATGCAGAAAATCTACTTCGCCTGATACGAGTCGGTTATCTTCGGAT"
    )
    assert (cds["PA1.1"].start, cds["PA1.1"].end, cds["PA1.1"].translation_table) == (3, 18, 4)
    assert (cds["A_2"].strand, cds["A_2"].segments) == (-1, ((20, 35),))
    assert cds["A_3"].segments == ((36, 45), (44, 50))
    assert cds["a8"].segments == ((39, 49), (21, 30))
    a4 = cds["A_4"]
    assert (a4.partial_5, a4.partial_3, a4.phase) == (True, False, 2)
    a5 = cds["A_5"]  # complement(51..>60): the 5' end of a - strand CDS is its right end
    assert (a5.partial_5, a5.partial_3) == (True, False)
    assert len(messages) == 1
    assert "skipping CDS 'A_7' on 'ctgA.1': it spans the origin" in messages[0]


def test_genbank_pseudo_kept_when_asked():
    annotation, _ = _read_quietly(read_genbank_cds, DATA / "basic.gb", include_pseudo=True)
    assert [c.id for c in annotation.cds if c.pseudo] == ["A_6"]


def test_genbank_bad_input(tmp_path):
    path = tmp_path / "not.gb"
    path.write_text("\n>seq1\nACGT\n")
    with pytest.raises(InvalidFileError, match=r"not.gb:2: found '>seq1', expected a GenBank"):
        read_genbank_cds(path)
    text = (DATA / "basic.gb").read_text().replace("/transl_table=4", "/transl_table=four")
    path.write_text(text)
    with pytest.raises(InvalidFileError, match=r"/transl_table='four' is not an integer"):
        read_genbank_cds(path)


def test_read_cds_dispatches_on_content(tmp_path):
    gff, _ = _read_quietly(read_cds, DATA / "basic.gff3")
    assert [c.id for c in gff.cds][:2] == ["plus1", "minus1"]
    genbank, _ = _read_quietly(read_cds, DATA / "basic.gb")
    assert genbank.sequence_lengths == {"ctgA.1": 60}
    headless = tmp_path / "headless.txt"
    headless.write_text("# no version line\nc\tt\tCDS\t1\t9\t.\t+\t0\tID=a\n")
    assert [c.id for c in read_cds(headless).cds] == ["a"]
    fasta = tmp_path / "seq.fa"
    fasta.write_text(">seq\nACGT\n")
    with pytest.raises(InvalidFileError, match=r"seq.fa:1: found '>seq', expected GFF3"):
        read_cds(fasta)
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(InvalidFileError, match="no annotation found"):
        read_cds(empty)


# Labels -----------------------------------------------------------------------


def _cds(start, end, strand, cds_id="x", **fields):
    return CDS("c", start, end, strand, cds_id, **fields)


def test_labels_both_strands_and_start_flags():
    labels, starts = coding_labels(20, [_cds(2, 8, 1), _cds(10, 19, -1)])
    assert labels.dtype == np.int8 and starts.dtype == np.uint8
    assert labels.tolist() == [0, 0, 1, 2, 3, 1, 2, 3, 0, 0, 6, 5, 4, 6, 5, 4, 6, 5, 4, 0]
    assert np.flatnonzero(starts).tolist() == [2, 18]
    assert starts[2] == 1 and starts[18] == 2


def test_labels_multi_segment_continue_codon_position():
    # prfB-like: - strand, first segment (transcription order) is the right one.
    frameshift = _cds(0, 12, -1, segments=((8, 12), (0, 7)))
    labels, starts = coding_labels(12, [frameshift])
    # Gene offsets: 11->0, 10->1, 9->2, 8->3 (cp 0), then 6->4 (cp 1) ... 0->10 (cp 1).
    assert labels.tolist() == [5, 4, 6, 5, 4, 6, 5, 0, 4, 6, 5, 4]
    assert np.flatnonzero(starts).tolist() == [11]
    # dnaX-like -1 frameshift on + strand: the shared base takes the later segment's position.
    slip = _cds(0, 9, 1, segments=((0, 5), (4, 9)))
    assert coding_labels(9, [slip])[0].tolist() == [1, 2, 3, 1, 3, 1, 2, 3, 1]


def test_labels_partial_cds_use_phase_and_set_no_start():
    labels, starts = coding_labels(8, [_cds(0, 8, 1, partial_5=True, phase=2)])
    assert labels.tolist() == [2, 3, 1, 2, 3, 1, 2, 3]
    assert not starts.any()
    # Gene offset i of base x is 7 - x; with phase 1 its codon position is (i - 1) mod 3.
    labels, starts = coding_labels(8, [_cds(0, 8, -1, partial_5=True, phase=1)])
    assert labels.tolist() == [4, 6, 5, 4, 6, 5, 4, 6]
    assert not starts.any()


def test_labels_overlap_longest_wins_in_any_order():
    short = _cds(3, 9, -1, "short")
    long = _cds(0, 12, 1, "long")
    expected = [1, 2, 3] * 4
    for order in itertools.permutations([short, long]):
        labels, starts = coding_labels(12, list(order))
        assert labels.tolist() == expected
        assert starts[0] == 1 and starts[8] == 2
    mask = coding_mask(12, [short, long])
    assert mask.shape == (6, 12) and mask.dtype == bool
    assert mask[:3].sum(axis=0).tolist() == [1] * 12
    assert mask[3:, 3:9].sum(axis=0).tolist() == [1] * 6
    assert mask[5, 3] and mask[3, 8]


def test_labels_overlap_tie_lower_start_then_plus_strand():
    left, right = _cds(0, 6, -1, "left"), _cds(3, 9, 1, "right")
    assert coding_labels(9, [left, right])[0].tolist() == [6, 5, 4, 6, 5, 4, 1, 2, 3]
    minus, plus = _cds(0, 6, -1, "minus"), _cds(0, 6, 1, "plus")
    assert coding_labels(6, [plus, minus])[0].tolist() == [1, 2, 3, 1, 2, 3]


def test_labels_reject_cds_beyond_sequence():
    with pytest.raises(ValueError, match="beyond the sequence length 5"):
        coding_labels(5, [_cds(0, 6, 1)])
    with pytest.raises(ValueError, match="beyond the sequence length 5"):
        coding_mask(5, [_cds(0, 6, 1)])


def test_labels_from_gff3_fixture():
    annotation, _ = _read_quietly(read_gff3_cds, DATA / "basic.gff3")
    cds = annotation.by_seqid()["ctg2"]
    labels, starts = coding_labels(annotation.sequence_lengths["ctg2"], cds)
    assert labels[:4].tolist() == [2, 3, 1, 2]  # p5: phase 2
    assert labels[174] == 4 and labels[151] == 6 and labels[149] == 4  # fs1 runs on
    assert labels[150] == 0
    assert labels[999] == 5 and labels[998] == 6 and labels[950] == 6  # p_right: phase 2
    assert np.flatnonzero(starts).tolist() == [174]


# Writers -------------------------------------------------------------------------

STOPS = ("TAA", "TAG", "TGA")


def _orf(rng, n_codons, start="ATG", stop="TAA"):
    codons = ["".join(c) for c in itertools.product("ACGT", repeat=3) if "".join(c) not in STOPS]
    return start + "".join(rng.choice(codons, n_codons)) + stop


def _revcomp(text):
    return str(Seq(text).reverse_complement())


def _gene(seqid, start, end, strand, partial="00", **fields):
    values = dict(
        start_type="ATG", rbs_motif="AGGAGG", rbs_spacer="5-10bp", gc_cont=0.4567, conf=99.99,
        score=52.345, cscore=50.0, sscore=2.345, rscore=1.5, uscore=-0.001, tscore=0.846,
    )  # fmt: skip
    values.update(fields)
    return Gene(seqid, start, end, strand, partial, **values)


@pytest.fixture
def genes_and_sequences():
    """Two sequences with complete and partial genes on both strands."""
    rng = np.random.default_rng(7)
    orf1, orf2, orf3 = _orf(rng, 30), _orf(rng, 20, start="GTG"), _orf(rng, 25, start="TTG")
    ctg1 = (
        "CC" + orf1[1:] + "AAGGAGGT" + _revcomp(orf2) + "TTTT" + orf3 + "GG" + _revcomp(orf1)[:50]
    )
    ctg2 = "A" + orf2 + "C" * 10
    sequences = {"ctg1": ctg1.encode(), "ctg2;x=1": ctg2.encode()}
    i2 = 2 + len(orf1) - 1 + 8
    i3 = i2 + len(orf2) + 4
    i4 = i3 + len(orf3) + 2
    genes = [
        _gene("ctg1", i3, i3 + len(orf3), 1, start_type="TTG"),
        _gene("ctg1", 0, 2 + len(orf1) - 1, 1, "10", start_type="Edge", rbs_motif="None"),
        _gene("ctg1", i2, i2 + len(orf2), -1, start_type="GTG", translation_table=4),
        _gene("ctg1", i4, len(ctg1), -1, "01", start_type="Edge"),
        _gene("ctg2;x=1", 1, 1 + len(orf2), 1, start_type="GTG"),
    ]
    return genes, sequences


def test_number_genes_orders_by_sequence_then_position(genes_and_sequences):
    genes, _ = genes_and_sequences
    numbered = number_genes(genes)
    assert [gene_id for gene_id, _ in numbered] == [
        "ctg1_1", "ctg1_2", "ctg1_3", "ctg1_4", "ctg2;x=1_1",
    ]  # fmt: skip
    assert [gene.start for _, gene in numbered[:4]] == sorted(g.start for g in genes[:4])
    with pytest.raises(ValueError, match="'ctg1', a sequence not among"):
        number_genes(genes, ["ctg2;x=1"])


def test_gene_partial_digits_follow_prodigal():
    assert (_gene("c", 0, 9, 1, "10").partial_5, _gene("c", 0, 9, 1, "10").partial_3) == (
        True,
        False,
    )
    assert (_gene("c", 0, 9, -1, "10").partial_5, _gene("c", 0, 9, -1, "10").partial_3) == (
        False,
        True,
    )
    assert _gene("c", 0, 10, -1, "01").phase == 1
    with pytest.raises(ValueError, match="partial must be one of"):
        _gene("c", 0, 9, 1, "2")


def test_translate_gene_like_prodigal(genes_and_sequences):
    genes, sequences = genes_and_sequences
    edge, ttg, gtg = genes[1], genes[0], genes[2]
    assert ttg.translate(sequences["ctg1"]).startswith("M")
    assert ttg.translate(sequences["ctg1"]).endswith("*")
    assert gtg.translate(sequences["ctg1"])[0] == "M"
    assert not edge.translate(sequences["ctg1"]).startswith("M")
    with_n = _gene("n", 0, 9, 1)
    assert with_n.translate(b"ATGNAATAA") == "MX*"


def test_gff3_writer_prodigal_format_validates_and_round_trips(tmp_path, genes_and_sequences):
    genes, sequences = genes_and_sequences
    lengths = {seqid: len(seq) for seqid, seq in sequences.items()}
    lengths["empty"] = 10
    path = tmp_path / "genes.gff"
    write_gff3(path, genes, lengths)
    lines = path.read_text().splitlines()
    assert lines[:4] == [
        "##gff-version 3",
        f"##sequence-region ctg1 1 {lengths['ctg1']}",
        f"##sequence-region ctg2%3Bx%3D1 1 {lengths['ctg2;x=1']}",
        "##sequence-region empty 1 10",
    ]
    fields = lines[4].split("\t")
    assert fields[:8] == ["ctg1", "genoseq_v0.1.0", "CDS", "1", str(genes[1].end), "52.3", "+", "1"]
    assert fields[8] == (
        "ID=ctg1_1;partial=10;start_type=Edge;rbs_motif=None;rbs_spacer=5-10bp;gc_cont=0.457;"
        "conf=99.99;score=52.34;cscore=50.00;sscore=2.35;rscore=1.50;uscore=-0.00;tscore=0.85;"
    )
    assert lines[-1].startswith("ctg2%3Bx%3D1\tgenoseq_v0.1.0\tCDS\t2\t")
    assert "ID=ctg2%3Bx%3D1_1;" in lines[-1]
    back = read_gff3_cds(path)
    assert back.sequence_lengths == lengths
    numbered = number_genes(genes, lengths)
    assert [c.id for c in back.cds] == [gene_id for gene_id, _ in numbered]
    for cds, (_, gene) in zip(back.cds, numbered, strict=True):
        assert (cds.seqid, cds.start, cds.end, cds.strand) == (
            gene.seqid,
            gene.start,
            gene.end,
            gene.strand,
        )
        assert (cds.partial_5, cds.partial_3, cds.phase) == (
            gene.partial_5,
            gene.partial_3,
            gene.phase,
        )
        assert cds.attributes["partial"] == gene.partial


@pytest.mark.skipif(shutil.which("gt") is None, reason="genometools 'gt' not on PATH")
def test_gff3_writer_passes_gt_validator(tmp_path, genes_and_sequences):
    genes, sequences = genes_and_sequences
    path = tmp_path / "genes.gff"
    write_gff3(path, genes, {seqid: len(seq) for seqid, seq in sequences.items()}, source="my tool")
    result = subprocess.run(["gt", "gff3validator", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "\tmy%20tool\t" in path.read_text()


def test_gff3_writer_rejects_gene_beyond_sequence(tmp_path):
    with pytest.raises(ValueError, match="beyond the sequence length 5"):
        write_gff3(tmp_path / "x.gff", [_gene("c", 0, 9, 1)], {"c": 5})
    assert list(tmp_path.iterdir()) == []


def test_proteins_are_translations_of_gene_sequences(tmp_path, genes_and_sequences):
    genes, sequences = genes_and_sequences
    write_proteins(tmp_path / "p.faa", genes, sequences)
    write_gene_sequences(tmp_path / "g.ffn", genes, sequences)
    proteins = list(SeqIO.parse(tmp_path / "p.faa", "fasta"))
    nucleotides = list(SeqIO.parse(tmp_path / "g.ffn", "fasta"))
    assert (
        [r.id for r in proteins]
        == [r.id for r in nucleotides]
        == [i for i, _ in number_genes(genes)]
    )
    for protein, nucleotide, (_, gene) in zip(
        proteins, nucleotides, number_genes(genes), strict=True
    ):
        assert protein.description == nucleotide.description
        bases = str(nucleotide.seq)[gene.phase :]
        expected = str(Seq(bases[: len(bases) // 3 * 3]).translate(table=gene.translation_table))
        if not gene.partial_5:
            expected = "M" + expected[1:]
        assert str(protein.seq) == expected
    assert not str(proteins[0].seq).startswith("M") and str(proteins[1].seq).startswith("M")
    text = (tmp_path / "p.faa").read_text()
    assert text.startswith(
        f">ctg1_1 # 1 # {genes[1].end} # 1 # ID=ctg1_1;partial=10;start_type=Edge;rbs_motif=None;"
        "rbs_spacer=5-10bp;gc_cont=0.457\n"
    )
    wrapped = (tmp_path / "g.ffn").read_text().splitlines()
    assert max(len(line) for line in wrapped if not line.startswith(">")) == 60
    assert f">ctg1_2 # {genes[2].start + 1} # {genes[2].end} # -1 # " in text


def test_proteins_given_on_genes_are_written_as_is(tmp_path):
    gene = _gene("c", 0, 9, 1, protein="MK*")
    write_proteins(tmp_path / "p.faa", [gene])
    assert (tmp_path / "p.faa").read_text().splitlines()[1] == "MK*"


def test_sco_output(tmp_path, genes_and_sequences):
    genes, sequences = genes_and_sequences
    lengths = {seqid: len(seq) for seqid, seq in sequences.items()}
    write_sco(tmp_path / "g.sco", genes, lengths)
    lines = (tmp_path / "g.sco").read_text().splitlines()
    assert lines[0] == f'# Sequence Data: seqnum=1;seqlen={lengths["ctg1"]};seqhdr="ctg1"'
    assert lines[1] == f">1_1_{genes[1].end}_+"
    assert lines[3] == f">3_{genes[0].start + 1}_{genes[0].end}_+"
    assert lines[5].startswith("# Sequence Data: seqnum=2;")
    assert lines[6] == f">1_2_{genes[4].end}_+"


def test_genbank_writer_round_trips(tmp_path, genes_and_sequences):
    genes, sequences = genes_and_sequences
    path = tmp_path / "genes.gbk"
    write_genbank(path, genes[:4], {"ctg1": sequences["ctg1"]} | {"c2": b"ACGT" * 5})
    records = list(SeqIO.parse(path, "genbank"))
    assert [r.id for r in records] == ["ctg1", "c2"]
    assert str(records[0].seq).encode() == sequences["ctg1"]
    features = records[0].features
    assert [str(f.location) for f in features][:2] == [
        f"[<0:{genes[1].end}](+)",
        f"[{genes[2].start}:{genes[2].end}](-)",
    ]
    last = features[3]
    assert str(last.location.end).startswith(">")
    assert last.qualifiers["locus_tag"] == ["ctg1_4"]
    assert last.qualifiers["codon_start"] == [str(genes[3].phase + 1)]
    assert features[1].qualifiers["transl_table"] == ["4"]
    assert features[0].qualifiers["note"][0].startswith("ID=ctg1_1; partial=10; start_type=Edge;")
    assert features[0].qualifiers["note"][0].endswith("; tscore=0.85")
    protein = genes[2].translate(sequences["ctg1"])
    assert features[1].qualifiers["translation"] == [protein.rstrip("*")]
    back = read_genbank_cds(path)
    assert [c.id for c in back.cds] == ["ctg1_1", "ctg1_2", "ctg1_3", "ctg1_4"]
    assert [(c.partial_5, c.partial_3) for c in back.cds] == [
        (g.partial_5, g.partial_3) for _, g in number_genes(genes[:4])
    ]
    assert back.cds[1].translation_table == 4


@pytest.mark.parametrize(
    "write",
    [
        lambda path, genes, seqs: write_gff3(path, genes, {k: len(v) for k, v in seqs.items()}),
        lambda path, genes, seqs: write_proteins(path, genes, seqs),
        lambda path, genes, seqs: write_gene_sequences(path, genes, seqs),
        lambda path, genes, seqs: write_genbank(path, genes, seqs),
    ],
    ids=["gff3", "faa", "ffn", "genbank"],
)
def test_writers_leave_nothing_behind_on_error(tmp_path, genes_and_sequences, write):
    genes, sequences = genes_and_sequences
    path = tmp_path / "out"
    path.write_text("previous\n")
    broken = _gene("ctg1", 100, 109, 1, gc_cont=None)
    with pytest.raises(TypeError):
        write(path, genes + [broken], sequences)
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# Against pyrodigal ------------------------------------------------------------------


def _from_pyrodigal(seqid, gene):
    partial = f"{int(gene.partial_begin)}{int(gene.partial_end)}"
    return Gene(
        seqid, gene.begin - 1, gene.end, gene.strand, partial, gene.start_type, gene.rbs_motif or "None",
        gene.rbs_spacer or "None", gene.gc_cont, gene.confidence(), gene.score, gene.cscore,
        gene.sscore, gene.rscore, gene.uscore, gene.tscore, gene.translation_table,
    )  # fmt: skip


@pytest.mark.shared
def test_writers_match_pyrodigal_output(tmp_path):
    pyrodigal = pytest.importorskip("pyrodigal")
    fasta = GENOMES / "mgen_g37.fna.gz"
    if not fasta.exists():
        pytest.skip("shared genomes not available")
    genome = next(iter(read_fasta(fasta))).seq
    # Fragment edges cut genes on both strands, so partial genes of every kind appear.
    fragments = {
        f"frag{i}": genome[a:b]
        for i, (a, b) in enumerate([(3000, 9000), (7000, 14000), (14000, 21000)])
    }
    finder = pyrodigal.GeneFinder(meta=True)
    ours = []
    theirs = {"gff": io.StringIO(), "faa": io.StringIO(), "ffn": io.StringIO()}
    for seqid, sequence in fragments.items():
        found = finder.find_genes(sequence)
        ours.extend(_from_pyrodigal(seqid, gene) for gene in found)
        found.write_gff(theirs["gff"], sequence_id=seqid, header=False)
        found.write_translations(theirs["faa"], sequence_id=seqid)
        found.write_genes(theirs["ffn"], sequence_id=seqid)
    assert {g.partial for g in ours} >= {"00", "10", "01"}
    assert {g.strand for g in ours if g.partial != "00"} == {1, -1}
    write_gff3(tmp_path / "ours.gff", ours, {seqid: len(seq) for seqid, seq in fragments.items()})
    write_proteins(tmp_path / "ours.faa", ours, fragments)
    write_gene_sequences(tmp_path / "ours.ffn", ours, fragments)

    def features(text):
        # Column 2 names the program and its version.
        rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
        return [row[:1] + row[2:] for row in rows]

    def records(text):
        # Prodigal's header ID counts sequences ("ID=2_5"); ours names the sequence.
        return [
            (r.id, r.description.split(" # ID=")[0], r.description.split(";", 1)[1], str(r.seq))
            for r in SeqIO.parse(io.StringIO(text), "fasta")
        ]

    assert features((tmp_path / "ours.gff").read_text()) == features(theirs["gff"].getvalue())
    assert records((tmp_path / "ours.faa").read_text()) == records(theirs["faa"].getvalue())
    assert records((tmp_path / "ours.ffn").read_text()) == records(theirs["ffn"].getvalue())


# Shared reference genomes --------------------------------------------------------------


def _genome_table():
    table = GENOMES / "genomes.tsv"
    if not table.exists():
        return []
    with open(table, newline="") as handle:
        return [
            (row["name"], int(row["translation_table"]))
            for row in csv.DictReader(handle, delimiter="\t")
        ]


_INDEX = np.full(256, 4, dtype=np.int64)
_INDEX[np.frombuffer(b"ACGT", dtype=np.uint8)] = [0, 1, 2, 3]


def _codon_hits(index, codons):
    """Per base i, (L,) bool each: the codon at i..i+2 is in ``codons`` on the + / - strand."""
    wanted = np.zeros(125, dtype=bool)
    for codon in codons:
        a, b, c = ("ACGT".index(base) for base in codon)
        wanted[a * 25 + b * 5 + c] = True
    padded = np.concatenate([index, [4, 4]])
    plus = wanted[padded[:-2] * 25 + padded[1:-1] * 5 + padded[2:]]
    comp = np.where(padded < 4, 3 - padded, 4)
    minus = wanted[comp[2:] * 25 + comp[1:-1] * 5 + comp[:-2]]
    return plus, minus


# Annotated CDS with an in-frame stop codon: E. coli's three formate dehydrogenase
# selenoproteins read TGA as selenocysteine; M. pneumoniae MPN528a has an in-frame TAA.
INTERNAL_STOP_ALLOWED = {
    "ecoli_k12_mg1655": {"NP_415991.1", "NP_418330.1", "NP_418503.1"},
    "mpne_m129": {"NP_110217.1"},
}


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "table"),
    _genome_table() or [pytest.param("none", 11, marks=pytest.mark.skip("shared data absent"))],
)
def test_reference_genome_labels(name, table):
    code = CodonTable.unambiguous_dna_by_id[table]
    annotation = read_gff3_cds(GENOMES / f"{name}.gff3.gz")
    by_seqid = annotation.by_seqid()
    # The README lists 6 M. gallisepticum CDS with a start codon outside this set.
    start_set = set(code.start_codons) | {"ATG", "GTG", "TTG", "CTG", "ATT", "ATC", "ATA"}
    unusual_starts = 0
    checked = 0
    for record in read_fasta(GENOMES / f"{name}.fna.gz", alphabet="dna"):
        cds_list = by_seqid.get(record.id, [])
        length = len(record)
        assert annotation.sequence_lengths[record.id] == length
        labels, starts = coding_labels(length, cds_list)
        index = _INDEX[record.array]
        stop_plus, stop_minus = _codon_hits(index, code.stop_codons)
        start_plus, start_minus = _codon_hits(index, start_set)
        # Longest CDS over each base and how many CDS of that length cover it.
        longest = np.zeros(length, dtype=np.int64)
        for cds in cds_list:
            for s, e in cds.segments:
                np.maximum(longest[s:e], cds.length, out=longest[s:e])
        ties = np.zeros(length, dtype=np.int64)
        for cds in cds_list:
            for s, e in cds.segments:
                ties[s:e] += longest[s:e] == cds.length
        covered = np.zeros(length, dtype=bool)
        for cds in cds_list:
            # Coding positions in gene order; a later segment wins a shared base.
            positions = np.concatenate(
                [
                    np.arange(s, e) if cds.strand == 1 else np.arange(e - 1, s - 1, -1)
                    for s, e in cds.segments
                ]
            )
            expected = np.empty(length, dtype=np.int8)
            expected[positions] = (np.arange(len(positions)) - cds.phase) % 3 + (
                1 if cds.strand == 1 else 4
            )
            bases = np.unique(positions)
            covered[bases] = True
            wrong = bases[labels[bases] != expected[bases]]
            shadowed = (longest[wrong] > cds.length) | (ties[wrong] > 1)
            assert shadowed.all(), f"{name} {cds.id}: labels disagree at {wrong[~shadowed][:5]}"
            if cds.partial_5 or cds.partial_3 or len(cds.segments) > 1 or cds.length % 3:
                continue
            checked += 1
            s, e = cds.start, cds.end
            if cds.strand == 1:
                internal, final = stop_plus[s : e - 3 : 3], stop_plus[e - 3]
            else:
                internal, final = stop_minus[s + 3 : e : 3], stop_minus[s]
            if cds.id not in INTERNAL_STOP_ALLOWED.get(name, ()):
                assert not internal.any(), f"{name} {cds.id}: internal stop codon"
            assert final, f"{name} {cds.id}: does not end with a stop codon"
        assert (labels[~covered] == 0).all() and (labels[covered] > 0).all()
        plus_flags = np.flatnonzero(starts & 1)
        minus_flags = np.flatnonzero(starts & 2)
        unusual_starts += int(
            (~start_plus[plus_flags]).sum() + (~start_minus[minus_flags - 2]).sum()
        )
        five_prime = {
            cds.start if cds.strand == 1 else cds.end - 1 for cds in cds_list if not cds.partial_5
        }
        assert set(plus_flags) | set(minus_flags) == five_prime
    assert checked > 0
    assert unusual_starts <= (6 if name == "mgal_f" else 0)
