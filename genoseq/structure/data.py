"""Secondary-structure tables: reading, residue/label encoding, length-bucketed batches.

A table is the data card's TSV (``../shared/data/ss/README.md``): a header
``id seq q8 q3 mask``, then one chain per line; ``q8`` may be empty (chain
without Q8 labels), ``mask`` marks the residues that count. Plain or
compressed (sniffed by :func:`genoseq.io.open_input`).

Batches hold residue indices ``(batch, length)`` padded with
:data:`PAD_INDEX` at the end, and targets ``(batch, length, 2)``: the Q8
class in column 0 and the Q3 class in column 1, ``-100`` where a residue is
masked, unlabelled or padding.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genoseq.encoding import protein_to_index
from genoseq.io.compression import open_input
from genoseq.io.errors import InvalidFileError
from genoseq.nn.inference import length_batches
from genoseq.nn.train import IGNORE

#: DSSP 8-state classes in output-index order (C = DSSP blank / other).
Q8_CLASSES = "HGIEBTSC"
#: 3-state classes in output-index order.
Q3_CLASSES = "HEC"
#: Q3 index of each Q8 index: H,G,I → H; E,B → E; T,S,C → C.
Q8_TO_Q3 = np.array([0, 0, 0, 1, 1, 2, 2, 2], dtype=np.int64)
#: Residue index marking padding past the end of a chain (after
#: :func:`genoseq.encoding.protein_to_index`'s 0-21).
PAD_INDEX = 22

_HEADER = ["id", "seq", "q8", "q3", "mask"]
_Q8_CODES = np.full(256, -1, dtype=np.int8)
_Q8_CODES[np.frombuffer(Q8_CLASSES.encode(), dtype=np.uint8)] = np.arange(8)
_Q3_CODES = np.full(256, -1, dtype=np.int8)
_Q3_CODES[np.frombuffer(Q3_CLASSES.encode(), dtype=np.uint8)] = np.arange(3)


@dataclass
class Chain:
    """One labelled chain.

    Attributes
    ----------
    id : str
    sequence : str
        One-letter amino acids as in the table.
    residues : np.ndarray, shape (length,), uint8
        :func:`genoseq.encoding.protein_to_index` of the sequence.
    q8, q3 : np.ndarray, shape (length,), int8
        Class indices into :data:`Q8_CLASSES` / :data:`Q3_CLASSES`, ``-1``
        where the residue is masked (and everywhere in ``q8`` for a chain
        without Q8 labels).
    """

    id: str
    sequence: str
    residues: np.ndarray
    q8: np.ndarray
    q3: np.ndarray

    def __len__(self) -> int:
        return len(self.residues)


def _labels(text: str, codes: np.ndarray, alphabet: str, name: str, length: int,
            path, line: int) -> np.ndarray:
    if len(text) != length:
        raise InvalidFileError(path, line, f"{name} has {len(text)} characters but seq has "
                                           f"{length}: expected equal lengths")
    labels = codes[np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)]
    if (labels < 0).any():
        bad = text[int(np.argmax(labels < 0))]
        raise InvalidFileError(path, line, f"{name} has {bad!r}: expected only {alphabet}")
    return labels


def read_ss_table(path: str | os.PathLike) -> list[Chain]:
    """Read a secondary-structure table in the data card's format.

    Parameters
    ----------
    path : str or os.PathLike
        TSV, plain or gzip/bz2/xz compressed.

    Returns
    -------
    list of Chain
        In file order; labels of masked residues set to ``-1``.

    Raises
    ------
    InvalidFileError
        Wrong header, wrong field count, lengths that differ, letters outside
        the Q8/Q3 alphabets, a mask other than 0/1, or a duplicate id.
    """
    with open_input(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        lines = text.read().split("\n")
    if not lines or lines[0].rstrip("\r").split("\t") != _HEADER:
        raise InvalidFileError(path, 1, f"header {lines[0][:60]!r}: expected "
                                        f"{chr(9).join(_HEADER)!r} (tab-separated)")
    chains = []
    seen = set()
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(_HEADER):
            raise InvalidFileError(path, number, f"{len(fields)} fields: expected "
                                                 f"{len(_HEADER)} ({', '.join(_HEADER)})")
        chain_id, seq, q8, q3, mask = fields
        if chain_id in seen:
            raise InvalidFileError(path, number, f"duplicate id {chain_id!r}")
        seen.add(chain_id)
        length = len(seq)
        if len(mask) != length or set(mask) - {"0", "1"}:
            raise InvalidFileError(path, number, f"mask of chain {chain_id!r} must be "
                                                 f"{length} characters 0/1")
        keep = np.frombuffer(mask.encode(), dtype=np.uint8) == ord("1")
        q3_labels = _labels(q3, _Q3_CODES, Q3_CLASSES, "q3", length, path, number)
        if q8:
            q8_labels = _labels(q8, _Q8_CODES, Q8_CLASSES, "q8", length, path, number)
        else:
            q8_labels = np.full(length, -1, dtype=np.int8)
        q3_labels[~keep] = -1
        q8_labels[~keep] = -1
        chains.append(Chain(chain_id, seq, protein_to_index(seq.encode("ascii", "replace")),
                            q8_labels, q3_labels))
    if not chains:
        raise InvalidFileError(path, None, "no chains: expected a header and at least one row")
    return chains


def pad_residues(residues: Sequence[np.ndarray]) -> torch.Tensor:
    """Stack residue-index arrays into ``(batch, max_length)`` int64, padded with :data:`PAD_INDEX`."""
    out = np.full((len(residues), max(len(r) for r in residues)), PAD_INDEX, dtype=np.int64)
    for row, values in enumerate(residues):
        out[row, :len(values)] = values
    return torch.from_numpy(out)


def make_batch(pieces: Sequence[tuple[Chain, int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of ``[(chain, begin, end), ...]`` (each a slice of a chain).

    Returns
    -------
    residues : torch.Tensor, shape (batch, length), int64
        Padded with :data:`PAD_INDEX`.
    targets : torch.Tensor, shape (batch, length, 2), int64
        Q8 (column 0) and Q3 (column 1) classes, ``-100`` where ignored.
    """
    residues = pad_residues([chain.residues[b:e] for chain, b, e in pieces])
    targets = np.full((*residues.shape, 2), IGNORE, dtype=np.int64)
    for row, (chain, begin, end) in enumerate(pieces):
        targets[row, :end - begin, 0] = chain.q8[begin:end]
        targets[row, :end - begin, 1] = chain.q3[begin:end]
    targets[targets < 0] = IGNORE
    return residues, torch.from_numpy(targets)


class CroppedBatchSampler:
    """Training batches of chains of similar length, long chains cropped at random.

    Chains are sorted by cropped length; a batch is a run of neighbours in
    that order, as many as fit in ``max_residues`` padded positions, from a
    first chain drawn with probability proportional to its squared cropped
    length: batches of short chains hold more of them, so this keeps every
    residue (up to the crop) about equally likely to be trained on. Chains
    longer than ``crop`` are cut to a random window each time they are drawn.

    Parameters
    ----------
    chains : sequence of Chain
    max_residues : int
        Padded positions per batch (batch size × longest cropped length).
    crop : int
        Longest piece of a chain in one batch.
    """

    def __init__(self, chains: Sequence[Chain], max_residues: int = 8192, crop: int = 512):
        if crop > max_residues:
            raise ValueError(f"crop {crop} exceeds max_residues {max_residues}")
        self.crop = crop
        self.max_residues = max_residues
        order = np.argsort([min(len(c), crop) for c in chains], kind="stable")
        self.chains = [chains[i] for i in order]
        sizes = np.array([min(len(c), crop) for c in self.chains], dtype=np.float64)
        self.first_probability = sizes**2 / (sizes**2).sum()

    def __call__(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        first = int(rng.choice(len(self.chains), p=self.first_probability))
        pieces = []
        for chain in self.chains[first:]:
            size = min(len(chain), self.crop)
            if pieces and (len(pieces) + 1) * size > self.max_residues:
                break
            begin = int(rng.integers(len(chain) - size + 1))
            pieces.append((chain, begin, begin + size))
        return make_batch(pieces)


def validation_batches(chains: Sequence[Chain], max_residues: int = 16384
                       ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Whole chains as fixed, length-bucketed batches (see :func:`make_batch`)."""
    return [make_batch([(chains[i], 0, len(chains[i])) for i in group])
            for group in length_batches([len(c) for c in chains], max_residues)]
