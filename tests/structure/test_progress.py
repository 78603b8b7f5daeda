"""The secondary-structure progress bar counts what it says it counts."""

import re

import genoseq
from genoseq.device import ComputeOptions


def test_bar_is_labelled_with_what_it_counts(capsys):
    chains = {f"p{i}": "MKRISTTITTTITITTGNGAG" * (1 + i % 3) for i in range(5)}
    genoseq.predict_secondary_structure(
        chains, compute=ComputeOptions(progress=True, batch_size=2, threads=1))
    err = capsys.readouterr().err
    # Batches of at most 2 chains: 3 batches for 5 chains, and the label says batches.
    assert "batches of chains" in err and re.search(r"\b3/3 \[", err), err
    assert "batch/s" in err or "s/batch" in err
