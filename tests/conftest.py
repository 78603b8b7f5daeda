"""Shared fixtures: paths to repository and shared data, a tiny untrained gene model."""

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
TEST_DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"


def write_ecoli_pieces(folder: Path, prefix: str, count: int, piece: int) -> Path:
    """A genome folder of ``count`` 'genomes': consecutive ``piece`` bp slices of the bundled
    E. coli slice (``PREFIX0``, ``PREFIX1``, ...), each with its CDS, and a genomes.tsv."""
    from genoseq.io import read_fasta

    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq
    gff_lines = [line.split("\t") for line in (DATA / "ecoli_k12_500kb.gff3").read_text()
                 .splitlines() if line and not line.startswith("#")]
    rows = ["name\torganism\ttranslation_table\tgc_percent"]
    for k in range(count):
        name, first = f"{prefix}{k}", k * piece
        part = seq[first:first + piece]
        (folder / f"{name}.fna").write_text(f">{name}\n{part.decode()}\n")
        kept = []
        for cols in gff_lines:
            start, end = int(cols[3]), int(cols[4])
            if cols[2] == "CDS" and start > first and end <= first + piece:
                kept.append("\t".join([name, *cols[1:3], str(start - first), str(end - first),
                                       *cols[5:]]))
        (folder / f"{name}.gff3").write_text("##gff-version 3\n" + "\n".join(kept) + "\n")
        gc = 100 * sum(part.count(b) for b in (b"G", b"C")) / len(part)
        rows.append(f"{name}\tEscherichia coli piece {k}\t11\t{gc:.2f}")
    (folder / "genomes.tsv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests using it are skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_gene_model(tmp_path_factory) -> Path:
    """A small, untrained (seeded) gene model saved like the shipped one.

    Its calls are meaningless; it exercises every code path of prediction
    and output quickly. The gene bias is set so that it calls some genes.
    """
    from genoseq.genes.networks import GeneModels, save_gene_models
    from genoseq.genes.scoring import DecoderParams, OverlapRules
    from genoseq.nn.motif_cnn import MotifCNNConfig
    from genoseq.nn.tagger import TaggerConfig

    torch.manual_seed(0)
    models = GeneModels(
        TaggerConfig(input_channels=7, n_classes=7, conv_channels=8, conv_kernel=12,
                     conv_layers=1, stride=6, hidden=8, lstm_layers=1, dropout=0.0),
        MotifCNNConfig(window=69, n_filters=4, filter_width=6, pool=3, hidden=0),
    ).eval()
    params = DecoderParams(coding_weight=1.0, start_weight=1.0, gene_bias=1.0,
                           overlap=OverlapRules())
    stem = tmp_path_factory.mktemp("model") / "tiny"
    save_gene_models(models, params, stem, {"note": "untrained test model"})
    return stem
