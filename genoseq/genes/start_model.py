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


#: Record bases convolved at a time by :meth:`StartModel.logits_at`.
LOGITS_AT_CHUNK = 1 << 18


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


def _start_model_logits_at(model: StartModel, index: np.ndarray, position: np.ndarray,
                           strand: np.ndarray, device) -> np.ndarray:
    cnn = model.cnn
    config = cnn.config
    n_blocks = (START_WINDOW - config.filter_width + 1) // config.pool
    block_offsets = torch.arange(n_blocks, device=device) * config.pool
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
            # few distinct lengths, so the backend caches few convolution kernels (oneDNN
            # keeps one per input shape; with bf16 a cache of hundreds held ~0.7 GB).
            needed = min(segment_length, max(1024, 1 << (needed - 1).bit_length()))
            segment = torch.from_numpy(padded[first:first + needed]).to(device)
            bases = nn.functional.one_hot(segment.long().clamp(max=4), 5)[:, :4]
            scores = cnn.filters(bases.T[None].to(torch.float32))[0]
            # Max over each run of `pool` filter positions, at every start offset.
            pooled = scores[:, :scores.shape[1] - config.pool + 1]
            for shift in range(1, config.pool):
                pooled = torch.maximum(pooled, scores[:, shift:scores.shape[1]
                                                      - config.pool + 1 + shift])
            pooled = pooled.T.contiguous()
            local = torch.from_numpy(chunks.position[lo:hi] - first).to(device)
            rows = (local[:, None] + block_offsets[None, :]).reshape(-1)
            features = pooled.index_select(0, rows).reshape(hi - lo, n_blocks, -1)
            features = torch.relu(features.transpose(1, 2).reshape(hi - lo, -1))
            logits = cnn.readout(features)[:, 0].float().cpu().numpy()
            out[chosen[chunks.order[lo:hi]]] = logits
    return out
