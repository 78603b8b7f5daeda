"""What every ``genoseq`` subcommand shares: parser class, argument types, compute flags, display.

Each capability's ``cli`` module (``genoseq.genes.cli``, ``genoseq.structure.cli``,
...) builds its subcommands from these pieces and :mod:`genoseq.cli` assembles
them; nothing here imports a capability, and no capability imports
:mod:`genoseq.cli`. Kept free of torch, so that ``genoseq --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from typing import TextIO

from genoseq.io.errors import GenoseqWarning, InvalidFileError

#: Exit status of a usage error or of bad input (malformed file, bad value).
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """ArgumentParser that writes to the streams ``main()`` was given.

    :func:`parser_class` makes a subclass bound to a pair of streams; every
    subparser of one ``genoseq`` invocation uses that subclass.
    """

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


def parser_class(stdout: TextIO | None = None, stderr: TextIO | None = None) -> type[Parser]:
    """A :class:`Parser` subclass writing help to ``stdout`` and errors to ``stderr``."""

    class BoundParser(Parser):
        out = sys.stdout if stdout is None else stdout
        err = sys.stderr if stderr is None else stderr

    return BoundParser


def positive_int(text: str) -> int:
    """argparse type for counts such as --threads and --batch-size: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: expected an integer >= 1")
    return value


def add_compute_arguments(parser: argparse.ArgumentParser, *, batch_size: int | None = None,
                          batch_help: str | None = None, precision: bool = False,
                          int8: bool = False, quiet: str | None = "no progress bars") -> None:
    """The options every model command shares, spelled and checked the same everywhere.

    Adds ``--device``, optionally ``--precision`` (with ``int8`` among its values when
    ``int8``), ``--batch-size`` (when
    ``batch_help`` is given; default ``batch_size``), ``--threads`` and, unless
    ``quiet`` is None, ``-q/--quiet`` with that help text. :func:`compute_options`
    turns the parsed values into a :class:`genoseq.device.ComputeOptions`.
    """
    parser.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N, mps")
    if precision:
        otherwise = ("int8 (recurrent and output layers quantized; CPU only)" if int8
                     else "fp32")
        parser.add_argument("--precision", default="auto",
                            choices=("auto", "fp32", "bf16", "fp16") + (("int8",) if int8 else ()),
                            help="network arithmetic: auto (default) = mixed precision on "
                                 "CUDA, bf16 on CPUs with native bf16 instructions, else "
                                 + otherwise)
    if batch_help is not None:
        default = "" if batch_size is None else f" (default: {batch_size})"
        parser.add_argument("--batch-size", type=positive_int, default=batch_size, metavar="N",
                            help=batch_help + default)
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="CPU threads for torch (default: the CPUs allotted to this "
                             "process that other processes are not keeping busy)")
    if quiet is not None:
        parser.add_argument("-q", "--quiet", action="store_true", help=quiet)


def add_run_arguments(parser) -> None:
    """``-o/--out STEM``, ``--run-dir DIR`` and ``--seed``: what every training command writes
    and where it checkpoints, spelled the same everywhere (``parser`` may be a group)."""
    parser.add_argument("-o", "--out", required=True, metavar="STEM",
                        help="write STEM.pt (weights) and STEM.json (config, metrics)")
    parser.add_argument("--run-dir", required=True, metavar="DIR",
                        help="checkpoints; an interrupted run resumes from here")
    parser.add_argument("--seed", type=int, default=0)


def compute_options(args: argparse.Namespace, stderr: TextIO):
    """The :class:`~genoseq.device.ComputeOptions` of flags added by :func:`add_compute_arguments`.

    Without ``--threads``, CPU work gets :func:`genoseq.device.free_cpus` threads.

    Progress bars go to ``stderr`` when it is a terminal and ``-q`` was not given. A
    device that does not exist or is not available is a usage error naming ``--device``.
    """
    from genoseq.device import ComputeOptions, free_cpus, resolve_device, resolves_to_cpu

    # The CPU, when it is known without torch, needs no check: a small input may then
    # be predicted without importing torch at all (genoseq.genes.numpy_networks).
    on_cpu = resolves_to_cpu(args.device)
    if not on_cpu:
        try:
            on_cpu = resolve_device(args.device).type == "cpu"
        except (ValueError, RuntimeError) as error:
            raise InvalidFileError("--device", None, str(error)) from None
    threads = args.threads
    if threads is None and on_cpu:
        threads = free_cpus()
    return ComputeOptions(device=args.device, precision=getattr(args, "precision", "auto"),
                          batch_size=getattr(args, "batch_size", None), threads=threads,
                          progress=progress_enabled(getattr(args, "quiet", False), stderr))


def progress_enabled(quiet: bool, stream=sys.stderr) -> bool:
    """Progress bars only on a terminal and when not asked to be quiet."""
    return not quiet and hasattr(stream, "isatty") and stream.isatty()


@contextlib.contextmanager
def warnings_to(stream: TextIO, quiet: bool = False):
    """Show GenoseqWarnings as one line ``genoseq: warning: ...`` on ``stream``."""
    def show(message, category, filename, lineno, file=None, line=None):
        if not quiet:
            stream.write(f"genoseq: warning: {message}\n")

    with warnings.catch_warnings():
        warnings.simplefilter("always", GenoseqWarning)
        previous = warnings.showwarning
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous
