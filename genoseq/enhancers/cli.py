"""``genoseq enhancer`` (score element–gene pairs) and ``genoseq train enhancer``."""

from __future__ import annotations

from typing import TextIO

from genoseq._cli import add_compute_arguments, compute_options, warnings_to
from genoseq.io import InvalidFileError
from genoseq.io.atomic import OutputSet


def _run_enhancer(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.enhancers.model import load_enhancer_model
    from genoseq.enhancers.plot import plot_locus
    from genoseq.enhancers.predict import SCORE_COLUMN, score_enhancer_pairs
    from genoseq.enhancers.table import read_pairs

    plot = (args.plot_file or f"{args.plot_locus}.locus.png") if args.plot_locus else None
    outputs = OutputSet({"-o": stdout if args.output == "-" else args.output,
                         "--plot-file": plot}, inputs=[args.input])
    compute = compute_options(args, stderr)
    model, _ = load_enhancer_model(args.model)
    table = read_pairs(args.input)
    with warnings_to(stderr):
        scored = score_enhancer_pairs(table, model, compute=compute, source=args.input)
    # A pair without a TSS has no score (NaN): written empty.
    scored[SCORE_COLUMN] = scored[SCORE_COLUMN].map(lambda v: "" if v != v else f"{v:.6g}")
    figure = None
    if args.plot_locus:
        try:
            figure = plot_locus(table, args.plot_locus, model, cell_type=args.cell_type)
        except KeyError as error:
            raise InvalidFileError(args.input, None, error.args[0]) from None
    with outputs.writing():
        scored.to_csv(outputs.open("-o"), sep="\t", index=False, lineterminator="\n")
        if figure is not None:
            figure.savefig(outputs.open("--plot-file", "wb"), format="png", dpi=120)
    return 0


def _run_train_enhancer(args, stdout: TextIO, stderr: TextIO) -> int:
    from genoseq.enhancers.model import EnhancerModelConfig, save_enhancer_model
    from genoseq.enhancers.table import read_pairs
    from genoseq.enhancers.train import (
        PAIR_READOUT_TRAINING,
        EnhancerTrainConfig,
        train_enhancer_model,
        train_stacked_enhancer_model,
    )
    from genoseq.nn.leaky import SweetSpotConfig

    table = read_pairs(args.pairs)
    if "Regulated" not in table.columns:
        raise InvalidFileError(args.pairs, 1, "training needs the 'Regulated' column")
    if table["chrom"].nunique() < 2:
        raise InvalidFileError(args.pairs, None, "training needs pairs on at least two "
                               "chromosomes (one is held out for early stopping)")
    if args.stacked and table["chrom"].nunique() < 3:
        raise InvalidFileError(args.pairs, None, "--stacked needs pairs on at least three "
                               "chromosomes (cross-fitted effects)")
    defaults = EnhancerModelConfig()
    readout = SweetSpotConfig(**{**defaults.readout.to_dict(),
                                 "monotone": args.readout == "monotone"})
    config = EnhancerModelConfig(readout=readout, saturation=args.readout != "log",
                                 pair_readout=args.pair_readout)
    steps = {} if args.max_steps is None else {"max_steps": args.max_steps}
    optimiser = PAIR_READOUT_TRAINING if args.pair_readout else {}
    settings = EnhancerTrainConfig(seed=args.seed, **steps, **optimiser)
    with warnings_to(stderr):
        train = train_stacked_enhancer_model if args.stacked else train_enhancer_model
        model, metadata = train(table, config, settings, source=args.pairs,
                                compute=compute_options(args, stderr))
    save_enhancer_model(model, args.out, metadata)
    validation = metadata["validation"]
    stdout.write(f"validation chromosomes {','.join(metadata['validation_chromosomes'])}: "
                 f"AUPRC {validation['auprc']:.4f}, AUROC {validation['auroc']:.4f} "
                 f"(best at step {metadata['steps']}; training stopped at step "
                 f"{metadata['steps_run']})\n")
    if "link" in metadata:
        link = metadata["link"]
        stdout.write(f"stacked link: C {link['c']}, cross-validated AUPRC {link['cv_auprc']:.4f} "
                     f"({link['cv_auprc_without_effect']:.4f} without the integrator's effect), "
                     f"weight of the log effect {link['log_effect_weight']:.3f}\n")
    stdout.write(f"wrote {args.out}.pt and {args.out}.json\n")
    return 0


def register(commands, parser_class) -> None:
    """Add ``enhancer`` to the ``genoseq`` subcommands."""
    enhancer = commands.add_parser(
        "enhancer", help="score enhancer-gene pairs with the leaky-integrator model",
        description="Score element-gene pairs (the CRISPRi benchmark's table format: "
        "chrom, chromStart, chromEnd, startTSS, measuredGeneSymbol, CellType, chromatin "
        "signals; plain/gzip/bz2/xz). Pairs are grouped into loci by gene and cell type; "
        "every element of the table within 2.5 Mb of a gene's TSS kicks its locus, so a "
        "pair's score depends on the other rows of the table. "
        "Writes the input rows plus genoseq_score = |effect of removing the element on "
        "its gene's response| (higher = more likely regulated). Label columns "
        "(EffectSize, Significant, pValueAdjusted, PowerAtEffectSize25, Regulated) are "
        "copied through but never read. Every input row is written: an element with "
        "chromEnd = chromStart is a point; a pair whose gene has no TSS (empty startTSS) "
        "cannot be placed and gets an empty genoseq_score, with one warning saying how many.")
    enhancer.add_argument("-i", "--input", default="-", metavar="FILE",
                          help="pair table, TSV (default: standard input)")
    enhancer.add_argument("-o", "--output", default="-", metavar="FILE",
                          help="scored table, TSV (default: standard output)")
    enhancer.add_argument("--model", metavar="STEM", help="trained model (default: shipped)")
    enhancer.add_argument("--plot-locus", metavar="GENE",
                          help="also draw this gene's locus (state, kicks, effects) as PNG")
    enhancer.add_argument("--plot-file", metavar="FILE",
                          help="where the locus plot goes (default: GENE.locus.png)")
    enhancer.add_argument("--cell-type", metavar="NAME",
                          help="cell type of the plotted locus, if the gene has several")
    add_compute_arguments(enhancer, quiet=None)
    enhancer.set_defaults(run=_run_enhancer)


def register_training(train_tasks, parser_class) -> None:
    """Add ``enhancer`` to the ``genoseq train`` tasks."""
    train = train_tasks.add_parser(
        "enhancer", help="train the enhancer model on a CRISPRi screen",
        description="Train the element-mode leaky-integrator model on a screen table with a "
        "Regulated column: full-batch L-BFGS on four fifths of the chromosomes, early "
        "stopping on the rest (chromosome groups balanced by pair count). Every element "
        "of the table within 2.5 Mb of a gene's TSS kicks its locus.")
    train.add_argument("--pairs", required=True, metavar="FILE", help="screen table, TSV")
    train.add_argument("-o", "--out", required=True, metavar="STEM",
                       help="write STEM.pt (weights) and STEM.json (config, metrics)")
    train.add_argument("--readout", choices=("log", "sweet-spot", "monotone"), default="log",
                       help="promoter readout: log of the input (default; an effect is the "
                       "log-fold drop of the input), a sweet-spot window or a monotone "
                       "threshold on it")
    link = train.add_mutually_exclusive_group()
    link.add_argument("--pair-readout", action="store_true",
                      help="the link to P(regulated) also reads the pair's own inputs "
                           "(element features, log distance, gene flag) beside the log "
                           "effect; the score is that logit (trained with AdamW)")
    link.add_argument("--stacked", action="store_true",
                      help="after the integrator, fit a logistic regression on the pair's "
                           "own inputs plus the log of the integrator's effect (cross-fitted "
                           "over five chromosome groups); the score is its logit")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--max-steps", type=int, metavar="N",
                       help="most training steps (default: 300)")
    add_compute_arguments(train, quiet="no progress bar")
    train.set_defaults(run=_run_train_enhancer)
