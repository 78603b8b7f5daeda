"""What machine a benchmark ran on: shared by the scripts in benchmarks/."""

from __future__ import annotations

import os
import platform

import torch


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


def machine_line(device) -> str:
    """CPU, cores, torch version and threads, device and Python, for a results file."""
    return (f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), device {device}, Python "
            f"{platform.python_version()}")
