#!/usr/bin/env python3
"""Gene finder ablation: what each part of genoseq's gene score adds, beside pyrodigal.

For every held-out development genome (the model card's ``held_out_genomes``)
in single mode and in metagenome mode (the genome cut into contigs, as in
benchmarks/genes_vs_pyrodigal.py), this runs the shipped finder, five
variants with one part of it switched off, and pyrodigal, and scores them all
against the reference CDS with ../shared/tools/score_genes.py: F1, exact
start, verified start and sensitivity by length bin (issue 17). Networks run
in fp32, so the figures do not depend on the CPU's bf16 support. Writes
benchmarks/results/gene_ablation.md.

    python benchmarks/gene_ablation.py --threads 1
    python benchmarks/gene_ablation.py --quick          # mgen_g37 only
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from genes_vs_pyrodigal import (  # benchmarks/: scripts run from this folder
    LENGTH_BINS,
    correct_by_length,
    found_by_length,
    meta_genoseq,
    meta_pyrodigal,
    run_genoseq,
    run_pyrodigal,
    score,
    verified_rate,
    write_contigs,
)
from machine import machine_line

import genoseq
from genoseq.device import ComputeOptions, resolve_device, set_threads
from genoseq.encoding import dna_to_index
from genoseq.genes.dataset import read_genome_table
from genoseq.genes.finder import GeneFinder
from genoseq.genes.frames import N_FRAME_CHANNELS, frame_channels, stop_codons
from genoseq.genes.metalib import MetaLibrary, library_path_for, read_library
from genoseq.genes.model import BASE_CHANNELS, CodingModel
from genoseq.genes.networks import GeneModels, load_gene_models
from genoseq.genes.scoring import DecoderParams
from genoseq.io.fasta import read_fasta

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
QUICK_GENOMES = "mgen_g37"
MODES = ("single", "meta")

#: (key, label, what it means) of every row, in table order.
VARIANTS = (
    ("shipped", "shipped", "the finder as shipped (both networks, both decoder passes)"),
    ("coding_off", "coding network off",
     "`coding_weight` 0 in both decoder passes: the coding BiLSTM's log-ratios leave the gene "
     "score; the self-trained hexamer term of the second pass stays (learnt from a first pass "
     "that then rests on the start logits and the length prior)"),
    ("start_off", "start network off",
     "`start_weight` 0 in both passes: the start detector's logits leave the score; the "
     "self-trained start profile of the second pass stays"),
    ("phase_zeroed", "phase channels zeroed",
     "the coding model's three codon-phase input channels set to 0 (same weights, same decoder)"),
    ("phase_constant", "phase channels constant",
     "extra row: the phase channels zeroed as above and their (constant) contribution folded "
     "into the first convolution's bias, so the network keeps its input scale and loses only "
     "what the phase channels say beyond a constant; the gap between this row and the one above "
     "is the cost of the shifted input, not of lost phase information"),
    ("frames_zeroed", "open-frame channels zeroed",
     "the coding model's twelve open-frame input channels (codons to the nearest in-frame stop "
     "downstream and upstream, per frame; genoseq/genes/frames.py) set to 0, same weights and "
     "decoder (models with those channels only)"),
    ("frames_mean", "open-frame channels at their mean",
     "the open-frame channels replaced at every base by their mean over the genome at hand: the "
     "network keeps its input scale and loses what the channels say about each place and frame"),
    ("self_trained_off", "self-trained terms off",
     "no second pass: the first-pass decoder weights decide, without the genome's own hexamer "
     "and start statistics (in meta mode: without the statistics library, the first-pass "
     "weights alone, as the next row)"),
    ("library_off", "statistics library off",
     "meta mode without the statistics library (genoseq/genes/metalib.py): each contig "
     "decoded with the first-pass weights, no borrowed hexamer or start statistics (meta mode "
     "before session 10; in single mode the library plays no part)"),
    ("one_round", "one self-training round",
     "the genome's statistics learned once, from the first pass's genes, instead of again from "
     "the self-trained pass's own genes (models with two or more rounds; in meta mode the "
     "shipped finder, which never self-trains there)"),
    ("start_codon_off", "start-codon weight off",
     "`start_codon_weight` 0 in the self-trained pass and in the library's weights: the "
     "start-codon usage counts only inside the whole (own or borrowed) start profile"),
    ("rbs_off", "RBS score off",
     "`rbs_weight` 0 in the self-trained pass: no self-trained Shine-Dalgarno class score "
     "(it is on only in genomes whose starts show SD sites, `rbs_min_strength`; meta mode: as "
     "shipped)"),
    ("profile_pool_off", "start profile per position",
     "`profile_pool` 1 in the self-trained pass: the starts of an ORF ranked by the start "
     "profile's per-position log-odds (which read the codon phase upstream of a start) instead "
     "of its codon-length block means (the shipped finder since session 17; meta mode: as "
     "shipped, its library never pooled)"),
    ("orf_prior_off", "ORF-length prior off",
     "`orf_length_bias` 0 in both passes: the prior loses its term in the ORF's length (the "
     "same for every start of an ORF) and keeps its term in the gene's length, which favours "
     "upstream starts"),
    ("networks_only", "networks only",
     "no second pass and both length terms 0: coding log-ratio + start logit + gene bias only"),
    ("pyrodigal", "pyrodigal",
     "single mode: trained on each genome, closed ends off; meta mode: "
     "`pyrodigal.GeneFinder(meta=True)` (its 50 built-in models) on each contig"),
)
LABELS = {key: label for key, label, _ in VARIANTS}


class PhaseZeroedCodingModel(CodingModel):
    """The coding model with its three codon-phase input channels held at zero.

    Same weights as the model it is loaded from; only the phase part of
    :meth:`CodingModel.features` is replaced by zeros.
    """

    def features(self, index: torch.Tensor, offset: int = 0, stops=None,
                 lengths=None) -> torch.Tensor:
        features = super().features(index, offset, stops, lengths)
        features[..., 4:7] = 0.0
        return features


class FramesFixedCodingModel(CodingModel):
    """The coding model with its open-frame input channels held at fixed values.

    ``frame_values`` (12,) replaces every base's channels: zeros, or their
    mean over the genome at hand, which keeps the network's input scale and
    takes away only what the channels say about this place and frame.
    """

    frame_values: torch.Tensor

    def features(self, index: torch.Tensor, offset: int = 0, stops=None,
                 lengths=None) -> torch.Tensor:
        features = super().features(index, offset, stops, lengths)
        features[..., BASE_CHANNELS:] = self.frame_values.to(features.device)
        return features


def phase_zeroed(models: GeneModels, fold: bool = False) -> GeneModels:
    """A copy of ``models`` whose coding model ignores codon phase.

    ``fold``: add the phase channels' contribution to the first convolution's
    bias instead of dropping it. The coding model reads windows that start at
    multiples of 3 and its first convolution has a stride that is a multiple
    of 3, so every step sees the same phase pattern and that contribution is
    one constant vector (except where a step overlaps the window's edge): the
    folded model differs from the shipped one only by what the phase channels
    could tell it beyond that constant.
    """
    variant = copy.deepcopy(models)
    coding = PhaseZeroedCodingModel(models.coding.config)
    coding.load_state_dict(models.coding.state_dict())
    if fold:
        conv = coding.tagger.front[0].conv
        if conv.stride[0] % 3:
            raise ValueError("folding needs a first convolution whose stride is a multiple of 3")
        kernel = conv.weight.shape[-1]
        phase = [(k - conv.padding[0]) % 3 for k in range(kernel)]
        with torch.no_grad():
            conv.bias += sum(conv.weight[:, 4 + phase[k], k] for k in range(kernel))
    variant.coding = coding.eval()
    return variant.eval()


def genome_frame_means(fasta: Path, table: int) -> torch.Tensor:
    """Mean of each open-frame channel over a genome's records (both ends included)."""
    total, count = torch.zeros(N_FRAME_CHANNELS, dtype=torch.float64), 0
    for record in read_fasta(fasta, alphabet="dna"):
        index = torch.from_numpy(dna_to_index(record.seq).astype(np.int64))[None]
        channels = frame_channels(index, stop_codons(table))[0]
        total += channels.sum(dim=0).double()
        count += channels.shape[0]
    return (total / max(count, 1)).float()


def frames_fixed(models: GeneModels, values: torch.Tensor) -> GeneModels:
    """A copy of ``models`` whose coding model reads ``values`` as its open-frame channels."""
    variant = copy.deepcopy(models)
    coding = FramesFixedCodingModel(models.coding.config)
    coding.load_state_dict(models.coding.state_dict())
    coding.frame_values = values
    variant.coding = coding.eval()
    return variant.eval()


def variant_settings(models: GeneModels, params: DecoderParams, adapted: DecoderParams | None,
                     frame_means: torch.Tensor | None = None,
                     library: MetaLibrary | None = None,
                     ) -> dict[str, tuple[GeneModels, DecoderParams, DecoderParams | None,
                                          MetaLibrary | None]]:
    """(networks, first-pass weights, self-trained-pass weights, meta library) of every variant.

    The open-frame rows exist for a coding model with those channels;
    ``frame_means`` (the genome's channel means) gives the second of them.
    A change to the decoder weights is made to the library's weights too.
    """
    def change(p: DecoderParams | None, **fields) -> DecoderParams | None:
        return None if p is None else dataclasses.replace(p, **fields)

    def lib(**fields) -> MetaLibrary | None:
        if library is None or not fields:
            return library
        return dataclasses.replace(library, params=change(library.params, **fields))

    def both(**fields):
        return change(params, **fields), change(adapted, **fields), lib(**fields)

    settings = {
        "shipped": (models, params, adapted, library),
        "coding_off": (models, *both(coding_weight=0.0)),
        "start_off": (models, *both(start_weight=0.0)),
        "phase_zeroed": (phase_zeroed(models), params, adapted, library),
        "phase_constant": (phase_zeroed(models, fold=True), params, adapted, library),
        "self_trained_off": (models, params, None, None),
        "orf_prior_off": (models, *both(orf_length_bias=0.0)),
        "start_codon_off": (models, params, change(adapted, start_codon_weight=0.0),
                            lib(start_codon_weight=0.0)),
        "rbs_off": (models, params, change(adapted, rbs_weight=0.0), library),
        "profile_pool_off": (models, params, change(adapted, profile_pool=1), library),
        "networks_only": (models, change(params, length_bias=0.0, orf_length_bias=0.0), None,
                          None),
    }
    if library is not None:
        settings["library_off"] = (models, params, adapted, None)
    if adapted is not None and adapted.self_training_rounds > 1:
        settings["one_round"] = (models, params, change(adapted, self_training_rounds=1),
                                 library)
    if models.coding.uses_frames:
        settings["frames_zeroed"] = (frames_fixed(models, torch.zeros(N_FRAME_CHANNELS)),
                                     params, adapted, library)
        if frame_means is not None:
            settings["frames_mean"] = (frames_fixed(models, frame_means), params, adapted,
                                       library)
    return settings


def points(value: float | None, base: float | None) -> str:
    """``value - base`` in percentage points, signed; '-' when either is missing."""
    if value is None or base is None:
        return "-"
    return f"{100 * (value - base):+.2f}"


def fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def bin_names() -> list[str]:
    return [f"< {high}" if low == 0 else f"{low}-{high}" if high < 10**9 else f">= {low}"
            for low, high in LENGTH_BINS]


def evaluate(args, entry, gff: Path, verified: bool) -> dict:
    """Scorer figures of one prediction, with counts by length bin."""
    figures = score(args.scorer, entry.gff, gff, entry.verified_starts if verified else None)
    figures["by_length"] = found_by_length(entry.gff, gff)
    figures["pred_by_length"] = correct_by_length(entry.gff, gff)
    return figures


def run_genome(args, entry, settings, device, tmp: Path) -> dict[str, dict[str, dict]]:
    """figures[mode][variant] of one genome; each with its wall seconds and, where a run
    was reused, the variant it repeats (``same_as``)."""
    results: dict[str, dict[str, dict]] = {}
    name = entry.name
    for mode in MODES:
        if mode == "meta" and not args.meta_contig:
            continue
        figures: dict[str, dict] = {}
        done: dict[tuple, str] = {}
        if mode == "single":
            out = tmp / f"{name}.single.pyrodigal.gff"
            seconds = run_pyrodigal(entry.fasta, entry.translation_table, out)
        else:
            pieces, contigs = write_contigs(entry.fasta, args.meta_contig, tmp)
            out = tmp / f"{name}.meta.pyrodigal.gff"
            seconds = meta_pyrodigal(pieces, out)
        figures["pyrodigal"] = {**evaluate(args, entry, out, True), "seconds": seconds}
        for key, (models, params, adapted, library) in settings.items():
            # Meta mode never self-trains: the second-pass weights play no part there, and
            # single mode never reads the library.
            same = (id(models), params, adapted if mode == "single" else
                    (None if library is None else library.params))
            if same in done:
                figures[key] = {**figures[done[same]], "same_as": done[same]}
                continue
            done[same] = key
            finder = GeneFinder.from_models(
                models, params, adapted, translation_table=entry.translation_table,
                procedure=mode, compute=ComputeOptions(device=device, precision="fp32"),
                meta_library=library if mode == "meta" else None)
            out = tmp / f"{name}.{mode}.{key}.gff"
            if mode == "single":
                seconds = run_genoseq(finder, entry.fasta, out)
            else:
                seconds = meta_genoseq(contigs, pieces, finder, out)
            figures[key] = {**evaluate(args, entry, out, True), "seconds": seconds}
            f = figures[key]
            print(f"{name} {mode} {key}: F1 {fmt(f['f1'])} (pyrodigal "
                  f"{fmt(figures['pyrodigal']['f1'])}), exact start {fmt(f['exact_start'])}, "
                  f"verified {verified_rate(f)}, {seconds:.1f} s", flush=True)
        results[mode] = figures
    return results


def genome_table(rows, mode: str) -> list[str]:
    lines = ["| genome | variant | sensitivity | precision | F1 | ΔF1 (points) | exact start "
             "| Δ exact start (points) | verified start | "
             + " | ".join(f"sens. {b}" for b in bin_names()) + " | wall s |",
             "|---|---|---|---|---|---|---|---|---|" + "---|" * len(LENGTH_BINS) + "---|"]
    for name, results in rows:
        figures = results[mode]
        base = figures["shipped"]
        for key, label, _ in VARIANTS:
            if key not in figures:
                continue
            f = figures[key]
            bins = [f"{found / max(n, 1):.3f}" for n, found in f["by_length"]]
            wall = f"= {LABELS[f['same_as']]}" if "same_as" in f else f"{f['seconds']:.1f}"
            lines.append(
                f"| {name} | {label} | {fmt(f['sensitivity'])} | {fmt(f['precision'])} | "
                f"{fmt(f['f1'])} | {'' if key == 'shipped' else points(f['f1'], base['f1'])} | "
                f"{fmt(f['exact_start'])} | "
                f"{'' if key == 'shipped' else points(f['exact_start'], base['exact_start'])} | "
                f"{verified_rate(f)} | " + " | ".join(bins) + f" | {wall} |")
    return lines


def summary_table(rows, modes: list[str]) -> list[str]:
    """Mean F1 and exact start over genomes; short-gene sensitivity and precision pooled."""
    short = [k for k, (low, high) in enumerate(LENGTH_BINS) if high <= 300]
    names = bin_names()
    lines = ["| mode | variant | mean F1 | ΔF1 (points) | mean exact start "
             "| Δ exact start (points) | "
             + " | ".join(f"sens. {names[k]} | prec. {names[k]}" for k in short) + " |",
             "|---|---|---|---|---|---|" + "---|---|" * len(short)]
    n = max(len(rows), 1)
    for mode in modes:
        means = {}
        present = [(key, label) for key, label, _ in VARIANTS if key in rows[0][1][mode]]
        for key, _ in present:
            means[key] = tuple(sum(results[mode][key][field] or 0.0 for _, results in rows) / n
                               for field in ("f1", "exact_start"))
        for key, label in present:
            f1, start = means[key]
            base_f1, base_start = means["shipped"]
            cells = []
            for k in short:
                ref = sum(results[mode][key]["by_length"][k][0] for _, results in rows)
                found = sum(results[mode][key]["by_length"][k][1] for _, results in rows)
                pred = sum(results[mode][key]["pred_by_length"][k][0] for _, results in rows)
                right = sum(results[mode][key]["pred_by_length"][k][1] for _, results in rows)
                cells += [f"{fmt(found / ref if ref else None, 3)} ({found}/{ref})",
                          f"{fmt(right / pred if pred else None, 3)} ({right}/{pred})"]
            lines.append(f"| {mode} | {label} | {f1:.4f} | "
                         f"{'' if key == 'shipped' else points(f1, base_f1)} | {start:.4f} | "
                         f"{'' if key == 'shipped' else points(start, base_start)} | "
                         + " | ".join(cells) + " |")
    return lines


def command_line(argv: list[str]) -> str:
    """The command as given, without the output path."""
    shown, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--out":
            skip = True
        elif not word.startswith("--out="):
            shown.append(word)
    return " ".join(["python benchmarks/gene_ablation.py", *shown])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=Path, default=SHARED / "data" / "genomes",
                        help="genome folder laid out like ../shared/data/genomes")
    parser.add_argument("--names", help="comma-separated genomes (default: the model's held-out "
                                        f"genomes; with --quick {QUICK_GENOMES})")
    parser.add_argument("--model", help="gene model stem (default: shipped)")
    parser.add_argument("--scorer", type=Path, default=SHARED / "tools" / "score_genes.py")
    parser.add_argument("--meta-contig", type=int, default=20_000, metavar="BP",
                        help="contig length of metagenome mode (0: skip it; default 20000)")
    parser.add_argument("--device", default=None, help="genoseq's device (default: CUDA if "
                                                       "present, else the CPU); always fp32")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true",
                        help=f"only {QUICK_GENOMES} (unless --names is given)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default: results/gene_ablation.md, with --quick "
                             "results/quick/gene_ablation.md)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    out = args.out or (REPO / "benchmarks" / "results" / ("quick" if args.quick else "")
                       / "gene_ablation.md")

    set_threads(args.threads)
    device = resolve_device(args.device)
    models, params, adapted, metadata = load_gene_models(args.model)
    library_file = library_path_for(args.model)
    library = None if library_file is None else read_library(library_file)
    held_out = metadata.get("held_out_genomes", [])
    entries = {e.name: e for e in read_genome_table(args.genomes)}
    names = (args.names.split(",") if args.names else
             QUICK_GENOMES.split(",") if args.quick else held_out)
    if not names:
        parser.error("no genomes: give --names or a model card listing held_out_genomes")
    unknown = [name for name in names if name not in entries]
    if unknown:
        parser.error(f"not in {args.genomes}/genomes.tsv: {', '.join(unknown)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            entry = entries[name]
            means = (genome_frame_means(entry.fasta, entry.translation_table)
                     if models.coding.uses_frames else None)
            settings = variant_settings(models, params, adapted, means, library)
            rows.append((name, run_genome(args, entry, settings, device, Path(tmp))))
    modes = [mode for mode in MODES if mode in rows[0][1]]
    present = {key for _, results in rows for key in results[modes[0]]}

    all_held_out = all(name in held_out for name in names)
    lines = [
        "# Gene finder ablation: what each part of the gene score adds",
        "",
        f"Measured {datetime.date.today()} by `{command_line(argv)}` (genoseq "
        f"{genoseq.__version__}, model {args.model or 'shipped (genoseq/weights/genes)'}; "
        f"networks in fp32). Machine: {machine_line(device)}.",
        "",
        "Genomes: " + ", ".join(f"{name} ({entries[name].gc_percent or '-'}% GC, table "
                                f"{entries[name].translation_table})" for name in names)
        + (" — held out of training: no gene of these genomes was seen by the networks or by "
           "the fitting of the decoder weights." if all_held_out else "."),
        "Each genome in single mode (the whole genome, self-trained second pass where the "
        "finder has one) and in metagenome mode"
        + (f" (cut into {args.meta_contig:,} bp contigs, each predicted on its own, genes mapped "
           "back to genome coordinates; genes cut by a contig edge cannot match for any row)"
           if args.meta_contig else " (skipped in this run)") + ". Rows:",
        "",
        *[f"- **{label}**: {what}." for key, label, what in VARIANTS if key in present],
        "",
        "Scored with `../shared/tools/score_genes.py` (match = seqid, strand and stop; exact "
        "start among matched). Verified start: share of experimentally verified starts "
        "predicted exactly, among verified genes whose stop was found (E. coli and "
        "H. salinarum have such sets). Δ: the row minus the shipped finder, in percentage "
        "points (for pyrodigal, negative means genoseq is ahead). Sensitivity by reference "
        "gene length (bp, stop codon included); precision by the predicted gene's length. "
        "genoseq is given each genome's translation table in both modes. Wall seconds: "
        "genoseq predicting (reading the FASTA, writing GFF3); pyrodigal training and "
        "predicting in single mode, predicting in meta mode.",
    ]
    for mode in modes:
        heading = ("Single mode" if mode == "single"
                   else f"Metagenome mode ({args.meta_contig:,} bp contigs)")
        lines += ["", f"## {heading}", "", *genome_table(rows, mode)]
    lines += ["", "## Means over genomes, short genes pooled", "",
              "F1 and exact start: mean over the genomes; sensitivity and precision of genes "
              "under 300 bp: counts pooled over the genomes.", "", *summary_table(rows, modes)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
