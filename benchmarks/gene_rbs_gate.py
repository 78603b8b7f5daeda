#!/usr/bin/env python3
"""Calibrate the Shine-Dalgarno gate of the RBS score on the calibration genomes.

The self-trained RBS score (``rbs_weight`` × the genome's log-odds of each
start's Shine-Dalgarno class) counts only in a genome whose starts show SD
sites at least ``rbs_min_strength`` strongly: the strength is minus the
log-odds of the "no site" class among first-pass starts against rival
starts (``ScoredCandidates.rbs_strength``), as Prodigal decides per genome
whether it uses SD sites. For each (weight, gate) pair given, each
calibration genome (by default the seven of ``genomes_extra``, which the
shipped networks never saw) is predicted whole in single mode with the
shipped networks and decoder weights, those two changed, and scored as in
``gene_start_codon.py``; the pooled calibration objective picks the pair.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import replace
from pathlib import Path

from machine import machine_line  # benchmarks/machine.py: scripts run from this folder
from whole_genomes import evaluate_weights, figure_cells, genome_cell, score_whole_genomes

import genoseq
from genoseq.device import set_threads
from genoseq.genes.train import objective

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes_extra")
    parser.add_argument("--model", help="gene model stem (default: shipped)")
    parser.add_argument("--weights", default="0,1", help="rbs_weight values (comma-separated)")
    parser.add_argument("--gates", default="0,0.5,1",
                        help="rbs_min_strength values (comma-separated)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    pairs_tried = [(float(w), float(g)) for w in args.weights.split(",")
                   for g in args.gates.split(",")]
    # A zero weight makes every gate the same: try it once.
    pairs_tried = [p for p in pairs_tried if p[0] or p[1] == float(args.gates.split(",")[0])]
    genomes = score_whole_genomes([args.genomes], model=args.model)
    shipped = genomes[0].finder.adapted_params
    pooled, per_genome, strength = {}, {}, {}
    for weight, gate in pairs_tried:
        params = replace(shipped, rbs_weight=weight, rbs_min_strength=gate)
        figures, pooled[weight, gate] = evaluate_weights(
            genomes, params, f"weight {weight:g} gate {gate:g}")
        for genome in genomes:
            per_genome[weight, gate, genome.name] = figures[genome.name]
            strength[weight, gate, genome.name] = genome.records[0][1].rbs_strength
    names = [g.name for g in genomes]
    best = max(pairs_tried, key=lambda v: (round(objective(pooled[v]), 6), -v[0], v[1]))
    lines = [
        "# Shine-Dalgarno gate of the RBS score, on the calibration genomes",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/gene_rbs_gate.py --weights "
        f"{args.weights} --gates {args.gates}` (genoseq {genoseq.__version__}). "
        f"{machine_line('cpu')}.",
        "",
        f"Genomes: {', '.join(names)} (`{args.genomes.name}`), each predicted whole in single "
        "mode with the shipped networks and decoder weights, `rbs_weight` and "
        "`rbs_min_strength` set as below (both self-training rounds use them); stop-level F1 "
        "and exact starts among matched genes against the reference. Objective: F1 + 0.3 x "
        "exact-start share x sensitivity, pooled over the genomes.",
        "",
        "| rbs_weight | rbs_min_strength | sensitivity | precision | F1 | exact start "
        "| objective |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in pairs_tried:
        f = pooled[v]
        mark = " (best)" if v == best else ""
        lines.append(f"| {v[0]:g}{mark} | {v[1]:g} | {figure_cells(f)} |")
    lines += ["", "Per genome, F1 / exact start (weight, gate); SD strength: minus the "
              "log-odds of no site, from the last self-training round at the best pair:", "",
              "| genome | SD strength | " + " | ".join(f"{w:g}, {g:g}" for w, g in pairs_tried)
              + " |", "|---|---|" + "---|" * len(pairs_tried)]
    for name in names:
        cells = [genome_cell(per_genome[v + (name,)]) for v in pairs_tried]
        lines.append(f"| {name} | {strength[best + (name,)]:.2f} | " + " | ".join(cells) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"best rbs_weight {best[0]:g}, rbs_min_strength {best[1]:g}; wrote {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
