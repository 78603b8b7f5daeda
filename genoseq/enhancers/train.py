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
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler
from torch import nn
from tqdm.auto import tqdm

from genoseq.config import DictConfig
from genoseq.device import ComputeOptions
from genoseq.enhancers.loci import Loci, build_loci, labels
from genoseq.enhancers.model import EFFECT_FLOOR, EnhancerModel, EnhancerModelConfig
from genoseq.enhancers.predict import element_effects, element_scores, loci_for, pair_inputs
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
            if not np.isfinite(scores).all() or not np.isfinite(loss.item()):
                # The optimiser has left the region where the model is defined (a
                # saturating readout can overflow): keep the best model so far.
                if best["state"] is None:
                    raise FloatingPointError("enhancer training diverged before its first "
                                             "validation step")
                history.append({"step": step, "diverged": True})
                break
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


def _placed_pairs(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """The pairs of ``table`` whose gene has a TSS; one warning counts the others."""
    placed = has_tss(table, source)
    if not placed.all():
        # stacklevel 3: the caller of the public training function.
        warnings.warn(f"{source}: {int((~placed).sum())} of {len(table)} pairs have no TSS "
                      "(empty startTSS); left out of training", GenoseqWarning, stacklevel=3)
        table = table[placed]
    return table


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
    table = _placed_pairs(table, source)
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


#: Inverse L2 strengths tried for the stacked link (the logistic-regression baseline's grid).
LINK_C = (0.01, 0.1, 1.0, 10.0)
#: Slope of the log effect in a stacked link whose regression gave it no positive weight
#: (the link is then refitted without the effect; exp(log slope) must stay > 0).
LINK_MIN_SLOPE = 1e-12


def _fit_link(x: np.ndarray, y: np.ndarray, c: float) -> tuple[StandardScaler,
                                                                LogisticRegression]:
    scaler = StandardScaler().fit(x)
    return scaler, LogisticRegression(C=c, max_iter=5000).fit(scaler.transform(x), y)


def _link_inputs(model: EnhancerModel, table: pd.DataFrame, effects: np.ndarray,
                 source: str) -> np.ndarray:
    """The pair's own inputs (as ``model`` reads them) and the log of its effect."""
    log_effect = np.log(np.clip(np.abs(effects), EFFECT_FLOOR, None))
    return np.column_stack([pair_inputs(model, loci_for(model, table, source)), log_effect])


def train_stacked_enhancer_model(table: pd.DataFrame, config: EnhancerModelConfig,
                                 settings: EnhancerTrainConfig, *, source: str = "<table>",
                                 compute: ComputeOptions | None = None,
                                 c_grid: Sequence[float] = LINK_C,
                                 stage1: tuple[EnhancerModel, dict] | None = None
                                 ) -> tuple[EnhancerModel, dict]:
    """The integrator's effect as one input of a logistic regression on the pair (stacking).

    Stage 1 trains the integrator of ``config`` (without pair readout) with
    :func:`train_enhancer_model` on all of ``table``. Stage 2 is a logistic
    regression on each pair's own inputs (:meth:`EnhancerModel.pair_inputs`)
    and the log of its element's effect, where the effects are
    *cross-fitted*: the chromosomes are split into ``settings.n_folds``
    balanced groups and each group's effects come from an integrator
    trained without it. Stage 2's inverse L2 strength is the entry of
    ``c_grid`` with the best AUPRC pooled over the same groups. The returned
    model is the stage-1 integrator with the stage-2 weights folded into a
    pair readout (``pair_readout=True``): its score is the stage-2 logit.

    ``stage1``, if given, is the result of :func:`train_enhancer_model` with
    the same table, ``config`` (``pair_readout`` False) and ``settings``,
    already computed by the caller; it is used instead of training it again.

    Returns the model (CPU, eval mode) and metadata: stage 1's, plus
    ``link`` (the chosen C, its cross-validated AUPRC, the weight of the log
    effect, and the cross-validated AUPRC without the effect).
    """
    table = _placed_pairs(table, source)
    n_groups = min(settings.n_folds, table["chrom"].nunique())
    if n_groups < 3:
        raise ValueError("the stacked link needs pairs on at least three chromosomes "
                         "(cross-fitted effects, each with its own early-stopping group)")
    integrator = replace(config, pair_readout=False)
    model, metadata = stage1 if stage1 is not None else train_enhancer_model(
        table, integrator, settings, source=source, compute=compute)
    metadata = dict(metadata)
    folds = chromosome_folds(table["chrom"], n_groups)
    group = table["chrom"].map(folds).to_numpy()
    effects = np.zeros(len(table))
    for fold in range(n_groups):
        held = group == fold
        inner, _ = train_enhancer_model(table[~held], integrator, settings, source=source,
                                        compute=compute)
        effects[held] = element_effects(inner, loci_for(inner, table[held], source),
                                        compute=compute)
    stacked, metadata["link"] = fit_stacked_link(model, table, effects, group, source=source,
                                                 c_grid=c_grid)
    return stacked, metadata


def fit_stacked_link(model: EnhancerModel, table: pd.DataFrame, effects: np.ndarray,
                     group: np.ndarray, *, source: str = "<table>",
                     c_grid: Sequence[float] = LINK_C) -> tuple[EnhancerModel, dict]:
    """Stage 2 of :func:`train_stacked_enhancer_model`, given the effects it learns from.

    Fits a logistic regression of ``Regulated`` on each pair's own inputs
    (as ``model`` reads them) and ``log|effects|`` (one per table row,
    cross-fitted by the caller), its inverse L2 strength the entry of
    ``c_grid`` with the best AUPRC pooled over the row groups ``group``
    (integers 0..k-1), and folds its weights into a copy of ``model`` with a
    pair readout. Returns that model (eval mode) and the link's description.
    """
    y = labels(table, source)
    x = _link_inputs(model, table, effects, source)
    n_groups = int(group.max()) + 1

    def cv_auprc(columns: np.ndarray, c: float) -> float:
        pooled = np.zeros(len(y))
        for fold in range(n_groups):
            held = group == fold
            scaler, fitted = _fit_link(columns[~held], y[~held], c)
            pooled[held] = fitted.decision_function(scaler.transform(columns[held]))
        return float(average_precision_score(y, pooled))

    by_c = {c: cv_auprc(x, c) for c in c_grid}
    best_c = max(by_c, key=by_c.get)
    scaler, fitted = _fit_link(x, y, best_c)
    weights = fitted.coef_[0] / scaler.scale_
    slope = float(weights[-1])
    if slope <= 0:
        # A larger effect would lower P(regulated): the integrator is no use to the link,
        # which is refitted without it (the effect's weight then ~0, not negative).
        warnings.warn(f"{source}: the stacked link gives the integrator's effect a weight of "
                      f"{slope:.3g}; the link is refitted without it", GenoseqWarning,
                      stacklevel=2)
        scaler, fitted = _fit_link(x[:, :-1], y, best_c)
        weights = np.append(fitted.coef_[0] / scaler.scale_, 0.0)
        scaler.mean_ = np.append(scaler.mean_, 0.0)
    bias = float(fitted.intercept_[0] - (weights * scaler.mean_).sum())
    stacked = EnhancerModel(replace(model.config, pair_readout=True))
    result = stacked.load_state_dict(model.state_dict(), strict=False)
    if result.unexpected_keys or set(result.missing_keys) != {"pair_net.weight",
                                                                "pair_net.bias"}:
        raise RuntimeError(f"stage-1 state does not fit the stacked model: {result}")
    with torch.no_grad():
        stacked.pair_net.weight.copy_(torch.as_tensor(weights[:-1], dtype=torch.float32)[None])
        stacked.pair_net.bias.zero_()
        stacked.log_link_slope.fill_(float(np.log(max(weights[-1], LINK_MIN_SLOPE))))
        stacked.link_bias.fill_(bias)
    link = {
        "kind": "stacked",
        "c": best_c,
        "cv_auprc": by_c[best_c],
        "cv_auprc_by_c": {str(c): v for c, v in by_c.items()},
        "cv_auprc_without_effect": max(cv_auprc(x[:, :-1], c) for c in c_grid),
        "log_effect_weight": float(weights[-1]),
        "log_effect_weight_fitted": slope,
        "cross_fit_groups": n_groups,
    }
    return stacked.eval(), link
