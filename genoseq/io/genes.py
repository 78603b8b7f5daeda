"""Prodigal's gene files: proteins (.faa), genes (.ffn), .sco, the start file (-s), candidates.

The writers here and in :mod:`genoseq.io.gff` and :mod:`genoseq.io.genbank`
write :class:`genoseq.genes.gene.Gene` objects (any object with their
attributes and ``translate``/``nucleotides`` methods) and name genes the same
way (:func:`number_genes`), so one gene has one ID in every output file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from genoseq.io.atomic import atomic_write

if TYPE_CHECKING:
    from genoseq.genes.gene import Gene

__all__ = [
    "CANDIDATE_COLUMNS",
    "START_FILE_COLUMNS",
    "number_genes",
    "prodigal_attributes",
    "sequence_data",
    "start_file_block",
    "start_file_rows",
    "write_candidates",
    "write_gene_sequences",
    "write_proteins",
    "write_sco",
    "write_start_file",
]

FASTA_WIDTH = 60


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
                protein = gene.translate(sequences[gene.seqid])
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
                _wrapped(gene.nucleotides(sequences[gene.seqid]).decode("ascii"))
            )


_SEQHDR_UNSAFE = re.compile(r'["%\x00-\x1f\x7f]')


def sequence_data(number: int, length: int, seqid: str) -> str:
    """Prodigal's per-sequence data ``seqnum=I;seqlen=L;seqhdr="SEQID"``.

    The value of the ``# Sequence Data:`` lines of .sco, GFF3 and the start
    file. I counts the sequences of the input from 1, L is the length in bp.
    SEQID is percent-encoded where it would break the quoted value: ``"``
    as ``%22``, ``%`` (the escape character) as ``%25``, control characters
    as ``%XX`` -- GFF3's column-9 escaping, as in :mod:`genoseq.io.gff`;
    :func:`urllib.parse.unquote` undoes it. Any other header is written
    exactly as Prodigal writes it. Prodigal itself writes the header raw
    (``print_genes`` in its ``gene.c`` formats ``seqhdr="%s"``;
    pyrodigal's ``write_gff`` the same), so its header ``a"b`` gives
    ``seqhdr="a"b"``, a quote inside the quotes.
    """
    header = _SEQHDR_UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", seqid)
    return f'seqnum={number};seqlen={length};seqhdr="{header}"'


def write_sco(
    path: str | os.PathLike,
    genes: Iterable[Gene],
    sequence_lengths: Mapping[str, int],
    model_data: Mapping[str, str] | None = None,
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
    model_data : mapping of str to str, optional
        Per sequence, the value of Prodigal's ``# Model Data:`` line
        (``version=...;run_type=...;model="...";gc_cont=..;transl_table=..;
        uses_sd=..``); left out when None.

    Notes
    -----
    Per sequence, one line ``# Sequence Data: seqnum=I;seqlen=L;seqhdr="SEQID"``
    (:func:`sequence_data`), then ``# Model Data: ...`` when ``model_data``
    is given, then a line ``>n_start_end_strand`` per gene (n counts genes
    within the sequence from 1; 1-based inclusive coordinates; strand ``+``
    or ``-``).
    """
    by_seqid: dict[str, list[Gene]] = {}
    for _, gene in number_genes(genes, sequence_lengths):
        by_seqid.setdefault(gene.seqid, []).append(gene)
    with atomic_write(path) as handle:
        for number, (seqid, length) in enumerate(sequence_lengths.items(), 1):
            handle.write(f"# Sequence Data: {sequence_data(number, length, seqid)}\n")
            if model_data is not None:
                handle.write(f"# Model Data: {model_data[seqid]}\n")
            for ordinal, gene in enumerate(by_seqid.get(seqid, []), 1):
                strand = "+" if gene.strand == 1 else "-"
                handle.write(f">{ordinal}_{gene.start + 1}_{gene.end}_{strand}\n")


#: Columns of Prodigal's start file (``genoseq predict -s``), as Prodigal names them.
START_FILE_COLUMNS = ("Beg", "End", "Std", "Total", "CodPot", "StrtSc", "Codon", "RBSMot",
                      "Spacer", "RBSScr", "UpsScr", "TypeScr", "GCCont")


def start_file_rows(start, end, strand, total, coding, codon, rbs_motif, rbs_spacer,
                    gc_cont, rbs_score=None) -> str:
    """The candidate rows of one sequence in Prodigal's start file.

    Parameters
    ----------
    start, end : sequence of int
        0-based half-open forward-strand span of each candidate, stop codon
        included (written 1-based inclusive: ``Beg`` < ``End`` on both strands).
    strand : sequence of int
        +1 or -1.
    total, coding : sequence of float
        Each candidate's gene score and its coding part: ``Total`` and
        ``CodPot``; ``StrtSc`` is ``Total - CodPot``, so the three add up as
        in Prodigal.
    codon : sequence of str
        Start codon, or ``Edge`` for a candidate without one (5'-partial).
    rbs_motif, rbs_spacer : sequence of str
        ``RBSMot`` and ``Spacer``.
    gc_cont : sequence of float
        GC fraction of the candidate, 0-1 (``GCCont``, three decimals).
    rbs_score : sequence of float, optional
        The Shine-Dalgarno class score's part of each ``StrtSc`` (``RBSScr``);
        0.00 when not given.

    Returns
    -------
    str
        The candidates one ORF after another (one stop codon and strand
        each), every ORF preceded by an empty line. ORFs are ordered by their
        stop codon along the sequence (+ strand first at a tie), candidates
        within one by the position of their first base (Prodigal's
        ``stopcmp_nodes`` order). ``UpsScr`` and ``TypeScr`` are 0.00, and
        ``RBSScr`` without ``rbs_score``: the rest of genoseq's start score is
        one number.
    """
    if rbs_score is None:
        rbs_score = [0.0] * len(start)
    rows = list(zip(start, end, strand, total, coding, codon, rbs_motif, rbs_spacer, gc_cont,
                    rbs_score, strict=True))
    # Prodigal's stop position: first base of the stop codon on +, its last base on -;
    # the start node's position: first base of the start codon on +, its last on -.
    rows.sort(key=lambda row: (row[1] - 3 if row[2] > 0 else row[0] + 2, -row[2],
                               row[0] if row[2] > 0 else row[1] - 1))
    lines = []
    previous = None
    for s, e, d, t, c, first, motif, spacer, gc, r in rows:
        orf = (e if d > 0 else s, d)
        if orf != previous:
            lines.append("\n")
            previous = orf
        lines.append(f"{s + 1}\t{e}\t{'+' if d > 0 else '-'}\t{t:.2f}\t{c:.2f}\t{t - c:.2f}\t"
                     f"{first}\t{motif}\t{spacer}\t{r:.2f}\t0.00\t0.00\t{gc:.3f}\n")
    return "".join(lines)


def start_file_block(sequence: str, run_data: str, rows: str = "") -> str:
    """One sequence's part of Prodigal's start file (``-s``).

    Parameters
    ----------
    sequence : str
        :func:`sequence_data` of the sequence.
    run_data : str
        Value of the ``# Run Data:`` line (what GFF3 and .sco call ``# Model Data:``).
    rows : str
        :func:`start_file_rows` of its candidates.

    Returns
    -------
    str
        Prodigal's layout: ``# Sequence Data: ...``, ``# Run Data: ...``, an
        empty line, the tab-separated column names (:data:`START_FILE_COLUMNS`),
        the rows, and an empty line.
    """
    return (f"# Sequence Data: {sequence}\n# Run Data: {run_data}\n\n"
            + "\t".join(START_FILE_COLUMNS) + "\n" + rows + "\n")


def write_start_file(path: str | os.PathLike, blocks: Iterable[str]) -> None:
    """Write Prodigal's start file (``-s``): the :func:`start_file_block` of every sequence."""
    with atomic_write(path) as handle:
        handle.writelines(blocks)


#: Columns of genoseq's candidate table (``genoseq predict --starts-tsv``).
CANDIDATE_COLUMNS = ("seqid", "start", "end", "strand", "start_codon", "partial",
                     "coding_score", "start_score", "total_score")


def candidate_lines(seqid: str, start, end, strand, start_codon, partial, coding, start_score,
                    total) -> list[str]:
    """Rows of the candidate table for the candidates of one sequence.

    Parameters
    ----------
    seqid : str
    start, end : sequence of int
        0-based half-open coordinates (written 1-based inclusive).
    strand : sequence of int
        +1 or -1.
    start_codon : sequence of str
        Start codon, or ``Edge`` for a 5'-partial candidate.
    partial : sequence of str
        Prodigal's two partial digits.
    coding, start_score, total : sequence of float
        Score parts, written with two decimals.
    """
    return [f"{seqid}\t{s + 1}\t{e}\t{'+' if d > 0 else '-'}\t{codon}\t{p}\t"
            f"{c:.2f}\t{b:.2f}\t{t:.2f}\n"
            for s, e, d, codon, p, c, b, t in zip(start, end, strand, start_codon, partial,
                                                  coding, start_score, total, strict=True)]


def write_candidates(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Write the candidate table (header + :func:`candidate_lines` rows), atomically."""
    with atomic_write(path) as handle:
        handle.write("\t".join(CANDIDATE_COLUMNS) + "\n")
        handle.writelines(lines)
