"""Self-training in rounds: later rounds learn from the self-trained pass's own genes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import DATA

from genoseq.genes.finder import GeneFinder
from genoseq.io import read_fasta

SLICE = 200_000


@pytest.fixture(scope="module")
def records():
    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq
    return [("slice", seq[:SLICE])]


def finder_with(rounds: int) -> GeneFinder:
    finder = GeneFinder()
    finder.adapted_params = replace(finder.adapted_params, self_training_rounds=rounds)
    finder._fingerprint = None
    return finder


def test_a_second_round_relearns_from_the_self_trained_genes(records):
    one, two = finder_with(1), finder_with(2)
    first, second = one.train(records), two.train(records)
    # Round two learns from other genes than round one: its statistics differ.
    assert not np.array_equal(first.start_profile, second.start_profile)
    assert first.starts != second.starts or first.genes != second.genes \
        or not np.array_equal(first.hexamer_log_ratios, second.hexamer_log_ratios)


def test_statistics_learned_in_rounds_give_the_calls_of_self_training(records):
    """A training file made with two rounds reproduces the two-round prediction exactly."""
    finder = finder_with(2)
    own = finder.predict_genome(records)[0]
    statistics = finder.train(records)
    reuser = finder_with(2)
    reuser.use_training(statistics)
    reused = reuser.predict_genome(records)[0]
    assert [(g.start, g.end, g.strand) for g in own.genes] == \
        [(g.start, g.end, g.strand) for g in reused.genes]
    assert [g.score for g in own.genes] == [g.score for g in reused.genes]
    # Every candidate scored alike, except those whose start logit only the self-training
    # run computed: its first round decoded with round-one statistics, under which a few
    # more starts could have won and were scored; the training file holds only the last
    # round's. Those candidates are no contenders in either run.
    # Alike up to float32 rounding of the start logits: a start's logit comes from a matrix
    # product over the windows computed together, and the two runs compute different sets
    # of starts at a time (on some CPUs the product's blocking, so its rounding, changes).
    both = own.scored.start_known == reused.scored.start_known
    np.testing.assert_allclose(own.total[both], reused.total[both], rtol=0, atol=1e-5)
    assert (~both).sum() <= 0.001 * len(both)
    assert (own.scored.start_known | ~reused.scored.start_known).all()
