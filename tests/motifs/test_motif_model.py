"""Motif CNN: data reading, PWM-initialised filters, a tiny training run on a planted
JASPAR motif (recovered, matched back to JASPAR, drawn as a logo), exact piecewise scoring."""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from motif_testdata import CTCF_FASTA, CTCF_TSV, JASPAR, one_torch_thread
from sklearn.metrics import roc_auc_score

from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.io import InvalidFileError
from genoseq.motifs import (
    best_matches,
    load_motif_model,
    motif_filters,
    read_labelled,
    read_motifs,
    save_motif_model,
    score_sequences,
    select_motifs,
    train_motif_cnn,
)
from genoseq.motifs import model as motif_model
from genoseq.motifs.model import LabelledSequences
from genoseq.nn.motif_cnn import MotifCNN, MotifCNNConfig
from genoseq.nn.train import TrainConfig

LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
CPU = ComputeOptions(device="cpu")


def planted(motif, n: int, seed: int, length: int = 60) -> LabelledSequences:
    """Random DNA; every other sequence holds one site drawn from ``motif``, on either strand."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    labels = (np.arange(n) % 2).astype(np.float32)
    probabilities = motif.probabilities()
    for row in np.flatnonzero(labels):
        site = np.array([rng.choice(4, p=column) for column in probabilities.T], dtype=np.uint8)
        if rng.random() < 0.5:
            site = 3 - site[::-1]
        at = rng.integers(0, length - motif.width + 1)
        index[row, at:at + motif.width] = site
    return LabelledSequences([f"s{i}" for i in range(n)], index, labels, np.full(n, length))


@pytest.fixture(scope="module")
def planted_model(tmp_path_factory):
    """A 4-filter CNN, random start, trained for 120 steps on a planted CTCF (MA0139.2) site."""
    ctcf = select_motifs(read_motifs(JASPAR), "MA0139.2")[0]
    train, valid = planted(ctcf, 2000, seed=0), planted(ctcf, 400, seed=1)
    config = MotifCNNConfig(n_filters=4, filter_width=15, hidden=0, dropout=0.0,
                            both_strands=True)
    schedule = TrainConfig(steps_per_epoch=30, max_epochs=4, patience=4, learning_rate=0.02,
                           seed=0)
    folder = tmp_path_factory.mktemp("planted")
    with one_torch_thread():
        result = train_motif_cnn(train, valid, config, schedule, folder / "run", compute=CPU)
    stem = folder / "planted"
    save_motif_model(result.model, stem, {"note": "planted MA0139.2"})
    return result.model, valid, stem


def test_training_recovers_the_planted_motif(planted_model):
    model, valid, _ = planted_model
    scores = score_sequences(model, valid.sequences(), compute=CPU)
    assert roc_auc_score(valid.labels, scores) > 0.95
    strongest = int(model.readout.weight[0].argmax())
    match = best_matches(model.filters.weight[strongest].detach().numpy(), read_motifs(JASPAR),
                         top=2)
    assert match.motif[0] == "MA0139.2"
    assert match.score[0] > match.score[1] + 0.1


def test_all_filters_are_matched_at_once_as_one_by_one(planted_model):
    model, _, _ = planted_model
    weights = model.filters.weight.detach().numpy()
    motifs = read_motifs(JASPAR)
    together = best_matches(weights, motifs, top=2)
    assert together["filter"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    for number in range(4):
        alone = best_matches(weights[number], motifs, top=2)
        pd.testing.assert_frame_equal(
            together[together["filter"] == number].drop(columns="filter").reset_index(drop=True),
            alone)


@pytest.mark.shared
def test_shipped_ctcf_model_learned_ctcf_filters(shared_data):
    model, card = load_motif_model("ctcf")
    jaspar = read_motifs(shared_data / "motifs/JASPAR2024_CORE_vertebrates_non-redundant_pfms_jaspar.txt")
    matches = best_matches(model.filters.weight.detach().numpy(), jaspar)
    assert len(jaspar) == 879
    assert (matches.name == "CTCF").sum() >= 3
    assert matches.sort_values("score").name.iloc[-1] == "CTCF"
    assert card["validation"]["valid_auroc"] > 0.96


def test_logo_of_the_learned_filter_with_its_best_jaspar_match(planted_model, tmp_path):
    model, _, stem = planted_model
    strongest = int(model.readout.weight[0].argmax())
    png = tmp_path / "filter.png"
    out, err = io.StringIO(), io.StringIO()
    code = main(["motifs", "logo", "-m", str(stem), "--filters", str(strongest),
                 "--match", str(JASPAR), "-o", str(png)], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    header, row = out.getvalue().splitlines()
    assert header.split("\t")[:3] == ["filter", "motif", "name"]
    assert row.split("\t")[:3] == [str(strongest), "MA0139.2", "CTCF"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_saved_model_round_trip(planted_model):
    model, valid, stem = planted_model
    loaded, metadata = load_motif_model(stem)
    assert metadata == {"note": "planted MA0139.2"}
    sequences = valid.sequences()[:50]
    np.testing.assert_array_equal(score_sequences(model, sequences), score_sequences(loaded,
                                                                                     sequences))


def test_long_sequences_are_scored_exactly_in_pieces(planted_model, monkeypatch):
    model, _, _ = planted_model
    rng = np.random.default_rng(5)
    sequences = [LETTERS[rng.integers(0, 4, size=n)] for n in (3000, 700, 15, 4)]
    whole = score_sequences(model, sequences, compute=ComputeOptions(batch_size=3))
    monkeypatch.setattr(motif_model, "MAX_PIECE", 50)
    pieces = score_sequences(model, sequences, compute=ComputeOptions(batch_size=7))
    np.testing.assert_allclose(pieces, whole, rtol=1e-6)


def test_pwm_filters_load_trimmed_and_centred():
    motifs = select_motifs(read_motifs(JASPAR), "CTCF")
    filters = motif_filters(motifs, width=19)
    assert filters.shape == (3, 4, 19)
    # MA0139.2 (15 wide) is centred; the 31- and 33-wide profiles keep 19 informative columns.
    np.testing.assert_allclose(filters[0, :, 2:17], motifs[0].log_odds(), rtol=1e-6)
    assert filters[0, :, :2].abs().sum() == 0
    information = motifs[2].information()
    kept = max(range(33 - 19 + 1), key=lambda s: information[s:s + 19].sum())
    np.testing.assert_allclose(filters[2], motifs[2].log_odds()[:, kept:kept + 19], rtol=1e-6)
    model = MotifCNN(MotifCNNConfig(n_filters=8, filter_width=19, both_strands=True))
    model.set_filters(filters)
    torch.testing.assert_close(model.filters.weight[:3], filters)


def test_labelled_sequences_from_tsv_and_fasta(tmp_path):
    table = read_labelled(CTCF_TSV)
    assert len(table) == 120 and table.index.shape == (120, 101) and table.labels.sum() == 60
    positives = tmp_path / "pos.fa"
    negatives = tmp_path / "neg.fa"
    records = CTCF_FASTA.read_text().split(">")[1:]
    positives.write_text("".join(">" + r for r in records[:3]))
    negatives.write_text(">short\nACGTN\n")
    both = read_labelled(positives=positives, negatives=negatives)
    assert both.labels.tolist() == [1, 1, 1, 0]
    assert both.index[3].tolist() == [0, 1, 2, 3] + [4] * 97
    assert both.lengths.tolist() == [101, 101, 101, 5]
    assert bytes(both.sequences()[3]) == b"ACGTN"


@pytest.mark.parametrize("text, message", [
    ("id\tsequence\nx\tACGT\n", "bad.tsv:1: missing column"),
    ("sequence\tlabel\nACGT\t1\nACGT\tyes\n", "bad.tsv:3: label 'yes'"),
    ("sequence\tlabel\nACGT\t1\nPEPTIDE\t0\n", "bad.tsv:3: sequence 'PEPTIDE'"),
    ("sequence\tlabel\n", "no rows"),
])
def test_bad_tables(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(InvalidFileError, match=message):
        read_labelled(path)
