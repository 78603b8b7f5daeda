#!/usr/bin/env python3
"""Secondary-structure accuracy (Q3, Q8) on labelled sets, and prediction speed.

Every ``--test`` table (the data card's TSV format: id, seq, q8, q3, mask) is
predicted with the shipped (or given) model, the predictions are written as
a TSV, and ../shared/tools/score_ss.py scores them: per-residue accuracy over
mask=1 residues, and the per-chain mean. Speed: proteins/s and residues/s of
``predict_secondary_structure`` on the first test set, on the CPU with
``--threads`` threads and on CUDA when present. Writes benchmarks/results/ss.md.

    python benchmarks/ss_eval.py --threads 1
    python benchmarks/ss_eval.py --test my_set.tsv.gz --model runs/ss/ss --out ss_my_set.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import cpu_name, shown_args  # benchmarks/machine.py: scripts run from this folder

import genoseq
from genoseq.device import INT8, PRECISIONS, ComputeOptions, set_threads
from genoseq.structure.data import read_ss_table
from genoseq.structure.predict import load_ss_model, predict_secondary_structure, ss_precision

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SS_DATA = SHARED / "data" / "ss"

# Published single-sequence CB513 Q3 (data card; figures depend on the CB513 version and mask).
ANCHORS = [
    ("S4PRED (Moffat & Jones 2021), single sequence", "75.3"),
    ("SPIDER3-Single / SPOT-1D-Single (Singh et al. 2021), unverified", "72-74"),
]


def score(scorer: Path, truth: Path, predictions: Path) -> dict:
    """Run the shared scorer; its JSON output."""
    done = subprocess.run([sys.executable, str(scorer), str(truth), str(predictions)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ss_eval.py: {scorer.name} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def time_prediction(model, sequences: list[tuple[str, str]], device: str,
                    batch_size: int, repeats: int, precision: str = "auto") -> float:
    """Best wall-clock seconds of ``repeats`` predictions of all ``sequences``."""
    predict_secondary_structure(sequences[:8], model=model,
                                compute=ComputeOptions(device=device, batch_size=batch_size, precision=precision))
    best = float("inf")
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        began = time.perf_counter()
        predict_secondary_structure(sequences, model=model,
                                    compute=ComputeOptions(device=device, batch_size=batch_size, precision=precision))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - began)
    return best


def precision_list(text: str) -> list[str]:
    values = [value.strip() for value in text.split(",") if value.strip()]
    for value in values:
        if value not in (*PRECISIONS, INT8):
            raise argparse.ArgumentTypeError(
                f"{value!r}: expected {', '.join((*PRECISIONS, INT8))}")
    if not values:
        raise argparse.ArgumentTypeError("expected at least one precision")
    return values


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def shown_precision(device: str, precision: str) -> str:
    resolved = ss_precision(torch.device(device), precision)
    return precision if resolved == precision else f"{precision} ({resolved})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test", nargs="+", type=Path, metavar="FILE",
                        default=[SS_DATA / "cb513.tsv.gz", SS_DATA / "ts115.tsv.gz"],
                        help="labelled tables (default: CB513 and TS115 of ../shared/data/ss)")
    parser.add_argument("--model", metavar="STEM", help="model (default: shipped)")
    parser.add_argument("--scorer", type=Path, default=SHARED / "tools" / "score_ss.py")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "ss.md")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs, best kept")
    parser.add_argument("--precision", type=precision_list, default=["auto"], metavar="P[,P...]",
                        help="network arithmetic, as genoseq ss --precision; several, comma-"
                        "separated, give a row each (default: auto)")
    args = parser.parse_args(argv)
    if not args.scorer.is_file():
        raise SystemExit(f"ss_eval.py: scorer {args.scorer} not found (--scorer)")
    set_threads(args.threads)
    load = os.getloadavg()
    model, _ = load_ss_model(args.model)
    rows = []
    timed_sequences = None
    with tempfile.TemporaryDirectory() as folder:
        for path in args.test:
            chains = read_ss_table(path)
            sequences = [(c.id, c.sequence) for c in chains]
            timed_sequences = timed_sequences or (path, sequences)
            for precision in args.precision:
                frame = predict_secondary_structure(
                    sequences, model=model, compute=ComputeOptions(
                        device="cpu", batch_size=args.batch_size, precision=precision))
                predictions = Path(folder) / f"{path.name}.{precision}.pred.tsv"
                frame[["id", "sequence", "q3", "q8"]].to_csv(predictions, sep="\t", index=False)
                figures = score(args.scorer, path, predictions)
                rows.append((path, precision, len(chains), figures))
                print(f"{path.name} ({precision}): Q3 "
                      f"{percent(figures['Q3']['per_residue_accuracy'])} "
                      f"Q8 {percent(figures['Q8']['per_residue_accuracy'])}", flush=True)
    speed_path, speed_sequences = timed_sequences
    residues = sum(len(s) for _, s in speed_sequences)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    speeds = []
    for device in devices:
        for precision in args.precision:
            if device != "cpu" and precision == INT8:
                continue
            seconds = time_prediction(model, speed_sequences, device, args.batch_size,
                                      args.repeats, precision)
            threads = str(args.threads) if device == "cpu" else "-"
            speeds.append((device, shown_precision(device, precision), threads, seconds,
                           len(speed_sequences) / seconds, residues / seconds))
            print(f"{device} ({precision}): {len(speed_sequences) / seconds:.1f} proteins/s",
                  flush=True)

    def architecture(tagger) -> str:
        return (f"conv {tagger.conv_layers}x{tagger.conv_channels} k{tagger.conv_kernel}, "
                f"BiLSTM {tagger.lstm_layers}x{tagger.hidden}")

    members = list(getattr(model, "members", [model]))
    counts: dict[str, int] = {}
    for member in members:
        counts[architecture(member.config)] = counts.get(architecture(member.config), 0) + 1
    if len(members) == 1:
        described = f"{architecture(members[0].config)}, Q8 + Q3 heads"
    else:
        described = (f"an ensemble of {len(members)} networks with Q8 + Q3 heads, probabilities "
                     "averaged: " + " + ".join(f"{n} x ({arch})" for arch, n in counts.items()))
    lines = [
        "# Protein secondary structure: Q3 / Q8 accuracy and speed",
        "",
        "Single-sequence prediction (no alignments, no language model) by the shipped BiLSTM "
        f"(`genoseq/weights/ss`; {described})."
        if args.model is None else f"Single-sequence prediction by the model `{args.model}`.",
        "Scored by `../shared/tools/score_ss.py`: per-residue accuracy over the residues with "
        "mask=1 (CB513: NetSurfP-2.0's evaluation mask, 84k of 144k residues; TS115: resolved "
        "residues), and the mean of per-chain accuracies. Predicted on the CPU at the "
        "precision of each row (`genoseq ss --precision`; \"auto\" shows what it is on this "
        "machine).",
        "",
        "| test set | precision | chains | Q3 residues | Q3 % | Q8 % | per-chain Q3 % | "
        "per-chain Q8 % |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for path, precision, n_chains, figures in rows:
        q3, q8 = figures["Q3"], figures["Q8"]
        lines.append(f"| {path.name} | {shown_precision('cpu', precision)} | {n_chains} | "
                     f"{q3['residues_evaluated']:,} | "
                     f"{percent(q3['per_residue_accuracy'])} | "
                     f"{percent(q8['per_residue_accuracy'])} | "
                     f"{percent(q3['per_chain_mean_accuracy'])} | "
                     f"{percent(q8['per_chain_mean_accuracy'])} |")
    lines += ["", "Published single-sequence CB513 Q3 for scale (data card; not re-checked, and "
              "CB513 versions and masks differ between papers):", ""]
    lines += [f"- {name}: {value}%" for name, value in ANCHORS]
    lines += [
        "",
        f"## Speed ({speed_path.name}: {len(speed_sequences)} chains, {residues:,} residues)",
        "",
        f"`predict_secondary_structure`, batch size {args.batch_size}, best of "
        f"{args.repeats} runs after a warm-up, model already loaded (int8: the quantized copy "
        "is made in each run, as `genoseq ss` does).",
        "",
        "| device | precision | threads | seconds | proteins/s | residues/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {device} | {precision} | {threads} | {seconds:.1f} | {pps:.1f} | {rps:,.0f} |"
              for device, precision, threads, seconds, pps, rps in speeds]
    cuda = (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else
            ", no GPU")
    lines += [
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} logical "
        f"cores{cuda}; load average at start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
        "(the CPU was shared, so speeds are lower bounds).",
        f"Software: genoseq {genoseq.__version__}, torch {torch.__version__}, Python "
        f"{platform.python_version()}. Model card: `genoseq/weights/ss.md`.",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"Command: `python benchmarks/ss_eval.py {' '.join(shown_args(argv or sys.argv[1:]))}`.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
