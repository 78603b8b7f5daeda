"""Many short records: those without a candidate skip the coding model, starts are packed.

Both shortcuts must leave every gene as the plain path gives it.
"""

import numpy as np
import pytest
from conftest import DATA

from genoseq.device import ComputeOptions
from genoseq.genes.finder import PACK_STARTS_BELOW, GeneFinder
from genoseq.genes.orfs import find_orfs
from genoseq.io import read_fasta

#: Stops in all six frames every 12 bp (CTAG is its own reverse complement): no candidate.
NO_CANDIDATE = b"CTAG" * 50


@pytest.fixture(scope="module")
def ecoli() -> bytes:
    return next(iter(read_fasta(DATA / "ecoli_k12_500kb.fna.gz"))).seq


@pytest.fixture(scope="module")
def finder() -> GeneFinder:
    return GeneFinder(procedure="meta", compute=ComputeOptions(device="cpu", precision="fp32"))


def records_of(ecoli: bytes) -> list[tuple[str, bytes]]:
    """Pieces with genes and without candidates, side by side, some very short."""
    return [("genes1", ecoli[10_000:14_000]), ("none1", NO_CANDIDATE),
            ("short1", ecoli[20_000:20_120]), ("tiny", ecoli[30_000:30_050]),
            ("genes2", ecoli[40_000:46_000]), ("none2", b"N" * 500 + NO_CANDIDATE),
            ("short2", ecoli[50_003:50_150])]


def key(genes):
    """Calls exactly, scores to 1e-3 (beyond the 2 decimals the GFF prints): records batched
    with other records than before move logits by float rounding (~1e-6), as in
    test_batching, and rounding both to a fixed decimal could still split them."""
    return Calls(genes)


class Calls:
    def __init__(self, genes):
        self.calls = [(g.seqid, g.start, g.end, g.strand, g.partial, g.start_type)
                      for g in genes]
        self.scores = np.array([(g.score, g.cscore, g.sscore, g.conf) for g in genes])

    def __eq__(self, other):
        return (self.calls == other.calls and self.scores.shape == other.scores.shape
                and np.allclose(self.scores, other.scores, rtol=0, atol=1e-3))

    def __repr__(self):
        return repr(self.calls)


def test_no_candidate_records_are_what_the_sequences_give():
    assert len(find_orfs(NO_CANDIDATE)) == 0
    assert len(find_orfs(b"N" * 500 + NO_CANDIDATE)) == 0


def test_records_without_candidates_skip_the_coding_model(ecoli, finder, monkeypatch):
    records = records_of(ecoli)
    seen = []
    original = finder.networks.coding_logits_many

    def spy(indices, *args, **kwargs):
        seen.extend(len(index) for index in indices)
        return original(indices, *args, **kwargs)

    monkeypatch.setattr(finder.networks, "coding_logits_many", spy)
    counted = []
    predictions = finder.predict_genome(records, progress=counted.append)
    no_candidates = {name for name, seq in records if len(find_orfs(seq)) == 0}
    assert no_candidates >= {"none1", "none2", "tiny"}
    assert sorted(seen) == sorted(len(seq) for name, seq in records if name not in no_candidates)
    # Progress still counts every base, skipped records included.
    assert sum(counted) == sum(len(seq) for _, seq in records)
    for prediction in predictions:
        if prediction.seqid in no_candidates:
            assert prediction.genes == [] and len(prediction.scored.coding) == 0


def test_skip_path_gives_the_genes_of_the_network_path(ecoli, finder):
    records = records_of(ecoli)
    # keep_log_probs runs the coding model over every record, candidates or not.
    skipped = finder.predict_genome(records)
    full = finder.predict_genome(records, keep_log_probs=True)
    assert [p.seqid for p in skipped] == [p.seqid for p in full]
    genes = [g for p in skipped for g in p.genes]
    assert len(genes) > 5
    assert key(genes) == key([g for p in full for g in p.genes])
    # And each record alone gives the same genes as the group.
    alone = [g for name, seq in records for g in finder.predict_genome([(name, seq)])[0].genes]
    assert key(genes) == key(alone)


def test_packed_start_logits_equal_each_record_alone(ecoli, finder):
    rng = np.random.default_rng(5)
    seqs = [ecoli[p:p + n] for p, n in zip(rng.integers(0, 400_000, 40),
                                           rng.integers(60, 3_000, 40), strict=True)]
    seqs.append(ecoli[:PACK_STARTS_BELOW + 500])  # long: convolved on its own
    seqs.append(b"NNNNNN" + ecoli[100_000:100_300] + b"NN")
    packed = finder.score_records(seqs, all_starts=True)
    for index, scored in packed:
        assert scored.start_known.all()
        which = np.flatnonzero(~scored.candidates.partial_5prime)
        alone = finder.networks.start_logits(index, scored.candidates, which)
        np.testing.assert_allclose(scored.start[which],
                                   np.clip(alone, -10.0, 10.0), rtol=1e-6, atol=1e-6)
    # Lazily filled starts (only those that could be chosen) match the full fill.
    lazy = finder.score_records(seqs)
    for (_, full), (_, some) in zip(packed, lazy, strict=True):
        known = some.start_known
        np.testing.assert_allclose(some.start[known], full.start[known], rtol=1e-6, atol=1e-6)
