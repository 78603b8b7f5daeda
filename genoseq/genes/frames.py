"""Open-frame channels: per-frame distances to the in-frame stop codons, as network inputs.

A coding region is, before anything else, a stretch without stop codons in
one frame. Convolutions see stop codons only a few codons away, and a
recurrent model must count codons to know how far the frame it is reading
stays open; these channels say it outright. For every base and each of the
six frames (three absolute frames on each strand, numbered as the coding
model's classes, :data:`genoseq.genes.model.FRAME_CLASSES`) they give the
number of codons to the nearest in-frame stop codon downstream (where a
gene through this base would end) and upstream (how far its start could
lie), on a log scale. Unlike a one-hot codon phase, which is the same
pattern at every step of a network that reads whole codons, they differ
from frame to frame and from place to place.

The stop codons are those of the translation table: the channels are the
only place where the coding model learns the table.

:func:`frame_channels` computes them in torch, :func:`frame_channels_numpy`
the same values in numpy (for the torch-free networks of
:mod:`genoseq.genes.numpy_networks`); torch is imported only by the former.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from genoseq.encoding import codon_lookup

if TYPE_CHECKING:
    import torch

#: Channels added to the coding model's input: + strand downstream, + strand
#: upstream, − strand downstream, − strand upstream, three absolute frames each.
N_FRAME_CHANNELS = 12
#: Codon distances are given as ``log2(1 + codons) / FRAME_SCALE`` (≈ 1 at 1,000 codons).
FRAME_SCALE = 10.0


def _reverse_complement_codons() -> np.ndarray:
    """For each codon index (a*16 + b*4 + c), the index of its reverse complement; int64."""
    index = np.arange(64)
    a, b, c = index // 16, index // 4 % 4, index % 4
    return (3 - c) * 16 + (3 - b) * 4 + (3 - a)


_REVERSE_COMPLEMENT_CODON = _reverse_complement_codons()


@functools.cache
def _reverse_complement_codons_torch() -> torch.Tensor:
    import torch

    return torch.from_numpy(_REVERSE_COMPLEMENT_CODON)


def stop_codon_mask(translation_table: int = 11) -> np.ndarray:
    """Stop codons of an NCBI table as a (64,) bool array indexed by a*16 + b*4 + c (A=0 … T=3)."""
    return codon_lookup(translation_table).stop_mask[:64].copy()


def stop_codons(translation_table: int = 11) -> torch.Tensor:
    """:func:`stop_codon_mask` as a (64,) bool tensor."""
    import torch

    return torch.from_numpy(stop_codon_mask(translation_table))


def _triplets(index: torch.Tensor) -> torch.Tensor:
    """Codon index of the triplet starting at each position; 64 where a base is unknown or missing."""
    import torch

    batch, length = index.shape
    padded = torch.cat([index, index.new_full((batch, 2), 4)], dim=1)
    first, second, third = padded[:, :length], padded[:, 1:length + 1], padded[:, 2:length + 2]
    unknown = (first > 3) | (second > 3) | (third > 3)
    return torch.where(unknown, torch.full_like(first, 64), first * 16 + second * 4 + third)


def _distances(stop: torch.Tensor, offset: int, lengths: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Codons from each base to the next and the previous stop of each absolute frame.

    ``stop`` (batch, length) marks the first base of stop triplets. Returns two
    (batch, length, 3) tensors, frame f in column f: for base i, the codon of
    frame f holding it is ``k``; ``next`` is the codons from ``k`` to the first
    stop at or after it, ``previous`` from the last stop before it to ``k``.
    A frame open to the end of the input counts to that end: to the end of
    each row's ``lengths`` when given (padding is read as no bases at all).
    """
    import torch

    batch, length = stop.shape
    device = stop.device
    position = torch.arange(length, device=device)
    nexts, previous = [], []
    for frame in range(3):
        first = (frame - offset) % 3
        columns = torch.arange(first, length, 3, device=device)
        count = len(columns)
        if count == 0:
            nexts.append(torch.ones(batch, length, device=device, dtype=torch.long))
            previous.append(torch.ones(batch, length, device=device, dtype=torch.long))
            continue
        codon = torch.arange(count, device=device)
        is_stop = stop[:, columns]
        far = torch.full_like(codon, 1 << 30)
        following = torch.where(is_stop, codon, far).flip(1).cummin(1).values.flip(1)
        preceding = torch.where(is_stop, codon, -far).cummax(1).values
        if lengths is None:
            codons_in_row = torch.full((batch, 1), count, device=device)
        else:
            codons_in_row = ((lengths.to(device)[:, None] - first + 2) // 3).clamp(min=0)
        to_next = torch.minimum(following - codon, codons_in_row - codon).clamp(min=0)
        to_previous = torch.minimum(codon - preceding, codon + 1)
        # Base i lies in codon (i - first) // 3 of this frame (the bases before `first`
        # in codon 0, whose start is cut off by the input's edge).
        holder = ((position - first).clamp(min=0) // 3).clamp(max=count - 1)
        nexts.append(to_next[:, holder])
        previous.append(to_previous[:, holder])
    return torch.stack(nexts, dim=-1), torch.stack(previous, dim=-1)


def frame_channels(index: torch.Tensor, stops: torch.Tensor | None = None,
                   offset: int = 0, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """The 12 open-frame channels of a batch of sequences.

    Parameters
    ----------
    index : torch.Tensor, shape (batch, length), integer
        Bases A=0, C=1, G=2, T=3, anything else 4.
    stops : torch.Tensor, shape (64,) or (batch, 64), bool, optional
        Stop codons (:func:`stop_codons`), one set for all rows or one per
        row; default: table 11.
    offset : int
        Record position of column 0: absolute frame f is the codons starting at
        positions ≡ f (mod 3) of the record.
    lengths : torch.Tensor, shape (batch,), optional
        True length of each row of a padded batch: a frame open to a row's
        end counts to that end, so each row gets what it would get alone.

    Returns
    -------
    torch.Tensor, shape (batch, length, 12), float32
        Columns 0-2: codons to the next + strand stop downstream (to the
        right) in frames 0-2; 3-5: to the previous + strand stop (upstream);
        6-8: to the next − strand stop downstream of the gene (to the left);
        9-11: upstream on the − strand (to the right). A − strand codon of
        frame f is read from its highest base, at a position ≡ f (mod 3),
        as in the coding model's classes. Values ``log2(1 + codons) / 10``.
    """
    import torch

    index = index.long().clamp(max=4)
    if stops is None:
        stops = stop_codons(11)
    stops = stops.to(index.device)
    table = stops if stops.dim() == 2 else stops.expand(index.shape[0], 64)
    reverse = table[:, _reverse_complement_codons_torch().to(index.device)]
    triplet = _triplets(index)
    known = triplet < 64
    code = triplet.clamp(max=63)
    plus = torch.gather(table, 1, code) & known
    minus = torch.gather(reverse, 1, code) & known
    plus_down, plus_up = _distances(plus, offset, lengths)
    # A − strand codon on bases p..p+2 is read from p + 2: its frame is (p + 2) mod 3,
    # and downstream of a − strand gene is to the left.
    minus_up, minus_down = _distances(minus, offset + 2, lengths)
    codons = torch.cat([plus_down, plus_up, minus_down, minus_up], dim=-1)
    return torch.log2(1.0 + codons.float()) / FRAME_SCALE


def _triplets_numpy(index: np.ndarray) -> np.ndarray:
    """:func:`_triplets` in numpy: (batch, length) int64, 64 where a base is unknown or missing."""
    batch, length = index.shape
    padded = np.concatenate([index, np.full((batch, 2), 4, dtype=index.dtype)], axis=1)
    first, second, third = padded[:, :length], padded[:, 1:length + 1], padded[:, 2:length + 2]
    unknown = (first > 3) | (second > 3) | (third > 3)
    return np.where(unknown, 64, first * 16 + second * 4 + third)


def _distances_numpy(stop: np.ndarray, offset: int, lengths: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_distances` in numpy: two (batch, length, 3) int64 arrays."""
    batch, length = stop.shape
    position = np.arange(length)
    nexts, previous = [], []
    for frame in range(3):
        first = (frame - offset) % 3
        columns = np.arange(first, length, 3)
        count = len(columns)
        if count == 0:
            nexts.append(np.ones((batch, length), dtype=np.int64))
            previous.append(np.ones((batch, length), dtype=np.int64))
            continue
        codon = np.arange(count)
        is_stop = stop[:, columns]
        far = 1 << 30
        following = np.minimum.accumulate(np.where(is_stop, codon, far)[:, ::-1], axis=1)[:, ::-1]
        preceding = np.maximum.accumulate(np.where(is_stop, codon, -far), axis=1)
        if lengths is None:
            codons_in_row = np.full((batch, 1), count)
        else:
            codons_in_row = np.maximum((np.asarray(lengths)[:, None] - first + 2) // 3, 0)
        to_next = np.maximum(np.minimum(following - codon, codons_in_row - codon), 0)
        to_previous = np.minimum(codon - preceding, codon + 1)
        holder = np.minimum(np.maximum(position - first, 0) // 3, count - 1)
        nexts.append(to_next[:, holder])
        previous.append(to_previous[:, holder])
    return np.stack(nexts, axis=-1), np.stack(previous, axis=-1)


def frame_channels_numpy(index: np.ndarray, stops: np.ndarray | None = None, offset: int = 0,
                         lengths: np.ndarray | None = None) -> np.ndarray:
    """:func:`frame_channels` in numpy: the same (batch, length, 12) float32 values.

    ``index`` (batch, length) integer, ``stops`` (64,) bool (:func:`stop_codon_mask`,
    default table 11), ``lengths`` (batch,) as there.
    """
    index = np.minimum(np.asarray(index, dtype=np.int64), 4)
    stops = stop_codon_mask(11) if stops is None else np.asarray(stops, dtype=bool)
    triplet = _triplets_numpy(index)
    known = triplet < 64
    code = np.minimum(triplet, 63)
    plus = stops[code] & known
    minus = stops[_REVERSE_COMPLEMENT_CODON][code] & known
    plus_down, plus_up = _distances_numpy(plus, offset, lengths)
    minus_up, minus_down = _distances_numpy(minus, offset + 2, lengths)
    codons = np.concatenate([plus_down, plus_up, minus_down, minus_up], axis=-1)
    return (np.log2(1.0 + codons.astype(np.float32)) / np.float32(FRAME_SCALE)).astype(np.float32)
