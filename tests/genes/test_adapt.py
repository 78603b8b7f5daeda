"""Hexamer self-training statistics: codes, in-frame sums on both strands, learned bias."""

from pathlib import Path

import numpy as np
import pytest

from genoseq.encoding import dna_to_index, reverse_complement_index
from genoseq.genes.adapt import (
    HexamerBatch,
    hexamer_codes,
    hexamer_codes_many,
    hexamer_log_ratios,
    hexamer_points,
    hexamer_scores,
)
from genoseq.genes.orfs import find_orfs

DATA = Path(__file__).resolve().parents[2] / "data"


def code_of(text):
    return int("".join("ACGT".index(c).__str__() for c in text), 4)


def test_hexamer_codes():
    index = np.array([0, 1, 2, 3, 0, 1, 4, 0], dtype=np.uint8)
    codes = hexamer_codes(index)
    assert codes[0] == code_of("ACGTAC")
    assert codes[1] == -1 and codes[2] == -1  # contain the unknown base
    assert (codes[3:] == -1).all()            # run off the end


def brute_score(index, ratios, start, end, strand):
    seq = index[start:end] if strand > 0 else reverse_complement_index(index[start:end])
    total = 0.0
    for j in range(0, len(seq) - 5, 3):
        hexamer = seq[j:j + 6]
        if (hexamer < 4).all():
            total += ratios[int(sum(int(b) * 4 ** (5 - k) for k, b in enumerate(hexamer)))]
    return total


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_brute_force_on_both_strands(seed):
    rng = np.random.default_rng(seed)
    index = rng.integers(0, 4, 500).astype(np.uint8)
    index[rng.choice(500, 5)] = 4
    ratios = rng.normal(size=4096)
    start = rng.integers(0, 400, 30)
    end = start + 3 * rng.integers(2, 30, 30)
    end = np.minimum(end, 500)
    strand = rng.choice([-1, 1], 30)
    scores = hexamer_scores(index, ratios, start, end, strand)
    expected = [brute_score(index, ratios, s, e, d) for s, e, d in zip(start, end, strand,
                                                                        strict=True)]
    np.testing.assert_allclose(scores, expected)


def test_learned_ratios_favour_the_planted_codon_usage():
    rng = np.random.default_rng(1)
    # Genes made of GCT/GAA codons only, in random background.
    index = rng.integers(0, 4, 30000).astype(np.uint8)
    starts = np.arange(0, 30000, 1000)
    ends = starts + 600
    for s, e in zip(starts, ends, strict=True):
        codons = rng.choice([code_of("GCT"), code_of("GAA")], size=(e - s) // 3)
        index[s:e] = np.stack([codons // 16, codons // 4 % 4, codons % 4], axis=1).ravel()
    strand = np.ones(len(starts), dtype=int)
    ratios = hexamer_log_ratios([index], [(starts, ends, strand)])
    assert ratios[code_of("GCTGAA")] > 1.0
    assert ratios[code_of("TTTTTT")] < 0.0
    in_gene = hexamer_scores(index, ratios, starts[:3], ends[:3], strand[:3])
    shifted = hexamer_scores(index, ratios, starts[:3] + 1, ends[:3] + 1, strand[:3])
    assert (in_gene > 50).all() and (shifted < in_gene).all()


def test_start_profile_learns_the_planted_upstream_motif():
    from genoseq.genes.adapt import start_profile, start_profile_scores

    rng = np.random.default_rng(3)
    width = 30
    true = rng.integers(0, 4, (400, width)).astype(np.uint8)
    true[:, 10:14] = [0, 2, 2, 0]  # AGGA at a fixed offset before real starts
    other = rng.integers(0, 4, (1200, width)).astype(np.uint8)
    profile = start_profile(true, other)
    assert profile.shape == (width, 5)
    assert (profile[10:14, [0, 2, 2, 0]].diagonal() > 1.0).all()
    assert np.abs(profile[20:]).max() < 0.5 and (profile[:, 4] == 0).all()
    scores_true = start_profile_scores(true[:50], profile)
    scores_other = start_profile_scores(other[:50], profile)
    assert scores_true.mean() > scores_other.mean() + 4


def test_many_short_records_get_their_own_codes_and_scores_bit_for_bit():
    rng = np.random.default_rng(4)
    records = [rng.integers(0, 5 if k % 4 == 0 else 4, size=int(n)).astype(np.uint8)
               for k, n in enumerate(rng.integers(0, 700, 120))]
    log_ratios = rng.normal(size=4096)
    codes = hexamer_codes_many(records)
    points, expected = [], []
    for index, (forward, reverse) in zip(records, codes, strict=True):
        np.testing.assert_array_equal(forward, hexamer_codes(index))
        np.testing.assert_array_equal(reverse, hexamer_codes(reverse_complement_index(index)))
        c = find_orfs(np.frombuffer(b"ACGTN", dtype=np.uint8)[index], 11, min_len=60)
        points.append(hexamer_points(len(index), c.start, c.end, c.strand, (forward, reverse)))
        expected.append(hexamer_scores(index, log_ratios, c.start, c.end, c.strand))
    batch = HexamerBatch(points)
    got = batch.split(batch.scores(log_ratios))
    assert sum(len(e) for e in expected) > 500
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)  # equal, not merely close


def test_start_codon_part_of_the_profile_and_its_weight():
    """profile_codon is the profile read on the codon columns alone; its weight adds to totals."""
    from dataclasses import replace

    from genoseq.genes.adapt import CODON_COLUMNS, SelfTraining, apply_training
    from genoseq.genes.scoring import DecoderParams, ScoredCandidates, total_scores
    from genoseq.genes.starts import START_WINDOW, gene_start_positions, start_windows

    rng = np.random.default_rng(5)
    index = rng.integers(0, 4, 6000).astype(np.uint8)
    c = find_orfs(index, 11, min_len=90)
    profile = rng.normal(0, 1, (START_WINDOW, 5))
    profile[:, 4] = 0
    training = SelfTraining(hexamer_log_ratios=rng.normal(0, 1, 4096), start_profile=profile)
    scored = ScoredCandidates(c, coding=rng.normal(0, 50, len(c)), start=rng.normal(0, 3, len(c)),
                              start_known=np.ones(len(c), bool))
    apply_training(training, [(index, scored)])
    windows = start_windows(index, gene_start_positions(c), c.strand)
    columns = np.arange(START_WINDOW)[CODON_COLUMNS]
    expected = profile[columns[None, :], windows[:, columns]].sum(axis=1)
    expected[c.partial_5prime] = 0.0
    assert np.allclose(scored.profile_codon, expected)
    assert (scored.profile_codon[c.partial_5prime] == 0).all()
    params = DecoderParams(hexamer_weight=0.4, profile_weight=0.5)
    with_codon = replace(params, start_codon_weight=0.7)
    assert np.allclose(total_scores(scored, with_codon) - total_scores(scored, params),
                       0.7 * scored.profile_codon)


def test_pooled_start_profile_keeps_composition_and_drops_codon_phase():
    from genoseq.genes.adapt import pooled_profile, start_profile
    from genoseq.genes.starts import START_UPSTREAM, START_WINDOW

    rng = np.random.default_rng(5)
    true = rng.integers(0, 4, (600, START_WINDOW)).astype(np.uint8)
    other = rng.integers(0, 4, (1800, START_WINDOW)).astype(np.uint8)
    codon = slice(START_UPSTREAM, START_UPSTREAM + 3)
    true[:, codon] = other[:, codon] = [0, 3, 2]  # ATG
    # Rivals read upstream in frame: G at every third position (a GC-rich third codon base).
    third = np.arange(START_UPSTREAM - 1, -1, -3)
    other[:, third] = np.where(rng.random((1800, len(third))) < 0.8, 2, other[:, third])
    # Real starts sit after an A-rich stretch at -15..-10 (a composition, not a phase).
    true[:, START_UPSTREAM - 15:START_UPSTREAM - 9] = np.where(
        rng.random((600, 6)) < 0.7, 0, true[:, START_UPSTREAM - 15:START_UPSTREAM - 9])

    own = start_profile(true, other)
    pooled = pooled_profile(own, 3)
    assert pooled_profile(own, 1) is own
    # Per position the profile reads the phase: G at a third position says "not a start".
    assert own[third, 2].max() < -1.0
    plain = third[third < START_UPSTREAM - 16] + 1  # the next position, outside the A stretch
    assert np.abs(own[plain, 2]).max() < 0.5
    # Pooled, each codon-length block upstream and downstream has one row (the mean), and
    # the codon columns keep their own.
    for hi in range(START_UPSTREAM, 0, -3):
        np.testing.assert_allclose(pooled[hi - 3:hi], np.repeat(
            own[hi - 3:hi].mean(0, keepdims=True), 3, axis=0))
    np.testing.assert_array_equal(pooled[codon], own[codon])
    for lo in range(START_UPSTREAM + 3, START_WINDOW, 3):
        assert (pooled[lo:lo + 3] == pooled[lo]).all()
    # The phase signal is diluted three-fold; the A-rich stretch is still read.
    outside = plain - 1
    assert (pooled[outside, 2] > own[outside, 2] + 0.4).all()
    assert pooled[START_UPSTREAM - 15:START_UPSTREAM - 9, 0].min() > 0.4
    assert (pooled[:, 4] == 0).all()


def test_pooled_profile_ranks_the_starts_and_the_orf_keeps_its_best_score():
    from genoseq.genes.adapt import pooled_profile, start_profile_part, start_profile_scores
    from genoseq.genes.starts import START_WINDOW, gene_start_positions, start_windows
    from genoseq.io.fasta import read_fasta

    record = next(iter(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")))
    seq = bytes(record.seq[:60_000]).upper()
    index = dna_to_index(seq)
    c = find_orfs(seq, 11)
    windows = start_windows(index, gene_start_positions(c), c.strand)
    profile = np.random.default_rng(6).normal(0, 0.5, (START_WINDOW, 5))
    profile[:, 4] = 0
    own = start_profile_part(windows, profile, c, 1)
    np.testing.assert_array_equal(
        own, np.where(c.partial_5prime, 0.0, start_profile_scores(windows, profile)))
    part = start_profile_part(windows, profile, c, 3)
    pooled = np.where(c.partial_5prime, 0.0,
                      start_profile_scores(windows, pooled_profile(profile, 3)))
    several = 0
    for orf in np.unique(c.orf_id):
        members = np.flatnonzero(c.orf_id == orf)
        # Within an ORF the pooled profile orders the starts; the ORF's best equals its best
        # per-position score.
        np.testing.assert_allclose(np.diff(part[members]), np.diff(pooled[members]), atol=1e-9)
        assert part[members].max() == pytest.approx(own[members].max())
        several += len(members) > 1 and np.argmax(pooled[members]) != np.argmax(own[members])
    assert several > 0  # the two profiles do disagree on some ORF's best start


def test_profile_pool_is_a_decoder_field_that_old_models_leave_at_one():
    from genoseq.genes.finder import DEFAULT_DECODER, LATER_DECODER_FIELDS
    from genoseq.genes.scoring import DecoderParams

    assert DecoderParams().profile_pool == 1 == DEFAULT_DECODER["profile_pool"]
    assert "profile_pool" in LATER_DECODER_FIELDS  # a default leaves old fingerprints alone
    assert DecoderParams.from_dict({"profile_pool": 3}).profile_pool == 3
