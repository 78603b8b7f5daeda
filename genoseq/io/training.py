"""genoseq's training file (``genoseq predict -t``): a genome's self-trained statistics as JSON.

Prodigal's ``-t`` file is a binary dump of its own training structure, which
cannot carry genoseq's statistics; genoseq writes its own, UTF-8 JSON, one
object::

    {
     "format": "genoseq training file",
     "format_version": 1,
     "genoseq_version": "0.1.0",
     "model": "sha256:…",            (networks and decoder weights that learned it)
     "model_name": "shipped weights",
     "translation_table": 11,
     "genome_length": 500000,          (bases learned from, all records)
     "records": 1,
     "genes": 460,                     (first-pass genes: the hexamer statistics)
     "starts": 455,                    (their complete starts: the start profile)
     "hexamer_log_ratios": [4096 numbers],
     "start_profile": [[5 numbers], … one row per window position],
     "rbs_log_odds": [37 numbers]     (optional)
    }

``hexamer_log_ratios[h]`` is the log-ratio of hexamer ``h`` (bases A=0 C=1
G=2 T=3, first base most significant: AAAAAA=0, AAAAAC=1, …) in frame in
genes against anywhere in the genome; ``start_profile[i][b]`` the log-odds
of base ``b`` (A, C, G, T, other) at position ``i`` of a start window
(45 bp upstream of the start codon's first base, 24 bp from it on) around
real starts against rival starts; ``rbs_log_odds[k]`` the log-odds of
Shine-Dalgarno class ``k`` (:func:`genoseq.genes.rbs.rbs_class_names`: none,
then each piece of AGGAGG in each Prodigal spacer bin) around the same
starts (absent from files of genoseq before it; such statistics give no RBS
score). Numbers are written with Python's
shortest round-trip representation, so a file read back gives the very
values written. A reader refuses another ``format`` or ``format_version``;
which model and translation table may use the statistics is for the gene
finder to check.
"""

from __future__ import annotations

import json
import os
from typing import IO

import numpy as np

from genoseq.io.atomic import atomic_write
from genoseq.io.errors import InvalidFileError

__all__ = ["TRAINING_FORMAT", "TRAINING_FORMAT_VERSION", "read_training_file",
           "write_training_file"]

TRAINING_FORMAT = "genoseq training file"
TRAINING_FORMAT_VERSION = 1
N_HEXAMERS = 4 ** 6
PROFILE_COLUMNS = 5
#: Shine-Dalgarno classes (genoseq.genes.rbs.RBS_CLASSES: none + 9 motifs x 4 spacer bins).
RBS_CLASSES = 37

_INTEGERS = ("translation_table", "genome_length", "records", "genes", "starts")
_STRINGS = ("genoseq_version", "model", "model_name")


def write_training_file(target: str | os.PathLike | IO, training) -> None:
    """Write ``training`` (a :class:`~genoseq.genes.adapt.SelfTraining`, read by attributes).

    ``target`` is a path (written atomically), ``-`` or an open text stream.
    """
    header = {"format": TRAINING_FORMAT, "format_version": TRAINING_FORMAT_VERSION}
    header.update({name: str(getattr(training, name)) for name in _STRINGS})
    header.update({name: int(getattr(training, name)) for name in _INTEGERS})
    ratios = np.asarray(training.hexamer_log_ratios, dtype=np.float64)
    profile = np.asarray(training.start_profile, dtype=np.float64)
    if ratios.shape != (N_HEXAMERS,) or profile.ndim != 2 or profile.shape[1] != PROFILE_COLUMNS:
        raise ValueError(f"statistics of shapes {ratios.shape} and {profile.shape}: expected "
                         f"({N_HEXAMERS},) and (width, {PROFILE_COLUMNS})")
    lines = ["{"]
    lines += [f" {json.dumps(name)}: {json.dumps(value)}," for name, value in header.items()]
    lines.append(f' "hexamer_log_ratios": {json.dumps(ratios.tolist(), allow_nan=False)},')
    lines.append(' "start_profile": [')
    rows = [f"  {json.dumps(row, allow_nan=False)}" for row in profile.tolist()]
    lines.append(",\n".join(rows))
    rbs = getattr(training, "rbs_log_odds", None)
    if rbs is None:
        lines.append(" ]")
    else:
        lines.append(" ],")
        rbs = np.asarray(rbs, dtype=np.float64)
        lines.append(f' "rbs_log_odds": {json.dumps(rbs.tolist(), allow_nan=False)}')
    lines.append("}")
    with atomic_write(target) as handle:
        handle.write("\n".join(lines) + "\n")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _numbers(path, name: str, value, shape: tuple) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape`` (None in it: any length)."""
    what = (f"{shape[0]} numbers" if len(shape) == 1
            else f"rows of {shape[1]} numbers")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidFileError(path, None, f"{name} is not a list of {what}") from None
    good = array.ndim == len(shape) and all(
        want is None or got == want for got, want in zip(array.shape, shape, strict=False))
    if not good or array.size == 0:
        raise InvalidFileError(path, None, f"{name} has shape {array.shape}: expected {what}")
    if not np.isfinite(array).all():
        raise InvalidFileError(path, None, f"{name} holds a value that is not finite")
    return array


def read_training_file(path: str | os.PathLike) -> dict:
    """The fields of a training file written by :func:`write_training_file`.

    Returns
    -------
    dict
        ``genoseq_version``, ``model``, ``model_name`` (str);
        ``translation_table``, ``genome_length``, ``records``, ``genes``,
        ``starts`` (int); ``hexamer_log_ratios`` (np.ndarray (4096,)),
        ``start_profile`` (np.ndarray (width, 5)), both float64; and
        ``rbs_log_odds`` (np.ndarray (RBS classes,)) when the file has it.

    Raises
    ------
    InvalidFileError
        Naming the file and the offending value: not a genoseq training file
        (Prodigal's binary training files included), another format version,
        a field missing or of the wrong type or shape.
    OSError
        The file cannot be read.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
        document = json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        reason = ("not UTF-8 text" if isinstance(error, UnicodeDecodeError)
                  else str(error).splitlines()[0])
        raise InvalidFileError(path, None, f"not a genoseq training file ({reason}); "
                               "Prodigal's own training files cannot be read") from None
    if not isinstance(document, dict) or document.get("format") != TRAINING_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise InvalidFileError(path, None, f"format {found!r}: expected {TRAINING_FORMAT!r} "
                               "(not a genoseq training file)")
    version = document.get("format_version")
    if version != TRAINING_FORMAT_VERSION or isinstance(version, bool):
        raise InvalidFileError(path, None, f"format_version {version!r}: this genoseq reads "
                               f"version {TRAINING_FORMAT_VERSION}")
    fields: dict = {}
    for name in (*_STRINGS, *_INTEGERS, "hexamer_log_ratios", "start_profile"):
        if name not in document:
            raise InvalidFileError(path, None, f"has no {name!r}")
    for name in _STRINGS:
        if not isinstance(document[name], str):
            raise InvalidFileError(path, None, f"{name} {document[name]!r}: expected a string")
        fields[name] = document[name]
    for name in _INTEGERS:
        value = document[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidFileError(path, None, f"{name} {value!r}: expected an integer >= 0")
        fields[name] = value
    fields["hexamer_log_ratios"] = _numbers(path, "hexamer_log_ratios",
                                            document["hexamer_log_ratios"], (N_HEXAMERS,))
    fields["start_profile"] = _numbers(path, "start_profile", document["start_profile"],
                                       (None, PROFILE_COLUMNS))
    if "rbs_log_odds" in document:
        fields["rbs_log_odds"] = _numbers(path, "rbs_log_odds", document["rbs_log_odds"],
                                          (RBS_CLASSES,))
    return fields

