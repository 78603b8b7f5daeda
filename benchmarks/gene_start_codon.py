#!/usr/bin/env python3
"""Calibrate a start weight of the self-trained pass on the calibration genomes.

By default the start-codon weight (``--param start_codon_weight``); with
``--param rbs_weight`` the weight of the self-trained Shine-Dalgarno class
score (session 15), the same way; ``--param profile_pool`` how the start
profile scores a candidate (1: per position; 3: the starts of an ORF ranked
by the profile averaged over codon-length blocks, the ORF keeping its best
per-position score; session 17).

The self-trained start profile is a log-odds matrix over a 69-base window
around each start codon, learned from the genome's own first-pass starts
against the rival starts of their ORFs; ``profile_weight`` weighs its sum.
``start_codon_weight`` weighs the three columns of the start codon once more
(``ScoredCandidates.profile_codon``): each genome's own start-codon usage,
taken apart from the bases around it, as Prodigal weighs start-codon type
apart from its RBS score.

For every value given, each calibration genome (by default the seven of
``genomes_extra``, which the shipped networks never saw) is predicted
whole in single mode with the shipped networks and decoder weights, that
one weight changed (both rounds of self-training use it), and scored at the
stop (F1) and at the start (exact starts among matched genes) against its
reference. The objective is the calibration's
(:func:`genoseq.genes.train.objective`, pooled over the genomes); the best
value is the one to ship, to be confirmed on held-out genomes under a rule
written beforehand. Candidates are scored once per genome (all starts), so
every value sees the same network outputs.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import replace
from pathlib import Path

from machine import machine_line  # benchmarks/machine.py: scripts run from this folder
from whole_genomes import evaluate_weights, figure_cells, per_genome_lines, score_whole_genomes

import genoseq
from genoseq.device import set_threads
from genoseq.genes.train import objective

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes_extra")
    parser.add_argument("--param", default="start_codon_weight",
                        choices=("start_codon_weight", "rbs_weight", "self_training_rounds",
                                 "profile_pool"),
                        help="the decoder weight calibrated (default: start_codon_weight)")
    parser.add_argument("--values", default="0,0.5,1,1.5",
                        help="values of that weight tried (comma-separated)")
    parser.add_argument("--gene-bias-shifts", default="0",
                        help="offsets added to the shipped gene_bias, each tried with every "
                             "weight (comma-separated; the codon term raises the scores of "
                             "genes with a typical start codon, which the bias can offset)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    values = [(float(v), float(b)) for v in args.values.split(",")
              for b in args.gene_bias_shifts.split(",")]
    genomes = score_whole_genomes([args.genomes])
    shipped = genomes[0].finder.adapted_params
    pooled, per_genome = {}, {}
    for value in values:
        value_of = int if args.param in ("self_training_rounds", "profile_pool") else float
        params = replace(shipped, **{args.param: value_of(value[0])},
                         gene_bias=shipped.gene_bias + value[1])
        figures, pooled[value] = evaluate_weights(
            genomes, params, f"weight {value[0]:g} bias shift {value[1]:g}")
        per_genome.update({(value, name): f for name, f in figures.items()})
    names = [g.name for g in genomes]
    best = max(values, key=lambda v: (round(objective(pooled[v]), 6), -v[0], -abs(v[1])))
    lines = [
        f"# {args.param} of the self-trained pass, on the calibration genomes",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/gene_start_codon.py "
        f"--param {args.param} --values {args.values} --gene-bias-shifts "
        f"{args.gene_bias_shifts}` (genoseq {genoseq.__version__}). {machine_line('cpu')}.",
        "",
        f"Genomes: {', '.join(names)} (`{args.genomes.name}`), each predicted whole in single "
        f"mode with the shipped networks and decoder weights, `{args.param}` set as below "
        "(both self-training rounds use it); stop-level F1 and exact starts among matched genes "
        "against the reference. Objective: F1 + 0.3 x exact-start share x sensitivity "
        "(the decoder calibration's), pooled over the genomes.",
        "",
        f"| {args.param} | gene_bias shift | sensitivity | precision | F1 | exact start "
        "| objective |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in values:
        f = pooled[v]
        mark = " (best)" if v == best else ""
        lines.append(f"| {v[0]:g}{mark} | {v[1]:+g} | {figure_cells(f)} |")
    lines += per_genome_lines("weight, bias shift", names,
                              [f"{v[0]:g}, {v[1]:+g}" for v in values],
                              lambda k, name: per_genome[values[k], name])
    args.out.write_text("\n".join(lines) + "\n")
    print(f"best {args.param} {best[0]:g}, gene_bias shift {best[1]:+g}; wrote {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
