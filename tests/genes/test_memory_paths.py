"""Long records in bounded memory: chunked coding logits and sums equal the whole-record ones."""

import numpy as np
import pytest
from conftest import DATA

import genoseq.genes.finder as finder_module
from genoseq.device import ComputeOptions
from genoseq.encoding import dna_to_index
from genoseq.genes.finder import GeneFinder
from genoseq.genes.orfs import _barrier_runs, _touches_barrier, find_orfs
from genoseq.genes.scoring import CodingSums, coding_evidence, coding_scores
from genoseq.io import read_fasta


@pytest.fixture(scope="module")
def ecoli() -> bytes:
    return next(iter(read_fasta(DATA / "ecoli_k12_500kb.fna.gz"))).seq


def random_candidates(rng, length, n):
    start = rng.integers(0, length - 1, n)
    end = np.minimum(start + rng.integers(1, 400, n), length)
    start[:3] = [0, 0, length - 1]  # both edges of the record
    end[:3] = [length, 1, length]
    strand = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    return start, end, strand


@pytest.mark.parametrize("chunks", [[1000], [1, 999], [500, 500], [7] * 142 + [6],
                                    [0, 333, 0, 667]])
def test_chunked_coding_sums_equal_the_whole_prefix_array(chunks):
    rng = np.random.default_rng(len(chunks))
    length = sum(chunks)
    logits = (rng.normal(size=(length, 7)) * 6).astype(np.float32)
    start, end, strand = random_candidates(rng, length, 300)
    expected = coding_scores(coding_evidence(logits, clip=4.0), start, end, strand)
    sums = CodingSums(start, end, strand, clip=4.0)
    first = 0
    for size in chunks:
        sums.add(logits[first:first + size])
        first += size
    # The same float64 additions in the same order: equal, not merely close.
    np.testing.assert_array_equal(sums.result(), expected)


def test_coding_sums_of_no_candidates():
    sums = CodingSums(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8))
    sums.add(np.zeros((10, 7), np.float32))
    assert sums.result().shape == (0,)


@pytest.fixture(autouse=True)
def torch_networks(monkeypatch):
    """These tests check the torch networks' streaming, bit for bit: records streamed in
    production (STREAM_CODING_FROM, 1 Mbp) are far above the numpy networks' inputs."""
    monkeypatch.setenv("GENOSEQ_NETWORKS", "torch")


def small_window_finder(**options) -> GeneFinder:
    # Windows of 600 bases, two per batch: a chunk is 2 * 480 bases, so a 30 kb piece
    # is cut into many chunks.
    return GeneFinder(window=600, context=60, compute=ComputeOptions(
        device="cpu", precision="fp32", batch_size=2), **options)


def test_coding_logits_chunks_equal_the_whole_record(ecoli):
    finder = small_window_finder()
    index = dna_to_index(ecoli[:30_001])
    whole = finder.networks.coding_logits_many([index])[0]
    counted = []
    pieces = list(finder.networks.coding_logits_chunks(index, 2000, on_batch=counted.append))
    assert len(pieces) > 10
    assert len(pieces[0]) == 1920  # two passes of two windows of 480 kept bases
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    assert sum(counted) == len(index)


@pytest.mark.parametrize("length", [4800 * 64, 4800 * 40 + 1234, 4800 * 33 - 7])
def test_coding_logits_chunks_in_smaller_passes_equal_the_whole_record(ecoli, length):
    # Default windows and passes of 32 windows: the chunks run 8 windows a pass, but
    # the last pass of the whole run (down to one window) as it is there.
    finder = GeneFinder(compute=ComputeOptions(device="cpu", precision="fp32"))
    index = dna_to_index(ecoli[:length])
    whole = finder.networks.coding_logits_many([index])[0]
    pieces = list(finder.networks.coding_logits_chunks(index, 100_000))
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_sliced_start_logits_equal_the_whole_record(ecoli):
    import torch

    from genoseq.genes.networks import START_SLICE
    from genoseq.genes.starts import gene_start_positions

    finder = small_window_finder()
    seq = ecoli[:3 * START_SLICE + 1000]
    index = dna_to_index(seq)
    candidates = find_orfs(seq)
    position, strand = gene_start_positions(candidates), candidates.strand
    with torch.inference_mode():
        whole = finder.models.start.logits_at(index, position, strand)
    sliced = finder.networks.start_logits_at(index, position, strand)
    # Start codons near the slices' edges included; float32 rounding apart.
    np.testing.assert_allclose(sliced, whole, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("procedure", ["meta", "single"])
def test_streamed_long_record_gets_the_same_scores_and_genes(ecoli, monkeypatch, procedure):
    finder = small_window_finder(procedure=procedure, adapt_min_length=40_000)
    records = [("long", ecoli[100_000:160_000])]
    plain = finder.predict_genome(records)[0]
    monkeypatch.setattr(finder_module, "STREAM_CODING_FROM", 10_000)
    monkeypatch.setattr(finder_module, "CODING_CHUNK_BASES", 3_000)
    streamed = finder.predict_genome(records)[0]
    # A record alone is batched the same way either way: equal, not merely close.
    np.testing.assert_array_equal(streamed.scored.coding, plain.scored.coding)
    assert streamed.adapted == plain.adapted == (procedure == "single")
    assert len(plain.genes) > 40
    assert [(g.start, g.end, g.strand, g.score, g.conf) for g in streamed.genes] == \
           [(g.start, g.end, g.strand, g.score, g.conf) for g in plain.genes]


def test_streamed_record_beside_short_ones_calls_the_same_genes(ecoli, monkeypatch):
    finder = small_window_finder(procedure="meta")
    records = [("short", ecoli[:8_000]), ("long", ecoli[100_000:160_000]),
               ("also", ecoli[200_000:205_000])]
    plain = finder.predict_genome(records)
    monkeypatch.setattr(finder_module, "STREAM_CODING_FROM", 10_000)
    monkeypatch.setattr(finder_module, "CODING_CHUNK_BASES", 3_000)
    streamed = finder.predict_genome(records)
    for a, b in zip(plain, streamed, strict=True):
        # Batched without the short records now: equal to float32 rounding.
        np.testing.assert_allclose(b.scored.coding, a.scored.coding, rtol=1e-4, atol=1e-3)
        assert [(g.start, g.end, g.strand, round(g.score, 2)) for g in a.genes] == \
               [(g.start, g.end, g.strand, round(g.score, 2)) for g in b.genes]


def test_barrier_runs_equal_a_base_by_base_check():
    rng = np.random.default_rng(2)
    index = rng.integers(0, 4, 3000).astype(np.uint8)
    for first, size in ((0, 60), (100, 3), (500, 49), (900, 50), (1500, 200), (2950, 50)):
        index[first:first + size] = 4
    start = rng.integers(0, 2990, 2000)
    end = np.minimum(start + rng.integers(1, 300, 2000), 3000)
    for min_run in (1, 3, 50, 51):
        runs = _barrier_runs(index, min_run)
        in_run = np.zeros(3000, dtype=bool)
        for a, b in zip(*runs, strict=True):
            assert b - a >= min_run and (index[a:b] == 4).all()
            in_run[a:b] = True
        expected = np.array([in_run[a:b].any() for a, b in zip(start, end, strict=True)])
        np.testing.assert_array_equal(_touches_barrier(runs, start, end), expected)
    assert len(find_orfs(b"ACGT" * 100)) == len(find_orfs(b"ACGT" * 100, n_run=1))
