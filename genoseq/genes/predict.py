"""Gene prediction over a FASTA file, into Prodigal's outputs (what ``genoseq predict`` runs).

Genes are written as GFF3 (default), GenBank or Prodigal's ``sco``; proteins
(.faa), gene sequences (.ffn), Prodigal's start file (every candidate start
with its scores), genoseq's own candidate table, and a per-base
coding-probability bedGraph track on request (the writers are in
:mod:`genoseq.io`). Every output file is written atomically, after all
records were read: an error leaves none.

GFF3, ``sco`` and the start file carry Prodigal's per-sequence header lines;
their ``# Model Data:`` (start file: ``# Run Data:``) value is
:func:`model_data`'s.

:func:`train_to_file` is Prodigal's ``-t`` on a file that does not exist yet:
learn the genome's self-trained statistics, write them, predict nothing.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from genoseq import __version__
from genoseq.encoding import dna_to_index, reverse_complement
from genoseq.genes.adapt import SelfTraining
from genoseq.genes.finder import GeneFinder, Prediction
from genoseq.genes.gene import Gene
from genoseq.genes.rbs import UPSTREAM as RBS_UPSTREAM
from genoseq.genes.rbs import find_rbs
from genoseq.genes.scoring import coding_part, rbs_part
from genoseq.grouping import groups_by_size
from genoseq.io.atomic import OutputSet
from genoseq.io.bedgraph import bedgraph_lines, write_bedgraph
from genoseq.io.compression import detect_compression
from genoseq.io.errors import GenoseqWarning, InvalidFileError
from genoseq.io.fasta import read_fasta
from genoseq.io.genes import (
    candidate_lines,
    sequence_data,
    start_file_block,
    start_file_rows,
    write_candidates,
    write_gene_sequences,
    write_proteins,
    write_sco,
    write_start_file,
)
from genoseq.io.gff import write_gff3

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("gff", "gbk", "sco")


#: Prodigal's smallest input for training in single mode (``MIN_SINGLE_GENOME`` in its main.c).
PRODIGAL_MIN_SINGLE_GENOME = 20_000


@dataclass
class PredictionRun:
    """Genes of every record of an input, with what the writers need.

    ``lengths`` and ``gc`` (G and C bases) cover every record, all-N ones
    included; ``adapted`` says whether the self-trained pass decided the genes
    (always False in meta mode); ``seconds`` is the wall time of the run.
    """

    genes: list[Gene] = field(default_factory=list)
    lengths: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, bytes] = field(default_factory=dict)
    gc: dict[str, int] = field(default_factory=dict)
    procedure: str = "single"
    adapted: bool = False
    seconds: float = 0.0
    #: Meta mode with a statistics library: per record, the library organism whose
    #: statistics decided its genes.
    statistics: dict[str, str] = field(default_factory=dict)
    #: Records whose genes were scored with the Shine-Dalgarno class score (``uses_sd=1``).
    uses_sd: set[str] = field(default_factory=set)


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


def _start_file_rows(seq: bytes, prediction: Prediction, finder: GeneFinder) -> str:
    """Prodigal's start-file rows of one record: every candidate, scored as the genes are."""
    scored = prediction.scored
    c = scored.candidates
    params = finder.params_of(prediction)
    coding = coding_part(scored, params)
    index = dna_to_index(seq)
    gc_prefix = np.concatenate(([0], np.cumsum((index == 1) | (index == 2), dtype=np.int64)))
    acgt_prefix = np.concatenate(([0], np.cumsum(index < 4, dtype=np.int64)))
    acgt = acgt_prefix[c.end] - acgt_prefix[c.start]
    gc = (gc_prefix[c.end] - gc_prefix[c.start]) / np.maximum(acgt, 1)
    codons = np.where(c.partial_5prime, "Edge", c.start_codon_str).tolist()
    motifs, spacers = [], []
    for start, end, strand, edge in zip(c.start.tolist(), c.end.tolist(), c.strand.tolist(),
                                        c.partial_5prime.tolist(), strict=True):
        if edge:
            motif, spacer = "None", "None"
        elif strand > 0:
            motif, spacer = find_rbs(seq[max(start - RBS_UPSTREAM, 0):start].decode())
        else:
            motif, spacer = find_rbs(reverse_complement(seq[end:end + RBS_UPSTREAM]).decode())
        motifs.append(motif)
        spacers.append(spacer)
    rbs = rbs_part(scored, params)
    return start_file_rows(c.start.tolist(), c.end.tolist(), c.strand.tolist(),
                           prediction.total.tolist(), coding.tolist(), codons, motifs, spacers,
                           gc.tolist(), None if rbs is None else rbs.tolist())


def _usable_records(source, run: PredictionRun, keep_sequences: bool):
    """Records of ``source`` as (seqid, seq); all-N records are noted and skipped with a warning."""
    for record in read_fasta(source, alphabet="dna"):
        run.lengths[record.id] = len(record)
        run.gc[record.id] = record.seq.count(b"G") + record.seq.count(b"C")
        if keep_sequences:
            run.sequences[record.id] = record.seq
        if not any(base in record.seq for base in (b"A", b"C", b"G", b"T")):
            warnings.warn(f"{source}:{record.line}: record {record.id!r} has no A/C/G/T "
                          "bases; no genes predicted on it", GenoseqWarning, stacklevel=3)
            continue
        yield record.id, record.seq


#: Bases per group of records predicted together in meta mode.
META_GROUP_BASES = 2_000_000


def _size_hint(source) -> int | None:
    """Bytes of ``source`` when it is an uncompressed regular file (a bound on its bases)."""
    if not isinstance(source, (str, os.PathLike)) or os.fspath(source) == "-":
        return None
    try:
        if not os.path.isfile(source):
            return None
        with open(source, "rb") as handle:
            head = handle.read(8)
        return None if detect_compression(head) is not None else os.path.getsize(source)
    except OSError:
        return None


def _warn_short_genome(source, finder: GeneFinder, bases: int) -> None:
    """Single mode on an input too short to self-train on: say what happens instead."""
    if finder.adapts and finder.training is None and 0 < bases < finder.adapt_min_length:
        how = ("with statistics borrowed from the model's library genomes"
               if finder.meta_library is not None else "with the model's general weights")
        warnings.warn(
            f"{source}: {bases:,} bp in all, under the {finder.adapt_min_length:,} bp that "
            f"self-training needs: genes predicted {how}, without self-training, as -p meta "
            f"does (Prodigal refuses to train below {PRODIGAL_MIN_SINGLE_GENOME:,} bp and "
            "points to -p meta)",
            GenoseqWarning, stacklevel=3)


def run_prediction(source, finder: GeneFinder, *, keep_sequences: bool = False,
                   keep_log_probs: bool = False, all_starts: bool = False,
                   on_record: Callable[[str, Prediction], None] | None = None,
                   run: PredictionRun | None = None) -> PredictionRun:
    """Predict genes on every record of a FASTA file (or stream), into ``run`` (default: new).

    In single mode the records are one genome, read first and self-trained on
    together; an input shorter than ``finder.adapt_min_length`` is predicted
    without self-training, with a GenoseqWarning saying so, unless the finder
    has statistics from a training file (``finder.training``), which serve any
    input. In meta mode each
    record is predicted on its own, and records are read and predicted in
    groups of about ``META_GROUP_BASES`` bases (small contigs share the
    coding model's batches), so memory stays bounded however large the
    input. Records without a single A, C, G or T are skipped with a
    GenoseqWarning.

    When ``finder.compute.progress``, a progress bar counts the bases as the
    coding model scores them (:meth:`GeneFinder.predict_genome`'s
    ``progress``, one step per forward pass). Its total is the genome's
    length in single mode; in meta mode the size in bytes of an
    uncompressed input file, a bound on its bases (no total for compressed
    input or a stream).
    """
    began = time.perf_counter()
    run = PredictionRun() if run is None else run
    run.procedure = finder.procedure
    records = _usable_records(source, run, keep_sequences)
    if finder.procedure == "single":
        genome = list(records)
        total = sum(len(seq) for _, seq in genome)
        _warn_short_genome(source, finder, total)
        groups = [genome]
    else:
        total = _size_hint(source)
        groups = groups_by_size(records, lambda record: len(record[1]), META_GROUP_BASES)
    with tqdm(total=total, desc="bases", unit="bp", unit_scale=True,
              disable=not finder.compute.progress) as bar:
        for group in groups:
            for prediction in finder.predict_genome(group, keep_log_probs=keep_log_probs,
                                                    all_starts=all_starts, progress=bar.update):
                run.genes.extend(prediction.genes)
                run.adapted = run.adapted or prediction.adapted
                if prediction.statistics is not None:
                    run.statistics[prediction.seqid] = prediction.statistics
                if prediction.uses_sd:
                    run.uses_sd.add(prediction.seqid)
                if on_record is not None:
                    on_record(prediction.seqid, prediction)
        if bar.total is not None and bar.n != bar.total:
            bar.total = bar.n  # the bound was bytes, or all-N records were skipped
            bar.refresh()
    run.seconds = time.perf_counter() - began
    return run


def model_label(model) -> str:
    """How the model is named in headers and the run summary: shipped, or the file's stem."""
    return "shipped weights" if model is None else f"weights {os.path.basename(os.fspath(model))}"


def model_data(run: PredictionRun, finder: GeneFinder, label: str = "shipped weights"
               ) -> dict[str, str]:
    """Prodigal's ``# Model Data:`` value of every record, with genoseq's own values.

    ``version=genoseq.v<version>``; ``run_type`` ``Single`` or
    ``Metagenomic``; ``model="<label>"``, plus ``, self-trained`` when the
    self-trained pass decided the genes, or ``, statistics of ORGANISM`` when
    a metagenome record borrowed the statistics of that library genome
    (Prodigal writes ``Ab initio`` or the name of its metagenomic bin); ``gc_cont``, the GC percentage of the whole
    input in single mode (what Prodigal trains on) or of the record in meta
    mode, of all bases, N included, as Prodigal counts; ``transl_table``;
    ``uses_sd=1`` where the genes' scores hold the self-trained
    Shine-Dalgarno class score (the genome's starts, or in meta mode the
    borrowed library genome's, show SD sites), else ``uses_sd=0`` (then
    ``rbs_motif`` is only a report), as Prodigal says whether it scored
    starts by its SD bins.
    """
    model = label.replace('"', "'").replace(";", ",")
    if run.adapted:
        model += ", self-trained"
    run_type = "Single" if run.procedure == "single" else "Metagenomic"
    genome_gc = 100.0 * sum(run.gc.values()) / max(sum(run.lengths.values()), 1)
    data = {}
    for seqid, length in run.lengths.items():
        gc = genome_gc if run.procedure == "single" else 100.0 * run.gc[seqid] / max(length, 1)
        label = model
        if seqid in run.statistics:
            organism = run.statistics[seqid].replace('"', "'").replace(";", ",")
            label = f"{model}, statistics of {organism}"
        data[seqid] = (f'version=genoseq.v{__version__};run_type={run_type};model="{label}";'
                       f"gc_cont={gc:.2f};transl_table={finder.translation_table};"
                       f"uses_sd={int(seqid in run.uses_sd)}")
    return data


def run_summary(run: PredictionRun, finder: GeneFinder, label: str = "shipped weights",
                seconds: float | None = None) -> str:
    """One line on what a run did: records, bases, genes, self-training, model, device, time.

    ``seconds`` defaults to ``run.seconds`` (reading and predicting, not
    loading the model or writing the files).
    """
    records, bases = len(run.lengths), sum(run.lengths.values())
    if run.adapted and finder.training is not None:
        trained = f"read from {finder.training.source or 'the statistics given'}"
    elif run.adapted:
        trained = "yes"
    elif finder.procedure != "single":
        trained = "no (-p meta)"
    elif not finder.adapts:
        trained = "no (the model has no self-trained weights)"
    else:
        trained = f"no (input under {finder.adapt_min_length:,} bp)"
    return (f"{len(run.genes):,} genes on {records:,} record{'s' if records != 1 else ''} "
            f"({bases:,} bp); self-training: {trained}; model: {label}; "
            f"device: {finder.device}; precision: {finder.network_precision}; "
            f"{run.seconds if seconds is None else seconds:.1f} s")


def predict_to_files(source, finder: GeneFinder, *, output="-", format: str = "gff",
                     proteins=None, nucleotides=None, starts=None, starts_tsv=None,
                     coding_track=None, label: str = "shipped weights") -> PredictionRun:
    """Run :func:`run_prediction` and write the requested files (``-`` = stdout).

    ``starts`` is Prodigal's start file (every candidate gene, Prodigal's
    columns), ``starts_tsv`` genoseq's candidate table; ``label`` names the
    model in the header lines (:func:`model_data`). Every output path is
    checked before the input is read, and the files are committed together
    at the end (:class:`~genoseq.io.atomic.OutputSet`): an error or an
    interruption leaves none of them.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown output format {format!r}: expected one of {', '.join(FORMATS)}")
    outputs = OutputSet({"output": output, "proteins": proteins, "nucleotides": nucleotides,
                         "starts": starts, "starts_tsv": starts_tsv,
                         "coding_track": coding_track}, inputs=[source])
    track_lines: dict[int, list[str]] = {1: [], -1: []}
    candidate_rows: list[str] = []
    start_rows: dict[str, str] = {}
    run = PredictionRun()

    def on_record(seqid, prediction):
        if coding_track is not None:
            for strand in (1, -1):
                track_lines[strand].extend(bedgraph_lines(
                    seqid, coding_probability(prediction.log_probs, strand)))
        if starts_tsv is not None:
            candidate_rows.extend(_candidate_rows(seqid, prediction))
        if starts is not None:
            start_rows[seqid] = _start_file_rows(run.sequences[seqid], prediction, finder)

    wants_starts = starts is not None or starts_tsv is not None
    wants_records = coding_track is not None or wants_starts
    keep_sequences = format == "gbk" or nucleotides is not None or starts is not None
    run_prediction(source, finder, run=run, keep_sequences=keep_sequences,
                   keep_log_probs=coding_track is not None, all_starts=wants_starts,
                   on_record=on_record if wants_records else None)
    headers = model_data(run, finder, label)
    with outputs.writing():
        if format == "gff":
            write_gff3(outputs.open("output"), run.genes, run.lengths, model_data=headers)
        elif format == "gbk":
            from genoseq.io.genbank import write_genbank  # Biopython: loaded when needed

            write_genbank(outputs.open("output"), run.genes, run.sequences)
        else:
            write_sco(outputs.open("output"), run.genes, run.lengths, model_data=headers)
        if proteins is not None:
            write_proteins(outputs.open("proteins"), run.genes)
        if nucleotides is not None:
            write_gene_sequences(outputs.open("nucleotides"), run.genes, run.sequences)
        if starts is not None:
            write_start_file(outputs.open("starts"), (
                start_file_block(sequence_data(number, length, seqid), headers[seqid],
                                 start_rows.get(seqid, ""))
                for number, (seqid, length) in enumerate(run.lengths.items(), 1)))
        if starts_tsv is not None:
            write_candidates(outputs.open("starts_tsv"), candidate_rows)
        if coding_track is not None:
            write_bedgraph(outputs.open("coding_track"), [
                (f"genoseq coding {name}", f"P(coding) on the {name} strand",
                 track_lines[strand]) for strand, name in ((1, "+"), (-1, "-"))])
    return run


def train_to_file(source, finder: GeneFinder, training_file, *, empty=None
                  ) -> tuple[PredictionRun, SelfTraining]:
    """Prodigal's ``-t FILE`` when FILE does not exist: learn, write the training file, stop.

    As Prodigal 2.6.3 does, the genome (every record of ``source``) is
    trained on, the statistics are written to ``training_file``
    (:meth:`GeneFinder.train`, :mod:`genoseq.io.training`) and no genes are
    predicted. ``empty`` maps names to further output paths, which are
    written empty, as Prodigal leaves the output files it opened (``-``
    writes nothing). All files are checked before the input is read and
    committed together (:class:`~genoseq.io.atomic.OutputSet`).

    Raises
    ------
    InvalidFileError
        The input is shorter than ``finder.adapt_min_length`` (nothing is
        written; Prodigal too refuses to train on a short input), or the
        model has no self-trained pass (naming ``training_file``).
    """
    began = time.perf_counter()
    outputs = OutputSet({"training": training_file, **(empty or {})}, inputs=[source])
    if not finder.adapts:
        reason = ("-p meta" if finder.procedure != "single"
                  else f"the model ({finder.model_name}) has no self-trained pass")
        raise InvalidFileError(training_file, None, f"nothing to train with {reason}")
    run = PredictionRun(procedure=finder.procedure)
    genome = list(_usable_records(source, run, keep_sequences=False))
    total = sum(len(seq) for _, seq in genome)
    if total < finder.adapt_min_length:
        raise InvalidFileError(source, None, (
            f"{total:,} bp in all, under the {finder.adapt_min_length:,} bp that self-training "
            f"needs: no training file written (Prodigal refuses to train below "
            f"{PRODIGAL_MIN_SINGLE_GENOME:,} bp); train on the whole genome, then give its "
            "training file to its plasmids and drafts"))
    with tqdm(total=total, desc="bases", unit="bp", unit_scale=True,
              disable=not finder.compute.progress) as bar:
        training = finder.train(genome, progress=bar.update)
    with outputs.writing():
        training.write(outputs.open("training"))
        for name in outputs.outputs:
            if name != "training":
                outputs.open(name)
    run.adapted = True
    run.seconds = time.perf_counter() - began
    return run, training


def training_summary(run: PredictionRun, training: SelfTraining, finder: GeneFinder,
                     training_file, label: str = "shipped weights",
                     seconds: float | None = None) -> str:
    """One line on what writing a training file did (the run summary of ``-t`` training)."""
    records = training.records
    return (f"wrote training file {os.fspath(training_file)}, learned from {training.genes:,} "
            f"first-pass genes on {records:,} record{'s' if records != 1 else ''} "
            f"({training.genome_length:,} bp); no genes predicted (run again with the same -t "
            f"to predict); model: {label}; device: {finder.device}; precision: "
            f"{finder.network_precision}; {run.seconds if seconds is None else seconds:.1f} s")


def genes_to_frame(genes: list[Gene]) -> pd.DataFrame:
    """One row per gene: seqid, start (1-based), end, strand, partial, scores, protein."""
    columns = ["seqid", "start", "end", "strand", "partial", "start_type", "gc_cont", "conf",
               "score", "cscore", "sscore", "translation_table", "protein"]
    import pandas as pd

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
