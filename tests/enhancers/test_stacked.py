"""The stacked link: a logistic regression on the pair's inputs and the integrator's effect."""

import json

import numpy as np
import pytest
import torch
from conftest import TEST_DATA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.preprocessing import StandardScaler

from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.enhancers.model import EnhancerModel, EnhancerModelConfig, load_enhancer_model
from genoseq.enhancers.predict import element_effects, loci_for, pair_inputs, score_enhancer_pairs
from genoseq.enhancers.table import read_pairs
from genoseq.enhancers.train import (
    EnhancerTrainConfig,
    chromosome_folds,
    fit_stacked_link,
    train_stacked_enhancer_model,
)
from genoseq.io import GenoseqWarning

SLICE = TEST_DATA / "enhancer" / "crispri_K562_6chroms.GRCh38.tsv.gz"
CPU = ComputeOptions(device="cpu")
QUICK = EnhancerTrainConfig(max_steps=10, eval_every=5, patience=10, seed=0)


@pytest.fixture(scope="module")
def table():
    return read_pairs(SLICE)


def planted(table, quantile=0.9, seed=0):
    """Labels on the farthest pairs (with noise): where an effect alone cannot put them."""
    rng = np.random.default_rng(seed)
    signal = np.log(table["distanceToTSS"].astype(float).abs().to_numpy() + 1.0)
    return signal + 0.3 * rng.standard_normal(len(table)) > np.quantile(signal, quantile)


def test_folded_link_scores_as_the_logistic_regression_it_was_fitted_as(table):
    """The model's logit is the stage-2 regression's decision function, exactly."""
    torch.manual_seed(3)
    model = EnhancerModel(EnhancerModelConfig()).eval()
    with torch.no_grad():
        model.kick_net.weight.mul_(3)
    model.set_feature_scaling(loci_for(model, table).buckets)
    effects = element_effects(model, loci_for(model, table), compute=CPU)
    # Labels that need both: the element's effect and (against it) its distance.
    rng = np.random.default_rng(0)
    log_effect = np.log(np.abs(effects))
    distance = np.log(table["distanceToTSS"].astype(float).abs().to_numpy())
    z = ((log_effect - log_effect.mean()) / log_effect.std()
         + (distance - distance.mean()) / distance.std() + 0.5 * rng.standard_normal(len(table)))
    y = z > np.quantile(z, 0.9)
    labelled = table.assign(Regulated=np.where(y, "TRUE", "FALSE"))
    folds = chromosome_folds(labelled["chrom"], 3)
    group = labelled["chrom"].map(folds).to_numpy()
    stacked, link = fit_stacked_link(model, labelled, effects, group, c_grid=(0.1, 1.0))
    assert stacked.config.pair_readout and link["c"] in (0.1, 1.0)

    x = np.column_stack([pair_inputs(model, loci_for(model, labelled)), log_effect])
    scaler = StandardScaler().fit(x)
    expected = LogisticRegression(C=link["c"], max_iter=5000).fit(scaler.transform(x), y)
    expected = expected.decision_function(scaler.transform(x))
    got = score_enhancer_pairs(labelled, stacked, compute=CPU)["genoseq_score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert link["log_effect_weight"] > 0.1
    assert link["log_effect_weight"] == pytest.approx(float(stacked.log_link_slope.detach().exp()),
                                                      rel=1e-5)
    # Both inputs carry it: the link beats the regression without the effect.
    assert link["cv_auprc"] > link["cv_auprc_without_effect"]


def test_stacked_model_learns_a_planted_pair_signal_and_keeps_it_through_save(table, tmp_path):
    """Labels the integrator's effect cannot rank (the farthest pairs) are recovered by the
    stacked link; the model saves and loads as a pair-readout model with the same scores."""
    y = planted(table)
    labelled = table.assign(Regulated=np.where(y, "TRUE", "FALSE"))
    # The farther, the smaller an effect: the regression weighs it negatively, and the
    # link is refitted without it rather than given a weight of the wrong sign.
    with pytest.warns(GenoseqWarning, match="refitted without it"):
        model, metadata = train_stacked_enhancer_model(labelled, EnhancerModelConfig(), QUICK)
    scores = score_enhancer_pairs(labelled, model, compute=CPU)["genoseq_score"].to_numpy()
    assert average_precision_score(y, scores) > 0.6
    link = metadata["link"]
    assert link["cross_fit_groups"] == 5 and link["cv_auprc"] > 0.3  # base rate 0.1
    assert link["log_effect_weight"] == 0.0 > link["log_effect_weight_fitted"]
    from genoseq.enhancers.model import save_enhancer_model
    save_enhancer_model(model, tmp_path / "stacked", metadata)
    loaded, meta = load_enhancer_model(tmp_path / "stacked")
    assert loaded.config.pair_readout and meta["link"]["c"] == link["c"]
    again = score_enhancer_pairs(labelled, loaded, compute=CPU)["genoseq_score"].to_numpy()
    np.testing.assert_allclose(again, scores, rtol=1e-6)


def test_stacked_link_needs_three_chromosomes(table):
    two = table[table["chrom"].isin(["chr22", "chr9"])]
    with pytest.raises(ValueError, match="at least three chromosomes"):
        train_stacked_enhancer_model(two, EnhancerModelConfig(), QUICK)


def test_train_enhancer_stacked_command(table, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train", "enhancer", "--pairs", str(SLICE), "-o", str(out), "--stacked",
                 "--max-steps", "5", "--threads", "1", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "stacked link: C" in printed
    config = json.loads((tmp_path / "model.json").read_text())
    assert config["config"]["pair_readout"] is True
    scored = tmp_path / "scored.tsv"
    assert main(["enhancer", "-i", str(SLICE), "-o", str(scored), "--model", str(out),
                 "--threads", "1"]) == 0
    assert len(read_pairs(scored)) == len(table)


def test_stacked_and_pair_readout_exclude_each_other(tmp_path, capsys):
    assert main(["train", "enhancer", "--pairs", str(SLICE), "-o", str(tmp_path / "m"),
                 "--stacked", "--pair-readout"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_training_keeps_its_best_model_when_scores_turn_non_finite(table, monkeypatch):
    """A fit whose validation scores become NaN (a diverged optimiser) stops there and
    returns the best model so far instead of crashing the caller."""
    from genoseq.enhancers.model import EnhancerModel as Model
    from genoseq.enhancers.train import fit_enhancer_model

    loci = loci_for(Model(EnhancerModelConfig()), table)
    y = planted(table).astype(np.float64)
    settings = EnhancerTrainConfig(max_steps=30, eval_every=5, patience=30, seed=0)
    calls = {"n": 0}
    original = Model.pair_scores

    def failing(self, response):
        scores = original(self, response)
        if not self.training:
            calls["n"] += 1
        # Validation runs once per bucket; from the second evaluation on, NaN.
        return scores * np.nan if calls["n"] > len(loci.buckets) else scores

    monkeypatch.setattr(Model, "pair_scores", failing)
    result = fit_enhancer_model(EnhancerModelConfig(), loci, y, loci, y, settings,
                                compute=CPU)
    assert result.steps == 5 and result.stopped == 10
    assert result.history[-1] == {"step": 10, "diverged": True}
    monkeypatch.setattr(Model, "pair_scores", original)
    assert np.isfinite(score_enhancer_pairs(table, result.model, compute=CPU)
                       ["genoseq_score"]).all()
