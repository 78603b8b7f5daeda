#!/usr/bin/env python3
"""Calibrate the short-ORF prior of the self-trained pass on the calibration genomes.

``DecoderParams.short_orf_bias`` adds ``short_orf_bias · (1 − orf_length /
short_orf_length)`` to every candidate of an ORF shorter than
``short_orf_length``: a prior for short genes that leaves the choice among the
starts of one ORF alone (the term is the same for all of them), unlike the
gene-length term. For every (bias, length) given, each calibration genome (by
default the seven of ``genomes_extra``, never seen by the shipped networks) is
predicted whole in single mode with the shipped networks and decoder weights,
that prior changed (both rounds of self-training use it), and scored: F1,
exact starts, and sensitivity (by reference length) and precision (by
predicted length) in the bins under 150 bp and 150-300 bp. The best value by
the calibration's objective (pooled) is the one to ship, to be confirmed on
held-out genomes under a rule written beforehand.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from machine import machine_line  # benchmarks/machine.py: scripts run from this folder
from whole_genomes import figure_cells, per_genome_lines, score_whole_genomes

import genoseq
from genoseq.device import set_threads
from genoseq.genes.train import decoded_and_reference, match_figures, objective

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BINS = ((0, 150), (150, 300))


def figures(genome, params) -> dict:
    """F1, exact starts and short-bin counts of one genome under ``params``."""
    genome.finder.adapted_params = params
    genome.finder.self_train(genome.records)
    n_ref = n_pred = matched = exact = 0
    bins = np.zeros((len(BINS), 4), dtype=int)  # ref, ref found, pred, pred correct
    for scored, reference in genome.pairs:
        pred, ref = decoded_and_reference(scored, reference, params)
        n_ref, n_pred = n_ref + len(ref), n_pred + len(pred)
        for key, span in ref.items():
            hit = key in pred
            matched += hit
            exact += hit and pred[key] == span
            for k, (low, high) in enumerate(BINS):
                if low <= span[1] - span[0] < high:
                    bins[k, 0] += 1
                    bins[k, 1] += hit
        for key, span in pred.items():
            for k, (low, high) in enumerate(BINS):
                if low <= span[1] - span[0] < high:
                    bins[k, 2] += 1
                    bins[k, 3] += key in ref
    return {"n_ref": n_ref, "n_pred": n_pred, "matched": matched, "exact": exact, "bins": bins}


def summary(counts: dict) -> dict:
    return match_figures(counts["n_ref"], counts["n_pred"], counts["matched"], counts["exact"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes_extra")
    parser.add_argument("--names", help="comma-separated genomes of that folder (default: all)")
    parser.add_argument("--biases", default="0,1,2,3,4",
                        help="short_orf_bias values tried (comma-separated)")
    parser.add_argument("--lengths", default="300",
                        help="short_orf_length values tried, bp (comma-separated)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    values = [(float(b), float(n)) for b in args.biases.split(",")
              for n in args.lengths.split(",")]
    genomes = score_whole_genomes([args.genomes],
                                  set(args.names.split(",")) if args.names else None)
    shipped = genomes[0].finder.adapted_params
    per_genome, pooled = {}, {}
    for value in values:
        params = replace(shipped, short_orf_bias=value[0], short_orf_length=value[1])
        total = None
        for genome in genomes:
            counts = figures(genome, params)
            per_genome[value, genome.name] = summary(counts)
            total = counts if total is None else {
                k: total[k] + counts[k] for k in counts}
            f = per_genome[value, genome.name]
            print(f"{genome.name} bias {value[0]:g} length {value[1]:g}: F1 {f['f1']:.4f} "
                  f"exact {f['exact_start']:.4f}", file=sys.stderr, flush=True)
        pooled[value] = {**summary(total), "bins": total["bins"]}
    names = [g.name for g in genomes]
    best = max(values, key=lambda v: (round(objective(pooled[v]), 6), -v[0]))

    def rate(a: int, b: int) -> str:
        return f"{a / max(b, 1):.3f} ({a}/{b})"

    lines = [
        "# Short-ORF prior of the self-trained pass, on the calibration genomes",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/gene_short_orf.py --biases "
        f"{args.biases} --lengths {args.lengths}"
        + (f" --genomes {args.genomes.name} --names {args.names}" if args.names else "")
        + f"` (genoseq {genoseq.__version__}). {machine_line('cpu')}.",
        "",
        f"Genomes: {', '.join(names)} (`{args.genomes.name}`), each predicted whole in single "
        "mode with the shipped networks and decoder weights, `short_orf_bias` and "
        "`short_orf_length` set as below (both self-training rounds use them). Objective: F1 + "
        "0.3 x exact-start share x sensitivity (the decoder calibration's), pooled. Short "
        "bins: sensitivity by the reference gene's length, precision by the predicted gene's "
        "(stop codon included).",
        "",
        "| short_orf_bias | short_orf_length | sensitivity | precision | F1 | exact start "
        "| objective | sens. < 150 | prec. < 150 | sens. 150-300 | prec. 150-300 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in values:
        f = pooled[v]
        b = f["bins"]
        mark = " (best)" if v == best else ""
        lines.append(
            f"| {v[0]:g}{mark} | {v[1]:g} | {figure_cells(f)} | "
            f"{rate(b[0, 1], b[0, 0])} | {rate(b[0, 3], b[0, 2])} | {rate(b[1, 1], b[1, 0])} | "
            f"{rate(b[1, 3], b[1, 2])} |")
    lines += per_genome_lines("bias, length", names, [f"{v[0]:g}, {v[1]:g}" for v in values],
                              lambda k, name: per_genome[values[k], name])
    args.out.write_text("\n".join(lines) + "\n")
    print(f"best short_orf_bias {best[0]:g}, length {best[1]:g}; wrote {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
