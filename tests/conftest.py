"""Shared fixtures: paths to repository and shared data, a tiny untrained gene model."""

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
TEST_DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"


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
