"""The gene decoder finds the best compatible gene set (checked by exhaustive search)."""

import dataclasses
import hashlib
import itertools
import json

import numpy as np
import pytest

from genoseq.genes.decode import decode, decode_many, select_genes
from genoseq.genes.finder import model_fingerprint
from genoseq.genes.numpy_networks import load_numpy_gene_models, state_fingerprint_items
from genoseq.genes.orfs import find_orfs
from genoseq.genes.scoring import (
    DecoderParams,
    OverlapRules,
    ScoredCandidates,
    candidate_frame_class,
    coding_evidence,
    coding_scores,
    prior_scores,
    self_trained_score_many,
    total_scores,
)


def chain_value(order, start, end, strand, score, rules):
    """Total of a gene set taken in right-end order, or None if two neighbours clash."""
    total = 0.0
    for i, j in itertools.pairwise(order):
        if start[i] >= start[j]:
            return None
        overlap = end[i] - start[j]
        if overlap > 0:
            if overlap > rules.limit(strand[i], strand[j]):
                return None
            total -= rules.penalty
    return total + sum(score[k] for k in order)


def brute_force(start, end, strand, score, rules):
    n = len(start)
    best = 0.0
    for size in range(1, n + 1):
        for subset in itertools.combinations(range(n), size):
            order = sorted(subset, key=lambda k: (end[k], start[k]))
            value = chain_value(order, start, end, strand, score, rules)
            if value is not None and value > best:
                best = value
    return best


@pytest.mark.parametrize("seed", range(25))
def test_select_genes_matches_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    n = 10
    start = rng.integers(0, 1500, n)
    end = start + rng.integers(90, 600, n)
    strand = rng.choice([-1, 1], n)
    score = rng.normal(3, 4, n)
    rules = OverlapRules(same_strand=60, convergent=200, divergent=0, penalty=1.5)
    chosen = select_genes(start, end, strand, score, rules)
    order = sorted(chosen.tolist(), key=lambda k: (end[k], start[k]))
    value = chain_value(order, start, end, strand, score, rules) if order else 0.0
    assert value is not None
    assert value == pytest.approx(brute_force(start, end, strand, score, rules))
    assert list(chosen) == sorted(chosen, key=lambda k: start[k])


def test_one_start_per_stop():
    # Three alternative starts of one ORF: only the best-scoring one is kept.
    start = np.array([100, 160, 220])
    end = np.array([1000, 1000, 1000])
    strand = np.array([1, 1, 1])
    chosen = select_genes(start, end, strand, np.array([5.0, 9.0, 7.0]))
    assert chosen.tolist() == [1]


def test_coding_scores_sum_the_gene_frame():
    length = 30
    log_probs = np.full((length, 7), np.log(0.1))
    # + strand gene on [3, 12) is frame class 1 + 3 % 3 = 1; make it likely there.
    log_probs[3:12, 1] = np.log(0.9)
    cumulative = coding_evidence(log_probs)
    scores = coding_scores(cumulative, np.array([3, 4]), np.array([12, 13]), np.array([1, 1]))
    assert scores[0] == pytest.approx(9 * np.log(9.0))
    assert scores[1] == pytest.approx(0.0)
    # − strand gene [6, 15): codons read from base 14 down, frame class 4 + 14 % 3 = 6.
    assert candidate_frame_class(np.array([6]), np.array([15]), np.array([-1]))[0] == 6


def test_edge_bonus_counts_each_open_end_once():
    rng = np.random.default_rng(3)
    seq = bytes(rng.choice(list(b"ACGT"), 400).astype(np.uint8))
    candidates = find_orfs(seq, 11, min_len=60, closed=False)
    open_ends = candidates.partial_left.astype(int) + candidates.partial_right
    assert {0, 1} <= set(open_ends.tolist())  # complete and partial candidates alike
    scored = ScoredCandidates(candidates, np.zeros(len(candidates)),
                              start=np.zeros(len(candidates)),
                              start_known=np.ones(len(candidates), dtype=bool))
    base = DecoderParams(gene_bias=-5.0, length_bias=10.0)
    bonus = DecoderParams(gene_bias=-5.0, length_bias=10.0, edge_bonus=2.5)
    np.testing.assert_allclose(prior_scores(scored, bonus) - prior_scores(scored, base),
                               2.5 * open_ends)


def test_edge_bonus_at_zero_keeps_the_model_fingerprint():
    state, _, _, params, adapted, _ = load_numpy_gene_models()
    # The fingerprint as written before edge_bonus existed.
    digest = hashlib.sha256()
    for name, dtype, shape, data in state_fingerprint_items(state):
        digest.update(f"{name}:{dtype}:{shape}\n".encode())
        digest.update(data)
    later = ("edge_bonus", "rbs_weight", "rbs_min_strength", "short_orf_bias",
             "short_orf_length", "profile_pool")
    # Weights that leave every later field at its default (0 but for short_orf_length; the
    # shipped ones use the RBS score).
    defaults = DecoderParams().to_dict()
    params, adapted = (dataclasses.replace(p, **{name: defaults[name] for name in later})
                       for p in (params, adapted))
    old = {k: v for k, v in params.to_dict().items() if k not in later}
    old_adapted = {k: v for k, v in adapted.to_dict().items() if k not in later}
    digest.update(json.dumps({"decoder": old, "decoder_adapted": old_adapted},
                             sort_keys=True).encode())
    assert model_fingerprint(state, params, adapted) == f"sha256:{digest.hexdigest()}"
    for name in later:
        moved = dataclasses.replace(adapted, **{name: defaults[name] + 1.0})
        assert model_fingerprint(state, params, moved) != model_fingerprint(state, params,
                                                                            adapted)


def test_decode_many_equals_decoding_each_record_alone():
    rng = np.random.default_rng(11)
    params = DecoderParams(coding_weight=0.01, start_weight=1.3, gene_bias=-6.0,
                           length_bias=20.0, edge_bonus=2.0)
    scored = []
    for length in rng.integers(0, 1500, 300):
        c = find_orfs(bytes(rng.choice(list(b"ACGT"), int(length)).astype(np.uint8)), 11,
                      min_len=60)
        n = len(c)
        scored.append(ScoredCandidates(c, rng.normal(0, 300, n), start=rng.normal(0, 4, n),
                                       start_known=np.ones(n, dtype=bool)))
    got = decode_many(scored, params)
    expected = [decode(s, params) for s in scored]
    assert {len(e) for e in expected} >= {0, 1, 2}
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_rbs_score_counts_only_in_genomes_past_the_gate():
    rng = np.random.default_rng(5)
    records = []
    for strength in (0.3, 1.5):
        c = find_orfs(bytes(rng.choice(list(b"ACGT"), 900).astype(np.uint8)), 11, min_len=60)
        n = len(c)
        records.append(ScoredCandidates(c, rng.normal(0, 300, n), start=rng.normal(0, 4, n),
                                        start_known=np.ones(n, dtype=bool),
                                        rbs=rng.normal(0, 2, n), rbs_strength=strength))
    plain = DecoderParams(coding_weight=0.01, gene_bias=-6.0)
    gated = dataclasses.replace(plain, rbs_weight=1.5, rbs_min_strength=1.0)
    weak, strong = records
    np.testing.assert_array_equal(total_scores(weak, gated), total_scores(weak, plain))
    np.testing.assert_allclose(total_scores(strong, gated) - total_scores(strong, plain),
                               1.5 * strong.rbs)
    joined = self_trained_score_many(records, gated)
    np.testing.assert_array_equal(joined, np.concatenate(
        [np.zeros(len(weak.rbs)), 1.5 * strong.rbs]))
    np.testing.assert_array_equal(decode_many(records, gated)[1], decode(strong, gated))
