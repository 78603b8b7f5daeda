"""GeneFinder's training API (what ``genoseq predict -t`` runs): refusals and exact file round trip."""

from __future__ import annotations

import numpy as np
import pytest

from genoseq.genes.adapt import SelfTraining, read_training
from genoseq.genes.finder import GeneFinder
from genoseq.genes.starts import START_WINDOW
from genoseq.io import InvalidFileError


def statistics(seed: int = 0, **fields) -> SelfTraining:
    rng = np.random.default_rng(seed)
    return SelfTraining(hexamer_log_ratios=rng.normal(size=4096),
                        start_profile=rng.normal(size=(START_WINDOW, 5)), **fields)


def test_training_file_reads_back_the_very_values(tmp_path):
    written = statistics(translation_table=4, genome_length=123, records=2, genes=7, starts=5,
                         model="sha256:x", model_name="weights w")
    written.write(tmp_path / "a.trn")
    read = read_training(tmp_path / "a.trn")
    assert read.hexamer_log_ratios.tobytes() == written.hexamer_log_ratios.tobytes()
    assert read.start_profile.tobytes() == written.start_profile.tobytes()
    for name in ("translation_table", "genome_length", "records", "genes", "starts",
                 "genoseq_version", "model", "model_name"):
        assert getattr(read, name) == getattr(written, name)
    assert read.source == str(tmp_path / "a.trn")
    assert read.rbs_log_odds is None  # statistics without RBS classes stay without


def test_rbs_log_odds_read_back_and_checked(tmp_path):
    from genoseq.genes.rbs import RBS_CLASSES
    from genoseq.io.training import RBS_CLASSES as FILE_CLASSES

    assert FILE_CLASSES == RBS_CLASSES
    written = statistics(rbs_log_odds=np.random.default_rng(1).normal(size=RBS_CLASSES))
    written.write(tmp_path / "r.trn")
    assert read_training(tmp_path / "r.trn").rbs_log_odds.tobytes() == \
        written.rbs_log_odds.tobytes()
    statistics(rbs_log_odds=np.zeros(5)).write(tmp_path / "bad.trn")
    with pytest.raises(InvalidFileError, match=r"bad\.trn: rbs_log_odds has shape"):
        read_training(tmp_path / "bad.trn")


def test_profile_of_another_width_is_refused(tmp_path):
    SelfTraining(np.zeros(4096), np.zeros((10, 5))).write(tmp_path / "w.trn")
    with pytest.raises(InvalidFileError, match=r"w\.trn: start_profile has 10 positions"):
        read_training(tmp_path / "w.trn")


def test_meta_and_models_without_a_self_trained_pass_refuse_training(tiny_gene_model):
    with pytest.raises(ValueError, match="-p meta"):
        GeneFinder(tiny_gene_model, procedure="meta", training=statistics())
    # The tiny model has no self-trained pass: nothing to use statistics with, or train for.
    with pytest.raises(ValueError, match="no self-trained pass"):
        GeneFinder(tiny_gene_model, training=statistics())
    with pytest.raises(ValueError, match="no self-trained pass"):
        GeneFinder(tiny_gene_model).train([("a", "ACGT" * 30_000)])


def test_statistics_of_another_model_or_table_are_refused():
    finder = GeneFinder()
    with pytest.raises(ValueError, match="not the one in use"):
        finder.use_training(statistics(model="sha256:other"))
    with pytest.raises(ValueError, match="translation_table 4"):
        finder.use_training(statistics(model=finder.fingerprint, translation_table=4))
    finder.use_training(statistics(model=finder.fingerprint))
    assert finder.training is not None
    with pytest.raises(ValueError, match="under the 100,000 bp"):
        finder.train([("a", "ACGT" * 1000)])
