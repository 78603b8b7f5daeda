"""Tests for genoseq.info: the statistics of ``genoseq info``."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from genoseq import info
from genoseq.info import file_stats, n50


def _reference(seqs: list[bytes]) -> dict:
    """The statistics computed the plain way, from a 256-bin histogram of every residue."""
    counts = np.bincount(np.frombuffer(b"".join(seqs), np.uint8), minlength=256)
    total = sum(len(s) for s in seqs)
    acgt = sum(int(counts[ord(c)]) for c in "ACGTU")
    dna = acgt + int(counts[ord("N")]) >= 0.9 * total
    return {
        "records": len(seqs),
        "total_length": total,
        "type": "DNA" if dna else "protein",
        "gc_percent": 100 * int(counts[ord("G")] + counts[ord("C")]) / acgt if dna else None,
        "n_percent": 100 * int(counts[ord("N")]) / total if dna else None,
    }


def _write(path, seqs: list[bytes]) -> None:
    with open(path, "wb") as handle:
        for index, seq in enumerate(seqs):
            handle.write(f">s{index}\n".encode())
            handle.write("\n".join(textwrap.wrap(seq.decode(), 70)).encode() + b"\n")


@pytest.mark.parametrize("block", [5, 64, 1 << 18])
def test_counts_match_a_histogram(tmp_path, monkeypatch, block):
    """Counting per block (records gathered, long ones cut) gives the histogram's figures,
    whatever the block size; U counts with T, IUPAC codes and gaps count in neither."""
    monkeypatch.setattr(info, "_BLOCK", block)
    rng = np.random.default_rng(3)
    letters = np.frombuffer(b"ACGTUNRYKM-", np.uint8)
    weights = np.array([20, 20, 20, 20, 3, 8, 1, 1, 1, 1, 5], float)
    seqs = [
        letters[rng.choice(len(letters), size, p=weights / weights.sum())].tobytes()
        for size in [1, 7, 300, 70_000, 3, 300_000, 12]
    ]
    path = tmp_path / "mixed.fa"
    _write(path, seqs)
    stats = file_stats(path).as_dict()
    expected = _reference(seqs)
    for key in ("gc_percent", "n_percent"):
        assert stats.pop(key) == pytest.approx(expected.pop(key), abs=1e-12)
    assert {key: stats[key] for key in expected} == expected
    lengths = [len(s) for s in seqs]
    assert (stats["n50"], stats["min_length"], stats["max_length"]) == (300_000, 1, 300_000)
    assert n50(np.array(lengths)) == 300_000


def test_lower_case_is_counted_as_upper(tmp_path):
    _write(tmp_path / "upper.fa", [b"ACGTNNGGCC" * 1000])
    _write(tmp_path / "lower.fa", [b"acgtnnggcc" * 1000])
    upper, lower = (file_stats(tmp_path / name).as_dict() for name in ("upper.fa", "lower.fa"))
    assert {**upper, "file": ""} == {**lower, "file": ""}
    assert (upper["gc_percent"], upper["n_percent"]) == (75.0, 20.0)


def test_protein_file_has_no_gc(tmp_path):
    _write(tmp_path / "p.faa", [b"MKLVACGTWWEEQQ" * 10, b"MAGT"])
    stats = file_stats(tmp_path / "p.faa")
    assert (stats.type, stats.gc_percent, stats.n_percent, stats.records) == ("protein", None, None, 2)
