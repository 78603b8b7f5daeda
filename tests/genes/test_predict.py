"""genoseq predict: every output format parses, proteins translate genes, runs are reproducible.

These use a tiny untrained model (conftest.tiny_gene_model): they test the
plumbing, not the calls. Accuracy is tested with the shipped weights in
test_shipped_model.py.
"""

import gzip
import io
import shutil
import subprocess

import pytest
from Bio import SeqIO
from Bio.Seq import Seq
from conftest import DATA

from genoseq.cli import main
from genoseq.genes.predict import predict_genes
from genoseq.io import read_gff3_cds


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    """The first 60 kb of the bundled E. coli slice, as two records."""
    with gzip.open(DATA / "ecoli_k12_500kb.fna.gz", "rt") as handle:
        seq = "".join(handle.read().split("\n")[1:])[:60000]
    path = tmp_path_factory.mktemp("input") / "piece.fa"
    path.write_text(f">left first part\n{seq[:30000]}\n>right\n{seq[30000:]}\n")
    return path


def predict(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(["predict", *map(str, argv)], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture(scope="module")
def outputs(piece, tiny_gene_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("out")
    predict("-i", piece, "-o", folder / "genes.gff", "-a", folder / "genes.faa",
            "-d", folder / "genes.ffn", "--starts-tsv", folder / "starts.tsv",
            "--coding-track", folder / "coding.bedgraph", "--model", tiny_gene_model, "-q")
    predict("-i", piece, "-f", "gbk", "-o", folder / "genes.gbk", "--model", tiny_gene_model)
    predict("-i", piece, "-f", "sco", "-o", folder / "genes.sco", "--model", tiny_gene_model)
    return folder


def test_gff3_reads_back_and_names_genes_like_prodigal(outputs):
    annotation = read_gff3_cds(outputs / "genes.gff")
    assert len(annotation.cds) > 10
    assert annotation.sequence_lengths == {"left": 30000, "right": 30000}
    ids = [c.id for c in annotation.cds if c.seqid == "left"]
    assert ids == [f"left_{n}" for n in range(1, len(ids) + 1)]
    first = annotation.cds[0].attributes
    assert {"partial", "start_type", "rbs_motif", "conf", "score"} <= set(first)


@pytest.mark.skipif(shutil.which("gt") is None, reason="genometools not installed")
def test_gff3_passes_gt_gff3validator(outputs):
    result = subprocess.run(["gt", "gff3validator", str(outputs / "genes.gff")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_genbank_parses_with_biopython(outputs):
    records = list(SeqIO.parse(outputs / "genes.gbk", "genbank"))
    assert [r.id for r in records] == ["left", "right"]
    gff = read_gff3_cds(outputs / "genes.gff")
    assert sum(len([f for f in r.features if f.type == "CDS"]) for r in records) == len(gff.cds)


def test_proteins_translate_the_gene_sequences(outputs):
    genes = {r.id: r for r in SeqIO.parse(outputs / "genes.ffn", "fasta")}
    proteins = list(SeqIO.parse(outputs / "genes.faa", "fasta"))
    assert len(proteins) == len(genes) > 10
    for protein in proteins:
        gene = genes[protein.id]
        partial = protein.description.split("partial=")[1][:2]
        complete_5 = "start_type=Edge" not in protein.description
        translated = str(Seq(str(gene.seq)).translate(table=11))
        if complete_5:
            translated = "M" + translated[1:]
        assert str(protein.seq) == translated, (protein.id, partial)


def test_sco_lists_every_gene(outputs):
    lines = (outputs / "genes.sco").read_text().splitlines()
    assert lines[0] == '# Sequence Data: seqnum=1;seqlen=30000;seqhdr="left"'
    n_genes = sum(line.startswith(">") for line in lines)
    assert n_genes == len(read_gff3_cds(outputs / "genes.gff").cds)


def test_coding_track_covers_both_strands(outputs):
    text = (outputs / "coding.bedgraph").read_text().splitlines()
    tracks = [i for i, line in enumerate(text) if line.startswith("track")]
    assert len(tracks) == 2
    plus = [line.split("\t") for line in text[1:tracks[1]]]
    covered = sum(int(e) - int(b) for seqid, b, e, _ in plus if seqid == "left")
    assert covered == 30000
    assert all(0.0 <= float(v) <= 1.0 for *_, v in plus)


def test_starts_file_lists_candidates_with_scores(outputs):
    lines = (outputs / "starts.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:4] == ["seqid", "start", "end", "strand"]
    assert len(lines) > len(read_gff3_cds(outputs / "genes.gff").cds)


def test_same_input_gives_byte_identical_output(piece, tiny_gene_model, tmp_path):
    for name in ("a.gff", "b.gff"):
        predict("-i", piece, "-o", tmp_path / name, "--model", tiny_gene_model)
    assert (tmp_path / "a.gff").read_bytes() == (tmp_path / "b.gff").read_bytes()


def test_stdin_and_stdout(piece, tiny_gene_model, monkeypatch, outputs):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(piece.read_bytes())))
    text = predict("--model", tiny_gene_model)
    assert text == (outputs / "genes.gff").read_text()


def test_closed_ends_call_no_partial_genes(piece, tiny_gene_model, tmp_path):
    predict("-i", piece, "-c", "-o", tmp_path / "closed.gff", "--model", tiny_gene_model)
    partial = [c.attributes["partial"] for c in read_gff3_cds(tmp_path / "closed.gff").cds]
    assert partial and set(partial) == {"00"}


def test_predict_genes_dataframe(piece, tiny_gene_model, outputs):
    frame = predict_genes(piece, model=tiny_gene_model)
    gff = read_gff3_cds(outputs / "genes.gff").cds
    assert len(frame) == len(gff)
    assert list(frame.columns[:4]) == ["seqid", "start", "end", "strand"]
    assert (frame["start"].iloc[0], frame["end"].iloc[0]) == (gff[0].start + 1, gff[0].end)
