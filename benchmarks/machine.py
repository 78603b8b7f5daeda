"""What machine a benchmark ran on: shared by the scripts in benchmarks/."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def shown_args(args: list[str]) -> list[str]:
    """Command-line arguments as a results file shows them: absolute paths inside the
    checkout (what ``run.py`` passes) relative to it, so no machine's paths are committed."""
    shown = []
    for arg in args:
        path = Path(arg)
        if path.is_absolute() and path.is_relative_to(REPO):
            arg = path.relative_to(REPO).as_posix()
        shown.append(arg)
    return shown


def machine_line(device) -> str:
    """CPU, cores, torch version and threads, device and Python, for a results file."""
    return (f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), device {device}, Python "
            f"{platform.python_version()}")


def pyrodigal_version() -> str:
    """The installed pyrodigal's version, for a results file's header."""
    import pyrodigal

    return pyrodigal.__version__


def write_report(path, lines: list[str]) -> None:
    """Write a results file's lines atomically (folder made if needed) and print them."""
    from genoseq.io.atomic import atomic_write

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
