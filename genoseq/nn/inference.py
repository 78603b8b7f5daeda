"""Inference plumbing shared by the sequence models: windows, length buckets, batches, stitching.

Every per-position model (the gene finder's coding model, the
secondary-structure tagger) is run the same way by :func:`predict_positions`:

1. **Windows.** A sequence longer than ``window`` is cut into overlapping
   windows; each keeps the outputs of its middle and lets ``context``
   positions on each side only inform them. A shorter sequence is one window
   of its own length (plus context, unless ``edge_padding`` is off: then no
   window reaches past a sequence's ends), so short inputs cost no padding.
2. **Length buckets.** Windows of all sequences are sorted by length, so
   that each batch holds rows of similar length.
3. **Batches.** Rows are packed into batches of about ``budget`` padded
   positions (and at most ``max_rows`` rows), with the true row lengths
   passed to the model, so that padding never changes a result: a
   sequence gets exactly what it would get alone. Many short sequences (a
   metagenome's contigs, a proteome's chains) share forward passes.
4. **Stitching.** The kept middle of every window is written back to its
   sequence's output, which is returned in input order.

The model runs under :func:`torch.inference_mode` and the autocast the
caller chose (:func:`genoseq.device.inference_autocast`), and only one
batch of outputs is held on the device at a time.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Row", "length_batches", "predict_positions", "window_rows"]


@dataclass(frozen=True)
class Row:
    """One window of one sequence: ``padded[begin:begin + size]``, of which ``stop - first`` are kept.

    Attributes
    ----------
    size : int
        Positions in the row, context included.
    item : int
        Index of the sequence in the input list.
    padded : np.ndarray
        The sequence with ``context`` pad values on the left (and enough on
        the right to fill the last window).
    first, stop : int
        Sequence positions ``first .. stop - 1`` are kept from this row.
    begin : int
        Where the row starts in ``padded`` (``first`` when the row has its
        full ``context`` on the left: ``padded`` has ``context`` pad values first).
    lead : int
        Positions of the row before its kept ones: ``context``, or, for a row
        kept inside its sequence (``edge_padding=False``), fewer at the
        sequence's start and more at its end.
    """

    size: int
    item: int
    padded: np.ndarray
    first: int
    stop: int
    begin: int
    lead: int

    @property
    def values(self) -> np.ndarray:
        """The row's positions, context included."""
        return self.padded[self.begin:self.begin + self.size]


def window_rows(sequences: Sequence[np.ndarray], *, window: int | None, context: int = 0,
                multiple: int = 1, pad_value: int = 0,
                spans: Sequence[np.ndarray | None] | None = None,
                edge_padding: bool = True) -> list[Row]:
    """Cut sequences into the overlapping windows that :func:`predict_positions` runs.

    Parameters
    ----------
    sequences : sequence of 1-D np.ndarray
        Encoded sequences; empty ones get no row.
    window : int or None
        Longest row, context included; None never cuts a sequence.
    context : int
        Positions on each side of a row that only give context.
    multiple : int
        Row sizes and window steps are multiples of this (3 keeps every row
        of a DNA sequence in the same codon frame as its sequence).
    pad_value : int
        Fills the context beyond the sequence's ends.
    spans : sequence of np.ndarray (n, 2) or None, optional
        Per sequence, ``[first, stop)`` ranges of positions wanted (None:
        none): only the rows whose kept positions meet one are returned,
        cut exactly as without ``spans``. None (default): every row.
    edge_padding : bool
        True (default): every row has ``context`` positions on each side,
        pad values past the sequence's ends. False: no row reaches past the
        sequence's ends (rounded up to ``multiple`` with pad values); a
        sequence no longer than a window is one row of its own bases, and the
        first and last rows of a longer one are moved inside it, keeping their
        size (more context on the inner side), so that all rows of a sequence
        have one size. The kept positions and the interior rows are the same
        either way.
    """
    if window is not None and window <= 2 * context:
        raise ValueError(f"window ({window}) must be longer than twice the context ({context})")
    rows = []
    for item, values in enumerate(sequences):
        length = len(values)
        if length == 0:
            continue
        size = multiple * math.ceil((length + 2 * context) / multiple)
        if window is not None:
            size = min(window, size)
        step = size - 2 * context
        n_windows = math.ceil(length / step)
        padded = np.full(n_windows * step + 2 * context, pad_value, dtype=values.dtype)
        padded[context:context + length] = values
        wanted = None
        if spans is not None:
            wanted = np.zeros((0, 2)) if spans[item] is None else np.asarray(spans[item])
        for w in range(n_windows):
            first, stop = w * step, min((w + 1) * step, length)
            if wanted is None or np.any((wanted[:, 0] < stop) & (wanted[:, 1] > first)):
                if edge_padding:
                    rows.append(Row(size, item, padded, first, stop, first, context))
                    continue
                # Rows of one size, all inside the sequence (rounded up to ``multiple``):
                # one begins at first - context where it can, else at the sequence's start
                # or ends at its end, with more context on the inner side.
                rounded = multiple * math.ceil(length / multiple)
                inside = min(size, rounded)
                begin = min(max(first - context, 0), rounded - inside)
                rows.append(Row(inside, item, padded, first, stop, begin + context,
                                first - begin))
    return rows


def length_batches(lengths: Sequence[int], max_residues: int,
                   max_items: int | None = None) -> list[np.ndarray]:
    """Group items sorted by length so that each group's padded size stays within a budget.

    Parameters
    ----------
    lengths : sequence of int
    max_residues : int
        Most ``n_items * longest_length`` per group; an item longer than this
        gets a group of its own.
    max_items : int, optional
        Most items per group.

    Returns
    -------
    list of np.ndarray of int
        Indices into ``lengths``, shortest items first.
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    groups, current = [], []
    for index in order.tolist():
        if current and ((len(current) + 1) * lengths[index] > max_residues
                        or len(current) == max_items):
            groups.append(np.array(current))
            current = []
        current.append(index)
    if current:
        groups.append(np.array(current))
    return groups


def predict_positions(
    forward: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    sequences: Sequence[np.ndarray],
    *,
    channels: int,
    device: torch.device,
    budget: int,
    window: int | None = None,
    context: int = 0,
    multiple: int = 1,
    pad_value: int = 0,
    input_dtype: torch.dtype | None = None,
    max_rows: int | None = None,
    autocast: contextlib.AbstractContextManager | None = None,
    progress: bool = False,
    desc: str = "batches",
    spans: Sequence[np.ndarray | None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    edge_padding: bool = True,
) -> list[np.ndarray]:
    """Per-position outputs of a model over sequences of any length, in input order.

    Parameters
    ----------
    forward : callable
        ``forward(batch, lengths)`` maps a ``(rows, longest)`` tensor of
        encoded positions (padded with ``pad_value``) and the rows' true
        lengths (None when all rows are full) to outputs ``(rows, longest,
        channels)``. It runs inside :func:`torch.inference_mode`.
    sequences : sequence of 1-D np.ndarray
        Encoded sequences; empty ones give empty outputs.
    channels : int
        Outputs per position.
    device : torch.device
        Where batches are sent.
    budget : int
        Padded positions per batch (rows × longest row); a row longer than
        that gets a batch of its own.
    window, context, multiple, pad_value, edge_padding
        See :func:`window_rows`.
    input_dtype : torch.dtype, optional
        Type of the batch tensor (default: that of the sequences).
    max_rows : int, optional
        Most rows per batch.
    autocast : context manager, optional
        Entered around the forward passes (e.g. a bf16 autocast).
    progress : bool
        Show a tqdm bar over batches.
    spans : sequence of np.ndarray (n, 2) or None, optional
        Per sequence, ``[first, stop)`` ranges of positions wanted (None:
        none). Only the windows whose kept positions meet a range are run
        (see :func:`window_rows`), each exactly as in a full run, so the
        wanted positions get the values a full run gives them; other
        positions are left unset. None (default) runs everything.
    on_batch : callable, optional
        Called after each batch with the number of positions it gave
        (the kept middles of its windows): over a full run the calls add up
        to the sequences' total length. For progress displays.

    Returns
    -------
    list of np.ndarray, each float32 (length, channels)
    """
    import torch
    from tqdm.auto import tqdm

    outs = [np.empty((len(values), channels), dtype=np.float32) for values in sequences]
    rows = window_rows(sequences, window=window, context=context, multiple=multiple,
                       pad_value=pad_value, spans=spans, edge_padding=edge_padding)
    rows.sort(key=lambda row: -row.size)  # stable: equal sizes keep input order
    batches = []
    first = 0
    while first < len(rows):
        longest = rows[first].size
        count = max(budget // longest, 1)
        if max_rows is not None:
            count = min(count, max_rows)
        batches.append((first, min(first + count, len(rows))))
        first = batches[-1][1]
    with torch.inference_mode(), autocast or contextlib.nullcontext():
        for first, last in tqdm(batches, desc=desc, unit="batch", disable=not progress):
            chunk = rows[first:last]
            longest = chunk[0].size
            batch = np.full((len(chunk), longest), pad_value, dtype=chunk[0].padded.dtype)
            for r, row in enumerate(chunk):
                batch[r, :row.size] = row.values
            lengths = None
            if chunk[-1].size != longest:
                lengths = torch.tensor([row.size for row in chunk])
            inputs = torch.from_numpy(batch)
            if input_dtype is not None:
                inputs = inputs.to(input_dtype)
            output = forward(inputs.to(device), lengths)
            lead = min(row.lead for row in chunk)
            kept = output[:, lead:max(row.lead + row.stop - row.first for row in chunk)
                          ].float().cpu().numpy()
            for r, row in enumerate(chunk):
                outs[row.item][row.first:row.stop] = kept[r, row.lead - lead:
                                                          row.lead - lead + row.stop - row.first]
            if on_batch is not None:
                on_batch(sum(row.stop - row.first for row in chunk))
    return outs
