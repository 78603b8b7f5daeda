"""Seed ensembles of the secondary-structure model: mean probabilities, saved like one model."""

import numpy as np
import torch

from genoseq.cli import main
from genoseq.encoding import protein_to_index
from genoseq.nn.tagger import TaggerConfig
from genoseq.structure.model import SecondaryStructureEnsemble, SecondaryStructureModel
from genoseq.structure.predict import (
    load_ss_model,
    predict_probabilities,
    predict_secondary_structure,
    save_ss_model,
)

CHAINS = [protein_to_index(s) for s in (b"MKTAYIAKQRQISFVKSHFSRQ", b"GAVLIPX*", b"MA")]


def tiny(seed: int) -> SecondaryStructureModel:
    torch.manual_seed(seed)
    return SecondaryStructureModel(TaggerConfig(21, 11, conv_channels=8, conv_kernel=5,
                                                hidden=8, lstm_layers=1, dropout=0.0)).eval()


def test_ensemble_averages_member_probabilities():
    members = [tiny(0), tiny(1), tiny(2)]
    ensemble = SecondaryStructureEnsemble(members).eval()
    got = predict_probabilities(ensemble, CHAINS, device="cpu")
    each = [predict_probabilities(m, CHAINS, device="cpu") for m in members]
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
    a = predict_secondary_structure(sequences, device="cpu", model=ensemble)
    b = predict_secondary_structure(sequences, device="cpu", model=tmp_path / "ens")
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
