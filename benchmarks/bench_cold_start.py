#!/usr/bin/env python3
"""Cold start: one ``genoseq predict`` process on a small record, vs pyrodigal's command line.

Cuts single records of 3 kb, 20 kb, 100 kb and 150 kb from the bundled
``data/ecoli_k12_500kb.fna.gz`` (from position 100,001 on) into FASTA files
in a temporary folder and runs, each as a fresh process (interpreter start,
imports and model loading included), default settings otherwise:

- ``genoseq predict -i X -o Y`` (single mode; ``-p meta`` too for 3 kb and 20 kb),
  with ``GENOSEQ_NETWORKS`` unset (auto: the numpy networks up to
  ``NUMPY_MAX_BASES``) and once with ``GENOSEQ_NETWORKS=torch``, whose genes
  must be the same;
- ``pyrodigal -i X -o Y`` and ``pyrodigal -p meta -i X -o Y``.

Each command runs ``--repeats`` times, the tools alternating; the table has the
best and median wall seconds, the ratio genoseq/pyrodigal of the best ones, and
the peak resident memory of each process (GNU time's ``%M``). The torch runs are repeated for 3 kb (what the torch path
costs); for the other sizes they run once, to compare the genes.

``--break-even`` adds the measurement that fixes ``NUMPY_MAX_BASES``: cold
single-mode runs on records of 50-400 kb with ``GENOSEQ_NETWORKS=numpy`` and
``=torch``, best of ``--break-even-repeats``.

    python benchmarks/bench_cold_start.py                  # full: results/cold_start.md
    python benchmarks/bench_cold_start.py --quick          # 3 kb only, 2 repeats
    python benchmarks/bench_cold_start.py --break-even     # and numpy vs torch, 50-400 kb
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import (  # benchmarks/machine.py: scripts run from this folder
    machine_line,
    pyrodigal_version,
    shown_args,
    write_report,
)

import genoseq
from genoseq.genes.numpy_networks import NUMPY_MAX_BASES
from genoseq.io import read_fasta

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GENOME = REPO / "data" / "ecoli_k12_500kb.fna.gz"
#: Where each record starts in the genome (0-based).
OFFSET = 100_000
SIZES = (3_000, 20_000, 100_000, 150_000)
META_SIZES = (3_000, 20_000)
BREAK_EVEN_SIZES = (50_000, 100_000, 150_000, 200_000, 300_000, 400_000)
#: GNU time, for the peak RSS of each process.
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
RSS_METHOD = ("GNU time's `%M`" if TIME
              else "`ru_maxrss` from `os.wait4` (with this script's memory at the fork)")


def tool(name: str) -> list[str]:
    """The command line of a console script of this environment (beside its Python)."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    found = shutil.which(name)
    if found:
        return [found]
    return [sys.executable, "-m", name]


def kb(size: int) -> str:
    return f"{size // 1000} kb"


def write_record(genome: bytes, size: int, folder: Path) -> Path:
    path = folder / f"ecoli_{size // 1000}kb.fna"
    seq = genome[OFFSET:OFFSET + size].decode()
    with open(path, "w", encoding="ascii") as handle:
        handle.write(f">ecoli_{OFFSET + 1}_{OFFSET + size}\n")
        for first in range(0, len(seq), 80):
            handle.write(seq[first:first + 80] + "\n")
    return path


def run_cold(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit status) of one fresh process of ``command``.

    The peak RSS is GNU time's ``%M`` where /usr/bin/time exists (the process's own,
    forked from the small ``time``); else ``ru_maxrss`` from ``os.wait4``, which on
    Linux also counts this script's own memory at the fork, before the exec.
    """
    rss_file = log.with_suffix(".rss")
    if TIME:
        command = [TIME, "-f", "%M", "-o", str(rss_file), *command]
    with open(log, "wb") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = usage.ru_maxrss
    if TIME and proc.returncode == 0:
        rss_kb = int(rss_file.read_text().split()[-1])
    return wall, rss_kb / 1024, proc.returncode


def gff_genes(path: Path) -> list[tuple]:
    """(record, start, end, strand, partial) of every CDS of a GFF file."""
    genes = []
    if not path.exists():
        return genes
    for line in open(path, encoding="ascii"):
        fields = line.split("\t")
        if len(fields) == 9 and fields[2] == "CDS":
            partial = next((item for item in fields[8].split(";")
                            if item.startswith("partial=")), "")
            genes.append((fields[0], int(fields[3]), int(fields[4]), fields[6], partial))
    return genes


class Case:
    """One command measured: its runs, peak memory and output."""

    def __init__(self, label: str, command: list[str], shown: str, output: Path,
                 env: dict[str, str], repeats: int):
        self.label, self.command, self.shown, self.output = label, command, shown, output
        self.env, self.repeats = env, repeats
        self.walls: list[float] = []
        self.rss: list[float] = []
        self.failure = ""
        self.genes: list[tuple] = []

    def run(self, log: Path) -> None:
        if self.failure or len(self.walls) >= self.repeats:
            return
        wall, rss, code = run_cold(self.command, self.env, log)
        if code != 0:
            lines = log.read_text(errors="replace").strip().splitlines()
            self.failure = lines[-1] if lines else f"exit {code}"
            return
        self.walls.append(wall)
        self.rss.append(rss)
        self.genes = gff_genes(self.output)

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs of each command (default 5, 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="3 kb only, 2 repeats")
    parser.add_argument("--break-even", action="store_true",
                        help="also numpy vs torch networks on 50-400 kb records")
    parser.add_argument("--break-even-repeats", type=int, default=3)
    parser.add_argument("--genome", type=Path, default=GENOME)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cold_start.md")
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    sizes = (3_000,) if args.quick else SIZES

    load = os.getloadavg()
    genome = next(iter(read_fasta(args.genome))).seq.upper()
    base_env = {key: value for key, value in os.environ.items() if key != "GENOSEQ_NETWORKS"}
    torch_env = {**base_env, "GENOSEQ_NETWORKS": "torch"}
    numpy_env = {**base_env, "GENOSEQ_NETWORKS": "numpy"}
    genoseq_cmd, pyrodigal_cmd = tool("genoseq"), tool("pyrodigal")

    rows = []  # (size, mode, genoseq auto, genoseq torch, pyrodigal)
    break_even = []
    with tempfile.TemporaryDirectory(prefix="genoseq_cold_") as tmp:
        folder = Path(tmp)
        log = folder / "stderr.txt"
        for size in sizes:
            fasta = write_record(genome, size, folder)
            for mode in ("single", "meta") if size in META_SIZES else ("single",):
                mode_args = ["-p", "meta"] if mode == "meta" else []
                stem = folder / f"{size}_{mode}"
                ours = Case("genoseq", [*genoseq_cmd, "predict", *mode_args, "-i", str(fasta),
                                        "-o", f"{stem}.genoseq.gff"],
                            f"genoseq predict {' '.join(mode_args + [''])}-i X -o Y",
                            Path(f"{stem}.genoseq.gff"), base_env, repeats)
                torch = Case("genoseq torch", [*genoseq_cmd, "predict", *mode_args, "-i",
                                               str(fasta), "-o", f"{stem}.torch.gff"],
                             f"GENOSEQ_NETWORKS=torch genoseq predict "
                             f"{' '.join(mode_args + [''])}-i X -o Y",
                             Path(f"{stem}.torch.gff"), torch_env,
                             repeats if size == 3_000 and mode == "single" else 1)
                theirs = Case("pyrodigal", [*pyrodigal_cmd, *mode_args, "-i", str(fasta),
                                            "-o", f"{stem}.pyrodigal.gff"],
                              f"pyrodigal {' '.join(mode_args + [''])}-i X -o Y",
                              Path(f"{stem}.pyrodigal.gff"), base_env, repeats)
                for _ in range(repeats):
                    for case in (ours, theirs, torch):
                        case.run(log)
                print(f"{kb(size)} {mode}: "
                      + ", ".join(f"{case.label} {min(case.walls, default=float('nan')):.2f} s"
                                  for case in (ours, torch, theirs)), flush=True)
                rows.append((size, mode, ours, torch, theirs))
        if args.break_even:
            for size in BREAK_EVEN_SIZES:
                fasta = write_record(genome, size, folder)
                cases = [Case(name, [*genoseq_cmd, "predict", "-i", str(fasta), "-o",
                                     str(folder / f"be_{size}_{name}.gff")],
                              "", folder / f"be_{size}_{name}.gff", env,
                              args.break_even_repeats)
                         for name, env in (("numpy", numpy_env), ("torch", torch_env))]
                for _ in range(args.break_even_repeats):
                    for case in cases:
                        case.run(log)
                print(f"break-even {kb(size)}: "
                      + ", ".join(f"{case.label} {min(case.walls, default=float('nan')):.2f} s"
                                  for case in cases), flush=True)
                break_even.append((size, *cases))

    shown = " ".join(shown_args(sys.argv[1:] if argv is None else argv))
    lines = [
        "# Cold start: `genoseq predict` on small records vs pyrodigal's command line",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/bench_cold_start.py"
        f"{' ' + shown if shown else ''}` (genoseq {genoseq.__version__}, pyrodigal "
        f"{pyrodigal_version()}). Machine: {machine_line('cpu')}. Load average at start: "
        f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (1, 5, 15 min).",
        "",
        f"Input: one record cut from `{shown_args([str(args.genome)])[0]}` at position "
        f"{OFFSET + 1:,} on, per size, as a FASTA file. Every figure is a fresh process "
        f"(interpreter, imports, model loading, output written), {repeats} runs each, "
        "the tools alternating; ratio = genoseq best / pyrodigal best. Peak RSS: "
        f"{RSS_METHOD}. genoseq's networks: auto "
        f"(`GENOSEQ_NETWORKS` unset: numpy up to {NUMPY_MAX_BASES:,} bases, torch "
        "not imported) and `GENOSEQ_NETWORKS=torch`; same genes = the CDS (record, start, "
        "end, strand, partial) of both runs are identical.",
        "",
        "Commands: " + "; ".join(f"`{case.shown}`" for case in rows[0][2:]) + ".",
        "",
        "| record | mode | genoseq best s | median s | peak RSS MiB | pyrodigal best s | "
        "median s | peak RSS MiB | genoseq / pyrodigal | genes (genoseq, pyrodigal) | "
        "torch networks: best s, peak RSS MiB | same genes numpy/torch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, mode, ours, torch, theirs in rows:
        ours_cells = (f"{ours.best:.2f} | {ours.median:.2f} | {max(ours.rss):.0f}"
                      if ours.walls else f"failed: {ours.failure} | - | -")
        if theirs.walls:
            theirs_cells = f"{theirs.best:.2f} | {theirs.median:.2f} | {max(theirs.rss):.0f}"
            ratio = f"**{ours.best / theirs.best:.1f}x**" if ours.walls else "-"
            theirs_genes = f"{len(theirs.genes):,}"
        else:
            theirs_cells = f"refused: {theirs.failure.replace('|', '/')} | - | -"
            ratio, theirs_genes = "-", "-"
        if torch.walls:
            runs = "" if len(torch.walls) > 1 else " (1 run)"
            torch_cells = f"{torch.best:.2f}{runs}, {max(torch.rss):.0f}"
        else:
            torch_cells = f"failed: {torch.failure}"
        same = ("yes" if ours.walls and torch.walls
                and ours.genes == torch.genes else "**no**")
        lines.append(f"| {kb(size)} | {mode} | {ours_cells} | {theirs_cells} | {ratio} | "
                     f"{len(ours.genes):,}, {theirs_genes} | {torch_cells} | "
                     f"{same} |")
    threes = [row for row in rows if row[0] == 3_000 and row[1] == "single"]
    if threes and threes[0][2].walls and threes[0][3].walls:
        ours, torch = threes[0][2], threes[0][3]
        lines += ["", f"3 kb, single mode: {ours.best:.2f} s with the numpy networks "
                      f"against {torch.best:.2f} s with torch's "
                      f"({torch.best - ours.best:.2f} s and "
                      f"{max(torch.rss) - max(ours.rss):.0f} MiB saved); the target is "
                      "<= 1.0 s."]
    lines += ["", "pyrodigal in single mode refuses records under 20,000 bp (Prodigal "
                  "too, pointing to `-p meta`); genoseq predicts them without "
                  "self-training, as in meta mode (with the statistics of its best "
                  "library genome), and warns."]
    if break_even:
        lines += [
            "",
            "## Numpy vs torch networks (what fixes `NUMPY_MAX_BASES`)",
            "",
            f"`genoseq predict -i X -o Y` (single mode), one record, cold process, best of "
            f"{args.break_even_repeats}, `GENOSEQ_NETWORKS=numpy` vs `=torch`.",
            "",
            "| record | numpy best s | peak RSS MiB | torch best s | peak RSS MiB | "
            "numpy / torch | same genes |",
            "|---|---|---|---|---|---|---|",
        ]
        for size, numpy_case, torch_case in break_even:
            if not (numpy_case.walls and torch_case.walls):
                lines.append(f"| {kb(size)} | failed: {numpy_case.failure} "
                             f"{torch_case.failure} | | | | | |")
                continue
            same = ("yes" if numpy_case.genes == torch_case.genes
                    else "**no**")
            lines.append(f"| {kb(size)} | {numpy_case.best:.2f} | {max(numpy_case.rss):.0f} | "
                         f"{torch_case.best:.2f} | {max(torch_case.rss):.0f} | "
                         f"{numpy_case.best / torch_case.best:.2f} | {same} |")
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
