"""Seed ensembles of the secondary-structure model: mean probabilities, saved like one model."""

import numpy as np
import pytest
import torch

import genoseq.device
import genoseq.structure.predict
from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.encoding import protein_to_index
from genoseq.nn.tagger import TaggerConfig
from genoseq.structure.model import SecondaryStructureEnsemble, SecondaryStructureModel
from genoseq.structure.predict import (
    load_ss_model,
    predict_probabilities,
    predict_secondary_structure,
    save_ss_model,
    ss_precision,
)

CHAINS = [protein_to_index(s) for s in (b"MKTAYIAKQRQISFVKSHFSRQ", b"GAVLIPX*", b"MA")]


def tiny(seed: int) -> SecondaryStructureModel:
    torch.manual_seed(seed)
    return SecondaryStructureModel(TaggerConfig(21, 11, conv_channels=8, conv_kernel=5,
                                                hidden=8, lstm_layers=1, dropout=0.0)).eval()


def test_ensemble_averages_member_probabilities():
    members = [tiny(0), tiny(1), tiny(2)]
    ensemble = SecondaryStructureEnsemble(members).eval()
    got = predict_probabilities(ensemble, CHAINS, compute=ComputeOptions(device="cpu"))
    each = [predict_probabilities(m, CHAINS, compute=ComputeOptions(device="cpu")) for m in members]
    for k in range(len(CHAINS)):
        np.testing.assert_allclose(got[k], np.mean([e[k] for e in each], axis=0), atol=1e-5)
        np.testing.assert_allclose(got[k][:, :8].sum(1), 1.0, atol=1e-5)


def test_ensemble_saves_and_loads_like_one_model(tmp_path):
    ensemble = SecondaryStructureEnsemble([tiny(0), tiny(1)]).eval()
    save_ss_model(ensemble, tmp_path / "ens", {"note": "test"})
    loaded, metadata = load_ss_model(tmp_path / "ens")
    assert isinstance(loaded, SecondaryStructureEnsemble) and len(loaded.members) == 2
    assert metadata["note"] == "test"
    sequences = ["MKTAYIAKQRQISF", "GAVLIP"]
    a = predict_secondary_structure(sequences, model=ensemble, compute=ComputeOptions(device="cpu"))
    b = predict_secondary_structure(sequences, model=tmp_path / "ens",
                                    compute=ComputeOptions(device="cpu"))
    assert a.equals(b)


def test_train_ss_with_seeds_writes_members_and_ensemble(planted_tables, tmp_path, capsys):
    train, valid = planted_tables
    code = main(["train", "ss", "--train", str(train), "--valid", str(valid),
                 "-o", str(tmp_path / "ss"), "--run-dir", str(tmp_path / "run"),
                 "--seeds", "3,4", "--epochs", "1", "--steps", "3", "--hidden", "8",
                 "--conv-channels", "8", "--lstm-layers", "1", "-q"])
    assert code == 0
    for name in ("ss.seed3.pt", "ss.seed4.pt", "ss.pt", "ss.json"):
        assert (tmp_path / name).exists()
    assert (tmp_path / "run" / "seed3" / "checkpoint.pt").exists()
    model, metadata = load_ss_model(tmp_path / "ss")
    assert isinstance(model, SecondaryStructureEnsemble)
    assert metadata["ensemble_seeds"] == [3, 4]
    assert "validation" in capsys.readouterr().out


def test_seed_list_must_be_integers(capsys):
    assert main(["train", "ss", "--train", "a", "--valid", "b", "-o", "c", "--run-dir", "d",
                 "--seeds", "1,x"]) == 2
    assert "expected comma-separated integers" in capsys.readouterr().err


def wide(seed: int) -> SecondaryStructureModel:
    torch.manual_seed(seed)
    return SecondaryStructureModel(TaggerConfig(21, 11, conv_channels=12, conv_kernel=7,
                                                hidden=16, lstm_layers=2, dropout=0.0)).eval()


def test_members_of_different_architectures_save_and_load(tmp_path):
    members = [tiny(0), wide(1)]
    ensemble = SecondaryStructureEnsemble(members).eval()
    save_ss_model(ensemble, tmp_path / "mixed")
    loaded, _ = load_ss_model(tmp_path / "mixed")
    assert [m.config.hidden for m in loaded.members] == [8, 16]
    for got, expected in zip(predict_probabilities(loaded, CHAINS,
                                                   compute=ComputeOptions(device="cpu")),
                             predict_probabilities(ensemble, CHAINS,
                                                   compute=ComputeOptions(device="cpu")), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_train_ss_ensemble_combines_saved_models(planted_tables, tmp_path, capsys):
    _, valid = planted_tables
    save_ss_model(SecondaryStructureEnsemble([tiny(0), tiny(1)]).eval(), tmp_path / "pair",
                  {"members": [{"seed": 0}, {"seed": 1}]})
    save_ss_model(wide(2), tmp_path / "big", {"seed": 2})
    code = main(["train", "ss-ensemble", str(tmp_path / "pair"), str(tmp_path / "big"),
                 "--valid", str(valid), "-o", str(tmp_path / "out" / "all"), "--threads", "1"])
    assert code == 0
    assert "validation" in capsys.readouterr().out
    model, metadata = load_ss_model(tmp_path / "out" / "all")
    assert len(model.members) == 3
    assert [card["from"] for card in metadata["members"]] == ["pair", "pair", "big"]
    assert [card["seed"] for card in metadata["members"]] == [0, 1, 2]
    assert 0.0 <= metadata["valid_scores"]["q3"] <= 1.0
    # The combined ensemble is the mean of all three networks.
    each = [predict_probabilities(m, CHAINS,
                                  compute=ComputeOptions(device="cpu")) for m in (tiny(0), tiny(1), wide(2))]
    for k, got in enumerate(predict_probabilities(model, CHAINS,
                                                  compute=ComputeOptions(device="cpu"))):
        np.testing.assert_allclose(got, np.mean([e[k] for e in each], axis=0), atol=1e-5)


def test_precision_options_agree_and_auto_follows_the_cpu(monkeypatch):
    model = tiny(0)
    fp32 = predict_probabilities(model, CHAINS,
                                 compute=ComputeOptions(device="cpu", precision="fp32"))
    bf16 = predict_probabilities(model, CHAINS,
                                 compute=ComputeOptions(device="cpu", precision="bf16"))
    for a, b in zip(fp32, bf16, strict=True):
        np.testing.assert_allclose(a, b, atol=0.05)
    # "auto" on a CPU without native bf16 is int8 for this predictor (fp32 for the others),
    # or fp32 where torch cannot quantize.
    monkeypatch.setattr(genoseq.device, "cpu_has_native_bf16", lambda: False)
    assert genoseq.device.resolve_precision("cpu", "auto") == "fp32"
    assert ss_precision(torch.device("cpu"), "auto") == "int8"
    int8 = predict_probabilities(model, CHAINS,
                                 compute=ComputeOptions(device="cpu", precision="int8"))
    auto = predict_probabilities(model, CHAINS,
                                 compute=ComputeOptions(device="cpu", precision="auto"))
    for a, b, c in zip(fp32, int8, auto, strict=True):
        np.testing.assert_array_equal(b, c)
        np.testing.assert_allclose(a, b, atol=0.05)
        assert not np.array_equal(a, b)  # the quantized copy did run
    monkeypatch.setattr(genoseq.structure.predict, "int8_available", lambda: False)
    assert ss_precision(torch.device("cpu"), "auto") == "fp32"
    auto = predict_probabilities(model, CHAINS,
                                 compute=ComputeOptions(device="cpu", precision="auto"))
    for a, b in zip(fp32, auto, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="quantized CPU engine"):
        ss_precision(torch.device("cpu"), "int8")
    monkeypatch.setattr(genoseq.device, "cpu_has_native_bf16", lambda: True)
    assert genoseq.device.resolve_precision("cpu", "auto") == "bf16"
    assert ss_precision(torch.device("cpu"), "auto") == "bf16"
    assert genoseq.device.resolve_precision("cpu", "fp16") == "fp16"


def test_int8_leaves_the_model_alone_and_is_for_the_cpu_only():
    model = tiny(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    predict_probabilities(model, CHAINS, compute=ComputeOptions(device="cpu", precision="int8"))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert isinstance(model.tagger.lstm, torch.nn.LSTM)
    with pytest.raises(ValueError, match="CPU only"):
        ss_precision(torch.device("cuda"), "int8")
    # Other models' arithmetic has no int8: a clear error, not a silent fp32.
    with pytest.raises(ValueError, match="secondary-structure predictor only"):
        genoseq.device.resolve_precision("cpu", "int8")
