"""genoseq.genes.numpy_networks: the torch-free networks compute what the torch ones do."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.encoding import dna_to_index
from genoseq.genes import numpy_networks
from genoseq.genes.finder import GeneFinder
from genoseq.genes.frames import frame_channels, frame_channels_numpy, stop_codon_mask, stop_codons
from genoseq.genes.model import BASE_CHANNELS, FRAME_INPUT_CHANNELS, N_CLASSES, default_config
from genoseq.genes.networks import GeneModels, NetworkEvidence, load_gene_models
from genoseq.genes.numpy_networks import (
    BACKEND_VARIABLE,
    NumpyCodingModel,
    NumpyNetworkEvidence,
    NumpyStartModel,
    load_numpy_gene_models,
    network_backend,
)
from genoseq.genes.orfs import find_orfs
from genoseq.genes.starts import gene_start_positions
from genoseq.io import read_fasta
from genoseq.io.errors import InvalidFileError

REPO = Path(__file__).resolve().parents[2]
ECOLI = REPO / "data" / "ecoli_k12_500kb.fna.gz"
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def ecoli() -> bytes:
    return next(iter(read_fasta(ECOLI))).seq


def pieces(seq: bytes, count: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """``count`` records of 3-20 kb cut one after another from ``seq``."""
    rng = np.random.default_rng(seed)
    out, first = [], 0
    for k in range(count):
        length = int(rng.integers(3000, 20_000))
        out.append((f"piece{k}", seq[first:first + length]))
        first += length + int(rng.integers(0, 2000))
    return out


def test_constants_agree_with_the_torch_model():
    assert numpy_networks.BASE_CHANNELS == BASE_CHANNELS
    assert numpy_networks.FRAME_INPUT_CHANNELS == FRAME_INPUT_CHANNELS
    assert numpy_networks.N_CLASSES == N_CLASSES


@pytest.mark.parametrize("table", [11, 4, 25])
def test_frame_channels_numpy_equal_torch(table):
    rng = np.random.default_rng(table)
    index = rng.integers(0, 5, size=(4, 301)).astype(np.uint8)
    lengths = np.array([301, 300, 150, 7])
    for offset in (0, 1, 2):
        expected = frame_channels(torch.from_numpy(index), stop_codons(table), offset,
                                  torch.from_numpy(lengths)).numpy()
        got = frame_channels_numpy(index, stop_codon_mask(table), offset, lengths)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(frame_channels_numpy(index),
                               frame_channels(torch.from_numpy(index)).numpy(), atol=1e-6, rtol=0)


def random_models(frames: bool, seed: int) -> GeneModels:
    torch.manual_seed(seed)
    models = GeneModels(default_config(frames)).eval()
    with torch.no_grad():
        for module in models.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2.0)
                module.weight.normal_()
                module.bias.normal_()
            elif isinstance(module, torch.nn.LSTM):
                for weight in module.parameters():
                    weight.mul_(3.0)  # saturating gates, long memory: a harder test
    return models


@pytest.mark.parametrize("frames", [False, True])
def test_coding_and_start_models_match_torch_on_random_weights(frames):
    models = random_models(frames, seed=int(frames))
    state = {name: value.numpy() for name, value in models.state_dict().items()}
    coding = NumpyCodingModel(state, models.coding.config)
    start = NumpyStartModel(state, models.start.config)
    assert coding.uses_frames == frames
    rng = np.random.default_rng(1)
    index = rng.integers(0, 5, size=(4, 1203)).astype(np.uint8)
    lengths = np.array([1203, 1200, 601, 13])
    stops = stop_codons(4) if frames else None
    with torch.no_grad():
        expected = models.coding(torch.from_numpy(index), lengths=torch.from_numpy(lengths),
                                 stops=stops).numpy()
        alone = models.coding(torch.from_numpy(index[:1]), stops=stops).numpy()
    got = coding(index, lengths, stop_codon_mask(4) if frames else None)
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(got[row, :length], expected[row, :length], atol=TOLERANCE,
                                   rtol=0)
    np.testing.assert_allclose(coding(index[:1], None, stop_codon_mask(4) if frames else None),
                               alone, atol=TOLERANCE, rtol=0)
    windows = rng.integers(0, 5, size=(500, 69)).astype(np.uint8)
    with torch.no_grad():
        expected_start = models.start(torch.from_numpy(windows)).numpy()
    np.testing.assert_allclose(start(windows), expected_start, atol=TOLERANCE, rtol=0)


def evidences(frames: bool | None = None, edge_padding: bool = True):
    """(numpy, torch) evidence of the shipped weights, or of random weights of a config."""
    options = dict(batch_size=32, window=6000, context=600, translation_table=11,
                   edge_padding=edge_padding)
    if frames is None:
        state, coding, start, *_ = load_numpy_gene_models(None)
        models = load_gene_models(None)[0]
    else:
        models = random_models(frames, seed=5)
        state = {name: value.numpy() for name, value in models.state_dict().items()}
        coding, start = models.coding.config, models.start.config
    return (NumpyNetworkEvidence(state, coding, start, **options),
            NetworkEvidence(models, device=torch.device("cpu"), precision="fp32", **options))


@pytest.mark.parametrize(("frames", "edge_padding"),
                         [(None, True), (None, False), (False, True), (True, True)])
def test_evidence_matches_torch(ecoli, frames, edge_padding):
    ours, theirs = evidences(frames, edge_padding)
    records = [dna_to_index(seq) for _, seq in pieces(ecoli[:150_000], 8, seed=2)]
    records.append(dna_to_index(ecoli[200_000:214_000]))  # several windows, stitched
    records.append(dna_to_index(b"ACGTN" * 20))
    for got, expected in zip(ours.coding_logits_many(records),
                             theirs.coding_logits_many(records), strict=True):
        np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)
    index = records[-2]
    chunks = np.concatenate(list(ours.coding_logits_chunks(index, 5000)))
    np.testing.assert_allclose(chunks, theirs.coding_logits_many([index])[0], atol=TOLERANCE,
                               rtol=0)
    candidates = find_orfs(ecoli[200_000:214_000], 11, min_len=90)
    which = np.arange(len(candidates))
    np.testing.assert_allclose(ours.start_logits(index, candidates, which),
                               theirs.start_logits(index, candidates, which), atol=TOLERANCE,
                               rtol=0)
    np.testing.assert_allclose(ours.exact_start_logits(index, candidates, which),
                               theirs.exact_start_logits(index, candidates, which),
                               atol=TOLERANCE, rtol=0)
    position = gene_start_positions(candidates)
    np.testing.assert_allclose(ours.start_logits_at(index, position, candidates.strand),
                               theirs.start_logits_at(index, position, candidates.strand),
                               atol=TOLERANCE, rtol=0)


def test_backend_choice(monkeypatch):
    monkeypatch.delenv(BACKEND_VARIABLE, raising=False)
    monkeypatch.setattr("genoseq.device.cpu_has_native_bf16", lambda: False)
    assert network_backend(ComputeOptions(device="cpu", precision="fp32")) == "numpy"
    assert network_backend(ComputeOptions(device="cpu")) == "numpy"
    assert network_backend(ComputeOptions(device="cpu", precision="bf16")) == "torch"
    assert network_backend(ComputeOptions(device="cuda")) == "torch"
    monkeypatch.setattr("genoseq.device.cpu_has_native_bf16", lambda: True)
    # The gene finder's "auto" is fp32 on every CPU (gene_precision).
    assert network_backend(ComputeOptions(device="cpu")) == "numpy"
    monkeypatch.setenv(BACKEND_VARIABLE, "torch")
    assert network_backend(ComputeOptions(device="cpu", precision="fp32")) == "torch"
    monkeypatch.setenv(BACKEND_VARIABLE, "bogus")
    with pytest.raises(ValueError, match=BACKEND_VARIABLE):
        network_backend(ComputeOptions(device="cpu"))


def test_finders_choose_and_fingerprint_alike(monkeypatch):
    monkeypatch.delenv(BACKEND_VARIABLE, raising=False)
    compute = ComputeOptions(device="cpu", precision="fp32")
    numpy_finder = GeneFinder(compute=compute)
    assert numpy_finder.backend == "numpy"
    assert isinstance(numpy_finder.networks, NumpyNetworkEvidence)
    monkeypatch.setenv(BACKEND_VARIABLE, "torch")
    torch_finder = GeneFinder(compute=compute)
    assert torch_finder.backend == "torch"
    assert numpy_finder.fingerprint == torch_finder.fingerprint
    in_memory = GeneFinder.from_models(torch_finder.models, torch_finder.params,
                                       torch_finder.adapted_params, compute=compute)
    assert in_memory.backend == "torch"
    assert in_memory.fingerprint == torch_finder.fingerprint


def test_bad_model_files_are_named(tmp_path, tiny_gene_model):
    stem = tmp_path / "broken"
    (tmp_path / "broken.pt").write_bytes(b"garbage")
    (tmp_path / "broken.json").write_text(Path(f"{tiny_gene_model}.json").read_text())
    with pytest.raises(InvalidFileError, match="not a genoseq gene model"):
        load_numpy_gene_models(stem)
    mismatched = tmp_path / "mismatched"
    (tmp_path / "mismatched.pt").write_bytes(Path(f"{tiny_gene_model}.pt").read_bytes())
    (tmp_path / "mismatched.json").write_text(
        (REPO / "genoseq" / "weights" / "genes.json").read_text())
    with pytest.raises(InvalidFileError, match="size mismatch|missing key"):
        load_numpy_gene_models(mismatched)


def gff_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("procedure,backend", [("meta", "auto"), ("single", "numpy")])
def test_calls_equal_the_torch_path(ecoli, tmp_path, monkeypatch, procedure, backend):
    fasta = tmp_path / "pieces.fna"
    fasta.write_text("".join(f">{name}\n{seq.decode()}\n"
                             for name, seq in pieces(ecoli, 30, seed=3)))
    outputs = {}
    for choice in (backend, "torch"):
        monkeypatch.setenv(BACKEND_VARIABLE, choice)
        out = tmp_path / f"{choice}.gff"
        assert main(["predict", "-i", str(fasta), "-o", str(out), "-p", procedure,
                     "--device", "cpu", "--precision", "fp32", "-q", "-a",
                     str(tmp_path / f"{choice}.faa")]) == 0
        outputs[choice] = gff_lines(out)
    assert len(outputs["torch"]) > 100
    assert outputs[backend] == outputs["torch"]
    assert (tmp_path / f"{backend}.faa").read_text() == (tmp_path / "torch.faa").read_text()


def test_small_single_input_in_auto_mode_matches_torch(ecoli, tmp_path, monkeypatch):
    fasta = tmp_path / "small.fna"
    fasta.write_text("".join(f">{name}\n{seq.decode()}\n"
                             for name, seq in pieces(ecoli, 6, seed=4)))
    outputs = {}
    for choice in ("auto", "torch"):
        monkeypatch.setenv(BACKEND_VARIABLE, choice)
        out = tmp_path / f"{choice}.gff"
        assert main(["predict", "-i", str(fasta), "-o", str(out), "--device", "cpu",
                     "--precision", "fp32", "-q", "--coding-track",
                     str(tmp_path / f"{choice}.bedgraph")]) == 0
        outputs[choice] = gff_lines(out)
    assert outputs["auto"] == outputs["torch"]


def test_cli_on_a_small_record_never_imports_torch(ecoli, tmp_path):
    fasta = tmp_path / "x.fna"
    fasta.write_text(f">x\n{ecoli[100_000:103_000].decode()}\n")
    out = tmp_path / "x.gff"
    script = (
        "import os, sys\n"
        "os.environ.pop('GENOSEQ_NETWORKS', None)\n"
        "from genoseq.cli import main\n"
        f"status = main(['predict', '-i', {str(fasta)!r}, '-o', {str(out)!r}, '-q',"
        " '--device', 'cpu', '--precision', 'fp32'])\n"
        "heavy = sorted({name.split('.')[0] for name in sys.modules} & {'torch', 'pandas'})\n"
        "print(status, ','.join(heavy) or 'none')\n"
        "print('Bio.SeqIO' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.split() == ["0", "none", "False"], result.stderr
    assert len(gff_lines(out)) >= 2
