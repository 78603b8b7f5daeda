"""The secondary-structure model: the shared BiLSTM tagger over amino acids, Q8 and Q3 heads.

The tagger's head emits 11 logits per residue: the first 8 are the Q8 head
(:data:`~genoseq.structure.data.Q8_CLASSES`), the last 3 a Q3 head
(:data:`~genoseq.structure.data.Q3_CLASSES`) trained on every chain,
including the ~31% of training chains that have Q3 labels only.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genoseq.encoding import PROTEIN_STOP, PROTEIN_UNKNOWN
from genoseq.nn.tagger import BiLSTMTagger, TaggerConfig
from genoseq.nn.train import IGNORE
from genoseq.structure.data import PAD_INDEX, Q8_TO_Q3

N_Q8 = 8
N_Q3 = 3
#: Input channels: the 20 amino acids one-hot, then one "non-standard residue" flag.
INPUT_CHANNELS = 21


def default_config() -> TaggerConfig:
    """The shipped architecture (see genoseq/weights/ss.md for how it was chosen)."""
    return TaggerConfig(input_channels=INPUT_CHANNELS, n_classes=N_Q8 + N_Q3, conv_channels=128,
                        conv_kernel=9, conv_layers=2, stride=1, hidden=128, lstm_layers=2,
                        dropout=0.25)


def _residue_features() -> torch.Tensor:
    """Lookup table ``(PAD_INDEX + 1, INPUT_CHANNELS)`` from residue index to input row."""
    table = torch.zeros(PAD_INDEX + 1, INPUT_CHANNELS)
    table[:PROTEIN_UNKNOWN, :PROTEIN_UNKNOWN] = torch.eye(PROTEIN_UNKNOWN)
    # X, B, Z, J, U, O and a stop '*' all read as "some non-standard residue";
    # padding stays a zero row and is cut off by the lengths anyway.
    table[PROTEIN_UNKNOWN, PROTEIN_UNKNOWN] = 1.0
    table[PROTEIN_STOP, PROTEIN_UNKNOWN] = 1.0
    return table


class SecondaryStructureModel(nn.Module):
    """BiLSTM tagger on residue indices, returning Q8 and Q3 logits.

    ``forward(residues)`` takes ``residues`` of shape ``(batch, length)``
    (int, :func:`genoseq.encoding.protein_to_index` values, padded at the end
    with :data:`~genoseq.structure.data.PAD_INDEX`) and returns logits
    ``(batch, length, 11)``: Q8 in ``[..., :8]``, Q3 in ``[..., 8:]``. A
    chain's logits do not depend on the padding or the other chains in the
    batch.
    """

    def __init__(self, config: TaggerConfig | None = None):
        super().__init__()
        config = default_config() if config is None else config
        if config.input_channels != INPUT_CHANNELS or config.n_classes != N_Q8 + N_Q3:
            raise ValueError(f"the secondary-structure model needs input_channels="
                             f"{INPUT_CHANNELS} and n_classes={N_Q8 + N_Q3}")
        self.config = config
        self.tagger = BiLSTMTagger(config)
        self.register_buffer("residue_features", _residue_features(), persistent=False)

    def forward(self, residues: torch.Tensor) -> torch.Tensor:
        residues = residues.long()
        lengths = (residues != PAD_INDEX).sum(dim=1)
        return self.tagger(self.residue_features[residues], lengths)


class SecondaryStructureEnsemble(nn.Module):
    """Several :class:`SecondaryStructureModel` (e.g. seeds) whose probabilities are averaged.

    ``forward`` returns, per head, the log of the members' mean softmax
    probabilities, shape ``(batch, length, 11)``: these are valid logits for
    :func:`head_probabilities` (whose softmax gives the mean back), so an
    ensemble is used wherever a single model is.
    """

    def __init__(self, members):
        super().__init__()
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(members)
        self.config = members[0].config

    def forward(self, residues: torch.Tensor) -> torch.Tensor:
        mean = torch.stack([head_probabilities(m(residues)) for m in self.members]).mean(0)
        return torch.cat([mean[..., :N_Q8].clamp_min(1e-12).log(),
                          mean[..., N_Q8:].clamp_min(1e-12).log()], dim=-1)


#: ``(8, 3)`` 0/1 matrix summing Q8 probabilities into their Q3 classes.
Q8_TO_Q3_MATRIX = np.eye(N_Q3, dtype=np.float32)[Q8_TO_Q3]


def head_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Softmax of each head: ``(..., 11)`` logits → Q8 probabilities ``[..., :8]``, Q3-head ``[..., 8:]``."""
    logits = logits.float()
    return torch.cat([logits[..., :N_Q8].softmax(-1), logits[..., N_Q8:].softmax(-1)], dim=-1)


def q3_probabilities(probs):
    """Predicted Q3 distribution from :func:`head_probabilities` output.

    The mean of the Q3 head's distribution and the Q8 distribution summed
    into its Q3 classes (H,G,I → H; E,B → E; T,S,C → C). On the validation
    set of the shipped model it tied with the Q3 head alone (71.18% vs
    71.18%), beat the mapped Q8 call (69.85%), and agreed slightly more
    often with the Q8 call than the head alone (90.5% vs 90.2% of residues);
    see genoseq/weights/ss.md.

    Parameters
    ----------
    probs : torch.Tensor or np.ndarray, shape (..., 11)

    Returns
    -------
    torch.Tensor or np.ndarray, shape (..., 3)
    """
    merge = Q8_TO_Q3_MATRIX
    if isinstance(probs, torch.Tensor):
        merge = torch.as_tensor(merge, device=probs.device)
    return 0.5 * (probs[..., N_Q8:] + probs[..., :N_Q8] @ merge)


class SecondaryStructureObjective:
    """Summed cross-entropy of the Q8 and Q3 heads; ``-100`` targets are ignored.

    Targets are ``(batch, length, 2)``: Q8 class in column 0, Q3 in column 1
    (:func:`genoseq.structure.data.make_batch`). Each head's loss is the mean
    over its labelled residues. :meth:`summary` counts Q3-labelled residues
    and Q3 accuracy of the combined prediction (see
    :func:`q3_probabilities`), for :func:`genoseq.nn.train.evaluate`.
    """

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def _cross_entropy(self, logits, targets, **kwargs):
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           targets.reshape(-1), ignore_index=IGNORE, **kwargs)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = logits.sum() * 0.0
        for head, labels in ((logits[..., :N_Q8], targets[..., 0]),
                             (logits[..., N_Q8:], targets[..., 1])):
            # A batch may hold no Q8 labels (Q3-only chains): skip the head, not NaN.
            if (labels != IGNORE).any():
                loss = loss + self._cross_entropy(head, labels,
                                                  label_smoothing=self.label_smoothing)
        return loss

    def summary(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, int, int]:
        """(summed unsmoothed Q8 + Q3 loss, correct Q3 calls, Q3-labelled residues)."""
        q8, q3 = targets[..., 0], targets[..., 1]
        loss = (self._cross_entropy(logits[..., N_Q8:], q3, reduction="sum")
                + self._cross_entropy(logits[..., :N_Q8], q8, reduction="sum"))
        keep = q3 != IGNORE
        called = q3_probabilities(head_probabilities(logits)).argmax(-1)
        correct = (called[keep] == q3[keep]).sum()
        return loss.item(), int(correct), int(keep.sum())
