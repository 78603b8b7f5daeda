"""``genoseq ss`` (predict secondary structure) and ``genoseq train ss``.

Registered by :mod:`genoseq.cli`; torch is imported only when a command runs.
"""

from __future__ import annotations

from typing import TextIO

from genoseq._cli import add_compute_arguments, add_run_arguments, compute_options


def _run_ss(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.structure.predict import predict_to_files

    predict_to_files(args.input, stdout if args.output == "-" else args.output,
                     probs=args.probs, model=args.model, compute=compute_options(args, stderr))
    return 0


def _run_train_ss(args, stdout: TextIO, stderr: TextIO) -> int:
    from dataclasses import replace

    from genoseq.nn.train import TrainConfig
    from genoseq.structure.model import default_config
    from genoseq.structure.train import train_secondary_structure

    # Architecture flags left unset keep the shipped model's values.
    model_config = replace(default_config(), **{
        name: getattr(args, name) for name in ARCHITECTURE_FLAGS
        if getattr(args, name) is not None})
    train_config = TrainConfig(steps_per_epoch=args.steps, max_epochs=args.epochs,
                               patience=args.patience, learning_rate=args.learning_rate,
                               seed=args.seed, monitor=args.monitor)
    options = dict(model_config=model_config, max_residues=args.max_residues, crop=args.crop,
                   valid_chains=args.valid_chains, label_smoothing=args.label_smoothing,
                   exclude=args.exclude, pseudo=args.pseudo,
                   pseudo_fraction=args.pseudo_fraction, compute=compute_options(args, stderr))
    if args.seeds:
        from genoseq.structure.train import train_ss_ensemble

        metadata = train_ss_ensemble(args.train, args.valid, args.out, args.run_dir,
                                     args.seeds, train_config=train_config, **options)
    else:
        metadata = train_secondary_structure(
            args.train, args.valid, args.out, args.run_dir, train_config=train_config,
            **options)
    _report_scores(metadata, args.out, stdout)
    return 0


def _run_combine_ss(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.structure.train import combine_ss_models

    metadata = combine_ss_models(args.models, args.valid, args.out, exclude=args.exclude,
                                 compute=compute_options(args, stderr))
    _report_scores(metadata, args.out, stdout)
    return 0


def _run_pseudo_label(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.structure.pseudo import pseudo_label_table

    counts = pseudo_label_table(args.input, args.output, model=args.model,
                                min_confidence=args.min_confidence, min_length=args.min_length,
                                compute=compute_options(args, stderr))
    stdout.write(f"labelled {counts['proteins']} proteins ({counts['residues']} residues, "
                 f"{counts['kept_residues']} with mask 1; {counts['skipped_short']} shorter "
                 f"than {args.min_length} left out); wrote {args.output}\n")
    return 0


def _fraction(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: expected a number from 0 to 1")
    return value


def _report_scores(metadata: dict, out, stdout: TextIO) -> None:
    scores = metadata["valid_scores"]
    stdout.write(f"validation ({scores['q3_residues']} residues): Q3 {scores['q3']:.4f} "
                 f"(Q3 head {scores['q3_head']:.4f}, from Q8 {scores['q3_from_q8']:.4f}), "
                 f"Q8 {scores['q8']:.4f}\n")
    stdout.write(f"wrote {out}.pt and {out}.json\n")


def _seed_list(text: str) -> list[int]:
    import argparse

    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected comma-separated integers") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text}: expected distinct comma-separated integers")
    return seeds


ARCHITECTURE_FLAGS = ("conv_channels", "conv_kernel", "conv_layers", "hidden", "lstm_layers",
                      "dropout")


def register(commands, parser_class) -> None:
    """Add ``ss`` to the ``genoseq`` subcommands."""
    ss = commands.add_parser(
        "ss", help="predict protein secondary structure (Q3 and Q8) from single sequences",
        description="Predict per-residue secondary structure with a BiLSTM from the amino-acid "
        "sequence alone (no alignments): Q3 (H helix, E strand, C coil) and Q8 (DSSP H G I E "
        "B T S C). Input: protein FASTA, plain/gzip/bz2/xz, e.g. the .faa of 'genoseq predict "
        "-a'; '-' for standard input. Output: TSV with columns id, sequence, q3, q8.")
    ss.add_argument("-i", "--input", default="-", metavar="FILE",
                    help="protein FASTA (default: standard input)")
    ss.add_argument("-o", "--output", default="-", metavar="FILE",
                    help="TSV id, sequence, q3, q8 (default: standard output)")
    ss.add_argument("--probs", metavar="FILE",
                    help="also write per-residue probabilities, TSV (one line per residue)")
    ss.add_argument("--model", metavar="STEM", help="model STEM.pt/.json (default: shipped)")
    add_compute_arguments(ss, batch_size=64, batch_help="chains per batch, batched by length",
                          precision=True, int8=True, quiet="no progress bar")
    ss.set_defaults(run=_run_ss)


def register_training(train_tasks, parser_class) -> None:
    """Add ``ss``, ``ss-ensemble`` and ``ss-pseudolabel`` to the ``genoseq train`` tasks."""
    train = train_tasks.add_parser(
        "ss", help="train the secondary-structure model",
        description="Train the Q8+Q3 BiLSTM on a table in the format of "
        "../shared/data/ss/README.md (id, seq, q8, q3, mask; q8 may be empty), early-stopping "
        "on a validation table. Never train or stop on a benchmark set (CB513, TS115). "
        "Checkpoints go to --run-dir; an interrupted run resumes from there.")
    train.add_argument("--train", required=True, metavar="FILE", help="training table")
    train.add_argument("--valid", required=True, metavar="FILE", help="validation table")
    add_run_arguments(train)
    train.add_argument("--seeds", type=_seed_list, default=None, metavar="S1,S2,...",
                       help="train one model per seed (checkpoints in RUN_DIR/seed<S>) and "
                            "write their ensemble, which averages their probabilities")
    train.add_argument("--epochs", type=int, default=20, help="most epochs (default: 20)")
    train.add_argument("--steps", type=int, default=200, help="batches per epoch (default: 200)")
    train.add_argument("--patience", type=int, default=3,
                       help="epochs without validation improvement before stopping (default: 3)")
    train.add_argument("--monitor", choices=("loss", "accuracy"), default="loss",
                       help="validation figure that early stopping and the kept epoch follow: "
                            "loss, or the Q3 accuracy of the shipped call (default: loss)")
    train.add_argument("--learning-rate", type=float, default=3e-3)
    train.add_argument("--max-residues", type=int, default=8192,
                       help="padded residues per batch (default: 8192)")
    train.add_argument("--crop", type=int, default=256,
                       help="longest piece of a chain in a batch (default: 256)")
    train.add_argument("--valid-chains", type=int, default=None, metavar="N",
                       help="early-stop on N random validation chains (default: all)")
    train.add_argument("--label-smoothing", type=float, default=0.0)
    train.add_argument("--exclude", metavar="FILE",
                       help="chain ids to leave out of --train and --valid (first column; a "
                       "header 'id' is skipped), e.g. benchmarks/results/"
                       "ss_clean_split_removed.tsv")
    train.add_argument("--pseudo", metavar="FILE",
                       help="pseudo-labelled table ('genoseq train ss-pseudolabel') to train on "
                       "beside --train")
    train.add_argument("--pseudo-fraction", type=_fraction, default=0.5, metavar="F",
                       help="share of training batches drawn from --pseudo (default: 0.5)")
    architecture = "(default: the shipped model's)"
    train.add_argument("--conv-channels", type=int, help=f"conv front width {architecture}")
    train.add_argument("--conv-kernel", type=int, help=f"first conv kernel {architecture}")
    train.add_argument("--conv-layers", type=int, help=f"conv blocks {architecture}")
    train.add_argument("--hidden", type=int,
                       help=f"LSTM hidden size per direction {architecture}")
    train.add_argument("--lstm-layers", type=int, help=f"stacked BiLSTM layers {architecture}")
    train.add_argument("--dropout", type=float, help=f"dropout {architecture}")
    add_compute_arguments(train)
    train.set_defaults(run=_run_train_ss)

    combine = train_tasks.add_parser(
        "ss-ensemble", help="average saved secondary-structure models into one ensemble",
        description="Combine saved secondary-structure models (STEM.pt/.json from 'genoseq "
        "train ss': single networks or ensembles, of any architecture) into one ensemble that "
        "averages their probabilities, scored on a validation table (never a benchmark set).")
    combine.add_argument("models", nargs="+", metavar="STEM", help="saved models to combine")
    combine.add_argument("--valid", required=True, metavar="FILE", help="validation table")
    combine.add_argument("-o", "--out", required=True, metavar="STEM",
                         help="write STEM.pt (weights) and STEM.json (config, metrics)")
    combine.add_argument("--exclude", metavar="FILE",
                         help="chain ids to leave out of --valid (as for 'train ss')")
    add_compute_arguments(combine, quiet=None)
    combine.set_defaults(run=_run_combine_ss)

    label = train_tasks.add_parser(
        "ss-pseudolabel", help="label unlabelled proteins with a secondary-structure teacher",
        description="Predict Q8 and Q3 for the proteins of a FASTA file with a trained model "
        "(the teacher) and write them as a training table (id, seq, q8, q3, mask) for 'genoseq "
        "train ss --pseudo'. Filter the proteins against the benchmark sets first (at most 25%% "
        "identity), as for labelled chains.")
    label.add_argument("-i", "--input", required=True, metavar="FILE", help="protein FASTA")
    label.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="table to write (.gz: gzip)")
    label.add_argument("--model", metavar="STEM", help="teacher STEM.pt/.json (default: shipped)")
    label.add_argument("--min-confidence", type=_fraction, default=0.0, metavar="P",
                       help="mask residues whose Q3 call has a teacher probability below P "
                       "(default: 0, keep all)")
    label.add_argument("--min-length", type=int, default=30, metavar="AA",
                       help="leave out proteins shorter than this (default: 30)")
    add_compute_arguments(label, batch_size=64, batch_help="chains per batch, batched by length",
                          precision=True, int8=True, quiet="no progress bar")
    label.set_defaults(run=_run_pseudo_label)
