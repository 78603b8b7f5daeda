"""The start detector's network: a MotifCNN over the windows of :mod:`genoseq.genes.starts`.

Kept apart from :mod:`genoseq.genes.starts` because it needs torch; the
windows, constants and config there do not.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genoseq.encoding import reverse_complement_index
from genoseq.genes.starts import (
    START_UPSTREAM,
    START_WINDOW,
    default_start_config,
    start_windows,
)
from genoseq.nn.motif_cnn import MotifCNN, MotifCNNConfig


class StartModel(nn.Module):
    """MotifCNN over start windows; ``forward(index (batch, START_WINDOW)) -> logits (batch,)``."""

    def __init__(self, config: MotifCNNConfig | None = None):
        super().__init__()
        config = default_start_config() if config is None else config
        if config.window != START_WINDOW or config.n_outputs != 1:
            raise ValueError(f"the start model needs window={START_WINDOW} and n_outputs=1")
        self.config = config
        self.cnn = MotifCNN(config)

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        bases = nn.functional.one_hot(index.long().clamp(max=4), 5)[..., :4].to(torch.float32)
        return self.cnn(bases)[:, 0]

    def logits_at(self, index: np.ndarray, position: np.ndarray, strand: np.ndarray,
                  device=None) -> np.ndarray:
        """Logits of the start windows at ``position``/``strand`` of one record (inference).

        The same values as ``self(start_windows(index, position, strand))``,
        computed by convolving each strand of the record once, in chunks,
        and reading the pooled filter activations of every window from that:
        windows of nearby start codons overlap, so this does about half the
        convolution work and builds no window array. Call it inside
        ``torch.inference_mode()``.

        Parameters
        ----------
        index : np.ndarray, shape (length,), uint8
        position, strand : np.ndarray, shape (n,)
            As for :func:`start_windows`.
        device : torch.device, optional
            Where the model lives (default: its parameters' device).

        Returns
        -------
        np.ndarray, shape (n,), float64
        """
        if self.cnn.config.both_strands or not self.cnn.config.pool or self.training:
            windows = torch.from_numpy(start_windows(index, position, strand))
            return self(windows.to(device)).float().cpu().numpy().astype(np.float64)
        if device is None:
            device = next(self.parameters()).device
        return _start_model_logits_at(self, np.asarray(index, dtype=np.uint8),
                                      np.asarray(position, dtype=np.int64),
                                      np.asarray(strand), device)


#: Record bases convolved at a time by :meth:`StartModel.logits_at`: small enough that a
#: segment's activations (8,192 x 48 float32, 1.5 MB) stay in the CPU's cache between
#: the convolution, the pooling and the gathering of the windows' features; 2**13
#: scores 2 Mbp of P. fluorescens 2.7x as fast as 2**18 did.
LOGITS_AT_CHUNK = 1 << 13


class _Chunks:
    """Candidates of one strand sorted by position, cut into runs of LOGITS_AT_CHUNK bases."""

    def __init__(self, position: np.ndarray, length: int):
        self.order = np.argsort(position, kind="stable")
        self.position = position[self.order]
        bounds = np.searchsorted(self.position, np.arange(0, length + LOGITS_AT_CHUNK,
                                                          LOGITS_AT_CHUNK))
        self.runs = [(k * LOGITS_AT_CHUNK, lo, hi)
                     for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
                     if hi > lo]


def _readout_by_block(cnn) -> tuple[torch.Tensor, torch.Tensor]:
    """The readout's first layer with its inputs ordered (block, filter), not (filter, block).

    The pooled features of a window are gathered as (block, filter) rows of the
    record-wide activations; permuting the weight columns once saves
    transposing every window's features.
    """
    first = cnn.readout[0] if isinstance(cnn.readout, nn.Sequential) else cnn.readout
    n_filters = cnn.config.n_filters
    weight = first.weight.reshape(first.weight.shape[0], n_filters, -1)
    return weight.transpose(1, 2).reshape(first.weight.shape[0], -1), first.bias


def _start_model_logits_at(model: StartModel, index: np.ndarray, position: np.ndarray,
                           strand: np.ndarray, device) -> np.ndarray:
    cnn = model.cnn
    config = cnn.config
    width = config.filter_width
    n_blocks = (START_WINDOW - width + 1) // config.pool
    block_offsets = torch.arange(n_blocks, device=device) * config.pool
    # The convolution as one matrix product over every position's (base, offset)
    # window: with four input channels a direct convolution uses the CPU's vector
    # units poorly, and the product's (position, filter) layout is the one the
    # windows' features are gathered from (no transpose). Same sums as the
    # convolution, in another order (float32 rounding). Under autocast the
    # products run in its lower precision, as the convolution did.
    filters = cnn.filters.weight.reshape(config.n_filters, -1).T
    filter_bias = cnn.filters.bias
    first_weight, first_bias = _readout_by_block(cnn)
    hidden = cnn.readout[1:] if isinstance(cnn.readout, nn.Sequential) else None
    length = len(index)
    out = np.empty(len(position), dtype=np.float64)
    for sign in (1, -1):
        chosen = np.flatnonzero(strand == sign)
        if not len(chosen):
            continue
        # A − strand window is the + strand window of the reverse complement at L - 1 - p.
        seq = index if sign > 0 else reverse_complement_index(index)
        chunks = _Chunks(position[chosen] if sign > 0 else length - 1 - position[chosen], length)
        segment_length = LOGITS_AT_CHUNK + START_WINDOW
        padded = np.full(length + segment_length + START_UPSTREAM, 4, dtype=np.uint8)
        padded[START_UPSTREAM:START_UPSTREAM + length] = seq
        for first, lo, hi in chunks.runs:
            # padded[first] is record base first - START_UPSTREAM: the segment's first base;
            # the window of the last candidate ends START_WINDOW bases after its position.
            needed = int(chunks.position[hi - 1]) - first + START_WINDOW
            # Rounded up to a power of two (padding is unknown bases, read by no window):
            # few distinct shapes for the backend's kernel caches.
            needed = min(segment_length, max(1024, 1 << (needed - 1).bit_length()))
            segment = torch.from_numpy(padded[first:first + needed]).to(device)
            bases = nn.functional.one_hot(segment.long().clamp(max=4), 5)[:, :4].to(torch.float32)
            # (position, base, offset) windows, flattened as the filter weights are.
            windows = bases.unfold(0, width, 1).reshape(needed - width + 1, -1)
            scores = torch.addmm(filter_bias, windows, filters)
            # Max over each run of `pool` filter positions, at every start offset.
            rows_out = scores.shape[0] - config.pool + 1
            pooled = scores[:rows_out]
            for shift in range(1, config.pool):
                pooled = torch.maximum(pooled, scores[shift:rows_out + shift])
            local = torch.from_numpy(chunks.position[lo:hi] - first).to(device)
            rows = (local[:, None] + block_offsets[None, :]).reshape(-1)
            features = torch.relu(pooled.index_select(0, rows).reshape(hi - lo, -1))
            logits = nn.functional.linear(features, first_weight, first_bias)
            if hidden is not None:
                logits = hidden(logits)
            out[chosen[chunks.order[lo:hi]]] = logits[:, 0].float().cpu().numpy()
    return out
