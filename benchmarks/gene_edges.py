#!/usr/bin/env python3
"""Coding-model windows at sequence ends: N padding against rows cut at the ends.

The coding model was trained on windows that begin at a record's first base
or inside it, never after a run of unknown bases; at inference every window
had ``context`` (600) positions on each side, filled with N past a
sequence's ends. A record shorter than a window therefore ran as 600 N, the
record, 600 N: 1,300 positions for 100 bp, and the BiLSTM carries what it
read in the N runs into the record (its states never converge there).
``GeneFinder(edge_padding=False)`` (the default now) keeps every window
inside the sequence instead: a sequence shorter than a window is one row of
its own bases, and the first and last windows of a longer one are moved
inside it, keeping their size. This benchmark measures what that does, on genomes of a genome
folder, in metagenome mode (the statistics library without the genome's own
entry, so that no genome borrows its own statistics), beside pyrodigal -p meta:

- **contigs**: each genome cut into ``--contig`` bp contigs, genes scored by
  ../shared/tools/score_genes.py (strand + stop; exact start);
- **pieces**: ``--pieces`` random pieces of ``--min-length`` to
  ``--max-length`` bp (seed fixed); every gene call, partial ones included,
  is scored against the reference CDS in the piece by codon frame: a
  reference CDS with at least 60 bp in a piece is found when a call on its
  strand and in its frame overlaps it; a call is right when it overlaps a
  reference CDS on its strand and in its frame. Also per base: coding bases
  called in the right strand and frame.

With ``--single``, also each whole genome in single mode (self-training, as
``genoseq predict`` runs it; pyrodigal trained on the genome), scored as the
contigs are. Writes a Markdown table (``--out``) with the wall seconds of each
run. With ``--edge-bonus 0,2,4`` it scores values of the library decoder weights'
``edge_bonus`` instead (windows inside the sequence).

    python benchmarks/gene_edges.py --genomes ../shared/data/genomes_extra --out FILE
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from genes_vs_pyrodigal import (  # benchmarks/: scripts run from this folder
    meta_genoseq,
    meta_pyrodigal,
    run_genoseq,
    run_pyrodigal,
    score,
    write_contigs,
)
from machine import machine_line

import genoseq
from genoseq.device import ComputeOptions, set_threads
from genoseq.genes.dataset import read_genome_table
from genoseq.genes.finder import GeneFinder
from genoseq.genes.metalib import library_path_for, read_library
from genoseq.genes.predict import run_prediction
from genoseq.io import read_fasta, read_gff3_cds

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MIN_OVERLAP = 60


def cut_pieces(fasta: Path, n: int, shortest: int, longest: int, seed: int
               ) -> list[tuple[str, int, str]]:
    """(record id, offset, piece) of ``n`` random A/C/G/T pieces, records drawn by length."""
    records = [(r.id, r.seq.upper().decode()) for r in read_fasta(fasta) if len(r) > longest]
    weights = np.array([len(seq) for _, seq in records], dtype=np.float64)
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    pieces = []
    while len(pieces) < n:
        seqid, seq = records[int(rng.choice(len(records), p=weights))]
        length = int(rng.integers(shortest, longest + 1))
        first = int(rng.integers(0, len(seq) - length + 1))
        piece = seq[first:first + length]
        if piece.strip("ACGT"):
            continue
        pieces.append((seqid, first, piece))
    return pieces


def frame_key(strand: int, start: int) -> int:
    """Strand and codon frame of a span of whole codons, in record coordinates."""
    return (0 if strand > 0 else 3) + start % 3


def score_pieces(pieces, calls, reference) -> dict:
    """Gene- and base-level figures of calls (per piece: (start, end, strand) in record
    coordinates) against reference CDS."""
    by_seqid: dict[str, list] = {}
    for cds in reference.cds:
        by_seqid.setdefault(cds.seqid, []).append(cds)
    starts = {s: np.array([c.start for c in v]) for s, v in by_seqid.items()}
    ends = {s: np.array([c.end for c in v]) for s, v in by_seqid.items()}
    n_ref = found = n_call = right = 0
    base_true = base_right = base_called = 0
    for (seqid, offset, piece), piece_calls in zip(pieces, calls, strict=True):
        lo, hi = offset, offset + len(piece)
        near = np.flatnonzero((starts[seqid] < hi) & (ends[seqid] > lo))
        refs = [(max(c.start, lo), min(c.end, hi), frame_key(c.strand, c.start))
                for c in (by_seqid[seqid][k] for k in near)]
        keyed = [(a, b, frame_key(strand, a)) for a, b, strand in piece_calls]
        truth = np.zeros((6, hi - lo), dtype=bool)
        for a, b, key in refs:
            truth[key, a - lo:b - lo] = True
        called = np.zeros((6, hi - lo), dtype=bool)
        for a, b, key in keyed:
            called[key, max(a, lo) - lo:min(b, hi) - lo] = True
        base_true += int(truth.any(axis=0).sum())
        base_called += int(called.any(axis=0).sum())
        base_right += int((truth & called).any(axis=0).sum())
        for a, b, key in refs:
            if b - a < MIN_OVERLAP:
                continue
            n_ref += 1
            found += any(k == key and x < b and y > a for x, y, k in keyed)
        for a, b, key in keyed:
            n_call += 1
            right += any(k == key and x < b and y > a for x, y, k in refs)
    sensitivity, precision = found / max(n_ref, 1), right / max(n_call, 1)
    return dict(n_ref=n_ref, found=found, n_call=n_call, right=right,
                sensitivity=sensitivity, precision=precision,
                f1=2 * sensitivity * precision / max(sensitivity + precision, 1e-12),
                base_sensitivity=base_right / max(base_true, 1),
                base_precision=base_right / max(base_called, 1))


def calls_of_pieces_genoseq(pieces, finder: GeneFinder, tmp: Path) -> tuple[list, float]:
    fasta = tmp / "pieces.fa"
    fasta.write_text("".join(f">p{k}\n{seq}\n" for k, (_, _, seq) in enumerate(pieces)))
    began = time.perf_counter()
    genes = run_prediction(fasta, finder).genes
    seconds = time.perf_counter() - began
    calls: list[list] = [[] for _ in pieces]
    for g in genes:
        k = int(g.seqid[1:])
        offset = pieces[k][1]
        calls[k].append((offset + g.start, offset + g.end, g.strand))
    return calls, seconds


def calls_of_pieces_pyrodigal(pieces) -> tuple[list, float]:
    import pyrodigal

    began = time.perf_counter()
    meta = pyrodigal.GeneFinder(meta=True, closed=False)
    calls = []
    for _, offset, seq in pieces:
        # pyrodigal's begin is 1-based inclusive; partial genes' spans are whole codons.
        calls.append([(offset + g.begin - 1, offset + g.end, g.strand)
                      for g in meta.find_genes(seq)])
    return calls, time.perf_counter() - began


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes_extra")
    parser.add_argument("--names", help="comma-separated genomes (default: all of table 11 and 4)")
    parser.add_argument("--scorer", type=Path, default=SHARED / "tools" / "score_genes.py")
    parser.add_argument("--contig", type=int, default=20_000)
    parser.add_argument("--pieces", type=int, default=2000)
    parser.add_argument("--min-length", type=int, default=60)
    parser.add_argument("--max-length", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--edge-bonus", help="comma-separated edge_bonus values of the "
                        "library's decoder weights to score, windows inside the sequence "
                        "(instead of the padded / inside comparison)")
    parser.add_argument("--library", type=Path, default=None,
                        help="statistics library file (default: the shipped one)")
    parser.add_argument("--single", action="store_true",
                        help="also score each whole genome in single mode")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    entries = read_genome_table(args.genomes)
    if args.names:
        wanted = args.names.split(",")
        entries = [e for e in entries if e.name in wanted]
    library = read_library(args.library or library_path_for(None))
    # name: (edge_padding, edge_bonus of the library's weights; None: as shipped)
    variants = {"padded (600 N)": (True, None), "inside the sequence": (False, None)}
    if args.edge_bonus:
        variants = {f"edge bonus {value}": (False, float(value))
                    for value in args.edge_bonus.split(",")}
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for entry in entries:
            own = dataclasses.replace(library, entries=[
                e for e in library.entries if e.name != entry.name])
            reference = read_gff3_cds(entry.gff)
            contig_pieces, contigs = write_contigs(entry.fasta, args.contig, tmp)
            pieces = cut_pieces(entry.fasta, args.pieces, args.min_length, args.max_length,
                                args.seed)
            out = tmp / "pyro.gff"
            seconds = meta_pyrodigal(contig_pieces, out)
            result = {"pyrodigal -p meta": dict(contigs=score(args.scorer, entry.gff, out, None),
                                                contig_s=seconds)}
            calls, seconds = calls_of_pieces_pyrodigal(pieces)
            result["pyrodigal -p meta"].update(pieces=score_pieces(pieces, calls, reference),
                                                piece_s=seconds)
            if args.single:
                seconds = run_pyrodigal(entry.fasta, entry.translation_table, out)
                result["pyrodigal -p meta"].update(
                    single=score(args.scorer, entry.gff, out, entry.verified_starts),
                    single_s=seconds)
            for name, (padding, bonus) in variants.items():
                library_used = own if bonus is None else dataclasses.replace(
                    own, params=dataclasses.replace(own.params, edge_bonus=bonus))
                finder = GeneFinder(translation_table=entry.translation_table, procedure="meta",
                                    compute=ComputeOptions(device="cpu", precision="fp32"),
                                    edge_padding=padding, meta_library=library_used)
                out = tmp / "genoseq.gff"
                seconds = meta_genoseq(contigs, contig_pieces, finder, out)
                figures = dict(contigs=score(args.scorer, entry.gff, out, None), contig_s=seconds)
                calls, seconds = calls_of_pieces_genoseq(pieces, finder, tmp)
                figures.update(pieces=score_pieces(pieces, calls, reference), piece_s=seconds)
                if args.single:
                    single = GeneFinder(translation_table=entry.translation_table,
                                        compute=ComputeOptions(device="cpu", precision="fp32"),
                                        edge_padding=padding)
                    seconds = run_genoseq(single, entry.fasta, out)
                    figures.update(single=score(args.scorer, entry.gff, out,
                                                entry.verified_starts), single_s=seconds)
                result[name] = figures
            for name, f in result.items():
                if args.single:
                    print(f"{entry.name} {name}: single F1 {f['single']['f1']:.4f} exact "
                          f"{f['single']['exact_start']:.3f} ({f['single_s']:.1f} s)")
                c, p = f["contigs"], f["pieces"]
                print(f"{entry.name} {name}: contigs F1 {c['f1']:.4f} exact {c['exact_start']:.3f}"
                      f" ({f['contig_s']:.1f} s); pieces sens {p['sensitivity']:.3f} prec "
                      f"{p['precision']:.3f} bases {p['base_sensitivity']:.3f}/"
                      f"{p['base_precision']:.3f} ({f['piece_s']:.1f} s)", flush=True)
            rows.append((entry.name, result))
    lines = [
        "# Coding-model windows at sequence ends: N padding vs rows inside the sequence",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/gene_edges.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}` (genoseq "
        f"{genoseq.__version__}). {machine_line('cpu')}",
        "",
        f"Metagenome mode, fp32, the statistics library without the genome's own entry. "
        f"Contigs: each genome cut into {args.contig:,} bp contigs (F1 and exact start by "
        f"score_genes.py, complete and partial genes alike). Pieces: {args.pieces:,} random "
        f"pieces of {args.min_length}-{args.max_length} bp per genome (seed {args.seed}), "
        f"scored by codon frame (reference CDS with >= {MIN_OVERLAP} bp in the piece found "
        "when a call on its strand and frame overlaps it; calls right when they overlap a "
        "reference CDS on their strand and frame; bases likewise).",
        "",
        "| genome | method | contigs F1 | contigs exact start | pieces sensitivity | "
        "pieces precision | piece bases sensitivity | piece bases precision | contigs s | "
        "pieces s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in rows:
        for method, f in result.items():
            c, p = f["contigs"], f["pieces"]
            lines.append(f"| {name} | {method} | {c['f1']:.4f} | {c['exact_start']:.3f} | "
                         f"{p['sensitivity']:.3f} | {p['precision']:.3f} | "
                         f"{p['base_sensitivity']:.3f} | {p['base_precision']:.3f} | "
                         f"{f['contig_s']:.1f} | {f['piece_s']:.1f} |")
    if args.single:
        lines += ["", "Single mode (pyrodigal: trained on the genome, the row named pyrodigal -p "
                  "meta above), whole genomes:", "",
                  "| genome | method | F1 | exact start | seconds |", "|---|---|---:|---:|---:|"]
        for name, result in rows:
            for method, f in result.items():
                method = "pyrodigal (single)" if method.startswith("pyrodigal") else method
                lines.append(f"| {name} | {method} | {f['single']['f1']:.4f} | "
                             f"{f['single']['exact_start']:.3f} | {f['single_s']:.1f} |")
    methods = list(rows[0][1])
    lines += ["", "Means over the genomes:", "",
              "| method | contigs F1 | contigs exact start | pieces sensitivity | "
              "pieces precision | pieces F1 | piece bases sensitivity | "
              "piece bases precision |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for method in methods:
        def mean(part, key, method=method):
            return np.mean([result[method][part][key] for _, result in rows])
        lines.append(f"| {method} | {mean('contigs', 'f1'):.4f} | "
                     f"{mean('contigs', 'exact_start'):.3f} | {mean('pieces', 'sensitivity'):.3f}"
                     f" | {mean('pieces', 'precision'):.3f} | {mean('pieces', 'f1'):.3f} | "
                     f"{mean('pieces', 'base_sensitivity'):.3f} | "
                     f"{mean('pieces', 'base_precision'):.3f} |")
    if args.single:
        lines += ["", "| method | single mode mean F1 | single mode mean exact start |",
                  "|---|---:|---:|"]
        for method in methods:
            lines.append(f"| {method if not method.startswith('pyrodigal') else 'pyrodigal'} | "
                         f"{np.mean([r[method]['single']['f1'] for _, r in rows]):.4f} | "
                         f"{np.mean([r[method]['single']['exact_start'] for _, r in rows]):.3f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
