"""Reading secondary-structure tables, and length-bucketed, cropped batches."""

import gzip

import numpy as np
import pytest
import torch

from genoseq.io import InvalidFileError
from genoseq.nn.train import IGNORE
from genoseq.structure.data import (
    PAD_INDEX,
    CroppedBatchSampler,
    length_batches,
    make_batch,
    read_ss_table,
    validation_batches,
)

HEADER = "id\tseq\tq8\tq3\tmask\n"


def write(path, text, compress=False):
    if compress:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def test_reads_labels_masks_and_missing_q8(tmp_path):
    path = write(tmp_path / "t.tsv.gz", HEADER + "a\tACDX\tHGEC\tHHEC\t1101\nb\tMKU\t\tCCE\t111\n",
                 compress=True)
    a, b = read_ss_table(path)
    assert (a.id, a.sequence, len(a), b.id, len(b)) == ("a", "ACDX", 4, "b", 3)
    assert a.residues.tolist() == [0, 1, 2, 20]
    assert a.q8.tolist() == [0, 1, -1, 7] and a.q3.tolist() == [0, 0, -1, 2]
    assert b.q8.tolist() == [-1, -1, -1] and b.q3.tolist() == [2, 2, 1]


@pytest.mark.parametrize("text, line, words", [
    ("id\tseq\tq3\n", 1, "header"),
    (HEADER + "a\tAC\tHH\tHH\n", 2, "4 fields"),
    (HEADER + "a\tAC\tHH\tHH\t11\na\tAC\tHH\tHH\t11\n", 3, "duplicate id 'a'"),
    (HEADER + "a\tACD\tHH\tHHH\t111\n", 2, "q8 has 2 characters but seq has 3"),
    (HEADER + "a\tAC\tHX\tHH\t11\n", 2, "q8 has 'X'"),
    (HEADER + "a\tAC\tHH\tHG\t11\n", 2, "q3 has 'G'"),
    (HEADER + "a\tAC\tHH\tHH\t12\n", 2, "mask"),
])
def test_malformed_tables_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path / "bad.tsv", text)
    with pytest.raises(InvalidFileError) as error:
        read_ss_table(path)
    assert str(error.value).startswith(f"{path}:{line}: ") and words in str(error.value)


def test_empty_table_is_an_error(tmp_path):
    with pytest.raises(InvalidFileError, match="no chains"):
        read_ss_table(write(tmp_path / "empty.tsv", HEADER))


def test_make_batch_pads_and_ignores(tmp_path):
    a, b = read_ss_table(write(tmp_path / "t.tsv", HEADER + "a\tACDX\tHGEC\tHHEC\t1101\n"
                                                   "b\tMKU\t\tCCE\t111\n"))
    residues, targets = make_batch([(a, 1, 4), (b, 0, 2)])
    assert residues.tolist() == [[1, 2, 20], [10, 8, PAD_INDEX]]
    assert targets.shape == (2, 3, 2) and targets.dtype == torch.int64
    assert targets[0].tolist() == [[1, 0], [IGNORE, IGNORE], [7, 2]]
    assert targets[1].tolist() == [[IGNORE, 2], [IGNORE, 2], [IGNORE, IGNORE]]


def test_length_batches_respect_budget_and_count():
    lengths = [5, 50, 7, 300, 6, 49]
    groups = length_batches(lengths, max_residues=100, max_items=2)
    assert sorted(np.concatenate(groups).tolist()) == list(range(6))
    for group in groups:
        assert len(group) <= 2
        assert len(group) == 1 or len(group) * max(lengths[i] for i in group) <= 100
    assert [lengths[i] for i in groups[-1]] == [300]


def test_sampler_crops_stays_in_budget_and_is_seeded(planted_tables):
    chains = read_ss_table(planted_tables[0])
    sampler = CroppedBatchSampler(chains, max_residues=512, crop=64)
    for _ in range(20):
        residues, targets = sampler(np.random.default_rng(_))
        assert residues.shape[1] <= 64 and residues.numel() <= 512
        assert targets.shape == (*residues.shape, 2)
    first = sampler(np.random.default_rng(5))
    again = sampler(np.random.default_rng(5))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    with pytest.raises(ValueError, match="crop"):
        CroppedBatchSampler(chains, max_residues=32, crop=64)


def test_validation_batches_cover_every_residue_once(planted_tables):
    chains = read_ss_table(planted_tables[1])
    batches = validation_batches(chains, max_residues=1000)
    assert sum(int((r != PAD_INDEX).sum()) for r, _ in batches) == sum(len(c) for c in chains)
