"""GeneFinder, the gene finder's facade: checks its options and runs the passes → genes.

``GeneFinder.find_genes(sequence)`` runs, for one DNA sequence:

1. the coding model over overlapping windows (batched, stitched) → per-base
   logits of the seven absolute-frame classes
   (:class:`~genoseq.genes.networks.NetworkEvidence`);
2. ORF enumeration under the translation table (:func:`~genoseq.genes.orfs.find_orfs`);
3. per candidate: summed coding log-likelihood ratio, and the start
   detector's logit for its start codon (5'-partial candidates get
   ``edge_start_score``) — the score parts of :mod:`genoseq.genes.scoring`;
4. the overlap-aware dynamic programme (:mod:`genoseq.genes.decode`), near
   ties re-scored in fp32 first when the networks run in reduced precision
   (:mod:`genoseq.genes.recheck`);
5. :class:`~genoseq.genes.gene.Gene` objects of the chosen candidates.

In single-genome mode (``procedure="single"``, Prodigal's default) a genome
of at least ``adapt_min_length`` bp is then decoded a second time with
genome-specific hexamer and start statistics learned from the first pass's
genes (:mod:`genoseq.genes.adapt`), under decoder weights calibrated for
that. Metagenome mode (``"meta"``) decodes each record independently; with a
statistics library (:mod:`genoseq.genes.metalib`, shipped with the model) it
borrows the hexamer and start statistics of the library genome whose
statistics give the record's genes the highest score, as Prodigal chooses
among its metagenomic bins. A single-mode input too short to self-train on
is decoded the same way.

Those statistics can also be learned once (:meth:`GeneFinder.train`), saved
as a training file and given to another finder (``training=``, Prodigal's
``-t``): every input is then decoded with them in the second pass, however
short (a genome's plasmids, its drafts).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from genoseq.device import ComputeOptions
from genoseq.encoding import DNA_UNKNOWN, dna_to_index, genetic_code_ids
from genoseq.genes.adapt import (
    SelfTraining,
    apply_training,
    read_training,
    self_train,
)
from genoseq.genes.decode import decode
from genoseq.genes.gene import Gene, build_genes
from genoseq.genes.metalib import (
    MetaLibrary,
    choose_statistics,
    library_path_for,
    read_library,
)
from genoseq.genes.numpy_networks import (
    NumpyNetworkEvidence,
    gene_precision,
    load_numpy_gene_models,
    network_backend,
    state_fingerprint_items,
)
from genoseq.genes.orfs import OrfCandidates, find_orfs, find_orfs_many
from genoseq.genes.recheck import choose
from genoseq.genes.scoring import (
    START_LOGIT_CAP,
    CodingSums,
    DecoderParams,
    ScoredCandidates,
    best_case_scores,
    coding_evidence,
    coding_part,
    coding_scores,
    prior_scores_many,
    rbs_part,
    self_trained_score_many,
    total_scores,
)
from genoseq.genes.starts import START_WINDOW, gene_start_positions
from genoseq.grouping import groups_by_size
from genoseq.io.errors import InvalidFileError

if TYPE_CHECKING:
    from genoseq.genes.networks import GeneModels

#: Bases per group in :meth:`GeneFinder.score_records`: the per-base coding
#: log-probabilities (28 bytes per base) of one group are in memory at a time.
SCORE_GROUP_BASES = 4_000_000
#: Records at least this long go through the coding model in chunks of about
#: ``CODING_CHUNK_BASES`` (:meth:`NetworkEvidence.coding_logits_chunks`), their coding
#: sums built chunk by chunk (:class:`~genoseq.genes.scoring.CodingSums`): per-base
#: logits (28 bytes per base) and float64 prefix sums (56) of one chunk at a time.
STREAM_CODING_FROM = 1_000_000
CODING_CHUNK_BASES = 600_000
#: Bases per coding-model window (context included), and context on each side. 9,000
#: rather than the 6,000 of sessions 1-10: the context is then 13% of the network's
#: work instead of 20%; on P. fluorescens (6.06 Mbp, fp32) 9.6 s against 10.2 s, 5
#: near-tie calls of 5,356 moved (benchmarks/results/genes.md).
DEFAULT_WINDOW = 9000
DEFAULT_CONTEXT = 600
#: Whether coding-model windows reach past a sequence's ends into N padding (their full
#: context on each side, as before session 12) or stay inside the sequence (default: a
#: record shorter than a window is one row of its own bases, the first and last windows of
#: a longer one are moved inside it). The network was trained on windows beginning at a
#: record's first base, never after an N run, and its BiLSTM carries what it read in such
#: runs into the record. Inside (benchmarks/results/gene_edges.md, rule committed first in
#: gene_edges_rule.md), on the held-out genomes: 60-600 bp pieces found 80.5% of their genes
#: instead of 76.2% (precision 0.958 vs 0.962) in half the time; 20 kb contigs mean F1
#: 0.9260 vs 0.9253; single mode unchanged (0.9534).
EDGE_PADDING = False
#: Records shorter than this share one start-detector pass in
#: :meth:`GeneFinder.fill_start_logits_many`; longer ones are convolved on their own.
PACK_STARTS_BELOW = 20_000
#: Shortest ``min_len`` accepted: shorter ORFs are noise for the decoder.
MIN_GENE_LENGTH = 60
PROCEDURES = ("single", "meta")


def release_freed_memory() -> None:
    """Hand the heap's freed memory back to the system (glibc ``malloc_trim``; elsewhere nothing).

    The large temporaries of a long record (candidate search, coding chunks,
    start-detector slices) are freed into glibc's heap, which keeps much of
    them resident: after scoring the 6.7 Mbp P. fluorescens genome ~150 MB
    above what is still in use, on which the self-training's per-base arrays
    would then come.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def check_translation_table(table: int) -> None:
    """Raise ValueError unless ``table`` is an NCBI translation table."""
    if table not in genetic_code_ids():
        valid = ", ".join(map(str, genetic_code_ids()))
        raise ValueError(f"unknown translation table {table}: expected one of {valid}")


def check_min_len(min_len: int) -> None:
    """Raise ValueError unless ``min_len`` is a usable shortest gene length."""
    if min_len < MIN_GENE_LENGTH:
        raise ValueError(f"{min_len} is too short: expected >= {MIN_GENE_LENGTH}")


#: Decoder weights added after training files existed: left out of the fingerprint at
#: their defaults (0 but for ``short_orf_length``, which counts only with ``short_orf_bias``).
LATER_DECODER_FIELDS = ("edge_bonus", "rbs_weight", "rbs_min_strength", "short_orf_bias",
                        "short_orf_length", "profile_pool")


DEFAULT_DECODER = DecoderParams().to_dict()


def model_fingerprint(models: GeneModels | dict[str, np.ndarray], params: DecoderParams,
                      adapted_params: DecoderParams | None) -> str:
    """``sha256:<hex>`` of the networks' weights and both passes' decoder weights.

    Identifies the model a training file was learned with: the same weights
    give the same fingerprint wherever they are loaded from and on any
    device; any change to a weight or a decoder parameter changes it.
    ``models`` may also be their state_dict as numpy arrays (the torch-free
    networks), which gives the same fingerprint.
    """
    digest = hashlib.sha256()
    if isinstance(models, dict):
        items = state_fingerprint_items(models)
    else:
        items = ((name, str(tensor.dtype), tuple(tensor.shape),
                  tensor.detach().cpu().contiguous().reshape(-1).numpy().tobytes())
                 for name, tensor in sorted(models.state_dict().items()))
    for name, dtype, shape, data in items:
        digest.update(f"{name}:{dtype}:{shape}\n".encode())
        digest.update(data)
    def fields(p: DecoderParams | None) -> dict | None:
        # edge_bonus and the RBS weights came after the first training files; at 0 they
        # leave the fingerprint of weights that do not use them as it was.
        if p is None:
            return None
        out = p.to_dict()
        for name in LATER_DECODER_FIELDS:
            if out[name] == DEFAULT_DECODER[name]:
                del out[name]
        return out

    decoders = {"decoder": fields(params), "decoder_adapted": fields(adapted_params)}
    digest.update(json.dumps(decoders, sort_keys=True).encode())
    return f"sha256:{digest.hexdigest()}"


def missing_starts_many(scored: list[ScoredCandidates], params: DecoderParams | None
                        ) -> list[np.ndarray]:
    """:meth:`GeneFinder._missing_starts` of many records, the best cases in one pass.

    The best-case scores of all records are computed with the operations of
    :func:`~genoseq.genes.scoring.best_case_scores`, in its order, over the
    records' candidates joined: the same values, without a dozen numpy calls
    per record (a metagenome's thousands of short contigs, once per library
    entry they try).
    """
    if params is None or not scored:
        return [np.flatnonzero(~s.start_known) for s in scored]
    extra = self_trained_score_many(scored, params)
    if extra is None:  # records differ in which self-trained scores they hold
        return [GeneFinder._missing_starts(s, params) for s in scored]
    sizes = np.array([len(s.candidates) for s in scored])
    best = (params.coding_weight * np.concatenate([s.coding for s in scored])
            + np.concatenate(prior_scores_many(scored, params)))
    best = best + extra
    best = best + params.start_weight * START_LOGIT_CAP
    missing = np.flatnonzero(~np.concatenate([s.start_known for s in scored]) & (best > 0))
    # Global positions back to each record's own candidate indices, one piece per record.
    first = np.cumsum(sizes) - sizes
    owner = np.searchsorted(first, missing, side="right") - 1
    counts = np.bincount(owner, minlength=len(scored))
    return np.split(missing - first[owner], np.cumsum(counts)[:-1])


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
    statistics : str or None
        Meta mode with a library: the organism whose library statistics
        decided the genes (:mod:`genoseq.genes.metalib`).
    uses_sd : bool
        Whether the genes' scores hold the Shine-Dalgarno class score (the
        genome's or the library genome's starts show SD sites past
        ``rbs_min_strength``): Prodigal's ``uses_sd``.
    """

    seqid: str
    genes: list[Gene]
    scored: ScoredCandidates
    total: np.ndarray
    adapted: bool
    statistics: str | None = None
    uses_sd: bool = False

    @property
    def log_probs(self) -> np.ndarray | None:
        return self.scored.log_probs


class GeneFinder:
    """Find protein-coding genes in prokaryotic DNA.

    Parameters
    ----------
    model : path or None
        Saved gene models (``<stem>``, as written by
        :func:`~genoseq.genes.networks.save_gene_models`); None loads the
        shipped weights.
    translation_table : int
        NCBI genetic code (11 for most bacteria and archaea, 4 for Mycoplasma).
    procedure : "single" or "meta"
        Single genome: self-train on the input when it is long enough.
        Metagenome: every record on its own, no self-training.
    min_len : int
        Shortest gene called, bp including the stop codon (at least 60).
    closed : bool
        No genes running off sequence edges (Prodigal ``-c``).
    mask_n : bool
        Prodigal's ``-m``: no genes across runs of 50 or more unknown bases
        (:data:`~genoseq.genes.orfs.MASK_RUN`). genoseq never builds genes
        across such runs anyway (``find_orfs``'s ``n_run``), so calls are the
        same without; genes across shorter runs are kept, as in Prodigal
        (:mod:`genoseq.genes.orfs`).
    recheck : bool
        In reduced precision, find the decisions that the arithmetic could
        tip and re-score their ORFs in fp32 before deciding, so that calls
        match an fp32 run (:mod:`genoseq.genes.recheck`). No effect in fp32.
    compute : ComputeOptions or None
        Device (None: CUDA when present, else CPU), threads, coding-model
        windows per batch (default 32) and precision. Precision "auto":
        mixed precision (bf16, or fp16 on GPUs without bf16) on CUDA, with
        near ties re-scored in fp32 (``recheck``) so that the calls are those
        of an fp32 run; fp32 on the CPU (:func:`~genoseq.genes.numpy_networks.gene_precision`:
        bf16 with its recheck was slower there even on a CPU with AMX-BF16).
    window, context : int
        Coding-model windows of ``window`` bases, of which ``context`` bases on
        each side only give context (both multiples of 3).
    edge_padding : bool
        False (default): a window stops at the sequence's ends; True: it
        reaches ``context`` bases past them into N padding, as windows did
        before (see :data:`EDGE_PADDING`).
    adapt_min_length : int
        Self-train only on inputs of at least this many bp (total).
    training : SelfTraining, path or None
        Statistics learned before (:meth:`train`, or a training file written
        by :meth:`SelfTraining.write <genoseq.genes.adapt.SelfTraining.write>`,
        Prodigal's ``-t``): every input is decoded in the self-trained pass
        with them, whatever its length, instead of learning its own. Single
        mode only (as Prodigal, which refuses ``-t`` with ``-p meta``); they
        must come from this model under this translation table.

    Raises
    ------
    ValueError
        An option out of range: unknown translation table, procedure or
        precision, ``min_len`` below 60, windows not in codons; ``training``
        with ``procedure="meta"`` or a model without a self-trained pass.
    InvalidFileError
        ``training`` (a file, or statistics read from one) is not a genoseq
        training file, or was learned with another model or translation
        table; the message names the file and the value.
    """

    #: Coding-model windows per forward pass when ``compute`` names none.
    BATCH_SIZE = 32

    def __init__(self, model: str | os.PathLike | None = None, *, translation_table: int = 11,
                 procedure: str = "single", min_len: int = 90, closed: bool = False,
                 mask_n: bool = False, recheck: bool = True,
                 compute: ComputeOptions | None = None, window: int = DEFAULT_WINDOW,
                 context: int = DEFAULT_CONTEXT, edge_padding: bool = EDGE_PADDING,
                 adapt_min_length: int = 100_000,
                 training: SelfTraining | str | os.PathLike | None = None,
                 meta_library: bool | str | os.PathLike | MetaLibrary = True,
                 use_sd: bool = True):
        self._setup(translation_table=translation_table, procedure=procedure, min_len=min_len,
                    closed=closed, mask_n=mask_n, recheck=recheck, compute=compute,
                    window=window, context=context, edge_padding=edge_padding,
                    adapt_min_length=adapt_min_length, use_sd=use_sd)
        if self.backend == "numpy":
            state, coding, start, self.params, self.adapted_params, _ = \
                load_numpy_gene_models(model)
            models = (state, coding, start)
        else:
            from genoseq.genes.networks import load_gene_models

            models, self.params, self.adapted_params, _ = load_gene_models(model)
        self.model_name = ("shipped weights" if model is None
                           else f"weights {os.path.basename(os.fspath(model))}")
        self._place(models)
        self.use_training(training)
        self.use_library(library_path_for(model) if meta_library is True else meta_library)

    @classmethod
    def from_models(cls, models: GeneModels, params: DecoderParams | None = None,
                    adapted_params: DecoderParams | None = None, **options) -> GeneFinder:
        """A finder over networks and decoder weights in memory (training, tests).

        ``params`` defaults to :class:`DecoderParams` (); ``adapted_params``
        None means no self-trained pass. ``options`` are those of the
        constructor.
        """
        finder = cls.__new__(cls)
        training = options.pop("training", None)
        library = options.pop("meta_library", None)
        finder._setup(**options, numpy_allowed=False)
        finder.params = DecoderParams() if params is None else params
        finder.adapted_params = adapted_params
        finder.model_name = "models in memory"
        finder._place(models)
        finder.use_training(training)
        finder.use_library(library)
        return finder

    def _setup(self, *, translation_table: int = 11, procedure: str = "single",
               min_len: int = 90, closed: bool = False, mask_n: bool = False,
               recheck: bool = True, compute: ComputeOptions | None = None,
               window: int = DEFAULT_WINDOW, context: int = DEFAULT_CONTEXT,
               edge_padding: bool = EDGE_PADDING,
               adapt_min_length: int = 100_000,
               numpy_allowed: bool = True, use_sd: bool = True) -> None:
        check_translation_table(translation_table)
        check_min_len(min_len)
        if procedure not in PROCEDURES:
            raise ValueError(f"unknown procedure {procedure!r}: expected single or meta")
        if window % 3 or context % 3 or window <= 2 * context:
            raise ValueError("window and context must be multiples of 3 with window > 2*context")
        self.translation_table = translation_table
        self.procedure = procedure
        self.min_len = min_len
        self.closed = closed
        self.mask_n = mask_n
        self.recheck = recheck
        self.compute = ComputeOptions() if compute is None else compute
        self.window = window
        self.context = context
        self.edge_padding = edge_padding
        self.adapt_min_length = adapt_min_length
        #: False (Prodigal's -n): no Shine-Dalgarno class score; self-training learns no SD
        #: statistics, and metagenome mode weighs none of its library's.
        self.use_sd = use_sd
        #: "numpy": the torch-free networks (genoseq.genes.numpy_networks), which hand
        #: long inputs to torch; "torch": the torch networks for every input.
        self.backend = network_backend(self.compute) if numpy_allowed else "torch"
        self.device = "cpu" if self.backend == "numpy" else self.compute.torch_device()
        #: What "auto" resolved to on this device: the arithmetic actually used.
        self.network_precision = gene_precision(self.device, self.compute.precision)

    def _place(self, models: GeneModels | tuple) -> None:
        """Run ``models``: GeneModels, or (state, coding config, start config) for numpy."""
        options = dict(batch_size=self.compute.batch(self.BATCH_SIZE), window=self.window,
                       context=self.context, translation_table=self.translation_table,
                       edge_padding=self.edge_padding)
        if isinstance(models, tuple):
            def make_torch(torch_models):
                from genoseq.genes.networks import NetworkEvidence

                return NetworkEvidence(torch_models, device=self.compute.torch_device(),
                                       precision=self.network_precision, **options)

            self.networks = NumpyNetworkEvidence(*models, make_torch=make_torch, **options)
        else:
            from genoseq.genes.networks import NetworkEvidence

            self.networks = NetworkEvidence(models, device=self.device,
                                            precision=self.network_precision, **options)
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """:func:`model_fingerprint` of this finder's networks and decoder weights."""
        if self._fingerprint is None:
            networks = getattr(self.networks, "state", None)
            self._fingerprint = model_fingerprint(self.models if networks is None else networks,
                                                  self.params, self.adapted_params)
        return self._fingerprint

    def _check_self_trains(self, what: str, purpose: str) -> None:
        """ValueError unless this finder has a self-trained pass for ``what`` to serve."""
        if self.procedure != "single":
            raise ValueError(f"{what} is for single mode: Prodigal refuses -t with -p meta, "
                             "and so does genoseq")
        if self.adapted_params is None:
            raise ValueError(f"the model ({self.model_name}) has no self-trained pass{purpose}")

    def use_training(self, training: SelfTraining | str | os.PathLike | None) -> None:
        """Use ``training`` (statistics, a training file or None) from now on.

        Checked against this finder as the constructor's ``training`` is
        (same errors); None goes back to self-training on each input.
        """
        self.training: SelfTraining | None = None
        if training is None:
            return
        self._check_self_trains("a training file", ", so it cannot use a training file")
        if not isinstance(training, SelfTraining):
            training = read_training(training)

        def refuse(message: str):
            if training.source is None:
                raise ValueError(f"training statistics {message}")
            raise InvalidFileError(training.source, None, message)

        if training.translation_table != self.translation_table:
            refuse(f"learned under translation_table {training.translation_table}, not the "
                   f"{self.translation_table} in use (-g)")
        if training.model != self.fingerprint:
            refuse(f"learned with model {training.model_name or '?'} ({training.model}), "
                   f"not the one in use: {self.model_name} ({self.fingerprint})")
        self.training = training

    def use_library(self, library: MetaLibrary | str | os.PathLike | bool | None) -> None:
        """Set :attr:`meta_library`, the statistics library (None/False: none).

        A path is read with :func:`~genoseq.genes.metalib.read_library` when
        the library is first needed. It serves every input that is not
        self-trained: each record of metagenome mode, and single-mode inputs
        too short to self-train on (without a training file).
        """
        self._library_path = None
        self._library = None
        if isinstance(library, MetaLibrary):
            self._library = library
        elif library is not None and library is not False:
            self._library_path = library

    @property
    def meta_library(self) -> MetaLibrary | None:
        """The statistics library (:mod:`genoseq.genes.metalib`), read on first use; None: none."""
        if self._library is None and self._library_path is not None:
            self._library = read_library(self._library_path)
            self._library_path = None
        return self._library

    def params_of(self, prediction: Prediction) -> DecoderParams:
        """The decoder weights that decided ``prediction``'s genes."""
        if prediction.statistics is not None:
            return self.meta_library.params
        return self.adapted_params if prediction.adapted else self.params

    @property
    def models(self) -> GeneModels:
        """The networks (coding model and start detector)."""
        return self.networks.models

    @property
    def adapts(self) -> bool:
        """Whether long single-genome inputs get the self-trained second pass."""
        return self.procedure == "single" and self.adapted_params is not None

    def score_candidates(self, seq: bytes, all_starts: bool = False,
                         keep_log_probs: bool = False) -> tuple[np.ndarray, ScoredCandidates]:
        """Enumerate and score the candidate genes of one upper-case sequence.

        Start logits are computed only for candidates that could score above
        zero under the first-pass decoder weights, unless ``all_starts``.
        """
        return self.score_records([seq], all_starts, keep_log_probs)[0]

    def score_records(self, seqs: list[bytes], all_starts: bool = False,
                      keep_log_probs: bool = False,
                      progress: Callable[[int], None] | None = None
                      ) -> list[tuple[np.ndarray, ScoredCandidates]]:
        """:meth:`score_candidates` of several sequences, the coding model batched over them.

        Sequences go through the coding model in groups of about
        ``SCORE_GROUP_BASES`` bases, so per-base log-probabilities are held
        for one group at a time unless ``keep_log_probs``. A sequence in
        which :func:`~genoseq.genes.orfs.find_orfs` finds no candidate gene
        skips the coding model (unless ``keep_log_probs``): nothing in it
        could be scored. Start logits of the short sequences of a group are
        computed together (:meth:`fill_start_logits_many`). ``progress`` is
        called with the bases each forward pass of the coding model scored,
        and once per group with the bases of the sequences that skipped it:
        the calls add up to the sequences' total length.
        """
        results = []
        for group in groups_by_size(seqs, len, SCORE_GROUP_BASES):
            indices = [dna_to_index(member) for member in group]
            # Short records of plain A/C/G/T bases (most of a metagenome's contigs) get
            # their candidates in one vectorised pass, exactly those of find_orfs alone.
            plain = [r for r, index in enumerate(indices)
                     if len(index) < PACK_STARTS_BELOW and not (index >= DNA_UNKNOWN).any()]
            candidates = dict(zip(plain, find_orfs_many(
                [indices[r] for r in plain], self.translation_table, min_len=self.min_len,
                closed=self.closed), strict=True))
            candidates = [candidates[r] if r in candidates else
                          find_orfs(member, self.translation_table, min_len=self.min_len,
                                    closed=self.closed, mask_n=self.mask_n)
                          for r, member in enumerate(group)]
            scored_group = self._score_group(indices, candidates, keep_log_probs, progress)
            self.fill_start_logits_many(scored_group, None if all_starts else self.params)
            results.extend(scored_group)
            del indices, candidates
            if sum(map(len, group)) >= STREAM_CODING_FROM:
                release_freed_memory()
        return results

    def _score_group(self, indices: list[np.ndarray], candidates: list[OrfCandidates],
                     keep_log_probs: bool, progress: Callable[[int], None] | None
                     ) -> list[tuple[np.ndarray, ScoredCandidates]]:
        """Coding scores of the candidates of one group of records; start logits not yet known."""
        exact = self.network_precision == "fp32"
        # Start logits are fp32 on the CPU whatever the coding model's arithmetic.
        start_exact = exact or self.networks.start_precision == "fp32"
        # Records without a candidate need no coding model: nothing in them is scored.
        wanted = [r for r, found in enumerate(candidates) if keep_log_probs or len(found)]
        skipped = sum(len(indices[r]) for r in set(range(len(indices))) - set(wanted))
        # Long records run through the coding model a chunk at a time, their coding sums
        # built as they go (CodingSums): their per-base logits are never all held.
        streamed = set() if keep_log_probs else {
            r for r in wanted if len(indices[r]) >= STREAM_CODING_FROM}
        wanted = [r for r in wanted if r not in streamed]
        if progress is not None and skipped:
            progress(skipped)
        logits_of_group = dict(zip(wanted, self.networks.coding_logits_many(
            [indices[r] for r in wanted], on_batch=progress), strict=True))
        records = []
        for r, (index, found) in enumerate(zip(indices, candidates, strict=True)):
            logits = logits_of_group.pop(r, None)
            if r in streamed:
                sums = CodingSums(found.start, found.end, found.strand, clip=self.params.llr_clip)
                for piece in self.networks.coding_logits_chunks(index, CODING_CHUNK_BASES,
                                                                on_batch=progress):
                    sums.add(piece)
                coding = sums.result()
            elif logits is None:
                coding = np.zeros(0, dtype=np.float64)
            else:
                cumulative = coding_evidence(logits, clip=self.params.llr_clip)
                coding = coding_scores(cumulative, found.start, found.end, found.strand)
                del cumulative
            scored = ScoredCandidates(
                found, coding,
                start=np.full(len(found), self.params.edge_start_score, dtype=np.float64),
                start_known=found.partial_5prime.copy(),
                log_probs=self.networks.log_softmax(logits) if keep_log_probs else None,
                exact=np.full(len(found), exact),
                start_exact=np.full(len(found), start_exact))
            records.append((index, scored))
        return records

    @staticmethod
    def _missing_starts(scored: ScoredCandidates, params: DecoderParams | None) -> np.ndarray:
        """Candidates (indices) whose start logit :meth:`fill_start_logits` would compute."""
        missing = ~scored.start_known
        if params is not None and missing.any():
            missing &= best_case_scores(scored, params) > 0
        return np.flatnonzero(missing)

    @staticmethod
    def _set_start_logits(scored: ScoredCandidates, which: np.ndarray,
                          logits: np.ndarray) -> None:
        scored.start[which] = np.clip(logits, -START_LOGIT_CAP, START_LOGIT_CAP)
        scored.start_known[which] = True

    def fill_start_logits(self, index: np.ndarray, scored: ScoredCandidates,
                          params: DecoderParams | None) -> None:
        """Compute the start logits still missing for candidates that ``params`` could choose.

        A candidate can be chosen only if its score is positive with the best
        possible start logit; None computes every missing one.
        """
        which = self._missing_starts(scored, params)
        if len(which):
            self._set_start_logits(scored, which,
                                   self.networks.start_logits(index, scored.candidates, which))

    def fill_start_logits_many(self, records: list[tuple[np.ndarray, ScoredCandidates]],
                               params: DecoderParams | None) -> None:
        """:meth:`fill_start_logits` of several records, the short ones in one pass.

        Records shorter than ``PACK_STARTS_BELOW`` bp are packed into one
        sequence, ``START_WINDOW`` unknown bases between neighbours, and the
        start detector runs over it once instead of once per record: every
        window reads only its own record's bases and the unknown ones past
        its ends, as it does alone (many contigs of a metagenome otherwise
        cost a convolution call each).
        """
        separator = np.full(START_WINDOW, DNA_UNKNOWN, dtype=np.uint8)
        parts, positions, strands, owners = [], [], [], []
        offset = 0
        for (index, scored), which in zip(records, missing_starts_many(
                [scored for _, scored in records], params), strict=True):
            if not len(which):
                continue
            if len(index) >= PACK_STARTS_BELOW:
                self._set_start_logits(scored, which, self.networks.start_logits(
                    index, scored.candidates, which))
                continue
            parts += [index, separator]
            positions.append(gene_start_positions(scored.candidates)[which] + offset)
            strands.append(scored.candidates.strand[which])
            owners.append((scored, which))
            offset += len(index) + len(separator)
        if not owners:
            return
        logits = self.networks.start_logits_at(np.concatenate(parts), np.concatenate(positions),
                                               np.concatenate(strands))
        first = 0
        for scored, which in owners:
            self._set_start_logits(scored, which, logits[first:first + len(which)])
            first += len(which)

    def decode(self, scored: ScoredCandidates, params: DecoderParams | None = None) -> np.ndarray:
        """Indices of the candidates chosen under ``params`` (default: first-pass weights)."""
        return decode(scored, self.params if params is None else params)

    def choose(self, records: list[tuple[np.ndarray, ScoredCandidates]],
               params: DecoderParams) -> list[np.ndarray]:
        """:meth:`decode` every record, near ties re-scored in fp32 first (``recheck``)."""
        return choose(self.networks, records, params, llr_clip=self.params.llr_clip,
                      recheck=self.recheck)

    def self_train(self, records: list[tuple[np.ndarray, ScoredCandidates]]) -> SelfTraining:
        """Learn genome-specific statistics from a first pass and score every candidate.

        The first pass (first-pass weights, no self-trained terms) gives genes;
        :func:`~genoseq.genes.adapt.self_train` learns the genome's hexamer
        score and start profile from them and scores the candidates. With
        ``self_training_rounds`` > 1 (self-trained pass's decoder weights) the
        statistics are learned again from the genes the self-trained pass
        chooses with them, as Prodigal iterates its start model: a first pass
        that prefers a start codon the genome rarely uses (TTG in
        *H. salinarum*) teaches its preference to the statistics once, and
        the next round corrects it. The last round's statistics are returned.
        """
        for _, scored in records:
            scored.hexamer = scored.profile = scored.profile_codon = scored.rbs = None
        provenance = dict(translation_table=self.translation_table, model=self.fingerprint,
                          model_name=self.model_name, profile_pool=self._profile_pool)
        training = self_train(records, self.choose(records, self.params),
                              with_rbs=self.use_sd, **provenance)
        rounds = 1 if self.adapted_params is None else self.adapted_params.self_training_rounds
        for _ in range(1, rounds):
            for index, scored in records:
                self.fill_start_logits(index, scored, self.adapted_params)
            training = self_train(records, self.choose(records, self.adapted_params),
                                  with_rbs=self.use_sd, **provenance)
        return training

    def _apply_training(self, records: list[tuple[np.ndarray, ScoredCandidates]]) -> None:
        """Score every candidate with :attr:`training` instead of learning from this input."""
        for _, scored in records:
            scored.hexamer = scored.profile = scored.profile_codon = scored.rbs = None
        if self.recheck and self.network_precision != "fp32":
            # The first pass of a self-training run re-scores its near ties in fp32, in place;
            # doing the same here gives the second pass the very scores it has there, so an
            # input predicted with the statistics learned from itself gets identical genes.
            self.choose(records, self.params)
        apply_training(self.training, records, self._profile_pool)

    @property
    def _profile_pool(self) -> int:
        """How the self-trained pass scores the start profile (``DecoderParams.profile_pool``)."""
        return (self.adapted_params or self.params).profile_pool

    @staticmethod
    def _sequences(records) -> list[tuple[str, bytes]]:
        seqs = []
        for seqid, sequence in records:
            seq = sequence.encode("ascii") if isinstance(sequence, str) else bytes(sequence)
            seqs.append((seqid, seq.upper()))
        return seqs

    def train(self, records, *, progress: Callable[[int], None] | None = None
              ) -> SelfTraining:
        """Learn a genome's self-trained statistics without predicting (Prodigal's ``-t``).

        Runs the first pass over all records of the genome and learns from
        its genes exactly what :meth:`predict_genome` learns from them; save
        the result with :meth:`SelfTraining.write
        <genoseq.genes.adapt.SelfTraining.write>` and give it (or the file)
        to a finder's ``training``.

        Parameters
        ----------
        records : iterable of (seqid, sequence)
            The genome's sequences as bytes or str, either case.
        progress : callable, optional
            As in :meth:`predict_genome`.

        Raises
        ------
        ValueError
            Metagenome mode, a model without a self-trained pass, or a
            genome shorter than ``adapt_min_length`` (self-training never
            runs on less).
        """
        self._check_self_trains("training", " to train for")
        seqs = self._sequences(records)
        total_length = sum(len(seq) for _, seq in seqs)
        if total_length < self.adapt_min_length:
            raise ValueError(f"{total_length:,} bp in all, under the {self.adapt_min_length:,} "
                             "bp that self-training needs")
        scored_records = self.score_records([seq for _, seq in seqs], progress=progress)
        return self.self_train(scored_records)

    def predict_genome(self, records, *, keep_log_probs: bool = False,
                       all_starts: bool = False,
                       progress: Callable[[int], None] | None = None) -> list[Prediction]:
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
        progress : callable, optional
            Called with the number of bases each forward pass of the coding
            model has just scored (the calls add up to the records' total
            length), e.g. a tqdm bar's ``update``.

        With :attr:`training` set (a training file), the second pass runs
        with those statistics on any input, however short; otherwise single
        mode self-trains on inputs of at least ``adapt_min_length`` bp.
        """
        seqs = self._sequences(records)
        scored_records = self.score_records([seq for _, seq in seqs],
                                            all_starts=all_starts,
                                            keep_log_probs=keep_log_probs, progress=progress)
        total_length = sum(len(seq) for _, seq in seqs)
        adapted = self.adapts and (self.training is not None
                                   or total_length >= self.adapt_min_length)
        if adapted:
            if self.training is not None:
                self._apply_training(scored_records)
            else:
                self.self_train(scored_records)
            for index, scored in scored_records:
                self.fill_start_logits(index, scored, self.adapted_params)
        params = self.adapted_params if adapted else self.params
        statistics = [None] * len(scored_records)
        if not adapted and scored_records and self.meta_library is not None:
            params = self.meta_library.params
            if not self.use_sd:
                params = replace(params, rbs_weight=0.0)
            picks = choose_statistics(self.meta_library, scored_records,
                                      self.translation_table, self.fill_start_logits_many,
                                      params)
            statistics = [self.meta_library.entries[k].organism for k in picks]
        predictions = []
        for (seqid, seq), (index, scored), chosen, organism in zip(
                seqs, scored_records, self.choose(scored_records, params), statistics,
                strict=True):
            total = total_scores(scored, params)
            rbs = rbs_part(scored, params)
            genes = build_genes(seqid, seq, index, scored.candidates, chosen, total,
                                coding_part(scored, params), self.translation_table, rbs)
            predictions.append(Prediction(seqid=seqid, genes=genes, scored=scored, total=total,
                                          adapted=adapted, statistics=organism,
                                          uses_sd=rbs is not None))
        return predictions

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
