"""Fixtures for the secondary-structure tests: planted-signal tables and a tiny saved model."""

import gzip

import numpy as np
import pytest
import torch

from genoseq.encoding import AMINO_ACIDS

Q8_TO_Q3 = {"H": "H", "G": "H", "I": "H", "E": "E", "B": "E", "T": "C", "S": "C", "C": "C"}


def planted_chain(rng: np.random.Generator, length: int) -> tuple[str, str]:
    """A random chain and its planted Q8 string.

    A and L are helix (H), V and I strand (E), a residue right after P is a
    turn (T), the rest coil (C): learnable only by reading each residue and
    its left neighbour.
    """
    seq = "".join(rng.choice(list(AMINO_ACIDS), size=length))
    q8 = []
    for i, residue in enumerate(seq):
        if residue in "AL":
            q8.append("H")
        elif residue in "VI":
            q8.append("E")
        elif i > 0 and seq[i - 1] == "P":
            q8.append("T")
        else:
            q8.append("C")
    return seq, "".join(q8)


def write_planted_table(path, n_chains: int, seed: int) -> None:
    """A gzipped table in the data card's format; every third chain has no Q8, a few masked residues."""
    rng = np.random.default_rng(seed)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        handle.write("id\tseq\tq8\tq3\tmask\n")
        for number in range(n_chains):
            seq, q8 = planted_chain(rng, int(rng.integers(20, 150)))
            q3 = "".join(Q8_TO_Q3[c] for c in q8)
            mask = "".join("0" if rng.random() < 0.05 else "1" for _ in seq)
            handle.write(f"c{number}\t{seq}\t{'' if number % 3 == 0 else q8}\t{q3}\t{mask}\n")


@pytest.fixture(scope="session")
def planted_tables(tmp_path_factory):
    """(train, valid) paths of planted-signal tables."""
    folder = tmp_path_factory.mktemp("ss_tables")
    write_planted_table(folder / "train.tsv.gz", 300, seed=1)
    write_planted_table(folder / "valid.tsv.gz", 40, seed=2)
    return folder / "train.tsv.gz", folder / "valid.tsv.gz"


@pytest.fixture(scope="session")
def tiny_ss_model(tmp_path_factory):
    """Stem of a small, untrained (seeded) secondary-structure model saved like the shipped one."""
    from genoseq.nn.tagger import TaggerConfig
    from genoseq.structure.model import SecondaryStructureModel
    from genoseq.structure.predict import save_ss_model

    torch.manual_seed(0)
    model = SecondaryStructureModel(TaggerConfig(input_channels=21, n_classes=11,
                                                 conv_channels=8, conv_kernel=5, conv_layers=2,
                                                 hidden=8, lstm_layers=2, dropout=0.0))
    stem = tmp_path_factory.mktemp("ss_model") / "tiny_ss"
    save_ss_model(model.eval(), stem, {"note": "untrained test model"})
    return stem


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small models run fastest on one thread; on a busy machine more threads spin and wait."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
