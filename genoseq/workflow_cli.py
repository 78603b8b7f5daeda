"""``genoseq workflow``: run the packaged Snakemake workflow.

Every argument goes to Snakemake (``python -m snakemake -s <packaged Snakefile>
ARGS``), run in the current directory, so ``results/`` and ``.snakemake/``
land where the user is, never inside the installed package.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from genoseq._cli import EXIT_USAGE

_HELP = """\
usage: genoseq workflow [SNAKEMAKE ARGS ...]

Run genoseq's Snakemake workflow: per genome, genes (genoseq predict), protein
secondary structure (genoseq ss), motifs upstream of the genes (genoseq motifs
scan), a summary per sample, and a report of all samples (results/report.tsv,
results/report.png); optionally enhancer-gene scores (genoseq enhancer).

Snakefile: {snakefile}

All arguments go to snakemake, which runs in the current directory (outputs in
./results). The config comes from --configfile FILE, or ./config/config.yaml;
it needs at least 'samples: SHEET.tsv' (columns sample, genome, optional table).
Template config: {config}
Every config key: {config_readme}
Test config: {test_config}
  (the bundled example genome {example}
  under two translation tables, and the enhancer step)

examples:
  genoseq workflow --configfile config.yaml --cores 4
  genoseq workflow --configfile config.yaml --cores 4 -n         # dry run
  genoseq workflow --configfile config.yaml --workflow-profile {profiles}/slurm
  genoseq workflow --configfile config.yaml --report report.html  # HTML report, after a run

Snakemake's own options: snakemake --help
"""


def workflow_dir() -> Path:
    """The folder holding the packaged workflow (``Snakefile``, ``rules/``, ``config/``)."""
    # In a checkout genoseq/workflows links to the top-level workflows/: resolve it, so
    # that relative paths (.test's ../../data) and messages name the real folder.
    return (Path(__file__).resolve().parent / "workflows").resolve()


def example_data_dir() -> Path:
    """The folder holding the bundled example inputs (``ecoli_k12_500kb.fna.gz``, ...).

    ``genoseq/data`` in an installed genoseq; in a checkout it links to the
    top-level ``data/``. The workflow's ``.test`` sample sheet reaches it as
    ``../../data`` in both layouts.
    """
    return (Path(__file__).resolve().parent / "data").resolve()


def packaged_test_config() -> Path:
    """The workflow's test config (the bundled example, two tables, the enhancer step)."""
    return workflow_dir() / ".test" / "config.yaml"


def snakefile() -> Path:
    """Path of the packaged ``Snakefile``."""
    return workflow_dir() / "Snakefile"


def _names_snakefile(args: list[str]) -> bool:
    return any(arg in ("-s", "--snakefile") or arg.startswith("--snakefile=") for arg in args)


def snakemake_command(args: list[str]) -> list[str]:
    """The command ``genoseq workflow ARGS`` runs: Snakemake on the packaged Snakefile."""
    command = [sys.executable, "-m", "snakemake"]
    if not _names_snakefile(args):
        command += ["-s", str(snakefile())]
    return command + list(args)


def _run_workflow(args, stdout: TextIO, stderr: TextIO) -> int:
    extra = list(args.snakemake_args)
    if extra and extra[0] in ("-h", "--help"):
        stdout.write(_HELP.format(snakefile=snakefile(),
                                  config=workflow_dir() / "config" / "config.yaml",
                                  config_readme=workflow_dir() / "config" / "README.md",
                                  test_config=packaged_test_config(),
                                  example=example_data_dir() / "ecoli_k12_500kb.fna.gz",
                                  profiles=workflow_dir() / "profiles"))
        return 0
    if not snakefile().is_file():
        stderr.write(f"genoseq: error: the packaged workflow is missing ({snakefile()}); "
                     "reinstall genoseq\n")
        return EXIT_USAGE
    if importlib.util.find_spec("snakemake") is None:
        stderr.write("genoseq: error: the workflow needs Snakemake: "
                     "pip install 'genoseq[workflow]'\n")
        return EXIT_USAGE
    # The rules call `genoseq` and `python -m genoseq.workflow`: find those of this
    # interpreter's environment first, even when it is not activated.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    stdout.flush()
    stderr.flush()
    return subprocess.call(snakemake_command(extra), env=env)


def register(commands, parser_class) -> None:
    """Add ``genoseq workflow`` (every argument after it is Snakemake's)."""
    del parser_class
    workflow = commands.add_parser(
        "workflow",
        help="run the Snakemake workflow (genes, structure, motifs, report) on many genomes",
        description="Run genoseq's Snakemake workflow; all arguments go to snakemake.",
        # Options are Snakemake's: no prefix character of ours, so argparse hands
        # every argument (--cores, -n, --help, ...) to snakemake_args untouched.
        prefix_chars="+", add_help=False)
    workflow.add_argument("snakemake_args", nargs=argparse.REMAINDER, metavar="ARGS")
    workflow.set_defaults(run=_run_workflow)
