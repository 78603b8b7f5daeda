#!/usr/bin/env python3
"""Run every benchmark of genoseq and rewrite its results.

Each benchmark is its own script in benchmarks/ and writes one Markdown file;
this runs them in turn (each in a fresh Python process, so one's threads or
memory do not colour the next) and writes an index, ``README.md``, beside the
results with the machine, torch version and device of the run and each
script's wall time. Every speed figure is a ratio against a reference tool
measured in the same run by the same script.

    python benchmarks/run.py              # full: results in benchmarks/results/
    python benchmarks/run.py --quick      # < 5 min: smaller inputs, results in benchmarks/results/quick/
    python benchmarks/run.py --device cuda --only genes,ss

Full-size benchmarks need ../shared/data (genomes, secondary-structure sets,
motifs); with --quick a benchmark whose data is missing is skipped and listed
as skipped.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_name  # benchmarks/machine.py: scripts run from this folder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def benchmarks(quick: bool, out: Path, device: str, threads: int | None) -> list[tuple]:
    """(name, what it measures, command, output file, data it needs) of every benchmark."""
    py = sys.executable
    genomes = SHARED_DATA / "genomes"
    thread_args = ["--threads", str(threads)] if threads else []
    genes = [py, str(HERE / "genes_vs_pyrodigal.py"), "--out", str(out / "genes.md"),
             "--device", device, *thread_args]
    if quick:
        # The smallest held-out genome for accuracy, and it again for speed.
        genes += ["--names", "mgen_g37", "--speed-genome", "mgen_g37", "--repeats", "1"]
    ss = [py, str(HERE / "ss_eval.py"), "--out", str(out / "ss.md"), *thread_args]
    if quick:
        ss += ["--test", str(SHARED_DATA / "ss" / "ts115.tsv.gz"), "--repeats", "1"]
    return [
        ("fasta", "FASTA reading and `genoseq info` MB/s vs Biopython and pyfastx",
         [py, str(HERE / "bench_fasta.py"), "--output", str(out / "fasta.md")]
         + (["--quick"] if quick else []), out / "fasta.md", None),
        ("genes", "gene prediction accuracy and s/Mbp vs pyrodigal", genes,
         out / "genes.md", genomes),
        ("precision", "gene calls in reduced precision against fp32, every genome",
         [py, str(HERE / "gene_precision.py"), "--out", str(out / "gene_precision.md"),
          "--device", device, *thread_args]
         + (["--names", "mgen_g37,jcvi_syn3"] if quick else []),
         out / "gene_precision.md", genomes),
        ("ablation", "gene finder with one part of its score off at a time, vs pyrodigal",
         [py, str(HERE / "gene_ablation.py"), "--out", str(out / "gene_ablation.md"),
          "--device", device, *thread_args] + (["--quick"] if quick else []),
         out / "gene_ablation.md", genomes),
        ("edges", "metagenome mode on short pieces and 20 kb contigs: windows at sequence "
                  "ends, vs pyrodigal -p meta",
         [py, str(HERE / "gene_edges.py"), "--genomes", str(genomes), "--names",
          "mgen_g37" if quick else "ecoli_k12_mg1655,hsal_r1,mgen_g37", "--pieces",
          "500" if quick else "2000", "--out", str(out / "gene_edges.md"), *thread_args],
         out / "gene_edges.md", genomes),
        ("scale", "gene prediction on a large multi-record FASTA: peak memory",
         [py, str(HERE / "bench_scale.py"), "--out", str(out / "scale.md"),
          "--device", device, "--size-mb", "10" if quick else "100", *thread_args],
         out / "scale.md", genomes),
        ("memory", "peak memory on one 20 Mbp record and on pflu, both modes, vs pyrodigal",
         [py, str(HERE / "bench_memory.py"), "--out", str(out / "memory.md"),
          "--device", device, *thread_args]
         + (["--size-mb", "5", "--modes", "meta"] if quick else []),
         out / "memory.md", genomes),
        ("short", "many short records (-p meta): wall time vs pyrodigal",
         [py, str(HERE / "bench_short_records.py"), "--out", str(out / "short_records.md"),
          "--device", device, *thread_args] + (["--records", "2000"] if quick else []),
         out / "short_records.md", genomes),
        ("cold_start", "`genoseq predict` cold process on 3-150 kb records vs pyrodigal's CLI",
         [py, str(HERE / "bench_cold_start.py"), "--out", str(out / "cold_start.md")]
         + (["--quick"] if quick else ["--break-even"]), out / "cold_start.md", None),
        ("ss", "secondary structure Q3/Q8 and proteins/s", ss, out / "ss.md",
         SHARED_DATA / "ss"),
        ("shared", "gene prediction beside CPU-bound neighbours: slowdown vs idle",
         [py, str(HERE / "bench_shared_cpu.py"), "--out", str(out / "shared_cpu.md")]
         + (["--size-mb", "0.3", "--repeats", "1"] if quick else []),
         out / "shared_cpu.md", genomes),
        ("motifs", "motif scanning Mbp/s vs Biopython",
         [py, str(HERE / "bench_motifs.py"), "--out", str(out / "motifs_scan.md"),
          "--device", device]
         + (["--all-length", "20000", "--repeats", "1"] if quick else []),
         out / "motifs_scan.md", None),
    ]


def machine() -> str:
    import torch

    cpu = cpu_name()
    gpu = (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")
    return (f"{cpu}, {os.cpu_count()} cores, {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small inputs (< 5 min in all); results go to results/quick/")
    parser.add_argument("--only", metavar="NAMES",
                        help="comma-separated benchmarks: fasta, genes, precision, ablation, "
                             "edges, scale, memory, short, cold_start, shared, ss, motifs")
    parser.add_argument("--device", default="cpu", help="device of genoseq's models (default cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: results/, or results/quick/ with --quick)")
    args = parser.parse_args(argv)
    out = args.out or (HERE / "results" / ("quick" if args.quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    chosen = args.only.split(",") if args.only else None
    table = benchmarks(args.quick, out, args.device, args.threads)
    order = [row[0] for row in table]
    if chosen:
        unknown = set(chosen) - {row[0] for row in table}
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        table = [row for row in table if row[0] in chosen]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    summary = []
    failed = 0
    for name, what, command, result, needs in table:
        if needs is not None and not needs.exists():
            print(f"== {name}: skipped ({needs} not found)", flush=True)
            summary.append((name, what, "skipped: no data", "-", result))
            continue
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        began = time.perf_counter()
        code = subprocess.run(command, cwd=REPO, env=env).returncode
        seconds = time.perf_counter() - began
        status = "ok" if code == 0 else f"failed (exit {code})"
        failed += code != 0
        summary.append((name, what, status, f"{seconds:.0f}", result))
    lines = [
        "# Benchmark results" + (" (quick)" if args.quick else ""),
        "",
        f"Written {datetime.date.today()} by `python benchmarks/run.py"
        f"{' --quick' if args.quick else ''}"
        f"{' --device ' + args.device if args.device != 'cpu' else ''}`. "
        f"Machine: {machine()}; genoseq device {args.device}.",
        "",
        "| benchmark | measures | status | wall s | results |",
        "|---|---|---|---|---|",
    ]
    rows = {name: f"| {name} | {what} | {status} | {seconds} | [{result.name}]({result.name}) |"
            for name, what, status, seconds, result in summary}
    index = out / "README.md"
    if chosen and index.exists():
        # Keep the rows of the benchmarks not rerun, from the index of an earlier run.
        for line in index.read_text().splitlines():
            name = line.split("|")[1].strip() if line.startswith("| ") else ""
            if name in order and name not in rows:
                rows[name] = line
    lines += [rows[name] for name in order if name in rows]
    if chosen and len(rows) > len(summary):
        lines += ["", f"(only {', '.join(chosen)} rerun in this call; the other rows are from "
                      "an earlier run)"]
    index.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
