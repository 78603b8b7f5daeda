"""Paths to the motif test data (real JASPAR profiles, CTCF sequences) and devices to test on."""

import contextlib
from pathlib import Path

import matplotlib
import pytest
import torch

# Logos are drawn off-screen; no display is needed or touched.
matplotlib.use("Agg")

MOTIF_DATA = Path(__file__).resolve().parent / "data"
JASPAR = MOTIF_DATA / "jaspar_excerpt.txt"
MEME = MOTIF_DATA / "jaspar_excerpt_meme.txt"
CTCF_TSV = MOTIF_DATA / "ctcf_sample.tsv"
CTCF_FASTA = MOTIF_DATA / "ctcf_sample.fa"

@contextlib.contextmanager
def one_torch_thread():
    """Run tiny training on one thread: on a busy machine more threads only wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


#: ``@pytest.mark.parametrize("device", DEVICES)``: the CPU, and CUDA where there is a GPU.
DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")])]
