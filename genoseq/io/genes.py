"""Predicted genes and Prodigal's gene files: proteins (.faa), genes (.ffn), .sco.

A :class:`Gene` is what the gene finder emits. The writers here and in
:mod:`genoseq.io.gff` and :mod:`genoseq.io.genbank` name genes the same way
(:func:`number_genes`), so one gene has one ID in every output file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from genoseq.encoding import codon_index, codon_lookup, dna_to_index, reverse_complement
from genoseq.io.atomic import atomic_write

__all__ = [
    "Gene",
    "gene_nucleotides",
    "number_genes",
    "prodigal_attributes",
    "translate_gene",
    "write_gene_sequences",
    "write_proteins",
    "write_sco",
]

FASTA_WIDTH = 60
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
        writers translate the gene from its sequence (:func:`translate_gene`).
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


def number_genes(
    genes: Iterable[Gene], seqids: Iterable[str] | None = None
) -> list[tuple[str, Gene]]:
    """Order genes for output and give each its ID ``<seqid>_<n>``.

    Parameters
    ----------
    genes : iterable of Gene
        Genes of any sequences, in any order.
    seqids : iterable of str, optional
        Output order of the sequences. Default: order of first appearance.

    Returns
    -------
    list of (str, Gene)
        Sequence by sequence, by ``(start, end, strand)`` within a sequence;
        ``n`` counts from 1 within each sequence, as Prodigal's IDs do.

    Raises
    ------
    ValueError
        If a gene's seqid is not in ``seqids``.
    """
    by_seqid: dict[str, list[Gene]] = {} if seqids is None else {seqid: [] for seqid in seqids}
    for gene in genes:
        if seqids is None:
            by_seqid.setdefault(gene.seqid, [])
        elif gene.seqid not in by_seqid:
            raise ValueError(f"gene on {gene.seqid!r}, a sequence not among those being written")
        by_seqid[gene.seqid].append(gene)
    numbered = []
    for seqid, group in by_seqid.items():
        group.sort(key=lambda gene: (gene.start, gene.end, gene.strand))
        numbered.extend((f"{seqid}_{n}", gene) for n, gene in enumerate(group, 1))
    return numbered


def prodigal_attributes(gene_id: str, gene: Gene) -> list[tuple[str, str]]:
    """Prodigal's per-gene ``tag=value`` data, formatted as Prodigal formats it.

    The first six pairs (``ID`` to ``gc_cont``) are what Prodigal puts in .faa
    and .ffn headers; GFF3 and GenBank notes carry all thirteen.

    Returns
    -------
    list of (str, str)
        ``ID partial start_type rbs_motif rbs_spacer gc_cont conf score
        cscore sscore rscore uscore tscore``, unescaped.
    """
    return [
        ("ID", gene_id),
        ("partial", gene.partial),
        ("start_type", gene.start_type),
        ("rbs_motif", gene.rbs_motif),
        ("rbs_spacer", gene.rbs_spacer),
        ("gc_cont", f"{gene.gc_cont:.3f}"),
        ("conf", f"{gene.conf:.2f}"),
        ("score", f"{gene.score:.2f}"),
        ("cscore", f"{gene.cscore:.2f}"),
        ("sscore", f"{gene.sscore:.2f}"),
        ("rscore", f"{gene.rscore:.2f}"),
        ("uscore", f"{gene.uscore:.2f}"),
        ("tscore", f"{gene.tscore:.2f}"),
    ]


def gene_nucleotides(gene: Gene, sequence: bytes) -> bytes:
    """The gene's bases in its own direction (reverse complement on the - strand).

    Parameters
    ----------
    gene : Gene
    sequence : bytes
        The whole sequence ``gene.seqid``, any case.

    Returns
    -------
    bytes
        Upper case, length ``end - start``; bases other than A, C, G, T become N,
        as in Prodigal's .ffn.
    """
    if gene.end > len(sequence):
        raise ValueError(
            f"gene {gene.seqid}:{gene.start + 1}..{gene.end} ends beyond the sequence length {len(sequence)}"
        )
    bases = sequence[gene.start : gene.end].upper().translate(_NON_ACGT_TO_N)
    if gene.strand == -1:
        bases = reverse_complement(bases)
    return bases


def translate_gene(gene: Gene, sequence: bytes) -> str:
    """Translate a gene as Prodigal does.

    Parameters
    ----------
    gene : Gene
    sequence : bytes
        The whole sequence ``gene.seqid``.

    Returns
    -------
    str
        One letter per whole codon from the 5' end (after ``gene.phase``
        bases), under ``gene.translation_table``: ``M`` for the start codon
        unless the gene is 5'-partial, ``*`` for stops, ``X`` for codons with a
        base other than A, C, G, T.
    """
    bases = gene_nucleotides(gene, sequence)[gene.phase :]
    code = codon_lookup(gene.translation_table)
    # Codon index (-1 for a codon with N) at every whole codon from the 5' end.
    codons = codon_index(dna_to_index(bases))[: len(bases) // 3 * 3 : 3]
    protein = bytearray(code.aa[codons].tobytes())
    if protein and not gene.partial_5 and codons[0] >= 0:
        protein[0] = ord("M")
    # Tables such as 27 and 28 read stop codons as amino acids inside a gene.
    if protein and not gene.partial_3 and code.stop_mask[codons[-1]]:
        protein[-1] = ord("*")
    return protein.decode("ascii")


def _fasta_header(gene_id: str, gene: Gene) -> str:
    data = ";".join(f"{tag}={value}" for tag, value in prodigal_attributes(gene_id, gene)[:6])
    return f">{gene_id} # {gene.start + 1} # {gene.end} # {gene.strand} # {data}\n"


def _wrapped(text: str) -> Iterator[str]:
    for offset in range(0, len(text), FASTA_WIDTH):
        yield text[offset : offset + FASTA_WIDTH] + "\n"


def write_proteins(
    path: str | os.PathLike, genes: Iterable[Gene], sequences: Mapping[str, bytes] | None = None
) -> None:
    """Write gene translations as protein FASTA (.faa), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``-`` writes to standard output.
    genes : iterable of Gene
        Ordered and named as :func:`number_genes` does.
    sequences : mapping of str to bytes, optional
        Sequences by seqid, needed for genes whose ``protein`` is None.

    Notes
    -----
    Headers are Prodigal's: ``>ID # start # end # strand # ID=...;partial=..;
    start_type=..;rbs_motif=..;rbs_spacer=..;gc_cont=..`` with 1-based
    inclusive coordinates and strand ``1`` or ``-1``; sequences wrap at 60.
    """
    numbered = number_genes(genes)
    with atomic_write(path) as handle:
        for gene_id, gene in numbered:
            if gene.protein is not None:
                protein = gene.protein
            elif sequences is None:
                raise ValueError(f"gene {gene_id} has no protein and no sequence was given")
            else:
                protein = translate_gene(gene, sequences[gene.seqid])
            handle.write(_fasta_header(gene_id, gene))
            handle.writelines(_wrapped(protein))


def write_gene_sequences(
    path: str | os.PathLike, genes: Iterable[Gene], sequences: Mapping[str, bytes]
) -> None:
    """Write gene nucleotide sequences (.ffn), atomically, in the genes' direction.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``-`` writes to standard output.
    genes : iterable of Gene
        Ordered and named as :func:`number_genes` does.
    sequences : mapping of str to bytes
        Sequences by seqid.

    Notes
    -----
    Headers as in :func:`write_proteins`; sequences wrap at 60 (Prodigal wraps
    .ffn at 70, which no FASTA reader depends on).
    """
    numbered = number_genes(genes)
    with atomic_write(path) as handle:
        for gene_id, gene in numbered:
            handle.write(_fasta_header(gene_id, gene))
            handle.writelines(
                _wrapped(gene_nucleotides(gene, sequences[gene.seqid]).decode("ascii"))
            )


def write_sco(
    path: str | os.PathLike, genes: Iterable[Gene], sequence_lengths: Mapping[str, int]
) -> None:
    """Write Prodigal's simple coordinate output (``-f sco``), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``-`` writes to standard output.
    genes : iterable of Gene
        Ordered as :func:`number_genes` does.
    sequence_lengths : mapping of str to int
        Length of every sequence, in output order.

    Notes
    -----
    Per sequence, one line ``# Sequence Data: seqnum=I;seqlen=L;seqhdr="SEQID"``
    (I counts sequences from 1), then a line ``>n_start_end_strand`` per gene
    (n counts genes within the sequence from 1; 1-based inclusive
    coordinates; strand ``+`` or ``-``). Prodigal's ``# Model Data`` line is
    left out: it describes Prodigal's own training.
    """
    by_seqid: dict[str, list[Gene]] = {}
    for _, gene in number_genes(genes, sequence_lengths):
        by_seqid.setdefault(gene.seqid, []).append(gene)
    with atomic_write(path) as handle:
        for number, (seqid, length) in enumerate(sequence_lengths.items(), 1):
            handle.write(f'# Sequence Data: seqnum={number};seqlen={length};seqhdr="{seqid}"\n')
            for ordinal, gene in enumerate(by_seqid.get(seqid, []), 1):
                strand = "+" if gene.strand == 1 else "-"
                handle.write(f">{ordinal}_{gene.start + 1}_{gene.end}_{strand}\n")
