#!/usr/bin/env python3
"""Do reduced-precision networks change gene calls? Every genome, fp32 against bf16 (or AMP).

For each genome of a genome folder (laid out like ../shared/data/genomes),
genoseq predicts genes three times with the same weights and options: in
fp32, in reduced precision with its default fp32 recheck of near ties, and
in reduced precision with ``--no-recheck``. The table counts the genes that
are not called identically (same seqid, start, end and strand) to the fp32
run. Writes benchmarks/results/gene_precision.md.

    python benchmarks/gene_precision.py                    # all genomes of the folder
    python benchmarks/gene_precision.py --names mgen_g37,jcvi_syn3
    python benchmarks/gene_precision.py --device cuda      # fp32 against CUDA mixed precision
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

from machine import machine_line  # benchmarks/machine.py: scripts run from this folder

import genoseq
from genoseq.device import ComputeOptions, resolve_device, resolve_precision, set_threads
from genoseq.genes.dataset import read_genome_table
from genoseq.genes.finder import GeneFinder
from genoseq.io import read_fasta

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def calls(finder: GeneFinder, records: list[tuple[str, bytes]]) -> tuple[set, float]:
    """Genes as (seqid, start, end, strand), and the wall seconds the prediction took."""
    began = time.perf_counter()
    predictions = finder.predict_genome(records)
    seconds = time.perf_counter() - began
    return {(p.seqid, g.start, g.end, g.strand) for p in predictions for g in p.genes}, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes")
    parser.add_argument("--names", help="comma-separated genomes (default: all in genomes.tsv)")
    parser.add_argument("--model", help="gene model stem (default: shipped)")
    parser.add_argument("--precision", default=None,
                        help="reduced precision to compare (default: bf16 on the CPU, auto "
                             "(mixed) on CUDA)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "gene_precision.md")
    args = parser.parse_args(argv)

    set_threads(args.threads)
    device = resolve_device(args.device)
    reduced = args.precision or ("bf16" if device.type == "cpu" else "auto")
    entries = read_genome_table(args.genomes)
    if args.names:
        wanted = args.names.split(",")
        entries = [e for e in entries if e.name in wanted]
        missing = set(wanted) - {e.name for e in entries}
        if missing:
            parser.error(f"unknown genome(s): {', '.join(sorted(missing))}")
    rows = []
    for entry in entries:
        records = [(r.id, r.seq) for r in read_fasta(entry.fasta)]
        length = sum(len(seq) for _, seq in records)

        def finder(precision, recheck=True, entry=entry):
            return GeneFinder(args.model, translation_table=entry.translation_table, recheck=recheck,
                              compute=ComputeOptions(device=device, precision=precision))

        reference, t32 = calls(finder("fp32"), records)
        checked, t_checked = calls(finder(reduced), records)
        unchecked, t_unchecked = calls(finder(reduced, recheck=False), records)
        rows.append((entry.name, length, len(reference), len(checked ^ reference),
                     len(unchecked ^ reference), t32, t_checked, t_unchecked))
        print(f"{entry.name}: {len(reference)} genes; differ from fp32: "
              f"{len(checked ^ reference)} with recheck, {len(unchecked ^ reference)} without; "
              f"{t32:.1f} / {t_checked:.1f} / {t_unchecked:.1f} s", flush=True)

    arithmetic = resolve_precision(device, reduced)
    lines = [
        "# Gene calls in reduced precision against fp32",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/gene_precision.py` (genoseq "
        f"{genoseq.__version__}). Machine: {machine_line(device)}. Reduced precision: "
        f"{arithmetic}.",
        "",
        "Same weights and options, single-genome mode, each genome's translation table. A gene "
        "counts as different when it is called by one run and not by the fp32 run, or the "
        "other way round (seqid, start, end and strand), so a start moved on one ORF counts "
        "twice. With the recheck (the default) genoseq re-scores in fp32 every decision that "
        "reduced arithmetic could tip before deciding; `--no-recheck` skips that.",
        "",
        f"| genome | Mbp | genes (fp32) | differ, {reduced} | differ, {reduced} --no-recheck "
        f"| fp32 s | {reduced} s | {reduced} --no-recheck s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, length, n, checked, unchecked, t32, t_checked, t_unchecked in rows:
        lines.append(f"| {name} | {length / 1e6:.2f} | {n} | {checked} | {unchecked} | "
                     f"{t32:.1f} | {t_checked:.1f} | {t_unchecked:.1f} |")
    total = [sum(row[k] for row in rows) for k in (2, 3, 4)]
    lines.append(f"| all {len(rows)} | {sum(row[1] for row in rows) / 1e6:.2f} | {total[0]} | "
                 f"{total[1]} | {total[2]} | | | |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
