"""MotifCNN: convolution filters that fire on short DNA patterns, then a small dense readout.

Each first-layer filter is a position weight matrix slid along the sequence
(so filters can be initialised from JASPAR/MEME PWMs with
:meth:`MotifCNN.set_filters`). With ``pool=0`` the best match of each filter
anywhere in the input is kept (global max: "is the motif present?"); with
``pool=k`` matches are max-pooled over blocks of k positions and the dense
layer sees where they lie (for the gene finder's start detector, where the
spacing between a ribosome-binding site and the start codon matters).
"""

from __future__ import annotations

import torch
from torch import nn

from genoseq.nn.configs import MotifCNNConfig

__all__ = ["MotifCNN", "MotifCNNConfig"]


class MotifCNN(nn.Module):
    """Motif filters → ReLU → max pooling → dense → logits.

    ``forward(x)`` takes one-hot ``x`` of shape ``(batch, length, 4)`` and
    returns logits ``(batch, n_outputs)``; :meth:`filter_scores` gives the
    raw filter activations ``(batch, n_filters, length - filter_width + 1)``.
    """

    def __init__(self, config: MotifCNNConfig):
        super().__init__()
        if config.pool and config.window < config.filter_width:
            raise ValueError("pooling by position needs window >= filter_width")
        self.config = config
        self.filters = nn.Conv1d(config.in_channels, config.n_filters, config.filter_width)
        if config.pool:
            n_blocks = (config.window - config.filter_width + 1) // config.pool
            features = config.n_filters * n_blocks
        else:
            features = config.n_filters
        self.dropout = nn.Dropout(config.dropout)
        if config.hidden:
            self.readout = nn.Sequential(nn.Linear(features, config.hidden), nn.ReLU(),
                                         nn.Dropout(config.dropout),
                                         nn.Linear(config.hidden, config.n_outputs))
        else:
            self.readout = nn.Linear(features, config.n_outputs)

    def filter_scores(self, x: torch.Tensor) -> torch.Tensor:
        """Filter activations before the non-linearity, best strand if ``both_strands``."""
        channels_first = x.transpose(1, 2)
        scores = self.filters(channels_first)
        if self.config.both_strands:
            # One-hot A,C,G,T reversed in both axes is the reverse complement.
            reverse = self.filters(channels_first.flip(1).flip(2)).flip(2)
            scores = torch.maximum(scores, reverse)
        return scores

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """What the readout sees: rectified filter activations after pooling.

        Returns
        -------
        torch.Tensor, shape (batch, n_filters) with global pooling, else
        (batch, n_filters * n_blocks)
        """
        # ReLU commutes with max, so it is applied after pooling, to a third (or one
        # value per filter) of the activations: same result, less work.
        scores = self.filter_scores(x)
        if self.config.pool:
            return torch.relu(nn.functional.max_pool1d(scores, self.config.pool)).flatten(1)
        return torch.relu(scores.amax(dim=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.dropout(self.pooled_features(x)))

    @torch.no_grad()
    def set_filters(self, weights: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Load PWMs into the first filters.

        Parameters
        ----------
        weights : torch.Tensor, shape (n, 4, width)
            Log-odds matrices, n ≤ n_filters, width ≤ filter_width (narrower
            ones are centred, padded with zeros).
        bias : torch.Tensor, shape (n,), optional
        """
        n, channels, width = weights.shape
        if n > self.config.n_filters or width > self.config.filter_width:
            raise ValueError(f"{n} PWMs of width {width} do not fit {self.config.n_filters} "
                             f"filters of width {self.config.filter_width}")
        left = (self.config.filter_width - width) // 2
        self.filters.weight[:n].zero_()
        self.filters.weight[:n, :channels, left:left + width] = weights
        if bias is not None:
            self.filters.bias[:n] = bias
