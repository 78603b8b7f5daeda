"""`train_gene_finder` end to end on a tiny genome folder: networks, folds, calibration, resume."""

import json
import os

import pytest
from conftest import write_ecoli_pieces

from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.genes.networks import load_gene_models
from genoseq.genes.train import (
    FOLD_LOCK,
    _fold_lock,
    _lock_holder,
    _wait_for_fold,
    calibration_folds_of,
    train_gene_finder,
)
from genoseq.nn.train import TrainConfig

PIECE = 40_000


@pytest.fixture(scope="module")
def genome_folder(tmp_path_factory):
    """Five 'genomes': consecutive 40 kb pieces of the bundled E. coli slice with their CDS."""
    return write_ecoli_pieces(tmp_path_factory.mktemp("genomes"), "g", 5, PIECE)


def test_folds_are_dealt_by_gc_and_cover_every_genome():
    class Entry:
        def __init__(self, name, gc):
            self.name, self.gc_percent = name, gc

    entries = [Entry(n, gc) for n, gc in (("a", 60), ("b", 30), ("c", 45), ("d", None), ("e", 70))]
    folds = calibration_folds_of(entries, 2)
    assert folds == [["b", "d", "e"], ["c", "a"]]
    assert sorted(sum(folds, [])) == sorted(e.name for e in entries)


def test_training_with_out_of_fold_calibration_writes_a_usable_model(genome_folder, tmp_path,
                                                                     capsys):
    tiny = TrainConfig(steps_per_epoch=2, max_epochs=1, patience=1, learning_rate=3e-3, seed=0)
    # The output folder does not exist yet: training makes it up front.
    run_dir, stem = tmp_path / "run", tmp_path / "out" / "genes"
    options = dict(holdout=("g4",), coding_config=tiny, start_config=tiny, window=600,
                   calibration_folds=2, fold_epochs=1,
                   compute=ComputeOptions(device="cpu", batch_size=4), progress=False)
    metadata = train_gene_finder(genome_folder, stem, run_dir, **options)
    calibration = metadata["calibration"]
    assert calibration["method"] == "out of fold"
    scored = [fold["scored_genomes"] for fold in calibration["fold_networks"]]
    assert sorted(sum(scored, [])) == ["g0", "g1", "g2", "g3"]  # the held-out g4 never
    for k in range(2):
        assert (run_dir / f"fold{k}" / "coding" / "checkpoint.pt").exists()
        assert (run_dir / f"fold{k}" / "start" / "checkpoint.pt").exists()
    assert metadata["decoder_validation"]["n_ref"] > 0
    models, params, adapted, saved = load_gene_models(stem)
    assert saved["calibration"]["fold_epochs"] == 1
    assert adapted is not None and adapted.self_training_rounds == 2
    # A second run resumes every stage from the checkpoints and gives the same weights.
    again = train_gene_finder(genome_folder, tmp_path / "again", run_dir, **options)
    assert json.dumps(again["decoder_validation"]) == json.dumps(metadata["decoder_validation"])
    # Refitting the decoder on the networks of that model (a new run folder: the fold
    # networks train again) keeps its networks and their training record.
    refit = train_gene_finder(genome_folder, tmp_path / "refit", tmp_path / "run2",
                              networks_from=stem, **options)
    assert refit["networks_from"] == "genes"
    assert refit["coding_history"] == saved["coding_history"]
    refit_models = load_gene_models(tmp_path / "refit")[0]
    for mine, theirs in zip(refit_models.coding.state_dict().values(),
                            models.coding.state_dict().values(), strict=True):
        assert (mine == theirs).all()
    assert not (tmp_path / "run2" / "coding").exists()
    # Networks trained otherwise are refused, naming the model and what differs.
    code = main(["train", "genes", "--genomes", str(genome_folder), "-o", str(tmp_path / "x"),
                 "--run-dir", str(tmp_path / "run3"), "--holdout", "g4", "--seed", "1",
                 "--networks", str(stem), "-q"])
    assert code == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("genoseq: error: ") and "genes.json" in message
    assert "seed 0, not 1" in message and len(message.splitlines()) == 1


@pytest.mark.parametrize("folds", ["1", "-2", "two"])
def test_calibration_folds_must_be_zero_or_at_least_two(folds, tmp_path, capsys):
    code = main(["train", "genes", "--genomes", str(tmp_path), "-o", str(tmp_path / "g"),
                 "--run-dir", str(tmp_path / "run"), "--calibration-folds", folds])
    assert code == 2
    assert "--calibration-folds" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_one_fold_is_refused_by_the_api(tmp_path):
    with pytest.raises(ValueError, match="calibration_folds"):
        train_gene_finder(tmp_path, tmp_path / "g", tmp_path / "run", calibration_folds=1)


def test_calibration_on_separate_genomes(genome_folder, tmp_path):
    """The decoder weights can be fitted on genomes of another folder, scored whole."""
    tiny = TrainConfig(steps_per_epoch=2, max_epochs=1, patience=1, learning_rate=3e-3, seed=0)
    others = tmp_path / "others"
    others.mkdir()
    rows = (genome_folder / "genomes.tsv").read_text().splitlines()
    # g3 moves to the calibration folder: it is no longer a training genome.
    kept = [rows[0]] + [row for row in rows[1:] if not row.startswith("g3\t")]
    train_folder = tmp_path / "train"
    train_folder.mkdir()
    for name in ("g0", "g1", "g2", "g4"):
        for suffix in (".fna", ".gff3"):
            (train_folder / f"{name}{suffix}").write_text(
                (genome_folder / f"{name}{suffix}").read_text())
    (train_folder / "genomes.tsv").write_text("\n".join(kept) + "\n")
    for suffix in (".fna", ".gff3"):
        (others / f"g3{suffix}").write_text((genome_folder / f"g3{suffix}").read_text())
    (others / "genomes.tsv").write_text(
        "\n".join([rows[0]] + [row for row in rows[1:] if row.startswith("g3\t")]) + "\n")
    options = dict(holdout=("g4",), coding_config=tiny, start_config=tiny, window=600,
                   compute=ComputeOptions(device="cpu", batch_size=4), progress=False)
    metadata = train_gene_finder(train_folder, tmp_path / "m", tmp_path / "run",
                                 calibration_genomes=[others], **options)
    assert metadata["calibration"] == {"method": "separate genomes", "genomes": ["g3"],
                                       "scored_fraction": 1.0}
    assert metadata["decoder_validation"]["n_ref"] > 0
    assert not (tmp_path / "run" / "fold0").exists()
    with pytest.raises(ValueError, match="calibration genome"):
        train_gene_finder(genome_folder, tmp_path / "m2", tmp_path / "run",
                          calibration_genomes=[others], **options)
    # Networks taken from that model and weights refitted on the other genomes: nothing is
    # trained, and the summary is written into a run folder that did not exist.
    refit = train_gene_finder(train_folder, tmp_path / "m3", tmp_path / "new" / "run",
                              calibration_genomes=[others], networks_from=tmp_path / "m",
                              **options)
    assert refit["networks_from"] == "m"
    assert (tmp_path / "new" / "run" / "summary.json").exists()


def test_one_fold_trained_apart_is_resumed_by_the_full_run(genome_folder, tmp_path, capsys):
    """--only-fold trains one fold's networks and nothing else; the full run resumes them."""
    run_dir = tmp_path / "run"
    args = ["train", "genes", "--genomes", str(genome_folder), "-o", str(tmp_path / "m"),
            "--run-dir", str(run_dir), "--holdout", "g4", "--epochs", "1", "--steps", "2",
            "--fold-epochs", "1", "--window", "600", "--batch-size", "4", "--device", "cpu",
            "-q"]
    assert main([*args, "--only-fold", "1"]) == 0
    assert "trained fold 1's networks" in capsys.readouterr().out
    checkpoint = run_dir / "fold1" / "coding" / "checkpoint.pt"
    assert checkpoint.exists() and (run_dir / "fold1" / "start" / "checkpoint.pt").exists()
    assert not (run_dir / "fold1" / FOLD_LOCK).exists()  # released when done
    assert not (run_dir / "coding").exists() and not (run_dir / "fold0").exists()
    assert not (tmp_path / "m.pt").exists()
    before = checkpoint.stat().st_mtime_ns
    assert main(args) == 0
    assert (tmp_path / "m.pt").exists() and (run_dir / "fold0" / "coding").exists()
    assert checkpoint.stat().st_mtime_ns == before  # resumed, not trained again
    code = main([*args, "--only-fold", "2"])
    assert code == 2 and "--only-fold 2: there are 2 calibration folds" in capsys.readouterr().err


def test_a_fold_held_by_a_live_process_is_not_trained_twice(tmp_path):
    folder = tmp_path / "fold0"
    folder.mkdir()
    (folder / FOLD_LOCK).write_text(f"{os.getpid()}\n")
    assert _lock_holder(folder / FOLD_LOCK) == os.getpid()
    with pytest.raises(ValueError, match="being trained by process"):
        with _fold_lock(folder):
            pass
    # A lock left by a process that has ended does not hold anything up.
    (folder / FOLD_LOCK).write_text("999999999\n")
    assert _lock_holder(folder / FOLD_LOCK) is None
    _wait_for_fold(folder, progress=False, poll_seconds=0.01)
    with _fold_lock(folder):
        assert (folder / FOLD_LOCK).read_text().strip() == str(os.getpid())
    assert not (folder / FOLD_LOCK).exists()
