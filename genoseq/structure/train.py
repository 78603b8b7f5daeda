"""Training the secondary-structure model (``genoseq train ss``).

Chains of the training table are drawn in length buckets and cropped
(:class:`~genoseq.structure.data.CroppedBatchSampler`); the shared loop
(:func:`genoseq.nn.train.train_tagger`) runs AdamW with a cosine schedule,
gradient clipping, checkpoints and early stopping on validation loss. The
best model is then scored on the whole validation table, and written with
its settings and scores as the model card metadata.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from genoseq.device import ComputeOptions
from genoseq.nn.tagger import TaggerConfig
from genoseq.nn.train import TrainConfig, train_tagger
from genoseq.structure.data import (
    Q8_TO_Q3,
    Chain,
    CroppedBatchSampler,
    read_ss_table,
    validation_batches,
)
from genoseq.structure.model import (
    N_Q8,
    SecondaryStructureEnsemble,
    SecondaryStructureModel,
    SecondaryStructureObjective,
    default_config,
    q3_probabilities,
)
from genoseq.structure.predict import load_ss_model, predict_probabilities, save_ss_model
from genoseq.structure.pseudo import MixedBatchSampler, drop_chains, read_id_list


def score_chains(model: SecondaryStructureModel, chains: Sequence[Chain], *,
                 compute: ComputeOptions | None = None) -> dict:
    """Per-residue Q3 and Q8 accuracy over the labelled (mask=1) residues.

    Definitions follow ``../shared/tools/score_ss.py``. Q3 is scored three
    ways, to compare how it is made: ``q3`` (the shipped call,
    :func:`~genoseq.structure.model.q3_probabilities`), ``q3_head`` (the Q3
    head alone) and ``q3_from_q8`` (the Q8 call mapped to Q3). ``compute``
    gives device, threads and batch size; the arithmetic is always fp32.

    Returns
    -------
    dict
        Accuracies ``q3``, ``q3_head``, ``q3_from_q8``, ``q8``, and the
        residue counts ``q3_residues``, ``q8_residues``.
    """
    # float32 on every CPU, so validation scores in model cards do not depend on the machine.
    compute = replace(compute or ComputeOptions(), precision="fp32", progress=False)
    probs = predict_probabilities(model, [c.residues for c in chains], compute=compute)
    correct = dict.fromkeys(("q3", "q3_head", "q3_from_q8", "q8"), 0)
    q3_residues = q8_residues = 0
    for chain, p in zip(chains, probs, strict=True):
        q8_call = p[:, :N_Q8].argmax(1)
        calls = {"q3": q3_probabilities(p).argmax(1), "q3_head": p[:, N_Q8:].argmax(1),
                 "q3_from_q8": Q8_TO_Q3[q8_call]}
        labelled = chain.q3 >= 0
        q3_residues += int(labelled.sum())
        for key, call in calls.items():
            correct[key] += int((call == chain.q3)[labelled].sum())
        labelled = chain.q8 >= 0
        q8_residues += int(labelled.sum())
        correct["q8"] += int((q8_call == chain.q8)[labelled].sum())
    scores = {key: value / max(q8_residues if key == "q8" else q3_residues, 1)
              for key, value in correct.items()}
    scores.update(q3_residues=q3_residues, q8_residues=q8_residues)
    return scores


def train_secondary_structure(
    train_path: str | os.PathLike,
    valid_path: str | os.PathLike,
    out_stem: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    model_config: TaggerConfig | None = None,
    train_config: TrainConfig | None = None,
    max_residues: int = 8192,
    crop: int = 256,
    valid_chains: int | None = None,
    label_smoothing: float = 0.0,
    exclude: str | os.PathLike | None = None,
    pseudo: str | os.PathLike | None = None,
    pseudo_fraction: float = 0.5,
    compute: ComputeOptions | None = None,
) -> dict:
    """Train, early-stop and save a secondary-structure model.

    Parameters
    ----------
    train_path, valid_path : path
        Tables in the data card's format (see :func:`read_ss_table`).
    out_stem : path
        Writes ``<stem>.pt`` and ``<stem>.json``.
    run_dir : path
        Checkpoints; an interrupted run resumes from here.
    model_config : TaggerConfig, optional
        Default: :func:`~genoseq.structure.model.default_config`.
    train_config : TrainConfig, optional
        Steps, epochs, learning rate, seed, ...
    max_residues : int
        Padded residues per training batch.
    crop : int
        Longest piece of a chain in a training batch.
    valid_chains : int, optional
        Early-stop on this many validation chains (a seeded random choice),
        to save time per epoch; the final scores use every chain.
    label_smoothing : float
    exclude : path, optional
        Chain ids (:func:`~genoseq.structure.pseudo.read_id_list`) left out
        of the training and validation tables, e.g. those within 25%
        identity of a test set (``benchmarks/ss_clean_split.py``).
    pseudo : path, optional
        A pseudo-labelled table (:func:`~genoseq.structure.pseudo.pseudo_label_table`)
        trained on beside the training table.
    pseudo_fraction : float
        Share of training batches drawn from ``pseudo`` (same number of
        steps in all: the budget of a labelled-only run).
    compute : ComputeOptions or None
        Device, threads and progress bars (batches are ``max_residues``).

    Returns
    -------
    dict
        The model card metadata: data, settings, history, validation scores.
    """
    train_config = TrainConfig() if train_config is None else train_config
    model_config = default_config() if model_config is None else model_config
    # Made now, not when the weights are written at the end of a long run.
    Path(out_stem).parent.mkdir(parents=True, exist_ok=True)
    compute = ComputeOptions() if compute is None else compute
    device = compute.torch_device()
    train_chains = read_ss_table(train_path)
    valid = read_ss_table(valid_path)
    excluded = {"train": 0, "valid": 0}
    if exclude is not None:
        ids = read_id_list(exclude)
        train_chains, excluded["train"] = drop_chains(train_chains, ids)
        valid, excluded["valid"] = drop_chains(valid, ids)
    stopping = valid
    if valid_chains is not None and valid_chains < len(valid):
        chosen = np.random.default_rng(train_config.seed).choice(len(valid), valid_chains,
                                                                 replace=False)
        stopping = [valid[i] for i in np.sort(chosen)]
    torch.manual_seed(train_config.seed)
    model = SecondaryStructureModel(model_config)
    started = time.perf_counter()
    sampler = CroppedBatchSampler(train_chains, max_residues, crop)
    data = {"train": os.path.basename(train_path), "valid": os.path.basename(valid_path),
            "train_chains": len(train_chains), "valid_chains": len(valid),
            "early_stopping_chains": len(stopping)}
    if exclude is not None:
        data.update(exclude=os.path.basename(exclude), excluded_train_chains=excluded["train"],
                    excluded_valid_chains=excluded["valid"])
    if pseudo is not None:
        pseudo_chains = read_ss_table(pseudo)
        sampler = MixedBatchSampler(sampler, CroppedBatchSampler(pseudo_chains, max_residues,
                                                                 crop), pseudo_fraction)
        data.update(pseudo=os.path.basename(pseudo), pseudo_chains=len(pseudo_chains),
                    pseudo_fraction=pseudo_fraction)
    result = train_tagger(model, sampler,
                          validation_batches(stopping), train_config, run_dir, device=device,
                          objective=SecondaryStructureObjective(label_smoothing),
                          progress=compute.progress)
    metadata = {
        "data": data,
        "train_config": train_config.to_dict(),
        "batches": {"max_residues": max_residues, "crop": crop,
                    "label_smoothing": label_smoothing},
        "history": result.history,
        "best_epoch": result.best_epoch,
        "train_seconds_this_session": round(time.perf_counter() - started, 1),
        "device": str(device),
        "valid_scores": score_chains(result.model, valid, compute=compute),
    }
    save_ss_model(result.model, out_stem, metadata)
    return metadata


def train_ss_ensemble(train_path: str | os.PathLike, valid_path: str | os.PathLike,
                      out_stem: str | os.PathLike, run_dir: str | os.PathLike,
                      seeds: Sequence[int], *, train_config: TrainConfig | None = None,
                      compute: ComputeOptions | None = None, **options) -> dict:
    """Train one model per seed and save their ensemble (mean probabilities).

    Seed ``s`` trains as :func:`train_secondary_structure` with checkpoints in
    ``<run_dir>/seed<s>`` and weights ``<out_stem>.seed<s>.pt``; the ensemble,
    scored on the whole validation table, goes to ``<out_stem>.pt``/``.json``.
    ``options`` are passed to :func:`train_secondary_structure`.
    """
    train_config = TrainConfig() if train_config is None else train_config
    members, member_cards = [], []
    for seed in seeds:
        stem = f"{out_stem}.seed{seed}"
        card = train_secondary_structure(
            train_path, valid_path, stem, Path(run_dir) / f"seed{seed}",
            train_config=replace(train_config, seed=seed), compute=compute, **options)
        members.append(load_ss_model(stem)[0])
        member_cards.append({"seed": seed, **card})
    ensemble = SecondaryStructureEnsemble(members).eval()
    metadata = {
        "ensemble_seeds": list(seeds),
        "members": member_cards,
        "valid_scores": score_chains(ensemble, _valid_chains(valid_path, options.get("exclude")),
                                     compute=compute),
    }
    save_ss_model(ensemble, out_stem, metadata)
    return metadata


def _valid_chains(valid_path, exclude=None) -> list[Chain]:
    valid = read_ss_table(valid_path)
    return valid if exclude is None else drop_chains(valid, read_id_list(exclude))[0]


def combine_ss_models(stems: Sequence[str | os.PathLike], valid_path: str | os.PathLike,
                      out_stem: str | os.PathLike, *, exclude: str | os.PathLike | None = None,
                      compute: ComputeOptions | None = None) -> dict:
    """Save the ensemble of saved models (single networks or ensembles, any architectures).

    Every member of every input becomes a member of the new ensemble, which
    averages their probabilities like :func:`train_ss_ensemble`'s; it is
    scored on the whole validation table (less the ids of ``exclude``) and
    written to ``<out_stem>.pt``/``.json`` with the members' model cards.
    """
    members, member_cards = [], []
    for stem in stems:
        model, metadata = load_ss_model(stem)
        if isinstance(model, SecondaryStructureEnsemble):
            members.extend(model.members)
            cards = metadata.get("members") or [{}] * len(model.members)
        else:
            members.append(model)
            cards = [metadata]
        member_cards.extend({"from": os.path.basename(str(stem)), **card} for card in cards)
    ensemble = SecondaryStructureEnsemble(members).eval()
    metadata = {
        "ensemble_of": [os.path.basename(str(stem)) for stem in stems],
        "members": member_cards,
        "valid_scores": score_chains(ensemble, _valid_chains(valid_path, exclude),
                                     compute=compute),
    }
    Path(out_stem).parent.mkdir(parents=True, exist_ok=True)
    save_ss_model(ensemble, out_stem, metadata)
    return metadata
