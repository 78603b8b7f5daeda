#!/usr/bin/env python3
"""Enhancer–gene scoring held out by chromosome: leaky integrator, its ablations and baselines.

Every method is scored on the same CRISPRi table in the same run, pooled over
chromosome-held-out folds: the chromosomes are split into ``--folds`` groups
with balanced pair counts, and each group's pairs are scored by a model that
never saw that group. No pair is ever split from its locus. Three figures per
method: AUPRC (sklearn's average precision), AUROC, and a weighted AUPRC in
the manner of the CRISPR_comparison pipeline (Gschwind et al.): every source
screen (``Dataset``) gets the same total weight, and a pair a method cannot
score is ranked at that method's minimum score.

Methods:

* distance only: ``-distanceToTSS``;
* ABC-like: activity / distance, activity = ``sqrt(DHS.RPM * H3K27ac.RPM)``;
* activity · exp(-d / L), L chosen on each fold's training chromosomes;
* logistic regression and scikit-learn gradient boosting
  (``HistGradientBoostingClassifier``) on the model's own inputs: the 12
  element features, log distance and the gene's ubiquitous-expression flag;
  their hyperparameters are chosen inside each training fold by inner
  chromosome-group cross-validation (nested: the held-out fold is never
  looked at);
* the leaky integrator, ``|effect|`` (the shipped configuration: every
  element of the table within 2.5 Mb of the TSS kicks, log readout, one
  distance leak per channel and direction) and its ablations, each changing
  one part: a sweet-spot or a monotone sigmoid readout, only the gene's
  tested elements kicking, no competition at all (each element read alone
  with its promoter), and element-specific leaks (barriers);
* the stacked link over each of those integrators
  (``train_stacked_enhancer_model``): a logistic regression on the
  logistic-regression baseline's inputs plus the log of the integrator's
  cross-fitted effect, and the design chosen among the stacked rows by
  nested CV.

Each integrator is trained with ``train_enhancer_model`` on the training
chromosomes of a fold only (early stopping on a fifth of them). Writes
``benchmarks/results/enhancer.md`` and the held-out scores
(``benchmarks/work/enhancer_cv_scores.*.tsv``), which
``../shared/tools/score_pairs.py`` re-scores when it is present.

    python benchmarks/enhancer_eval.py --test ../shared/data/enhancer/crispri_K562_training.GRCh38.tsv.gz
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.preprocessing import StandardScaler

import genoseq
from genoseq.device import ComputeOptions, set_threads
from genoseq.enhancers.loci import element_feature_matrix, labels
from genoseq.enhancers.model import EnhancerModelConfig
from genoseq.enhancers.predict import element_effects_and_scores, element_scores, loci_for
from genoseq.enhancers.table import numeric_column, read_pairs
from genoseq.enhancers.train import (
    PAIR_READOUT_TRAINING,
    EnhancerTrainConfig,
    chromosome_folds,
    describe_model,
    ranking_metrics,
    train_enhancer_model,
    train_stacked_enhancer_model,
)
from genoseq.io import atomic_write

REPO = Path(__file__).resolve().parents[1]
SCORER = REPO.parent / "shared" / "tools" / "score_pairs.py"
EXP_LENGTHS_KB = (5, 10, 20, 50, 100, 200)


MAIN = "leaky integrator (shipped configuration)"
LOGISTIC = "logistic regression, same inputs (nested C)"
GBM = "gradient boosting, same inputs (nested settings)"
NESTED = "leaky integrator, design chosen by nested CV among the rows below"
PAIR = ("leaky integrator + pair readout (log effect and the pair's own inputs in one "
        "logistic link)")
STACK_PREFIX = "stacked link: "
STACK = STACK_PREFIX + "logistic regression's inputs + log effect of the shipped integrator"
NESTED_STACK = "stacked link, design chosen by nested CV among the stacked rows"


def stacked_variants() -> dict[str, tuple[str, EnhancerModelConfig]]:
    """The stacked link over the shipped integrator and over each of its ablations.

    Row name → (the integrator row whose fit is its stage 1, that integrator's config).
    """
    stacked = {}
    for name, config in integrator_variants().items():
        if name == PAIR:
            continue
        stacked[STACK if name == MAIN else STACK_PREFIX + name] = (name, config)
    return stacked


def integrator_variants() -> dict[str, EnhancerModelConfig]:
    """The shipped configuration and its ablations, each changing one part."""
    main = EnhancerModelConfig()
    return {
        MAIN: main,
        "ablation: sweet-spot readout": replace(main, saturation=True),
        "ablation: monotone sigmoid readout": replace(
            main, saturation=True, readout=replace(main.readout, monotone=True)),
        "ablation: neighbours' kicks off (only the gene's tested elements kick)": replace(
            main, neighbourhood_kb=0.0),
        "ablation: no competition (each element alone with its promoter)": replace(
            main, neighbourhood_kb=0.0, competition=False),
        "ablation: element-specific leaks (barriers) on": replace(main, barriers=True),
        PAIR: replace(main, pair_readout=True),
    }


def settings_for(name: str, settings: EnhancerTrainConfig) -> EnhancerTrainConfig:
    """The training settings of one integrator row: the run's, AdamW for the pair readout."""
    return replace(settings, **PAIR_READOUT_TRAINING) if name == PAIR else settings


def three_digits(value):
    """Floats in nested lists/dicts rounded to 3 significant digits, for the report."""
    if isinstance(value, dict):
        return {k: three_digits(v) for k, v in value.items()}
    if isinstance(value, list):
        return [three_digits(v) for v in value]
    return float(f"{value:.3g}") if isinstance(value, float) else value


def activity_and_distance(table: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    activity = np.sqrt(numeric_column(table, "DHS.RPM", source)
                       * numeric_column(table, "H3K27ac.RPM", source))
    return activity, numeric_column(table, "distanceToTSS", source)


def exp_decay_scores(table, train, test, y, source) -> tuple[np.ndarray, float]:
    """activity · exp(-d/L) on ``test`` rows, L (kb) the best AUPRC on ``train`` rows."""
    activity, distance = activity_and_distance(table, source)
    best = max(EXP_LENGTHS_KB, key=lambda length: ranking_metrics(
        y[train], activity[train] * np.exp(-distance[train] / (1000 * length)))["auprc"])
    return activity[test] * np.exp(-distance[test] / (1000 * best)), best


LOGISTIC_C = (0.01, 0.1, 1.0, 10.0)
GBM_GRID = tuple({"learning_rate": rate, "max_leaf_nodes": leaves, "min_samples_leaf": leaf}
                 for rate in (0.03, 0.1) for leaves in (4, 15) for leaf in (20, 100))


def pair_features(table: pd.DataFrame, source: str) -> np.ndarray:
    """The integrator's own inputs per pair: element features, log distance, gene flag."""
    config = EnhancerModelConfig()
    features = element_feature_matrix(table, config.element_columns, source)
    _, distance = activity_and_distance(table, source)
    genes = [numeric_column(table, column, source) for column in config.gene_columns]
    return np.column_stack([features, np.log(distance), *genes])


def _fit_logistic(x, y, c):
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=5000).fit(scaler.transform(x), y)
    return lambda z: model.predict_proba(scaler.transform(z))[:, 1]


def _fit_gbm(x, y, params, seed):
    model = HistGradientBoostingClassifier(max_iter=200, random_state=seed, **params).fit(x, y)
    return lambda z: model.predict_proba(z)[:, 1]


def nested_choice(x, y, chroms, fit, grid, n_inner):
    """The grid entry of best pooled inner-CV AUPRC over ``n_inner`` chromosome groups."""
    inner = chromosome_folds(chroms, n_inner)
    group = np.asarray([inner[c] for c in chroms])
    best, best_auprc = None, -1.0
    for params in grid:
        pooled = np.zeros(len(y))
        for fold in range(n_inner):
            held = group == fold
            pooled[held] = fit(x[~held], y[~held], params)(x[held])
        auprc = average_precision_score(y, pooled)
        if auprc > best_auprc:
            best, best_auprc = params, auprc
    return best


def integrator_inner_auprc(table, train, y, config, settings, chroms, n_inner, source):
    """Pooled inner-CV AUPRC of one integrator design on the rows ``train``.

    The training chromosomes are split into ``n_inner`` groups; each group is
    scored by a model of ``config`` trained on the others (early stopping
    inside them, as every fit here), so the outer held-out fold is never read.
    """
    rows = np.flatnonzero(train)
    inner = chromosome_folds(chroms[rows], n_inner)
    group = np.asarray([inner[c] for c in chroms[rows]])
    pooled = np.zeros(len(rows))
    for fold in range(n_inner):
        held = group == fold
        model, _ = train_enhancer_model(table.iloc[rows[~held]], config, settings, source=source)
        pooled[held] = element_scores(model, loci_for(model, table.iloc[rows[held]], source),
                                      compute=ComputeOptions(device="cpu"))
    return float(average_precision_score(y[rows], pooled))


def weighted_auprc(y: np.ndarray, score: np.ndarray, datasets: np.ndarray | None) -> float:
    """AUPRC with each dataset weighted equally; unscored (NaN) pairs at the minimum score.

    The convention of the CRISPR_comparison pipeline for pairs a predictor
    does not cover (they are filled with the predictor's lowest value), and
    case weights in the precision-recall curve; the weights here give every
    source screen the same total weight (all 1 when ``datasets`` is None).
    """
    score = np.where(np.isnan(score), np.nanmin(score), score)
    if datasets is None:
        weight = np.ones(len(y))
    else:
        names, index, counts = np.unique(datasets, return_inverse=True, return_counts=True)
        weight = len(y) / (len(names) * counts[index])
    return float(average_precision_score(y, score, sample_weight=weight))


def rescore_with_shared_tool(table: pd.DataFrame, scores: dict[str, np.ndarray],
                             path: Path, source: str) -> dict[str, dict]:
    """Write the held-out scores and score each with ../shared/tools/score_pairs.py."""
    keys = ["chrom", "chromStart", "chromEnd", "measuredGeneSymbol", "CellType"]
    path.parent.mkdir(parents=True, exist_ok=True)
    checked = {}
    for i, (name, score) in enumerate(scores.items()):
        pred = table[keys].assign(score=score)
        file = path.with_name(f"{path.stem}.{i}.tsv")
        pred.to_csv(file, sep="\t", index=False)
        if SCORER.exists():
            out = subprocess.run([sys.executable, str(SCORER), source, str(file)],
                                 capture_output=True, text=True, check=True)
            checked[name] = json.loads(out.stdout)
    return checked


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", required=True, metavar="FILE",
                        help="CRISPRi pair table with a Regulated column")
    parser.add_argument("--folds", type=int, default=5, help="chromosome groups (default: 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", default="all",
                        help="comma-separated integrator variants to run (default: all)")
    parser.add_argument("--stacked", default="all",
                        help="comma-separated stacked rows to run, 'none' for none "
                             "(default: all)")
    parser.add_argument("--no-nested-design", dest="nested_design", action="store_false",
                        help="skip the nested choice among the integrator variants "
                             "(about 4x the integrators' training time)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "enhancer.md"))
    args = parser.parse_args(argv)
    set_threads(args.threads)
    began = time.perf_counter()
    load = os.getloadavg()
    source = args.test
    table = read_pairs(source)
    y = labels(table, source)
    folds = chromosome_folds(table["chrom"], args.folds)
    fold_of = table["chrom"].map(folds).to_numpy()
    variants = integrator_variants()
    if args.variants != "all":
        variants = {name: variants[name] for name in args.variants.split(",")}
    stacked = stacked_variants()
    if args.stacked == "none":
        stacked = {}
    elif args.stacked != "all":
        stacked = {name: stacked[name] for name in args.stacked.split(",")}
    settings = EnhancerTrainConfig(seed=args.seed)

    activity, distance = activity_and_distance(table, source)
    datasets = table["Dataset"].astype(str).to_numpy() if "Dataset" in table.columns else None
    x = pair_features(table, source)
    chroms = table["chrom"].astype(str).to_numpy()
    scores = {"distance only": -distance, "ABC-like: activity / distance": activity / distance}
    exp_scores = np.zeros(len(table))
    baseline_scores = {LOGISTIC: np.zeros(len(table)), GBM: np.zeros(len(table))}
    baseline_choices: dict[str, list] = {LOGISTIC: [], GBM: []}
    model_scores = {name: np.zeros(len(table)) for name in variants}
    negative = {name: 0 for name in variants}
    stacked_scores = {name: np.zeros(len(table)) for name in stacked}
    per_fold: dict[str, list[float]] = {name: [] for name in [*baseline_scores, *variants,
                                                              *stacked]}
    chosen_lengths, learnt = [], {name: [] for name in variants}
    links: dict[str, list[dict]] = {name: [] for name in stacked}
    nested_scores, nested_choices, nested_inner = np.zeros(len(table)), [], []
    nested_stack_scores, nested_stack_choices = np.zeros(len(table)), []
    if args.nested_design:
        per_fold[NESTED] = []
    if stacked:
        per_fold[NESTED_STACK] = []
    for fold in range(args.folds):
        test, train = fold_of == fold, fold_of != fold
        exp_scores[test], length = exp_decay_scores(table, train, test, y, source)
        chosen_lengths.append(length)
        tick = time.perf_counter()
        fits = {LOGISTIC: (_fit_logistic, LOGISTIC_C),
                GBM: (lambda a, b, params: _fit_gbm(a, b, params, args.seed), GBM_GRID)}
        for name, (fit, grid) in fits.items():
            choice = nested_choice(x[train], y[train], chroms[train], fit, grid, args.folds - 1)
            baseline_scores[name][test] = fit(x[train], y[train], choice)(x[test])
            baseline_choices[name].append(choice)
            per_fold[name].append(ranking_metrics(y[test], baseline_scores[name][test])["auprc"])
        print(f"fold {fold} baselines: {time.perf_counter() - tick:.0f} s", file=sys.stderr,
              flush=True)
        integrator_fits = {}
        for name, config in variants.items():
            tick = time.perf_counter()
            model, metadata = train_enhancer_model(table[train], config,
                                                   settings_for(name, settings), source=source)
            integrator_fits[name] = model, metadata
            effects, model_scores[name][test] = element_effects_and_scores(
                model, loci_for(model, table[test], source), compute=ComputeOptions(device="cpu"))
            negative[name] += int((effects < 0).sum())
            per_fold[name].append(ranking_metrics(y[test], model_scores[name][test])["auprc"])
            learnt[name].append({**describe_model(model), "steps": metadata["steps"]})
            print(f"fold {fold} {name}: held-out AUPRC {per_fold[name][-1]:.4f} "
                  f"({time.perf_counter() - tick:.0f} s)", file=sys.stderr, flush=True)
        for name, (integrator, config) in stacked.items():
            tick = time.perf_counter()
            # Stage 1 is that integrator row's fit (same rows, config and settings) when the
            # row was run: the same model, not trained twice.
            model, metadata = train_stacked_enhancer_model(
                table[train], config, settings, source=source,
                stage1=integrator_fits.get(integrator))
            stacked_scores[name][test] = element_scores(
                model, loci_for(model, table[test], source), compute=ComputeOptions(device="cpu"))
            per_fold[name].append(ranking_metrics(y[test], stacked_scores[name][test])["auprc"])
            links[name].append(metadata["link"])
            print(f"fold {fold} {name}: held-out AUPRC {per_fold[name][-1]:.4f}, inner "
                  f"{metadata['link']['cv_auprc']:.4f} ({time.perf_counter() - tick:.0f} s)",
                  file=sys.stderr, flush=True)
        if stacked:
            choice = max(stacked, key=lambda name: links[name][-1]["cv_auprc"])
            nested_stack_scores[test] = stacked_scores[choice][test]
            nested_stack_choices.append(choice)
            per_fold[NESTED_STACK].append(
                ranking_metrics(y[test], nested_stack_scores[test])["auprc"])
        if args.nested_design:
            tick = time.perf_counter()
            inner = {name: integrator_inner_auprc(table, train, y, config,
                                                  settings_for(name, settings), chroms,
                                                  args.folds - 1, source)
                     for name, config in variants.items()}
            choice = max(inner, key=inner.get)
            nested_scores[test] = model_scores[choice][test]
            nested_choices.append(choice)
            nested_inner.append(inner)
            per_fold[NESTED].append(ranking_metrics(y[test], nested_scores[test])["auprc"])
            print(f"fold {fold} nested choice {choice!r} (inner AUPRC {inner[choice]:.4f}): "
                  f"held-out AUPRC {per_fold[NESTED][-1]:.4f} "
                  f"({time.perf_counter() - tick:.0f} s)", file=sys.stderr, flush=True)
    scores["activity · exp(-d/L), L from training folds"] = exp_scores
    scores.update(baseline_scores)
    if args.nested_design:
        scores[NESTED] = nested_scores
    scores.update(model_scores)
    if stacked:
        scores[NESTED_STACK] = nested_stack_scores
    scores.update(stacked_scores)
    metrics = {name: {**ranking_metrics(y, score),
                      "weighted_auprc": weighted_auprc(y, score, datasets)}
               for name, score in scores.items()}
    checked = rescore_with_shared_tool(table, scores, REPO / "benchmarks" / "work" /
                                       "enhancer_cv_scores.tsv", source)
    for name, result in checked.items():
        if abs(result["auprc"] - metrics[name]["auprc"]) > 1e-9:
            raise SystemExit(f"{name}: shared scorer AUPRC {result['auprc']} differs from "
                             f"{metrics[name]['auprc']}")

    wall = time.perf_counter() - began
    fold_chroms = {f: sorted(c for c, g in folds.items() if g == f) for f in range(args.folds)}
    lines = [
        "# Enhancer–gene pairs: chromosome-held-out AUPRC, weighted AUPRC, AUROC",
        "",
        f"Table: `{os.path.basename(source)}`: {len(table):,} pairs, {int(y.sum())} Regulated "
        f"({100 * y.mean():.1f}%), {table.groupby(['CellType', 'measuredGeneSymbol']).ngroups:,} "
        "loci (gene × cell type).",
        f"Folds: {args.folds} chromosome groups balanced by pair count; every score below is "
        "pooled over the held-out folds (each pair scored by a model that never saw its "
        "chromosome). Baselines with no fitted parameter are computed on the same pairs.",
        "",
        "Weighted AUPRC: each source screen (`Dataset`) has the same total weight (case "
        "weights in the precision-recall curve, as the CRISPR_comparison pipeline allows); a "
        "pair a method cannot score would rank at its minimum score (none here: every pair "
        "has a TSS).",
        "",
        "| method | AUPRC | weighted AUPRC | AUROC |",
        "|---|---:|---:|---:|",
    ]
    for name, result in metrics.items():
        lines.append(f"| {name} | {result['auprc']:.3f} | {result['weighted_auprc']:.3f} | "
                     f"{result['auroc']:.3f} |")
    lines += [
        "",
        f"Baseline hyperparameters, chosen per fold by inner chromosome-group CV on its "
        f"training chromosomes: logistic regression C from {', '.join(map(str, LOGISTIC_C))}: "
        f"chosen {', '.join(str(c) for c in baseline_choices[LOGISTIC])}; gradient boosting "
        f"(200 trees) from {len(GBM_GRID)} settings: chosen "
        f"{'; '.join(json.dumps(c) for c in baseline_choices[GBM])}.",
        *([f"Nested design choice: in each outer fold every integrator row below was also "
           f"scored by inner chromosome-group CV on that fold's training chromosomes "
           f"({args.folds - 1} groups, pooled inner AUPRC), and the design of the best inner "
           f"AUPRC scored the held-out fold; chosen per fold: "
           + "; ".join(f"{fold}: {choice} (inner "
                       + ", ".join(f"{value:.3f}" for value in inner.values()) + ")"
                       for fold, (choice, inner) in enumerate(zip(nested_choices, nested_inner,
                                                                 strict=True)))
           + " (inner AUPRCs in the order of the rows).", ""] if args.nested_design else []),
        *([f"Stacked link (`train_stacked_enhancer_model`): stage 2 is a logistic regression "
           f"on the logistic-regression baseline's inputs plus the log of the integrator's "
           f"effect, cross-fitted over {settings.n_folds} chromosome groups of the training "
           f"chromosomes, C from {', '.join(map(str, LOGISTIC_C))} by the pooled AUPRC over "
           f"those groups. The nested choice among the stacked rows takes, per fold, the row "
           f"of best stage-2 cross-validated AUPRC (never the held-out fold); chosen: "
           + "; ".join(f"{fold}: {choice}" for fold, choice in enumerate(nested_stack_choices))
           + ".", "", "Stacked links per fold (C, stage-2 CV AUPRC inside the training "
           "chromosomes with / without the effect, weight of the log effect):", "",
           *[f"* {name}: " + "; ".join(
               f"fold {fold}: C {link['c']}, {link['cv_auprc']:.3f} / "
               f"{link['cv_auprc_without_effect']:.3f}, {link['log_effect_weight']:.3f}"
               for fold, link in enumerate(folds_links)) for name, folds_links in links.items()],
           ""] if stacked else []),
        "Pairs whose integrator effect is negative (removing the element raises the "
        "promoter's response: the state sat above a sweet spot), summed over held-out folds: "
        + "; ".join(f"{name}: {count}" for name, count in negative.items()) + ".",
        "",
        f"activity · exp(-d/L): L chosen per fold on its training chromosomes from "
        f"{', '.join(map(str, EXP_LENGTHS_KB))} kb; chosen: "
        f"{', '.join(str(v) for v in chosen_lengths)} kb.",
        "Integrator score: |promoter response with all kicks − response without the "
        "element's kick|; with the log readout the response is the log of the input, so the "
        "score is −log(1 − the element's share of its promoter's input).",
        "",
        "Held-out AUPRC per fold:",
        "",
        "| fold | chromosomes | " + " | ".join(per_fold) + " |",
        "|---|---|" + "---:|" * len(per_fold),
    ]
    for fold, chroms in fold_chroms.items():
        cells = " | ".join(f"{values[fold]:.3f}" for values in per_fold.values())
        lines.append(f"| {fold} | {', '.join(chroms)} | {cells} |")
    lines += ["", "Learnt parameters per fold (leaks per kb, channel weights, log-window):", ""]
    for name, folds_learnt in learnt.items():
        lines.append(f"* {name}:")
        for fold, described in enumerate(folds_learnt):
            lines.append(f"  * fold {fold}: `{json.dumps(three_digits(described))}`")
    if checked:
        lines += ["", f"Every AUPRC above was re-computed with `{SCORER.relative_to(REPO.parent)}` "
                  "from the written held-out scores and agreed to 1e-9."]
    lines += [
        "",
        f"Settings: `{json.dumps(settings.to_dict())}` (the pair readout: "
        f"`{json.dumps(PAIR_READOUT_TRAINING)}` instead); model "
        f"`{json.dumps(EnhancerModelConfig().to_dict())}`.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
        f"torch {torch.__version__} on {torch.get_num_threads()} thread(s), Python "
        f"{platform.python_version()}, genoseq {genoseq.__version__}; load average at start "
        f"{load[0]:.2f}. Wall time {wall / 60:.1f} min.",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"Command: `python benchmarks/enhancer_eval.py "
        f"{shlex.join(sys.argv[1:] if argv is None else argv)}`.",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
