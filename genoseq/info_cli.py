"""``genoseq info``: record count, length, GC %, N50 of FASTA/FASTQ files.

Registered by :mod:`genoseq.cli`.
"""

from __future__ import annotations

from typing import TextIO

COLUMNS = ["file", "format", "type", "records", "total_length", "gc_percent", "n50",
           "min_length", "max_length", "n_percent"]


def format_table(rows: list[dict], columns: list[str]) -> str:
    """Rows as an aligned text table: first column left-aligned, the others right-aligned."""
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for r in cells:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines) + "\n"


def _run_info(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.info import file_stats

    rows = []
    for path in args.files:
        stats = file_stats(path).as_dict()
        for key in ("gc_percent", "n_percent"):
            value = stats[key]
            stats[key] = "-" if value is None else f"{value:.2f}"
        rows.append(stats)
    if args.tsv:
        stdout.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            stdout.write("\t".join(str(row[c]) for c in COLUMNS) + "\n")
    else:
        stdout.write(format_table(rows, COLUMNS))
    return 0


def register(commands, parser_class) -> None:
    """Add ``info`` to the ``genoseq`` subcommands."""
    info = commands.add_parser(
        "info",
        help="summarise FASTA/FASTQ files: records, length, GC %%, N50",
        description="Per file: record count, total length, GC %% (of A+C+G+T), N50, "
        "min/max record length and share of N. Reads plain, gzip, bz2 and xz "
        "files ('-' for standard input).",
    )
    info.add_argument("files", nargs="+", metavar="FILE", help="FASTA or FASTQ file(s)")
    info.add_argument("--tsv", action="store_true", help="tab-separated output")
    info.set_defaults(run=_run_info)
