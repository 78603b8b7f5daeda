"""BiLSTM sequence tagger: conv front, stacked bidirectional LSTM, per-position head.

One module serves every per-position task in genoseq. The gene finder runs it
on DNA (one-hot + codon-phase channels, stride 3 so each recurrent step reads
one codon) and the secondary-structure predictor on amino acids (stride 1).
"""

from __future__ import annotations

import torch
from torch import nn

from genoseq.nn.configs import TaggerConfig

__all__ = ["BiLSTMTagger", "ConvBlock", "TaggerConfig"]


class ConvBlock(nn.Module):
    """Conv1d → BatchNorm → GELU on ``(batch, channels, length)`` tensors."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1):
        super().__init__()
        if stride > 1:
            # With stride s the kernel spans the s positions of its own step
            # plus context on both sides; the caller pads length to a multiple of s.
            padding = (kernel - stride) // 2
        else:
            padding = kernel // 2
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, stride=stride, padding=padding)
        self.norm = nn.BatchNorm1d(out_channels)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class BiLSTMTagger(nn.Module):
    """Conv front → stacked BiLSTM → linear head, one prediction per position.

    ``forward(x, lengths=None)`` takes ``x`` of shape ``(batch, length,
    input_channels)`` (float) and returns logits of shape ``(batch, length,
    n_classes)``; ``lengths`` makes padded batches exact (see :meth:`forward`).
    """

    def __init__(self, config: TaggerConfig):
        super().__init__()
        if config.stride > 1 and (config.conv_kernel - config.stride) % 2:
            raise ValueError("conv_kernel - stride must be even so each step stays centred")
        self.config = config
        blocks = [ConvBlock(config.input_channels, config.conv_channels, config.conv_kernel,
                            stride=config.stride)]
        for _ in range(config.conv_layers - 1):
            blocks.append(ConvBlock(config.conv_channels, config.conv_channels, 5))
        self.front = nn.Sequential(*blocks)
        self.front_dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.conv_channels,
            config.hidden,
            num_layers=config.lstm_layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.lstm_layers > 1 else 0.0,
        )
        self.head = nn.Linear(2 * config.hidden, config.n_classes * config.stride)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits per position.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, length, input_channels), float
        lengths : torch.Tensor, shape (batch,), int, optional
            True length (at least 1) of each row when a batch holds sequences
            of different lengths, padded at the end. In eval mode padding
            then has no influence at all: inputs and conv features past the
            end are zeroed and the LSTM runs on a packed sequence, so each
            row's logits equal those of the row alone (in training mode the
            zeroed positions still enter BatchNorm's batch statistics).
            None: every row is ``length`` long.

        Returns
        -------
        torch.Tensor, shape (batch, length, n_classes)
            Logits; positions past a row's length are meaningless.
        """
        batch, length, _ = x.shape
        stride = self.config.stride
        steps = -(-length // stride)
        if steps * stride != length:
            x = nn.functional.pad(x, (0, 0, 0, steps * stride - length))
        if lengths is None:
            features = self.front(x.transpose(1, 2)).transpose(1, 2)
            features, _ = self.lstm(self.front_dropout(features))
        else:
            lengths = lengths.to(x.device)
            step_lengths = torch.div(lengths + stride - 1, stride, rounding_mode="floor")
            features = x.transpose(1, 2) * (torch.arange(steps * stride, device=x.device)
                                            < lengths[:, None]).unsqueeze(1)
            inside = (torch.arange(steps, device=x.device) < step_lengths[:, None]).unsqueeze(1)
            for block in self.front:
                features = block(features) * inside
            packed = nn.utils.rnn.pack_padded_sequence(
                self.front_dropout(features.transpose(1, 2)), step_lengths.cpu(),
                batch_first=True, enforce_sorted=False)
            features, _ = nn.utils.rnn.pad_packed_sequence(
                self.lstm(packed)[0], batch_first=True, total_length=steps)
        logits = self.head(features)
        return logits.reshape(batch, steps * stride, self.config.n_classes)[:, :length]
