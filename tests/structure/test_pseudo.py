"""Pseudo-labelling: teacher tables, id lists, mixed batches, and a student that learns from them."""

import gzip
import io

import numpy as np
import pytest

from genoseq.cli import main
from genoseq.io.errors import InvalidFileError
from genoseq.structure.data import read_ss_table
from genoseq.structure.predict import load_ss_model, predict_secondary_structure
from genoseq.structure.pseudo import MixedBatchSampler, pseudo_label_table, read_id_list
from genoseq.structure.train import score_chains


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


PROTEINS = {"p1": "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ",
            "p2": "MSHHWGYGKHNGPEHWHKDFPIAKGERQSPVDIDTHTAKYDPSLKPLSVSYDQATSLRILNNG*",
            "short": "MKVL",
            "p3": "MADEEKLPPGWEKRMSRSSGRVYYFNHITNASQWERPSGNSSSGGKNGQGEPARVRCSHLLVKH"}


def write_fasta(path, proteins=PROTEINS):
    path.write_text("".join(f">{name} test protein\n{seq}\n" for name, seq in proteins.items()))
    return path


def test_id_list_reads_first_fields_and_skips_a_header(tmp_path):
    path = tmp_path / "ids.tsv"
    path.write_text("id\tsplit\n# a comment\na-1\ttrain\n\nb-2\tvalid\nc-3\n")
    assert read_id_list(path) == {"a-1", "b-2", "c-3"}
    (tmp_path / "empty.txt").write_text("id\n\n")
    with pytest.raises(InvalidFileError, match="no chain ids"):
        read_id_list(tmp_path / "empty.txt")


def test_pseudo_labels_are_the_teachers_calls(tiny_ss_model, tmp_path):
    source = write_fasta(tmp_path / "proteins.faa")
    counts = pseudo_label_table(source, tmp_path / "pseudo.tsv.gz", model=tiny_ss_model,
                                min_length=30)
    assert counts["proteins"] == 3 and counts["skipped_short"] == 1
    chains = read_ss_table(tmp_path / "pseudo.tsv.gz")
    assert [c.id for c in chains] == ["p1", "p2", "p3"]
    assert chains[1].sequence == PROTEINS["p2"].rstrip("*")  # the stop is not a residue
    calls = predict_secondary_structure({c.id: c.sequence for c in chains},
                                        model=tiny_ss_model)
    with gzip.open(tmp_path / "pseudo.tsv.gz", "rt") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    assert [row[2] for row in rows] == list(calls["q8"])
    assert [row[3] for row in rows] == list(calls["q3"])
    assert all(set(row[4]) == {"1"} for row in rows)
    assert counts["kept_residues"] == counts["residues"] == sum(len(c) for c in chains)


def test_min_confidence_masks_unsure_residues(tiny_ss_model, tmp_path):
    source = write_fasta(tmp_path / "proteins.faa")
    # The untrained model is unsure everywhere: below 0.9 on every residue.
    counts = pseudo_label_table(source, tmp_path / "pseudo.tsv", model=tiny_ss_model,
                                min_confidence=0.9)
    assert counts["kept_residues"] == 0
    assert all((c.q3 == -1).all() for c in read_ss_table(tmp_path / "pseudo.tsv"))


def test_pseudolabel_command_and_bad_input(tiny_ss_model, tmp_path):
    source = write_fasta(tmp_path / "proteins.faa")
    out = tmp_path / "pseudo.tsv.gz"
    code, stdout, err = run("train", "ss-pseudolabel", "-i", source, "-o", out,
                            "--model", tiny_ss_model, "--threads", 1, "-q")
    assert code == 0, err
    assert stdout.startswith("labelled 3 proteins") and len(read_ss_table(out)) == 3
    bad = tmp_path / "bad.faa"
    bad.write_text("not a fasta file\n")
    code, _, err = run("train", "ss-pseudolabel", "-i", bad, "-o", tmp_path / "none.tsv",
                       "--model", tiny_ss_model, "--threads", 1, "-q")
    assert code == 2 and "bad.faa" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.tsv").exists()
    code, _, err = run("train", "ss-pseudolabel", "-i", source, "-o", tmp_path / "none.tsv",
                       "--min-confidence", 1.5)
    assert code == 2 and "--min-confidence" in err


def test_mixed_batches_follow_the_fraction():
    def labelled(rng):
        return "labelled"

    def pseudo(rng):
        return "pseudo"

    rng = np.random.default_rng(0)
    draws = [MixedBatchSampler(labelled, pseudo, 0.25)(rng) for _ in range(4000)]
    assert draws.count("pseudo") / 4000 == pytest.approx(0.25, abs=0.03)
    assert {MixedBatchSampler(labelled, pseudo, 0.0)(rng) for _ in range(100)} == {"labelled"}
    assert {MixedBatchSampler(labelled, pseudo, 1.0)(rng) for _ in range(100)} == {"pseudo"}
    with pytest.raises(ValueError):
        MixedBatchSampler(labelled, pseudo, 1.5)


def _uninformative_copy(source, target):
    """The table with every label replaced by coil: nothing to learn from it."""
    with gzip.open(source, "rt") as inp, gzip.open(target, "wt") as out:
        out.write(next(inp))
        for line in inp:
            name, seq, q8, q3, mask = line.rstrip("\n").split("\t")
            out.write(f"{name}\t{seq}\t{'C' * len(q8)}\t{'C' * len(q3)}\t{mask}\n")


@pytest.mark.parametrize("fraction, learns", [(1.0, True), (0.0, False)])
def test_student_learns_what_the_pseudo_labels_carry(planted_tables, tmp_path, fraction,
                                                     learns):
    """Planted labels only in the pseudo-labelled table: learnt exactly when its batches are drawn."""
    train, valid = planted_tables
    _uninformative_copy(train, tmp_path / "coil.tsv.gz")
    (tmp_path / "exclude.txt").write_text("c0\nc1\nc2\n")
    stem = tmp_path / "student"
    code, _, err = run("train", "ss", "--train", tmp_path / "coil.tsv.gz", "--valid", valid,
                       "-o", stem, "--run-dir", tmp_path / "run", "--pseudo", train,
                       "--pseudo-fraction", fraction, "--exclude", tmp_path / "exclude.txt",
                       "--epochs", 3, "--steps", 40, "--max-residues", 1024, "--crop", 64,
                       "--conv-channels", 16, "--conv-kernel", 5, "--conv-layers", 1,
                       "--hidden", 16, "--lstm-layers", 1, "--dropout", 0,
                       "--learning-rate", 0.01, "--seed", 1, "--threads", 1, "-q")
    assert code == 0, err
    model, metadata = load_ss_model(stem)
    data = metadata["data"]
    assert data["pseudo_chains"] == 300 and data["pseudo_fraction"] == fraction
    assert data["excluded_train_chains"] == 3 and data["excluded_valid_chains"] == 3
    assert data["valid_chains"] == 37
    scores = score_chains(model, read_ss_table(valid))
    assert (scores["q3"] > 0.95) == learns
    if not learns:  # all coil: the share of coil residues (about 0.8), no more
        assert scores["q3"] < 0.85
