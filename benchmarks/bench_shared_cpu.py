#!/usr/bin/env python3
"""Gene prediction on shared CPUs: wall time beside CPU-bound neighbours against idle.

Cluster nodes and parallel Snakemake jobs run genoseq beside other busy
processes. This times ``genoseq predict`` (a fresh process each run, as a
pipeline calls it) on the first ``--size-mb`` of a genome, idle and then with
``--neighbours`` CPU-bound processes (pure Python loops) running, and reports
each configuration's slowdown (loaded / idle, medians of ``--repeats`` runs).
Configurations: genoseq's defaults (as many threads as CPUs not kept busy by
other processes, :func:`genoseq.device.free_cpus`); every CPU (torch's own
default, genoseq's before); every CPU with OpenMP threads waiting passively;
``--threads 1``; and pyrodigal's command line beside them.
Writes benchmarks/results/shared_cpu.md.

    python benchmarks/bench_shared_cpu.py
    python benchmarks/bench_shared_cpu.py --size-mb 0.3 --repeats 1   # quick
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_name, shown_args  # benchmarks/machine.py

import genoseq
from genoseq.io import read_fasta
from genoseq.io.atomic import atomic_write

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
BUSY_LOOP = "while True:\n    pass\n"


def write_input(genome: Path, size: int, out: Path) -> int:
    """The first ``size`` bases of the genome's first record as FASTA; returns the length."""
    record = next(iter(read_fasta(genome)))
    seq = record.seq[:size].decode()
    with open(out, "w", encoding="ascii") as handle:
        handle.write(f">{record.id}_first_{len(seq)}\n")
        for i in range(0, len(seq), 80):
            handle.write(seq[i:i + 80] + "\n")
    return len(seq)


def configurations(fasta: Path, work: Path) -> list[tuple[str, list[str], dict]]:
    """(label, command, extra environment) of every configuration timed."""
    genoseq_cmd = [sys.executable, "-m", "genoseq", "predict", "-q", "-i", str(fasta),
                   "-o", str(work / "genes.gff")]
    cpus = os.cpu_count() or 1
    rows = [
        ("genoseq, defaults (threads: the free CPUs)", genoseq_cmd, {}),
        (f"genoseq --threads {cpus} (every CPU, torch's own default)",
         [*genoseq_cmd, "--threads", str(cpus)], {}),
        (f"genoseq --threads {cpus}, OMP_WAIT_POLICY=PASSIVE",
         [*genoseq_cmd, "--threads", str(cpus)], {"OMP_WAIT_POLICY": "PASSIVE"}),
        ("genoseq --threads 1", [*genoseq_cmd, "--threads", "1"], {}),
    ]
    rows.append(("pyrodigal (single mode, 1 job)",
                 [sys.executable, "-m", "pyrodigal", "-i", str(fasta),
                  "-o", str(work / "pyrodigal.gff")], {}))
    return rows


def time_run(command: list[str], env: dict) -> float:
    environment = {**os.environ, **env}
    if "OMP_WAIT_POLICY" not in env:
        environment.pop("OMP_WAIT_POLICY", None)
    began = time.perf_counter()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def time_all(rows, repeats: int) -> dict[str, list[float]]:
    return {label: [time_run(command, env) for _ in range(repeats)]
            for label, command, env in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genome", default=str(SHARED / "data" / "genomes"
                                                / "ecoli_k12_mg1655.fna.gz"))
    parser.add_argument("--size-mb", type=float, default=1.5)
    parser.add_argument("--neighbours", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "shared_cpu.md"))
    args = parser.parse_args(argv)

    work = HERE / "work"
    work.mkdir(exist_ok=True)
    fasta = work / "shared_cpu_input.fa"
    length = write_input(Path(args.genome), int(args.size_mb * 1e6), fasta)
    rows = configurations(fasta, work)

    idle = time_all(rows, args.repeats)
    neighbours = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
                  for _ in range(args.neighbours)]
    try:
        time.sleep(1.0)
        loaded = time_all(rows, args.repeats)
    finally:
        for process in neighbours:
            process.kill()
            process.wait()

    lines = [
        "# Gene prediction on shared CPUs: slowdown beside busy neighbours",
        "",
        f"Measured {datetime.date.today().isoformat()} by `python benchmarks/bench_shared_cpu.py "
        f"{' '.join(shown_args(sys.argv[1:] if argv is None else argv))}` (genoseq "
        f"{genoseq.__version__}). Machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}.",
        "",
        f"Input: the first {length:,} bp of {Path(args.genome).name.split('.')[0]}, single mode. "
        f"Each run is a fresh process, as a pipeline calls it (start-up included). Loaded: "
        f"{args.neighbours} CPU-bound Python loops running on the machine's "
        f"{os.cpu_count()} cores throughout. Median of {args.repeats} runs (all runs listed); "
        f"slowdown = loaded / idle.",
        "",
        "| configuration | idle s | loaded s | slowdown | idle runs | loaded runs |",
        "|---|---|---|---|---|---|",
    ]
    for label, _, _ in rows:
        quiet, busy = statistics.median(idle[label]), statistics.median(loaded[label])
        lines.append(f"| {label} | {quiet:.2f} | {busy:.2f} | {busy / quiet:.2f}x | "
                     f"{', '.join(f'{t:.2f}' for t in idle[label])} | "
                     f"{', '.join(f'{t:.2f}' for t in loaded[label])} |")
    lines += ["", "Without `--threads`, genoseq's commands run as many torch threads as there "
              "are CPUs in the process's affinity mask not taken by other running processes "
              "(`genoseq.device.free_cpus`): with every CPU busy, OpenMP threads that wait "
              "for one another at each step lose their time slices to the neighbours. "
              "Passive waiting avoids the spinning but costs the idle run its speed.", ""]
    with atomic_write(args.out) as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
