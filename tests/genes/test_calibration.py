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

    low = {"f1": 0.90, "exact_start": 0.80}
    high = {"f1": 0.92, "exact_start": 0.80}
    assert best_of([("a", low), ("b", high), ("c", dict(high))]) == ("b", high)
