"""Motif CNN vs the plain JASPAR PWM: AUROC and AUPRC on labelled sequences, in one run.

Scores every sequence of ``--test`` (TSV with ``id``, ``sequence``, ``label``,
as ``../shared/data/motifs/ctcf_*.tsv.gz``) with each motif CNN (``--model``,
repeatable, ``LABEL=STEM`` or a shipped name; default the shipped ``ctcf``)
and with the best log2-odds score of each baseline PWM over both strands
(``--baseline``, default MA0139.2, the canonical CTCF profile). For every CNN
the AUROC gain over the first baseline gets a paired bootstrap 95 %
interval. Writes ``benchmarks/results/motifs.md`` and prints it::

    python benchmarks/motifs_eval.py --test ../shared/data/motifs/ctcf_test.tsv.gz
    python benchmarks/motifs_eval.py --test FILE --model ctcf --model random=runs/motifs/random
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from genoseq.device import ComputeOptions
from genoseq.io import atomic_write
from genoseq.motifs import load_motif_model, max_motif_scores, read_labelled, score_sequences

HERE = Path(__file__).resolve().parent
JASPAR = (HERE.parent.parent / "shared/data/motifs"
          / "JASPAR2024_CORE_vertebrates_non-redundant_pfms_jaspar.txt")


def bootstrap_gain(labels: np.ndarray, better: np.ndarray, base: np.ndarray, rounds: int,
                   seed: int) -> tuple[float, float]:
    """95 % interval of AUROC(better) - AUROC(base) over paired resamples of the sequences."""
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(rounds):
        rows = rng.integers(0, len(labels), len(labels))
        if labels[rows].min() == labels[rows].max():
            continue
        gains.append(roc_auc_score(labels[rows], better[rows])
                     - roc_auc_score(labels[rows], base[rows]))
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)


def filter_start(card: dict) -> str:
    """How a model's filters started, from its model card."""
    init = card.get("init_filters", [])
    return f"{len(init)} PWMs ({', '.join(init)}) + random" if init else "all random"


def training_command(arguments: dict) -> str:
    """The ``genoseq motifs train`` command line recorded in a model card."""
    words = ["genoseq", "motifs", "train"]
    for key, value in arguments.items():
        if value is not None:
            words += ["-o" if key == "out" else "--" + key.replace("_", "-"), str(value)]
    return " ".join(map(shlex.quote, words))


def describe(card: dict) -> str:
    """Filter start, seed, best epoch and training command of a model, from its model card."""
    arguments = card.get("arguments", {})
    return (f"filters: {filter_start(card)}; seed {arguments.get('seed', '?')}; best epoch "
            f"{card.get('validation', {}).get('best_epoch', '?')}; "
            f"`{training_command(arguments)}`")


def seed_summary(cnn_rows: list[tuple[str, float, float]]) -> list[str]:
    """Mean ± sd of AUROC and AUPRC per filter start, where several seeds were given."""
    lines = []
    for start in dict.fromkeys(start for start, _, _ in cnn_rows):
        values = np.array([(a, p) for s, a, p in cnn_rows if s == start])
        if len(values) > 1:
            mean, sd = values.mean(axis=0), values.std(axis=0, ddof=1)
            lines.append(f"| {start} | {len(values)} | {mean[0]:.4f} ± {sd[0]:.4f} | "
                         f"{mean[1]:.4f} ± {sd[1]:.4f} |")
    if not lines:
        return []
    return ["Over seeds (mean ± sd):", "",
            "| filters | models | AUROC | AUPRC |", "|---|---:|---:|---:|", *lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test", required=True, help="TSV with id, sequence, label")
    parser.add_argument("--model", action="append", metavar="[LABEL=]MODEL",
                        help="motif CNN: shipped name or path stem (repeatable; default: ctcf)")
    parser.add_argument("--motifs", default=str(JASPAR), help="JASPAR/MEME file of the baselines")
    parser.add_argument("--baseline", default="MA0139.2,MA1929.2,MA1930.2",
                        help="PWM ids scored by their best match (default: the CTCF profiles; "
                        "the first is the reference)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples (default: 1000)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--out", default=str(HERE / "results/motifs.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cpu = ComputeOptions(device="cpu")

    test = read_labelled(args.test)
    sequences = test.sequences()
    labels = test.labels
    rows, notes, cnn_rows = [], [], []
    baseline_ids = args.baseline.split(",")
    best = max_motif_scores(list(zip(test.ids, sequences, strict=True)), args.motifs,
                            names=baseline_ids, compute=cpu)
    reference = best[baseline_ids[0]].to_numpy()
    for motif_id in baseline_ids:
        scores = best[motif_id].to_numpy()
        rows.append((f"PWM {motif_id}, best match on either strand", roc_auc_score(labels, scores),
                     average_precision_score(labels, scores), ""))
    for spec in args.model or ["ctcf"]:
        label, _, model_name = spec.rpartition("=")
        model, card = load_motif_model(model_name)
        scores = score_sequences(model, sequences, compute=cpu)
        low, high = bootstrap_gain(labels, scores, reference, args.bootstrap, seed=0)
        rows.append((f"CNN `{label or model_name}`", roc_auc_score(labels, scores),
                     average_precision_score(labels, scores),
                     f"{low:+.4f} to {high:+.4f}"))
        notes.append(f"- `{label or model_name}`: {describe(card)}.")
        cnn_rows.append((filter_start(card), rows[-1][1], rows[-1][2]))

    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python benchmarks/motifs_eval.py", *map(shlex.quote, given)])
    report = "\n".join([
        "# CTCF motif detection: CNN vs JASPAR PWM",
        "",
        f"`{command}` — {datetime.date.today()}, CPU, torch {torch.__version__}.",
        "",
        f"Test file `{Path(args.test).name}`: {len(labels)} sequences, {int(labels.sum())} "
        "positive. AUROC gain: CNN minus the first PWM, paired bootstrap 95 % interval "
        f"({args.bootstrap} resamples of the sequences).",
        "",
        "| method | AUROC | AUPRC | AUROC gain over " + baseline_ids[0] + " |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {auroc:.4f} | {auprc:.4f} | {gain} |"
          for name, auroc, auprc, gain in rows),
        "",
        *seed_summary(cnn_rows),
        "Models:",
        "",
        *notes,
        "",
    ])
    with atomic_write(args.out) as handle:
        handle.write(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
