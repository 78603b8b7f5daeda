"""Semi-supervised secondary structure: pseudo-labelled tables and the batches that mix them in.

A teacher (a trained model or ensemble) labels unlabelled proteins with its
own calls, and a student trains on the labelled table and these
pseudo-labels together (self-training; S4PRED, Moffat & Jones 2021, trained
on 1.08 M UniRef50 sequences labelled by PSIPRED). The pseudo-labelled
table has the data card's format (``id seq q8 q3 mask``), so it is read,
checked and batched like a labelled one:

- ``q8``: the teacher's Q8 call (argmax of its averaged Q8 probabilities);
- ``q3``: the teacher's Q3 call, made as ``genoseq ss`` makes it
  (:func:`~genoseq.structure.model.q3_probabilities`);
- ``mask``: 1 where the teacher's Q3 probability of its call is at least
  ``min_confidence`` (0 keeps every residue).

:class:`MixedBatchSampler` then draws each training batch from the
pseudo-labelled table with probability ``fraction``, else from the
labelled one, so that a student trained for as many steps as a
labelled-only model has the same budget.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable, Sequence

import numpy as np
import torch

from genoseq.device import ComputeOptions
from genoseq.encoding import protein_to_index
from genoseq.io.atomic import atomic_write
from genoseq.io.errors import InvalidFileError
from genoseq.io.fasta import read_fasta
from genoseq.structure.data import Q3_CLASSES, Q8_CLASSES
from genoseq.structure.model import N_Q8, q3_probabilities

__all__ = ["MixedBatchSampler", "pseudo_label_table", "read_id_list"]

_Q3_LETTERS = np.frombuffer(Q3_CLASSES.encode(), dtype=np.uint8)
_Q8_LETTERS = np.frombuffer(Q8_CLASSES.encode(), dtype=np.uint8)


def read_id_list(path: str | os.PathLike) -> set[str]:
    """Chain ids listed in a file: the first tab-separated field of every line.

    A first line whose first field is ``id`` is a header and skipped, so the
    removed-chains table of ``benchmarks/ss_clean_split.py`` can be given as
    it is; blank lines and lines starting with ``#`` are ignored.

    Raises
    ------
    InvalidFileError
        The file lists no id.
    """
    ids = set()
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            field = line.rstrip("\r\n").split("\t")[0].strip()
            if not field or field.startswith("#") or (number == 1 and field == "id"):
                continue
            ids.add(field)
    if not ids:
        raise InvalidFileError(path, None, "no chain ids: expected one id per line "
                                           "(first tab-separated field)")
    return ids


def pseudo_label_table(source: str | os.PathLike, out: str | os.PathLike, *,
                       model=None, min_confidence: float = 0.0, min_length: int = 1,
                       compute: ComputeOptions | None = None) -> dict:
    """Label the proteins of a FASTA file with a teacher's calls; write a training table.

    Parameters
    ----------
    source : path
        Protein FASTA (plain or compressed).
    out : path
        The table (``.gz``: gzip), written atomically: nothing is left at
        ``out`` if labelling fails.
    model : path stem, model, ensemble or None
        The teacher; None: the shipped model.
    min_confidence : float
        Residues whose Q3 call has a lower teacher probability get mask 0
        (not trained on).
    min_length : int
        Shorter proteins are left out.
    compute : ComputeOptions or None
        Device, threads, batch size, precision of the teacher.

    Returns
    -------
    dict
        ``proteins`` written, ``residues``, ``kept_residues`` (mask 1),
        ``skipped_short``.
    """
    from genoseq.structure.predict import load_ss_model, predict_probabilities

    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence {min_confidence}: expected 0 to 1")
    if not isinstance(model, torch.nn.Module):
        model, _ = load_ss_model(model)
    records, seen, short = [], set(), 0
    for record in read_fasta(source, alphabet="protein"):
        if record.id in seen:
            raise InvalidFileError(source, None, f"duplicate id {record.id!r}")
        seen.add(record.id)
        sequence = record.seq.upper().rstrip(b"*")
        if len(sequence) < max(min_length, 1):
            short += 1
            continue
        records.append((record.id, sequence))
    probs = predict_probabilities(model, [protein_to_index(seq) for _, seq in records],
                                  compute=compute)
    residues = kept = 0
    compressed = str(out).endswith(".gz")
    with atomic_write(out, "wb") as raw:
        target = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compressed else raw
        handle = io.TextIOWrapper(target, encoding="ascii", newline="\n")
        handle.write("id\tseq\tq8\tq3\tmask\n")
        for (name, sequence), p in zip(records, probs, strict=True):
            q3 = q3_probabilities(p)
            confident = q3.max(1) >= min_confidence
            residues += len(sequence)
            kept += int(confident.sum())
            handle.write("\t".join((
                name, sequence.decode("ascii"),
                _Q8_LETTERS[p[:, :N_Q8].argmax(1)].tobytes().decode(),
                _Q3_LETTERS[q3.argmax(1)].tobytes().decode(),
                np.where(confident, ord("1"), ord("0")).astype(np.uint8).tobytes().decode(),
            )) + "\n")
        handle.flush()
        handle.detach()  # leaves the staged file open for atomic_write to finish
        if compressed:
            target.close()
    return {"proteins": len(records), "residues": residues, "kept_residues": kept,
            "skipped_short": short}


class MixedBatchSampler:
    """Training batches from two samplers: the second with probability ``fraction``.

    Parameters
    ----------
    labelled, pseudo : callable
        Batch samplers (``sampler(rng) -> (inputs, targets)``), e.g.
        :class:`~genoseq.structure.data.CroppedBatchSampler`.
    fraction : float
        Share of batches drawn from ``pseudo``, 0 to 1.
    """

    def __init__(self, labelled: Callable, pseudo: Callable, fraction: float):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction {fraction}: expected 0 to 1")
        self.labelled = labelled
        self.pseudo = pseudo
        self.fraction = fraction

    def __call__(self, rng: np.random.Generator):
        source = self.pseudo if rng.random() < self.fraction else self.labelled
        return source(rng)


def drop_chains(chains: Sequence, ids: set[str]) -> tuple[list, int]:
    """The chains whose id is not in ``ids``, and how many were dropped."""
    kept = [chain for chain in chains if chain.id not in ids]
    return kept, len(chains) - len(kept)
