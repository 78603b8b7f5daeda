"""Start detector: a MotifCNN scoring each candidate start codon in its context.

The input is a window read on the gene's strand, from ``START_UPSTREAM``
bases before the first base of the start codon (where ribosome-binding
sites lie) to ``START_DOWNSTREAM`` bases after it. The model is trained on
reference genes: the annotated start of each gene is a positive, the other
start codons of the same ORF and starts in ORFs with no annotated gene are
negatives. Its logit is the start score the decoder adds to a gene.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from genoseq.encoding import reverse_complement_index
from genoseq.genes.orfs import OrfCandidates, find_orfs
from genoseq.nn.motif_cnn import MotifCNN, MotifCNNConfig

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
