#!/usr/bin/env python3
"""Large inputs: gene prediction on a >= 100 Mbp multi-record FASTA in bounded memory.

Builds the input by concatenating the real genomes of a genome folder (every
record renamed ``<genome>_<copy>_<record>``) until it holds ``--size-mb``
million bases, writes it gzipped under benchmarks/work/, then runs
``genoseq predict -p meta`` on it in a child process and reports wall time and
the child's peak resident memory (``getrusage``). In meta mode records are read
and predicted in groups of ~2 Mbp, so memory should not grow with the input;
the genes themselves (a few hundred bytes each) are the only part that does.
Writes benchmarks/results/scale.md.

    python benchmarks/bench_scale.py                 # 100 Mbp
    python benchmarks/bench_scale.py --size-mb 10    # quick
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from machine import cpu_name, write_report  # benchmarks/machine.py: scripts run from this folder

import genoseq
from genoseq.genes.dataset import read_genome_table
from genoseq.io import read_fasta

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def build_input(genomes: Path, size: int, out: Path) -> tuple[int, int]:
    """Write ``out`` (gzip FASTA) of at least ``size`` bases; return (bases, records)."""
    entries = [e for e in read_genome_table(genomes) if e.translation_table == 11]
    bases = records = copy = 0
    with gzip.open(out, "wt", compresslevel=1) as handle:
        while bases < size:
            for entry in entries:
                for record in read_fasta(entry.fasta):
                    handle.write(f">{entry.name}_{copy}_{record.id}\n")
                    seq = record.seq.decode()
                    for i in range(0, len(seq), 80):
                        handle.write(seq[i:i + 80] + "\n")
                    bases += len(seq)
                    records += 1
                if bases >= size:
                    break
            copy += 1
    return bases, records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes")
    parser.add_argument("--size-mb", type=float, default=100.0,
                        help="million bases in the input (default: 100)")
    parser.add_argument("--workdir", type=Path, default=HERE / "work")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--procedure", default="meta", choices=("meta", "single"),
                        help="-p of genoseq predict (default: meta)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.md")
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    size = int(args.size_mb * 1e6)
    fasta = args.workdir / f"scale_{size // 1_000_000}mb.fna.gz"
    if not fasta.exists():
        partial = fasta.with_suffix(".tmp.gz")
        bases, records = build_input(args.genomes, size, partial)
        partial.rename(fasta)
    else:
        bases = records = 0
        for record in read_fasta(fasta):
            bases += len(record)
            records += 1
    gff = args.workdir / "scale.gff"
    command = [sys.executable, "-m", "genoseq", "predict", "-i", str(fasta), "-o", str(gff),
               "-p", args.procedure, "-q", "--device", args.device, "--precision", args.precision]
    if args.threads:
        command += ["--threads", str(args.threads)]
    began = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - began
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    genes = sum(1 for line in open(gff) if "\tCDS\t" in line)
    threads = args.threads or torch.get_num_threads()
    lines = [
        "# Large input: gene prediction in bounded memory",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/bench_scale.py "
        f"--size-mb {args.size_mb:g}` (genoseq {genoseq.__version__}). Machine: {cpu_name()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, device {args.device}, "
        f"{threads} threads, precision {args.precision}.",
        "",
        f"Input: {bases / 1e6:.1f} Mbp in {records:,} records (the genomes of "
        f"`{args.genomes.name}/` with translation table 11, concatenated until the size was "
        "reached), gzip.",
        "",
        "| command | wall s | Mbp/s | genes | peak RSS MiB |",
        "|---|---|---|---|---|",
        f"| `genoseq predict -p {args.procedure}` | {wall:.0f} | {bases / 1e6 / wall:.2f} | {genes:,} | "
        f"{peak_mib:.0f} |",
        "",
        "Peak RSS is the child process's maximum resident set (getrusage), everything "
        "included: Python, torch, the models, and the genes kept for the output.",
    ]
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
