"""Gene prediction over a FASTA file, into Prodigal's outputs (what ``genoseq predict`` runs).

Genes are written as GFF3 (default), GenBank or Prodigal's ``sco``; proteins
(.faa), gene sequences (.ffn), every candidate start with its scores, and a
per-base coding-probability bedGraph track on request (the writers are in
:mod:`genoseq.io`). Every output file is written atomically, after all
records were read: an error leaves none.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from genoseq.genes.finder import GeneFinder, Prediction
from genoseq.genes.gene import Gene
from genoseq.grouping import groups_by_size
from genoseq.io.atomic import OutputSet
from genoseq.io.bedgraph import bedgraph_lines, write_bedgraph
from genoseq.io.errors import GenoseqWarning
from genoseq.io.fasta import read_fasta
from genoseq.io.genbank import write_genbank
from genoseq.io.genes import (
    candidate_lines,
    write_candidates,
    write_gene_sequences,
    write_proteins,
    write_sco,
)
from genoseq.io.gff import write_gff3

FORMATS = ("gff", "gbk", "sco")


@dataclass
class PredictionRun:
    """Genes of every record of an input, with what the writers need."""

    genes: list[Gene] = field(default_factory=list)
    lengths: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, bytes] = field(default_factory=dict)


def coding_probability(log_probs: np.ndarray, strand: int) -> np.ndarray:
    """P(coding on ``strand``) per base: the sum of that strand's three frame classes."""
    columns = slice(1, 4) if strand > 0 else slice(4, 7)
    return np.exp(log_probs[:, columns]).sum(axis=1)


def _candidate_rows(seqid: str, prediction: Prediction) -> list[str]:
    c = prediction.scored.candidates
    codons = np.where(c.partial_5prime, "Edge", c.start_codon_str).tolist()
    partial = [f"{int(left)}{int(right)}" for left, right in zip(c.partial_left, c.partial_right,
                                                                   strict=True)]
    return candidate_lines(seqid, c.start, c.end, c.strand, codons, partial,
                           prediction.scored.coding, prediction.scored.start, prediction.total)


def _usable_records(source, run: PredictionRun, keep_sequences: bool):
    """Records of ``source`` as (seqid, seq); all-N records are noted and skipped with a warning."""
    for record in read_fasta(source, alphabet="dna"):
        run.lengths[record.id] = len(record)
        if keep_sequences:
            run.sequences[record.id] = record.seq
        if not any(base in record.seq for base in (b"A", b"C", b"G", b"T")):
            warnings.warn(f"{source}:{record.line}: record {record.id!r} has no A/C/G/T "
                          "bases; no genes predicted on it", GenoseqWarning, stacklevel=3)
            continue
        yield record.id, record.seq


#: Bases per group of records predicted together in meta mode.
META_GROUP_BASES = 2_000_000


def run_prediction(source, finder: GeneFinder, *, keep_sequences: bool = False,
                   keep_log_probs: bool = False, all_starts: bool = False,
                   on_record: Callable[[str, Prediction], None] | None = None) -> PredictionRun:
    """Predict genes on every record of a FASTA file (or stream).

    In single mode the records are one genome, read first and self-trained on
    together; in meta mode each record is predicted on its own, and records are
    read and predicted in groups of about ``META_GROUP_BASES`` bases (small
    contigs share the coding model's batches), so memory stays bounded
    however large the input. Records without a single A, C, G or T are
    skipped with a GenoseqWarning. A progress bar counts records when
    ``finder.compute.progress``.
    """
    run = PredictionRun()
    records = _usable_records(source, run, keep_sequences)
    groups = ([list(records)] if finder.procedure == "single"
              else groups_by_size(records, lambda record: len(record[1]), META_GROUP_BASES))
    with tqdm(desc="records", unit=" records", disable=not finder.compute.progress) as bar:
        for group in groups:
            for prediction in finder.predict_genome(group, keep_log_probs=keep_log_probs,
                                                    all_starts=all_starts):
                run.genes.extend(prediction.genes)
                if on_record is not None:
                    on_record(prediction.seqid, prediction)
                bar.update()
    return run


def predict_to_files(source, finder: GeneFinder, *, output="-", format: str = "gff",
                     proteins=None, nucleotides=None, starts=None, coding_track=None
                     ) -> PredictionRun:
    """Run :func:`run_prediction` and write the requested files (``-`` = stdout).

    Every output path is checked before the input is read, and the files are
    committed together at the end (:class:`~genoseq.io.atomic.OutputSet`): an
    error or an interruption leaves none of them.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown output format {format!r}: expected one of {', '.join(FORMATS)}")
    outputs = OutputSet({"output": output, "proteins": proteins, "nucleotides": nucleotides,
                         "starts": starts, "coding_track": coding_track}, inputs=[source])
    track_lines: dict[int, list[str]] = {1: [], -1: []}
    candidate_rows: list[str] = []

    def on_record(seqid, prediction):
        if coding_track is not None:
            for strand in (1, -1):
                track_lines[strand].extend(bedgraph_lines(
                    seqid, coding_probability(prediction.log_probs, strand)))
        if starts is not None:
            candidate_rows.extend(_candidate_rows(seqid, prediction))

    wants_records = coding_track is not None or starts is not None
    run = run_prediction(source, finder, keep_sequences=format == "gbk" or nucleotides is not None,
                         keep_log_probs=coding_track is not None,
                         all_starts=starts is not None,
                         on_record=on_record if wants_records else None)
    with outputs.writing():
        if format == "gff":
            write_gff3(outputs.open("output"), run.genes, run.lengths)
        elif format == "gbk":
            write_genbank(outputs.open("output"), run.genes, run.sequences)
        else:
            write_sco(outputs.open("output"), run.genes, run.lengths)
        if proteins is not None:
            write_proteins(outputs.open("proteins"), run.genes)
        if nucleotides is not None:
            write_gene_sequences(outputs.open("nucleotides"), run.genes, run.sequences)
        if starts is not None:
            write_candidates(outputs.open("starts"), candidate_rows)
        if coding_track is not None:
            write_bedgraph(outputs.open("coding_track"), [
                (f"genoseq coding {name}", f"P(coding) on the {name} strand",
                 track_lines[strand]) for strand, name in ((1, "+"), (-1, "-"))])
    return run


def genes_to_frame(genes: list[Gene]) -> pd.DataFrame:
    """One row per gene: seqid, start (1-based), end, strand, partial, scores, protein."""
    columns = ["seqid", "start", "end", "strand", "partial", "start_type", "gc_cont", "conf",
               "score", "cscore", "sscore", "translation_table", "protein"]
    rows = [(g.seqid, g.start + 1, g.end, "+" if g.strand > 0 else "-", g.partial, g.start_type,
             g.gc_cont, g.conf, g.score, g.cscore, g.sscore, g.translation_table, g.protein)
            for g in genes]
    return pd.DataFrame(rows, columns=columns)


def predict_genes(path: str | os.PathLike, *, translation_table: int = 11, **options
                  ) -> pd.DataFrame:
    """Predict genes in a FASTA file and return them as a DataFrame.

    Coordinates in the frame are 1-based and inclusive, as in GFF3. Keyword
    options go to :class:`GeneFinder` (``min_len``, ``closed``, ``compute``, ...).
    """
    finder = GeneFinder(translation_table=translation_table, **options)
    return genes_to_frame(run_prediction(path, finder).genes)
