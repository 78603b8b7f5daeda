"""Steps of the Snakemake workflow (``workflows/``) that are not a ``genoseq`` command.

The rules run them as ``python -m genoseq.workflow STEP ...``:

- ``upstream``: the bases upstream of each predicted gene's start codon, in the
  gene's direction, as FASTA (for ``genoseq motifs scan``);
- ``summary``: one line of figures per sample (genes, coding density, GC %,
  mean gene length, secondary structure composition, motif hits per gene);
- ``report``: the summaries of all samples in one TSV, and a PNG of them.

Malformed input gives one line ``genoseq.workflow: error: ...`` on stderr and
exit status 2, as the ``genoseq`` command does.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from genoseq.encoding import reverse_complement
from genoseq.io import InvalidFileError, read_cds, read_fasta
from genoseq.io.atomic import atomic_write

__all__ = ["SUMMARY_COLUMNS", "sample_summary", "upstream_regions", "write_report"]

#: Columns of a sample summary, in order.
SUMMARY_COLUMNS = [
    "sample", "genome_bp", "records", "gc_percent", "genes", "coding_density",
    "mean_gene_length", "ss_helix", "ss_strand", "ss_coil", "upstream_bp",
    "motif_hits", "motif_hits_per_gene", "genes_with_motif",
]


def _read_genome(path: str | os.PathLike) -> dict[str, bytes]:
    return {record.id: record.seq.upper() for record in read_fasta(path, alphabet="dna")}


def upstream_regions(genome: str | os.PathLike, genes: str | os.PathLike,
                     output: str | os.PathLike, length: int = 50) -> int:
    """Write the ``length`` bases before each gene's start codon as FASTA.

    Parameters
    ----------
    genome : path
        The genome FASTA the genes were predicted on.
    genes : path
        Genes as GFF3 (``genoseq predict -o``) or GenBank.
    output : path
        FASTA written atomically; record ids are the gene ids. The bases are
        in the gene's direction (reverse complement for - strand genes) and
        end just before the start codon; a region cut short by the sequence
        edge keeps what there is. Genes without a start codon (partial at the
        5' end) or with nothing upstream are left out.
    length : int
        Bases upstream, >= 1.

    Returns
    -------
    int
        Number of records written.
    """
    if length < 1:
        raise ValueError(f"upstream length must be >= 1, not {length}")
    sequences = _read_genome(genome)
    written = 0
    with atomic_write(output) as handle:
        for cds in read_cds(genes).cds:
            if cds.partial_5:
                continue
            sequence = sequences.get(cds.seqid)
            if sequence is None:
                raise InvalidFileError(genes, None, f"gene {cds.id!r} lies on {cds.seqid!r}, "
                                       f"which is not in {os.fspath(genome)}")
            if cds.strand == 1:
                region = sequence[max(0, cds.start - length):cds.start]
            else:
                region = reverse_complement(sequence[cds.end:cds.end + length])
            if region:
                handle.write(f">{cds.id}\n{region.decode('ascii')}\n")
                written += 1
    return written


def _coding_bases(genes) -> int:
    """Bases covered by at least one gene, either strand."""
    total = 0
    for group in genes.by_seqid().values():
        end = max(segment_end for cds in group for _, segment_end in cds.segments)
        covered = np.zeros(end, dtype=bool)
        for cds in group:
            for start, stop in cds.segments:
                covered[start:stop] = True
        total += int(covered.sum())
    return total


def _fasta_length(path: str | os.PathLike) -> int:
    return sum(len(record.seq) for record in read_fasta(path))


def sample_summary(sample: str, genome: str | os.PathLike, genes: str | os.PathLike,
                   structure: str | os.PathLike, upstream: str | os.PathLike,
                   motif_hits: str | os.PathLike) -> dict:
    """Figures of one sample (a dict keyed by :data:`SUMMARY_COLUMNS`).

    Parameters
    ----------
    sample : str
        Sample name.
    genome, genes, structure, upstream, motif_hits : path
        The genome FASTA, its genes (GFF3), ``genoseq ss`` output of the
        genes' proteins, the upstream regions (:func:`upstream_regions`) and
        their ``genoseq motifs scan`` hits.

    Notes
    -----
    ``coding_density`` is the share of genome bases inside at least one gene;
    ``mean_gene_length`` counts bases including the stop codon;
    ``ss_helix``/``ss_strand``/``ss_coil`` are the shares of all residues
    predicted H, E and C (Q3); ``motif_hits_per_gene`` is hits over genes and
    ``genes_with_motif`` the share of genes with at least one hit upstream.
    """
    from genoseq.info import file_stats

    stats = file_stats(genome)
    annotation = read_cds(genes)
    lengths = np.array([cds.length for cds in annotation.cds], dtype=np.int64)
    n_genes = len(lengths)

    q3 = pd.read_csv(structure, sep="\t", usecols=["q3"], dtype=str, keep_default_na=False)["q3"]
    residues = "".join(q3)
    n_residues = len(residues)

    hits = pd.read_csv(motif_hits, sep="\t", usecols=["record"], dtype=str,
                       keep_default_na=False)["record"]

    def share(count: float, total: float) -> float:
        return round(count / total, 4) if total else 0.0

    return {
        "sample": sample,
        "genome_bp": stats.total_length,
        "records": stats.records,
        "gc_percent": round(stats.gc_percent or 0.0, 2),
        "genes": n_genes,
        "coding_density": share(_coding_bases(annotation), stats.total_length),
        "mean_gene_length": round(float(lengths.mean()), 1) if n_genes else 0.0,
        "ss_helix": share(residues.count("H"), n_residues),
        "ss_strand": share(residues.count("E"), n_residues),
        "ss_coil": share(residues.count("C"), n_residues),
        "upstream_bp": _fasta_length(upstream),
        "motif_hits": len(hits),
        "motif_hits_per_gene": share(len(hits), n_genes),
        "genes_with_motif": share(hits.nunique(), n_genes),
    }


def _write_table(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_write(path) as handle:
        frame.to_csv(handle, sep="\t", index=False, lineterminator="\n")


def write_report(summaries: Sequence[str | os.PathLike], table: str | os.PathLike,
                 plot: str | os.PathLike) -> pd.DataFrame:
    """Join per-sample summary TSVs into one table and draw them as one PNG.

    Returns the joined table (one row per sample, in the order given).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = pd.concat([pd.read_csv(path, sep="\t", dtype={"sample": str})
                       for path in summaries], ignore_index=True)
    _write_table(frame, table)

    names = frame["sample"].tolist()
    x = np.arange(len(names))
    figure, axes = plt.subplots(2, 3, figsize=(12, 7), constrained_layout=True)
    panels = [("genes", "predicted genes"), ("coding_density", "coding density"),
              ("gc_percent", "GC %"), ("mean_gene_length", "mean gene length (bp)"),
              ("motif_hits_per_gene", "upstream motif hits per gene")]
    for axis, (column, title) in zip(axes.flat, panels, strict=False):
        axis.bar(x, frame[column], color="#4477aa")
        axis.set_title(title)
    bottom = np.zeros(len(names))
    axis = axes.flat[5]
    for column, label, colour in (("ss_helix", "H helix", "#cc6677"),
                                  ("ss_strand", "E strand", "#ddcc77"),
                                  ("ss_coil", "C coil", "#88ccee")):
        axis.bar(x, frame[column], bottom=bottom, label=label, color=colour)
        bottom += frame[column].to_numpy(dtype=float)
    axis.set_title("secondary structure (share of residues)")
    axis.set_ylim(0, 1.2)
    axis.legend(loc="upper center", ncols=3, fontsize="small", frameon=False)
    for axis in axes.flat:
        axis.set_xticks(x, names, rotation=30, ha="right")
    figure.suptitle("genoseq workflow report")
    with atomic_write(plot, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    plt.close(figure)
    return frame


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genoseq.workflow",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True, metavar="STEP")

    upstream = sub.add_parser("upstream", help="bases upstream of each gene's start, FASTA")
    upstream.add_argument("-i", "--genome", required=True, metavar="FILE", help="genome FASTA")
    upstream.add_argument("--genes", required=True, metavar="FILE", help="genes, GFF3")
    upstream.add_argument("-n", "--length", type=int, default=50, metavar="BP",
                          help="bases before the start codon (default: 50)")
    upstream.add_argument("-o", "--output", required=True, metavar="FILE", help="FASTA")

    summary = sub.add_parser("summary", help="one sample's figures, TSV")
    summary.add_argument("--sample", required=True)
    summary.add_argument("--genome", required=True, metavar="FILE")
    summary.add_argument("--genes", required=True, metavar="FILE", help="GFF3")
    summary.add_argument("--ss", required=True, metavar="FILE", help="genoseq ss output")
    summary.add_argument("--upstream", required=True, metavar="FILE", help="upstream FASTA")
    summary.add_argument("--motif-hits", required=True, metavar="FILE",
                         help="genoseq motifs scan output")
    summary.add_argument("-o", "--output", required=True, metavar="FILE")

    report = sub.add_parser("report", help="all samples' summaries: TSV and PNG")
    report.add_argument("summaries", nargs="+", metavar="SUMMARY")
    report.add_argument("-o", "--output", required=True, metavar="FILE", help="TSV")
    report.add_argument("--plot", required=True, metavar="FILE", help="PNG")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one workflow step; return its exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.step == "upstream":
            written = upstream_regions(args.genome, args.genes, args.output, args.length)
            sys.stderr.write(f"{written} upstream regions written to {args.output}\n")
        elif args.step == "summary":
            row = sample_summary(args.sample, args.genome, args.genes, args.ss,
                                 args.upstream, args.motif_hits)
            _write_table(pd.DataFrame([row], columns=SUMMARY_COLUMNS), args.output)
        else:
            frame = write_report(args.summaries, args.output, args.plot)
            sys.stderr.write(f"report of {len(frame)} samples: {args.output}, {args.plot}\n")
    except (InvalidFileError, ValueError) as error:
        sys.stderr.write(f"genoseq.workflow: error: {error}\n")
        return 2
    except OSError as error:
        where = error.filename if error.filename is not None else ""
        sys.stderr.write(f"genoseq.workflow: error: {where}: {error.strerror or error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
