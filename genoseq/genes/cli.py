"""``genoseq predict`` (find genes) and ``genoseq train genes``.

Registered by :mod:`genoseq.cli`; torch is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import TextIO

from genoseq._cli import (
    add_compute_arguments,
    add_run_arguments,
    compute_options,
    positive_int,
    warnings_to,
)
from genoseq.genes import CODING_LEARNING_RATE, DEFAULT_HOLDOUT
from genoseq.io.errors import GenoseqWarning, InvalidFileError


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


def job_count(text: str) -> int:
    """argparse type for -j (pyrodigal's jobs): 0 (every CPU) or an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 (all CPUs) or an integer >= 1"
                                         ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: expected 0 (all CPUs) or an integer >= 1")
    return value


class _PrintVersion(argparse.Action):
    """Prodigal's -v/-V: the version on standard error, then exit 0 (whatever else was given)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from genoseq import __version__

        parser.err.write(f"\ngenoseq V{__version__}: Prodigal-compatible gene finder\n\n")
        parser.exit(0)


def _threads(args) -> int | None:
    """--threads, or pyrodigal's -j mapped onto it (0: every CPU); both must agree."""
    if args.jobs is None:
        return args.threads
    jobs = args.jobs or os.cpu_count() or 1
    if args.threads is not None and args.threads != jobs:
        raise InvalidFileError("-j", None, f"{args.jobs} asks for {jobs} threads but --threads "
                               f"asks for {args.threads}; give one of them")
    return jobs


def _training_file(args):
    """Prodigal's -t: (path, statistics read from it) or (path, None) when it is to be written.

    As Prodigal 2.6.3: -t with -p meta is refused; an existing file is read
    (and -n then refused, as Prodigal refuses to force its non-SD trainer on
    a finished training file); a file that does not exist is written. Without
    -g the file's translation table is used (Prodigal takes the file's
    table); a -g that disagrees with the file is refused.
    """
    from genoseq.genes.adapt import read_training

    path = args.training_file
    if path is None:
        return None, None
    if path == "-":
        raise InvalidFileError("-t", None, "'-': expected a file name (the training file "
                               "is read when it exists, else written)")
    if args.procedure == "meta":
        raise InvalidFileError(path, None, "-t cannot be used with -p meta (Prodigal refuses "
                               "a training file in metagenomic mode too)")
    if not os.path.exists(path):
        return path, None
    if args.force_nonsd:
        raise InvalidFileError(path, None, "exists, so it is read, and -n cannot be used with "
                               "a training file already created (as in Prodigal): -n applies "
                               "when -t writes one")
    training = read_training(path)
    if args.translation_table is None:
        args.translation_table = training.translation_table
    elif args.translation_table != training.translation_table:
        raise InvalidFileError(path, None, f"learned under translation_table "
                               f"{training.translation_table}, not -g {args.translation_table}")
    return path, training


def _run_predict(args, stdout: TextIO, stderr: TextIO) -> int:
    began = time.perf_counter()
    from genoseq.genes.finder import GeneFinder, check_min_len, check_translation_table
    from genoseq.genes.predict import (
        model_label,
        predict_to_files,
        run_summary,
        train_to_file,
        training_summary,
    )

    training_file, training = _training_file(args)
    if args.translation_table is None:
        args.translation_table = 11
    for flag, check, value in (("-g", check_translation_table, args.translation_table),
                               ("--min-len", check_min_len, args.min_len)):
        try:
            check(value)
        except ValueError as error:
            raise InvalidFileError(flag, None, str(error)) from None
    args.threads = _threads(args)
    finder = GeneFinder(args.model, translation_table=args.translation_table,
                        procedure=args.procedure, min_len=args.min_len, closed=args.closed,
                        mask_n=args.mask, recheck=args.recheck,
                        compute=compute_options(args, stderr),
                        meta_library=args.meta_library, use_sd=not args.force_nonsd)
    if training is not None:
        try:
            finder.use_training(training)
        except InvalidFileError:
            raise
        except ValueError as error:  # e.g. a --model without a self-trained pass
            raise InvalidFileError(training_file, None, str(error)) from None
    output = stdout if args.output == "-" else args.output
    label = model_label(args.model)
    if training_file is not None and training is None:
        # Prodigal: no training file yet -> train on the input, write it, predict nothing.
        named = {"-o": args.output, "-a": args.proteins, "-d": args.nucleotides,
                 "-s": args.starts, "--starts-tsv": args.starts_tsv,
                 "--coding-track": args.coding_track}
        empty = {flag: path for flag, path in named.items() if path not in (None, "-")}
        with warnings_to(stderr, args.quiet):
            run, learned = train_to_file(args.input, finder, training_file, empty=empty)
            if empty:
                warnings.warn(
                    f"{', '.join(empty.values())}: written empty, as Prodigal does: -t "
                    f"{training_file} did not exist, so it was trained and written and no "
                    "genes were predicted", GenoseqWarning, stacklevel=1)
        if not args.quiet:
            seconds = time.perf_counter() - began
            summary = training_summary(run, learned, finder, training_file, label, seconds)
            stderr.write(f"genoseq: {summary}\n")
        return 0
    with warnings_to(stderr, args.quiet):
        run = predict_to_files(args.input, finder, output=output, format=args.format,
                               proteins=args.proteins, nucleotides=args.nucleotides,
                               starts=args.starts, starts_tsv=args.starts_tsv,
                               coding_track=args.coding_track, label=label)
    if not args.quiet:
        seconds = time.perf_counter() - began  # loading the model and writing included
        stderr.write(f"genoseq: {run_summary(run, finder, label, seconds)}\n")
    return 0


def _run_train_genes(args, stdout: TextIO, stderr: TextIO) -> int:
    from dataclasses import replace

    from genoseq.genes.train import CODING_TRAINING, train_gene_finder

    holdout = tuple(name for name in args.holdout.split(",") if name)
    coding = replace(CODING_TRAINING, steps_per_epoch=args.steps, max_epochs=args.epochs,
                     patience=args.patience, learning_rate=args.learning_rate)
    if args.only_fold is not None and not 0 <= args.only_fold < args.calibration_folds:
        stderr.write(f"genoseq: error: --only-fold {args.only_fold}: there are "
                     f"{args.calibration_folds} calibration folds, numbered from 0\n")
        return 2
    if args.only_fold is not None and args.calibration_genomes:
        stderr.write("genoseq: error: --only-fold trains calibration fold networks, which "
                     "--calibration-genomes replaces\n")
        return 2
    metadata = train_gene_finder(args.genomes, args.out, args.run_dir, holdout=holdout,
                                 coding_config=coding, window=args.window, seed=args.seed,
                                 calibration_folds=args.calibration_folds,
                                 fold_epochs=args.fold_epochs, networks_from=args.networks,
                                 frame_channels=args.frame_channels,
                                 calibration_genomes=args.calibration_genomes,
                                 only_fold=args.only_fold,
                                 compute=compute_options(args, stderr), progress=not args.quiet)
    if args.only_fold is not None:
        stdout.write(f"trained fold {args.only_fold}'s networks (held out: "
                     f"{', '.join(metadata['scored_genomes'])}) into "
                     f"{args.run_dir}/fold{args.only_fold}; the command without --only-fold "
                     f"resumes them\n")
        return 0
    where = {"out of fold": "training genomes scored out of fold",
             "separate genomes": "calibration genomes"}.get(
                 metadata["calibration"]["method"], "validation part of the training genomes")
    for key, name in (("decoder_validation", "plain"),
                      ("decoder_adapted_validation", "self-trained")):
        figures = metadata[key]
        stdout.write(f"{name} pass, {where}: F1 "
                     f"{figures['f1']:.4f}, exact starts {figures['exact_start']:.4f}\n")
    stdout.write(f"wrote {args.out}.pt and {args.out}.json\n")
    return 0


def _run_train_meta_library(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.genes.metalib import train_meta_library

    holdout = tuple(name for name in args.holdout.split(",") if name)
    log = None if args.quiet else (lambda line: stderr.write(line + "\n"))
    keep = None
    if args.keep_weights is not None:
        from genoseq.genes.metalib import read_library

        keep = read_library(args.keep_weights)
        if args.edge_bonus is not None and args.edge_bonus != keep.params.edge_bonus:
            raise InvalidFileError("--edge-bonus", None, f"{args.edge_bonus:g} contradicts "
                                   f"--keep-weights {args.keep_weights}, whose edge bonus is "
                                   f"{keep.params.edge_bonus:g}")
    library = train_meta_library(args.genomes, args.calibration_genomes, args.out,
                                 model=args.model, holdout=holdout,
                                 compute=compute_options(args, stderr),
                                 progress=not args.quiet, log=log,
                                 edge_bonus=args.edge_bonus or 0.0, keep_weights=keep)
    figures = library.metadata["calibration_figures"]
    stdout.write(f"{len(library.entries)} genomes in the library; calibration contigs of "
                 f"{', '.join(library.metadata['calibration_genomes'])}: F1 {figures['f1']:.4f} "
                 f"(mean over genomes {figures['mean_f1']:.4f}), exact starts "
                 f"{figures['exact_start']:.4f}\nwrote {args.out}\n")
    return 0


def _run_train_student(args, stdout: TextIO, stderr: TextIO) -> int:
    from dataclasses import replace

    from genoseq.genes.distill import STUDENT_TRAINING, distill_coding_model

    config = replace(STUDENT_TRAINING, steps_per_epoch=args.steps, max_epochs=args.epochs,
                     patience=args.patience)
    try:
        metadata = distill_coding_model(args.genomes, args.teacher, args.out, args.run_dir,
                                        config=config, window=args.window, seed=args.seed,
                                        teacher_weight=args.teacher_weight,
                                        compute=compute_options(args, stderr),
                                        progress=not args.quiet)
    except ValueError as error:  # a teacher, folder or setting that cannot serve
        stderr.write(f"genoseq: error: {error}\n")
        return 2
    student = metadata["coding_student"]
    best = student["history"][student["best_epoch"] - 1]
    stdout.write(f"student coding model, epoch {student['best_epoch']}: validation loss "
                 f"{best['loss']:.4f}, accuracy {best['accuracy']:.4f}\n"
                 f"wrote {args.out}.pt and {args.out}.json\n")
    return 0


def register(commands, parser_class) -> None:
    """Add ``predict`` to the ``genoseq`` subcommands."""
    predict = commands.add_parser(
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
                         help="write every candidate gene (all starts) with its scores, in "
                              "Prodigal's start-file format")
    predict.add_argument("--starts-tsv", metavar="FILE",
                         help="write every candidate gene (all starts) as genoseq's TSV: "
                              "seqid, coordinates, start codon, partial, coding, start and "
                              "total score")
    predict.add_argument("-p", "--procedure", default="single", choices=("single", "meta"),
                         help="single genome or metagenome (default: single)")
    predict.add_argument("-g", "--translation-table", type=int, default=None, metavar="N",
                         help="NCBI translation table (default: 11, or the -t file's; 4 for "
                              "Mycoplasma)")
    predict.add_argument("-c", "--closed", action="store_true",
                         help="closed ends: no genes running off sequence edges")
    predict.add_argument("-m", "--mask", action="store_true",
                         help="Prodigal's -m: no genes across runs of >= 50 N (genoseq "
                              "never builds genes across them, so calls are the same without)")
    predict.add_argument("-n", "--force-nonsd", action="store_true",
                         help="Prodigal's -n (bypass the Shine-Dalgarno trainer): no "
                              "Shine-Dalgarno class score, so starts are scored by the start "
                              "detector and the position-by-position start profile alone "
                              "(uses_sd=0); by default the score is used where the genome's "
                              "starts show SD sites")
    predict.add_argument("-t", "--training-file", metavar="FILE",
                         help="Prodigal's -t: if FILE does not exist, train on the input (a "
                              "whole genome), write FILE and predict nothing; if it exists, "
                              "read it and predict with its statistics instead of "
                              "self-training, on any input however short (a genome's "
                              "plasmids, its drafts). genoseq's own JSON format; not with "
                              "-p meta")
    predict.add_argument("--min-len", type=int, default=90, metavar="BP",
                         help="shortest gene, bp including the stop codon (default: 90)")
    predict.add_argument("--coding-track", metavar="FILE",
                         help="per-base coding probability of each strand, bedGraph")
    predict.add_argument("--model", metavar="STEM", help="gene models (default: shipped)")
    add_compute_arguments(predict, batch_size=32, batch_help="coding-model windows per batch",
                          precision=True, quiet="no progress bar, warnings or run summary")
    predict.add_argument("-j", "--jobs", type=job_count, default=None, metavar="N",
                         help="pyrodigal's parallel jobs, mapped onto --threads (0: every CPU)")
    predict.add_argument("-v", "-V", "--version", action=_PrintVersion,
                         help="print the version on standard error, as Prodigal does, and exit")
    predict.add_argument("--no-recheck", dest="recheck", action="store_false",
                         help="in bf16/fp16, do not re-score near-tied calls in fp32 (faster; "
                              "a rare near tie may then go the other way)")
    predict.add_argument("--no-meta-library", dest="meta_library", action="store_false",
                         help="-p meta: decode each record with the networks and the general "
                              "weights only, without borrowing the hexamer and start "
                              "statistics of the model's library genomes")
    predict.set_defaults(run=_run_predict)


def register_training(train_tasks, parser_class) -> None:
    """Add ``genes`` to the ``genoseq train`` tasks."""
    genes = train_tasks.add_parser(
        "genes", help="train the gene finder (coding model, start detector, decoder weights)",
        description="Train the gene finder on a folder of annotated genomes laid out as "
        "genomes.tsv + <name>.fna.gz + <name>.gff3.gz (see genoseq/weights/genes.md). "
        "Held-out genomes are never read. Each stage checkpoints into --run-dir and resumes "
        "from it.")
    genes.add_argument("--genomes", required=True, metavar="DIR", nargs="+",
                       help="genome folder(s), each with its genomes.tsv")
    genes.add_argument("--holdout", default=",".join(DEFAULT_HOLDOUT), metavar="NAMES",
                       help="comma-separated genomes kept out of training (default: %(default)s)")
    add_run_arguments(genes)
    genes.add_argument("--epochs", type=int, default=20, help="most coding-model epochs")
    genes.add_argument("--steps", type=int, default=300, help="batches per epoch")
    genes.add_argument("--patience", type=positive_int, default=6,
                       help="coding-model epochs without validation improvement before "
                            "stopping; may be changed when resuming")
    genes.add_argument("--learning-rate", type=float, default=CODING_LEARNING_RATE,
                       help="coding-model learning rate (default: %(default)s)")
    genes.add_argument("--window", type=int, default=3000, help="training window, bp")
    genes.add_argument("--calibration-folds", type=fold_count, default=2, metavar="K",
                       help="fit the decoder weights out of fold: networks trained without "
                            "each of K folds of the training genomes score that fold "
                            "(default: 2; 0 fits them on the validation parts instead)")
    genes.add_argument("--fold-epochs", type=positive_int, default=8, metavar="N",
                       help="coding-model epochs of each fold's networks (default: 8)")
    genes.add_argument("--only-fold", type=int, metavar="K",
                       help="train only calibration fold K's networks (0 to K-1) into "
                            "RUN_DIR/foldK and stop; run the folds beside the full command "
                            "(same arguments otherwise), which then resumes them")
    genes.add_argument("--networks", metavar="STEM",
                       help="take the coding model and start detector from STEM, a model this "
                            "command trained on the same genomes, hold-out and seed, and fit "
                            "only the fold networks and the decoder weights")
    genes.add_argument("--calibration-genomes", nargs="+", metavar="DIR",
                       help="fit the decoder weights on these genome folders instead, each "
                            "genome scored whole by the trained networks (no fold networks); "
                            "they must not hold training or held-out genomes")
    genes.add_argument("--frame-channels", action="store_true",
                       help="give the coding model the open-frame input channels: per frame, "
                            "codons to the nearest in-frame stop codon downstream and upstream")
    add_compute_arguments(genes, batch_size=32, batch_help="training windows per batch")
    genes.set_defaults(run=_run_train_genes)

    library = train_tasks.add_parser(
        "meta-library", help="build -p meta's statistics library and fit its decoder weights",
        description="Learn hexamer and start statistics from the reference CDS of every genome "
        "of --genomes and --calibration-genomes (held-out genomes excepted) and fit the decoder "
        "weights that use them on 20 kb contigs of the calibration genomes, scored by the "
        "model's networks (which must never have seen them), each contig with its own genome "
        "left out of the library. Writes one .npz; the finder reads STEM.meta.npz beside a "
        "model STEM, and genoseq/weights/genes.meta.npz for the shipped model.")
    library.add_argument("--genomes", required=True, metavar="DIR", nargs="+",
                         help="genome folder(s), each with its genomes.tsv")
    library.add_argument("--calibration-genomes", required=True, nargs="+", metavar="DIR",
                         help="genome folder(s) the networks never saw: library entries and "
                              "calibration contigs")
    library.add_argument("--holdout", default=",".join(DEFAULT_HOLDOUT), metavar="NAMES",
                         help="comma-separated genomes left out (default: %(default)s)")
    library.add_argument("--model", metavar="STEM",
                         help="the model whose networks score the contigs (default: shipped)")
    library.add_argument("-o", "--out", required=True, metavar="FILE",
                         help="library file to write (STEM.meta.npz beside a model STEM)")
    library.add_argument("--edge-bonus", type=float, default=None, metavar="SCORE",
                         help="score added for each end of a gene cut by a contig's end "
                              "(chosen on short pieces by benchmarks/gene_edges.py "
                              "--edge-bonus; the shipped library: 4; default 0)")
    library.add_argument("--keep-weights", metavar="LIBRARY",
                         help="keep this library's decoder weights (edge bonus included) "
                              "instead of fitting them: add genomes to a library without "
                              "moving its weights; the calibration contigs still give the "
                              "figures recorded")
    add_compute_arguments(library, batch_size=32, batch_help="coding-model windows per batch")
    library.set_defaults(run=_run_train_meta_library)

    student = train_tasks.add_parser(
        "genes-student", help="train a faster coding model taught by a gene model's own",
        description="Train a coding model with four codons per recurrent step (half the "
        "recurrent steps of the shipped one) to give the teacher's per-base distribution "
        "(and the reference labels), on the teacher's training genomes only; write a gene "
        "model that is the teacher's with the coding model replaced (same start detector and "
        "decoder weights). Checkpoints into --run-dir and resumes from it.")
    student.add_argument("--genomes", required=True, metavar="DIR",
                         help="the genome folder the teacher was trained on (genomes.tsv)")
    student.add_argument("--teacher", metavar="STEM",
                         help="teacher gene model (default: the shipped one)")
    add_run_arguments(student)
    student.add_argument("--epochs", type=positive_int, default=12, help="most epochs")
    student.add_argument("--steps", type=positive_int, default=300, help="batches per epoch")
    student.add_argument("--patience", type=positive_int, default=12,
                         help="epochs without validation improvement before stopping")
    student.add_argument("--window", type=positive_int, default=3000,
                         help="training window, bp (a multiple of 3)")
    student.add_argument("--teacher-weight", type=float, default=0.75, metavar="W",
                         help="share of the teacher's distribution in the loss, the rest "
                              "the reference labels (default: %(default)s)")
    add_compute_arguments(student, batch_size=32, batch_help="training windows per batch")
    student.set_defaults(run=_run_train_student)
