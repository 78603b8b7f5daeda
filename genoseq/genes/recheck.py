"""Deciding in reduced precision: near-tied calls re-scored in fp32, so calls match an fp32 run.

When the networks run in bf16 or fp16 (the default on CUDA and on CPUs with
native bf16), :func:`choose` first decodes every record, then finds the
decisions that the arithmetic could tip (:func:`near_ties`), gives the ORFs
of those decisions fp32 scores (:func:`rescore_exact`), and decodes again,
until no such decision is left on an ORF not yet re-scored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from genoseq.genes.decode import decode, decode_many, select_genes
from genoseq.genes.scoring import (
    START_LOGIT_CAP,
    DecoderParams,
    ScoredCandidates,
    coding_evidence,
    coding_scores,
    total_scores,
)
from genoseq.nn.inference import window_rows

if TYPE_CHECKING:
    from genoseq.genes.networks import NetworkEvidence

#: How far reduced-precision (bf16/fp16) arithmetic may move a score, for
#: :func:`near_ties`: a summed coding log-ratio over a span of d bp
#: by ``TIE_CODING_BASE + TIE_CODING_PER_BP * d``, a start logit by
#: ``TIE_START``. Set from bf16 against fp32 runs of two genomes where bf16
#: alone moved calls (pflu 6 genes, bsub 7, all near ties): a fifth of these
#: bounds still let 2 through on each, half of them caught every one, and
#: they are twice that; then checked on all 13 genomes of the development
#: data (benchmarks/gene_precision.py). Pairs of starts of one gene moved by
#: less than 0.07 score units in 99% of pairs under 100 bp apart.
TIE_CODING_BASE = 4.0
TIE_CODING_PER_BP = 0.075
TIE_START = 0.025
#: A summed coding log-ratio may also move by this share of its magnitude: the bf16
#: networks drift in a few regions (per-base log-ratio differences of 1-2 over 100+
#: bp on B. subtilis, 0.3% of candidates beyond the span bound, the worst by 54% of
#: its score), which a bound in the span alone does not cover.
TIE_CODING_RELATIVE = 0.2
#: Records longer than this have their near ties re-scored a stretch of this many
#: bases at a time (:func:`rescore_exact`).
RESCORE_CHUNK_BASES = 600_000

#: One record's ``(index, scored)``: its bases (A=0 ... other=4) and scored candidates.
Record = tuple[np.ndarray, ScoredCandidates]


def choose(networks: NetworkEvidence, records: list[Record], params: DecoderParams, *,
           llr_clip: float, recheck: bool = True) -> list[np.ndarray]:
    """:func:`~genoseq.genes.decode.decode` every record; in reduced precision, near ties first.

    With ``recheck`` and reduced-precision networks, the ORFs of every
    decision that the arithmetic could tip (:func:`near_ties`) get fp32
    scores (:func:`rescore_exact`, per-base log-ratios clipped to
    ``llr_clip``) and the records are decoded again, until no such decision
    is left on an ORF not yet re-scored.
    """
    chosen = decode_many([scored for _, scored in records], params)
    if not recheck or networks.precision == "fp32":
        return chosen
    while True:
        todo = []
        for r, (_, scored) in enumerate(records):
            orfs = near_ties(scored, params, chosen[r])
            if len(orfs):
                todo.append((r, orfs))
        if not todo:
            return chosen
        rescore_exact(networks, [(records[r], orfs) for r, orfs in todo], llr_clip=llr_clip)
        for r, _ in todo:
            chosen[r] = decode(records[r][1], params)


def near_ties(scored: ScoredCandidates, params: DecoderParams,
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

    def relative_error(coding):
        return params.coding_weight * TIE_CODING_RELATIVE * np.abs(coding)

    start_error = params.start_weight * TIE_START * (~c.partial_5prime & ~start_exact)
    own = (np.where(exact, 0.0, coding_error(length) + relative_error(scored.coding))
           + start_error)
    n_orfs = int(c.orf_id.max()) + 1
    rival_length = np.full(n_orfs, -1.0)
    rival_length[c.orf_id[chosen]] = length[chosen]
    rival_coding = np.zeros(n_orfs)
    rival_coding[c.orf_id[chosen]] = scored.coding[chosen]
    rival_exact = np.zeros(n_orfs, dtype=bool)
    rival_exact[c.orf_id[chosen]] = exact[chosen]
    rival_length, rival_exact = rival_length[c.orf_id], rival_exact[c.orf_id]
    rival_coding = rival_coding[c.orf_id]
    # A rival start of a chosen gene, coding both inexact: their shared bases err alike.
    shared = (rival_length >= 0) & ~exact & ~rival_exact
    shift = own.copy()
    shift[shared] = (coding_error(np.abs(length - rival_length))
                     + relative_error(scored.coding - rival_coding)
                     - coding_error(rival_length) - relative_error(rival_coding)
                     + start_error)[shared]
    shift[chosen] = -own[chosen]
    adverse = select_genes(c.start, c.end, c.strand, total_scores(scored, params) + shift,
                           params.overlap)
    changed = np.setxor1d(chosen, adverse)
    if (exact[changed] & (start_exact[changed] | c.partial_5prime[changed])).all():
        return np.zeros(0, dtype=np.int64)
    return np.unique(c.orf_id[changed])


def covered_runs(length: int, ranges: np.ndarray, window: int, context: int
                 ) -> list[tuple[int, int]]:
    """Contiguous ``[lo, hi)`` runs of bases that the coding windows meeting ``ranges`` give.

    The windows are those :meth:`NetworkEvidence.coding_logits_many` runs for
    a sequence of ``length`` bases when asked for ``ranges``.
    """
    runs = []
    for row in window_rows([np.zeros(length, dtype=np.uint8)], window=window, context=context,
                           multiple=3, spans=[ranges]):
        if runs and runs[-1][1] == row.first:
            runs[-1] = (runs[-1][0], row.stop)
        else:
            runs.append((row.first, row.stop))
    return runs


def _exact_coding(networks: NetworkEvidence, record: Record, ranges: np.ndarray,
                  values: np.ndarray, llr_clip: float) -> None:
    """Give the candidates inside the windows run for ``ranges`` their fp32 coding scores."""
    index, scored = record
    c = scored.candidates
    for lo, hi in covered_runs(len(index), ranges, networks.window, networks.context):
        inside = np.flatnonzero((c.start >= lo) & (c.end <= hi))
        cumulative = coding_evidence(values[lo:hi], clip=llr_clip)
        scored.coding[inside] = coding_scores(cumulative, c.start[inside], c.end[inside],
                                              c.strand[inside], offset=lo)
        if scored.exact is not None:
            scored.exact[inside] = True


def rescore_exact(networks: NetworkEvidence, items: list[tuple[Record, np.ndarray]], *,
                  llr_clip: float) -> None:
    """Give the candidates of the listed ORFs fp32 scores (coding and start), in place.

    ``items`` holds ``((index, scored), orf_ids)`` per record. Only the
    coding-model windows covering those ORFs are run, batched over all
    records, each exactly as an fp32 run of the whole record runs it;
    every candidate lying within the bases they give gets its fp32
    coding score (per-base log-ratios clipped to ``llr_clip``). Start logits
    not yet exact are recomputed for the listed ORFs only, each from its own
    window (:meth:`NetworkEvidence.exact_start_logits`).
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
    # Records up to RESCORE_CHUNK_BASES share forward passes; a longer record's spans run a
    # stretch at a time, so that the fp32 logits held (28 bytes per base of the stretch,
    # in an array as long as the record whose untouched pages cost nothing) follow the
    # stretch, not the record: re-scoring the near ties of a 20 Mbp record otherwise
    # touched most of a 560 MB array.
    short = [k for k, ((index, _), _) in enumerate(items) if len(index) <= RESCORE_CHUNK_BASES]
    if short:
        logits = networks.coding_logits_many([items[k][0][0] for k in short], precision="fp32",
                                             spans=[spans[k] for k in short])
        for k, values in zip(short, logits, strict=True):
            _exact_coding(networks, items[k][0], spans[k], values, llr_clip)
        del logits
    for k, ((index, scored), _) in enumerate(items):
        if len(index) <= RESCORE_CHUNK_BASES or not len(spans[k]):
            continue
        ranges = spans[k][np.argsort(spans[k][:, 0], kind="stable")]
        stretch = ranges[:, 0] // RESCORE_CHUNK_BASES
        for part in np.split(ranges, np.flatnonzero(np.diff(stretch)) + 1):
            values, = networks.coding_logits_many([index], precision="fp32", spans=[part])
            _exact_coding(networks, (index, scored), part, values, llr_clip)
            del values
    for ((index, scored), _), which in zip(items, members, strict=True):
        c = scored.candidates
        known = which[scored.start_known[which] & ~c.partial_5prime[which]]
        if scored.start_exact is not None:
            known = known[~scored.start_exact[known]]  # fp32 already (the CPU's start logits)
        if len(known):
            scored.start[known] = np.clip(networks.exact_start_logits(index, c, known),
                                          -START_LOGIT_CAP, START_LOGIT_CAP)
        if scored.start_exact is not None:
            scored.start_exact[which] = True
