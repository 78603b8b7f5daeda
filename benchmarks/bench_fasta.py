"""Reading speed of FASTA parsers, and of ``genoseq info``: genoseq against Biopython and pyfastx.

Generates a seeded multi-record FASTA file (random ACGT, 60-column lines; most
bytes in 1-5 Mbp chromosome-like records, the rest in many 0.5-20 kbp
contigs) and its gzip version, then times every reader on both in the same
run. Each reader materialises every sequence (the lengths are summed and
checked equal across readers). Speed is uncompressed FASTA bytes divided by
the best of ``--repeats`` wall-clock times, so plain and gzip columns compare.

Then, on the same files, ``genoseq info`` (the command, in-process) against
Biopython's ``SimpleFastaParser`` computing the same statistics (records,
total length, GC % of A+C+G+T+U, N50, min/max length, share of N; every
figure checked equal to genoseq's), once with ``str.count`` as Biopython's
own ``gc_fraction`` counts, once with numpy comparisons per record.

Writes ``benchmarks/results/fasta.md`` and prints it::

    python benchmarks/bench_fasta.py              # 200 MB, best of 3
    python benchmarks/bench_fasta.py --quick      # 20 MB, best of 2
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import io
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
from machine import cpu_name  # benchmarks/machine.py: scripts run from this folder

import genoseq
from genoseq.cli import main as genoseq_main
from genoseq.info import n50
from genoseq.io import atomic_write, read_fasta

HERE = Path(__file__).resolve().parent
LINE_WIDTH = 60
LONG_FRACTION = 0.7
NUCLEOTIDES = np.frombuffer(b"ACGT", dtype=np.uint8)


def wrapped(seq: np.ndarray) -> bytes:
    """FASTA body of a sequence: ``seq`` (uint8, shape (length,)) cut into 60-column lines."""
    full = len(seq) // LINE_WIDTH * LINE_WIDTH
    lines = seq[:full].reshape(-1, LINE_WIDTH)
    body = np.hstack([lines, np.full((len(lines), 1), ord("\n"), dtype=np.uint8)]).tobytes()
    if full < len(seq):
        body += seq[full:].tobytes() + b"\n"
    return body


def generate_fasta(path: Path, size_mb: float, seed: int) -> None:
    """Write a random multi-record FASTA of about ``size_mb`` MB to ``path``."""
    rng = np.random.default_rng(seed)
    target = int(size_mb * 1e6)
    written = 0
    index = 0
    with atomic_write(path, "wb") as handle:
        while written < target:
            if written < LONG_FRACTION * target:
                length, kind = int(rng.integers(1_000_000, 5_000_001)), "chromosome"
            else:
                length, kind = int(rng.integers(500, 20_001)), "contig"
            seq = NUCLEOTIDES[rng.integers(0, 4, length)]
            record = f">seq{index} random {kind} length={length}\n".encode() + wrapped(seq)
            handle.write(record)
            written += len(record)
            index += 1


def prepare_inputs(workdir: Path, size_mb: float, seed: int) -> tuple[Path, Path]:
    """Create (or reuse) the plain and gzip test files."""
    workdir.mkdir(parents=True, exist_ok=True)
    plain = workdir / f"random_{size_mb:g}MB_seed{seed}.fa"
    packed = plain.with_name(plain.name + ".gz")
    if not plain.exists():
        print(f"writing {plain}", file=sys.stderr)
        generate_fasta(plain, size_mb, seed)
    if not packed.exists():
        print(f"writing {packed} (gzip level 6)", file=sys.stderr)
        with open(plain, "rb") as source, atomic_write(packed, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as target:
                while block := source.read(1 << 24):
                    target.write(block)
    return plain, packed


def text_handle(path: Path):
    """Text handle as Biopython users open FASTA (gzip module for .gz)."""
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def genoseq_reader(path: Path) -> int:
    """Residues read by genoseq (sequences are upper-cased bytes)."""
    return sum(len(record) for record in read_fasta(path))


def simple_fasta_parser(path: Path) -> int:
    """Residues read by Biopython's ``SimpleFastaParser`` (str sequences, case kept)."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    with text_handle(path) as handle:
        return sum(len(seq) for _, seq in SimpleFastaParser(handle))


def seqio_parse(path: Path) -> int:
    """Residues read by Biopython's ``SeqIO.parse`` (``SeqRecord`` objects)."""
    from Bio import SeqIO

    with text_handle(path) as handle:
        return sum(len(record.seq) for record in SeqIO.parse(handle, "fasta"))


def pyfastx_reader(path: Path) -> int:
    """Residues read by pyfastx, upper-casing and keeping descriptions as genoseq does."""
    import pyfastx

    return sum(len(seq) for _, seq, _ in pyfastx.Fastx(str(path), uppercase=True, comment=True))


READERS: list[tuple[str, str | None, Callable[[Path], int]]] = [
    ("genoseq `read_fasta`", None, genoseq_reader),
    ("Biopython `SimpleFastaParser`", "biopython", simple_fasta_parser),
    ("Biopython `SeqIO.parse`", "biopython", seqio_parse),
    ("pyfastx `Fastx` (uppercase, comment)", "pyfastx", pyfastx_reader),
]


INFO_COLUMNS = ["records", "total_length", "gc_percent", "n50", "min_length", "max_length",
                "n_percent"]


def genoseq_info(path: Path) -> tuple:
    """``genoseq info --tsv`` run in-process: its figures as printed."""
    out = io.StringIO()
    if genoseq_main(["info", "--tsv", str(path)], stdout=out, stderr=io.StringIO()) != 0:
        raise RuntimeError(f"genoseq info failed on {path}")
    header, row = (line.split("\t") for line in out.getvalue().splitlines())
    return tuple(dict(zip(header, row, strict=True))[column] for column in INFO_COLUMNS)


def info_row(lengths: list[int], counts: dict[str, int]) -> tuple:
    """The figures of ``genoseq info`` (as printed) from record lengths and residue counts."""
    total = sum(lengths)
    acgt = sum(counts[letter] for letter in "ACGTU")
    gc = 100 * (counts["G"] + counts["C"]) / acgt
    return tuple(str(value) for value in (
        len(lengths), total, f"{gc:.2f}", n50(np.array(lengths)), min(lengths), max(lengths),
        f"{100 * counts['N'] / total:.2f}",
    ))


def biopython_info_count(path: Path) -> tuple:
    """Biopython's ``SimpleFastaParser`` and ``str.count`` per letter (as ``gc_fraction`` counts)."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    lengths = []
    counts = dict.fromkeys("ACGTUN", 0)
    with text_handle(path) as handle:
        for _, seq in SimpleFastaParser(handle):
            seq = seq.upper()
            lengths.append(len(seq))
            for letter in counts:
                counts[letter] += seq.count(letter)
    return info_row(lengths, counts)


def biopython_info_numpy(path: Path) -> tuple:
    """Biopython's ``SimpleFastaParser``, residues counted by numpy comparisons per record."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    lengths = []
    counts = dict.fromkeys("ACGTUN", 0)
    with text_handle(path) as handle:
        for _, seq in SimpleFastaParser(handle):
            codes = np.frombuffer(seq.upper().encode("ascii"), dtype=np.uint8)
            lengths.append(len(codes))
            for letter in counts:
                counts[letter] += int(np.count_nonzero(codes == ord(letter)))
    return info_row(lengths, counts)


STATISTICS: list[tuple[str, str | None, Callable[[Path], tuple]]] = [
    ("`genoseq info`", None, genoseq_info),
    ("Biopython `SimpleFastaParser` + `str.count`", "biopython", biopython_info_count),
    ("Biopython `SimpleFastaParser` + numpy counts", "biopython", biopython_info_numpy),
]


def best_seconds(reader: Callable[[Path], object], path: Path, repeats: int) -> tuple[float, object]:
    """Best wall-clock time of ``repeats`` runs, and what the reader returned."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        residues = reader(path)
        best = min(best, time.perf_counter() - start)
    return best, residues


def installed(package: str) -> bool:
    """Whether a distribution is installed."""
    try:
        metadata.version(package)
    except metadata.PackageNotFoundError:
        return False
    return True


def versions() -> str:
    """Versions of genoseq and the libraries compared."""
    names = ["numpy", "isal", "biopython", "pyfastx"]
    found = [f"genoseq {genoseq.__version__}"]
    found += [f"{name} {metadata.version(name)}" for name in names if installed(name)]
    return ", ".join(found)


def time_all(
    tools: list[tuple[str, str | None, Callable[[Path], object]]],
    files: tuple[Path, Path],
    megabytes: float,
    repeats: int,
    notes: list[str],
    speed_up: bool = False,
) -> tuple[list[str], object]:
    """Time every tool on both files; table rows and the common result.

    The ratio column is each tool's speed over the first tool's, or with
    ``speed_up`` the first tool's speed over each tool's. Every tool must
    return the same thing from both files (the residues read, or the
    statistics printed), else this raises.
    """
    speeds: list[tuple[str, float, float]] = []
    expected = None
    for label, package, tool in tools:
        if package is not None and not installed(package):
            notes.append(f"{label}: skipped, {package} is not installed.")
            continue
        per_file = []
        for path in files:
            seconds, result = best_seconds(tool, path, repeats)
            expected = result if expected is None else expected
            if result != expected:
                raise RuntimeError(f"{label} gave {result} on {path}, expected {expected}")
            per_file.append(megabytes / seconds)
            print(f"{label} {path.name}: {per_file[-1]:.0f} MB/s", file=sys.stderr)
        speeds.append((label, *per_file))
    _, first_plain, first_gzip = speeds[0]
    rows = []
    for label, plain_speed, gzip_speed in speeds:
        ratios = (plain_speed / first_plain, gzip_speed / first_gzip)
        if speed_up:
            ratios = (1 / ratios[0], 1 / ratios[1])
        rows.append(f"| {label} | {plain_speed:.0f} | {gzip_speed:.0f} | "
                    f"{ratios[0]:.2f} / {ratios[1]:.2f} |")
    return rows, expected


def run(size_mb: float, repeats: int, workdir: Path, seed: int) -> str:
    """Time every reader, then ``genoseq info`` and its Biopython equivalents, on the plain
    and gzip files; return the Markdown report."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    plain, packed = prepare_inputs(workdir, size_mb, seed)
    megabytes = plain.stat().st_size / 1e6
    notes: list[str] = []
    rows, expected = time_all(READERS, (plain, packed), megabytes, repeats, notes)
    info_rows, figures = time_all(STATISTICS, (plain, packed), megabytes, repeats, notes,
                                  speed_up=True)
    machine = (
        f"{cpu_name()}, {os.cpu_count()} logical cores, "
        f"Python {platform.python_version()} on {platform.system()}"
    )
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# FASTA reading speed",
        "",
        f"Input: {megabytes:.0f} MB FASTA, {expected:,} random ACGT residues in 60-column lines "
        f"(seed {seed}; {LONG_FRACTION:.0%} of bytes in 1-5 Mbp records, the rest in "
        "0.5-20 kbp records), "
        "and the same file gzip-compressed (level 6).",
        "MB/s = uncompressed FASTA megabytes / best of "
        f"{repeats} wall-clock runs; every reader materialises every sequence.",
        "Ratio = reader speed / genoseq speed (plain / gzip).",
        "Biopython reads gzip through Python's `gzip` module, genoseq through ISA-L",
        "(`isal.igzip`), pyfastx through its own zlib reader.",
        "",
        "| reader | plain MB/s | gzip MB/s | ratio vs genoseq (plain / gzip) |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        "## `genoseq info` against Biopython with the same statistics",
        "",
        "Same files. Every tool computes what `genoseq info` prints (records, total length, "
        "GC % of A+C+G+T+U, N50, min/max length, share of N), checked equal: "
        + ", ".join(f"{column} {value}" for column, value in zip(INFO_COLUMNS, figures,
                                                                 strict=True))
        + ". `genoseq info` runs in-process (`genoseq.cli.main`, `--tsv`); "
        "Biopython upper-cases each sequence as genoseq does, then counts A, C, G, T, U and "
        "N with `str.count` (as Biopython's `gc_fraction` counts) or with numpy "
        "(`np.count_nonzero(codes == letter)` per record).",
        "Speed-up = `genoseq info` speed / tool speed (plain / gzip).",
        "",
        "| tool | plain MB/s | gzip MB/s | speed-up of `genoseq info` (plain / gzip) |",
        "|---|---:|---:|---:|",
        *info_rows,
        "",
        f"Machine: {machine}; load average at start: {load}.",
        f"Libraries: {versions()}.",
        f"Date: {today}. Command: `python benchmarks/bench_fasta.py "
        f"--size-mb {size_mb:g} --repeats {repeats}`.",
        *notes,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, help="FASTA size in MB (default 200, --quick 20)")
    parser.add_argument(
        "--repeats", type=int, help="runs per reader and file (default 3, --quick 2)"
    )
    parser.add_argument("--quick", action="store_true", help="small file, fewer repeats")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the test file")
    parser.add_argument(
        "--workdir", type=Path, default=HERE / "work", help="where test files are kept"
    )
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "fasta.md", help="Markdown table"
    )
    args = parser.parse_args(argv)
    size_mb = args.size_mb or (20 if args.quick else 200)
    repeats = args.repeats or (2 if args.quick else 3)
    table = run(size_mb, repeats, args.workdir, args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.output) as handle:
        handle.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
