"""Whole genomes scored once, then self-trained and decoded under many decoder weights.

Shared by the calibration sweeps of the self-trained pass
(``gene_start_codon.py``, ``gene_rbs_gate.py``, ``gene_length_split.py``):
every candidate of a genome is scored by the networks once (all starts, fp32,
as the decoder calibration scores), and each set of weights tried repeats only
self-training and decoding.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from genoseq.device import ComputeOptions
from genoseq.genes.dataset import read_genome_table
from genoseq.genes.finder import GeneFinder
from genoseq.genes.scoring import DecoderParams
from genoseq.genes.train import evaluate_params, objective
from genoseq.io import read_fasta, read_gff3_cds


@dataclass
class WholeGenome:
    """A genome's finder, scored records and (scored record, reference spans) pairs."""

    name: str
    finder: GeneFinder
    records: list
    pairs: list


def score_whole_genomes(folders: list[Path], names: set[str] | None = None,
                        model: str | None = None) -> list[WholeGenome]:
    """Every genome of ``folders`` (those in ``names`` if given), its candidates scored once."""
    genomes = []
    for folder in folders:
        for entry in read_genome_table(folder):
            if names and entry.name not in names:
                continue
            # fp32 as the decoder calibration scores (a GPU's mixed precision would need the
            # recheck).
            finder = GeneFinder(model, translation_table=entry.translation_table,
                                compute=ComputeOptions(precision="fp32"))
            reference: dict[str, set] = {}
            for c in read_gff3_cds(entry.gff).cds:
                reference.setdefault(c.seqid, set()).add((c.strand, c.start, c.end))
            seqs = [(r.id, r.seq.upper()) for r in read_fasta(entry.fasta)]
            records = finder.score_records([seq for _, seq in seqs], all_starts=True)
            pairs = [(scored, reference.get(seqid, set()))
                     for (seqid, _), (_, scored) in zip(seqs, records, strict=True)]
            genomes.append(WholeGenome(entry.name, finder, records, pairs))
    return genomes


def evaluate_weights(genomes: list[WholeGenome], params: DecoderParams,
                     label: str) -> tuple[dict[str, dict], dict]:
    """Self-train and decode every genome under ``params`` (both self-training rounds use them).

    Returns the figures of each genome (:func:`genoseq.genes.train.evaluate_params`) and
    pooled over all; each genome's line is printed to stderr, prefixed by ``label``.
    """
    per_genome = {}
    for genome in genomes:
        genome.finder.adapted_params = params
        genome.finder.self_train(genome.records)
        f = per_genome[genome.name] = evaluate_params(genome.finder, genome.pairs, params)
        print(f"{genome.name} {label}: F1 {f['f1']:.4f} exact {f['exact_start']:.4f}",
              file=sys.stderr, flush=True)
    pooled = evaluate_params(genomes[-1].finder, [p for g in genomes for p in g.pairs], params)
    return per_genome, pooled


def figure_cells(figures: dict) -> str:
    """Sensitivity, precision, F1, exact start and objective as markdown table cells."""
    return (f"{figures['sensitivity']:.4f} | {figures['precision']:.4f} | "
            f"{figures['f1']:.4f} | {figures['exact_start']:.4f} | {objective(figures):.4f}")


def genome_cell(figures: dict) -> str:
    """One genome's "F1 / exact start" table cell."""
    return f"{figures['f1']:.4f} / {figures['exact_start']:.4f}"


def per_genome_lines(what: str, names: list[str], labels: list[str], cells) -> list[str]:
    """The "Per genome, F1 / exact start (``what``):" table: a row per genome, a column per label.

    ``cells(label_index, name)`` gives a genome's figures for the setting of that column.
    """
    lines = ["", f"Per genome, F1 / exact start ({what}):", "",
             "| genome | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(genome_cell(cells(k, name))
                                                  for k in range(len(labels))) + " |")
    return lines
