"""Numeric encodings of DNA and protein sequences, and genetic codes.

Everything here works on whole arrays through 256-entry lookup tables indexed
by the raw sequence bytes, so no Python code runs per base.

Sequences may be given as ``bytes`` (or ``bytearray``), an ASCII ``str``, or a
``numpy.ndarray`` of ``uint8`` ASCII codes (what :mod:`genoseq.io` reads).

DNA alphabet
    Channels and indices are ordered A, C, G, T (A=0, C=1, G=2, T=3). Upper
    and lower case are equivalent and U is read as T. Every other byte (N, the
    IUPAC ambiguity codes R Y S W K M B D H V, gaps, anything else) is
    *unknown*: a zero row in the one-hot encoding and index 4 in
    :func:`dna_to_index`. :func:`one_hot_dna` can instead spread the IUPAC
    codes uniformly over the bases they stand for.

Codons
    A codon's index is ``16 * b0 + 4 * b1 + b2`` for base indices ``b0 b1 b2``,
    so ``CODONS[i]`` runs AAA, AAC, AAG, AAT, ACA, ... TTT.

Protein alphabet
    The 20 standard amino acids in :data:`AMINO_ACIDS` order get indices
    0-19; ``*`` (stop) gets :data:`PROTEIN_STOP` = 21; everything else
    (X B Z J U O, gaps, ...) is :data:`PROTEIN_UNKNOWN` = 20.
"""

from __future__ import annotations

import functools
import itertools
import operator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from Bio.Data import CodonTable
from Bio.Seq import translate as _biopython_translate

__all__ = [
    "AMINO_ACIDS",
    "CODONS",
    "DNA_ONE_HOT",
    "DNA_ONE_HOT_UNIFORM",
    "DNA_UNKNOWN",
    "PROTEIN_STOP",
    "PROTEIN_UNKNOWN",
    "GeneticCode",
    "SequenceLike",
    "codon_index",
    "codon_lookup",
    "codon_phase",
    "codon_phase_channels",
    "dna_to_index",
    "genetic_code_ids",
    "one_hot_dna",
    "one_hot_protein",
    "protein_to_index",
    "reverse_complement",
    "reverse_complement_index",
    "translate",
]

SequenceLike = bytes | bytearray | memoryview | str | np.ndarray

_BASES = "ACGT"

#: Index that :func:`dna_to_index` gives to every byte that is not A, C, G, T or U.
DNA_UNKNOWN = 4

#: The 64 codons in codon-index order (AAA, AAC, ..., TTT).
CODONS: tuple[str, ...] = tuple("".join(c) for c in itertools.product(_BASES, repeat=3))

#: The 20 standard amino acids, in index order.
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: Index of X, B, Z, J, U, O and any other non-standard residue or symbol.
PROTEIN_UNKNOWN = 20
#: Index of the stop symbol ``*``.
PROTEIN_STOP = 21

# Bases each IUPAC nucleotide code stands for (U is read as T).
_IUPAC_BASES = {
    "A": "A",
    "C": "C",
    "G": "G",
    "T": "T",
    "U": "T",
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "B": "CGT",
    "D": "AGT",
    "H": "ACT",
    "V": "ACG",
    "N": "ACGT",
}
_IUPAC_COMPLEMENT = {
    "A": "T",
    "C": "G",
    "G": "C",
    "T": "A",
    "U": "A",
    "R": "Y",
    "Y": "R",
    "S": "S",
    "W": "W",
    "K": "M",
    "M": "K",
    "B": "V",
    "V": "B",
    "D": "H",
    "H": "D",
    "N": "N",
}


def _both_cases(mapping: dict[str, str]) -> dict[str, str]:
    return {**mapping, **{k.lower(): v.lower() for k, v in mapping.items()}}


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _build_one_hot(spread_ambiguity: bool) -> np.ndarray:
    table = np.zeros((256, 4), dtype=np.float32)
    for code, bases in _IUPAC_BASES.items():
        if len(bases) > 1 and not spread_ambiguity:
            continue
        for case in (code, code.lower()):
            for base in bases:
                table[ord(case), _BASES.index(base)] = 1.0 / len(bases)
    return _read_only(table)


#: One-hot lookup table, shape ``(256, 4)``, float32, indexed by byte value.
#: A/C/G/T/U (either case) give one-hot rows; every other byte a zero row.
DNA_ONE_HOT = _build_one_hot(spread_ambiguity=False)
#: Like :data:`DNA_ONE_HOT`, but an IUPAC ambiguity code spreads its unit mass
#: uniformly over the bases it stands for (R = 0.5 A + 0.5 G, N = 0.25 each).
DNA_ONE_HOT_UNIFORM = _build_one_hot(spread_ambiguity=True)

_DNA_INDEX = np.full(256, DNA_UNKNOWN, dtype=np.uint8)
for _code in "ACGTU":
    _DNA_INDEX[[ord(_code), ord(_code.lower())]] = _BASES.index(_IUPAC_BASES[_code])
_read_only(_DNA_INDEX)

_COMPLEMENT_BYTES = bytes.maketrans(
    "".join(_both_cases(_IUPAC_COMPLEMENT)).encode(),
    "".join(_both_cases(_IUPAC_COMPLEMENT).values()).encode(),
)
_COMPLEMENT_ARRAY = _read_only(np.frombuffer(_COMPLEMENT_BYTES, dtype=np.uint8).copy())
# Complement of a base index: A<->T, C<->G, unknown stays unknown.
_INDEX_COMPLEMENT = _read_only(np.array([3, 2, 1, 0, DNA_UNKNOWN], dtype=np.uint8))

_PROTEIN_INDEX = np.full(256, PROTEIN_UNKNOWN, dtype=np.uint8)
for _i, _aa in enumerate(AMINO_ACIDS):
    _PROTEIN_INDEX[[ord(_aa), ord(_aa.lower())]] = _i
_PROTEIN_INDEX[ord("*")] = PROTEIN_STOP
_read_only(_PROTEIN_INDEX)
# Rows 20 (unknown) and 21 (stop) are zero.
_PROTEIN_ONE_HOT = _read_only(np.eye(PROTEIN_STOP + 1, len(AMINO_ACIDS), dtype=np.float32))


def _as_byte_array(seq: SequenceLike) -> np.ndarray:
    """View a sequence as a 1-D ``uint8`` array of ASCII codes (no copy for bytes)."""
    if isinstance(seq, np.ndarray):
        if seq.dtype != np.uint8 or seq.ndim != 1:
            raise TypeError(
                f"expected a 1-D uint8 array of ASCII codes, got {seq.ndim}-D {seq.dtype}"
            )
        return seq
    if isinstance(seq, str):
        seq = seq.encode("ascii")
    return np.frombuffer(seq, dtype=np.uint8)


def one_hot_dna(seq: SequenceLike, ambiguity: Literal["zero", "uniform"] = "zero") -> np.ndarray:
    """One-hot encode a DNA sequence.

    Parameters
    ----------
    seq : bytes, str or numpy.ndarray of uint8, shape (length,)
        ASCII sequence, either case.
    ambiguity : {"zero", "uniform"}
        ``"zero"``: every byte other than A/C/G/T/U gives a zero row.
        ``"uniform"``: IUPAC ambiguity codes (N, R, Y, ...) spread their mass
        evenly over the bases they stand for; other bytes give a zero row.

    Returns
    -------
    numpy.ndarray of float32, shape (length, 4)
        Channels A, C, G, T. A new array, safe to modify.
    """
    if ambiguity == "zero":
        table = DNA_ONE_HOT
    elif ambiguity == "uniform":
        table = DNA_ONE_HOT_UNIFORM
    else:
        raise ValueError(f"unknown ambiguity {ambiguity!r}: expected 'zero' or 'uniform'")
    return table[_as_byte_array(seq)]


def dna_to_index(seq: SequenceLike) -> np.ndarray:
    """Map a DNA sequence to base indices.

    Parameters
    ----------
    seq : bytes, str or numpy.ndarray of uint8, shape (length,)
        ASCII sequence, either case.

    Returns
    -------
    numpy.ndarray of uint8, shape (length,)
        A=0, C=1, G=2, T=3 (U too), anything else :data:`DNA_UNKNOWN` (4).
    """
    return _DNA_INDEX[_as_byte_array(seq)]


def reverse_complement(seq: SequenceLike) -> bytes | str | np.ndarray:
    """Reverse complement of a DNA sequence, keeping type and case.

    All IUPAC codes are complemented (R<->Y, K<->M, B<->V, D<->H; S, W, N stay);
    U complements to A; other bytes (gaps, ...) are kept as they are.

    Parameters
    ----------
    seq : bytes, str or numpy.ndarray of uint8, shape (length,)
        ASCII sequence.

    Returns
    -------
    bytes, str or numpy.ndarray of uint8, shape (length,)
        ``str`` for a ``str``, an array for an array, ``bytes`` otherwise.
    """
    if isinstance(seq, np.ndarray):
        return _COMPLEMENT_ARRAY[_as_byte_array(seq)[::-1]]
    if isinstance(seq, str):
        return seq.encode("ascii").translate(_COMPLEMENT_BYTES)[::-1].decode("ascii")
    return bytes(seq).translate(_COMPLEMENT_BYTES)[::-1]


def reverse_complement_index(index: np.ndarray) -> np.ndarray:
    """Reverse complement of a base-index array from :func:`dna_to_index`.

    For one-hot arrays no helper is needed: ``one_hot[::-1, ::-1]`` is the
    reverse complement, because the channel order A, C, G, T is its own
    complement reversed.

    Parameters
    ----------
    index : numpy.ndarray of uint8, shape (length,)
        Values 0-4 (A, C, G, T, unknown).

    Returns
    -------
    numpy.ndarray of uint8, shape (length,)
        Unknown (4) stays unknown.
    """
    return _INDEX_COMPLEMENT[index[::-1]]


def codon_phase(length: int, offset: int = 0) -> np.ndarray:
    """Codon phase of every position: ``phase[i] = (i + offset) % 3``.

    ``offset`` is the absolute position of element 0 in its contig, so a window
    cut from ``contig[s:s + length]`` uses ``offset=s`` and every base gets its
    absolute position mod 3, whatever window it is seen in. The phase is not
    a reading frame by itself; the models learn how the coding frame relates to it.

    Parameters
    ----------
    length : int
        Number of positions.
    offset : int
        Absolute position of the first element.

    Returns
    -------
    numpy.ndarray of int64, shape (length,)
        Values 0, 1, 2.
    """
    return (np.arange(length, dtype=np.int64) + offset) % 3


def codon_phase_channels(length: int, offset: int = 0) -> np.ndarray:
    """One-hot codon phase (:func:`codon_phase`), as extra input channels.

    Returns
    -------
    numpy.ndarray of float32, shape (length, 3)
        Row ``i`` has a 1 in column ``(i + offset) % 3``.
    """
    return np.eye(3, dtype=np.float32)[codon_phase(length, offset)]


def protein_to_index(seq: SequenceLike) -> np.ndarray:
    """Map a protein sequence to amino-acid indices.

    Parameters
    ----------
    seq : bytes, str or numpy.ndarray of uint8, shape (length,)
        ASCII sequence, either case.

    Returns
    -------
    numpy.ndarray of uint8, shape (length,)
        0-19 in :data:`AMINO_ACIDS` order, :data:`PROTEIN_STOP` (21) for ``*``,
        :data:`PROTEIN_UNKNOWN` (20) for anything else.
    """
    return _PROTEIN_INDEX[_as_byte_array(seq)]


def one_hot_protein(seq: SequenceLike) -> np.ndarray:
    """One-hot encode a protein sequence.

    Parameters
    ----------
    seq : bytes, str or numpy.ndarray of uint8, shape (length,)
        ASCII sequence, either case.

    Returns
    -------
    numpy.ndarray of float32, shape (length, 20)
        Channels in :data:`AMINO_ACIDS` order; unknown residues and ``*`` give
        zero rows.
    """
    return _PROTEIN_ONE_HOT[protein_to_index(seq)]


def genetic_code_ids() -> list[int]:
    """NCBI translation table ids known to the installed Biopython, ascending."""
    return sorted(CodonTable.unambiguous_dna_by_id)


def _ncbi_table(table: int) -> CodonTable.CodonTable:
    try:
        return CodonTable.unambiguous_dna_by_id[operator.index(table)]
    except (KeyError, TypeError):
        valid = ", ".join(map(str, genetic_code_ids()))
        raise ValueError(f"unknown translation table {table!r}: expected one of {valid}") from None


def translate(
    seq: bytes | str, translation_table: int = 11, *, to_stop: bool = False, cds: bool = False
) -> str:
    """Translate a DNA sequence with Biopython, under any NCBI table.

    Follows :func:`Bio.Seq.translate` exactly: ambiguous codons give the amino
    acid they all share, or ``X``; ``*`` marks stops. With ``cds=True`` the
    sequence must be one complete CDS (a start codon of the table, which reads
    as M; a whole number of codons; one final stop, which is dropped).

    Parameters
    ----------
    seq : bytes or str
        DNA sequence, either case.
    translation_table : int
        NCBI translation table id (11: bacteria and archaea; 4: Mycoplasma).
    to_stop : bool
        Stop at the first in-frame stop codon.
    cds : bool
        Validate and translate as a complete CDS.

    Returns
    -------
    str
        Protein sequence.

    Raises
    ------
    ValueError
        Unknown table, or with ``cds=True`` a sequence that is not a complete CDS.
    """
    table_id = _ncbi_table(translation_table).id
    if isinstance(seq, bytes | bytearray | memoryview):
        seq = bytes(seq).decode("ascii")
    try:
        return _biopython_translate(seq, table=table_id, to_stop=to_stop, cds=cds)
    except CodonTable.TranslationError as error:
        raise ValueError(str(error)) from error


def codon_index(seq_index: np.ndarray) -> np.ndarray:
    """Index of the codon that starts at every position.

    Parameters
    ----------
    seq_index : numpy.ndarray of uint8, shape (length,)
        Base indices from :func:`dna_to_index`.

    Returns
    -------
    numpy.ndarray of int8, shape (length,)
        ``16 * b[i] + 4 * b[i + 1] + b[i + 2]`` (0-63, see :data:`CODONS`), or
        -1 where the codon contains an unknown base or runs off the end. The -1
        makes ``lookup[codons]`` read the last entry of a 65-entry lookup
        array, which is how :class:`GeneticCode` handles unknown codons.
    """
    length = len(seq_index)
    codons = np.full(length, -1, dtype=np.int8)
    if length < 3:
        return codons
    first, second, third = seq_index[:-2], seq_index[1:-1], seq_index[2:]
    # Unknown (4) sets bit 2, so an OR of the three bases reveals any unknown one.
    unknown = (first | second | third) >= DNA_UNKNOWN
    value = ((first << 4) | (second << 2) | third).astype(np.int8)
    value[unknown] = -1
    codons[: length - 2] = value
    return codons


@dataclass(frozen=True, eq=False)
class GeneticCode:
    """A translation table as numpy arrays, for vectorised lookups.

    All arrays have 65 entries: the 64 codons in :data:`CODONS` order, then
    one for "unknown codon", so that ``array[codon_index(...)]`` works
    directly with the -1 that :func:`codon_index` gives unknown codons. The
    arrays are read-only.

    Attributes
    ----------
    translation_table : int
        NCBI translation table id.
    name : str
        NCBI name of the table.
    stop_mask : numpy.ndarray of bool, shape (65,)
        Stop codons of the table. In tables 27, 28 and 31 some codons are both
        stops and sense codons; they are in this mask.
    start_mask : numpy.ndarray of bool, shape (65,)
        All start codons NCBI lists for the table (for table 11 these include
        CTG, ATT, ATC, ATA besides ATG, GTG, TTG).
    aa : numpy.ndarray of uint8, shape (65,)
        ASCII code of the amino acid (``*`` for stops, ``X`` for unknown
        codons). Codons that are both stop and sense give the amino acid, as
        Biopython does.
    """

    translation_table: int
    name: str
    stop_mask: np.ndarray
    start_mask: np.ndarray
    aa: np.ndarray

    def translate(self, seq: SequenceLike, *, cds: bool = False) -> str:
        """Translate an in-frame DNA sequence (fast path, no validation).

        Any codon containing a non-ACGT base gives ``X``, stops give ``*`` and
        are kept, and a trailing partial codon is ignored. With ``cds=True``,
        the first codon reads as M when it is one of the table's start codons,
        as NCBI and Prodigal translate genes with a real start; set it to
        False for a gene that runs off the 5' edge of its contig.

        Unlike :func:`translate` with ``cds=True``, nothing is checked and the
        final stop is kept, as in Prodigal's protein output.

        Parameters
        ----------
        seq : bytes, str or numpy.ndarray of uint8, shape (length,)
            ASCII DNA sequence, in frame from its first base.
        cds : bool
            Read an alternative start codon at the first position as M.

        Returns
        -------
        str
            Protein of ``length // 3`` residues.
        """
        codons = codon_index(dna_to_index(seq))[: len(seq) // 3 * 3 : 3]
        residues = self.aa[codons]
        if cds and len(codons) and self.start_mask[codons[0]]:
            residues[0] = ord("M")
        return residues.tobytes().decode("ascii")


def _codon_mask(codons: list[str]) -> np.ndarray:
    mask = np.zeros(len(CODONS) + 1, dtype=bool)
    mask[[CODONS.index(codon) for codon in codons]] = True
    return _read_only(mask)


@functools.cache
def codon_lookup(translation_table: int = 11) -> GeneticCode:
    """The :class:`GeneticCode` of an NCBI translation table (cached).

    Parameters
    ----------
    translation_table : int
        NCBI translation table id.

    Raises
    ------
    ValueError
        Unknown table; the message lists the valid ids.
    """
    ncbi = _ncbi_table(translation_table)
    aa = np.frombuffer(
        "".join(ncbi.forward_table.get(codon, "*") for codon in CODONS).encode("ascii") + b"X",
        dtype=np.uint8,
    ).copy()
    return GeneticCode(
        translation_table=ncbi.id,
        name=ncbi.names[0],
        stop_mask=_codon_mask(ncbi.stop_codons),
        start_mask=_codon_mask(ncbi.start_codons),
        aa=_read_only(aa),
    )
