"""Training and running a MotifCNN that tells bound from unbound sequences.

The network is :class:`genoseq.nn.motif_cnn.MotifCNN` with global max
pooling and filters scanning both strands: each filter reports its best
match anywhere in the sequence, and a small dense layer combines them into
one logit. Filters can start as JASPAR/MEME PWMs (log2-odds, so a filter
fires, before training, where the motif beats the background) or at random.

A saved model is ``STEM.pt`` (state_dict) and ``STEM.json``
(``{"config": {"motif_cnn": ...}, "metadata": ...}``); models shipped with
genoseq are named, e.g. ``ctcf``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genoseq.device import ComputeOptions, inference_autocast
from genoseq.encoding import DNA_UNKNOWN, dna_to_index
from genoseq.io import InvalidFileError, open_input, read_fasta
from genoseq.motifs.pwm import DEFAULT_INIT_SCALE, DEFAULT_PSEUDOCOUNT, Motif
from genoseq.nn.checkpoint import (
    load_shipped_state,
    load_state,
    model_files,
    reading_model,
    save_model,
)
from genoseq.nn.motif_cnn import MotifCNN, MotifCNNConfig
from genoseq.nn.train import BinaryObjective, TrainConfig, TrainResult, train_tagger

__all__ = [
    "DEFAULT_INIT_SCALE",
    "SHIPPED_MOTIF_MODELS",
    "LabelledSequences",
    "load_motif_model",
    "motif_filters",
    "read_labelled",
    "save_motif_model",
    "score_sequences",
    "train_motif_cnn",
]

#: Names accepted by :func:`load_motif_model` for the models in ``genoseq/weights``.
SHIPPED_MOTIF_MODELS = ("ctcf",)


#: Longest piece of a sequence scored at once; longer ones are cut with overlap
#: (exact, because global max pooling of the pieces is the max over the whole).
MAX_PIECE = 1 << 16

#: Pieces (scoring) or validation sequences (training) per forward pass when
#: ``compute`` names no batch size.
BATCH_SIZE = 256


@dataclass
class LabelledSequences:
    """Sequences with 0/1 labels, as base indices padded to a common length.

    Attributes
    ----------
    ids : list of str
    index : numpy.ndarray of uint8, shape (n, length)
        Base indices (A=0, C=1, G=2, T=3, unknown or padding 4).
    labels : numpy.ndarray of float32, shape (n,)
    lengths : numpy.ndarray of int64, shape (n,)
        Length of each sequence before padding.
    """

    ids: list[str]
    index: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> LabelledSequences:
        return LabelledSequences([self.ids[i] for i in rows], self.index[rows], self.labels[rows],
                                 self.lengths[rows])

    def sequences(self) -> list[np.ndarray]:
        """Each sequence as ASCII codes (uint8, shape (length,), padding removed), N for unknown."""
        letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
        return [letters[row[:length]] for row, length in zip(self.index, self.lengths, strict=True)]

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """One-hot inputs ``(batch, length, 4)`` and targets ``(batch, 1)`` of ``rows``."""
        return _one_hot(torch.from_numpy(self.index[rows])), torch.from_numpy(self.labels[rows, None])


def _one_hot(index: torch.Tensor) -> torch.Tensor:
    """``(batch, length)`` uint8 base indices → ``(batch, length, 4)`` float32; unknown → 0."""
    return torch.nn.functional.one_hot(index.long(), 5)[..., :4].float()


def _pack(ids: list[str], sequences: list[np.ndarray], labels: list[float]) -> LabelledSequences:
    length = max(len(s) for s in sequences)
    index = np.full((len(sequences), length), DNA_UNKNOWN, dtype=np.uint8)
    for row, seq in enumerate(sequences):
        index[row, :len(seq)] = seq
    return LabelledSequences(ids, index, np.asarray(labels, dtype=np.float32),
                             np.array([len(s) for s in sequences], dtype=np.int64))


def _read_tsv(path: str | os.PathLike) -> LabelledSequences:
    name = os.fspath(path)
    with open_input(path) as handle:
        try:
            table = pd.read_csv(handle, sep="\t", dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
            raise InvalidFileError(name, None, f"not a tab-separated table: {error}") from None
    missing = {"sequence", "label"} - set(table.columns)
    if missing:
        raise InvalidFileError(name, 1, f"missing column(s) {', '.join(sorted(missing))}: "
                               "expected a header with 'sequence' and 'label'")
    if table.empty:
        raise InvalidFileError(name, None, "no rows")
    bad = ~table["label"].isin(["0", "1"])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidFileError(name, row + 2, f"label {table['label'].iloc[row]!r}: expected 0 or 1")
    sequences = table["sequence"].str.upper()
    bad = ~sequences.str.fullmatch(r"[ACGTUNRYSWKMBDHV]+")
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidFileError(name, row + 2, f"sequence {table['sequence'].iloc[row][:40]!r}: "
                               "expected DNA (A, C, G, T, N or IUPAC codes)")
    ids = table["id"].tolist() if "id" in table else [f"row{i + 1}" for i in range(len(table))]
    return _pack(ids, [dna_to_index(s) for s in sequences], table["label"].astype(float).tolist())


def read_labelled(tsv: str | os.PathLike | None = None, *,
                  positives: str | os.PathLike | None = None,
                  negatives: str | os.PathLike | None = None) -> LabelledSequences:
    """Read labelled sequences from a TSV table or from two FASTA files.

    Parameters
    ----------
    tsv : path, optional
        Tab-separated, with a header naming at least ``sequence`` and
        ``label`` (0 or 1); ``id`` is used when present (the layout of
        ``ctcf_*.tsv.gz``). Compressed files are recognised.
    positives, negatives : path, optional
        FASTA files of label-1 and label-0 sequences, instead of ``tsv``.

    Raises
    ------
    InvalidFileError
        Missing columns, a label other than 0/1, a non-DNA sequence, or a
        malformed FASTA file.
    """
    if (tsv is None) == (positives is None or negatives is None):
        raise ValueError("give either a TSV table or both positive and negative FASTA files")
    if tsv is not None:
        return _read_tsv(tsv)
    ids, sequences, labels = [], [], []
    for path, label in ((positives, 1.0), (negatives, 0.0)):
        for record in read_fasta(path, alphabet="dna"):
            ids.append(record.id)
            sequences.append(dna_to_index(record.seq))
            labels.append(label)
    return _pack(ids, sequences, labels)


def _informative_window(motif: Motif, width: int, pseudocount: float) -> slice:
    """The ``width`` consecutive positions of ``motif`` with the most information."""
    if motif.width <= width:
        return slice(0, motif.width)
    window_information = np.convolve(motif.information(pseudocount), np.ones(width), "valid")
    start = int(np.argmax(window_information))
    return slice(start, start + width)


def motif_filters(motifs: Sequence[Motif], width: int,
                  pseudocount: float = DEFAULT_PSEUDOCOUNT,
                  background: Sequence[float] | None = None) -> torch.Tensor:
    """PWMs as first-layer filters for :meth:`MotifCNN.set_filters`.

    A motif wider than ``width`` keeps its most informative ``width``
    positions; narrower ones are centred by ``set_filters``.

    Returns
    -------
    torch.Tensor of float32, shape (len(motifs), 4, min(width, widest motif))
        Log2-odds, zero-padded on the right to a common width.
    """
    windows = [_informative_window(m, width, pseudocount) for m in motifs]
    common = max(w.stop - w.start for w in windows)
    filters = torch.zeros(len(motifs), 4, common)
    for row, (motif, window) in enumerate(zip(motifs, windows, strict=True)):
        matrix = motif.log_odds(pseudocount, background)[:, window]
        left = (common - matrix.shape[1]) // 2
        filters[row, :, left:left + matrix.shape[1]] = torch.from_numpy(matrix)
    return filters


def train_motif_cnn(
    train: LabelledSequences,
    valid: LabelledSequences,
    config: MotifCNNConfig,
    train_config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    init_motifs: Sequence[Motif] = (),
    init_scale: float = DEFAULT_INIT_SCALE,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    batch_size: int = 64,
    compute: ComputeOptions | None = None,
) -> TrainResult:
    """Train a MotifCNN on labelled sequences with early stopping on ``valid``.

    Parameters
    ----------
    train, valid : LabelledSequences
    config : MotifCNNConfig
        Needs ``pool=0`` (global max pooling) and ``n_outputs=1``.
    train_config : TrainConfig
        Seed, epochs, patience, learning rate; ``steps_per_epoch`` batches
        of ``batch_size`` are drawn at random (with replacement) per epoch.
    run_dir : path
        Checkpoints; an interrupted run resumes from here.
    init_motifs : sequence of Motif
        PWMs loaded into the first filters (the rest start at random).
    init_scale : float
        Factor on their log2-odds, centred per position (see
        :data:`DEFAULT_INIT_SCALE`).
    pseudocount : float
        For the PWMs' log-odds.
    batch_size : int
        Training sequences drawn per optimisation step. A setting of the fit
        (it changes the model), unlike ``compute.batch_size``.
    compute : ComputeOptions, optional
        Device (None: CUDA if present, else MPS, else the CPU), threads,
        validation sequences per forward pass (default 256) and a progress
        bar per epoch (``progress``). ``precision`` is not used: training is
        float32.

    Returns
    -------
    TrainResult
        The model with the lowest validation loss, in eval mode, on the
        device of ``compute``.
    """
    if config.pool or config.n_outputs != 1:
        raise ValueError("a motif classifier needs pool=0 and n_outputs=1")
    compute = ComputeOptions() if compute is None else compute
    device = compute.torch_device()
    torch.manual_seed(train_config.seed)
    model = MotifCNN(config)
    if init_motifs:
        pwms = motif_filters(init_motifs, config.filter_width, pseudocount)
        model.set_filters(init_scale * (pwms - pwms.mean(dim=1, keepdim=True)))

    def sample_batch(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return train.batch(rng.integers(0, len(train), size=batch_size))

    valid_size = compute.batch(BATCH_SIZE)
    valid_batches = [valid.batch(np.arange(first, min(first + valid_size, len(valid))))
                     for first in range(0, len(valid), valid_size)]
    positive_share = float(train.labels.mean())
    objective = BinaryObjective(positive_weight=(1 - positive_share) / max(positive_share, 1e-9))
    return train_tagger(model, sample_batch, valid_batches, train_config, run_dir,
                        device=device, objective=objective, progress=compute.progress)


def save_motif_model(model: MotifCNN, path_stem: str | os.PathLike,
                     metadata: dict | None = None) -> tuple[Path, Path]:
    """Write ``STEM.pt`` and ``STEM.json`` (see the module docstring)."""
    return save_model(model, {"motif_cnn": model.config.to_dict()}, path_stem, metadata)


def load_motif_model(model: str | os.PathLike = "ctcf") -> tuple[MotifCNN, dict]:
    """Load a motif model: a path stem (``STEM.pt`` + ``STEM.json``) or a shipped name.

    Returns
    -------
    (MotifCNN in eval mode on the CPU, metadata dict)

    Raises
    ------
    InvalidFileError
        No such model, or files that are not a motif model.
    """
    weights, card = model_files(model)
    if weights.is_file() and card.is_file():
        with reading_model(model, "motif model"):
            state, config, metadata = load_state(model)
    elif str(model) in SHIPPED_MOTIF_MODELS:
        state, config, metadata = load_shipped_state(str(model))
    else:
        raise InvalidFileError(model, None, "no such motif model: expected a shipped name "
                               f"({', '.join(SHIPPED_MOTIF_MODELS)}) or a path stem with "
                               "STEM.pt and STEM.json")
    if "motif_cnn" not in config:
        raise InvalidFileError(card, None, "not a motif model (no "
                               "'motif_cnn' config)")
    with reading_model(None if str(model) in SHIPPED_MOTIF_MODELS else model, "motif model"):
        network = MotifCNN(MotifCNNConfig.from_dict(config["motif_cnn"]))
        network.load_state_dict(state)
    return network.eval(), metadata


def _pieces(index: np.ndarray, width: int) -> list[np.ndarray]:
    """Cut a sequence into pieces of at most :data:`MAX_PIECE` that share ``width - 1`` bases."""
    if len(index) < width:
        return [np.concatenate([index, np.full(width - len(index), DNA_UNKNOWN, np.uint8)])]
    step = MAX_PIECE - width + 1
    return [index[s:s + MAX_PIECE] for s in range(0, max(len(index) - width, 0) + 1, step)]


def score_sequences(model: MotifCNN, sequences: Sequence[bytes | str | np.ndarray], *,
                    compute: ComputeOptions | None = None) -> np.ndarray:
    """Probability that each sequence holds the site the model was trained on.

    Sequences of any length: pieces of equal length are batched together (no
    padding, so a score does not depend on its batch), long sequences are
    cut into overlapping pieces whose pooled filter activations are combined
    by max, which equals scoring the whole sequence. Runs in inference mode.

    Parameters
    ----------
    model : MotifCNN
        With global max pooling (``pool=0``) and one output.
    sequences : sequence of bytes, str or uint8 arrays, each shape (length,)
    compute : ComputeOptions, optional
        Device (None: CUDA if present, else MPS, else the CPU), threads,
        pieces per batch (default 256) and precision
        (:func:`~genoseq.device.inference_autocast`: "auto" is mixed
        precision on CUDA and float32 elsewhere). ``progress`` is not used.

    Returns
    -------
    numpy.ndarray of float64, shape (len(sequences),)
    """
    if model.config.pool:
        raise ValueError("scoring whole sequences needs a model with global pooling (pool=0)")
    compute = ComputeOptions() if compute is None else compute
    device = compute.torch_device()
    batch_size = compute.batch(BATCH_SIZE)
    model = model.to(device).eval()
    width = model.config.filter_width
    pieces, owner = [], []
    for number, seq in enumerate(sequences):
        cut = _pieces(dna_to_index(seq), width)
        pieces.extend(cut)
        owner.extend([number] * len(cut))
    owner = np.asarray(owner, dtype=np.int64)
    lengths = np.array([len(p) for p in pieces])
    pooled = torch.full((len(sequences), model.config.n_filters), -torch.inf, device=device)
    with torch.inference_mode(), inference_autocast(device, compute.precision):
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            for first in range(0, len(rows), batch_size):
                chosen = rows[first:first + batch_size]
                index = torch.from_numpy(np.stack([pieces[i] for i in chosen])).to(device)
                features = model.pooled_features(_one_hot(index)).float()
                target = torch.from_numpy(owner[chosen]).to(device)
                pooled.scatter_reduce_(0, target[:, None].expand_as(features), features, "amax")
        logits = model.readout(pooled)[:, 0]
    return torch.sigmoid(logits.double()).cpu().numpy()
