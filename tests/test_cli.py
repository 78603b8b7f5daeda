"""The command line: help, version, info, and one-line errors with exit status 2."""

import gzip
import io

import pytest
from conftest import DATA, TEST_DATA

from genoseq import __version__
from genoseq.cli import main

BAD = TEST_DATA / "bad"
BAD_FILES = ["empty.fa", "no_header.fa", "garbage.txt", "binary.bin", "truncated.fa.gz",
             "qual_length.fq", "duplicate_ids.fa", "empty_record.fa", "nul_byte.fa"]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_version_and_help():
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"genoseq {__version__}"
    code, out, _ = run("--help")
    assert code == 0 and "predict" in out and "info" in out
    code, out, _ = run()
    assert code == 0 and "usage" in out


def test_unknown_option_is_a_usage_error():
    code, _, err = run("info", "--no-such-flag", DATA / "ecoli_proteins.faa")
    assert code == 2 and "genoseq: error:" in err


def test_info_table_and_tsv():
    code, out, _ = run("info", "--tsv", DATA / "ecoli_k12_500kb.fna.gz", DATA / "ecoli_proteins.faa")
    assert code == 0
    header, dna, protein = (line.split("\t") for line in out.strip().split("\n"))
    row = dict(zip(header, dna, strict=True))
    assert row["records"] == "1" and row["total_length"] == "500000"
    assert row["type"] == "DNA" and 50 < float(row["gc_percent"]) < 53
    assert row["n50"] == "500000" and row["n_percent"] == "0.00"
    row = dict(zip(header, protein, strict=True))
    assert row["type"] == "protein" and row["records"] == "12" and row["gc_percent"] == "-"
    code, out, _ = run("info", DATA / "ecoli_proteins.faa")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["file", "format", "type"]


def test_info_reads_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b">a\nACGTNN\n>b\nGG\n")))
    code, out, _ = run("info", "--tsv", "-")
    assert code == 0
    assert out.splitlines()[1].split("\t")[3:6] == ["2", "8", "66.67"]


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_input_gives_one_line_and_exit_2(name):
    code, out, err = run("info", BAD / name)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"genoseq: error: {BAD / name}")
    assert "Traceback" not in err


@pytest.mark.parametrize("name", [*BAD_FILES, "protein.fa"])
def test_bad_input_to_predict_leaves_no_output(tmp_path, tiny_gene_model, name):
    outputs = [tmp_path / "genes.gff", tmp_path / "genes.faa", tmp_path / "genes.ffn"]
    code, _, err = run("predict", "-i", BAD / name, "-o", outputs[0], "-a", outputs[1],
                       "-d", outputs[2], "--model", tiny_gene_model, "-q")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"genoseq: error: {BAD / name}")
    assert list(tmp_path.iterdir()) == []


def test_protein_given_to_predict_names_line_and_value(tmp_path, tiny_gene_model):
    code, _, err = run("predict", "-i", BAD / "protein.fa", "-o", tmp_path / "x.gff",
                       "--model", tiny_gene_model)
    assert code == 2
    assert f"{BAD / 'protein.fa'}:2:" in err and "expected DNA" in err


def test_missing_file(tmp_path):
    code, _, err = run("info", tmp_path / "nope.fa")
    assert code == 2 and err.startswith(f"genoseq: error: {tmp_path / 'nope.fa'}")


def test_existing_output_survives_a_failed_run(tmp_path, tiny_gene_model):
    out = tmp_path / "genes.gff"
    out.write_text("previous result\n")
    code, _, _ = run("predict", "-i", BAD / "truncated.fa.gz", "-o", out,
                     "--model", tiny_gene_model)
    assert code == 2
    assert out.read_text() == "previous result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["genes.gff"]


def test_all_n_record_is_skipped_with_a_warning(tmp_path, tiny_gene_model):
    fasta = tmp_path / "in.fa"
    with gzip.open(DATA / "ecoli_k12_500kb.fna.gz", "rt") as handle:
        real = "".join(handle.read().split("\n")[1:200])
    fasta.write_text(f">gap\n{'N' * 500}\n>real\n{real}\n")
    code, _, err = run("predict", "-i", fasta, "-o", tmp_path / "out.gff",
                       "--model", tiny_gene_model)
    assert code == 0
    assert "genoseq: warning:" in err and "'gap'" in err
    assert "##sequence-region gap 1 500" in (tmp_path / "out.gff").read_text()


def test_dna_given_where_protein_is_required(tmp_path):
    output = tmp_path / "ss.tsv"
    code, out, err = run("ss", "-i", BAD / "dna_as_protein.fa", "-o", output)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"genoseq: error: {BAD / 'dna_as_protein.fa'}:1:")
    assert "looks like DNA" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["predict", "-i", DATA / "ecoli_proteins.faa", "--threads", "0"],
    ["predict", "-i", DATA / "ecoli_proteins.faa", "--batch-size", "-3"],
    ["motifs", "scan", "-i", DATA / "ecoli_proteins.faa", "--motifs", "x", "--threads", "0"],
    ["enhancer", "-i", "x", "--threads", "0"],
])
def test_counts_below_one_are_usage_errors(argv):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert err.splitlines()[-1].startswith("genoseq: error: argument ")
    assert "expected an integer >= 1" in err and "Traceback" not in err


def test_command_sets_its_environment_before_torch_loads():
    import subprocess
    import sys as _sys

    # main() sets ONEDNN_PRIMITIVE_CACHE_CAPACITY for torch to read when it loads, so
    # loading the command must not load torch.
    loaded = subprocess.run([_sys.executable, "-c",
                             "import sys, genoseq.cli; print('torch' in sys.modules)"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


@pytest.mark.parametrize(("allowed", "cpus", "load", "free"), [
    (2, 2, 0.0, 2),    # idle machine: every CPU
    (2, 2, 2.0, 1),    # two busy neighbours on two cores: one thread, never zero
    (8, 8, 3.0, 5),    # the others' processes off the CPUs
    (4, 64, 60.0, 4),  # a cpuset of 4 on a busy 64-CPU node: the load is on other CPUs
])
def test_default_threads_are_the_free_cpus(monkeypatch, allowed, cpus, load, free):
    import argparse
    import os

    from genoseq import device
    from genoseq._cli import compute_options

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(allowed)),
                        raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(device, "_running_elsewhere", lambda: load)
    assert device.free_cpus() == free
    args = argparse.Namespace(device="cpu", threads=None, quiet=True)
    assert compute_options(args, io.StringIO()).threads == free
    # --threads wins.
    args.threads = 3
    assert compute_options(args, io.StringIO()).threads == 3


def test_running_elsewhere_counts_a_busy_neighbour():
    import os
    import subprocess
    import sys as _sys
    import time

    from genoseq.device import _running_elsewhere

    if not os.path.exists("/proc/loadavg"):
        pytest.skip("no /proc/loadavg")
    busy = subprocess.Popen([_sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        # A CPU-bound process is running or waiting for a CPU at every instant (other
        # test workers may add to the count, never take from it).
        during = min(_running_elsewhere() for _ in range(5))
    finally:
        busy.kill()
        busy.wait()
    assert during >= 1
