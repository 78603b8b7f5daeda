"""Secondary-structure prediction: shipped model, length-bucketed batches, DataFrame and files.

Chains are sorted by length and batched so that little padding is computed;
padding never changes a chain's result (see :class:`SecondaryStructureModel`).
Whole chains are read at once: a BiLSTM keeps memory linear in length, and
even titin (~35,000 residues) fits in a few hundred MB.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import TextIO

import numpy as np
import pandas as pd
import torch

from genoseq.device import INT8, ComputeOptions, inference_autocast, resolve_precision
from genoseq.encoding import protein_to_index
from genoseq.io.atomic import OutputSet
from genoseq.io.fasta import SequenceRecord, read_fasta
from genoseq.nn.checkpoint import load_model_state, reading_model, save_model
from genoseq.nn.inference import predict_positions
from genoseq.nn.tagger import TaggerConfig
from genoseq.structure.data import PAD_INDEX, Q3_CLASSES, Q8_CLASSES
from genoseq.structure.model import (
    N_Q8,
    SecondaryStructureEnsemble,
    SecondaryStructureModel,
    head_probabilities,
    q3_probabilities,
)

SHIPPED_MODEL = "ss"
#: Padded residues per batch for each chain allowed by ``batch_size``.
RESIDUES_PER_CHAIN = 512

_Q3_LETTERS = np.frombuffer(Q3_CLASSES.encode(), dtype=np.uint8)
_Q8_LETTERS = np.frombuffer(Q8_CLASSES.encode(), dtype=np.uint8)


def save_ss_model(model: SecondaryStructureModel | SecondaryStructureEnsemble,
                  path_stem: str | os.PathLike, metadata: dict | None = None):
    """Write ``<stem>.pt`` (state_dict) and ``<stem>.json`` (tagger config, metadata).

    An ensemble's config also records its number of ``members`` and, when
    they differ in architecture, each member's tagger config
    (``member_taggers``).
    """
    config = {"tagger": model.config.to_dict()}
    if isinstance(model, SecondaryStructureEnsemble):
        config["members"] = len(model.members)
        taggers = [member.config.to_dict() for member in model.members]
        if any(tagger != config["tagger"] for tagger in taggers):
            config["member_taggers"] = taggers
    return save_model(model, config, path_stem, metadata)


def load_ss_model(path_stem: str | os.PathLike | None = None
                  ) -> tuple[SecondaryStructureModel | SecondaryStructureEnsemble, dict]:
    """Load a model or ensemble saved by :func:`save_ss_model`; None → the shipped one.

    Returns the model in eval mode and its model-card metadata.
    """
    with reading_model(path_stem, "genoseq secondary-structure model"):
        state, config, metadata = load_model_state(path_stem, SHIPPED_MODEL)
        tagger = TaggerConfig.from_dict(config["tagger"])
        if "members" in config:
            taggers = ([TaggerConfig.from_dict(member)
                        for member in config.get("member_taggers", [])]
                       or [tagger] * config["members"])
            model = SecondaryStructureEnsemble(SecondaryStructureModel(member)
                                               for member in taggers)
        else:
            model = SecondaryStructureModel(tagger)
        model.load_state_dict(state)
    return model.eval(), metadata


def _named_sequences(sequences) -> list[tuple[str, bytes]]:
    if isinstance(sequences, (str, bytes)):
        raise TypeError("sequences must be a collection of sequences, not one string; "
                        "wrap a single sequence in a list")
    items = sequences.items() if isinstance(sequences, Mapping) else sequences
    named = []
    for number, item in enumerate(items):
        if isinstance(item, SequenceRecord):
            name, seq = item.id, item.seq
        elif isinstance(item, tuple):
            name, seq = item
        else:
            name, seq = str(number), item
        if isinstance(seq, str):
            if not seq.isascii():
                raise ValueError(f"sequence {name!r} has non-ASCII characters: expected "
                                 "one-letter amino-acid codes")
            seq = seq.encode("ascii")
        named.append((str(name), bytes(seq).upper()))
    return named


#: Chains per batch when ``compute`` names no batch size.
BATCH_SIZE = 64


def int8_available() -> bool:
    """Whether this torch can run dynamically quantized LSTM and linear layers on the CPU."""
    try:
        from torch.ao.quantization import quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    return torch.backends.quantized.engine not in (None, "none")


def ss_precision(device: torch.device, precision: str = "auto") -> str:
    """The arithmetic the secondary-structure predictor uses for ``precision`` on ``device``.

    As :func:`genoseq.device.resolve_precision`, except that "auto" on a CPU
    without native bf16 instructions is "int8" (:func:`quantized_copy`)
    where this torch can quantize, instead of "fp32": on an AVX2 CPU that
    predicted CB513 1.3× faster at the same Q3 (``genoseq/weights/ss.md``).

    Raises
    ------
    ValueError
        "int8" on a device other than the CPU, or an unknown precision.
    """
    if precision == INT8:
        if torch.device(device).type != "cpu":
            raise ValueError(f"precision 'int8' runs on the CPU only, not on {device}: "
                             "use auto, fp32, bf16 or fp16 there")
        if not int8_available():
            raise ValueError("precision 'int8' needs a torch with a quantized CPU engine "
                             "(torch.backends.quantized); use auto or fp32")
        return INT8
    resolved = resolve_precision(device, precision)
    if precision == "auto" and resolved == "fp32" and torch.device(device).type == "cpu" \
            and int8_available():
        return INT8
    return resolved


def quantized_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose LSTM and linear layers hold 8-bit integer weights.

    PyTorch's dynamic quantization (``torch.ao.quantization.quantize_dynamic``):
    weights stored as int8 per tensor, activations quantized batch by batch,
    accumulation in int32; the convolutions stay in float32. The LSTM takes
    about 90% of the predictor's CPU time. ``model`` itself is left as it was.
    """
    model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao, whose quantize_ has no LSTM.
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8,
                                inplace=True)


def predict_probabilities(model: SecondaryStructureModel, residues: list[np.ndarray], *,
                          compute: ComputeOptions | None = None) -> list[np.ndarray]:
    """Per-residue probabilities of both heads, chain by chain.

    Parameters
    ----------
    model : SecondaryStructureModel
    residues : list of np.ndarray, each shape (length,), uint8
        :func:`genoseq.encoding.protein_to_index` of each chain; empty chains allowed.
    compute : ComputeOptions or None
        Device (None: CUDA if available, else CPU), threads, chains per batch
        (default 64, and at most ``batch_size * 512`` padded residues), a
        progress bar over batches, and the network arithmetic
        (:func:`ss_precision`): "auto" is mixed precision on CUDA, bf16 on
        CPUs with native bf16 instructions, int8 (:func:`quantized_copy`) on
        other CPUs. On CB513, bf16 on the CPU gave Q3 72.03% vs fp32's 72.04%
        (Q8 identical) at 1.6× the speed; int8, see ``genoseq/weights/ss.md``.

    Returns
    -------
    list of np.ndarray, each float32 (length, 11)
        In input order: Q8 probabilities (``Q8_CLASSES`` order) in columns
        0-7, the Q3 head's (``Q3_CLASSES`` order) in 8-10; see
        :func:`~genoseq.structure.model.q3_probabilities` for the Q3 call.
    """
    compute = ComputeOptions() if compute is None else compute
    batch_size = compute.batch(BATCH_SIZE)
    device = compute.torch_device()
    precision = ss_precision(device, compute.precision)
    if precision == INT8:
        model, precision = quantized_copy(model), "fp32"
    else:
        model = model.to(device).eval()

    def forward(batch: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        return head_probabilities(model(batch))  # the model finds lengths from the padding

    # Whole chains (no windows): the BiLSTM reads each chain end to end.
    return predict_positions(forward, residues, channels=11, device=device,
                             budget=batch_size * RESIDUES_PER_CHAIN, max_rows=batch_size,
                             pad_value=PAD_INDEX, input_dtype=torch.long,
                             autocast=inference_autocast(device, precision),
                             progress=compute.progress, desc="batches of chains")


def predict_secondary_structure(
    sequences: Iterable | Mapping,
    *,
    model: str | os.PathLike | SecondaryStructureModel | None = None,
    probabilities: bool = False,
    compute: ComputeOptions | None = None,
) -> pd.DataFrame:
    """Predict Q3 and Q8 secondary structure of protein sequences (single sequence, no profiles).

    Parameters
    ----------
    sequences : iterable or mapping
        Protein sequences as ``str``/``bytes`` (ids ``"0"``, ``"1"``, ...),
        ``(id, sequence)`` pairs, :class:`~genoseq.io.SequenceRecord` (e.g.
        from ``read_fasta(path, alphabet="protein")``), or a mapping id →
        sequence. Any letter case. Non-standard residues (X B Z J U O) and
        ``*`` are read as "unknown residue"; they never fail.
    model : path stem, SecondaryStructureModel, SecondaryStructureEnsemble or None
        None: the shipped model (``genoseq/weights/ss``).
    probabilities : bool
        Add columns ``q3_probs`` (float32 array ``(length, 3)``, columns H E
        C) and ``q8_probs`` (``(length, 8)``, columns H G I E B T S C).
    compute : ComputeOptions or None
        Device, threads, chains per batch (chains are batched by length),
        progress bar and precision, as in :func:`predict_probabilities`.

    Returns
    -------
    pandas.DataFrame
        One row per sequence, in input order: ``id``, ``sequence`` (as given,
        upper case), ``q3`` (H/E/C) and ``q8`` (H G I E B T S C), strings as
        long as the sequence.
    """
    if not isinstance(model, (SecondaryStructureModel, SecondaryStructureEnsemble)):
        model, _ = load_ss_model(model)
    named = _named_sequences(sequences)
    probs = predict_probabilities(
        model, [protein_to_index(seq) for _, seq in named], compute=compute)
    q3 = [q3_probabilities(p) for p in probs]
    q8 = [p[:, :N_Q8] for p in probs]
    frame = pd.DataFrame({
        "id": [name for name, _ in named],
        "sequence": [seq.decode("ascii") for _, seq in named],
        "q3": [_Q3_LETTERS[p.argmax(1)].tobytes().decode() for p in q3],
        "q8": [_Q8_LETTERS[p.argmax(1)].tobytes().decode() for p in q8],
    })
    if probabilities:
        frame["q3_probs"] = q3
        frame["q8_probs"] = q8
    return frame


def _write_probabilities(frame: pd.DataFrame, handle: TextIO) -> None:
    columns = ["id", "position", "residue", "q3", "q8",
               *(f"q3_{c}" for c in Q3_CLASSES), *(f"q8_{c}" for c in Q8_CLASSES)]
    handle.write("\t".join(columns) + "\n")
    for row in frame.itertuples(index=False):
        values = np.concatenate([row.q3_probs, row.q8_probs], axis=1)
        for position, (residue, q3, q8, numbers) in enumerate(
                zip(row.sequence, row.q3, row.q8, values, strict=True), start=1):
            handle.write(f"{row.id}\t{position}\t{residue}\t{q3}\t{q8}\t"
                         + "\t".join(f"{v:.3f}" for v in numbers) + "\n")


def predict_to_files(source: str | os.PathLike, output: str | os.PathLike | TextIO, *,
                     probs: str | os.PathLike | None = None,
                     model: str | os.PathLike | None = None,
                     compute: ComputeOptions | None = None) -> int:
    """``genoseq ss``: read protein FASTA, write the TSV (and per-residue probabilities).

    Parameters
    ----------
    source : path or "-"
        Protein FASTA, plain or compressed, e.g. the ``.faa`` of ``genoseq predict -a``.
    output : path, "-" or text stream
        TSV with header ``id sequence q3 q8``.
    probs : path, optional
        TSV, one line per residue: ``id position residue q3 q8``, then the
        probabilities ``q3_H q3_E q3_C q8_H q8_G q8_I q8_E q8_B q8_T q8_S q8_C``
        (3 decimals).
    model, compute
        As in :func:`predict_secondary_structure`.

    Returns
    -------
    int
        Number of chains written.

    Raises
    ------
    InvalidFileError
        An output path that cannot be written or is the input (checked before
        reading), malformed FASTA, or DNA where protein was expected; no
        output is written.
    """
    outputs = OutputSet({"output": output, "probs": probs}, inputs=[source])
    if not isinstance(model, (SecondaryStructureModel, SecondaryStructureEnsemble)):
        model, _ = load_ss_model(model)
    records = list(read_fasta(source, alphabet="protein"))
    frame = predict_secondary_structure(records, model=model, probabilities=probs is not None,
                                        compute=compute)
    with outputs.writing():
        # Plain TSV: ids are written as they are (no CSV quoting of quotes).
        handle = outputs.open("output")
        handle.write("id\tsequence\tq3\tq8\n")
        handle.writelines(f"{row.id}\t{row.sequence}\t{row.q3}\t{row.q8}\n"
                          for row in frame.itertuples(index=False))
        if probs is not None:
            _write_probabilities(frame, outputs.open("probs"))
    return len(frame)
