"""Element mode: loci in genomic order, effects = response minus response without the element."""

import numpy as np
import pytest
import torch
from conftest import TEST_DATA

from genoseq.device import ComputeOptions
from genoseq.enhancers.loci import build_loci
from genoseq.enhancers.model import (
    EnhancerModel,
    EnhancerModelConfig,
    load_enhancer_model,
    save_enhancer_model,
)
from genoseq.enhancers.predict import element_effects, score_enhancer_pairs
from genoseq.enhancers.table import read_pairs

SLICE = TEST_DATA / "enhancer" / "crispri_K562_6chroms.GRCh38.tsv.gz"
CPU = ComputeOptions(device="cpu")


@pytest.fixture(scope="module")
def table():
    return read_pairs(SLICE)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    model = EnhancerModel(EnhancerModelConfig()).eval()
    with torch.no_grad():
        model.kick_net.weight.mul_(3)  # spread the kicks
    return model


def test_loci_walk_each_gene_in_genomic_order(table):
    loci = build_loci(table)
    assert sum(len(names) for names in loci.names) == table.groupby(
        ["CellType", "measuredGeneSymbol"]).ngroups
    bucket_index, row = loci.find("RPL3")
    bucket = loci.buckets[bucket_index]
    positions = bucket.positions[row]
    assert (positions.diff() >= 0).all()
    assert positions[bucket.tss_index[row]] == 0 and not bucket.is_element[row, bucket.tss_index[row]]
    rows = bucket.rows[row][bucket.is_element[row]].numpy()
    genes = table.iloc[rows]
    assert len(rows) == 8 and (genes["measuredGeneSymbol"] == "RPL3").all()
    centre = (genes["chromStart"] + genes["chromEnd"]) / 2
    side = np.sign(centre - genes["startTSS"]).to_numpy()
    expected = side * genes["distanceToTSS"].astype(float).to_numpy() / 1000
    np.testing.assert_allclose(positions[bucket.is_element[row]].numpy(), expected, rtol=1e-6)


def test_effect_is_response_minus_response_without_the_element(table, model):
    loci = build_loci(table)
    bucket = loci.buckets[-1]
    with torch.no_grad():
        out = model(bucket)
        for row in range(bucket.positions.shape[0]):
            for slot in torch.nonzero(bucket.is_element[row]).flatten().tolist():
                kicks = out.kicks[row].clone()
                kicks[slot] = 0.0
                state = model.integrator(kicks.unsqueeze(0), bucket.positions[row].unsqueeze(0))
                without = model.readout(torch.log(state[0, bucket.tss_index[row]]))
                expected = model.readout(out.log_input[row]) - without
                assert out.effects[row, slot].item() == pytest.approx(
                    expected.item(), rel=1e-3, abs=1e-6)
    assert (out.effects[~bucket.is_element] == 0).all()


def test_scores_are_absolute_effects_and_survive_save_and_load(table, model, tmp_path):
    scored = score_enhancer_pairs(table, model, compute=CPU)
    effects = element_effects(model, build_loci(table), compute=CPU)
    np.testing.assert_array_equal(scored["genoseq_score"].to_numpy(), np.abs(effects))
    assert list(scored.columns[:-1]) == list(table.columns)
    save_enhancer_model(model, tmp_path / "m", {"note": "test"})
    loaded, metadata = load_enhancer_model(tmp_path / "m")
    assert metadata == {"note": "test"}
    rescored = score_enhancer_pairs(table, loaded, compute=CPU)
    np.testing.assert_array_equal(rescored["genoseq_score"], scored["genoseq_score"])
