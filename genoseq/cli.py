"""The ``genoseq`` command line: assembles every capability's subcommands and runs one.

``main(argv, stdout, stderr) -> int`` never raises for bad input: malformed
files and bad values become one line ``genoseq: error: FILE:LINE: ...`` on
stderr and exit status 2. The subcommands live beside their capability
(``genoseq/<capability>/cli.py``), built from the shared pieces of
:mod:`genoseq._cli`; this module is the only one that imports them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from typing import TextIO

from genoseq import __version__, info_cli, workflow_cli
from genoseq._cli import EXIT_USAGE, parser_class
from genoseq.enhancers import cli as enhancers_cli
from genoseq.genes import cli as genes_cli
from genoseq.io.errors import InvalidFileError
from genoseq.motifs import cli as motifs_cli
from genoseq.structure import cli as structure_cli

#: Modules adding subcommands, in the order ``genoseq --help`` lists them. Each has
#: ``register(commands, parser_class)`` and may have ``register_training(train_tasks,
#: parser_class)`` for ``genoseq train``; every parser it adds calls
#: ``set_defaults(run=function(args, stdout, stderr) -> int)``.
COMMAND_MODULES = (info_cli, genes_cli, structure_cli, motifs_cli, enhancers_cli, workflow_cli)


def build_parser(stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``genoseq`` command, with every subcommand."""
    Parser = parser_class(stdout, stderr)
    parser = Parser(
        prog="genoseq",
        description="Sequence analysis with recurrent and convolutional neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"genoseq {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        module.register(sub, Parser)
    train = sub.add_parser("train", help="train a model from reference data")
    train_sub = train.add_subparsers(dest="task", metavar="TASK", parser_class=Parser,
                                     required=True)
    for module in COMMAND_MODULES:
        if hasattr(module, "register_training"):
            module.register_training(train_sub, Parser)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived (what ``timeout``, SLURM and Snakemake send): unwind like SIGINT."""


@contextlib.contextmanager
def _sigterm_unwinds():
    """Within the block SIGTERM raises :class:`Terminated`, so that cleanup code runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
        with _sigterm_unwinds():
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
    except Terminated:
        stderr.write("genoseq: terminated\n")
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main())
