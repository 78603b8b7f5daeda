#!/usr/bin/env python3
"""Calibrate the RBS score of metagenome mode on contigs of the calibration genomes.

In metagenome mode each contig borrows the statistics of a library entry
(:mod:`genoseq.genes.metalib`), learned from that genome's reference CDS;
since session 15 they include the entry's Shine-Dalgarno class log-odds, so
the library's decoder weights can weigh an RBS score as the self-trained pass
does (``rbs_weight``, counted only for entries whose SD strength reaches
``rbs_min_strength``). For each (weight, gate) pair the calibration genomes
(by default the seven of ``genomes_extra``, which the networks never saw)
are cut into the calibration's ~20 kb contigs, each contig chooses its entry
under those weights with its own genome's entry left out, and the complete
genes are scored as ``genoseq train meta-library`` scores them
(:func:`genoseq.genes.metalib.library_figures`); the pooled calibration
objective picks the pair. Every other library weight stays as it is.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import replace
from pathlib import Path

from machine import machine_line  # benchmarks/machine.py: scripts run from this folder

import genoseq
from genoseq.device import ComputeOptions, set_threads
from genoseq.genes.dataset import read_genome_table
from genoseq.genes.finder import GeneFinder
from genoseq.genes.metalib import (
    calibration_contigs,
    choose_entries,
    library_figures,
    read_library,
)
from genoseq.genes.train import objective

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=Path, required=True,
                        help="library with RBS statistics (genoseq train meta-library)")
    parser.add_argument("--genomes", type=Path, action="append",
                        help="calibration genome folders (default: genomes_extra); repeatable")
    parser.add_argument("--names", help="comma-separated genomes of those folders (default: all)")
    parser.add_argument("--model", help="gene model stem (default: shipped)")
    parser.add_argument("--param", default="rbs_weight",
                        choices=("rbs_weight", "start_codon_weight", "profile_pool",
                                 "short_orf_bias"),
                        help="the library weight tried (start_codon_weight: the borrowed "
                             "profile's start-codon columns once more; the gate then unused)")
    parser.add_argument("--weights", default="0,0.5,1,1.5")
    parser.add_argument("--gates", default="1")
    parser.add_argument("--gene-bias-shifts", default="0",
                        help="offsets added to the library's gene_bias, each tried with every "
                             "weight (comma-separated)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    library = read_library(args.library)
    if args.param == "rbs_weight" and any(e.training.rbs_log_odds is None
                                          for e in library.entries):
        parser.error(f"{args.library}: a library without RBS statistics")
    folders = args.genomes or [SHARED / "data" / "genomes_extra"]
    wanted = set(args.names.split(",")) if args.names else None
    tried = [(float(w), float(g), float(b)) for w in args.weights.split(",")
             for g in args.gates.split(",") for b in args.gene_bias_shifts.split(",")]
    tried = [p for p in tried if p[0] or p[1] == float(args.gates.split(",")[0])]

    def finder_for(table: int) -> GeneFinder:
        return GeneFinder(args.model, procedure="meta", translation_table=table,
                          compute=ComputeOptions(precision="fp32"), meta_library=False)

    contigs = []
    for entry in (e for folder in folders for e in read_genome_table(folder)
                  if wanted is None or e.name in wanted):
        contigs.extend(calibration_contigs(finder_for, entry))
        print(f"scored {entry.name}", file=sys.stderr, flush=True)
    # Scored as the weights were fitted: without the edge bonus (complete genes only).
    base = replace(library.params, edge_bonus=0.0)
    results = {}
    for weight, gate, shift in tried:
        if args.param == "rbs_weight":
            params = replace(base, rbs_weight=weight, rbs_min_strength=gate)
        elif args.param == "profile_pool":
            params = replace(base, profile_pool=int(weight))
        elif args.param == "short_orf_bias":
            params = replace(base, short_orf_bias=weight)
        else:
            params = replace(base, start_codon_weight=weight)
        params = replace(params, gene_bias=params.gene_bias + shift)
        choose_entries(library, contigs, lambda records, params: None, params)
        results[weight, gate, shift] = f = library_figures(contigs, params)
        print(f"weight {weight:g} gate {gate:g} bias shift {shift:g}: F1 {f['f1']:.4f} exact "
              f"{f['exact_start']:.4f}", file=sys.stderr, flush=True)
    best = max(tried, key=lambda v: (round(objective(results[v]), 6), -v[0], v[1], -abs(v[2])))
    strengths = {e.name: -float(e.training.rbs_log_odds[0]) for e in library.entries
                 if e.training.rbs_log_odds is not None}
    names = sorted(results[tried[0]]["genomes"])
    lines = [
        f"# {args.param} in metagenome mode, on contigs of the calibration genomes",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/gene_meta_rbs.py --library "
        f"{args.library.name} --param {args.param} --weights {args.weights} --gates "
        f"{args.gates} --gene-bias-shifts {args.gene_bias_shifts}"
        + "".join(f" --genomes {f.name}" for f in folders)
        + (f" --names {args.names}" if args.names else "") + "` (genoseq "
        f"{genoseq.__version__}). {machine_line('cpu')}.",
        "",
        f"Contigs of {len(names)} genomes the networks never saw, ~20 kb each "
        f"({len(contigs)} contigs), each choosing its library entry (its own genome's left "
        f"out) under the library's decoder weights with `{args.param}` (and for the RBS score "
        "`rbs_min_strength`) as below; complete genes only. Objective: F1 + 0.3 x exact-start share x "
        "sensitivity, pooled.",
        "",
        f"| {args.param} | rbs_min_strength | gene_bias shift | sensitivity | precision | F1 "
        "| mean genome F1 | exact start | objective |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in tried:
        f = results[v]
        mark = " (best)" if v == best else ""
        lines.append(f"| {v[0]:g}{mark} | {v[1]:g} | {v[2]:+g} | {f['sensitivity']:.4f} | "
                     f"{f['precision']:.4f} | {f['f1']:.4f} | {f['mean_f1']:.4f} | "
                     f"{f['exact_start']:.4f} | {objective(f):.4f} |")
    lines += ["", "Per genome, F1 / exact start:", "",
              "| genome | SD strength of its own entry | "
              + " | ".join(f"{w:g}, {g:g}, {b:+g}" for w, g, b in tried) + " |",
              "|---|---|" + "---|" * len(tried)]
    for name in names:
        cells = [f"{results[v]['genomes'][name]['f1']:.4f} / "
                 f"{results[v]['genomes'][name]['exact_start']:.4f}" for v in tried]
        lines.append(f"| {name} | {strengths.get(name, float('nan')):.2f} | "
                     + " | ".join(cells) + " |")
    if strengths:
        lines += ["", "SD strength of every library entry: " + ", ".join(
            f"{name} {value:.2f}" for name, value in sorted(strengths.items()))]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"best {args.param} {best[0]:g}, rbs_min_strength {best[1]:g}, gene_bias shift "
          f"{best[2]:+g}; wrote {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
