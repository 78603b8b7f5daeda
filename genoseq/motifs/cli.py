"""``genoseq motifs``: scan, train, predict, logo (and ``genoseq train motifs``)."""

from __future__ import annotations

import argparse
from typing import TextIO

from genoseq._cli import add_compute_arguments, add_run_arguments, compute_options
from genoseq.io import InvalidFileError
from genoseq.io.atomic import OutputSet

DEFAULT_MIN_RELATIVE = 0.8


def _floats(option: str, text: str, count: int) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise InvalidFileError(option, None, f"{text!r}: expected {count} comma-separated numbers")
    return values


def _indices(option: str, text: str, limit: int) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = [-1]
    if any(not 0 <= v < limit for v in values):
        raise InvalidFileError(option, None, f"{text!r}: expected comma-separated filter numbers "
                               f"from 0 to {limit - 1}")
    return values


def _motifs(path: str, names: str | None, option: str = "--names"):
    from genoseq.motifs.pwm import read_motifs, select_motifs

    try:
        return select_motifs(read_motifs(path), names)
    except ValueError as error:
        if isinstance(error, InvalidFileError):
            raise
        raise InvalidFileError(option, None, f"{error} in {path}") from None


def _run_scan(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.motifs.scan import scan_motifs, write_hits

    if args.min_relative is not None and not 0 <= args.min_relative <= 1:
        raise InvalidFileError("--min-relative", None,
                               f"{args.min_relative}: expected a number from 0 to 1")
    if args.pseudocount <= 0:
        raise InvalidFileError("--pseudocount", None, f"{args.pseudocount}: expected > 0")
    background = None if args.background is None else _floats("--background", args.background, 4)
    if background is not None and min(background) <= 0:
        raise InvalidFileError("--background", None, f"{args.background!r}: expected 4 "
                               "positive frequencies of A, C, G, T")
    min_relative = args.min_relative
    if min_relative is None and args.threshold is None:
        min_relative = DEFAULT_MIN_RELATIVE
    outputs = OutputSet({"-o": stdout if args.output == "-" else args.output},
                        inputs=[args.input, args.motifs])
    hits = scan_motifs(args.input, _motifs(args.motifs, args.names), threshold=args.threshold,
                       min_relative=min_relative, both_strands=not args.forward_only,
                       pseudocount=args.pseudocount, background=background,
                       compute=compute_options(args, stderr))
    with outputs.writing():
        write_hits(hits, outputs.open("-o"))
    return 0


def _run_train(args, stdout: TextIO, stderr: TextIO) -> int:
    from dataclasses import replace

    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    from genoseq.motifs.model import (
        read_labelled,
        save_motif_model,
        score_sequences,
        train_motif_cnn,
    )
    from genoseq.nn.motif_cnn import MotifCNNConfig
    from genoseq.nn.train import TrainConfig

    if (args.train is None) == (args.positives is None or args.negatives is None):
        raise InvalidFileError("--train", None, "give either --train TSV or both --positives "
                               "and --negatives FASTA files")
    if not 0 < args.valid_fraction < 1:
        raise InvalidFileError("--valid-fraction", None, f"{args.valid_fraction}: expected a "
                               "number between 0 and 1")
    data = read_labelled(args.train, positives=args.positives, negatives=args.negatives)
    if args.valid is not None:
        train, valid = data, read_labelled(args.valid)
    else:
        order = np.random.default_rng(args.seed).permutation(len(data))
        cut = max(1, round(args.valid_fraction * len(data)))
        train, valid = data.subset(np.sort(order[cut:])), data.subset(np.sort(order[:cut]))
    for part, name in ((train, "training"), (valid, "validation")):
        if len(set(part.labels.tolist())) < 2:
            raise InvalidFileError(args.valid or args.train or args.positives, None,
                                   f"the {name} set needs both labels 0 and 1")
    if args.init_names is not None and args.init_motifs is None:
        raise InvalidFileError("--init-names", None, "needs --init-motifs FILE")
    init = () if args.init_motifs is None else _motifs(args.init_motifs, args.init_names,
                                                       "--init-names")
    if len(init) > args.filters:
        raise InvalidFileError("--init-names", None, f"{len(init)} motifs do not fit "
                               f"{args.filters} filters")
    config = MotifCNNConfig(n_filters=args.filters, filter_width=args.width, pool=0,
                            hidden=args.hidden, n_outputs=1, dropout=args.dropout,
                            both_strands=True)
    train_config = TrainConfig(steps_per_epoch=-(-len(train) // args.batch_size),
                               max_epochs=args.epochs, patience=args.patience,
                               learning_rate=args.lr, seed=args.seed)
    # --batch-size is the training batch; validation batches keep their default.
    compute = replace(compute_options(args, stderr), batch_size=None)
    result = train_motif_cnn(train, valid, config, train_config, args.run_dir,
                             init_motifs=init, init_scale=args.init_scale,
                             pseudocount=args.pseudocount, batch_size=args.batch_size,
                             compute=compute)
    scores = score_sequences(result.model, valid.sequences(), compute=compute)
    best = result.history[result.best_epoch - 1]
    metrics = {"best_epoch": result.best_epoch, "epochs_run": len(result.history),
               "valid_loss": best["loss"], "valid_accuracy": best["accuracy"],
               "valid_auroc": float(roc_auc_score(valid.labels, scores)),
               "valid_auprc": float(average_precision_score(valid.labels, scores))}
    settings = {k: v for k, v in vars(args).items() if k not in ("run", "command", "action",
                                                                  "task", "quiet")}
    save_motif_model(result.model.cpu(), args.out, {
        "init_filters": [f"{m.id} {m.name}" for m in init], "n_train": len(train),
        "n_valid": len(valid), "train_config": train_config.to_dict(),
        "arguments": settings, "validation": metrics, "history": result.history})
    stdout.write(f"best epoch {result.best_epoch} of {len(result.history)}: validation loss "
                 f"{metrics['valid_loss']:.4f}, AUROC {metrics['valid_auroc']:.4f}, "
                 f"AUPRC {metrics['valid_auprc']:.4f}\n")
    stdout.write(f"wrote {args.out}.pt and {args.out}.json\n")
    return 0


def _run_predict(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.io import read_fasta
    from genoseq.motifs.model import load_motif_model, score_sequences

    outputs = OutputSet({"-o": stdout if args.output == "-" else args.output},
                        inputs=[args.input])
    compute = compute_options(args, stderr)
    model, _ = load_motif_model(args.model)
    records = list(read_fasta(args.input, alphabet="dna"))
    scores = score_sequences(model, [r.seq for r in records], compute=compute)
    with outputs.writing():
        handle = outputs.open("-o")
        handle.write("id\tscore\n")
        handle.writelines(f"{r.id}\t{s:.6f}\n" for r, s in zip(records, scores, strict=True))
    return 0


def _run_logo(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.motifs.compare import best_matches
    from genoseq.motifs.logo import filter_logo, motif_logo, save_logos
    from genoseq.motifs.model import load_motif_model

    if (args.model is None) == (args.motifs is None):
        raise InvalidFileError("-m", None, "give either -m MODEL (learned filters) or "
                               "--motifs FILE (known motifs)")
    outputs = OutputSet({"-o": args.output}, inputs=[args.motifs, args.match])
    if args.motifs is not None:
        motifs = _motifs(args.motifs, args.names)
        with outputs.writing():
            save_logos([motif_logo(m) for m in motifs], outputs.open("-o", "wb"),
                       titles=[f"{m.id} {m.name}" for m in motifs], ylabel="bits")
        return 0
    model, _ = load_motif_model(args.model)
    weights = model.filters.weight.detach().numpy()
    chosen = (range(len(weights)) if args.filters is None
              else _indices("--filters", args.filters, len(weights)))
    titles = [f"filter {i}" for i in chosen]
    if args.match is not None:
        matches = best_matches(weights[list(chosen)], _motifs(args.match, None, "--match"))
        matches["filter"] = list(chosen)
        for position, best in enumerate(matches.itertuples()):
            titles[position] += f": best match {best.motif} {best.name} (score {best.score:.2f})"
        matches.to_csv(stdout, sep="\t", index=False, float_format="%.4f", lineterminator="\n")
    with outputs.writing():
        save_logos([filter_logo(weights[i]) for i in chosen], outputs.open("-o", "wb"),
                   titles=titles, ylabel="weight")
    return 0


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from genoseq.motifs.pwm import DEFAULT_INIT_SCALE

    data = parser.add_argument_group("data")
    data.add_argument("--train", metavar="TSV",
                      help="labelled sequences: TSV with 'sequence' and 'label' (0/1) columns")
    data.add_argument("--positives", metavar="FASTA", help="label-1 sequences (with --negatives)")
    data.add_argument("--negatives", metavar="FASTA", help="label-0 sequences (with --positives)")
    data.add_argument("--valid", metavar="TSV",
                      help="validation sequences for early stopping (default: a random "
                      "--valid-fraction of the training data)")
    data.add_argument("--valid-fraction", type=float, default=0.1, metavar="F",
                      help="share held out for validation without --valid (default: 0.1)")
    model = parser.add_argument_group("model")
    model.add_argument("--init-motifs", metavar="FILE",
                       help="JASPAR/MEME file whose PWMs start the first filters "
                       "(default: all filters random)")
    model.add_argument("--init-names", metavar="NAMES",
                       help="comma-separated ids or names from --init-motifs (default: all)")
    model.add_argument("--init-scale", type=float, default=DEFAULT_INIT_SCALE, metavar="F",
                       help="factor on the PWMs' log2-odds (centred per position), to "
                       f"match the scale of random filters (default: {DEFAULT_INIT_SCALE})")
    model.add_argument("--filters", type=int, default=32, help="motif filters (default: 32)")
    model.add_argument("--width", type=int, default=19, help="filter width, bp (default: 19)")
    model.add_argument("--hidden", type=int, default=32,
                       help="dense layer width, 0 for a linear readout (default: 32)")
    model.add_argument("--dropout", type=float, default=0.2, help="(default: 0.2)")
    model.add_argument("--pseudocount", type=float, default=1.0,
                       help="pseudocount per PWM column for --init-motifs (default: 1)")
    fit = parser.add_argument_group("training")
    add_run_arguments(fit)
    fit.add_argument("--epochs", type=int, default=30, help="most epochs (default: 30)")
    fit.add_argument("--patience", type=int, default=4,
                     help="stop after this many epochs without a better validation loss "
                     "(default: 4)")
    fit.add_argument("--lr", type=float, default=3e-3, help="learning rate (default: 0.003)")
    add_compute_arguments(parser, batch_size=64, batch_help="items per batch",
                          quiet="no progress bars")
    parser.set_defaults(run=_run_train)


TRAIN_DESCRIPTION = (
    "Train a MotifCNN (filters on both strands → global max pooling → dense layer) to tell "
    "label-1 from label-0 sequences, seeded, with early stopping on the validation loss. "
    "Filters start as PWMs (--init-motifs) or at random.")


def register(commands, parser_class) -> None:
    """Add ``genoseq motifs ...``."""
    motifs = commands.add_parser(
        "motifs", help="scan DNA with JASPAR/MEME motifs; train and run motif CNNs; logos",
        description="Motif tools: PWM scanning, CNN motif detectors, sequence logos.")
    sub = motifs.add_subparsers(dest="action", metavar="ACTION", parser_class=parser_class,
                                required=True)

    scan = sub.add_parser(
        "scan", help="find motif matches (TSV of hits)",
        description="Scan DNA with PWMs from a JASPAR or MEME file, both strands, as batched "
        "convolutions. Output TSV: record, start (0-based), end, strand, motif, name, score "
        "(log2 odds), relative_score ((score - min) / (max - min)). Windows covering N or "
        "another ambiguity code are skipped.")
    scan.add_argument("-i", "--input", default="-", metavar="FILE",
                      help="FASTA, plain/gzip/bz2/xz (default: standard input)")
    scan.add_argument("--motifs", required=True, metavar="FILE", help="JASPAR or MEME motif file")
    scan.add_argument("--names", metavar="NAMES",
                      help="comma-separated motif ids or names to scan (default: all)")
    scan.add_argument("-o", "--output", default="-", metavar="FILE",
                      help="hits TSV (default: standard output)")
    scan.add_argument("--threshold", type=float, metavar="SCORE",
                      help="lowest log2-odds score reported")
    scan.add_argument("--min-relative", type=float, metavar="R",
                      help=f"lowest relative score, 0-1 (default: {DEFAULT_MIN_RELATIVE} "
                      "unless --threshold is given)")
    scan.add_argument("--forward-only", action="store_true", help="skip the reverse strand")
    scan.add_argument("--pseudocount", type=float, default=1.0,
                      help="added to each PWM column, spread by the background (default: 1)")
    scan.add_argument("--background", metavar="A,C,G,T",
                      help="base frequencies for the log-odds (default: uniform)")
    add_compute_arguments(scan, batch_size=None, batch_help="items per batch",
                          quiet="no progress bar")
    scan.set_defaults(run=_run_scan)

    _add_train_arguments(sub.add_parser("train", help="train a motif CNN on labelled sequences",
                                        description=TRAIN_DESCRIPTION))

    predict = sub.add_parser(
        "predict", help="score sequences with a motif CNN (TSV: id, score)",
        description="Probability that each sequence holds the site a motif CNN was trained on. "
        "Sequences of any length (long ones are scored in overlapping pieces, exactly).")
    predict.add_argument("-m", "--model", default="ctcf", metavar="MODEL",
                         help="shipped model name or STEM of STEM.pt/STEM.json (default: ctcf)")
    predict.add_argument("-i", "--input", default="-", metavar="FILE",
                         help="FASTA (default: standard input)")
    predict.add_argument("-o", "--output", default="-", metavar="FILE",
                         help="scores TSV (default: standard output)")
    add_compute_arguments(predict, batch_size=256, batch_help="items per batch", quiet=None)
    predict.set_defaults(run=_run_predict)

    logo = sub.add_parser(
        "logo", help="sequence logos of learned filters or known motifs (PNG)",
        description="Draw learned filters of a motif CNN (-m; centred weights) or known motifs "
        "(--motifs; information content) as sequence logos, one per row, into a PNG. With "
        "--match, each filter's most similar known motif (column Pearson correlation over "
        "all offsets and both strands) is printed as TSV and written in its title.")
    logo.add_argument("-m", "--model", metavar="MODEL", help="shipped name or STEM")
    logo.add_argument("--filters", metavar="N,N", help="filter numbers to draw (default: all)")
    logo.add_argument("--match", metavar="FILE", help="JASPAR/MEME file to match filters against")
    logo.add_argument("--motifs", metavar="FILE", help="draw motifs from a JASPAR/MEME file")
    logo.add_argument("--names", metavar="NAMES", help="motif ids or names (default: all)")
    logo.add_argument("-o", "--output", required=True, metavar="PNG", help="image to write")
    logo.set_defaults(run=_run_logo)


def register_training(train_tasks, parser_class) -> None:
    """Add ``motifs`` to the ``genoseq train`` tasks (the same as ``genoseq motifs train``)."""
    _add_train_arguments(train_tasks.add_parser("motifs", help="train a motif CNN (as "
                                                "'genoseq motifs train')",
                                                description=TRAIN_DESCRIPTION))
