"""Training the element-mode enhancer model on a CRISPRi screen, held out by chromosome.

The loci are small, so each step uses every training locus (full-batch L-BFGS
with a strong-Wolfe line search, or AdamW, on the logistic loss of
``Regulated`` against ``slope · log|effect| + bias``),
with early stopping on validation chromosomes. Pairs are never split at
random: a locus and its chromosome are always on one side.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import nn
from tqdm.auto import tqdm

from genoseq.config import DictConfig
from genoseq.device import ComputeOptions
from genoseq.enhancers.loci import Loci, build_loci, labels
from genoseq.enhancers.model import EnhancerModel, EnhancerModelConfig
from genoseq.enhancers.predict import element_scores
from genoseq.enhancers.table import has_tss
from genoseq.io import GenoseqWarning


@dataclass(frozen=True)
class EnhancerTrainConfig(DictConfig):
    """Optimisation settings of :func:`train_enhancer_model`.

    Attributes
    ----------
    learning_rate, weight_decay : float
        Step size (L-BFGS: of the line search's first try) and L2 penalty
        (AdamW: decoupled weight decay; L-BFGS: ``weight_decay / 2 · Σ θ²``
        added to the loss).
    max_steps : int
        Most training steps.
    patience : int
        Steps without a better validation AUPRC before training stops.
    eval_every : int
        Steps between validation evaluations.
    n_folds : int
        The training chromosomes are split into this many balanced groups;
        the last is the early-stopping validation set.
    seed : int
    optimizer : str
        ``"lbfgs"`` (one L-BFGS iteration per step) or ``"adamw"``.
    """

    learning_rate: float = 1.0
    weight_decay: float = 1e-4
    max_steps: int = 300
    patience: int = 100
    eval_every: int = 5
    n_folds: int = 5
    seed: int = 0
    optimizer: str = "lbfgs"

    def __post_init__(self):
        if self.optimizer not in ("adamw", "lbfgs"):
            raise ValueError(f"optimizer {self.optimizer!r}: expected 'adamw' or 'lbfgs'")


#: Optimiser of a model with a pair readout (``pair_readout``): L-BFGS's line search stalls
#: at its first steps with that readout (session 10: every fold stopped at step 5).
PAIR_READOUT_TRAINING = {"optimizer": "adamw", "learning_rate": 0.05}


def chromosome_folds(chromosomes: Sequence[str], n_folds: int) -> dict[str, int]:
    """Assign chromosomes to ``n_folds`` groups with balanced pair counts (deterministic).

    Parameters
    ----------
    chromosomes : sequence of str
        The chromosome of every pair.
    n_folds : int

    Returns
    -------
    dict
        Chromosome → fold index. Largest chromosomes first, each to the
        currently smallest fold (ties: lowest index).
    """
    counts = pd.Series(list(chromosomes)).value_counts()
    if len(counts) < n_folds:
        raise ValueError(f"{len(counts)} chromosomes cannot fill {n_folds} folds")
    order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    totals = [0] * n_folds
    folds = {}
    for chrom, count in order:
        fold = totals.index(min(totals))
        folds[chrom] = fold
        totals[fold] += count
    return folds


def _labels_by_bucket(loci: Loci, y: np.ndarray, device: torch.device) -> list[torch.Tensor]:
    return [bucket.gather(y).to(device) for bucket in loci.buckets]


def _bucket_loss(model: EnhancerModel, response, bucket, target: torch.Tensor
                 ) -> torch.Tensor:
    """Summed logistic loss of one bucket's element slots."""
    logits = model.regulated_logit(response.effects, response.pair_logit)
    losses = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (losses * (bucket.rows >= 0)).sum()


def _loss(model: EnhancerModel, buckets, targets: list[torch.Tensor], n_pairs: int
          ) -> torch.Tensor:
    total = sum(_bucket_loss(model, model(bucket), bucket, target)
                for bucket, target in zip(buckets, targets, strict=True))
    return total / n_pairs


@dataclass
class FitResult:
    """A fitted model, the step it was taken at, the loss history and the steps run.

    ``steps`` is the best validation step (the model returned); ``stopped``
    the last step trained, where early stopping (or ``max_steps``) ended it.
    """

    model: EnhancerModel
    steps: int
    history: list[dict]
    stopped: int = 0


def fit_enhancer_model(config: EnhancerModelConfig, train: Loci, train_y: np.ndarray,
                       valid: Loci, valid_y: np.ndarray, settings: EnhancerTrainConfig, *,
                       compute: ComputeOptions | None = None) -> FitResult:
    """Fit a fresh model, seeded by ``settings.seed``, with early stopping.

    Trains up to ``settings.max_steps`` full-batch steps on the logistic
    loss and returns the model of the best validation AUPRC of its scores (``|effect|``, or the logit with ``pair_readout``)
    (evaluated every ``eval_every`` steps and at the last one), stopping
    after ``patience`` steps without improvement. AUPRC, not the validation
    loss: the loss also measures calibration, which shifts between
    chromosome groups with different shares of regulated pairs, and its
    minimum can come after a few steps while the ranking still improves.

    Parameters
    ----------
    config : EnhancerModelConfig
    train, valid : Loci
    train_y, valid_y : numpy.ndarray, shape (rows,)
        0/1 label of each table row the loci were built from.
    settings : EnhancerTrainConfig
    compute : ComputeOptions, optional
        Device (None: CUDA if present, else MPS, else the CPU), threads and
        a progress bar over steps (``progress``). Steps are full-batch and
        float32, so ``batch_size`` and ``precision`` are not used.
    """
    compute = ComputeOptions() if compute is None else compute
    device = compute.torch_device()
    torch.manual_seed(settings.seed)
    model = EnhancerModel(config)
    model.set_feature_scaling(train.buckets)
    model.to(device)
    train_buckets = [b.to(device) for b in train.buckets]
    valid_buckets = [b.to(device) for b in valid.buckets]
    train_targets = _labels_by_bucket(train, train_y, device)
    valid_targets = _labels_by_bucket(valid, valid_y, device)
    n_train = sum(int((b.rows >= 0).sum()) for b in train.buckets)
    n_valid = sum(int((b.rows >= 0).sum()) for b in valid.buckets)
    if settings.optimizer == "lbfgs":
        optimizer = torch.optim.LBFGS(model.parameters(), lr=settings.learning_rate,
                                      max_iter=1, history_size=20,
                                      line_search_fn="strong_wolfe")
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate,
                                      weight_decay=settings.weight_decay)

    def closure():
        optimizer.zero_grad(set_to_none=True)
        value = _loss(model, train_buckets, train_targets, n_train)
        if settings.optimizer == "lbfgs" and settings.weight_decay:
            value = value + 0.5 * settings.weight_decay * sum(
                (p ** 2).sum() for p in model.parameters())
        value.backward()
        return value
    best = {"auprc": -1.0, "step": 0, "state": None}
    history: list[dict] = []
    # Steps can end early (patience): the bar then ends where training stopped.
    bar = tqdm(total=settings.max_steps, disable=not compute.progress, desc="steps",
               unit="step", leave=False)
    step = 0
    try:
        for step in range(1, settings.max_steps + 1):
            bar.update()
            model.train()
            loss = optimizer.step(closure)
            if step % settings.eval_every and step != settings.max_steps:
                continue
            model.eval()
            with torch.no_grad():
                responses = [model(bucket) for bucket in valid_buckets]
                valid_loss = sum(_bucket_loss(model, response, bucket, target)
                                 for response, bucket, target
                                 in zip(responses, valid_buckets, valid_targets, strict=True))
                scores = valid.scatter([model.pair_scores(response) for response in responses])
            valid_auprc = ranking_metrics(valid_y, scores)["auprc"]
            history.append({"step": step, "train_loss": loss.item(),
                            "valid_loss": float(valid_loss) / n_valid,
                            "valid_auprc": valid_auprc})
            if valid_auprc > best["auprc"]:
                best = {"auprc": valid_auprc, "step": step,
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            elif step - best["step"] >= settings.patience:
                break
    finally:
        if bar.total != bar.n:
            bar.total = bar.n
            bar.refresh()
        bar.close()
    model.load_state_dict(best["state"])
    return FitResult(model=model.eval(), steps=best["step"], history=history, stopped=step)


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict:
    """AUPRC (average precision) and AUROC of ``score`` against 0/1 labels ``y``."""
    return {"auprc": float(average_precision_score(y, score)),
            "auroc": float(roc_auc_score(y, score))}


def train_enhancer_model(table: pd.DataFrame, config: EnhancerModelConfig,
                         settings: EnhancerTrainConfig, *, source: str = "<table>",
                         compute: ComputeOptions | None = None) -> tuple[EnhancerModel, dict]:
    """Train on the chromosomes of ``table``, early stopping on a balanced group of them.

    The chromosomes are split into ``settings.n_folds`` groups (fewer if
    there are fewer chromosomes) with balanced pair counts; the last group
    is the validation set, the rest the training set.

    Parameters
    ----------
    table : pandas.DataFrame
        A screen table with a ``Regulated`` column (only the loss reads it).
        Pairs whose gene has no TSS (empty ``startTSS``) are left out, with
        one :class:`~genoseq.io.GenoseqWarning` saying how many.
    config : EnhancerModelConfig
    settings : EnhancerTrainConfig
    source : str
        Name of the table in error messages.
    compute : ComputeOptions, optional
        Device, threads and progress bar, as in :func:`fit_enhancer_model`.

    Returns
    -------
    model : EnhancerModel
        On the CPU, in eval mode.
    metadata : dict
        Step count, validation chromosomes and their AUPRC/AUROC, pair
        counts, and the learnt leaks and window.
    """
    placed = has_tss(table, source)
    if not placed.all():
        warnings.warn(f"{source}: {int((~placed).sum())} of {len(table)} pairs have no TSS "
                      "(empty startTSS); left out of training", GenoseqWarning, stacklevel=2)
        table = table[placed]
    n_groups = min(settings.n_folds, table["chrom"].nunique())
    if n_groups < 2:
        raise ValueError("training needs pairs on at least two chromosomes "
                         "(one is held out for early stopping)")
    folds = chromosome_folds(table["chrom"], n_groups)
    # The last group: several chromosomes (the first may be one large chromosome alone).
    valid_fold = n_groups - 1
    is_valid = table["chrom"].map(folds).to_numpy() == valid_fold
    fit_part, valid_part = table[~is_valid], table[is_valid]
    columns = (config.element_columns, config.gene_columns)
    fit_loci = build_loci(fit_part, *columns, source=source,
                          neighbourhood_kb=config.neighbourhood_kb)
    valid_loci = build_loci(valid_part, *columns, source=source,
                            neighbourhood_kb=config.neighbourhood_kb)
    valid_y = labels(valid_part, source)
    result = fit_enhancer_model(config, fit_loci, labels(fit_part, source), valid_loci, valid_y,
                                settings, compute=compute)
    valid_scores = element_scores(result.model, valid_loci, compute=compute)
    metadata = {
        "train_config": settings.to_dict(),
        "steps": result.steps,
        "steps_run": result.stopped,
        "validation_chromosomes": sorted(c for c, f in folds.items() if f == valid_fold),
        "validation": ranking_metrics(valid_y, valid_scores),
        "n_pairs_train": len(fit_part),
        "n_pairs_validation": len(valid_part),
        "n_regulated": int(labels(table, source).sum()),
        **describe_model(result.model),
    }
    return result.model.cpu(), metadata


@torch.no_grad()
def describe_model(model: EnhancerModel) -> dict:
    """Learnt leaks (per kb, each direction), channel weights and (with a saturating readout) window."""
    low, high, slope = model.readout.window()
    leaks = model.integrator.leaks_per_kb().cpu()
    described = {
        "leaks_per_kb_forward": [round(float(v), 6) for v in leaks[0]],
        "leaks_per_kb_backward": [round(float(v), 6) for v in leaks[1]],
        "channel_weights": [round(float(v), 6) for v in model.integrator.channel_weights()],
    }
    if model.config.saturation:
        described["window_low_log"] = round(float(low), 6)
        described["window_slope"] = round(float(slope), 6)
        if not model.config.readout.monotone:
            described["window_high_log"] = round(float(high), 6)
    return described
