#!/usr/bin/env python3
"""Move the self-trained pass's length prior from the gene's length to its ORF's.

The prior has two length terms: ``length_bias`` × the gene's length, which
also pulls every gene towards its most upstream start, and
``orf_length_bias`` × the length of the gene's ORF, the same for every start
of one ORF, which only says how likely the ORF is to hold a gene. For each
shift d tried, ``length_bias`` + d and ``orf_length_bias`` − d (a gene at its
ORF's most upstream start keeps its prior; a shorter start loses less to the
longest), each genome is predicted whole in single mode with the shipped
networks and weights otherwise, and scored as in ``gene_start_codon.py``.
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
    parser.add_argument("--genomes", type=Path, action="append",
                        help="genome folders (default: genomes_extra); repeatable")
    parser.add_argument("--names", help="comma-separated genomes of those folders (default: all)")
    parser.add_argument("--model", help="gene model stem (default: shipped)")
    parser.add_argument("--shifts", default="0,-10,-20,-30",
                        help="d values (per kb): length_bias + d, orf_length_bias - d")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    folders = args.genomes or [SHARED / "data" / "genomes_extra"]
    names = set(args.names.split(",")) if args.names else None
    shifts = [float(v) for v in args.shifts.split(",")]
    genomes = score_whole_genomes(folders, names, args.model)
    shipped = genomes[0].finder.adapted_params
    pooled, per_genome = {}, {}
    for d in shifts:
        params = replace(shipped, length_bias=shipped.length_bias + d,
                         orf_length_bias=shipped.orf_length_bias - d)
        figures, pooled[d] = evaluate_weights(genomes, params, f"shift {d:g}")
        per_genome.update({(d, name): f for name, f in figures.items()})
    best = max(shifts, key=lambda d: (round(objective(pooled[d]), 6), -abs(d)))
    listed = [g.name for g in genomes]
    lines = [
        "# Length prior moved from the gene's length to its ORF's (self-trained pass)",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/gene_length_split.py "
        + " ".join(f"--genomes {f.name}" for f in folders)
        + (f" --names {args.names}" if args.names else "")
        + f" --shifts {args.shifts}` (genoseq {genoseq.__version__}). {machine_line('cpu')}.",
        "",
        f"Genomes: {', '.join(listed)}, each predicted whole in single mode with the shipped "
        f"networks and weights (`length_bias` {shipped.length_bias:g}, `orf_length_bias` "
        f"{shipped.orf_length_bias:g} per kb) but for the shift d: `length_bias` + d, "
        "`orf_length_bias` − d. Objective: F1 + 0.3 x exact-start share x sensitivity, pooled.",
        "",
        "| d | sensitivity | precision | F1 | exact start | objective |",
        "|---|---|---|---|---|---|",
    ]
    for d in shifts:
        f = pooled[d]
        mark = " (best)" if d == best else ""
        lines.append(f"| {d:+g}{mark} | {figure_cells(f)} |")
    lines += ["", "Per genome, F1 / exact start:", "",
              "| genome | " + " | ".join(f"{d:+g}" for d in shifts) + " |",
              "|---|" + "---|" * len(shifts)]
    for name in listed:
        lines.append(f"| {name} | " + " | ".join(
            genome_cell(per_genome[d, name]) for d in shifts) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"best shift {best:g}; wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
