"""Reduced precision rechecks near ties in fp32: the calls of an fp32 run, at a fraction of its cost."""

import numpy as np
import pytest
from conftest import DATA

import genoseq.genes.recheck as recheck_module
from genoseq.device import ComputeOptions
from genoseq.genes.finder import GeneFinder
from genoseq.genes.networks import NetworkEvidence
from genoseq.genes.recheck import covered_runs, near_ties, rescore_exact
from genoseq.genes.scoring import DecoderParams
from genoseq.io import read_fasta


@pytest.fixture(autouse=True)
def torch_networks(monkeypatch):
    """The recheck re-scores with the torch networks in fp32: compare with torch fp32 runs
    (small fp32 inputs would otherwise take the numpy networks, whose sums differ in the
    seventh significant digit)."""
    monkeypatch.setenv("GENOSEQ_NETWORKS", "torch")


@pytest.fixture(scope="module")
def ecoli() -> bytes:
    return next(iter(read_fasta(DATA / "ecoli_k12_500kb.fna.gz"))).seq


def test_covered_runs_follow_the_window_layout():
    # Windows of 6000 with 600 context keep 4800 bases each.
    runs = covered_runs(20_000, np.array([[100, 200], [4700, 4900], [15_000, 15_001]]),
                        6000, 600)
    assert runs == [(0, 9600), (14_400, 19_200)]
    assert covered_runs(20_000, np.zeros((0, 2), dtype=int), 6000, 600) == []


def test_rescore_exact_gives_the_scores_of_an_fp32_run(ecoli):
    seq = ecoli[:120_000]
    fp32 = GeneFinder(compute=ComputeOptions(device="cpu", precision="fp32"))
    bf16 = GeneFinder(compute=ComputeOptions(device="cpu", precision="bf16"))
    (_, want), = fp32.score_records([seq], all_starts=True)
    (index, got), = bf16.score_records([seq], all_starts=True)
    assert want.exact.all() and not got.exact.any()
    c = got.candidates
    orfs = np.array([c.orf_id[len(c) // 3], c.orf_id[len(c) // 2]])
    rescore_exact(bf16.networks, [((index, got), orfs)], llr_clip=bf16.params.llr_clip)
    listed = np.isin(c.orf_id, orfs)
    # Coding: every candidate of those ORFs, and every other one inside the windows run for them.
    assert got.exact[listed].all()
    assert 0 < got.exact.sum() < len(c)
    exact = got.exact
    np.testing.assert_allclose(got.coding[exact], want.coding[exact], atol=1e-3)
    # Start logits: fp32 on the CPU from the start (NetworkEvidence.start_precision),
    # so exact everywhere, before and after.
    assert bf16.networks.start_precision == "fp32" and got.start_exact.all()
    np.testing.assert_allclose(got.start, want.start, atol=1e-4)
    # The other candidates keep their bf16 coding scores, which differ.
    assert np.abs(got.coding[~exact] - want.coding[~exact]).max() > 1e-2


def test_near_ties_are_the_orfs_whose_decision_the_arithmetic_could_tip(ecoli):
    finder = GeneFinder(compute=ComputeOptions(device="cpu", precision="bf16"))
    (_, scored), = finder.score_records([ecoli[:30_000]], all_starts=True)
    c = scored.candidates
    params = DecoderParams(coding_weight=1.0, start_weight=1.0, gene_bias=0.0)
    # One ORF with two starts, everything else hopeless.
    orf = next(o for o in np.unique(c.orf_id) if np.count_nonzero(c.orf_id == o) >= 2)
    first, second = np.flatnonzero(c.orf_id == orf)[:2]
    scored.start[:] = 0.0
    scored.coding[:] = -1000.0

    def ties(gap, exact=False):
        scored.coding[first], scored.coding[second] = 500.0, 500.0 - gap
        scored.exact[:] = exact
        scored.start_exact[:] = exact
        chosen = finder.decode(scored, params)
        assert chosen.tolist() == [first]
        return near_ties(scored, params, chosen).tolist()

    assert ties(0.01) == [orf]
    assert ties(400.0) == []
    assert ties(0.01, exact=True) == []


ERROR_PER_BASE = 1.0


class PerturbedNetworks(NetworkEvidence):
    """fp32 networks whose 'reduced precision' coding logits carry a planted error.

    +-ERROR_PER_BASE on every coding class's log-ratio, its sign flipping
    every 2,000 bases: far more than bf16 does, so that calls move.
    """

    def coding_logits_many(self, indices, precision=None, spans=None, on_batch=None):
        out = super().coding_logits_many(indices, precision="fp32", spans=spans,
                                         on_batch=on_batch)
        if (precision or self.precision) != "fp32":
            for logits in out:
                sign = np.where((np.arange(len(logits)) // 2000) % 2, 1.0, -1.0) * ERROR_PER_BASE
                logits[:, 1:4] += sign[:, None].astype(np.float32)
                logits[:, 4:] -= sign[:, None].astype(np.float32)
        return out

    def start_logits(self, index, candidates, which, precision=None):
        return super().start_logits(index, candidates, which, precision="fp32")


def calls(finder, records):
    return {(p.seqid, g.start, g.end, g.strand)
            for p in finder.predict_genome(records) for g in p.genes}


@pytest.mark.parametrize("procedure", ["single", "meta"])
def test_recheck_gives_the_calls_of_fp32_where_the_error_would_move_some(ecoli, monkeypatch,
                                                                         procedure):
    # Bounds that cover the planted error, as TIE_* cover bf16's.
    monkeypatch.setattr(recheck_module, "TIE_CODING_PER_BP", 1.1 * ERROR_PER_BASE)
    if procedure == "single":
        records = [("chr", ecoli[:150_000])]
    else:  # contigs of several sizes, re-scored together
        edges = [0, 9_000, 30_000, 31_000, 70_000, 150_000]
        records = [(f"c{k}", ecoli[a:b])
                   for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))]

    def finder(precision, recheck=True):
        finder = GeneFinder(recheck=recheck, procedure=procedure,
                            compute=ComputeOptions(device="cpu", precision=precision))
        networks = finder.networks
        finder.networks = PerturbedNetworks(networks.models, device=networks.device,
                                            precision=networks.precision,
                                            batch_size=networks.batch_size,
                                            window=networks.window, context=networks.context)
        return finder

    want = calls(finder("fp32"), records)
    assert calls(finder("bf16", recheck=False), records) != want
    assert calls(finder("bf16"), records) == want
