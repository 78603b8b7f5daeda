"""The gene finder's two networks: built together, saved and loaded, and run over sequences.

:class:`GeneModels` holds the coding model (:mod:`genoseq.genes.model`) and
the start detector (:mod:`genoseq.genes.starts`) as one ``state_dict``;
:func:`save_gene_models` writes it with the decoder weights
(:class:`~genoseq.genes.scoring.DecoderParams`) beside it, and
:class:`NetworkEvidence` runs the networks on a device, in a precision:
per-base coding logits over overlapping windows, and start logits at
candidate starts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from genoseq.device import inference_autocast
from genoseq.genes.frames import stop_codons
from genoseq.genes.model import CodingModel
from genoseq.genes.numpy_networks import SHIPPED_MODEL
from genoseq.genes.orfs import OrfCandidates
from genoseq.genes.scoring import DecoderParams
from genoseq.genes.start_model import StartModel
from genoseq.genes.starts import START_WINDOW, gene_start_positions, start_windows
from genoseq.nn.checkpoint import load_model_state, reading_model, save_model
from genoseq.nn.inference import predict_positions
from genoseq.nn.motif_cnn import MotifCNNConfig
from genoseq.nn.tagger import TaggerConfig

#: Windows per forward pass of :meth:`NetworkEvidence.coding_logits_chunks` (a long
#: record's chunks): a window holds ~1.2 kB of activations per base (~10 MB for 9 kb).
STREAM_BATCH = 8
#: Bases of a long record whose start codons :meth:`NetworkEvidence.start_logits_at`
#: scores in one call of the start detector.
START_SLICE = 1 << 16


class GeneModels(nn.Module):
    """The two networks of the gene finder, saved together as one state_dict."""

    def __init__(self, coding_config: TaggerConfig | None = None,
                 start_config: MotifCNNConfig | None = None):
        super().__init__()
        self.coding = CodingModel(coding_config)
        self.start = StartModel(start_config)

    def config(self) -> dict:
        return {"coding": self.coding.config.to_dict(), "start": self.start.config.to_dict()}


def save_gene_models(models: GeneModels, params: DecoderParams, path_stem,
                     metadata: dict | None = None, adapted: DecoderParams | None = None):
    """Write ``<stem>.pt`` + ``<stem>.json`` (network configs and decoder parameters)."""
    config = models.config()
    config["decoder"] = params.to_dict()
    config["decoder_adapted"] = None if adapted is None else adapted.to_dict()
    return save_model(models, config, path_stem, metadata)


def load_gene_models(path_stem: str | os.PathLike | None = None
                     ) -> tuple[GeneModels, DecoderParams, DecoderParams | None, dict]:
    """Load gene models saved by :func:`save_gene_models`; None → the shipped ones.

    Returns the networks, the first-pass decoder parameters, the self-trained
    pass's parameters (None if the model has none) and the model card metadata.
    """
    with reading_model(path_stem, "genoseq gene model"):
        state, config, metadata = load_model_state(path_stem, SHIPPED_MODEL)
        models = GeneModels(TaggerConfig.from_dict(config["coding"]),
                            MotifCNNConfig.from_dict(config["start"]))
        models.load_state_dict(state)
        adapted = config.get("decoder_adapted")
        params = DecoderParams.from_dict(config["decoder"])
        adapted = None if adapted is None else DecoderParams.from_dict(adapted)
    return models.eval(), params, adapted, metadata


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis of a float32 array (as torch computes it), float32."""
    return torch.log_softmax(torch.from_numpy(logits), dim=-1).numpy()


class NetworkEvidence:
    """The gene finder's networks on a device, in a precision, over whole sequences.

    Parameters
    ----------
    models : GeneModels
        Moved to ``device`` and put in eval mode.
    device : torch.device
    precision : "fp32", "bf16", "fp16" or "auto"
        Arithmetic of the networks, as resolved for ``device``
        (:func:`genoseq.device.resolve_precision`).
    batch_size : int
        Coding-model windows per forward pass.
    window, context : int
        Coding-model windows of ``window`` bases, of which ``context`` bases on
        each side only give context (both multiples of 3, ``window > 2 * context``).
    edge_padding : bool
        Windows reach past a sequence's ends into N padding (True) or stop
        there (False, the gene finder's default: :data:`genoseq.genes.finder.EDGE_PADDING`).
    """

    def __init__(self, models: GeneModels, *, device: torch.device, precision: str,
                 batch_size: int, window: int, context: int, translation_table: int = 11,
                 edge_padding: bool = False):
        if window % 3 or context % 3 or window <= 2 * context:
            raise ValueError("window and context must be multiples of 3 with window > 2*context")
        self.models = models.to(device).eval()
        #: Stop codons of the table, for a coding model with open-frame channels.
        self.stops = (stop_codons(translation_table).to(device)
                      if models.coding.uses_frames else None)
        self.device = device
        self.precision = precision
        #: The start detector's arithmetic: fp32 on the CPU whatever ``precision`` is. It is
        #: a small convolution whose bf16 run was slower than fp32 on a CPU with AMX-BF16
        #: (P. fluorescens, 6 Mbp: 1.98 s vs 1.44 s), and fp32 logits need no recheck.
        self.start_precision = "fp32" if device.type == "cpu" else precision
        self.batch_size = batch_size
        self.window = window
        self.context = context
        self.edge_padding = edge_padding

    log_softmax = staticmethod(log_softmax)

    def coding_log_probs(self, index: np.ndarray) -> np.ndarray:
        """Per-base log-probabilities of the frame classes.

        Parameters
        ----------
        index : np.ndarray, shape (length,), uint8
            Bases as A=0, C=1, G=2, T=3, other=4.

        Returns
        -------
        np.ndarray, shape (length, 7), float32
        """
        return self.coding_log_probs_many([index])[0]

    def coding_log_probs_many(self, indices: list[np.ndarray]) -> list[np.ndarray]:
        """:meth:`coding_log_probs` of several sequences, batched together (see :meth:`coding_logits_many`)."""
        return [log_softmax(logits) for logits in self.coding_logits_many(indices)]

    def coding_logits_many(self, indices: list[np.ndarray], precision: str | None = None,
                           spans: list[np.ndarray | None] | None = None,
                           on_batch: Callable[[int], None] | None = None,
                           batch_size: int | None = None) -> list[np.ndarray]:
        """Per-base logits of the frame classes of several sequences, batched together.

        The decoder needs only each class's log-probability minus that of the
        non-coding class, which equals the difference of the logits, so
        scoring skips the log-softmax (about 5% of a genome's time).

        A sequence longer than one window is cut into overlapping windows of
        ``window`` bases whose outer ``context`` bases on each side only give
        context; a shorter one is one window of its own length plus context.
        Windows of all sequences are sorted by length and packed into batches
        of about ``batch_size * window`` bases, rows of unequal length with
        their true lengths, so that padding never changes a result: each
        sequence gets exactly what it would get alone. Many small contigs (a
        metagenome) therefore share forward passes.

        ``precision`` overrides the networks' arithmetic; ``spans`` (per
        sequence, ``[first, stop)`` ranges) runs only the windows those
        positions need, leaving other positions unset (see
        :func:`~genoseq.nn.inference.predict_positions`). ``batch_size``
        overrides the windows per forward pass.

        Returns
        -------
        list of np.ndarray, each (length, 7) float32
        """
        coding = self.models.coding
        precision = self.precision if precision is None else precision

        def forward(batch: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
            return coding(batch, lengths=lengths, stops=self.stops).float()

        # Rows start at multiples of 3 minus context ≡ 0 (mod 3): all in codon offset 0.
        return predict_positions(forward, indices, channels=7, device=self.device,
                                 budget=(batch_size or self.batch_size) * self.window,
                                 window=self.window,
                                 context=self.context, multiple=3, pad_value=4,
                                 autocast=inference_autocast(self.device, precision),
                                 spans=spans, on_batch=on_batch,
                                 edge_padding=self.edge_padding)

    def coding_logits_chunks(self, index: np.ndarray, chunk: int,
                             on_batch: Callable[[int], None] | None = None
                             ) -> Iterator[np.ndarray]:
        """Per-base logits of one sequence, in order, about ``chunk`` positions at a time.

        The values of :meth:`coding_logits_many` on the sequence alone, with
        only one chunk's windows run and held at a time (the ``spans`` of
        :meth:`coding_logits_many`), so memory follows the chunk, not the
        sequence. The windows are cut as in the whole run; they run in
        forward passes of ``STREAM_BATCH`` windows, a quarter of the
        activations of the default 32, except the windows of the whole run's
        last forward pass, which run together as there. A window of a batch
        of whole windows gets the same values whichever windows share it
        (the rows of a pass are computed independently; checked bit for bit
        by tests/genes/test_memory_paths.py), but a pass of one row may take
        another kernel, which is why the last pass (often one row) is kept
        as it was.

        Yields
        ------
        np.ndarray, (positions, 7) float32
            Consecutive pieces covering the sequence.
        """
        length = len(index)
        size = min(self.window, 3 * math.ceil((length + 2 * self.context) / 3))
        step = size - 2 * self.context
        n_windows = math.ceil(length / step)
        last = (n_windows - 1) // self.batch_size * self.batch_size  # first window of last pass
        small = min(STREAM_BATCH, self.batch_size)
        per_chunk = max(1, round(chunk / (step * small))) * small
        pieces = [(first, min(first + per_chunk, last), small)
                  for first in range(0, last, per_chunk)]
        pieces.append((last, n_windows, self.batch_size))
        for first_window, stop_window, batch_size in pieces:
            first, stop = first_window * step, min(stop_window * step, length)
            # Positions outside the span are left unset by predict_positions and never
            # written: their pages of the (length, 7) output are never touched.
            whole = self.coding_logits_many([index], spans=[np.array([[first, stop]])],
                                            on_batch=on_batch, batch_size=batch_size)[0]
            piece = whole[first:stop].copy()
            del whole
            yield piece

    def start_logits(self, index: np.ndarray, candidates: OrfCandidates,
                     which: np.ndarray, precision: str | None = None) -> np.ndarray:
        """Start-detector logits of the candidates ``which`` (indices), float64."""
        return self.start_logits_at(index, gene_start_positions(candidates)[which],
                                    candidates.strand[which], precision)

    def start_logits_at(self, index: np.ndarray, position: np.ndarray, strand: np.ndarray,
                        precision: str | None = None) -> np.ndarray:
        """Start-detector logits of the start codons at ``position``/``strand``, float64.

        As :meth:`genoseq.genes.starts.StartModel.logits_at`: a window reads
        only its own bases, unknown ones past the record's ends, so records
        packed into one ``index`` with at least ``START_WINDOW`` unknown bases
        between them get the logits each gets alone. A record longer than
        ``2 * START_SLICE`` is scored a slice at a time, so the padded copies
        of each strand follow the slice, not the record; the convolution then
        runs over segments cut elsewhere, which moves a logit by float32
        rounding at most (5e-7 on 54 of 117,284 starts of 2 Mbp of
        P. fluorescens).
        """
        precision = self.start_precision if precision is None else precision
        start = self.models.start
        with torch.inference_mode(), inference_autocast(self.device, precision):
            if len(index) <= 2 * START_SLICE:
                return start.logits_at(index, position, strand, self.device)
            # A long record a slice at a time: the start codons of START_SLICE bases with
            # START_WINDOW bases of margin on each side (all their windows read), so that
            # the convolution's activations follow the slice, not the record.
            position = np.asarray(position, dtype=np.int64)
            strand = np.asarray(strand)
            order = np.argsort(position, kind="stable")
            bounds = np.searchsorted(position[order],
                                     np.arange(0, len(index) + START_SLICE, START_SLICE))
            out = np.empty(len(position), dtype=np.float64)
            for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
                if hi == lo:
                    continue
                first = max(0, k * START_SLICE - START_WINDOW)
                stop = min(len(index), (k + 1) * START_SLICE + START_WINDOW)
                which = order[lo:hi]
                out[which] = start.logits_at(index[first:stop], position[which] - first,
                                             strand[which], self.device)
            return out

    def exact_start_logits(self, index: np.ndarray, candidates: OrfCandidates,
                           which: np.ndarray, rows: int = 1024) -> np.ndarray:
        """fp32 start-detector logits of the candidates ``which``, each from its own window.

        For the scattered candidates :func:`~genoseq.genes.recheck.rescore_exact`
        re-scores this costs less than the record-wide convolution of
        :meth:`start_logits` (same values to float rounding).
        """
        positions = gene_start_positions(candidates)[which]
        out = np.empty(len(which), dtype=np.float64)
        with torch.inference_mode(), inference_autocast(self.device, "fp32"):
            for first in range(0, len(which), rows):
                part = slice(first, first + rows)
                windows = torch.from_numpy(start_windows(index, positions[part],
                                                         candidates.strand[which[part]]))
                out[part] = self.models.start(windows.to(self.device)).float().cpu().numpy()
        return out
