"""GeneFinder: coding model + start detector + ORF decoder → genes.

``GeneFinder.find_genes(sequence)`` runs, for one DNA sequence:

1. the coding model over overlapping windows (batched, stitched) → per-base
   log-probabilities of the seven absolute-frame classes;
2. ORF enumeration under the translation table (:func:`find_orfs`);
3. per candidate: summed coding log-likelihood ratio, and the start
   detector's logit for its start codon (5'-partial candidates get
   ``edge_start_score``);
4. the overlap-aware dynamic programme (:func:`select_genes`).

In single-genome mode (``procedure="single"``, Prodigal's default) a genome
of at least ``adapt_min_length`` bp is then decoded a second time with a
genome-specific hexamer coding score learned from the first pass's genes
(:mod:`genoseq.genes.adapt`), under decoder weights calibrated for that.
Metagenome mode (``"meta"``) decodes each record once, independently.

When the networks run in reduced precision (bf16 or fp16, the default on
CUDA and on CPUs with native bf16), every decoding first finds the decisions
that the arithmetic could tip and re-scores their ORFs in fp32
(:meth:`GeneFinder.choose`), so that the calls are those of an fp32 run.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from genoseq.device import inference_autocast, resolve_device, resolve_precision
from genoseq.encoding import dna_to_index, reverse_complement
from genoseq.genes.adapt import (
    hexamer_log_ratios,
    hexamer_scores,
    start_profile,
    start_profile_scores,
)
from genoseq.genes.decode import OverlapRules, coding_evidence, coding_scores, select_genes
from genoseq.genes.model import CodingModel
from genoseq.genes.orfs import OrfCandidates, find_orfs
from genoseq.genes.rbs import UPSTREAM as RBS_UPSTREAM
from genoseq.genes.rbs import find_rbs
from genoseq.genes.starts import StartModel, gene_start_positions, start_windows
from genoseq.io.genes import Gene, translate_gene
from genoseq.nn.checkpoint import load_shipped_state, load_state, save_model
from genoseq.nn.inference import predict_positions, window_rows
from genoseq.nn.motif_cnn import MotifCNNConfig
from genoseq.nn.tagger import TaggerConfig

SHIPPED_MODEL = "genes"
START_LOGIT_CAP = 10.0
#: How far reduced-precision (bf16/fp16) arithmetic may move a score, for
#: :meth:`GeneFinder.near_ties`: a summed coding log-ratio over a span of d bp
#: by ``TIE_CODING_BASE + TIE_CODING_PER_BP * d``, a start logit by
#: ``TIE_START``. Set from bf16 against fp32 runs of two genomes where bf16
#: alone moved calls (pflu 6 genes, bsub 7, all near ties): a fifth of these
#: bounds still let 2 through on each, half of them caught every one, and
#: they are twice that; then checked on all 13 genomes of ../shared/data
#: (benchmarks/gene_precision.py). Pairs of starts of one gene moved by less
#: than 0.07 score units in 99% of pairs under 100 bp apart.
TIE_CODING_BASE = 4.0
TIE_CODING_PER_BP = 0.075
TIE_START = 0.025
#: Bases per group in :meth:`GeneFinder.score_records`: the per-base coding
#: log-probabilities (28 bytes per base) of one group are in memory at a time.
SCORE_GROUP_BASES = 4_000_000


def covered_runs(length: int, ranges: np.ndarray, window: int, context: int
                 ) -> list[tuple[int, int]]:
    """Contiguous ``[lo, hi)`` runs of bases that the coding windows meeting ``ranges`` give.

    The windows are those :meth:`GeneFinder.coding_logits_many` runs for a
    sequence of ``length`` bases when asked for ``ranges``.
    """
    runs = []
    for row in window_rows([np.zeros(length, dtype=np.uint8)], window=window, context=context,
                           multiple=3, spans=[ranges]):
        if runs and runs[-1][1] == row.first:
            runs[-1] = (runs[-1][0], row.stop)
        else:
            runs.append((row.first, row.stop))
    return runs


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis of a float32 array (as torch computes it), float32."""
    return torch.log_softmax(torch.from_numpy(logits), dim=-1).numpy()


def groups_by_size(items, size, limit):
    """Consecutive runs of ``items``, each closed once its total ``size(item)`` reaches ``limit``.

    The last run may be smaller; an item larger than ``limit`` is a run of its own.
    """
    group, total = [], 0
    for item in items:
        group.append(item)
        total += size(item)
        if total >= limit:
            yield group
            group, total = [], 0
    if group:
        yield group


@dataclass(frozen=True)
class DecoderParams:
    """Weights of the decoder's gene score, fitted on training genomes.

    ``score = coding_weight * coding_llr + hexamer_weight * hexamer_llr
    + start_weight * start_logit + profile_weight * start_profile + gene_bias
    + length_bias * length_kb``;
    the start logit is clipped to ±10, per-base coding log-ratios to
    ±``llr_clip``. ``hexamer_weight`` and ``profile_weight`` weigh the
    self-trained scores of the second pass.
    """

    coding_weight: float = 0.3
    start_weight: float = 1.0
    gene_bias: float = -10.0
    length_bias: float = 0.0
    edge_start_score: float = 0.0
    llr_clip: float = 8.0
    hexamer_weight: float = 0.0
    profile_weight: float = 0.0
    overlap: OverlapRules = field(default_factory=OverlapRules)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DecoderParams:
        data = dict(data)
        data["overlap"] = OverlapRules(**data.get("overlap", {}))
        return cls(**data)


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
    if path_stem is None:
        state, config, metadata = load_shipped_state(SHIPPED_MODEL)
    else:
        state, config, metadata = load_state(path_stem)
    models = GeneModels(TaggerConfig.from_dict(config["coding"]),
                        MotifCNNConfig.from_dict(config["start"]))
    models.load_state_dict(state)
    models.eval()
    adapted = config.get("decoder_adapted")
    return (models, DecoderParams.from_dict(config["decoder"]),
            None if adapted is None else DecoderParams.from_dict(adapted), metadata)


@dataclass
class ScoredCandidates:
    """Candidates of one sequence with their score parts (for decoding and calibration).

    Attributes
    ----------
    candidates : OrfCandidates
    coding : np.ndarray, shape (n,)
        Summed coding-model log-likelihood ratio.
    start : np.ndarray, shape (n,)
        Start logit, clipped; ``edge_start_score`` for 5'-partial candidates.
    start_known : np.ndarray, shape (n,), bool
        Whether ``start`` holds the detector's logit yet: it is computed only
        for candidates that can reach a positive score (see
        :meth:`GeneFinder.fill_start_logits`).
    hexamer : np.ndarray, shape (n,), or None
        Self-trained hexamer score (second pass only).
    profile : np.ndarray, shape (n,), or None
        Self-trained start-profile score (second pass only; 0 for 5'-partial).
    log_probs : np.ndarray, shape (length, 7), or None
        Coding-model log-probabilities, kept on request (coding track).
    exact : np.ndarray, shape (n,), bool, or None
        Whether ``coding`` comes from fp32 arithmetic: every candidate in an
        fp32 run; in a reduced-precision run, those re-scored by
        :meth:`GeneFinder.rescore_exact`. None: all.
    start_exact : np.ndarray, shape (n,), bool, or None
        The same for ``start``.
    """

    candidates: OrfCandidates
    coding: np.ndarray
    start: np.ndarray
    start_known: np.ndarray
    hexamer: np.ndarray | None = None
    profile: np.ndarray | None = None
    log_probs: np.ndarray | None = None
    exact: np.ndarray | None = None
    start_exact: np.ndarray | None = None


def gene_bias(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray:
    """Per-candidate prior: a constant plus a term proportional to the gene's length.

    With only a constant, a short gene must gather as much evidence per gene as
    a long one; the length term lets calibration trade the two.
    """
    length_kb = (scored.candidates.end - scored.candidates.start) / 1000.0
    return params.gene_bias + params.length_bias * length_kb


def self_trained_score(scored: ScoredCandidates, params: DecoderParams) -> np.ndarray | float:
    """Weighted hexamer + start-profile scores of the candidates (0 before self-training)."""
    total = 0.0
    if params.hexamer_weight and scored.hexamer is not None:
        total = total + params.hexamer_weight * scored.hexamer
    if params.profile_weight and scored.profile is not None:
        total = total + params.profile_weight * scored.profile
    return total


@dataclass
class Prediction:
    """Genes of one sequence with the evidence behind them.

    Attributes
    ----------
    seqid : str
    genes : list of Gene
    scored : ScoredCandidates
        Every candidate gene with its score parts.
    total : np.ndarray, shape (n_candidates,)
        Decoder score of each candidate in the final pass.
    adapted : bool
        Whether the self-trained second pass decided the genes.
    """

    seqid: str
    genes: list[Gene]
    scored: ScoredCandidates
    total: np.ndarray
    adapted: bool

    @property
    def log_probs(self) -> np.ndarray | None:
        return self.scored.log_probs


class GeneFinder:
    """Find protein-coding genes in prokaryotic DNA.

    Parameters
    ----------
    model : path or None
        Saved gene models (``<stem>``, as written by :func:`save_gene_models`);
        None loads the shipped weights.
    translation_table : int
        NCBI genetic code (11 for most bacteria and archaea, 4 for Mycoplasma).
    procedure : "single" or "meta"
        Single genome: self-train on the input when it is long enough.
        Metagenome: every record on its own, no self-training.
    min_len : int
        Shortest gene called, bp including the stop codon.
    closed : bool
        No genes running off sequence edges (Prodigal ``-c``).
    mask_n : bool
        No genes across unknown bases (Prodigal ``-m``).
    device : str or torch.device or None
        None: CUDA when present, else CPU.
    batch_size : int
        Windows per forward pass of the coding model.
    window, context : int
        Coding-model windows of ``window`` bases, of which ``context`` bases on
        each side only give context (both multiples of 3).
    adapt_min_length : int
        Self-train only on inputs of at least this many bp (total).
    precision : "auto", "fp32", "bf16" or "fp16"
        Arithmetic of the networks. "auto": mixed precision (bf16, or fp16 on
        GPUs without bf16) on CUDA; on the CPU, bf16 where the processor has
        native bf16 instructions (AVX512-BF16 or AMX, :func:`cpu_has_native_bf16`),
        about twice as fast there, else fp32. Reduced precision can change a
        near-tied call; with ``recheck`` such calls are re-scored in fp32.
    recheck : bool
        In reduced precision, find the decisions that the arithmetic could
        tip (:meth:`near_ties`) and re-score their ORFs in fp32 before
        deciding, so that calls match an fp32 run. No effect in fp32.
    """

    def __init__(self, model=None, *, translation_table: int = 11,
                 procedure: str = "single", min_len: int = 90, closed: bool = False,
                 mask_n: bool = False, device=None, batch_size: int = 32, window: int = 6000,
                 context: int = 600, adapt_min_length: int = 100_000,
                 models: GeneModels | None = None, params: DecoderParams | None = None,
                 adapted_params: DecoderParams | None = None, precision: str = "auto",
                 recheck: bool = True):
        if window % 3 or context % 3 or window <= 2 * context:
            raise ValueError("window and context must be multiples of 3 with window > 2*context")
        if procedure not in ("single", "meta"):
            raise ValueError(f"unknown procedure {procedure!r}: expected single or meta")
        if models is None:
            models, saved, saved_adapted, _ = load_gene_models(model)
            params = saved if params is None else params
            adapted_params = saved_adapted if adapted_params is None else adapted_params
        self.device = resolve_device(device)
        self.models = models.to(self.device).eval()
        self.params = DecoderParams() if params is None else params
        self.adapted_params = adapted_params
        self.translation_table = translation_table
        self.procedure = procedure
        self.min_len = min_len
        self.closed = closed
        self.mask_n = mask_n
        self.batch_size = batch_size
        self.window = window
        self.context = context
        self.adapt_min_length = adapt_min_length
        self.precision = precision
        #: What "auto" resolved to on this device: the arithmetic actually used.
        self.network_precision = resolve_precision(self.device, precision)
        self.recheck = recheck

    @property
    def adapts(self) -> bool:
        """Whether long single-genome inputs get the self-trained second pass."""
        return self.procedure == "single" and self.adapted_params is not None

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
                           spans: list[np.ndarray | None] | None = None) -> list[np.ndarray]:
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

        ``precision`` overrides the finder's arithmetic; ``spans`` (per
        sequence, ``[first, stop)`` ranges) runs only the windows those
        positions need, leaving other positions unset (see
        :func:`~genoseq.nn.inference.predict_positions`).

        Returns
        -------
        list of np.ndarray, each (length, 7) float32
        """
        coding = self.models.coding
        precision = self.network_precision if precision is None else precision

        def forward(batch: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
            return coding(batch, lengths=lengths).float()

        # Rows start at multiples of 3 minus context ≡ 0 (mod 3): all in codon offset 0.
        return predict_positions(forward, indices, channels=7, device=self.device,
                                 budget=self.batch_size * self.window, window=self.window,
                                 context=self.context, multiple=3, pad_value=4,
                                 autocast=inference_autocast(self.device, precision),
                                 spans=spans)

    def start_logits(self, index: np.ndarray, candidates: OrfCandidates,
                     which: np.ndarray, precision: str | None = None) -> np.ndarray:
        """Start-detector logits of the candidates ``which`` (indices), float64."""
        precision = self.network_precision if precision is None else precision
        with torch.inference_mode(), inference_autocast(self.device, precision):
            return self.models.start.logits_at(index, gene_start_positions(candidates)[which],
                                               candidates.strand[which], self.device)

    def score_candidates(self, seq: bytes, all_starts: bool = False,
                         keep_log_probs: bool = False) -> tuple[np.ndarray, ScoredCandidates]:
        """Enumerate and score the candidate genes of one upper-case sequence.

        Start logits are computed only for candidates that could score above
        zero under the first-pass decoder weights, unless ``all_starts``.
        """
        return self.score_records([seq], all_starts, keep_log_probs)[0]

    def score_records(self, seqs: list[bytes], all_starts: bool = False,
                      keep_log_probs: bool = False
                      ) -> list[tuple[np.ndarray, ScoredCandidates]]:
        """:meth:`score_candidates` of several sequences, the coding model batched over them.

        Sequences go through the coding model in groups of about
        ``SCORE_GROUP_BASES`` bases, so per-base log-probabilities are held
        for one group at a time unless ``keep_log_probs``.
        """
        results = []
        for group in groups_by_size(seqs, len, SCORE_GROUP_BASES):
            indices = [dna_to_index(member) for member in group]
            for member, index, logits in zip(group, indices,
                                             self.coding_logits_many(indices), strict=True):
                candidates = find_orfs(member, self.translation_table, min_len=self.min_len,
                                       closed=self.closed, mask_n=self.mask_n)
                cumulative = coding_evidence(logits, clip=self.params.llr_clip)
                coding = coding_scores(cumulative, candidates.start, candidates.end,
                                       candidates.strand)
                del cumulative
                scored = ScoredCandidates(
                    candidates, coding,
                    start=np.full(len(candidates), self.params.edge_start_score,
                                  dtype=np.float64),
                    start_known=candidates.partial_5prime.copy(),
                    log_probs=log_softmax(logits) if keep_log_probs else None,
                    exact=np.full(len(candidates), self.network_precision == "fp32"),
                    start_exact=np.full(len(candidates), self.network_precision == "fp32"))
                self.fill_start_logits(index, scored, None if all_starts else self.params)
                results.append((index, scored))
        return results

    def fill_start_logits(self, index: np.ndarray, scored: ScoredCandidates,
                          params: DecoderParams | None) -> None:
        """Compute the start logits still missing for candidates that ``params`` could choose.

        A candidate can be chosen only if its score is positive with the best
        possible start logit; None computes every missing one.
        """
        missing = ~scored.start_known
        if params is not None:
            best_case = params.coding_weight * scored.coding + gene_bias(scored, params)
            best_case = best_case + self_trained_score(scored, params)
            missing &= best_case + params.start_weight * START_LOGIT_CAP > 0
        which = np.flatnonzero(missing)
        if len(which):
            scored.start[which] = np.clip(self.start_logits(index, scored.candidates, which),
                                          -START_LOGIT_CAP, START_LOGIT_CAP)
            scored.start_known[which] = True

    def total_scores(self, scored: ScoredCandidates, params: DecoderParams | None = None
                     ) -> np.ndarray:
        p = self.params if params is None else params
        total = (p.coding_weight * scored.coding + p.start_weight * scored.start
                 + gene_bias(scored, p))
        return total + self_trained_score(scored, p)

    def decode(self, scored: ScoredCandidates, params: DecoderParams | None = None) -> np.ndarray:
        """Indices of the chosen candidates."""
        p = self.params if params is None else params
        c = scored.candidates
        return select_genes(c.start, c.end, c.strand, self.total_scores(scored, p), p.overlap)

    def choose(self, records: list[tuple[np.ndarray, ScoredCandidates]],
               params: DecoderParams) -> list[np.ndarray]:
        """:meth:`decode` every record; in reduced precision, near ties re-scored in fp32 first.

        With ``recheck`` and reduced-precision networks, the ORFs of every
        decision that the arithmetic could tip (:meth:`near_ties`) get fp32
        scores (:meth:`rescore_exact`) and the records are decoded again,
        until no such decision is left on an ORF not yet re-scored.
        """
        chosen = [self.decode(scored, params) for _, scored in records]
        if not self.recheck or self.network_precision == "fp32":
            return chosen
        while True:
            todo = []
            for r, (_, scored) in enumerate(records):
                orfs = self.near_ties(scored, params, chosen[r])
                if len(orfs):
                    todo.append((r, orfs))
            if not todo:
                return chosen
            self.rescore_exact([(records[r], orfs) for r, orfs in todo])
            for r, _ in todo:
                chosen[r] = self.decode(records[r][1], params)

    def near_ties(self, scored: ScoredCandidates, params: DecoderParams,
                  chosen: np.ndarray) -> np.ndarray:
        """ORFs (ids) of decisions that reduced-precision arithmetic could tip, not yet exact.

        Every score not yet exact is moved against the decision taken by as
        much as the arithmetic could move it (``TIE_*``): chosen genes down,
        other candidates up; a rival start of a chosen gene by what their
        difference could move, which grows with the bases between the two
        starts. The candidates on which decoding those scores disagrees
        with ``chosen`` mark the near ties: one decode decides for all the
        genes at once, overlaps and starts alike.
        """
        c = scored.candidates
        if len(c) == 0:
            return np.zeros(0, dtype=np.int64)
        everything = np.ones(len(c), dtype=bool)
        exact = everything if scored.exact is None else scored.exact
        start_exact = everything if scored.start_exact is None else scored.start_exact
        length = (c.end - c.start).astype(np.float64)

        def coding_error(span):
            return params.coding_weight * (TIE_CODING_BASE + TIE_CODING_PER_BP * span)

        start_error = params.start_weight * TIE_START * (~c.partial_5prime & ~start_exact)
        own = np.where(exact, 0.0, coding_error(length)) + start_error
        n_orfs = int(c.orf_id.max()) + 1
        rival_length = np.full(n_orfs, -1.0)
        rival_length[c.orf_id[chosen]] = length[chosen]
        rival_exact = np.zeros(n_orfs, dtype=bool)
        rival_exact[c.orf_id[chosen]] = exact[chosen]
        rival_length, rival_exact = rival_length[c.orf_id], rival_exact[c.orf_id]
        # A rival start of a chosen gene, coding both inexact: their shared bases err alike.
        shared = (rival_length >= 0) & ~exact & ~rival_exact
        shift = own.copy()
        shift[shared] = (coding_error(np.abs(length - rival_length))
                         - coding_error(rival_length) + start_error)[shared]
        shift[chosen] = -own[chosen]
        adverse = select_genes(c.start, c.end, c.strand,
                               self.total_scores(scored, params) + shift, params.overlap)
        changed = np.setxor1d(chosen, adverse)
        if (exact[changed] & (start_exact[changed] | c.partial_5prime[changed])).all():
            return np.zeros(0, dtype=np.int64)
        return np.unique(c.orf_id[changed])

    def rescore_exact(self, items: list[tuple[tuple[np.ndarray, ScoredCandidates], np.ndarray]]
                      ) -> None:
        """Give the candidates of the listed ORFs fp32 scores (coding and start).

        ``items`` holds ``((index, scored), orf_ids)`` per record. Only the
        coding-model windows covering those ORFs are run, batched over all
        records, each exactly as an fp32 run of the whole record runs it;
        every candidate lying within the bases they give gets its fp32
        coding score. Start logits are recomputed for the listed ORFs only,
        each from its own window (:meth:`exact_start_logits`).
        """
        spans, members = [], []
        for (_, scored), orfs in items:
            c = scored.candidates
            which = np.flatnonzero(np.isin(c.orf_id, orfs))
            members.append(which)
            inexact = which if scored.exact is None else which[~scored.exact[which]]
            # Candidates of one ORF are contiguous, ORF ids ascending (find_orfs).
            _, first = np.unique(c.orf_id[inexact], return_index=True)
            if len(inexact):
                spans.append(np.stack([np.minimum.reduceat(c.start[inexact], first),
                                       np.maximum.reduceat(c.end[inexact], first)], axis=1))
            else:
                spans.append(np.zeros((0, 2), dtype=np.int64))
        indices = [index for (index, _), _ in items]
        logits = self.coding_logits_many(indices, precision="fp32", spans=spans)
        for ((index, scored), _), ranges, which, values in zip(items, spans, members, logits,
                                                               strict=True):
            c = scored.candidates
            for lo, hi in covered_runs(len(index), ranges, self.window, self.context):
                inside = np.flatnonzero((c.start >= lo) & (c.end <= hi))
                cumulative = coding_evidence(values[lo:hi], clip=self.params.llr_clip)
                scored.coding[inside] = coding_scores(cumulative, c.start[inside],
                                                      c.end[inside], c.strand[inside], offset=lo)
                if scored.exact is not None:
                    scored.exact[inside] = True
            known = which[scored.start_known[which] & ~c.partial_5prime[which]]
            scored.start[known] = np.clip(self.exact_start_logits(index, c, known),
                                          -START_LOGIT_CAP, START_LOGIT_CAP)
            if scored.start_exact is not None:
                scored.start_exact[which] = True

    def exact_start_logits(self, index: np.ndarray, candidates: OrfCandidates,
                           which: np.ndarray, rows: int = 1024) -> np.ndarray:
        """fp32 start-detector logits of the candidates ``which``, each from its own window.

        For the scattered candidates :meth:`rescore_exact` re-scores this
        costs less than the record-wide convolution of :meth:`start_logits`
        (same values to float rounding).
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

    def self_train(self, records: list[tuple[np.ndarray, ScoredCandidates]]) -> None:
        """Learn genome-specific statistics from a first pass and score every candidate.

        The first pass (first-pass weights, no self-trained terms) gives genes;
        their in-frame hexamers against the genome's background give the
        hexamer score, their starts against the rival starts of their ORFs
        give the start profile (:mod:`genoseq.genes.adapt`).
        """
        first_pass = []
        true_windows, other_windows = [], []
        for _, scored in records:
            scored.hexamer = scored.profile = None
        for (index, scored), chosen in zip(records, self.choose(records, self.params),
                                           strict=True):
            c = scored.candidates
            first_pass.append((c.start[chosen], c.end[chosen], c.strand[chosen]))
            complete = chosen[~c.partial_5prime[chosen]]
            rivals = np.flatnonzero(np.isin(c.orf_id, c.orf_id[complete]) & ~c.partial_5prime)
            rivals = np.setdiff1d(rivals, complete)
            positions = gene_start_positions(c)
            true_windows.append(start_windows(index, positions[complete], c.strand[complete]))
            other_windows.append(start_windows(index, positions[rivals], c.strand[rivals]))
        ratios = hexamer_log_ratios([index for index, _ in records], first_pass)
        profile = start_profile(np.concatenate(true_windows), np.concatenate(other_windows))
        for index, scored in records:
            c = scored.candidates
            scored.hexamer = hexamer_scores(index, ratios, c.start, c.end, c.strand)
            windows = start_windows(index, gene_start_positions(c), c.strand)
            scored.profile = np.where(c.partial_5prime, 0.0,
                                      start_profile_scores(windows, profile))

    def predict_genome(self, records, *, keep_log_probs: bool = False,
                       all_starts: bool = False) -> list[Prediction]:
        """Predict genes on all records of one genome (or, in meta mode, of a metagenome).

        Parameters
        ----------
        records : iterable of (seqid, sequence)
            Sequences as bytes or str, either case.
        keep_log_probs : bool
            Keep per-base coding log-probabilities in the predictions.
        all_starts : bool
            Score every candidate start with the start detector, not only
            those that could be chosen (for listing all candidates).
        """
        seqs = []
        for seqid, sequence in records:
            seq = sequence.encode("ascii") if isinstance(sequence, str) else bytes(sequence)
            seqs.append((seqid, seq.upper()))
        scored_records = self.score_records([seq for _, seq in seqs],
                                            all_starts=all_starts,
                                            keep_log_probs=keep_log_probs)
        total_length = sum(len(seq) for _, seq in seqs)
        adapted = self.adapts and total_length >= self.adapt_min_length
        if adapted:
            self.self_train(scored_records)
            for index, scored in scored_records:
                self.fill_start_logits(index, scored, self.adapted_params)
        params = self.adapted_params if adapted else self.params
        chosen = self.choose(scored_records, params)
        return [self._prediction(seqid, seq, index, scored, params, adapted, picked)
                for (seqid, seq), (index, scored), picked in zip(seqs, scored_records, chosen,
                                                                 strict=True)]

    def predict(self, sequence: bytes | str, seqid: str = "seq",
                keep_log_probs: bool = False) -> Prediction:
        """Genes of one sequence, treated as a whole genome in single mode."""
        return self.predict_genome([(seqid, sequence)], keep_log_probs=keep_log_probs)[0]

    def find_genes(self, sequence: bytes | str, seqid: str = "seq") -> list[Gene]:
        """Genes of one DNA sequence, sorted by position.

        Parameters
        ----------
        sequence : bytes or str
            DNA, either case; N and IUPAC codes allowed.
        seqid : str
            Name carried by the returned genes.
        """
        return self.predict(sequence, seqid).genes

    def _prediction(self, seqid: str, seq: bytes, index: np.ndarray, scored: ScoredCandidates,
                    params: DecoderParams, adapted: bool, chosen: np.ndarray) -> Prediction:
        c = scored.candidates
        total = self.total_scores(scored, params)
        genes = []
        for k in chosen.tolist():
            start, end = int(c.start[k]), int(c.end[k])
            bases = index[start:end]
            acgt = int(np.count_nonzero(bases < 4))
            gc = int(np.count_nonzero((bases == 1) | (bases == 2)))
            score = float(total[k])
            # Prodigal's split: cscore the coding evidence, sscore everything else.
            coding = params.coding_weight * scored.coding[k]
            if params.hexamer_weight and scored.hexamer is not None:
                coding += params.hexamer_weight * scored.hexamer[k]
            strand = int(c.strand[k])
            if c.partial_5prime[k]:
                rbs_motif, rbs_spacer = "None", "None"
            elif strand > 0:
                rbs_motif, rbs_spacer = find_rbs(seq[max(start - RBS_UPSTREAM, 0):start].decode())
            else:
                rbs_motif, rbs_spacer = find_rbs(
                    reverse_complement(seq[end:end + RBS_UPSTREAM]).decode())
            gene = Gene(
                seqid=seqid, start=start, end=end, strand=strand,
                partial=f"{int(c.partial_left[k])}{int(c.partial_right[k])}",
                start_type="Edge" if c.partial_5prime[k] else str(c.start_codon_str[k]),
                rbs_motif=rbs_motif, rbs_spacer=rbs_spacer,
                gc_cont=gc / acgt if acgt else 0.0,
                conf=100.0 / (1.0 + math.exp(-min(max(score, -50.0), 50.0))),
                score=score,
                cscore=float(coding),
                sscore=score - float(coding),
                rscore=0.0, uscore=0.0, tscore=0.0,
                translation_table=self.translation_table,
            )
            genes.append(replace(gene, protein=translate_gene(gene, seq)))
        return Prediction(seqid=seqid, genes=genes, scored=scored, total=total, adapted=adapted)
