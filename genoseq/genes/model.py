"""The coding model of the gene finder: a BiLSTM tagger over DNA.

Classes, per base (``FRAME_CLASSES``): 0 non-coding; 1 + f, a base inside a
+ strand CDS whose codons start at positions ≡ f (mod 3); 4 + f, a base
inside a − strand CDS whose codons, read in the gene's direction, start at
positions ≡ f (mod 3). Positions are 0-based on the forward strand of the
record. Unlike the codon position of a base (which cycles 0,1,2 along a
gene), this absolute frame is constant along a whole gene, which is what a
recurrent model keeps easily; :func:`frame_to_codon_position` converts back.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genoseq.genes.frames import N_FRAME_CHANNELS, frame_channels
from genoseq.nn.tagger import BiLSTMTagger, TaggerConfig

N_CLASSES = 7
#: Input channels: one-hot bases and codon phase (4 + 3); with the open-frame
#: channels of :mod:`genoseq.genes.frames`, 19.
BASE_CHANNELS = 7
FRAME_INPUT_CHANNELS = BASE_CHANNELS + N_FRAME_CHANNELS
FRAME_CLASSES = ("non-coding", "+f0", "+f1", "+f2", "-f0", "-f1", "-f2")


def codon_position_to_frame(labels: np.ndarray, offset: int = 0) -> np.ndarray:
    """Convert codon-position labels to absolute-frame classes.

    Parameters
    ----------
    labels : np.ndarray, shape (length,), integer
        Classes 0 (non-coding), 1 + k (+ strand, codon position k) and 4 + k
        (− strand, codon position k counted in the gene's direction), as made
        by :func:`genoseq.genes.labels.coding_labels`.
    offset : int
        Position of ``labels[0]`` in the record.

    Returns
    -------
    np.ndarray, shape (length,), int64
        Absolute-frame classes (see module docstring).
    """
    labels = np.asarray(labels, dtype=np.int64)
    position = np.arange(offset, offset + len(labels), dtype=np.int64)
    out = np.zeros(len(labels), dtype=np.int64)
    plus = (labels >= 1) & (labels <= 3)
    minus = labels >= 4
    out[plus] = 1 + (position[plus] - (labels[plus] - 1)) % 3
    out[minus] = 4 + (position[minus] + (labels[minus] - 4)) % 3
    return out


def frame_to_codon_position(frames: np.ndarray, offset: int = 0) -> np.ndarray:
    """Inverse of :func:`codon_position_to_frame`."""
    frames = np.asarray(frames, dtype=np.int64)
    position = np.arange(offset, offset + len(frames), dtype=np.int64)
    out = np.zeros(len(frames), dtype=np.int64)
    plus = (frames >= 1) & (frames <= 3)
    minus = frames >= 4
    out[plus] = 1 + (position[plus] - (frames[plus] - 1)) % 3
    out[minus] = 4 + ((frames[minus] - 4) - position[minus]) % 3
    return out


def default_config(frames: bool = False) -> TaggerConfig:
    """The architecture ``genoseq train genes`` trains: two codons per recurrent step.

    The shipped coding model is a student of such a network with four codons
    per step (:func:`genoseq.genes.distill.student_config`, session 13).

    Stride 6 halves the recurrent steps of stride 3 while the head still
    emits one prediction per base; on 2 CPU cores it predicted ~0.7 Mbp/s
    against ~0.6 Mbp/s for stride 3 with a half-width LSTM. ``frames`` adds
    the open-frame input channels (:mod:`genoseq.genes.frames`).
    """
    return TaggerConfig(input_channels=FRAME_INPUT_CHANNELS if frames else BASE_CHANNELS,
                        n_classes=N_CLASSES, conv_channels=96, conv_kernel=12,
                        conv_layers=2, stride=6, hidden=96, lstm_layers=2, dropout=0.2)


class CodingModel(nn.Module):
    """BiLSTM coding model on nucleotide index tensors.

    ``forward(index, offset=0)`` takes ``index`` of shape ``(batch, length)``
    with A=0, C=1, G=2, T=3, anything else 4 (see
    :func:`genoseq.encoding.dna_to_index`), and the record position of
    column 0 (a multiple of 3 keeps the recurrent steps on codon
    boundaries). It returns logits ``(batch, length, 7)`` over
    ``FRAME_CLASSES``; ``lengths`` (batch,) makes rows of a padded batch exact
    (see :class:`~genoseq.nn.tagger.BiLSTMTagger`). Input channels are the one-hot bases (N → zero row)
    and the one-hot codon phase ``(offset + i) mod 3``; with
    ``config.input_channels`` 19, also the open-frame channels
    (:func:`~genoseq.genes.frames.frame_channels`), which need the table's
    ``stops`` ((64,) or (batch, 64) bool, default table 11).
    """

    def __init__(self, config: TaggerConfig | None = None):
        super().__init__()
        config = default_config() if config is None else config
        if (config.input_channels not in (BASE_CHANNELS, FRAME_INPUT_CHANNELS)
                or config.n_classes != N_CLASSES):
            raise ValueError(f"the coding model needs input_channels {BASE_CHANNELS} or "
                             f"{FRAME_INPUT_CHANNELS} and n_classes {N_CLASSES}")
        self.config = config
        self.tagger = BiLSTMTagger(config)

    @property
    def uses_frames(self) -> bool:
        """Whether the input has the open-frame channels (and so depends on the table)."""
        return self.config.input_channels == FRAME_INPUT_CHANNELS

    def features(self, index: torch.Tensor, offset: int = 0,
                 stops: torch.Tensor | None = None,
                 lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The input channels, shape (batch, length, input_channels), float32."""
        batch, length = index.shape
        bases = nn.functional.one_hot(index.long().clamp(max=4), 5)[..., :4]
        phase = (torch.arange(length, device=index.device) + offset) % 3
        phase = nn.functional.one_hot(phase, 3).expand(batch, length, 3)
        parts = [bases.to(torch.float32), phase.to(torch.float32)]
        if self.uses_frames:
            parts.append(frame_channels(index, stops, offset, lengths))
        return torch.cat(parts, dim=-1)

    def forward(self, index: torch.Tensor, offset: int = 0,
                lengths: torch.Tensor | None = None,
                stops: torch.Tensor | None = None) -> torch.Tensor:
        return self.tagger(self.features(index, offset, stops, lengths), lengths)
