#!/usr/bin/env python3
"""Gene prediction accuracy and speed: genoseq vs pyrodigal, same genomes, same run.

For every genome chosen from a genome folder (laid out like
../shared/data/genomes: genomes.tsv, <name>.fna.gz, <name>.gff3.gz, optional
<name>.verified_starts.gff3.gz) both tools predict genes (pyrodigal in single
mode, trained on the genome itself, closed ends off; genoseq with its shipped
or given model), and both are scored against the reference CDS by
../shared/tools/score_genes.py (a gene matches when seqid, strand and stop
agree). Writes benchmarks/results/genes.md.

By default the genomes are the model's held-out genomes (from its JSON card):
figures on training genomes say nothing about generalisation.

    python benchmarks/genes_vs_pyrodigal.py                      # held-out genomes
    python benchmarks/genes_vs_pyrodigal.py --genomes DIR --names a,b
    python benchmarks/genes_vs_pyrodigal.py --speed-genome pflu_asm73042
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine_line  # benchmarks/machine.py: scripts run from this folder

import genoseq
from genoseq.device import PRECISIONS, ComputeOptions, resolve_device, set_threads
from genoseq.genes.dataset import read_genome_table
from genoseq.genes.finder import DEFAULT_CONTEXT, DEFAULT_WINDOW, GeneFinder
from genoseq.genes.networks import load_gene_models
from genoseq.genes.predict import predict_to_files, run_prediction
from genoseq.io import read_fasta, read_gff3_cds

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def run_pyrodigal(fasta: Path, table: int, out: Path) -> float:
    """Train pyrodigal on the genome and predict; write GFF; return wall seconds."""
    import pyrodigal

    began = time.perf_counter()
    records = [(r.id, r.seq.decode()) for r in read_fasta(fasta)]
    finder = pyrodigal.GeneFinder(meta=False, closed=False)
    finder.train(*(seq for _, seq in records), translation_table=table)
    with open(out, "w") as handle:
        for seqid, seq in records:
            finder.find_genes(seq).write_gff(handle, sequence_id=seqid, header=False)
    return time.perf_counter() - began


def run_genoseq(finder: GeneFinder, fasta: Path, out: Path) -> float:
    began = time.perf_counter()
    predict_to_files(fasta, finder, output=out)
    return time.perf_counter() - began


def chunks(fasta: Path, size: int) -> list[tuple[str, int, str]]:
    """(record id, offset, piece) of every record cut into pieces of ``size`` bp."""
    return [(r.id, i, r.seq[i:i + size].decode()) for r in read_fasta(fasta)
            for i in range(0, len(r), size)]


def write_shifted_gff(out: Path, genes: list[tuple[str, int, int, str]]) -> None:
    """GFF3 CDS lines of (seqid, start 1-based, end, strand), in record coordinates."""
    with open(out, "w") as handle:
        handle.write("##gff-version 3\n")
        for n, (seqid, start, end, strand) in enumerate(genes, 1):
            handle.write(f"{seqid}\tbench\tCDS\t{start}\t{end}\t.\t{strand}\t0\tID=g{n}\n")


def write_contigs(fasta: Path, size: int, tmp: Path) -> tuple[list[tuple[str, int, str]], Path]:
    """The genome cut into ``size`` bp contigs: their :func:`chunks` and a FASTA of them (c0, c1, ...)."""
    pieces = chunks(fasta, size)
    contigs = tmp / "contigs.fa"
    contigs.write_text("".join(f">c{k}\n{seq}\n" for k, (_, _, seq) in enumerate(pieces)))
    return pieces, contigs


def meta_genoseq(contigs: Path, pieces: list[tuple[str, int, str]], finder: GeneFinder,
                 out: Path) -> float:
    """genoseq on the contigs of :func:`write_contigs`, genes written to ``out`` in record
    coordinates; returns wall seconds."""
    began = time.perf_counter()
    genes = run_prediction(contigs, finder).genes
    seconds = time.perf_counter() - began
    write_shifted_gff(out, [
        (pieces[int(g.seqid[1:])][0], pieces[int(g.seqid[1:])][1] + g.start + 1,
         pieces[int(g.seqid[1:])][1] + g.end, "+" if g.strand > 0 else "-") for g in genes])
    return seconds


def meta_pyrodigal(pieces: list[tuple[str, int, str]], out: Path) -> float:
    """pyrodigal ``meta=True`` on each contig, genes written to ``out`` in record coordinates;
    returns wall seconds."""
    import pyrodigal

    began = time.perf_counter()
    meta = pyrodigal.GeneFinder(meta=True, closed=False)
    genes = []
    for seqid, offset, seq in pieces:
        for gene in meta.find_genes(seq):
            genes.append((seqid, offset + gene.begin, offset + gene.end,
                          "+" if gene.strand > 0 else "-"))
    seconds = time.perf_counter() - began
    write_shifted_gff(out, genes)
    return seconds


def run_meta(fasta: Path, table: int, size: int, tmp: Path, finder: GeneFinder
             ) -> tuple[float, float]:
    """Both tools in metagenome mode on the genome cut into ``size`` bp contigs.

    Genes are written back in record coordinates (``meta.<tool>.gff`` in ``tmp``);
    returns the wall seconds of genoseq and of pyrodigal.
    """
    pieces, contigs = write_contigs(fasta, size, tmp)
    ours = meta_genoseq(contigs, pieces, finder, tmp / "meta.genoseq.gff")
    theirs = meta_pyrodigal(pieces, tmp / "meta.pyrodigal.gff")
    return ours, theirs


def gene_keys(gff: Path) -> set[tuple]:
    """(seqid, start, end, strand) of every CDS of a GFF3 file."""
    return {(c.seqid, c.start, c.end, c.strand) for c in read_gff3_cds(gff).cds}


LENGTH_BINS = ((0, 150), (150, 300), (300, 600), (600, 10**9))


def stop_key(seqid: str, start: int, end: int, strand: int) -> tuple:
    """A gene's stop as (seqid, strand, coordinate of the stop's outer base), 0-based."""
    return (seqid, strand, end - 1 if strand > 0 else start)


def found_by_length(reference: Path, prediction: Path) -> list[tuple[int, int]]:
    """(reference genes, genes whose stop was predicted) per bin of LENGTH_BINS."""
    predicted = {stop_key(c.seqid, c.start, c.end, c.strand)
                 for c in read_gff3_cds(prediction).cds}
    counts = [[0, 0] for _ in LENGTH_BINS]
    for c in read_gff3_cds(reference).cds:
        length = c.end - c.start
        for k, (low, high) in enumerate(LENGTH_BINS):
            if low <= length < high:
                counts[k][0] += 1
                counts[k][1] += stop_key(c.seqid, c.start, c.end, c.strand) in predicted
    return [tuple(c) for c in counts]


def correct_by_length(reference: Path, prediction: Path) -> list[tuple[int, int]]:
    """(predicted genes, those whose stop is a reference stop) per bin of LENGTH_BINS.

    Binned by the predicted gene's own length: the precision of calls of that length.
    """
    reference_stops = {stop_key(c.seqid, c.start, c.end, c.strand)
                       for c in read_gff3_cds(reference).cds}
    counts = [[0, 0] for _ in LENGTH_BINS]
    for c in read_gff3_cds(prediction).cds:
        length = c.end - c.start
        for k, (low, high) in enumerate(LENGTH_BINS):
            if low <= length < high:
                counts[k][0] += 1
                counts[k][1] += stop_key(c.seqid, c.start, c.end, c.strand) in reference_stops
    return [tuple(c) for c in counts]


def score(scorer: Path, reference: Path, prediction: Path, verified: Path | None) -> dict:
    command = [sys.executable, str(scorer), str(reference), str(prediction)]
    if verified is not None:
        command += ["--verified", str(verified)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def verified_rate(figures: dict) -> str:
    """Exact verified starts among verified genes whose stop was found (n found / n)."""
    block = figures.get("verified")
    if not block:
        return "-"
    return (f"{fmt(block['exact_start_frac_of_found'], 3)} "
            f"({block['stop_found']}/{block['n']} found)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes")
    parser.add_argument("--names", help="comma-separated genomes (default: the model's held-out)")
    parser.add_argument("--model", help="gene model stem (default: shipped)")
    parser.add_argument("--speed-genome", default="pflu_asm73042",
                        help="a >= 5 Mbp genome of the folder to time both tools on ('' to skip)")
    parser.add_argument("--scorer", type=Path, default=SHARED / "tools" / "score_genes.py")
    parser.add_argument("--speed-precision", default=None, metavar="LIST",
                        help="genoseq precisions timed on the speed genome (default: fp32,bf16 "
                             "on the CPU, auto,fp32 on a GPU); calls are compared with the first")
    parser.add_argument("--speed-windows", default="6000,9600", metavar="LIST",
                        help="coding-model window sizes (bp) also run in fp32 on the speed genome, "
                             "to show how many near-tied calls any numerical change moves "
                             "('' to skip; default 6000,9600; genoseq's default is "
                             f"{DEFAULT_WINDOW})")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="time each tool N times on the speed genome and keep the fastest "
                             "(default 3: the shared machine's timings vary by up to 20%%)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="genoseq precision of the accuracy runs (default: auto, the "
                             "default of genoseq predict)")
    parser.add_argument("--meta-contig", type=int, default=20_000, metavar="BP",
                        help="also run both tools in metagenome mode on each genome cut into "
                             "contigs of this length (0: skip; default 20000)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "genes.md")
    args = parser.parse_args(argv)

    set_threads(args.threads)
    device = resolve_device(args.device)
    *_, metadata = load_gene_models(args.model)
    entries = {e.name: e for e in read_genome_table(args.genomes)}
    names = args.names.split(",") if args.names else metadata.get("held_out_genomes", [])
    if not names:
        parser.error("no genomes: give --names or a model card listing held_out_genomes")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in names:
            entry = entries[name]
            finder = GeneFinder(args.model, translation_table=entry.translation_table,
                                compute=ComputeOptions(device=device, precision=args.precision))
            ours = run_genoseq(finder, entry.fasta, tmp / f"{name}.genoseq.gff")
            theirs = run_pyrodigal(entry.fasta, entry.translation_table,
                                   tmp / f"{name}.pyrodigal.gff")
            figures = {tool: score(args.scorer, entry.gff, tmp / f"{name}.{tool}.gff",
                                   entry.verified_starts)
                       for tool in ("genoseq", "pyrodigal")}
            for tool in ("genoseq", "pyrodigal"):
                figures[tool]["by_length"] = found_by_length(entry.gff,
                                                             tmp / f"{name}.{tool}.gff")
            if args.meta_contig:
                meta_finder = GeneFinder(args.model, translation_table=entry.translation_table, procedure="meta",
                                         compute=ComputeOptions(device=device, precision=args.precision))
                meta_times = run_meta(entry.fasta, entry.translation_table, args.meta_contig,
                                      tmp, meta_finder)
                figures["meta"] = {tool: score(args.scorer, entry.gff, tmp / f"meta.{tool}.gff",
                                               None) for tool in ("genoseq", "pyrodigal")}
                figures["meta_times"] = meta_times
            rows.append((name, entry, figures, ours, theirs))
            g, p = figures["genoseq"], figures["pyrodigal"]
            print(f"{name}: F1 genoseq {fmt(g['f1'])} pyrodigal {fmt(p['f1'])}; "
                  f"start {fmt(g['exact_start'])} vs {fmt(p['exact_start'])}; "
                  f"verified {verified_rate(g)} vs {verified_rate(p)}; "
                  f"{ours:.1f} s vs {theirs:.1f} s", flush=True)
        speed = None
        if args.speed_genome:
            entry = entries[args.speed_genome]
            length = sum(len(r) for r in read_fasta(entry.fasta))
            precisions = (args.speed_precision.split(",") if args.speed_precision
                          else ["fp32", "bf16"] if device.type == "cpu" else ["auto", "fp32"])
            runs = [(precision, precision, {}) for precision in precisions]
            runs += [(f"{precision}, --no-recheck", precision, {"recheck": False})
                     for precision in precisions if precision != "fp32"]
            runs += [(f"fp32, window {int(window):,}", "fp32", {"window": int(window)})
                     for window in args.speed_windows.split(",") if window]
            timings = []
            for k, (label, precision, options) in enumerate(runs):
                finder = GeneFinder(args.model, translation_table=entry.translation_table, **options,
                                    compute=ComputeOptions(device=device, precision=precision))
                out = tmp / f"speed.genoseq.{k}.gff"
                # The window-size rows only count calls: timed once.
                repeats = 1 if "window" in options else args.repeats
                seconds = min(run_genoseq(finder, entry.fasta, out) for _ in range(repeats))
                timings.append((label, seconds, gene_keys(out)))
            theirs = min(run_pyrodigal(entry.fasta, entry.translation_table,
                                       tmp / "speed.pyrodigal.gff")
                         for _ in range(args.repeats))
            speed = (args.speed_genome, length, timings, theirs)

    lines = [
        "# Gene prediction: genoseq vs pyrodigal",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/genes_vs_pyrodigal.py` "
        f"(genoseq {genoseq.__version__}). Machine: {machine_line(device)}.",
        "",
        "Genomes: " + ", ".join(names) + (" — held out of training: no gene of these genomes "
                                          "was seen by the model or its decoder calibration."
                                          if not args.names else "."),
        "pyrodigal: single mode, trained on each genome, closed ends off. Scored with "
        "`../shared/tools/score_genes.py` (match = seqid, strand and stop; exact start among "
        "matched). Verified starts: share of experimentally verified starts predicted exactly, "
        "among verified genes whose stop was found.",
        "",
        "| genome | GC % | table | n_ref | tool | sensitivity | precision | F1 | exact start "
        "| verified start | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sums = {"genoseq": [0.0, 0.0, 0.0, 0.0], "pyrodigal": [0.0, 0.0, 0.0, 0.0]}
    for name, entry, figures, ours, theirs in rows:
        for tool, wall in (("genoseq", ours), ("pyrodigal", theirs)):
            f = figures[tool]
            lines.append(f"| {name} | {entry.gc_percent or '-'} | {entry.translation_table} | "
                         f"{f['n_ref']} | {tool} | {fmt(f['sensitivity'])} | "
                         f"{fmt(f['precision'])} | {fmt(f['f1'])} | {fmt(f['exact_start'])} | "
                         f"{verified_rate(f)} | {wall:.2f} |")
            for i, key in enumerate(("sensitivity", "precision", "f1", "exact_start")):
                sums[tool][i] += f[key] or 0.0
    n = max(len(rows), 1)
    lines += ["", "| mean over genomes | sensitivity | precision | F1 | exact start |",
              "|---|---|---|---|---|"]
    for tool, total in sums.items():
        lines.append(f"| {tool} | " + " | ".join(f"{v / n:.4f}" for v in total) + " |")
    if args.meta_contig:
        lines += ["", f"Metagenome mode: each genome cut into {args.meta_contig:,} bp contigs, "
                  "genoseq `-p meta` and pyrodigal `meta=True` (its 50 built-in models), genes "
                  "mapped back to genome coordinates and scored the same way (genes cut by a "
                  "contig edge cannot match for either tool). genoseq is given the genome's "
                  "translation table (`-g`), as a user who knows the organism would; pyrodigal's "
                  "meta mode chooses among its models, which cover tables 4 and 11.", "",
                  "| genome | tool | sensitivity | precision | F1 | exact start | wall s |",
                  "|---|---|---|---|---|---|---|"]
        meta_sums = {"genoseq": 0.0, "pyrodigal": 0.0}
        for name, _, figures, _, _ in rows:
            for tool, wall in zip(("genoseq", "pyrodigal"), figures["meta_times"], strict=True):
                f = figures["meta"][tool]
                meta_sums[tool] += f["f1"] or 0.0
                lines.append(f"| {name} | {tool} | {fmt(f['sensitivity'])} | "
                             f"{fmt(f['precision'])} | {fmt(f['f1'])} | "
                             f"{fmt(f['exact_start'])} | {wall:.2f} |")
        lines.append("| mean F1 | | | | genoseq " + f"{meta_sums['genoseq'] / n:.4f}, pyrodigal "
                     f"{meta_sums['pyrodigal'] / n:.4f} | | |")
    lines += ["", "Sensitivity by reference gene length (bp, stop codon included), all genomes "
              "pooled:", "",
              "| tool | " + " | ".join(f"{low}-{high}" if high < 10**9 else f">= {low}"
                                      for low, high in LENGTH_BINS) + " |",
              "|---|" + "---|" * len(LENGTH_BINS)]
    for tool in ("genoseq", "pyrodigal"):
        cells = []
        for k in range(len(LENGTH_BINS)):
            n = sum(row[2][tool]["by_length"][k][0] for row in rows)
            found = sum(row[2][tool]["by_length"][k][1] for row in rows)
            cells.append(f"{found / max(n, 1):.3f} ({found}/{n})")
        lines.append(f"| {tool} | " + " | ".join(cells) + " |")
    if speed is not None:
        name, length, timings, theirs = speed
        lines += ["", f"Speed on {name} ({length / 1e6:.2f} Mbp), same run, pyrodigal "
                  f"{theirs:.1f} s (train + predict, one core); each tool's fastest of "
                  f"{args.repeats} runs (genoseq: same loaded model, reading the FASTA and "
                  "writing GFF3 each time):", "",
                  "| genoseq precision | wall s | ratio genoseq / pyrodigal | Mbp/s "
                  f"| genes | same calls as {timings[0][0]} |",
                  "|---|---|---|---|---|---|"]
        reference = timings[0][2]
        for precision, ours, keys in timings:
            same = len(keys & reference)
            lines.append(f"| {precision} | {ours:.1f} | {ours / theirs:.2f} | "
                         f"{length / 1e6 / ours:.2f} | {len(keys)} | {same} of {len(keys)} "
                         f"({len(keys - reference)} only here, {len(reference - keys)} "
                         f"only in {timings[0][0]}) |")
        if any(label.endswith("--no-recheck") for label, _, _ in timings):
            lines += ["", "In reduced precision genoseq re-scores near ties in fp32 before "
                      "deciding (the default); `--no-recheck` skips that."]
        if any(label.startswith("fp32, window") for label, _, _ in timings):
            lines += ["", f"The coding model reads a genome in overlapping windows of "
                      f"{DEFAULT_WINDOW:,} bp ({DEFAULT_CONTEXT} bp of context on each side). "
                      "The rows with another window size "
                      "change nothing but where the windows are cut, in the same fp32 "
                      "arithmetic (timed once): the calls they move are near-ties that any numerical "
                      "change can tip."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
