"""`genoseq motifs scan|train|predict|logo`: outputs, the shipped CTCF model, one-line errors."""

import io
import json

import pandas as pd
import pytest
from conftest import TEST_DATA
from motif_testdata import CTCF_FASTA, CTCF_TSV, JASPAR, MEME, one_torch_thread
from sklearn.metrics import roc_auc_score

from genoseq.cli import main
from genoseq.motifs import scan_motifs, write_hits

BAD = TEST_DATA / "bad"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_scan_writes_the_api_table_deterministically(tmp_path):
    first, second, expected = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "api.tsv"
    for path in (first, second):
        code, _, err = run("motifs", "scan", "-i", CTCF_FASTA, "--motifs", MEME, "--names",
                           "CTCF,SP1", "-o", path, "-q")
        assert code == 0, err
    write_hits(scan_motifs(CTCF_FASTA, MEME, names="CTCF,SP1"), expected)
    assert first.read_bytes() == second.read_bytes() == expected.read_bytes()
    code, out, _ = run("motifs", "scan", "-i", CTCF_FASTA, "--motifs", JASPAR, "--names",
                       "MA0139.2", "--threshold", "2")
    hits = pd.read_csv(io.StringIO(out), sep="\t")
    assert code == 0 and len(hits) > 10 and (hits.score >= 2).all()
    assert (hits.relative_score < 0.8).any()


def test_train_predict_and_logo(tmp_path):
    stem, run_dir = tmp_path / "tiny", tmp_path / "run"
    with one_torch_thread():
        code, out, err = run("motifs", "train", "--train", CTCF_TSV, "--valid-fraction", "0.25",
                             "--init-motifs", JASPAR, "--init-names", "CTCF", "--filters", "4",
                             "--width", "15", "--hidden", "0", "--epochs", "1",
                             "-o", stem, "--run-dir", run_dir, "-q")
    assert code == 0, err
    assert out.startswith("best epoch 1 of 1") and "AUROC" in out
    card = json.loads(stem.with_suffix(".json").read_text())
    assert card["config"]["motif_cnn"]["n_filters"] == 4
    assert card["metadata"]["init_filters"] == ["MA0139.2 CTCF", "MA1929.2 CTCF", "MA1930.2 CTCF"]
    assert card["metadata"]["n_train"] == 90 and card["metadata"]["n_valid"] == 30

    scores = tmp_path / "scores.tsv"
    code, _, err = run("motifs", "predict", "-m", stem, "-i", CTCF_FASTA, "-o", scores)
    assert code == 0, err
    table = pd.read_csv(scores, sep="\t")
    assert list(table.columns) == ["id", "score"] and len(table) == 120
    assert table.score.between(0, 1).all()

    png = tmp_path / "filters.png"
    code, out, err = run("motifs", "logo", "-m", stem, "-o", png)
    assert code == 0 and out == "" and png.read_bytes()[:4] == b"\x89PNG"
    code, _, err = run("motifs", "logo", "--motifs", JASPAR, "--names", "CTCF", "-o", png)
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_train_motifs_is_also_a_train_task():
    code, out, _ = run("train", "motifs", "--help")
    assert code == 0 and "--init-motifs" in out


def test_shipped_ctcf_model_separates_the_sample():
    code, out, err = run("motifs", "predict", "-m", "ctcf", "-i", CTCF_FASTA)
    assert code == 0, err
    scores = pd.read_csv(io.StringIO(out), sep="\t")
    labels = pd.read_csv(CTCF_TSV, sep="\t").set_index("id").label
    assert roc_auc_score(labels[scores.id], scores.score) > 0.9


@pytest.mark.parametrize("name", ["empty.fa", "garbage.txt", "binary.bin", "truncated.fa.gz",
                                  "protein.fa", "duplicate_ids.fa"])
def test_bad_fasta_gives_one_line_and_no_output(tmp_path, name):
    output = tmp_path / "hits.tsv"
    code, out, err = run("motifs", "scan", "-i", BAD / name, "--motifs", JASPAR, "-o", output)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"genoseq: error: {BAD / name}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, start", [
    (["scan", "-i", CTCF_FASTA, "--motifs", CTCF_FASTA], f"{CTCF_FASTA}: malformed JASPAR"),
    (["scan", "-i", CTCF_FASTA, "--motifs", JASPAR, "--names", "NOPE"], "--names: no motif"),
    (["scan", "-i", CTCF_FASTA, "--motifs", JASPAR, "--min-relative", "2"], "--min-relative"),
    (["scan", "-i", CTCF_FASTA, "--motifs", JASPAR, "--background", "1,2"], "--background"),
    (["train", "--train", CTCF_FASTA, "-o", "x", "--run-dir", "x"], f"{CTCF_FASTA}:1: missing"),
    (["train", "-o", "x", "--run-dir", "x"], "--train: give either"),
    (["predict", "-m", "no/such/model", "-i", CTCF_FASTA], "no/such/model: no such motif model"),
    (["logo", "-m", "ctcf", "--filters", "99", "-o", "x.png"], "--filters: '99'"),
    (["logo", "-o", "x.png"], "-m: give either"),
])
def test_bad_values_give_one_line(tmp_path, monkeypatch, argv, start):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("motifs", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"genoseq: error: {start}"), err
    assert list(tmp_path.iterdir()) == []
