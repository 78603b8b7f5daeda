"""Batched inference of the gene finder: many records share forward passes, results unchanged."""

import math

import numpy as np
import pytest
import torch
from conftest import DATA

from genoseq.device import ComputeOptions
from genoseq.encoding import dna_to_index
from genoseq.genes.finder import GeneFinder
from genoseq.genes.predict import run_prediction
from genoseq.io import read_fasta


@pytest.fixture(scope="module")
def ecoli() -> bytes:
    return next(iter(read_fasta(DATA / "ecoli_k12_500kb.fna.gz"))).seq


def one_window_at_a_time(finder: GeneFinder, index: np.ndarray) -> np.ndarray:
    """The windowing of GeneFinder written out plainly: one window per forward pass, each
    with ``context`` bases on both sides, reaching into N padding past the sequence's ends
    (``edge_padding``) or moved inside them, keeping its size."""
    context, length = finder.context, len(index)
    size = min(finder.window, 3 * math.ceil((length + 2 * context) / 3))
    step = size - 2 * context
    n_windows = math.ceil(length / step)
    padded = np.full(n_windows * step + 2 * context, 4, dtype=np.uint8)
    padded[context:context + length] = index
    out = []
    with torch.inference_mode():
        for w in range(n_windows):
            begin, end = w * step - context, w * step - context + size
            if not finder.edge_padding:
                rounded = 3 * math.ceil(length / 3)
                begin = min(max(begin, 0), rounded - min(size, rounded))
                end = begin + min(size, rounded)
            row = torch.from_numpy(padded[None, begin + context:end + context].copy())
            lead = w * step - begin
            logits = finder.models.coding(row)[0, lead:lead + step]
            out.append(torch.log_softmax(logits, dim=-1).numpy())
    return np.concatenate(out)[:length]


@pytest.mark.parametrize("edge_padding", [False, True])
def test_mixed_lengths_batched_equal_each_window_alone(ecoli, monkeypatch, edge_padding):
    # The torch networks' batching (the numpy networks of small inputs are compared
    # with torch in tests/genes/test_numpy_networks.py).
    monkeypatch.setenv("GENOSEQ_NETWORKS", "torch")
    finder = GeneFinder(compute=ComputeOptions(device="cpu", precision="fp32", batch_size=4),
                        edge_padding=edge_padding)
    # Pieces shorter than a window, one of exactly a window's interior, and
    # longer ones cut into several windows; ragged sizes share batches.
    sizes = [95, 301, 1000, finder.window - 2 * finder.context, 7001, 20_000, 2, 4999]
    starts = np.cumsum([0] + sizes[:-1]) * 7
    indices = [dna_to_index(ecoli[s:s + n]) for s, n in zip(starts, sizes, strict=True)]
    batched = finder.networks.coding_log_probs_many(indices)
    for index, got in zip(indices, batched, strict=True):
        assert got.shape == (len(index), 7)
        np.testing.assert_allclose(got, one_window_at_a_time(finder, index), atol=2e-5)


def test_empty_sequence_gives_empty_log_probs():
    finder = GeneFinder(compute=ComputeOptions(device="cpu"))
    out = finder.networks.coding_log_probs_many([np.zeros(0, dtype=np.uint8), dna_to_index(b"ACGT" * 50)])
    assert out[0].shape == (0, 7)
    assert out[1].shape == (200, 7)


def test_meta_mode_contigs_in_groups_equal_contigs_alone(ecoli, tmp_path):
    # 40 contigs of 2-12 kb: predicted as a group they must get exactly the
    # genes each gets when predicted on its own.
    rng = np.random.default_rng(1)
    contigs, position = [], 0
    for k in range(40):
        size = int(rng.integers(2_000, 12_000))
        contigs.append((f"contig{k}", ecoli[position:position + size]))
        position += size
    path = tmp_path / "contigs.fa"
    path.write_text("".join(f">{name}\n{seq.decode()}\n" for name, seq in contigs))
    finder = GeneFinder(procedure="meta", compute=ComputeOptions(device="cpu", precision="fp32"))
    together = run_prediction(path, finder).genes
    alone = [gene for name, seq in contigs for gene in finder.predict(seq, name).genes]
    assert len(together) > 100
    key = lambda g: (g.seqid, g.start, g.end, g.strand, g.partial, round(g.score, 3))  # noqa: E731
    assert [key(g) for g in together] == [key(g) for g in alone]


def test_unknown_precision_is_rejected():
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        GeneFinder(compute=ComputeOptions(device="cpu", precision="fp8"))


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_of_the_gene_finder_on_cpu_is_fp32(monkeypatch, native):
    import genoseq.device

    # Native bf16 or not: bf16 with its recheck was slower than fp32 (gene_precision).
    monkeypatch.setattr(genoseq.device, "cpu_has_native_bf16", lambda: native)
    assert GeneFinder(compute=ComputeOptions(device="cpu")).network_precision == "fp32"
    # An explicit choice is never overridden.
    bf16 = GeneFinder(compute=ComputeOptions(device="cpu", precision="bf16"))
    assert bf16.network_precision == "bf16" and bf16.backend == "torch"


def test_cpu_bf16_detection_reads_cpu_flags():
    from genoseq.device import cpu_has_native_bf16

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        flags = ""
    assert cpu_has_native_bf16() == any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def test_bf16_on_cpu_calls_nearly_the_same_genes(ecoli):
    # Mixed precision changes logits slightly; decisions should almost never move.
    piece = ecoli[:150_000]
    calls = {}
    for precision in ("fp32", "bf16"):
        finder = GeneFinder(compute=ComputeOptions(device="cpu", precision=precision))
        calls[precision] = {(g.start, g.end, g.strand) for g in finder.find_genes(piece)}
    shared = calls["fp32"] & calls["bf16"]
    assert len(shared) >= 0.98 * len(calls["fp32"])
    assert len(shared) >= 0.98 * len(calls["bf16"])


def test_cli_precision_choices(tmp_path, capsys):
    from genoseq.cli import main

    code = main(["predict", "-i", str(DATA / "ecoli_k12_500kb.fna.gz"), "-o",
                 str(tmp_path / "x.gff"), "--precision", "fp8"])
    assert code == 2
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
    assert not (tmp_path / "x.gff").exists()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_calls_match_cpu_on_a_real_genome(ecoli):
    # fp32 on the GPU, and mixed precision (the CUDA default) with its fp32
    # recheck of near ties, must call exactly the CPU's genes; without the
    # recheck mixed precision may move only a rare call.
    calls = {}
    for device, precision, recheck in (("cpu", "fp32", True), ("cuda", "fp32", True),
                                       ("cuda", "auto", True), ("cuda", "auto", False)):
        finder = GeneFinder(recheck=recheck,
                            compute=ComputeOptions(device=device, precision=precision))
        calls[device, precision, recheck] = {(g.start, g.end, g.strand)
                                             for g in finder.find_genes(ecoli)}
    cpu = calls["cpu", "fp32", True]
    assert calls["cuda", "fp32", True] == cpu
    assert calls["cuda", "auto", True] == cpu
    assert len(calls["cuda", "auto", False] & cpu) >= 0.995 * len(cpu)


def test_all_starts_scores_every_candidate(ecoli):
    from dataclasses import replace

    shipped = GeneFinder(compute=ComputeOptions(device="cpu"))
    # A strict prior, so that some candidates cannot reach a positive score whatever
    # their start logit: those the lazy path leaves unscored.
    finder = GeneFinder.from_models(shipped.models, replace(shipped.params, gene_bias=-40.0),
                                    shipped.adapted_params,
                                    compute=ComputeOptions(device="cpu"))
    lazy = finder.predict_genome([("a", ecoli[:40_000])])[0].scored
    full = finder.predict_genome([("a", ecoli[:40_000])], all_starts=True)[0].scored
    assert not lazy.start_known.all()  # some could never be chosen: not scored
    assert full.start_known.all()
    known = lazy.start_known
    # Computed in different batches (convolution shapes), so equal to float32 rounding only.
    np.testing.assert_allclose(full.start[known], lazy.start[known], rtol=1e-6)


def test_groups_by_size_closes_runs_at_the_limit():
    from genoseq.grouping import groups_by_size

    assert list(groups_by_size([3, 4, 10, 1, 1], lambda x: x, 5)) == [[3, 4], [10], [1, 1]]
    assert list(groups_by_size([], len, 5)) == []


def test_start_logits_by_strand_convolution_equal_window_logits():
    # logits_at convolves each strand once and reads every window from it; it must give
    # what the network gives on the windows themselves, edges and unknown bases included.
    from genoseq.genes.networks import load_gene_models
    from genoseq.genes.starts import start_windows

    models, *_ = load_gene_models(None)
    start = models.start.eval()
    rng = np.random.default_rng(3)
    for length, n in ((40, 12), (5_000, 400), (600_000, 3_000)):
        index = rng.integers(0, 4, length).astype(np.uint8)
        index[rng.random(length) < 0.02] = 4
        position = rng.integers(0, length, n)
        position[:2] = [0, length - 1]
        strand = np.where(rng.random(n) < 0.5, 1, -1)
        with torch.inference_mode():
            expected = start(torch.from_numpy(start_windows(index, position, strand))).numpy()
            got = start.logits_at(index, position, strand)
        np.testing.assert_allclose(got, expected, atol=1e-4)
