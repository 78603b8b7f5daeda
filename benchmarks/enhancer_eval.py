#!/usr/bin/env python3
"""Enhancer–gene scoring held out by chromosome: leaky integrator vs distance and ABC-like baselines.

Every method is scored on the same CRISPRi table in the same run, by AUPRC
(average precision) and AUROC of its score against ``Regulated``, pooled over
chromosome-held-out folds: the chromosomes are split into ``--folds``
groups with balanced pair counts, and each group's pairs are scored by a model
that never saw that group. No pair is ever split from its locus.

Methods:

* distance only: ``-distanceToTSS``;
* ABC-like: activity / distance, activity = ``sqrt(DHS.RPM * H3K27ac.RPM)``;
* activity · exp(-d / L), L chosen on each fold's training chromosomes;
* logistic regression on the model's features plus log distance (a
  non-mechanistic reference, not one of the issue's baselines);
* the leaky integrator, ``|effect|``, with the sweet-spot readout and, as
  ablations, a monotone readout and one set of leaks shared by both directions.

Each integrator is trained with ``train_enhancer_model`` on the training
chromosomes of a fold only (early stopping on a fifth of them); nothing is
fitted on the held-out fold. Writes ``benchmarks/results/enhancer.md``
and the held-out scores (``benchmarks/work/enhancer_cv_scores.tsv``), which
``../shared/tools/score_pairs.py`` re-scores when it is present.

    python benchmarks/enhancer_eval.py --test ../shared/data/enhancer/crispri_K562_training.GRCh38.tsv.gz
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import genoseq
from genoseq.device import ComputeOptions, set_threads
from genoseq.enhancers.loci import element_feature_matrix, labels
from genoseq.enhancers.model import EnhancerModelConfig
from genoseq.enhancers.predict import element_effects, loci_for
from genoseq.enhancers.table import numeric_column, read_pairs
from genoseq.enhancers.train import (
    EnhancerTrainConfig,
    chromosome_folds,
    describe_model,
    ranking_metrics,
    train_enhancer_model,
)
from genoseq.io import atomic_write

REPO = Path(__file__).resolve().parents[1]
SCORER = REPO.parent / "shared" / "tools" / "score_pairs.py"
EXP_LENGTHS_KB = (5, 10, 20, 50, 100, 200)


def integrator_variants() -> dict[str, EnhancerModelConfig]:
    """The shipped configuration and its ablations."""
    main = EnhancerModelConfig()
    return {
        "leaky integrator, sweet spot": main,
        "leaky integrator, monotone readout": replace(
            main, readout=replace(main.readout, monotone=True)),
        "leaky integrator, sweet spot, one set of leaks for both directions": replace(
            main, integrator=replace(main.integrator, shared_leak=True)),
    }


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


def logistic_scores(table, train, test, y, source) -> np.ndarray:
    columns = EnhancerModelConfig().element_columns
    features = element_feature_matrix(table, columns, source)
    _, distance = activity_and_distance(table, source)
    features = np.column_stack([features, np.log(distance)])
    scaler = StandardScaler().fit(features[train])
    model = LogisticRegression(max_iter=5000).fit(scaler.transform(features[train]), y[train])
    return model.predict_proba(scaler.transform(features[test]))[:, 1]


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
    settings = EnhancerTrainConfig(seed=args.seed)

    activity, distance = activity_and_distance(table, source)
    scores = {"distance only": -distance, "ABC-like: activity / distance": activity / distance}
    exp_scores, logistic = np.zeros(len(table)), np.zeros(len(table))
    model_scores = {name: np.zeros(len(table)) for name in variants}
    per_fold: dict[str, list[float]] = {name: [] for name in variants}
    chosen_lengths, learnt = [], {name: [] for name in variants}
    for fold in range(args.folds):
        test, train = fold_of == fold, fold_of != fold
        exp_scores[test], length = exp_decay_scores(table, train, test, y, source)
        chosen_lengths.append(length)
        logistic[test] = logistic_scores(table, train, test, y, source)
        for name, config in variants.items():
            tick = time.perf_counter()
            model, metadata = train_enhancer_model(table[train], config, settings, source=source)
            effects = element_effects(model, loci_for(model, table[test], source),
                                      compute=ComputeOptions(device="cpu"))
            model_scores[name][test] = np.abs(effects)
            per_fold[name].append(ranking_metrics(y[test], np.abs(effects))["auprc"])
            learnt[name].append({**describe_model(model), "steps": metadata["steps"]})
            print(f"fold {fold} {name}: held-out AUPRC {per_fold[name][-1]:.4f} "
                  f"({time.perf_counter() - tick:.0f} s)", file=sys.stderr, flush=True)
    scores["activity · exp(-d/L), L from training folds"] = exp_scores
    scores["logistic regression, same features + log distance (reference)"] = logistic
    scores.update(model_scores)
    metrics = {name: ranking_metrics(y, score) for name, score in scores.items()}
    checked = rescore_with_shared_tool(table, scores, REPO / "benchmarks" / "work" /
                                       "enhancer_cv_scores.tsv", source)
    for name, result in checked.items():
        if abs(result["auprc"] - metrics[name]["auprc"]) > 1e-9:
            raise SystemExit(f"{name}: shared scorer AUPRC {result['auprc']} differs from "
                             f"{metrics[name]['auprc']}")

    wall = time.perf_counter() - began
    fold_chroms = {f: sorted(c for c, g in folds.items() if g == f) for f in range(args.folds)}
    lines = [
        "# Enhancer–gene pairs: chromosome-held-out AUPRC/AUROC",
        "",
        f"Table: `{os.path.basename(source)}`: {len(table):,} pairs, {int(y.sum())} Regulated "
        f"({100 * y.mean():.1f}%), {table.groupby(['CellType', 'measuredGeneSymbol']).ngroups:,} "
        "loci (gene × cell type).",
        f"Folds: {args.folds} chromosome groups balanced by pair count; every score below is "
        "pooled over the held-out folds (each pair scored by a model that never saw its "
        "chromosome). Baselines with no fitted parameter are computed on the same pairs.",
        "",
        "| method | AUPRC | AUROC |",
        "|---|---:|---:|",
    ]
    for name, result in metrics.items():
        lines.append(f"| {name} | {result['auprc']:.3f} | {result['auroc']:.3f} |")
    lines += [
        "",
        f"activity · exp(-d/L): L chosen per fold on its training chromosomes from "
        f"{', '.join(map(str, EXP_LENGTHS_KB))} kb; chosen: "
        f"{', '.join(str(v) for v in chosen_lengths)} kb.",
        "Integrator score: |promoter response with all kicks − response without the "
        "element's kick|.",
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
        f"Settings: `{json.dumps(settings.to_dict())}`; model `{json.dumps(EnhancerModelConfig().to_dict())}`.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
        f"torch {torch.__version__} on {torch.get_num_threads()} thread(s), Python "
        f"{platform.python_version()}, genoseq {genoseq.__version__}; load average at start "
        f"{load[0]:.2f}. Wall time {wall / 60:.1f} min.",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"Command: `python benchmarks/enhancer_eval.py {' '.join(sys.argv[1:] if argv is None else argv)}`.",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
