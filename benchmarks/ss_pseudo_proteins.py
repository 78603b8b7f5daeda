#!/usr/bin/env python3
"""Secondary structure: unlabelled proteins for pseudo-labelling, ≤ 25% identical to the tests.

Translates the reference CDS of every genome in ``../shared/data/genomes*/``
(complete, non-pseudo CDS of the annotation, each genome's translation
table; the first residue is written as M, as the ribosome reads any start
codon), drops exact duplicates and proteins shorter than 30 residues, and
removes every protein that MMseqs2 finds more than 25% identical, over the
shorter chain, to a CB513 or TS115 chain: the search and rule of
``benchmarks/ss_clean_split.py``.

Writes ``benchmarks/work/ss_pseudo/proteins.faa`` (not committed; ids
``genome|cds_id``) and ``benchmarks/results/ss_pseudo_proteins.md`` (the
counts per genome). Then, for example::

    genoseq train ss-pseudolabel -i benchmarks/work/ss_pseudo/proteins.faa \\
        -o benchmarks/work/ss_pseudo/pseudo.tsv.gz --model TEACHER

    python benchmarks/ss_pseudo_proteins.py
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
import sys
from pathlib import Path

from Bio.Seq import Seq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ss_clean_split import SEARCH, SS, THRESHOLD, chains, identity_hits, write_fasta  # noqa: E402

from genoseq.genes.dataset import read_genome_table  # noqa: E402
from genoseq.io.fasta import read_fasta  # noqa: E402
from genoseq.io.gff import read_gff3_cds  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MIN_LENGTH = 30


def proteome(entry) -> dict[str, str]:
    """Translated complete reference CDS of one genome, ``genome|id`` → protein."""
    sequences = {record.id: record.seq for record in read_fasta(entry.fasta, alphabet="dna")}
    out = {}
    for cds in read_gff3_cds(entry.gff).cds:
        if cds.pseudo or cds.partial_5 or cds.partial_3 or cds.seqid not in sequences:
            continue
        seq = sequences[cds.seqid]
        dna = b"".join(seq[a:b] for a, b in sorted(cds.segments))
        if cds.strand < 0:
            dna = bytes(Seq(dna).reverse_complement())
        if len(dna) % 3:
            continue
        protein = str(Seq(dna).translate(table=cds.translation_table
                                         or entry.translation_table))
        protein = protein[:-1] if protein.endswith("*") else protein
        if "*" in protein or len(protein) < MIN_LENGTH:
            continue
        out[f"{entry.name}|{cds.id}"] = "M" + protein[1:]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genomes", type=Path, nargs="+",
                        default=[DATA / "genomes", DATA / "genomes_extra"])
    parser.add_argument("--tests", type=Path, default=SS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "ss_pseudo")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results"
                        / "ss_pseudo_proteins.md")
    args = parser.parse_args(argv)
    if shutil.which("mmseqs") is None:
        raise SystemExit("mmseqs not found: apt-get install mmseqs2")
    proteins: dict[str, str] = {}
    per_genome = {}
    seen: set[str] = set()
    for folder in args.genomes:
        for entry in read_genome_table(folder):
            translated = proteome(entry)
            unique = {name: p for name, p in translated.items() if p not in seen}
            seen.update(unique.values())
            proteins.update(unique)
            per_genome[entry.name] = [folder.name, len(translated), len(unique)]
    tests = {**chains(args.tests / "cb513.tsv.gz"), **chains(args.tests / "ts115.tsv.gz")}
    version = subprocess.run(["mmseqs", "version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    close = {query for query, _, identity, _ in identity_hits(proteins, tests, args.threads)
             if identity > THRESHOLD}
    kept = {name: p for name, p in proteins.items() if name not in close}
    for name in close:
        per_genome[name.split("|")[0]].append(name)
    args.work.mkdir(parents=True, exist_ok=True)
    write_fasta(args.work / "proteins.faa", kept)

    lines = [
        "# Secondary structure: unlabelled proteins for pseudo-labelling",
        "",
        f"Measured {datetime.date.today()} by `python benchmarks/ss_pseudo_proteins.py` "
        f"(MMseqs2 {version}, `easy-search {' '.join(SEARCH)}`, the search of "
        "`ss_clean_split.py`).",
        "",
        "The complete, non-pseudo reference CDS of every staged genome, translated with the "
        f"genome's table; exact duplicates and proteins under {MIN_LENGTH} residues dropped; "
        "proteins with any alignment to a CB513 or TS115 chain whose identical residues make up "
        "more than 25% of the shorter chain removed. The kept proteins "
        "(`benchmarks/work/ss_pseudo/proteins.faa`, not committed) carry no structure labels: "
        "a teacher model labels them (`genoseq train ss-pseudolabel`).",
        "",
        "| genome | folder | proteins | unique | removed (> 25% to a test chain) | kept |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, (folder, total, unique, *removed) in per_genome.items():
        lines.append(f"| {name} | {folder} | {total:,} | {unique:,} | {len(removed):,} | "
                     f"{unique - len(removed):,} |")
    lines.append(f"| **all** | | {sum(v[1] for v in per_genome.values()):,} | "
                 f"{len(proteins):,} | {len(close):,} | {len(kept):,} |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"kept {len(kept):,} of {len(proteins):,} unique proteins ({len(close):,} removed); "
          f"wrote {args.work / 'proteins.faa'} and {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
