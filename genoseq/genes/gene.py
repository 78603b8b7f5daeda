"""The predicted gene: its coordinates, Prodigal's scores, and its bases and protein.

:func:`build_genes` turns the decoder's chosen candidates into :class:`Gene`
objects; the writers of :mod:`genoseq.io` (GFF3, GenBank, .faa, .ffn, .sco)
write them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from genoseq.encoding import codon_index, codon_lookup, dna_to_index, reverse_complement
from genoseq.genes.orfs import OrfCandidates
from genoseq.genes.rbs import UPSTREAM as RBS_UPSTREAM
from genoseq.genes.rbs import find_rbs

__all__ = ["Gene", "build_genes"]

_PARTIAL_CODES = frozenset({"00", "01", "10", "11"})
_NON_ACGT_TO_N = bytes(byte if byte in b"ACGT" else ord("N") for byte in range(256))


@dataclass(frozen=True)
class Gene:
    """One predicted gene, with Prodigal's scores.

    Parameters
    ----------
    seqid : str
        Sequence the gene lies on.
    start, end : int
        0-based, ``start`` inclusive, ``end`` exclusive, on the forward strand.
        The span holds whole codons counted from the 3' end (stop codon) for a
        5'-partial gene and from the 5' end otherwise.
    strand : int
        +1 or -1.
    partial : str
        Prodigal's two digits: the first is 1 when the gene runs off the left
        end (lower coordinate) of the sequence, the second when it runs off the
        right end; whatever the strand. ``"00"`` is a complete gene.
    start_type : str
        Start codon (``"ATG"``, ``"GTG"``, ``"TTG"``, ...) or ``"Edge"`` for a
        gene without its start.
    rbs_motif, rbs_spacer : str
        Ribosome-binding-site motif (``"AGGAGG"``) and spacer (``"5-10bp"``),
        ``"None"`` when none was found.
    gc_cont : float
        GC fraction of the gene, 0-1.
    conf : float
        Confidence in percent, 0-100.
    score, cscore, sscore, rscore, uscore, tscore : float
        Total, coding, start, RBS, upstream and start-codon-type scores, as in
        Prodigal (``score = cscore + sscore``).
    translation_table : int
        NCBI genetic code the gene was predicted under.
    protein : str, optional
        Translation as written to .faa: one letter per codon, ``*`` for the
        stop codon of a 3'-complete gene, ``M`` for the start codon of a
        5'-complete one, ``X`` for codons with an ambiguous base. When None,
        writers translate the gene from its sequence (:meth:`translate`).
    """

    seqid: str
    start: int
    end: int
    strand: int
    partial: str
    start_type: str
    rbs_motif: str
    rbs_spacer: str
    gc_cont: float
    conf: float
    score: float
    cscore: float
    sscore: float
    rscore: float
    uscore: float
    tscore: float
    translation_table: int = 11
    protein: str | None = None

    def __post_init__(self) -> None:
        where = f"gene {self.seqid}:{self.start + 1}..{self.end}"
        if self.strand not in (1, -1):
            raise ValueError(f"{where}: strand must be +1 or -1, not {self.strand!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"{where}: need 0 <= start < end")
        if self.partial not in _PARTIAL_CODES:
            raise ValueError(
                f"{where}: partial must be one of 00, 01, 10, 11, not {self.partial!r}"
            )

    @property
    def partial_5(self) -> bool:
        """The gene runs off its 5' end (has no start codon)."""
        return self.partial[0 if self.strand == 1 else 1] == "1"

    @property
    def partial_3(self) -> bool:
        """The gene runs off its 3' end (has no stop codon)."""
        return self.partial[1 if self.strand == 1 else 0] == "1"

    @property
    def phase(self) -> int:
        """Bases before the first whole codon at the 5' end (GFF3 column 8)."""
        return (self.end - self.start) % 3 if self.partial_5 else 0

    def nucleotides(self, sequence: bytes) -> bytes:
        """The gene's bases in its own direction (reverse complement on the - strand).

        Parameters
        ----------
        sequence : bytes
            The whole sequence ``self.seqid``, any case.

        Returns
        -------
        bytes
            Upper case, length ``end - start``; bases other than A, C, G, T become N,
            as in Prodigal's .ffn.
        """
        if self.end > len(sequence):
            raise ValueError(
                f"gene {self.seqid}:{self.start + 1}..{self.end} ends beyond the sequence length {len(sequence)}"
            )
        bases = sequence[self.start : self.end].upper().translate(_NON_ACGT_TO_N)
        if self.strand == -1:
            bases = reverse_complement(bases)
        return bases

    def translate(self, sequence: bytes) -> str:
        """The protein, translated as Prodigal translates it.

        Parameters
        ----------
        sequence : bytes
            The whole sequence ``self.seqid``.

        Returns
        -------
        str
            One letter per whole codon from the 5' end (after ``self.phase``
            bases), under ``self.translation_table``: ``M`` for the start codon
            unless the gene is 5'-partial, ``*`` for stops, ``X`` for codons with a
            base other than A, C, G, T.
        """
        bases = self.nucleotides(sequence)[self.phase :]
        code = codon_lookup(self.translation_table)
        # Codon index (-1 for a codon with N) at every whole codon from the 5' end.
        codons = codon_index(dna_to_index(bases))[: len(bases) // 3 * 3 : 3]
        protein = bytearray(code.aa[codons].tobytes())
        if protein and not self.partial_5 and codons[0] >= 0:
            protein[0] = ord("M")
        # Tables such as 27 and 28 read stop codons as amino acids inside a gene.
        if protein and not self.partial_3 and code.stop_mask[codons[-1]]:
            protein[-1] = ord("*")
        return protein.decode("ascii")


def build_genes(seqid: str, seq: bytes, index: np.ndarray, candidates: OrfCandidates,
                chosen: np.ndarray, total: np.ndarray, coding: np.ndarray,
                translation_table: int, rbs: np.ndarray | None = None) -> list[Gene]:
    """The chosen candidates of one sequence as :class:`Gene` objects, proteins included.

    Parameters
    ----------
    seqid : str
    seq : bytes
        The sequence, upper case.
    index : np.ndarray, shape (length,), uint8
        The same as A=0, C=1, G=2, T=3, other=4.
    candidates : OrfCandidates
    chosen : np.ndarray of int
        Indices of the chosen candidates.
    total, coding : np.ndarray, shape (n_candidates,)
        Each candidate's decoder score and its coding part (Prodigal's split:
        ``cscore`` the coding evidence, ``sscore`` everything else).
    translation_table : int
    rbs : np.ndarray, shape (n_candidates,), or None
        The Shine-Dalgarno class score's part of ``total`` (``rscore``, part
        of ``sscore``); None when the score was not used (``rscore`` 0).
    """
    c = candidates
    genes = []
    for k in chosen.tolist():
        start, end = int(c.start[k]), int(c.end[k])
        bases = index[start:end]
        acgt = int(np.count_nonzero(bases < 4))
        gc = int(np.count_nonzero((bases == 1) | (bases == 2)))
        score = float(total[k])
        strand = int(c.strand[k])
        if c.partial_5prime[k]:
            rbs_motif, rbs_spacer = "None", "None"
        elif strand > 0:
            rbs_motif, rbs_spacer = find_rbs(seq[max(start - RBS_UPSTREAM, 0):start].decode())
        else:
            rbs_motif, rbs_spacer = find_rbs(
                reverse_complement(seq[end:end + RBS_UPSTREAM]).decode())
        gene = Gene(
            seqid=seqid, start=start, end=end, strand=strand,
            partial=f"{int(c.partial_left[k])}{int(c.partial_right[k])}",
            start_type="Edge" if c.partial_5prime[k] else str(c.start_codon_str[k]),
            rbs_motif=rbs_motif, rbs_spacer=rbs_spacer,
            gc_cont=gc / acgt if acgt else 0.0,
            conf=100.0 / (1.0 + math.exp(-min(max(score, -50.0), 50.0))),
            score=score,
            cscore=float(coding[k]),
            sscore=score - float(coding[k]),
            rscore=0.0 if rbs is None else float(rbs[k]), uscore=0.0, tscore=0.0,
            translation_table=translation_table,
        )
        genes.append(replace(gene, protein=gene.translate(seq)))
    return genes
