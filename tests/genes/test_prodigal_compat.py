"""``genoseq predict`` as a drop-in for Prodigal and pyrodigal: flags, files and -m.

Each test pins one thing a Prodigal or pyrodigal user relies on: ``-v``/``-V``,
pyrodigal's ``-j``, ``-n``, the ``-t`` training file (written when absent,
read when present, as Prodigal 2.6.3), the ``-s`` start file (read here by a reader written from
Prodigal's documentation, not from genoseq's writer), the ``# Sequence Data`` /
``# Model Data`` lines of GFF3 and sco, the ``-m`` semantics (checked against
pyrodigal itself on a real genome with runs of N inserted), the warning on
inputs too short to self-train on and the run summary.

Plumbing tests use the tiny untrained model (conftest.tiny_gene_model); the
ones about self-training and real calls use the shipped weights on small
slices of the bundled E. coli genome.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace

import numpy as np
import pytest
import torch
from conftest import DATA

from genoseq import __version__
from genoseq.cli import main
from genoseq.genes.orfs import find_orfs
from genoseq.io import read_gff3_cds

# --- helpers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ecoli() -> str:
    """The bundled E. coli slice (500 kb) as one string."""
    with gzip.open(DATA / "ecoli_k12_500kb.fna.gz", "rt") as handle:
        return "".join(handle.read().split("\n")[1:])


@pytest.fixture(scope="module")
def two_records(ecoli, tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "two.fa"
    path.write_text(f">left first part\n{ecoli[:20000]}\n>right\n{ecoli[20000:35000]}\n")
    return path


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(["predict", *map(str, argv)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def predict(*argv):
    code, out, err = run(*argv)
    assert code == 0, err
    return out, err


# --- a reader of Prodigal's start file, written from Prodigal's documentation ---------------
#
# Prodigal's wiki ("Understanding the Prodigal Output") and its help (-s: "Write all
# potential genes (with scores) to the selected file") describe the start file: per input
# sequence, a "# Sequence Data:" line and a "# Run Data:" line of semicolon-separated
# name=value pairs (seqnum, seqlen, seqhdr; version, run_type, model, gc_cont,
# transl_table, uses_sd), then a tab-separated table with the columns Beg, End, Std,
# Total, CodPot, StrtSc, Codon, RBSMot, Spacer, RBSScr, UpsScr, TypeScr, GCCont: one row
# per start/stop pair, 1-based inclusive coordinates, the start/stop pairs of one stop
# codon together, and blank lines between the groups.

START_COLUMNS = ["Beg", "End", "Std", "Total", "CodPot", "StrtSc", "Codon", "RBSMot", "Spacer",
                 "RBSScr", "UpsScr", "TypeScr", "GCCont"]


def name_values(text: str) -> dict[str, str]:
    """``a=1;b="x y"`` -> {"a": "1", "b": "x y"} (quotes stripped)."""
    pairs = {}
    for item in text.split(";"):
        name, equals, value = item.partition("=")
        assert equals, f"{item!r} is not name=value"
        pairs[name] = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    return pairs


@dataclass
class StartBlock:
    sequence: dict[str, str]
    run: dict[str, str]
    groups: list[list[dict]] = field(default_factory=list)


def read_start_file(text: str) -> list[StartBlock]:
    blocks: list[StartBlock] = []
    lines = text.split("\n")
    assert lines[-1] == "", "the file ends with a line break"
    i = 0
    while i < len(lines) - 1:
        assert lines[i].startswith("# Sequence Data: "), (i, lines[i])
        assert lines[i + 1].startswith("# Run Data: "), (i + 1, lines[i + 1])
        block = StartBlock(name_values(lines[i][len("# Sequence Data: "):]),
                           name_values(lines[i + 1][len("# Run Data: "):]))
        assert lines[i + 2] == ""
        assert lines[i + 3].split("\t") == START_COLUMNS
        i += 4
        group = None
        while i < len(lines) - 1 and not lines[i].startswith("# Sequence Data: "):
            if lines[i] == "":
                group = None
            else:
                fields = lines[i].split("\t")
                assert len(fields) == len(START_COLUMNS), lines[i]
                row = dict(zip(START_COLUMNS, fields, strict=True))
                for name in ("Beg", "End"):
                    row[name] = int(row[name])
                for name in ("Total", "CodPot", "StrtSc", "RBSScr", "UpsScr", "TypeScr",
                             "GCCont"):
                    row[name] = float(row[name])
                if group is None:
                    group = []
                    block.groups.append(group)
                group.append(row)
            i += 1
        blocks.append(block)
    return blocks


def stop_of(row: dict) -> tuple[int, str]:
    """The stop codon a row ends at: its 3' end and strand."""
    return (row["End"] if row["Std"] == "+" else row["Beg"], row["Std"])


# --- -v / -V ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-v", "-V"])
def test_version_flag_prints_the_version_on_stderr_and_exits_0(flag, tmp_path):
    # Prodigal prints "Prodigal V2.6.3: February, 2016" on stderr and exits 0 at -v,
    # whatever else is on the command line.
    code, out, err = run("-i", tmp_path / "absent.fa", flag, "-o", tmp_path / "x.gff")
    assert code == 0 and out == ""
    assert re.search(rf"^genoseq V{re.escape(__version__)}\b", err, re.MULTILINE), err
    assert not (tmp_path / "x.gff").exists()


# --- -j --------------------------------------------------------------------------------------


def test_jobs_flag_sets_the_threads(two_records, tiny_gene_model, tmp_path, monkeypatch):
    # The torch networks (small fp32 CPU inputs would take the numpy ones, which never
    # import torch).
    monkeypatch.setenv("GENOSEQ_NETWORKS", "torch")
    before = torch.get_num_threads()
    try:
        predict("-i", two_records, "-j", "2", "-o", tmp_path / "j.gff",
                "--model", tiny_gene_model, "-q")
        assert torch.get_num_threads() == 2
        predict("-i", two_records, "-j", "1", "--threads", "1", "-o", tmp_path / "k.gff",
                "--model", tiny_gene_model, "-q")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert (tmp_path / "j.gff").read_bytes() == (tmp_path / "k.gff").read_bytes()


def test_jobs_0_means_every_cpu():
    from genoseq.genes.cli import _threads

    class Args:
        jobs, threads = 0, None

    import os

    assert _threads(Args) == (os.cpu_count() or 1)


@pytest.mark.parametrize("argv, where", [(["-j", "-1"], "-1"), (["-j", "two"], "two"),
                                         (["-j", "2", "--threads", "3"], "-j")])
def test_bad_jobs_are_one_error_line_exit_2(argv, where, two_records, tmp_path):
    code, _, err = run("-i", two_records, "-o", tmp_path / "x.gff", *argv)
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("genoseq: error:")]
    assert len(error_lines) == 1 and where in error_lines[0], err
    assert not (tmp_path / "x.gff").exists()


# --- -s: Prodigal's start file; --starts-tsv: genoseq's table ---------------------------------


@pytest.fixture(scope="module")
def tiny_outputs(two_records, tiny_gene_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("out")
    _, err = predict("-i", two_records, "-o", folder / "genes.gff", "-s", folder / "starts.txt",
                     "--starts-tsv", folder / "starts.tsv", "--model", tiny_gene_model,
                     "-p", "meta")
    predict("-i", two_records, "-f", "sco", "-o", folder / "genes.sco",
            "--model", tiny_gene_model, "-p", "meta", "-q")
    (folder / "stderr.txt").write_text(err)
    return folder


def test_start_file_is_prodigals_format(tiny_outputs, two_records):
    blocks = read_start_file((tiny_outputs / "starts.txt").read_text())
    assert [b.sequence for b in blocks] == [
        {"seqnum": "1", "seqlen": "20000", "seqhdr": "left"},
        {"seqnum": "2", "seqlen": "15000", "seqhdr": "right"}]
    for block in blocks:
        assert list(block.run) == ["version", "run_type", "model", "gc_cont", "transl_table",
                                   "uses_sd"]
        assert block.run["version"] == f"genoseq.v{__version__}"
        assert block.run["run_type"] == "Metagenomic"
        assert block.run["transl_table"] == "11" and block.run["uses_sd"] in ("0", "1")
        assert 0 < float(block.run["gc_cont"]) < 100
        length = int(block.sequence["seqlen"])
        stops = []
        for group in block.groups:
            # One stop codon per group, distinct from the other groups' stops.
            assert len({stop_of(row) for row in group}) == 1
            stops.append(stop_of(group[0]))
            for row in group:
                assert 1 <= row["Beg"] < row["End"] <= length and row["Std"] in "+-"
                assert (row["End"] - row["Beg"] + 1) % 3 == 0
                assert row["Codon"] in ("ATG", "GTG", "TTG", "Edge")
                assert abs(row["Total"] - row["CodPot"] - row["StrtSc"]) <= 0.011
                assert 0.0 <= row["GCCont"] <= 1.0
        assert len(set(stops)) == len(stops)


def test_start_file_lists_every_candidate_and_the_genes_with_their_scores(tiny_outputs):
    blocks = read_start_file((tiny_outputs / "starts.txt").read_text())
    rows = {(seqid, row["Beg"], row["End"], row["Std"], row["Codon"]): row
            for seqid, block in zip(("left", "right"), blocks, strict=True)
            for group in block.groups for row in group}
    table = (tiny_outputs / "starts.tsv").read_text().splitlines()
    assert table[0].split("\t")[:4] == ["seqid", "start", "end", "strand"]
    assert len(rows) == len(table) - 1
    for line in table[1:]:
        seqid, start, end, strand, codon, _, _, _, total = line.split("\t")
        assert rows[seqid, int(start), int(end), strand, codon]["Total"] == float(total)
    genes = read_gff3_cds(tiny_outputs / "genes.gff").cds
    assert genes
    for gene in genes:
        row = rows[gene.seqid, gene.start + 1, gene.end, "+" if gene.strand > 0 else "-",
                   gene.attributes["start_type"]]
        assert f"{row['Total']:.2f}" == gene.attributes["score"]
        assert f"{row['CodPot']:.2f}" == gene.attributes["cscore"]


# --- # Sequence Data / # Model Data ------------------------------------------------------------


def header_lines(path):
    return [line for line in path.read_text().splitlines()
            if line.startswith(("# Sequence Data:", "# Model Data:"))]


def test_gff_and_sco_carry_prodigals_header_lines(tiny_outputs):
    for name in ("genes.gff", "genes.sco"):
        lines = header_lines(tiny_outputs / name)
        assert [line.split(":")[0] for line in lines] == ["# Sequence Data", "# Model Data"] * 2
        sequence = [name_values(line.split(": ", 1)[1]) for line in lines[0::2]]
        assert sequence == [{"seqnum": "1", "seqlen": "20000", "seqhdr": "left"},
                            {"seqnum": "2", "seqlen": "15000", "seqhdr": "right"}]
        model = [name_values(line.split(": ", 1)[1]) for line in lines[1::2]]
        for data in model:
            assert list(data) == ["version", "run_type", "model", "gc_cont", "transl_table",
                                  "uses_sd"]
            assert data["run_type"] == "Metagenomic" and data["transl_table"] == "11"
        # Meta mode: each record's own GC, as in the start file's Run Data.
        starts = read_start_file((tiny_outputs / "starts.txt").read_text())
        assert [d["gc_cont"] for d in model] == [b.run["gc_cont"] for b in starts]
    # Each record's lines come before its genes, after those of the record before.
    gff = (tiny_outputs / "genes.gff").read_text().splitlines()
    second = gff.index(header_lines(tiny_outputs / "genes.gff")[2])
    assert all(line.startswith("left\t") for line in gff[4:second] if not line.startswith("#"))
    assert all(line.startswith("right\t") for line in gff[second:] if not line.startswith("#"))


def test_header_lines_change_nothing_else(tiny_outputs, two_records, tiny_gene_model):
    from genoseq.genes.finder import GeneFinder
    from genoseq.genes.predict import run_prediction
    from genoseq.io import write_gff3

    finder = GeneFinder(tiny_gene_model, procedure="meta")
    result = run_prediction(two_records, finder)
    plain = tiny_outputs / "plain.gff"
    write_gff3(plain, result.genes, result.lengths)
    with_headers = [line for line in (tiny_outputs / "genes.gff").read_text().splitlines()
                    if not line.startswith(("# Sequence Data:", "# Model Data:"))]
    assert with_headers == plain.read_text().splitlines()


@pytest.mark.skipif(shutil.which("gt") is None, reason="genometools 'gt' not on PATH")
def test_gff_with_header_lines_is_valid_gff3(tiny_outputs):
    result = subprocess.run(["gt", "gff3validator", str(tiny_outputs / "genes.gff")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- -m: as Prodigal and pyrodigal -----------------------------------------------------------


def with_n_runs(seq: str, runs: list[tuple[int, int]]) -> str:
    for at, n in runs:
        seq = seq[:at] + "N" * n + seq[at + n:]
    return seq


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("mask", [True, False])
def test_candidates_are_pyrodigals_with_and_without_mask(ecoli, mask, closed):
    """Every start pyrodigal may use is a genoseq candidate and the other way round.

    With -m both mask the runs of >= 50 N and keep genes across shorter ones;
    without it Prodigal builds genes across any run (genoseq's own gap rule,
    n_run, is switched off here to compare).
    """
    pyrodigal = pytest.importorskip("pyrodigal")
    seq = with_n_runs(ecoli[:40000], [(10000, 10), (20000, 60), (30000, 49)])
    sequence = pyrodigal.Sequence(seq, mask=mask)
    nodes = pyrodigal.Nodes()
    nodes.extract(sequence, closed=closed, translation_table=11)
    theirs = {(node.index, node.strand, bool(node.edge)) for node in nodes if node.type != "Stop"}
    orfs = find_orfs(seq, 11, closed=closed, mask_n=mask, n_run=10**9)
    # pyrodigal's node index is the start codon's first base in the gene's direction.
    ours = {(int(p) if d > 0 else int(p) + 2, int(d), bool(e))
            for p, d, e in zip(orfs.start_pos, orfs.strand, orfs.partial_5prime, strict=True)}
    assert len(ours) > 1000 and ours == theirs
    if mask:  # genoseq's default (n_run=50) is Prodigal's -m
        default = find_orfs(seq, 11, closed=closed)
        assert default.start.tolist() == find_orfs(seq, 11, closed=closed,
                                                   mask_n=True).start.tolist()


def test_gene_with_a_masked_run_inside_is_called_like_pyrodigal(ecoli, tmp_path):
    """A 60-N run inside a gene: nothing crosses it, the rest of the gene is complete.

    pyrodigal (as Prodigal's add_nodes) never makes a gene partial at a
    masked run: the 5' part of the gene is lost and the ORF is called from a
    start after the run, partial=00. genoseq -m does the same.
    """
    pyrodigal = pytest.importorskip("pyrodigal")
    # yaaJ (- strand, 54755..57109 in the slice): 60 N in its middle.
    piece = with_n_runs(ecoli[40000:70000], [(55933 - 40000, 60)])
    gap = (55933 - 40000, 55933 - 40000 + 60)
    finder = pyrodigal.GeneFinder(meta=True, mask=True)
    theirs = [g for g in finder.find_genes(piece) if g.end > gap[0] - 2000 and g.begin < gap[1]]
    assert theirs, "pyrodigal calls the rest of the gene"
    for gene in theirs:
        assert not (gene.begin - 1 < gap[1] and gene.end > gap[0]), "no gene crosses the mask"
        assert not gene.partial_begin and not gene.partial_end
    rest = [g for g in theirs if g.strand == -1 and g.begin - 1 < gap[0]][0]

    fasta = tmp_path / "gap.fa"
    fasta.write_text(f">gap\n{piece}\n")
    out, _ = predict("-i", fasta, "-p", "meta", "-m", "-q", "--threads", "1")
    ours = [(int(f[3]), int(f[4]), f[6], dict(a.split("=") for a in f[8].split(";") if a))
            for f in (line.split("\t") for line in out.splitlines() if not line.startswith("#"))]
    near = [g for g in ours if g[1] > gap[0] - 2000 and g[0] - 1 < gap[1]]
    for start, end, _, attributes in near:
        assert not (start - 1 < gap[1] and end > gap[0]), "no gene crosses the mask"
        assert attributes["partial"] == "00"
    # The same ORF (its stop codon) is called, complete, as pyrodigal calls it.
    assert any(strand == "-" and start == rest.begin for start, _, strand, _ in near)


# --- too short to self-train; the run summary ---------------------------------------------


@pytest.fixture(scope="module")
def short_genome(ecoli, tmp_path_factory):
    path = tmp_path_factory.mktemp("short") / "short.fa"
    path.write_text(f">short\n{ecoli[:6000]}\n")
    return path


def test_short_single_genome_warns_once_and_says_what_happens(short_genome, tmp_path):
    _, err = predict("-i", short_genome, "-o", tmp_path / "s.gff", "--threads", "1")
    warnings = [line for line in err.splitlines() if line.startswith("genoseq: warning:")]
    assert len(warnings) == 1, err
    assert "6,000 bp" in warnings[0] and "without self-training" in warnings[0]
    assert "-p meta" in warnings[0] and "20,000" in warnings[0]
    # ... and the genes are those of -p meta, as it says.
    predict("-i", short_genome, "-o", tmp_path / "m.gff", "-p", "meta", "-q", "--threads", "1")
    body = [
        [line for line in (tmp_path / name).read_text().splitlines() if not line.startswith("#")]
        for name in ("s.gff", "m.gff")]
    assert body[0] == body[1] and body[0]


def test_quiet_prints_nothing(short_genome, tmp_path):
    _, err = predict("-i", short_genome, "-o", tmp_path / "q.gff", "-q", "--threads", "1")
    assert err == ""


def test_run_summary_is_one_line_at_the_end(short_genome, tmp_path):
    _, err = predict("-i", short_genome, "-o", tmp_path / "s.gff", "--threads", "1",
                     "--precision", "fp32")
    last = err.splitlines()[-1]
    n_genes = len(read_gff3_cds(tmp_path / "s.gff").cds)
    assert last.startswith(f"genoseq: {n_genes} genes on 1 record (6,000 bp); ")
    assert "self-training: no (input under 100,000 bp)" in last
    assert "model: shipped weights" in last and "device: cpu" in last
    assert "precision: fp32" in last and re.search(r"; \d+\.\d s$", last)


def test_run_summary_of_a_self_trained_genome(ecoli, tmp_path):
    path = tmp_path / "genome.fa"
    path.write_text(f">a\n{ecoli[:60000]}\n>b\n{ecoli[60000:110000]}\n")
    _, err = predict("-i", path, "-f", "sco", "-o", tmp_path / "g.sco", "--threads", "1")
    assert "warning" not in err
    assert re.match(r"genoseq: \d+ genes on 2 records \(110,000 bp\); self-training: yes; ",
                    err.splitlines()[-1]), err
    model = [line for line in (tmp_path / "g.sco").read_text().splitlines()
             if line.startswith("# Model Data:")]
    # Single mode: one model for the genome, as Prodigal's one training.
    assert len(model) == 2 and model[0] == model[1]
    data = name_values(model[0].split(": ", 1)[1])
    assert data["run_type"] == "Single" and data["model"] == "shipped weights, self-trained"
    gc = sum(ecoli[:110000].count(base) for base in "GC") / 1100
    assert data["gc_cont"] == f"{gc:.2f}"


def test_progress_bar_counts_bases(two_records, tiny_gene_model, capsys):
    from genoseq.device import ComputeOptions
    from genoseq.genes.finder import GeneFinder
    from genoseq.genes.predict import run_prediction

    for procedure in ("single", "meta"):
        finder = GeneFinder(tiny_gene_model, procedure=procedure,
                            compute=ComputeOptions(progress=True))
        run_prediction(two_records, finder)
        err = capsys.readouterr().err
        # 35,000 bases in all: the bar ends full, at the input's bases.
        assert "100%" in err and "35.0k/35.0k" in err, err


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_progress_callback_counts_every_base_as_the_coding_model_runs(two_records,
                                                                        tiny_gene_model,
                                                                        backend, monkeypatch):
    from genoseq.device import ComputeOptions
    from genoseq.genes.finder import GeneFinder
    from genoseq.io import read_fasta

    monkeypatch.setenv("GENOSEQ_NETWORKS", backend)
    records = [(r.id, r.seq) for r in read_fasta(two_records)]
    finder = GeneFinder(tiny_gene_model, compute=ComputeOptions(device="cpu", batch_size=1,
                                                                precision="fp32"))
    steps = []
    finder.predict_genome(records, progress=steps.append)
    assert sum(steps) == 35_000 and min(steps) > 0
    if backend == "torch":
        # One 6 kb window per forward pass: the bar moves several times, not once at the end.
        assert len(steps) > 3


# --- -n --------------------------------------------------------------------------------------


def test_force_nonsd_turns_the_shine_dalgarno_score_off(tmp_path):
    # E. coli's starts show SD sites: by default the self-trained pass scores them (uses_sd=1,
    # rscore and RBSScr carry the score); -n bypasses that, as Prodigal's -n bypasses its
    # Shine-Dalgarno trainer.
    example = DATA / "ecoli_k12_500kb.fna.gz"
    predict("-i", example, "-o", tmp_path / "plain.gff", "-s", tmp_path / "plain.starts",
            "-q", "--threads", "1")
    predict("-i", example, "-n", "-o", tmp_path / "n.gff", "-q", "--threads", "1")
    for name, uses_sd in (("plain", "1"), ("n", "0")):
        model = name_values(header_lines(tmp_path / f"{name}.gff")[1].split(": ", 1)[1])
        assert model["uses_sd"] == uses_sd
    plain, nonsd = (read_gff3_cds(tmp_path / f"{name}.gff").cds for name in ("plain", "n"))
    rscores = [float(re.search(r"rscore=([-0-9.]+)", line).group(1))
               for line in (tmp_path / "plain.gff").read_text().splitlines() if "\tCDS\t" in line]
    assert sum(r > 0 for r in rscores) > len(rscores) / 2  # most genes have a site
    assert all("rscore=0.00;" in line for line in (tmp_path / "n.gff").read_text().splitlines()
               if "\tCDS\t" in line)
    starts = {(g.strand, g.start, g.end) for g in plain}
    assert starts != {(g.strand, g.start, g.end) for g in nonsd}  # the score moves starts
    rows = [line.split("\t") for line in (tmp_path / "plain.starts").read_text().splitlines()
            if line and line[0].isdigit()]
    assert any(float(row[9]) != 0.0 for row in rows)  # RBSScr
    # Reading a training file learned with -n gives statistics without SD classes.
    predict("-i", example, "-n", "-t", tmp_path / "n.trn", "-q", "--threads", "1")
    assert "rbs_log_odds" not in (tmp_path / "n.trn").read_text()


def test_help_explains_n_and_t():
    out = io.StringIO()
    assert main(["predict", "--help"], stdout=out, stderr=out) == 0
    text = " ".join(out.getvalue().split())
    assert "-n, --force-nonsd" in text and "no Shine-Dalgarno class score" in text
    assert "-t FILE, --training-file FILE" in text and "does not exist" in text


# --- -t: Prodigal's training file ----------------------------------------------------------
#
# Prodigal 2.6.3 (main.c): with -t FILE and no FILE, it trains on the input, writes FILE and
# exits 0 without predicting (the output files it opened stay empty); with FILE present it
# reads FILE and predicts with it, on input of any length; -t with -p meta is an error, and
# so is -n with a FILE already present.


@pytest.fixture(scope="module")
def genome_110k(ecoli, tmp_path_factory):
    path = tmp_path_factory.mktemp("genome") / "genome.fa"
    path.write_text(f">a\n{ecoli[:60000]}\n>b\n{ecoli[60000:110000]}\n")
    return path


@pytest.fixture(scope="module")
def plasmid(ecoli, tmp_path_factory):
    """A short record (30 kb): too short to self-train on; a training file serves it."""
    path = tmp_path_factory.mktemp("plasmid") / "plasmid.fa"
    path.write_text(f">p\n{ecoli[300000:330000]}\n")
    return path


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_training_file_round_trip_gives_identical_calls(genome_110k, precision, tmp_path):
    common = ["--threads", "1", "--precision", precision]
    training = tmp_path / "genome.trn"
    out, err = predict("-i", genome_110k, "-t", training, "-o", tmp_path / "empty.gff",
                       *common)
    # Absent: trained on, written, no genes predicted; the named output left empty.
    assert out == "" and (tmp_path / "empty.gff").read_bytes() == b""
    assert "written empty" in err and "no genes predicted" in err.splitlines()[-1]
    header = json.loads(training.read_text())
    assert header["format"] == "genoseq training file" and header["format_version"] == 1
    assert header["translation_table"] == 11 and header["genome_length"] == 110_000
    assert header["records"] == 2 and header["genes"] > 50
    # Present: read and used instead of self-training -> the very genes and files.
    predict("-i", genome_110k, "-o", tmp_path / "plain.gff", "-a", tmp_path / "plain.faa",
            "-q", *common)
    _, err = predict("-i", genome_110k, "-t", training, "-o", tmp_path / "read.gff",
                     "-a", tmp_path / "read.faa", *common)
    assert "self-training: read from " + str(training) in err.splitlines()[-1]
    assert json.loads(training.read_text()) == header  # read, not rewritten
    for suffix in ("gff", "faa"):
        assert (tmp_path / f"read.{suffix}").read_bytes() == \
            (tmp_path / f"plain.{suffix}").read_bytes()


def test_training_file_serves_a_short_record(genome_110k, plasmid, tmp_path):
    from genoseq.device import ComputeOptions
    from genoseq.genes.adapt import read_training
    from genoseq.genes.finder import GeneFinder
    from genoseq.io import read_fasta

    training = tmp_path / "genome.trn"
    predict("-i", genome_110k, "-t", training, "-q", "--threads", "1", "--precision", "fp32")
    written = training.read_bytes()
    _, err = predict("-i", plasmid, "-t", training, "-o", tmp_path / "p.gff", "--threads", "1",
                     "--precision", "fp32")
    assert training.read_bytes() == written
    assert "warning" not in err and "self-training: read from" in err
    model = name_values(header_lines(tmp_path / "p.gff")[1].split(": ", 1)[1])
    assert model["model"] == "shipped weights, self-trained"
    ours = (tmp_path / "p.gff").read_text()
    predict("-i", plasmid, "-o", tmp_path / "plain.gff", "-q", "--threads", "1",
            "--precision", "fp32")
    assert [line for line in ours.splitlines() if not line.startswith("#")] != [
        line for line in (tmp_path / "plain.gff").read_text().splitlines()
        if not line.startswith("#")], "the genome's statistics change the short record's calls"
    # The API does the same: GeneFinder(training=...) from the file or from GeneFinder.train.
    compute = ComputeOptions(threads=1, precision="fp32")
    learner = GeneFinder(compute=compute)
    learned = learner.train([(r.id, r.seq) for r in read_fasta(genome_110k)])
    from_file = read_training(training)
    np.testing.assert_array_equal(learned.hexamer_log_ratios, from_file.hexamer_log_ratios)
    np.testing.assert_array_equal(learned.start_profile, from_file.start_profile)
    record = next(iter(read_fasta(plasmid)))
    for given in (learned, training):
        prediction = GeneFinder(compute=compute, training=given).predict(record.seq, "p")
        assert prediction.adapted
        gff_genes = [line.split("\t")[3:5] for line in ours.splitlines()
                     if not line.startswith("#")]
        assert [[str(g.start + 1), str(g.end)] for g in prediction.genes] == gff_genes


@pytest.fixture(scope="module")
def tiny_trained(tiny_gene_model, genome_110k, tmp_path_factory):
    """A tiny model with a self-trained pass, and a training file it wrote on genome_110k."""
    from genoseq.genes.networks import load_gene_models, save_gene_models

    models, params, _, metadata = load_gene_models(tiny_gene_model)
    folder = tmp_path_factory.mktemp("tiny_trained")
    stem = folder / "tiny_adapted"
    save_gene_models(models, params, stem, metadata,
                     adapted=replace(params, hexamer_weight=0.5, profile_weight=0.5))
    training = folder / "tiny.trn"
    predict("-i", genome_110k, "-t", training, "--model", stem, "-q", "--threads", "1")
    return stem, training


def edited(training, tmp_path, **changes):
    document = json.loads(training.read_text())
    document.update(changes)
    path = tmp_path / f"edited_{'_'.join(changes)}.trn"
    path.write_text(json.dumps(document))
    return path


def bad_training_cases(tiny_trained, tmp_path):
    stem, training = tiny_trained
    prodigal_like = tmp_path / "prodigal.trn"
    prodigal_like.write_bytes(bytes(range(256)) * 100)  # Prodigal's is a binary struct dump
    return {
        "meta": (["-t", training, "-p", "meta"], str(training), "-p meta"),
        "nonsd": (["-t", training, "-n"], str(training), "-n"),
        "table": (["-t", training, "-g", "4"], str(training), "translation_table 11"),
        "binary": (["-t", prodigal_like], str(prodigal_like), "not a genoseq training file"),
        "format": (["-t", edited(training, tmp_path, format="prodigal")], "edited_format",
                   "'prodigal'"),
        "version": (["-t", edited(training, tmp_path, format_version=2)], "edited_format_version",
                    "format_version 2"),
        "ratios": (["-t", edited(training, tmp_path, hexamer_log_ratios=[0.0] * 10)],
                   "edited_hexamer", "hexamer_log_ratios"),
        # learned with the tiny model, read with the shipped one
        "model": (["-t", training], str(training), "not the one in use")}


@pytest.mark.parametrize("case", ["meta", "nonsd", "table", "binary", "format", "version",
                                  "ratios", "model"])
def test_unusable_training_file_is_one_error_line_exit_2(case, tiny_trained, two_records,
                                                         tmp_path):
    stem, training = tiny_trained
    argv, where, value = bad_training_cases(tiny_trained, tmp_path)[case]
    model = [] if case == "model" else ["--model", stem]
    before = training.read_bytes()
    code, out, err = run("-i", two_records, *argv, *model, "-o", tmp_path / "x.gff",
                         "--threads", "1")
    assert code == 2 and out == ""
    error_lines = [line for line in err.splitlines() if line.startswith("genoseq: error:")]
    assert len(error_lines) == 1 and where in error_lines[0] and value in error_lines[0], err
    assert not (tmp_path / "x.gff").exists() and training.read_bytes() == before


def test_training_on_a_short_input_writes_nothing(short_genome, tmp_path):
    code, _, err = run("-i", short_genome, "-t", tmp_path / "s.trn", "-o", tmp_path / "x.gff",
                       "--threads", "1")
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("genoseq: error:")]
    assert len(error_lines) == 1 and str(short_genome) in error_lines[0]
    assert "6,000 bp" in error_lines[0] and "no training file written" in error_lines[0]
    assert list(tmp_path.iterdir()) == []


def test_training_file_sets_the_table_when_g_is_absent(tiny_trained, two_records, tmp_path):
    stem, training = tiny_trained
    table4 = edited(training, tmp_path, translation_table=4)
    code, _, err = run("-i", two_records, "-t", table4, "--model", stem, "-o", tmp_path / "x.gff",
                       "--threads", "1")
    # Without -g the file's table is used, as Prodigal uses its training file's.
    assert code == 0, err
    model = name_values(header_lines(tmp_path / "x.gff")[1].split(": ", 1)[1])
    assert model["transl_table"] == "4"
