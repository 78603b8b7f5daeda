"""Shine-Dalgarno scan for Prodigal's rbs_motif / rbs_spacer attributes."""

import numpy as np

from genoseq.genes.adapt import rbs_log_odds
from genoseq.genes.rbs import RBS_CLASSES, find_rbs, rbs_class_names, rbs_classes
from genoseq.genes.starts import START_UPSTREAM, START_WINDOW


def test_full_consensus_with_usual_spacer():
    assert find_rbs("TTTTAGGAGGTTTTTTTT") == ("AGGAGG", "5-10bp")


def test_spacer_bins():
    assert find_rbs("GGAGTTTTTTTTTTTTTT") == ("GGAG", "13-15bp")
    assert find_rbs("AAGGAGTTT") == ("AGGAG", "3-4bp")
    assert find_rbs("GAGAAAAAAAAAAA") == ("GAG", "11-12bp")


def test_motif_too_close_to_the_start_only_counts_in_part():
    # The whole AGGAGG touches the start codon (spacer 0); only its first AGG is 3 bp away.
    assert find_rbs("AGGAGG") == ("AGG", "3-4bp")


def test_nothing_found():
    assert find_rbs("TTTTTTTTTTTTTTTTTTTT") == ("None", "None")
    assert find_rbs("GGATTTTTTTTTTTTTTTTTTT") == ("None", "None")  # 19 bp away: too far


def windows_like_genes(rng, n):
    """Random start windows rich in A and G, so that many hold a piece of AGGAGG."""
    return rng.choice(4, size=(n, START_WINDOW), p=[0.35, 0.1, 0.45, 0.1]).astype(np.uint8)


def test_classes_are_what_find_rbs_reports():
    rng = np.random.default_rng(0)
    windows = windows_like_genes(rng, 3000)
    windows[::7, START_UPSTREAM - 10] = 4  # unknown bases break motifs as in the scan
    names = rbs_class_names()
    classes = rbs_classes(windows, START_UPSTREAM)
    assert len(names) == RBS_CLASSES and len(set(classes.tolist())) > 20
    for window, k in zip(windows, classes.tolist(), strict=True):
        upstream = "".join("ACGTN"[b] for b in window[START_UPSTREAM - 21:START_UPSTREAM])
        motif, spacer = find_rbs(upstream)
        assert names[k] == ("None" if motif == "None" else f"{motif}/{spacer}")


def test_log_odds_learn_a_planted_site():
    rng = np.random.default_rng(1)
    true, other = windows_like_genes(rng, 2000), windows_like_genes(rng, 6000)
    true[:, START_UPSTREAM - 13:START_UPSTREAM - 7] = [0, 2, 2, 0, 2, 2]  # AGGAGG, spacer 7
    odds = rbs_log_odds(true, other)
    best = rbs_class_names()[int(np.argmax(odds))]
    assert best == "AGGAGG/5-10bp" and odds.max() > 2.0
    assert odds[0] < -2.0  # no site at all: rare among these starts


def test_classes_in_blocks_equal_classes_at_once(monkeypatch):
    from genoseq.genes import rbs

    windows = windows_like_genes(np.random.default_rng(2), 1000)
    whole = rbs_classes(windows, START_UPSTREAM)
    monkeypatch.setattr(rbs, "RBS_ROWS", 64)
    np.testing.assert_array_equal(rbs.rbs_classes(windows, START_UPSTREAM), whole)
