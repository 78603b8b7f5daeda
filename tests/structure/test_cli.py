"""``genoseq ss`` and ``genoseq train ss``: files, probabilities, errors, the .faa of ``genoseq predict``."""

import gzip
import io
from pathlib import Path

import pandas as pd
import pytest

from genoseq.cli import main
from genoseq.io import read_fasta
from genoseq.structure.data import read_ss_table
from genoseq.structure.predict import load_ss_model
from genoseq.structure.train import score_chains

DATA = Path(__file__).resolve().parents[2] / "data"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_ss_writes_table_and_probabilities(tiny_ss_model, tmp_path):
    output, probs = tmp_path / "ss.tsv", tmp_path / "probs.tsv"
    code, _, err = run("ss", "-i", DATA / "ecoli_proteins.faa", "-o", output, "--probs", probs,
                       "--model", tiny_ss_model, "--threads", 1)
    assert code == 0, err
    table = pd.read_csv(output, sep="\t", keep_default_na=False)
    assert list(table.columns) == ["id", "sequence", "q3", "q8"] and len(table) == 12
    assert (table["q3"].str.len() == table["sequence"].str.len()).all()
    residues = pd.read_csv(probs, sep="\t", keep_default_na=False)
    assert list(residues.columns) == ["id", "position", "residue", "q3", "q8", "q3_H", "q3_E",
                                      "q3_C", "q8_H", "q8_G", "q8_I", "q8_E", "q8_B", "q8_T",
                                      "q8_S", "q8_C"]
    assert len(residues) == table["sequence"].str.len().sum()
    first = residues[residues["id"] == table.at[0, "id"]]
    assert "".join(first["residue"]) == table.at[0, "sequence"]
    assert "".join(first["q8"]) == table.at[0, "q8"]
    assert (residues[["q3_H", "q3_E", "q3_C"]].sum(axis=1) - 1).abs().max() < 0.01


def test_ss_to_stdout_is_deterministic(tiny_ss_model, tmp_path):
    path = tmp_path / "odd.faa"
    path.write_text(">odd\nMKXBZUO*\n>short\nM\n")
    first = run("ss", "-i", path, "--model", tiny_ss_model)
    assert first[0] == 0 and first == run("ss", "-i", path, "--model", tiny_ss_model)
    lines = first[1].splitlines()
    assert lines[0] == "id\tsequence\tq3\tq8" and lines[1].startswith("odd\tMKXBZUO*\t")


def test_dna_input_is_one_line_exit_2_and_no_output(tiny_ss_model, tmp_path):
    output = tmp_path / "ss.tsv"
    code, out, err = run("ss", "-i", DATA / "ecoli_k12_500kb.fna.gz", "-o", output,
                         "--model", tiny_ss_model)
    assert code == 2 and out == ""
    assert err.startswith("genoseq: error: ") and err.count("\n") == 1 and "protein" in err
    assert not output.exists()


@pytest.mark.parametrize("flag", ["--batch-size", "--threads"])
def test_bad_numbers_are_usage_errors(tiny_ss_model, flag):
    code, _, err = run("ss", "-i", DATA / "ecoli_proteins.faa", flag, 0, "--model", tiny_ss_model)
    assert code == 2
    assert err.splitlines()[-1] == f"genoseq: error: argument {flag}: 0: expected an integer >= 1"


def test_ss_reads_the_faa_of_genoseq_predict(tiny_gene_model, tiny_ss_model, tmp_path):
    with gzip.open(DATA / "ecoli_k12_500kb.fna.gz", "rt") as handle:
        genome = "".join(handle.read().split("\n")[1:])
    piece = tmp_path / "piece.fna"
    piece.write_text(">piece\n" + genome[:30000] + "\n")
    proteins, output = tmp_path / "genes.faa", tmp_path / "ss.tsv"
    code, _, err = run("predict", "-i", piece, "-o", tmp_path / "genes.gff", "-a", proteins,
                       "--model", tiny_gene_model, "-q", "--threads", 1)
    assert code == 0, err
    code, _, err = run("ss", "-i", proteins, "-o", output, "--model", tiny_ss_model, "-q")
    assert code == 0, err
    table = pd.read_csv(output, sep="\t", keep_default_na=False)
    records = list(read_fasta(proteins, alphabet="protein"))
    assert table["id"].tolist() == [r.id for r in records] and len(records) > 0
    assert table["sequence"].tolist() == [r.seq.decode() for r in records]
    assert table["sequence"].str.endswith("*").any()  # complete genes keep their stop
    assert (table["q8"].str.len() == table["sequence"].str.len()).all()


def test_train_ss_learns_a_planted_signal(planted_tables, tmp_path):
    train, valid = planted_tables
    stem = tmp_path / "new" / "planted"  # a folder that does not exist yet
    code, out, err = run("train", "ss", "--train", train, "--valid", valid, "-o", stem,
                         "--run-dir", tmp_path / "run", "--epochs", 3, "--steps", 40,
                         "--max-residues", 1024, "--crop", 64, "--conv-channels", 16,
                         "--conv-kernel", 5, "--conv-layers", 1, "--hidden", 16,
                         "--lstm-layers", 1, "--dropout", 0, "--learning-rate", 0.01,
                         "--seed", 1, "--threads", 1, "-q")
    assert code == 0, err
    assert out.startswith("validation (") and f"wrote {stem}.pt" in out
    model, metadata = load_ss_model(stem)
    assert [h["epoch"] for h in metadata["history"]] == [1, 2, 3]
    scores = score_chains(model, read_ss_table(valid))
    assert scores == pytest.approx(metadata["valid_scores"])
    assert scores["q8"] > 0.95 and scores["q3"] > 0.95


def test_ss_int8_precision_on_the_command_line(tiny_ss_model, tmp_path):
    outputs = {}
    for precision in ("fp32", "int8"):
        outputs[precision] = tmp_path / f"{precision}.tsv"
        code, _, err = run("ss", "-i", DATA / "ecoli_proteins.faa", "-o", outputs[precision],
                           "--model", tiny_ss_model, "--precision", precision, "--threads", 1)
        assert code == 0, err
    fp32, int8 = (pd.read_csv(outputs[p], sep="\t", keep_default_na=False) for p in outputs)
    assert list(fp32["id"]) == list(int8["id"])
    same = sum(a == b for x, y in zip(fp32["q3"], int8["q3"], strict=True)
               for a, b in zip(x, y, strict=True))
    assert same / fp32["sequence"].str.len().sum() > 0.95
    # The gene finder has no int8 arithmetic: argparse refuses it, exit code 2.
    code, _, err = run("predict", "-i", DATA / "ecoli_k12_500kb.fna.gz", "-o",
                       tmp_path / "g.gff", "--precision", "int8")
    assert code == 2 and "int8" in err and not (tmp_path / "g.gff").exists()
