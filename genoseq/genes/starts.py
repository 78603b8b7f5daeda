"""Start detector: a MotifCNN scoring each candidate start codon in its context.

The input is a window read on the gene's strand, from ``START_UPSTREAM``
bases before the first base of the start codon (where ribosome-binding
sites lie) to ``START_DOWNSTREAM`` bases after it. The model is trained on
reference genes: the annotated start of each gene is a positive, the other
start codons of the same ORF and starts in ORFs with no annotated gene are
negatives. Its logit is the start score the decoder adds to a gene.

The network itself (:class:`~genoseq.genes.start_model.StartModel`, also
importable from here) needs torch and lives in :mod:`genoseq.genes.start_model`;
this module, its windows and its config, does not, so that the torch-free
path (:mod:`genoseq.genes.numpy_networks`) and the self-training statistics
use them without importing torch.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from genoseq.genes.orfs import OrfCandidates, find_orfs
from genoseq.nn.configs import MotifCNNConfig

START_UPSTREAM = 45
START_DOWNSTREAM = 24
START_WINDOW = START_UPSTREAM + START_DOWNSTREAM
_INDEX_TO_ASCII = np.frombuffer(b"ACGTN", dtype=np.uint8)
_COMPLEMENT_INDEX = np.array([3, 2, 1, 0, 4], dtype=np.uint8)


def index_to_ascii(index: np.ndarray) -> np.ndarray:
    """Base-index array (A=0 … other=4) back to ASCII bytes (other → N); uint8, same shape."""
    return _INDEX_TO_ASCII[index]


def gene_start_positions(candidates: OrfCandidates) -> np.ndarray:
    """First base of each candidate's first codon, read in the gene's direction; int64."""
    return np.where(candidates.strand > 0, candidates.start, candidates.end - 1)


def start_windows(index: np.ndarray, position: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """Windows around start codons, read on the gene's strand.

    Parameters
    ----------
    index : np.ndarray, shape (length,), uint8
        Bases A=0, C=1, G=2, T=3, other=4 of the whole record.
    position : np.ndarray, shape (n,), int
        First base of each start codon in the gene's direction (forward
        coordinates; for a − strand gene the highest base of its start codon).
    strand : np.ndarray, shape (n,), +1 / -1

    Returns
    -------
    np.ndarray, shape (n, START_WINDOW), uint8
        Bases in the gene's direction, complemented on the − strand; 4 past
        the record's ends.
    """
    pad = START_WINDOW
    padded = np.concatenate([np.full(pad, 4, np.uint8), index.astype(np.uint8),
                             np.full(pad, 4, np.uint8)])
    position = np.asarray(position, dtype=np.int64)
    plus = np.asarray(strand) > 0
    out = np.empty((len(position), START_WINDOW), dtype=np.uint8)
    # Rows of sliding-window views: + strand windows read the padded record forwards,
    # − strand windows its reverse complement, where base i sits at len(padded) - 1 - i.
    out[plus] = sliding_window_view(padded, START_WINDOW)[position[plus] + pad - START_UPSTREAM]
    minus = ~plus
    if minus.any():
        reverse = _COMPLEMENT_INDEX[padded[::-1]]
        out[minus] = sliding_window_view(reverse, START_WINDOW)[
            len(padded) - 1 - (position[minus] + pad + START_UPSTREAM)]
    return out


def default_start_config() -> MotifCNNConfig:
    return MotifCNNConfig(window=START_WINDOW, n_filters=48, filter_width=9, pool=3, hidden=64,
                          n_outputs=1, dropout=0.2)


def start_examples(index: np.ndarray, cds: list, translation_table: int, rng: np.random.Generator,
                   background_per_gene: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Training windows and 0/1 labels from one annotated record.

    For every complete, single-segment reference gene whose ORF is found, its
    annotated start is a positive and every other candidate start of that ORF
    a negative; ``background_per_gene`` negatives per gene are added from
    ORFs that hold no reference gene.

    Returns
    -------
    windows : np.ndarray, shape (n, START_WINDOW), uint8
    labels : np.ndarray, shape (n,), float32
    """
    candidates = find_orfs(index_to_ascii(index), translation_table, min_len=60, closed=True)
    stop_key = candidates.strand.astype(np.int64) * (candidates.stop_pos + 1)
    position = gene_start_positions(candidates)
    true_start = {}
    for gene in cds:
        if gene.partial_5 or gene.partial_3 or len(gene.segments) > 1:
            continue
        stop = gene.end - 3 if gene.strand > 0 else gene.start
        true_start[gene.strand * (stop + 1)] = gene.start if gene.strand > 0 else gene.end - 1
    keys = np.fromiter(true_start.keys(), dtype=np.int64, count=len(true_start))
    starts = np.fromiter(true_start.values(), dtype=np.int64, count=len(true_start))
    in_gene_orf = np.isin(stop_key, keys)
    lookup = dict(zip(keys.tolist(), starts.tolist(), strict=True))
    labels = np.zeros(len(candidates), dtype=np.float32)
    chosen = np.flatnonzero(in_gene_orf)
    labels[chosen] = [float(lookup[k] == p) for k, p in zip(stop_key[chosen].tolist(),
                                                              position[chosen].tolist(),
                                                              strict=True)]
    background = np.flatnonzero(~in_gene_orf & ~candidates.partial_5prime)
    n_background = min(len(background), int(background_per_gene * len(keys)))
    keep = np.concatenate([chosen, rng.choice(background, size=n_background, replace=False)])
    keep.sort()
    windows = start_windows(index, position[keep], candidates.strand[keep])
    return windows, labels[keep]


#: Names served by :mod:`genoseq.genes.start_model`, imported on first use (they need torch).
_TORCH_NAMES = ("StartModel", "LOGITS_AT_CHUNK")


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        from genoseq.genes import start_model

        return getattr(start_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
