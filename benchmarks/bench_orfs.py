"""Time candidate-ORF enumeration on a random sequence.

    python benchmarks/bench_orfs.py [--length 5000000] [--table 11] [--repeats 5] [--seed 0]

Prints the length, the number of candidates and ORFs, and the best and median
wall time of ``genoseq.genes.orfs.find_orfs`` over the repeats (the first call
is a warm-up and not counted). Target: under 2 s for 5 Mbp.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from genoseq.genes.orfs import find_orfs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=5_000_000)
    parser.add_argument("--table", type=int, default=11)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    seq = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), args.length)
    orfs = find_orfs(seq, args.table)
    times = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        find_orfs(seq, args.table)
        times.append(time.perf_counter() - began)
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")
    print(
        f"{args.length:,} bp, table {args.table}: {len(orfs):,} candidates in "
        f"{int(orfs.orf_id[-1]) + 1 if len(orfs) else 0:,} ORFs; "
        f"best {min(times):.3f} s, median {statistics.median(times):.3f} s "
        f"over {args.repeats} runs"
    )


if __name__ == "__main__":
    main()
