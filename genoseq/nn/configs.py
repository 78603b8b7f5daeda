"""Configs of the network building blocks, kept free of torch.

:class:`TaggerConfig` (:class:`~genoseq.nn.tagger.BiLSTMTagger`) and
:class:`MotifCNNConfig` (:class:`~genoseq.nn.motif_cnn.MotifCNN`) live here so
that a saved model's config can be read, and the torch-free networks of
:mod:`genoseq.genes.numpy_networks` built from it, without importing torch;
both are also importable from the modules of their networks.
"""

from __future__ import annotations

from dataclasses import dataclass

from genoseq.config import DictConfig

__all__ = ["MotifCNNConfig", "TaggerConfig"]


@dataclass(frozen=True)
class TaggerConfig(DictConfig):
    """Everything needed to rebuild a :class:`BiLSTMTagger` exactly.

    Attributes
    ----------
    input_channels : int
        Channels of the input, e.g. 7 for DNA (4 one-hot + 3 codon phase).
    n_classes : int
        Classes predicted per input position.
    conv_channels, conv_kernel, conv_layers : int
        Width, kernel size (odd) and depth of the convolutional front.
    stride : int
        Positions read per recurrent step. The first convolution has this
        stride, and the head emits ``stride * n_classes`` logits per step, so
        the output keeps one row per input position while the LSTM runs over
        ``length / stride`` steps (3 = one codon per step for DNA).
    hidden : int
        LSTM hidden size per direction.
    lstm_layers : int
        Stacked bidirectional LSTM layers.
    dropout : float
        Dropout after the conv front and between LSTM layers.
    """

    input_channels: int
    n_classes: int
    conv_channels: int = 64
    conv_kernel: int = 9
    conv_layers: int = 2
    stride: int = 1
    hidden: int = 64
    lstm_layers: int = 2
    dropout: float = 0.2


@dataclass(frozen=True)
class MotifCNNConfig(DictConfig):
    """Everything needed to rebuild a :class:`MotifCNN` exactly.

    Attributes
    ----------
    window : int
        Input length; needed when ``pool > 0`` (the dense layer sees every
        pooled block), ignored with global pooling.
    in_channels : int
        4 for one-hot DNA.
    n_filters, filter_width : int
        First-layer motif filters.
    pool : int
        0 for global max pooling; k > 0 for max pooling over k positions.
    hidden : int
        Width of the dense layer (0: linear readout straight from the pooled filters).
    n_outputs : int
        Logits per input (1 for a binary score).
    dropout : float
    both_strands : bool
        Also scan the reverse complement and keep, per filter and position,
        the better of the two strands (for strand-less sites such as TF motifs).
    """

    window: int = 0
    in_channels: int = 4
    n_filters: int = 32
    filter_width: int = 12
    pool: int = 0
    hidden: int = 32
    n_outputs: int = 1
    dropout: float = 0.2
    both_strands: bool = False
