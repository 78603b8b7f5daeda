"""predict_secondary_structure: input forms, unknown residues, batching, probabilities."""

import numpy as np
import pytest

from genoseq.device import ComputeOptions
from genoseq.io import read_fasta
from genoseq.structure.predict import load_ss_model, predict_secondary_structure

Q3 = set("HEC")
Q8 = set("HGIEBTSC")


def test_frame_columns_lengths_and_alphabets(tiny_ss_model):
    sequences = ["MKTAYIAKQRQISFVKSHFSRQ", "ACDEFGHIKLMNPQRSTVWY" * 7, "G"]
    frame = predict_secondary_structure(sequences, model=tiny_ss_model)
    assert list(frame.columns) == ["id", "sequence", "q3", "q8"]
    assert frame["id"].tolist() == ["0", "1", "2"]
    assert frame["sequence"].tolist() == sequences
    for row in frame.itertuples():
        assert len(row.q3) == len(row.q8) == len(row.sequence)
        assert set(row.q3) <= Q3 and set(row.q8) <= Q8


def test_unknown_residues_empty_and_lower_case_never_fail(tiny_ss_model):
    frame = predict_secondary_structure(
        {"odd": "MXBZUOJ*KL*", "empty": "", "lower": "mktayiak"}, model=tiny_ss_model)
    assert frame["id"].tolist() == ["odd", "empty", "lower"]
    assert [len(q) for q in frame["q8"]] == [11, 0, 8]
    assert frame["sequence"].tolist()[2] == "MKTAYIAK"


def test_accepts_pairs_and_fasta_records(tiny_ss_model, tmp_path):
    path = tmp_path / "p.faa"
    path.write_text(">p1 some protein\nMKTAYIAKQR\nQISFVK*\n>p2\nMSTNPKPQRK\n")
    from_records = predict_secondary_structure(read_fasta(path, alphabet="protein"),
                                               model=tiny_ss_model)
    from_pairs = predict_secondary_structure([("p1", "MKTAYIAKQRQISFVK*"), ("p2", "MSTNPKPQRK")],
                                             model=tiny_ss_model)
    assert from_records.equals(from_pairs)


def test_batching_does_not_change_results(tiny_ss_model):
    rng = np.random.default_rng(3)
    sequences = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), int(n)))
                 for n in rng.integers(5, 300, size=12)]
    model, _ = load_ss_model(tiny_ss_model)
    # Exact in float32; bf16 rounding depends on the kernels a batch shape picks.
    one = predict_secondary_structure(sequences, model=model, probabilities=True,
                                      compute=ComputeOptions(batch_size=1, precision="fp32"))
    many = predict_secondary_structure(sequences, model=model, probabilities=True,
                                       compute=ComputeOptions(batch_size=64, precision="fp32"))
    for a, b in zip(one.itertuples(), many.itertuples(), strict=True):
        np.testing.assert_allclose(a.q8_probs, b.q8_probs, atol=1e-5)
        np.testing.assert_allclose(a.q3_probs, b.q3_probs, atol=1e-5)
    assert one["q3"].tolist() == many["q3"].tolist()


def test_probabilities_match_the_calls(tiny_ss_model):
    frame = predict_secondary_structure(["MKTAYIAKQRQISFVKSHFSRQ"], model=tiny_ss_model,
                                        probabilities=True)
    q3, q8 = frame.at[0, "q3_probs"], frame.at[0, "q8_probs"]
    assert q3.shape == (22, 3) and q8.shape == (22, 8)
    np.testing.assert_allclose(q3.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(q8.sum(1), 1, rtol=1e-5)
    assert "".join("HEC"[i] for i in q3.argmax(1)) == frame.at[0, "q3"]
    assert "".join("HGIEBTSC"[i] for i in q8.argmax(1)) == frame.at[0, "q8"]


def test_bad_arguments(tiny_ss_model):
    with pytest.raises(TypeError, match="not one string"):
        predict_secondary_structure("MKTAYIAK", model=tiny_ss_model)
    with pytest.raises(ValueError, match="non-ASCII"):
        predict_secondary_structure(["MKTÄ"], model=tiny_ss_model)
    with pytest.raises(ValueError, match="batch_size"):
        predict_secondary_structure(["MKT"], model=tiny_ss_model,
                                    compute=ComputeOptions(batch_size=0))
