"""Motif scanning speed: genoseq's batched convolutions against Biopython's PSSM search.

Both tools scan the same real DNA (the bundled first 500 kb of *E. coli*
K-12, or ``--fasta``) with the same JASPAR PWMs (pseudocount 0.25 per base,
uniform background), both strands, reporting every window whose score
reaches 80 % of the PWM's range; hit counts are checked equal. Speed is
scanned bases divided by the best of ``--repeats`` wall-clock times. Three
cases: the CTCF profile MA0139.2 alone, 16 profiles, and all 879 JASPAR 2024
vertebrate profiles (on a shorter slice, as Biopython needs minutes).

Writes ``benchmarks/results/motifs_scan.md`` and prints it::

    python benchmarks/bench_motifs.py                 # 1 torch thread, CPU
    python benchmarks/bench_motifs.py --device cuda   # genoseq on the GPU
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path

import torch
from Bio import motifs as bio_motifs
from machine import cpu_name, shown_args  # benchmarks/machine.py: scripts run from this folder

from genoseq.device import ComputeOptions
from genoseq.io import atomic_write, read_fasta
from genoseq.motifs import read_motifs, scan_motifs, select_motifs
from genoseq.motifs.pwm import Motif

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
JASPAR = REPO.parent / "shared/data/motifs/JASPAR2024_CORE_vertebrates_non-redundant_pfms_jaspar.txt"
EXCERPT = REPO / "tests/motifs/data/jaspar_excerpt.txt"
RELATIVE = 0.8
PSEUDOCOUNT = 1.0


def biopython_search(sequence: str, motifs: list[Motif]) -> int:
    """Hits of every motif on both strands with Biopython; returns their number."""
    hits = 0
    for motif in motifs:
        counts = {base: motif.counts[row].tolist() for row, base in enumerate("ACGT")}
        pssm = bio_motifs.Motif(counts=counts).counts.normalize(
            pseudocounts=dict.fromkeys("ACGT", PSEUDOCOUNT / 4)).log_odds()
        cutoff = pssm.min + RELATIVE * (pssm.max - pssm.min)
        hits += sum(1 for _ in pssm.search(sequence, threshold=cutoff))
    return hits


def genoseq_search(sequence: str, motifs: list[Motif], device: str) -> int:
    table = scan_motifs([("seq", sequence)], motifs, min_relative=RELATIVE,
                        pseudocount=PSEUDOCOUNT, compute=ComputeOptions(device=device))
    return len(table)


def best_time(function, repeats: int) -> tuple[float, int]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fasta", default=str(REPO / "data/ecoli_k12_500kb.fna.gz"),
                        help="DNA to scan (first record)")
    parser.add_argument("--motifs", default=str(JASPAR if JASPAR.exists() else EXCERPT),
                        help="JASPAR file (default: ../shared JASPAR 2024, else the test excerpt)")
    parser.add_argument("--all-length", type=int, default=100_000,
                        help="bases scanned in the all-motifs case (default: 100000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--device", default="cpu", help="genoseq device (default: cpu)")
    parser.add_argument("--out", default=str(HERE / "results/motifs_scan.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    sequence = next(read_fasta(args.fasta, alphabet="dna")).seq.decode()
    jaspar = read_motifs(args.motifs)
    excerpt = [m.id for m in read_motifs(EXCERPT)]
    cases = [("CTCF MA0139.2", select_motifs(jaspar, "MA0139.2"), sequence),
             (f"{len(excerpt)} profiles (test excerpt)", select_motifs(jaspar, excerpt), sequence),
             (f"all {len(jaspar)} profiles", jaspar, sequence[:args.all_length])]
    genoseq_search(sequence[:10_000], jaspar[:2], args.device)  # warm-up: imports, kernels
    rows = []
    for name, motifs, dna in cases:
        mine, mine_hits = best_time(lambda m=motifs, d=dna: genoseq_search(d, m, args.device),
                                    args.repeats)
        theirs, their_hits = best_time(lambda m=motifs, d=dna: biopython_search(d, m),
                                       1 if len(motifs) > 100 else args.repeats)
        if mine_hits != their_hits:
            raise SystemExit(f"{name}: genoseq found {mine_hits} hits, Biopython {their_hits}")
        mbp = len(dna) / 1e6
        rows.append(f"| {name} | {len(dna):,} | {mine_hits:,} | {mbp / mine:.2f} | "
                    f"{mbp / theirs:.3f} | {theirs / mine:.1f}× |")
        print(rows[-1], flush=True)

    device = args.device if args.device != "cpu" else f"CPU, {args.threads} torch thread(s)"
    report = "\n".join([
        "# Motif scanning speed: genoseq vs Biopython",
        "",
        "`" + " ".join(["python benchmarks/bench_motifs.py",
                        *map(shlex.quote, shown_args(sys.argv[1:] if argv is None else argv))]) + "`",
        f"— {datetime.date.today()}, {cpu_name()}; genoseq on {device}; Biopython "
        f"{metadata.version('biopython')} (single-threaded C scorer), torch {torch.__version__}.",
        "",
        f"Same DNA ({Path(args.fasta).name}), same PWMs (pseudocount {PSEUDOCOUNT:g} per column, "
        f"uniform background), both strands, hits ≥ {RELATIVE:.0%} of each PWM's score range; "
        "hit counts equal between the tools. Speed: scanned Mbp per second, best of "
        f"{args.repeats} runs (Biopython: 1 run for the all-profiles case).",
        "",
        "| motifs | bases | hits | genoseq Mbp/s | Biopython Mbp/s | speed-up |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ])
    with atomic_write(args.out) as handle:
        handle.write(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
