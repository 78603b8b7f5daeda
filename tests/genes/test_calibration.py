"""Decoder calibration: coordinate search finds weights that recover planted genes."""

import numpy as np
from conftest import DATA

from genoseq.genes.finder import GeneFinder
from genoseq.genes.orfs import find_orfs
from genoseq.genes.scoring import DecoderParams, OverlapRules, ScoredCandidates
from genoseq.genes.train import coordinate_search, evaluate_params
from genoseq.io import read_fasta


def test_coordinate_search_recovers_planted_genes(tiny_gene_model):
    rng = np.random.default_rng(0)
    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq[:60000]
    candidates = find_orfs(seq, 11, min_len=150, closed=True)
    longest = np.unique(candidates.orf_id, return_index=True)[1]
    genes = rng.choice(longest, size=len(longest) // 3, replace=False)
    # Planted genes carry coding evidence proportional to their length; the rest noise.
    length = candidates.end - candidates.start
    coding = rng.normal(0, 20, len(candidates))
    coding[genes] += 2.0 * length[genes]
    scored = ScoredCandidates(candidates, coding, start=np.zeros(len(candidates)),
                              start_known=np.ones(len(candidates), bool))
    reference = {(int(candidates.strand[k]), int(candidates.start[k]), int(candidates.end[k]))
                 for k in genes}
    finder = GeneFinder(tiny_gene_model)
    records = [(scored, reference)]
    poor = DecoderParams(coding_weight=0.001, start_weight=1.0, gene_bias=5.0,
                         overlap=OverlapRules())
    before = evaluate_params(finder, records, poor)
    params, after = coordinate_search(finder, records, poor,
                                      ("coding_weight", "gene_bias", "length_bias"))
    # Planted genes overlap one another beyond what the decoder allows, so F1 cannot reach 1.
    assert after["f1"] > before["f1"] + 0.1
    assert after["precision"] > before["precision"]
    assert after == evaluate_params(finder, records, params)


def test_best_of_keeps_highest_objective_first_on_ties():
    from genoseq.genes.train import best_of

    low = {"f1": 0.90, "exact_start": 0.80, "sensitivity": 0.9}
    high = {"f1": 0.92, "exact_start": 0.80, "sensitivity": 0.9}
    assert best_of([("a", low), ("b", high), ("c", dict(high))]) == ("b", high)


def test_orf_prior_is_the_same_for_every_start_of_an_orf():
    from genoseq.genes.scoring import orf_lengths, prior_scores

    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq[:20000]
    candidates = find_orfs(seq, 11, min_len=90, closed=False)
    length = candidates.end - candidates.start
    orf = orf_lengths(candidates)
    for orf_id in np.unique(candidates.orf_id)[:200]:
        members = candidates.orf_id == orf_id
        assert (orf[members] == length[members].max()).all()
    scored = ScoredCandidates(candidates, np.zeros(len(candidates)),
                              start=np.zeros(len(candidates)),
                              start_known=np.ones(len(candidates), bool))
    gene_only = prior_scores(scored, DecoderParams(gene_bias=-5.0, length_bias=10.0))
    with_orf = prior_scores(scored, DecoderParams(gene_bias=-5.0, length_bias=10.0,
                                                  orf_length_bias=4.0))
    np.testing.assert_allclose(with_orf - gene_only, 4.0 * orf / 1000.0)
    # Within one ORF only the gene-length term tells the starts apart.
    np.testing.assert_allclose(
        prior_scores(scored, DecoderParams(orf_length_bias=7.0)),
        DecoderParams().gene_bias + 7.0 * orf / 1000.0)


def test_short_orf_prior_lifts_only_short_orfs_and_all_their_starts_alike():
    from genoseq.genes.scoring import orf_lengths, prior_scores

    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq[:20000]
    candidates = find_orfs(seq, 11, min_len=90, closed=False)
    scored = ScoredCandidates(candidates, np.zeros(len(candidates)),
                              start=np.zeros(len(candidates)),
                              start_known=np.ones(len(candidates), bool))
    orf = orf_lengths(candidates)
    base = prior_scores(scored, DecoderParams(gene_bias=-5.0, length_bias=10.0))
    short = prior_scores(scored, DecoderParams(gene_bias=-5.0, length_bias=10.0,
                                               short_orf_bias=3.0, short_orf_length=300.0))
    lift = short - base
    assert (orf < 300).any() and (orf >= 300).any()
    np.testing.assert_allclose(lift[orf >= 300], 0.0)
    np.testing.assert_allclose(lift[orf < 300], 3.0 * (1 - orf[orf < 300] / 300.0))
    # The same lift for every start of an ORF: the choice among them is unchanged.
    for orf_id in np.unique(candidates.orf_id)[:200]:
        members = candidates.orf_id == orf_id
        assert np.ptp(lift[members]) < 1e-12


def test_objective_counts_exact_starts_per_reference_gene():
    from genoseq.genes.train import objective

    # 100 reference genes; dropping the 10 found with a wrong start raises the exact-start
    # rate among matched genes (80/90 -> 80/80) but must not raise the objective.
    def figures(n_pred, matched, exact):
        sensitivity, precision = matched / 100, matched / n_pred
        return {"f1": 2 * sensitivity * precision / (sensitivity + precision),
                "sensitivity": sensitivity, "exact_start": exact / matched}

    assert objective(figures(90, 90, 80)) > objective(figures(80, 80, 80))
    # A right start is worth something: the same calls with more exact starts win.
    assert objective(figures(90, 90, 85)) > objective(figures(90, 90, 80))
