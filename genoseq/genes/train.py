"""Training the gene finder from annotated genomes: ``genoseq train genes``.

Three stages, each resumable from its run folder:

1. coding model: windows of the training genomes (both strands), per-base
   frame classes from the reference CDS, early stopping on the last 10% of
   every training record (never on the held-out genomes);
2. start detector: annotated starts vs the other starts of their ORFs and
   starts in ORFs without a reference gene, same split;
3. decoder weights: a coordinate search maximising stop-level F1 (plus a
   small weight on the exact-start rate), first for the plain pass, then for
   the self-trained pass (hexamer statistics learned from the plain pass's
   genes on each whole training genome). The search runs **out of fold**:
   the training genomes are dealt into folds, a coding model and start
   detector are trained without each fold, and each genome is scored by the
   networks that never saw it. The weights are thus fitted to evidence of
   the kind the shipped networks give on a new genome, not to the
   over-confident evidence they give on the genomes they learned from (on
   those, genoseq beat pyrodigal's F1 while trailing it on held-out genomes).

Held-out genomes are not read at all; evaluate on them with
``benchmarks/genes_vs_pyrodigal.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from genoseq import __version__
from genoseq.device import ComputeOptions
from genoseq.genes import CODING_LEARNING_RATE, DEFAULT_HOLDOUT
from genoseq.genes.adapt import self_train
from genoseq.genes.dataset import (
    LabelledRecord,
    WindowSampler,
    load_genome,
    read_genome_table,
    split_records,
    tiled_batches,
)
from genoseq.genes.decode import decode
from genoseq.genes.finder import GeneFinder
from genoseq.genes.model import default_config as coding_default_config
from genoseq.genes.networks import GeneModels, load_gene_models, save_gene_models
from genoseq.genes.scoring import DecoderParams, OverlapRules, ScoredCandidates, orf_lengths
from genoseq.genes.starts import index_to_ascii, start_examples
from genoseq.io import InvalidFileError
from genoseq.nn.train import BinaryObjective, TrainConfig, train_tagger

#: Genera kept for independent evaluation: never trained on.
RESERVED_GENERA = ("Staphylococcus", "Mesoplasma", "Mycobacterium", "Natronomonas",
                   "Deinococcus", "Synechocystis")
#: Last part of every training record: early stopping and decoder calibration only.
VALID_FRACTION = 0.1
#: Folds for out-of-fold decoder calibration (0: calibrate on the validation parts,
#: scored by the networks trained on the rest of the same genomes).
CALIBRATION_FOLDS = 2
#: Coding-model epochs of each fold's networks.
FOLD_EPOCHS = 8
#: Last part of every record whose genes score an out-of-fold calibration.
OUT_OF_FOLD_FRACTION = 0.25
#: Optimisation of the coding model and of the start detector (the seed is
#: :func:`train_gene_finder`'s).
CODING_TRAINING = TrainConfig(steps_per_epoch=300, max_epochs=20, patience=3,
                              learning_rate=CODING_LEARNING_RATE)
START_TRAINING = TrainConfig(steps_per_epoch=300, max_epochs=15, patience=3,
                             learning_rate=2e-3)


def _check_not_reserved(genomes_dir: Path, names: list[str]) -> None:
    with open(genomes_dir / "genomes.tsv", encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        for line in handle:
            row = dict(zip(header, line.rstrip("\n").split("\t"), strict=False))
            organism = row.get("organism", "")
            if row.get("name") in names and any(g.lower() in organism.lower()
                                                 for g in RESERVED_GENERA):
                raise InvalidFileError(genomes_dir / "genomes.tsv", None,
                                       f"genome {row['name']!r} ({organism}) belongs to a genus "
                                       "reserved for independent evaluation; not training on it")


def stop_keys(strand: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Identify genes by strand and stop coordinate, as the project's scorer does.

    ``end`` for a + strand gene, ``-(start + 1)`` for a − strand one.
    """
    return np.where(strand > 0, end, -(start + 1)).astype(np.int64)


@dataclass
class CalibrationRecord:
    """A training record scored once, with the part kept out of coding-model training.

    Calibration only looks at candidates and reference genes lying wholly in
    ``[valid_start, length)``: the coding model never trained on that part.
    """

    index: np.ndarray
    scored: ScoredCandidates
    valid_start: int
    reference: set[tuple[int, int, int]]

    def valid_part(self) -> ScoredCandidates:
        c = self.scored.candidates
        keep = c.start >= self.valid_start
        arrays = {name: getattr(c, name)[keep] for name in
                  ("strand", "start", "end", "stop_pos", "start_codon", "partial_left",
                   "partial_right", "orf_id")}
        return ScoredCandidates(
            candidates=replace(c, **arrays), coding=self.scored.coding[keep],
            start=self.scored.start[keep], start_known=self.scored.start_known[keep],
            hexamer=None if self.scored.hexamer is None else self.scored.hexamer[keep],
            profile=None if self.scored.profile is None else self.scored.profile[keep],
            profile_codon=(None if self.scored.profile_codon is None
                           else self.scored.profile_codon[keep]),
            rbs=None if self.scored.rbs is None else self.scored.rbs[keep],
            rbs_strength=self.scored.rbs_strength,
            orf_length=orf_lengths(c)[keep])


def _reuse_networks(stem, training_genomes: list[str], holdout: list[str], seed: int,
                    window: int) -> tuple[GeneModels, dict]:
    """The networks of an earlier model of this command, checked to be trained as asked."""
    models, _, _, metadata = load_gene_models(stem)
    asked = {"training_genomes": training_genomes, "held_out_genomes": holdout, "seed": seed,
             "window": window}
    for key, value in asked.items():
        if metadata.get(key) != value:
            raise InvalidFileError(f"{stem}.json", None, f"its networks were trained with "
                                   f"{key} {metadata.get(key)!r}, not {value!r}")
    kept = {key: metadata[key] for key in ("coding_training", "coding_history",
                                           "start_training", "start_history",
                                           "start_examples") if key in metadata}
    return models, {**kept, "networks_from": Path(stem).name}


def calibration_folds_of(entries, k: int) -> list[list[str]]:
    """Genome names dealt into ``k`` folds in order of GC content, so each fold spans low to high GC."""
    ordered = sorted(entries, key=lambda e: (50.0 if e.gc_percent is None else e.gc_percent,
                                             e.name))
    return [[e.name for e in ordered[i::k]] for i in range(k)]


def score_for_calibration(finder: GeneFinder, records: list[LabelledRecord],
                          valid_fraction: float, progress: bool) -> list[CalibrationRecord]:
    """Score every candidate (all starts) of whole training records, in fp32 on any machine."""
    out = []
    for record in tqdm(records, desc="scoring training records", disable=not progress,
                       leave=False):
        cut = int(len(record) * (1 - valid_fraction)) // 3 * 3
        table_finder = GeneFinder.from_models(
            finder.models, finder.params, translation_table=record.translation_table,
            compute=replace(finder.compute, device=finder.device, precision="fp32"))
        _, scored = table_finder.score_candidates(index_to_ascii(record.index).tobytes(),
                                                  all_starts=True)
        reference = {(g.strand, g.start, g.end) for g in record.cds if g.start >= cut}
        out.append(CalibrationRecord(record.index, scored, cut, reference))
    return out


def decoded_and_reference(scored: ScoredCandidates, reference: set, params: DecoderParams
                          ) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """The genes decoded under ``params`` and the reference genes, each stop key → (start, end).

    Keys as :func:`stop_keys`; ``reference`` holds (strand, start, end) triples.
    """
    chosen = decode(scored, params)
    c = scored.candidates
    pred = dict(zip(stop_keys(c.strand[chosen], c.start[chosen], c.end[chosen]).tolist(),
                    zip(c.start[chosen].tolist(), c.end[chosen].tolist(), strict=True),
                    strict=True))
    ref = {end if strand > 0 else -(start + 1): (start, end)
           for strand, start, end in reference}
    return pred, ref


def match_counts(finder: GeneFinder, records: list[tuple[ScoredCandidates, set]],
                 params: DecoderParams) -> tuple[int, int, int, int]:
    """(n_ref, n_pred, stop matches, exact starts among matches) over records."""
    n_ref = n_pred = matched = exact = 0
    for scored, reference in records:
        pred, ref = decoded_and_reference(scored, reference, params)
        n_ref += len(ref)
        n_pred += len(pred)
        for key, span in ref.items():
            if key in pred:
                matched += 1
                exact += pred[key] == span
    return n_ref, n_pred, matched, exact


def evaluate_params(finder: GeneFinder, records: list[tuple[ScoredCandidates, set]],
                    params: DecoderParams) -> dict:
    """Stop-level sensitivity, precision, F1 and exact-start rate of ``params`` on ``records``."""
    return match_figures(*match_counts(finder, records, params))


def match_figures(n_ref: int, n_pred: int, matched: int, exact: int) -> dict:
    """Sensitivity, precision, F1 and exact-start rate from the counts of :func:`match_counts`."""
    sensitivity = matched / max(n_ref, 1)
    precision = matched / max(n_pred, 1)
    return {"sensitivity": sensitivity, "precision": precision,
            "f1": 2 * sensitivity * precision / max(sensitivity + precision, 1e-9),
            "exact_start": exact / max(matched, 1), "n_ref": n_ref, "n_pred": n_pred}


#: Weight of exact starts beside stop-level F1 in the calibration objective. Starts are
#: counted per reference gene (exact-start rate × sensitivity), so dropping a gene loses
#: its start too. Counted per matched gene instead (weight 0.05 until session 7), a weight
#: large enough to matter paid the search for dropping marginal short genes, whose starts
#: are harder; at 0.05 the length prior was free to pull starts upstream.
START_OBJECTIVE_WEIGHT = 0.3


def objective(figures: dict) -> float:
    """What calibration maximises: stop-level F1 plus a weight on genes found with their exact start."""
    return figures["f1"] + START_OBJECTIVE_WEIGHT * figures["exact_start"] * figures["sensitivity"]


#: Moves tried per decoder parameter by :func:`coordinate_search`: factors for weights,
#: offsets for the bias and the overlap penalty.
_SCALES = (0.0, 0.25, 0.5, 0.7, 1.4, 2.0, 4.0)
_OFFSETS = (-8.0, -4.0, -2.0, -1.0, 1.0, 2.0, 4.0, 8.0)


def _moves(params: DecoderParams, name: str) -> list[DecoderParams]:
    if name == "penalty":
        return [replace(params, overlap=replace(params.overlap, penalty=max(
            params.overlap.penalty + offset, 0.0))) for offset in _OFFSETS]
    value = getattr(params, name)
    if name in ("gene_bias", "length_bias", "orf_length_bias"):
        return [replace(params, **{name: value + offset}) for offset in _OFFSETS]
    # A weight at zero restarts from a small value so that it can come back.
    values = [value * scale for scale in _SCALES] if value else [0.01, 0.03, 0.1, 0.3, 1.0]
    return [replace(params, **{name: v}) for v in values]


def search_params(evaluate: Callable[[DecoderParams], dict], params: DecoderParams,
                  names: tuple[str, ...], rounds: int = 4,
                  log: Callable[[DecoderParams, dict], None] | None = None
                  ) -> tuple[DecoderParams, dict]:
    """Improve ``params`` one parameter at a time until no move helps (or ``rounds`` pass).

    ``evaluate`` gives the figures of a set of weights (with what
    :func:`objective` reads). Weights move by factors (log scale, zero
    included), the bias and the overlap penalty by offsets, so parameters
    whose good values differ by orders of magnitude are all found without a
    grid fixed in advance. ``log`` is called after each round with the best
    weights and figures so far.
    """
    best = evaluate(params)
    for _ in range(rounds):
        improved = False
        for name in names:
            for candidate in _moves(params, name):
                figures = evaluate(candidate)
                if objective(figures) > objective(best) + 1e-6:
                    params, best, improved = candidate, figures, True
        if log is not None:
            log(params, best)
        if not improved:
            break
    return params, best


def coordinate_search(finder: GeneFinder, records: list[tuple[ScoredCandidates, set]],
                      params: DecoderParams, names: tuple[str, ...], rounds: int = 4
                      ) -> tuple[DecoderParams, dict]:
    """:func:`search_params` of the stop-level figures of ``records`` (:func:`evaluate_params`)."""
    return search_params(lambda candidate: evaluate_params(finder, records, candidate),
                         params, names, rounds)


def best_of(results) -> tuple[DecoderParams, dict]:
    """The (params, figures) pair with the highest :func:`objective`; the first on ties."""
    best = None
    for params, figures in results:
        if best is None or objective(figures) > objective(best[1]) + 1e-9:
            best = (params, figures)
    return best


def calibrate_decoder(finder: GeneFinder, genomes: dict[str, list[LabelledRecord]],
                      valid_fraction: float = 0.1, progress: bool = True) -> dict:
    """Fit first-pass and self-trained decoder weights on the validation parts of genomes.

    Returns a dict with ``params``, ``adapted_params`` and the validation
    figures of each.
    """
    scored = {name: score_for_calibration(finder, records, valid_fraction, progress)
              for name, records in genomes.items()}
    return calibrate_scored(finder, scored)


#: Rounds of self-training that calibration fits the self-trained pass for
#: (:attr:`DecoderParams.self_training_rounds`).
SELF_TRAINING_ROUNDS = 2


def calibrate_scored(finder: GeneFinder, scored: dict[str, list[CalibrationRecord]],
                     orf_prior: bool = True,
                     self_training_rounds: int = SELF_TRAINING_ROUNDS) -> dict:
    """:func:`calibrate_decoder` on records already scored (all starts).

    ``orf_prior`` False keeps ``orf_length_bias`` at 0 (the decoder before it
    existed; for ablations). The self-trained pass's weights are fitted on
    statistics learned from the first pass, then, for each further round of
    ``self_training_rounds``, refitted on statistics learned again from the
    genes that the self-trained pass chose with them (as the finder does).
    """
    valid = [(r.valid_part(), r.reference) for records in scored.values() for r in records]
    # Fixed starting points: the search is local, so inheriting the finder's weights
    # would make the result depend on them; several starts (no length term and a
    # short-gene-friendly one with a length term) keep it out of one poor basin.
    base = replace(finder.params, orf_length_bias=0.0)
    starts = [
        replace(base, coding_weight=0.03, start_weight=1.0, gene_bias=-10.0, length_bias=0.0,
                hexamer_weight=0.0, profile_weight=0.0,
                overlap=replace(base.overlap, penalty=2.0)),
        replace(base, coding_weight=0.02, start_weight=2.8, gene_bias=-8.0, length_bias=7.0,
                hexamer_weight=0.0, profile_weight=0.0,
                overlap=replace(base.overlap, penalty=0.0)),
    ]
    names = ("coding_weight", "start_weight", "gene_bias", "length_bias", "penalty")
    if orf_prior:
        # The same length prior put on the ORF, so that it stops favouring upstream starts.
        starts.append(replace(starts[1], length_bias=0.0, orf_length_bias=7.0))
        names += ("orf_length_bias",)
    params, figures = best_of(coordinate_search(finder, valid, start, names)
                              for start in starts)

    first_pass = GeneFinder.from_models(finder.models, params, compute=finder.compute)
    for records in scored.values():
        first_pass.self_train([(r.index, r.scored) for r in records])
    valid = [(r.valid_part(), r.reference) for records in scored.values() for r in records]
    adapted_starts = [
        replace(params, hexamer_weight=0.2, profile_weight=0.3),
        replace(params, coding_weight=params.coding_weight / 3, hexamer_weight=0.8,
                profile_weight=0.6, length_bias=2 * params.length_bias,
                orf_length_bias=2 * params.orf_length_bias),
    ]
    adapted_names = ("hexamer_weight", "coding_weight", "profile_weight", "start_weight",
                     "gene_bias", "length_bias", "penalty")
    if orf_prior:
        adapted_starts.append(replace(adapted_starts[1], length_bias=0.0,
                                      orf_length_bias=2 * (params.length_bias
                                                           + params.orf_length_bias)))
        adapted_names += ("orf_length_bias",)
    adapted, adapted_figures = best_of(coordinate_search(finder, valid, start, adapted_names)
                                       for start in adapted_starts)
    for _ in range(1, self_training_rounds):
        second = GeneFinder.from_models(finder.models, params, adapted_params=adapted,
                                        compute=finder.compute)
        for records in scored.values():
            pairs = [(r.index, r.scored) for r in records]
            self_train(pairs, second.choose(pairs, adapted), profile_pool=adapted.profile_pool)
        valid = [(r.valid_part(), r.reference) for records in scored.values() for r in records]
        adapted, adapted_figures = coordinate_search(finder, valid, adapted, adapted_names)
    adapted = replace(adapted, self_training_rounds=self_training_rounds)
    return {"params": params, "figures": figures, "adapted_params": adapted,
            "adapted_figures": adapted_figures}


#: Marks a fold folder that a ``only_fold`` process is training; holds its process id.
FOLD_LOCK = "training.pid"


@contextlib.contextmanager
def _fold_lock(folder: Path):
    """Mark ``folder`` as being trained by this process until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / FOLD_LOCK
    other = _lock_holder(lock)
    if other is not None:
        raise ValueError(f"{folder} is being trained by process {other}")
    lock.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _lock_holder(lock: Path) -> int | None:
    """The live process that holds ``lock``, or None (no lock, or its process is gone)."""
    try:
        pid = int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _wait_for_fold(folder: Path, progress: bool, poll_seconds: float = 30.0) -> None:
    """Wait while another process trains this fold (``only_fold``), then resume from it."""
    told = False
    while (pid := _lock_holder(folder / FOLD_LOCK)) is not None:
        if progress and not told:
            print(f"waiting for process {pid}, which trains {folder}", file=sys.stderr)
            told = True
        time.sleep(poll_seconds)


def train_networks(train_records: list[LabelledRecord], valid_records: list[LabelledRecord],
                   coding_config: TrainConfig, start_config: TrainConfig, run_dir: Path, *,
                   window: int, batch_size: int, seed: int, device: torch.device,
                   progress: bool, frames: bool = False) -> tuple[GeneModels, dict]:
    """Train a coding model (``run_dir/coding``) and a start detector (``run_dir/start``).

    ``frames`` gives the coding model the open-frame input channels
    (:mod:`genoseq.genes.frames`). Returns the models and what the metadata
    records about their training.
    """
    torch.manual_seed(seed)
    models = GeneModels(coding_default_config(frames))
    coding_result = train_tagger(
        models.coding, WindowSampler(train_records, window, batch_size, stops=frames),
        tiled_batches(valid_records, window, batch_size, max_windows=512, stops=frames),
        coding_config, run_dir / "coding", device=device, progress=progress)

    rng = np.random.default_rng(seed)

    def examples(part):
        pieces = [start_examples(r.index, r.cds, r.translation_table, rng) for r in part]
        return (torch.from_numpy(np.concatenate([w for w, _ in pieces])),
                torch.from_numpy(np.concatenate([y for _, y in pieces])))

    train_x, train_y = examples(train_records)
    valid_x, valid_y = examples(valid_records)
    positive_rate = float(train_y.mean())

    def start_batch(generator, size=256):
        pick = torch.from_numpy(generator.integers(0, len(train_y), size=size))
        return train_x[pick], train_y[pick]

    valid_batches = [(valid_x[i:i + 4096], valid_y[i:i + 4096])
                     for i in range(0, len(valid_y), 4096)]
    start_result = train_tagger(
        models.start, start_batch, valid_batches, start_config, run_dir / "start",
        device=device, objective=BinaryObjective((1 - positive_rate) / positive_rate),
        progress=progress)
    return models, {
        "coding_training": coding_config.to_dict(),
        "coding_history": coding_result.history,
        "start_training": start_config.to_dict(),
        "start_history": start_result.history,
        "start_examples": {"train": len(train_y), "valid": len(valid_y),
                           "positive_rate": positive_rate},
    }


def train_gene_finder(genomes_dir: str | os.PathLike | list, out_stem: str | os.PathLike,
                      run_dir: str | os.PathLike, *, holdout=DEFAULT_HOLDOUT,
                      coding_config: TrainConfig | None = None,
                      start_config: TrainConfig | None = None,
                      window: int = 3000, seed: int = 0,
                      calibration_folds: int = CALIBRATION_FOLDS, fold_epochs: int = FOLD_EPOCHS,
                      networks_from: str | os.PathLike | None = None,
                      frame_channels: bool = False,
                      calibration_genomes: list | None = None,
                      only_fold: int | None = None,
                      compute: ComputeOptions | None = None, progress: bool = True) -> dict:
    """Train the coding model, the start detector and the decoder weights; save all three.

    ``coding_config`` and ``start_config`` default to :data:`CODING_TRAINING`
    and :data:`START_TRAINING`; ``seed`` seeds both and everything else.
    ``compute`` gives the device, threads and training windows per batch
    (default 32).

    With ``calibration_folds`` >= 2 the decoder weights are fitted out of fold
    (see the module docstring): the fold networks train ``fold_epochs``
    coding-model epochs into ``run_dir/fold<k>``, resumable like the rest.

    ``networks_from`` takes the two networks from a model this function
    wrote earlier, on the same genomes, hold-out and seed, instead of training
    them again: only the fold networks and the decoder weights are fitted (to
    refit the decoder after a change to its score or its calibration).

    ``frame_channels`` gives the coding models (shipped and fold) the
    open-frame input channels of :mod:`genoseq.genes.frames`.

    ``calibration_genomes`` (genome folders) fits the decoder weights on other
    genomes instead: each is scored whole by the trained networks, which
    never saw it (no fold networks are trained). They must not be training
    or held-out genomes.

    ``only_fold`` (k) trains fold k's networks into ``run_dir/fold<k>`` and
    returns, writing no model: several processes (or machines sharing the run
    folder) can train the folds beside the main networks, and the full call
    then resumes them. Everything else must be as in the full call.

    Returns the metadata written beside the weights (data, settings, figures).
    """
    if calibration_folds == 1 or calibration_folds < 0:
        raise ValueError(f"calibration_folds must be 0 or at least 2, not {calibration_folds}")
    if only_fold is not None and not 0 <= only_fold < calibration_folds:
        raise ValueError(f"only_fold must be one of the {calibration_folds} calibration folds "
                         f"(0 to {calibration_folds - 1}), not {only_fold}")
    if only_fold is not None and calibration_genomes:
        raise ValueError("only_fold trains fold networks, which calibration_genomes replace")
    folders = ([Path(genomes_dir)] if isinstance(genomes_dir, (str, os.PathLike))
               else [Path(folder) for folder in genomes_dir])
    run_dir = Path(run_dir)
    # Made now, not when the weights are written at the end of a long run.
    Path(out_stem).parent.mkdir(parents=True, exist_ok=True)
    compute = ComputeOptions() if compute is None else compute
    device = compute.torch_device()
    batch_size = compute.batch(32)
    entries = []
    for folder in folders:
        entries.extend(read_genome_table(folder))
    names = [e.name for e in entries]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"genome(s) in more than one folder: {twice}")
    unknown = set(holdout) - set(names)
    if unknown:
        raise ValueError(f"held-out genome(s) not in {', '.join(map(str, folders))}: "
                         f"{sorted(unknown)}")
    train_entries = [e for e in entries if e.name not in set(holdout)]
    for folder in folders:
        _check_not_reserved(folder, [e.name for e in train_entries])
    records = []
    for entry in tqdm(train_entries, desc="reading genomes", disable=not progress, leave=False):
        records.extend(load_genome(entry))
    train_records, valid_records = split_records(records, VALID_FRACTION)

    coding_config = replace(coding_config or CODING_TRAINING, seed=seed)
    start_config = replace(start_config or START_TRAINING, seed=seed)
    folds = (calibration_folds_of(train_entries, calibration_folds)
             if calibration_folds >= 2 else [])

    def train_fold(k: int) -> tuple[list[str], GeneModels, dict]:
        """Fold k's networks, trained without its genomes into ``run_dir/fold<k>``: one
        call for ``only_fold`` and the full run, so that the full run resumes them."""
        names = folds[k]
        models, trained = train_networks(
            [r for r in train_records if r.genome not in names],
            [r for r in valid_records if r.genome not in names],
            replace(coding_config, max_epochs=fold_epochs), start_config, run_dir / f"fold{k}",
            window=window, batch_size=batch_size, seed=seed, device=device, progress=progress,
            frames=frame_channels)
        return names, models, trained

    if only_fold is not None:
        with _fold_lock(run_dir / f"fold{only_fold}"):
            names, _, fold_trained = train_fold(only_fold)
        return {"fold": only_fold, "scored_genomes": names, **fold_trained}
    if networks_from is None:
        models, trained = train_networks(train_records, valid_records, coding_config,
                                         start_config, run_dir, window=window,
                                         batch_size=batch_size, seed=seed, device=device,
                                         progress=progress, frames=frame_channels)
    else:
        models, trained = _reuse_networks(networks_from, [e.name for e in train_entries],
                                          list(holdout), seed, window)

    compute = replace(compute, device=device)
    finder = GeneFinder.from_models(models, DecoderParams(overlap=OverlapRules()),
                                    compute=compute)
    genomes: dict[str, list[LabelledRecord]] = {}
    for record in records:
        genomes.setdefault(record.genome, []).append(record)
    if calibration_genomes:
        calibration_entries = []
        for folder in calibration_genomes:
            calibration_entries.extend(read_genome_table(folder))
        clash = sorted({e.name for e in calibration_entries} & set(names))
        if clash:
            raise ValueError(f"calibration genome(s) also among the training or held-out "
                             f"genomes: {clash}")
        for folder in calibration_genomes:
            _check_not_reserved(Path(folder), [e.name for e in calibration_entries])
        scored = {}
        for entry in tqdm(calibration_entries, desc="calibration genomes", disable=not progress,
                          leave=False):
            scored[entry.name] = score_for_calibration(finder, load_genome(entry), 1.0, progress)
        calibration = calibrate_scored(finder, scored)
        calibration_metadata = {"method": "separate genomes",
                                "genomes": [e.name for e in calibration_entries],
                                "scored_fraction": 1.0}
    elif folds:
        scored: dict[str, list[CalibrationRecord]] = {}
        fold_metadata = []
        for k in range(len(folds)):
            _wait_for_fold(run_dir / f"fold{k}", progress)
            names, fold_models, fold_trained = train_fold(k)
            fold_finder = GeneFinder.from_models(fold_models, finder.params, compute=compute)
            for name in names:
                scored[name] = score_for_calibration(fold_finder, genomes[name],
                                                     OUT_OF_FOLD_FRACTION, progress)
            fold_metadata.append({"scored_genomes": names, **fold_trained})
        calibration = calibrate_scored(finder, scored)
        calibration_metadata = {"method": "out of fold", "folds": calibration_folds,
                                "fold_epochs": fold_epochs,
                                "scored_fraction": OUT_OF_FOLD_FRACTION,
                                "fold_networks": fold_metadata}
    else:
        calibration = calibrate_decoder(finder, genomes, VALID_FRACTION, progress)
        calibration_metadata = {"method": "validation parts", "scored_fraction": VALID_FRACTION}
    metadata = {
        "genoseq_version": __version__,
        "genomes_dir": str(folders[0]) if len(folders) == 1 else [str(f) for f in folders],
        "training_genomes": [e.name for e in train_entries],
        "held_out_genomes": list(holdout),
        "seed": seed,
        "window": window,
        "batch_size": batch_size,
        **trained,
        "calibration": calibration_metadata,
        "decoder_validation": calibration["figures"],
        "decoder_adapted_validation": calibration["adapted_figures"],
    }
    save_gene_models(models, calibration["params"], out_stem, metadata,
                     adapted=calibration["adapted_params"])
    # With --networks and --calibration-genomes nothing was trained into run_dir yet.
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "summary.json", "w", encoding="utf-8") as handle:
        json.dump(metadata, handle, indent=2)
    return metadata
