"""A resumable, seeded training loop shared by every model in genoseq.

Batches come from a ``sample_batch(rng)`` callable, validation from a fixed
list of batches; an objective says how logits and targets make a loss
(:class:`TaggingObjective`: per-position cross-entropy with ``-100`` as the
ignored target; :class:`BinaryObjective`: one logit per example). Every
epoch ends with a checkpoint, so an interrupted CPU run continues where it
stopped; the best model by validation loss is kept.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from genoseq.config import DictConfig
from genoseq.nn.checkpoint import load_checkpoint, save_checkpoint

IGNORE = -100

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class TrainConfig(DictConfig):
    """Optimisation settings; saved with every checkpoint."""

    steps_per_epoch: int = 400
    max_epochs: int = 30
    patience: int = 4
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    seed: int = 0
    #: What early stopping and the kept model follow: validation ``"loss"``
    #: (lower is better) or ``"accuracy"`` (higher is better).
    monitor: str = "loss"

    def __post_init__(self):
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {sorted(MONITORS)}, not {self.monitor!r}")


#: Sign that turns each monitored metric into a score where higher is better.
MONITORS = {"loss": -1.0, "accuracy": 1.0}


@dataclass
class TrainResult:
    """What :func:`train_tagger` returns: the best model and the per-epoch history."""

    model: nn.Module
    history: list[dict]
    best_epoch: int


class TaggingObjective:
    """Cross-entropy over logits ``(batch, length, classes)``; targets ``-100`` are ignored."""

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           targets.reshape(-1), ignore_index=IGNORE,
                                           label_smoothing=self.label_smoothing)

    def summary(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, int, int]:
        """(summed unsmoothed loss, correct, counted) of one batch."""
        keep = targets != IGNORE
        loss = nn.functional.cross_entropy(logits[keep], targets[keep], reduction="sum")
        correct = (logits[keep].argmax(-1) == targets[keep]).sum()
        return loss.item(), int(correct), int(keep.sum())


class BinaryObjective:
    """Logistic loss over one logit per example ``(batch,)``; targets 0/1 floats."""

    def __init__(self, positive_weight: float = 1.0):
        self.positive_weight = positive_weight

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        weight = torch.tensor(self.positive_weight, device=logits.device)
        return nn.functional.binary_cross_entropy_with_logits(logits, targets.float(),
                                                              pos_weight=weight)

    def summary(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, int, int]:
        loss = nn.functional.binary_cross_entropy_with_logits(logits, targets.float(),
                                                              reduction="sum")
        correct = ((logits > 0) == (targets > 0.5)).sum()
        return loss.item(), int(correct), len(targets)


def _to(inputs, device: torch.device):
    """Move a batch's inputs to ``device``: one tensor, or a dict of the model's keyword arguments."""
    if isinstance(inputs, dict):
        return {name: part.to(device) for name, part in inputs.items()}
    return inputs.to(device)


def _apply(model: nn.Module, inputs) -> torch.Tensor:
    """``model(inputs)``, or ``model(**inputs)`` for a dict of keyword arguments."""
    return model(**inputs) if isinstance(inputs, dict) else model(inputs)


def evaluate(model: nn.Module, batches: Sequence[Batch], device: torch.device,
             objective=None) -> dict:
    """Mean loss and accuracy of ``model`` over ``batches``."""
    objective = TaggingObjective() if objective is None else objective
    model.eval()
    total_loss = 0.0
    correct = 0
    counted = 0
    with torch.inference_mode():
        for inputs, targets in batches:
            loss, right, count = objective.summary(_apply(model, _to(inputs, device)),
                                                   targets.to(device))
            total_loss += loss
            correct += right
            counted += count
    return {"loss": total_loss / max(counted, 1), "accuracy": correct / max(counted, 1)}


def train_tagger(
    model: nn.Module,
    sample_batch: Callable[[np.random.Generator], Batch],
    valid_batches: Sequence[Batch],
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    device: torch.device,
    objective=None,
    progress: bool = True,
    on_best: Callable[[nn.Module, dict], None] | None = None,
) -> TrainResult:
    """Train ``model`` with AdamW, cosine learning rate, gradient clipping and early stopping.

    Parameters
    ----------
    model : nn.Module
        Maps an input batch to logits ``(batch, length, n_classes)``.
    sample_batch : callable
        ``sample_batch(rng) -> (inputs, targets)`` draws one training batch
        using the given numpy Generator (the loop owns and checkpoints it);
        ``inputs`` is the model's one argument, or a dict of its keyword
        arguments (tensors); targets ``(batch, length)`` int64, ``-100``
        where ignored.
    valid_batches : sequence of (inputs, targets)
        Fixed validation batches; their loss (or accuracy, per
        ``config.monitor``) drives early stopping.
    config : TrainConfig
    run_dir : path
        Holds ``checkpoint.pt``. If one exists, training resumes from it.
    device : torch.device
    objective : TaggingObjective or BinaryObjective, optional
        Default: per-position cross-entropy.
    progress : bool
        Show a tqdm bar per epoch.
    on_best : callable, optional
        Called with (model, metrics) whenever the monitored figure improves, e.g.
        to write the shipped weights.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = run_dir / "checkpoint.pt"
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    total_steps = config.steps_per_epoch * config.max_epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)))
    state = {"epoch": 0, "best_score": -float("inf"), "best_epoch": -1, "bad_epochs": 0,
             "history": [], "best_model": None}
    saved = load_checkpoint(checkpoint_path)
    if saved is not None:
        # Patience only decides when to stop, so it may change on resume
        # (e.g. raised when a noisy validation loss would stop a run too early).
        # Checkpoints written before ``monitor`` existed followed the loss.
        written = {"monitor": "loss", **saved["train_config"], "patience": None}
        if written != {**config.to_dict(), "patience": None}:
            raise ValueError(f"{checkpoint_path} was written with other settings "
                             f"{saved['train_config']}; use a new run folder")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        rng.bit_generator.state = saved["numpy_rng"]
        torch.set_rng_state(saved["torch_rng"])
        state = saved["state"]
        if "best_loss" in state:  # checkpoint from before ``monitor``
            state["best_score"] = -state.pop("best_loss")
    objective = TaggingObjective() if objective is None else objective

    while state["epoch"] < config.max_epochs and state["bad_epochs"] < config.patience:
        model.train()
        running = 0.0
        bar = tqdm(range(config.steps_per_epoch), desc=f"epoch {state['epoch'] + 1}",
                   disable=not progress, leave=False)
        for step in bar:
            inputs, targets = sample_batch(rng)
            inputs, targets = _to(inputs, device), targets.to(device)
            loss = objective.loss(_apply(model, inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / (step + 1):.4f}")
        metrics = evaluate(model, valid_batches, device, objective)
        metrics.update(epoch=state["epoch"] + 1, train_loss=running / config.steps_per_epoch)
        state["history"].append(metrics)
        score = MONITORS[config.monitor] * metrics[config.monitor]
        if score > state["best_score"]:
            state.update(best_score=score, best_epoch=metrics["epoch"], bad_epochs=0,
                         best_model={k: v.detach().cpu().clone()
                                     for k, v in model.state_dict().items()})
            if on_best is not None:
                on_best(model, metrics)
        else:
            state["bad_epochs"] += 1
        state["epoch"] += 1
        if progress:
            tqdm.write(f"epoch {metrics['epoch']}: train loss {metrics['train_loss']:.4f}, "
                       f"valid loss {metrics['loss']:.4f}, valid accuracy {metrics['accuracy']:.4f}")
        save_checkpoint(checkpoint_path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "numpy_rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(), "state": state,
            "train_config": config.to_dict(),
        })
    if state["best_model"] is not None:
        model.load_state_dict(state["best_model"])
    model.eval()
    return TrainResult(model=model, history=state["history"], best_epoch=state["best_epoch"])
