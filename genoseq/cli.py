"""The ``genoseq`` command line: one subcommand per task.

``main(argv, stdout, stderr) -> int`` never raises for bad input: malformed
files and bad values become one line ``genoseq: error: FILE:LINE: ...`` on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import TextIO

from genoseq import __version__
from genoseq.genes import DEFAULT_HOLDOUT
from genoseq.io import InvalidFileError

EXIT_USAGE = 2

#: Modules adding subcommands: each has ``register(commands, train_tasks, parser_class)``,
#: adding parsers to the ``genoseq`` and ``genoseq train`` subparsers, each parser with
#: ``set_defaults(run=function(args, stdout, stderr) -> int)``.
PLUGIN_COMMANDS = (
    "genoseq.structure.cli",
    "genoseq.motifs.cli",
    "genoseq.enhancers.cli",
    "genoseq.workflow_cli",
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that writes to the streams main() was given (set by build_parser)."""

    out: TextIO = sys.stdout
    err: TextIO = sys.stderr

    def error(self, message: str):
        self.print_usage(self.err)
        self.err.write(f"genoseq: error: {message}\n")
        raise SystemExit(EXIT_USAGE)

    def _print_message(self, message, file=None):
        if message:
            if file is None or file is sys.stdout:
                file = self.out
            elif file is sys.stderr:
                file = self.err
            file.write(message)


def positive_int(text: str) -> int:
    """argparse type for counts such as --threads and --batch-size: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: expected an integer >= 1")
    return value


def fold_count(text: str) -> int:
    """argparse type for --calibration-folds: 0 (no folds) or an integer >= 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 or an integer >= 2") from None
    if value == 1 or value < 0:
        raise argparse.ArgumentTypeError(
            f"{value}: expected 0 (validation parts) or an integer >= 2 (one fold cannot be "
            "held out from itself)")
    return value


def add_compute_arguments(parser: argparse.ArgumentParser, *, batch_size: int | None = None,
                          batch_help: str | None = None, precision: bool = False,
                          quiet: str | None = "no progress bars") -> None:
    """The options every model command shares, spelled and checked the same everywhere.

    Adds ``--device``, optionally ``--precision``, ``--batch-size`` (when
    ``batch_help`` is given; default ``batch_size``), ``--threads`` and, unless
    ``quiet`` is None, ``-q/--quiet`` with that help text.
    """
    parser.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N, mps")
    if precision:
        parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                            help="network arithmetic: auto (default) = mixed precision on "
                                 "CUDA, bf16 on CPUs with native bf16 instructions, else fp32")
    if batch_help is not None:
        default = "" if batch_size is None else f" (default: {batch_size})"
        parser.add_argument("--batch-size", type=positive_int, default=batch_size, metavar="N",
                            help=batch_help + default)
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="CPU threads for torch (default: torch's choice)")
    if quiet is not None:
        parser.add_argument("-q", "--quiet", action="store_true", help=quiet)


def _format_table(rows: list[dict], columns: list[str]) -> str:
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

    columns = ["file", "format", "type", "records", "total_length", "gc_percent", "n50",
               "min_length", "max_length", "n_percent"]
    rows = []
    for path in args.files:
        stats = file_stats(path).as_dict()
        for key in ("gc_percent", "n_percent"):
            value = stats[key]
            stats[key] = "-" if value is None else f"{value:.2f}"
        rows.append(stats)
    if args.tsv:
        stdout.write("\t".join(columns) + "\n")
        for row in rows:
            stdout.write("\t".join(str(row[c]) for c in columns) + "\n")
    else:
        stdout.write(_format_table(rows, columns))
    return 0


def _run_predict(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.device import set_threads
    from genoseq.encoding import genetic_code_ids
    from genoseq.genes.finder import GeneFinder
    from genoseq.genes.predict import predict_to_files, progress_enabled, warnings_to

    if args.translation_table not in genetic_code_ids():
        valid = ", ".join(map(str, genetic_code_ids()))
        raise InvalidFileError("-g", None, f"unknown translation table "
                               f"{args.translation_table}: expected one of {valid}")
    if args.min_len < 60:
        raise InvalidFileError("--min-len", None, f"{args.min_len} is too short: expected >= 60")
    set_threads(args.threads)
    finder = GeneFinder(args.model, translation_table=args.translation_table,
                        procedure=args.procedure, min_len=args.min_len, closed=args.closed, mask_n=args.mask,
                        device=args.device, batch_size=args.batch_size,
                        precision=args.precision, recheck=args.recheck)
    output = args.output
    if output == "-":
        output = stdout
    with warnings_to(stderr, args.quiet):
        predict_to_files(args.input, finder, output=output, format=args.format,
                         proteins=args.proteins, nucleotides=args.nucleotides,
                         starts=args.starts, coding_track=args.coding_track,
                         progress=progress_enabled(args.quiet, stderr))
    return 0


def _run_train_genes(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.device import set_threads
    from genoseq.genes.train import train_gene_finder
    from genoseq.nn.train import TrainConfig

    set_threads(args.threads)
    holdout = tuple(name for name in args.holdout.split(",") if name)
    coding = TrainConfig(steps_per_epoch=args.steps, max_epochs=args.epochs,
                         patience=args.patience,
                         learning_rate=3e-3, seed=args.seed)
    metadata = train_gene_finder(args.genomes, args.out, args.run_dir, holdout=holdout,
                                 coding_config=coding, window=args.window,
                                 batch_size=args.batch_size, seed=args.seed,
                                 calibration_folds=args.calibration_folds,
                                 fold_epochs=args.fold_epochs,
                                 device=args.device, progress=not args.quiet)
    where = ("training genomes scored out of fold"
             if metadata["calibration"]["method"] == "out of fold"
             else "validation part of the training genomes")
    for key, name in (("decoder_validation", "plain"),
                      ("decoder_adapted_validation", "self-trained")):
        figures = metadata[key]
        stdout.write(f"{name} pass, {where}: F1 "
                     f"{figures['f1']:.4f}, exact starts {figures['exact_start']:.4f}\n")
    stdout.write(f"wrote {args.out}.pt and {args.out}.json\n")
    return 0


def build_parser(stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``genoseq`` command, with every subcommand."""

    class Parser(_Parser):
        out = sys.stdout if stdout is None else stdout
        err = sys.stderr if stderr is None else stderr

    parser = Parser(
        prog="genoseq",
        description="Sequence analysis with recurrent and convolutional neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"genoseq {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    info = sub.add_parser(
        "info",
        help="summarise FASTA/FASTQ files: records, length, GC %%, N50",
        description="Per file: record count, total length, GC %% (of A+C+G+T), N50, "
        "min/max record length and share of N. Reads plain, gzip, bz2 and xz "
        "files ('-' for standard input).",
    )
    info.add_argument("files", nargs="+", metavar="FILE", help="FASTA or FASTQ file(s)")
    info.add_argument("--tsv", action="store_true", help="tab-separated output")
    info.set_defaults(run=_run_info)

    predict = sub.add_parser(
        "predict",
        help="find protein-coding genes in prokaryotic genomes and contigs (Prodigal's flags)",
        description="Predict genes with the BiLSTM coding model, the CNN start detector and "
        "an overlap-aware ORF decoder. Flags follow Prodigal's, so pipelines switch without "
        "edits. Input: FASTA, plain/gzip/bz2/xz, '-' for standard input.")
    predict.add_argument("-i", "--input", default="-", metavar="FILE",
                         help="input FASTA (default: standard input)")
    predict.add_argument("-o", "--output", default="-", metavar="FILE",
                         help="gene coordinates (default: standard output)")
    predict.add_argument("-f", "--format", default="gff", choices=("gff", "gbk", "sco"),
                         help="output format (default: gff, GFF3)")
    predict.add_argument("-a", "--proteins", metavar="FILE", help="write proteins (.faa)")
    predict.add_argument("-d", "--nucleotides", metavar="FILE", help="write genes (.ffn)")
    predict.add_argument("-s", "--starts", metavar="FILE",
                         help="write every candidate gene (all starts) with its scores, TSV")
    predict.add_argument("-p", "--procedure", default="single", choices=("single", "meta"),
                         help="single genome or metagenome (default: single)")
    predict.add_argument("-g", "--translation-table", type=int, default=11, metavar="N",
                         help="NCBI translation table (default: 11; 4 for Mycoplasma)")
    predict.add_argument("-c", "--closed", action="store_true",
                         help="closed ends: no genes running off sequence edges")
    predict.add_argument("-m", "--mask", action="store_true",
                         help="do not build genes across unknown bases (N)")
    predict.add_argument("--min-len", type=int, default=90, metavar="BP",
                         help="shortest gene, bp including the stop codon (default: 90)")
    predict.add_argument("--coding-track", metavar="FILE",
                         help="per-base coding probability of each strand, bedGraph")
    predict.add_argument("--model", metavar="STEM", help="gene models (default: shipped)")
    add_compute_arguments(predict, batch_size=32, batch_help="coding-model windows per batch",
                          precision=True, quiet="no progress or warnings")
    predict.add_argument("--no-recheck", dest="recheck", action="store_false",
                         help="in bf16/fp16, do not re-score near-tied calls in fp32 (faster; "
                              "a rare near tie may then go the other way)")
    predict.set_defaults(run=_run_predict)

    train = sub.add_parser("train", help="train a model from reference data")
    train_sub = train.add_subparsers(dest="task", metavar="TASK", parser_class=Parser,
                                     required=True)
    genes = train_sub.add_parser(
        "genes", help="train the gene finder (coding model, start detector, decoder weights)",
        description="Train the gene finder on a folder of annotated genomes laid out like "
        "../shared/data/genomes (genomes.tsv + <name>.fna.gz + <name>.gff3.gz). Held-out "
        "genomes are never read. Each stage checkpoints into --run-dir and resumes from it.")
    genes.add_argument("--genomes", required=True, metavar="DIR", help="genome folder")
    genes.add_argument("--holdout", default=",".join(DEFAULT_HOLDOUT), metavar="NAMES",
                       help="comma-separated genomes kept out of training (default: %(default)s)")
    genes.add_argument("-o", "--out", required=True, metavar="STEM",
                       help="write STEM.pt (weights) and STEM.json (config, metrics)")
    genes.add_argument("--run-dir", required=True, metavar="DIR",
                       help="checkpoints; an interrupted run resumes from here")
    genes.add_argument("--seed", type=int, default=0)
    genes.add_argument("--epochs", type=int, default=20, help="most coding-model epochs")
    genes.add_argument("--steps", type=int, default=300, help="batches per epoch")
    genes.add_argument("--patience", type=positive_int, default=6,
                       help="coding-model epochs without validation improvement before "
                            "stopping; may be changed when resuming")
    genes.add_argument("--window", type=int, default=3000, help="training window, bp")
    genes.add_argument("--calibration-folds", type=fold_count, default=2, metavar="K",
                       help="fit the decoder weights out of fold: networks trained without "
                            "each of K folds of the training genomes score that fold "
                            "(default: 2; 0 fits them on the validation parts instead)")
    genes.add_argument("--fold-epochs", type=positive_int, default=8, metavar="N",
                       help="coding-model epochs of each fold's networks (default: 8)")
    add_compute_arguments(genes, batch_size=32, batch_help="training windows per batch")
    genes.set_defaults(run=_run_train_genes)

    for name in PLUGIN_COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not (name == error.name or name.startswith(error.name + ".")):
                raise
            continue
        module.register(sub, train_sub, Parser)
    return parser


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so that Python's exit-time flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the ``genoseq`` command; return its exit status."""
    # oneDNN (torch's CPU backend) caches a compiled kernel per input shape, 1,024 by
    # default; with bf16, many contigs of different lengths made that cache hold ~0.7 GB
    # on a 30 Mbp metagenome. 64 kept the speed and cut the peak from 1.9 to 1.3 GB.
    # Read when torch first builds a kernel, so set before any model runs; a value the
    # user exported wins.
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = build_parser(stdout, stderr)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help(stdout)
        return 0
    try:
        return args.run(args, stdout, stderr)
    except InvalidFileError as error:
        stderr.write(f"genoseq: error: {error}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): stop quietly, as Unix tools do.
        _silence_stdout()
        return 141
    except OSError as error:
        where = error.filename if error.filename is not None else ""
        stderr.write(f"genoseq: error: {where}: {error.strerror or error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        stderr.write("genoseq: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
