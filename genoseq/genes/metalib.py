"""Metagenome mode's statistics library: genome statistics learned from reference annotations.

Single mode learns each genome's own hexamer and start statistics from a
first pass (:mod:`genoseq.genes.adapt`). A 20 kb contig holds too few genes
for that, so metagenome mode borrows them: the library holds, for each
annotated training genome, the same two statistics learned from its
**reference** CDS (hexamer log-ratios of their in-frame hexamers against the
genome's background; start profile of their start windows against the rival
starts of their ORFs). For each record the finder tries the entries whose GC
content lies within ``gc_window`` of the record's (at least the ``nearest``
closest), decodes the record with each under the library's own decoder
weights, and keeps the entry whose genes score highest — Prodigal's way of
choosing among its 50 metagenomic bins, with genoseq's networks still
scoring every candidate.

The library is a small ``.npz`` file beside the model's weights
(``genes.meta.npz`` for the shipped model, ``STEM.meta.npz`` for a model
``STEM``), written by ``genoseq train meta-library``; its decoder weights are
fitted on contigs of genomes the networks never saw, each contig scored with
a library that leaves its own genome out (:func:`calibrate_library`).
"""

from __future__ import annotations

import importlib.resources
import io
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from genoseq import __version__
from genoseq.encoding import reverse_complement_index
from genoseq.genes.adapt import (
    MANY_MAX_BASES,
    HexamerBatch,
    SelfTraining,
    hexamer_codes,
    hexamer_codes_many,
    hexamer_points,
    hexamer_scores,
    learn_training,
    pooled_profile,
    ranked_by_pooled,
    rbs_scores,
    start_codon_scores,
    start_profile_part,
    start_profile_scores,
)
from genoseq.genes.decode import decode, decode_joined
from genoseq.genes.rbs import RBS_CLASSES, rbs_classes
from genoseq.genes.scoring import DecoderParams, ScoredCandidates
from genoseq.genes.starts import (
    START_UPSTREAM,
    START_WINDOW,
    gene_start_positions,
    start_windows,
)
from genoseq.io.errors import InvalidFileError

#: File name of the shipped library in genoseq/weights.
SHIPPED_LIBRARY = "genes.meta.npz"
#: Format version of library files.
LIBRARY_FORMAT = 1
#: GC window (fraction) of the entries tried on a record, and how many of the
#: closest entries are tried when fewer lie within it.
GC_WINDOW = 0.1
NEAREST = 1


def gc_fraction(index: np.ndarray) -> float:
    """G + C over the A/C/G/T bases of a record (bases as A=0, C=1, G=2, T=3, other=4)."""
    return float(((index == 1) | (index == 2)).sum() / max(int((index < 4).sum()), 1))


@dataclass(eq=False)
class LibraryEntry:
    """One genome's reference-learned statistics."""

    name: str
    organism: str
    translation_table: int
    gc: float
    training: SelfTraining


@dataclass(eq=False)
class MetaLibrary:
    """Entries, the decoder weights to use them with, and how entries are chosen.

    Attributes
    ----------
    entries : list of LibraryEntry
    params : DecoderParams
        Decoder weights of metagenome mode with library statistics.
    gc_window, nearest : float, int
        Entries tried on a record: GC within ``gc_window`` of the record's,
        or at least the ``nearest`` closest by GC.
    metadata : dict
        How the library was built and calibrated (saved with it).
    source : str or None
        File it was read from.
    """

    entries: list[LibraryEntry]
    params: DecoderParams
    gc_window: float = GC_WINDOW
    nearest: int = NEAREST
    metadata: dict = field(default_factory=dict)
    source: str | None = None

    def candidates_for(self, index: np.ndarray, translation_table: int,
                       exclude: str | None = None) -> list[int]:
        """Indices of the entries to try on a record (bases as A=0 ... other=4).

        Entries of the record's translation table (all entries when none
        has it), less ``exclude`` (calibration leaves a genome's own entry
        out), whose GC lies within ``gc_window`` of the record's GC over its
        A/C/G/T bases; the ``nearest`` closest when fewer do.
        """
        pool = [k for k, e in enumerate(self.entries)
                if e.translation_table == translation_table and e.name != exclude]
        if not pool:
            pool = [k for k, e in enumerate(self.entries) if e.name != exclude]
        gc = gc_fraction(index)
        distance = {k: abs(self.entries[k].gc - gc) for k in pool}
        near = [k for k in pool if distance[k] <= self.gc_window]
        if len(near) < self.nearest:
            near = sorted(pool, key=lambda k: (distance[k], k))[:self.nearest]
        return near

    def save(self, path: str | os.PathLike) -> None:
        """Write the library as one ``.npz`` (no pickled objects), atomically."""
        from genoseq.io import atomic_write

        header = {
            "format": LIBRARY_FORMAT, "genoseq_version": __version__,
            "params": self.params.to_dict(), "gc_window": self.gc_window,
            "nearest": self.nearest, "metadata": self.metadata,
            "entries": [{"name": e.name, "organism": e.organism,
                         "translation_table": e.translation_table, "gc": e.gc,
                         "genes": e.training.genes, "starts": e.training.starts,
                         "genome_length": e.training.genome_length,
                         "records": e.training.records} for e in self.entries],
        }
        buffer = io.BytesIO()
        arrays = {"hexamer": np.stack([e.training.hexamer_log_ratios for e in self.entries]),
                  "profile": np.stack([e.training.start_profile for e in self.entries])}
        if self.entries and all(e.training.rbs_log_odds is not None for e in self.entries):
            arrays["rbs"] = np.stack([e.training.rbs_log_odds for e in self.entries])
        np.savez_compressed(buffer, header=np.array(json.dumps(header)), **arrays)
        with atomic_write(path, "wb") as handle:
            handle.write(buffer.getvalue())


def read_library(path: str | os.PathLike) -> MetaLibrary:
    """A :class:`MetaLibrary` from a file written by :meth:`MetaLibrary.save`.

    Raises
    ------
    InvalidFileError
        Naming the file: not a library, another format version, or arrays
        of the wrong shape.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            hexamer, profile = data["hexamer"], data["profile"]
            # Libraries before session 15 hold no RBS classes: their entries give no RBS score.
            rbs = data["rbs"] if "rbs" in data.files else None
    except (OSError, ValueError, KeyError) as error:
        raise InvalidFileError(path, None, f"not a genoseq metagenome library ({error})") from None
    if header.get("format") != LIBRARY_FORMAT:
        raise InvalidFileError(path, None, f"library format {header.get('format')!r}, this "
                               f"genoseq reads format {LIBRARY_FORMAT}")
    entries = []
    if len(hexamer) != len(header["entries"]) or len(profile) != len(header["entries"]):
        raise InvalidFileError(path, None, "statistics and entries differ in number")
    if rbs is not None and rbs.shape != (len(header["entries"]), RBS_CLASSES):
        raise InvalidFileError(path, None, f"RBS statistics of shape {rbs.shape}: expected "
                               f"({len(header['entries'])}, {RBS_CLASSES})")
    for k, item in enumerate(header["entries"]):
        training = SelfTraining(
            hexamer_log_ratios=hexamer[k].astype(np.float64),
            start_profile=profile[k].astype(np.float64),
            rbs_log_odds=None if rbs is None else rbs[k].astype(np.float64),
            translation_table=item["translation_table"], genome_length=item["genome_length"],
            records=item["records"], genes=item["genes"], starts=item["starts"],
            model="reference annotation", model_name=item["name"], source=os.fspath(path))
        entries.append(LibraryEntry(item["name"], item["organism"], item["translation_table"],
                                    item["gc"], training))
    return MetaLibrary(entries, DecoderParams.from_dict(header["params"]),
                       header["gc_window"], header["nearest"], header.get("metadata", {}),
                       os.fspath(path))


def library_path_for(model: str | os.PathLike | None) -> Path | None:
    """The library that belongs to a model: ``STEM.meta.npz`` or the shipped one; None if absent."""
    if model is None:
        resource = importlib.resources.files("genoseq.weights") / SHIPPED_LIBRARY
        return Path(str(resource)) if resource.is_file() else None
    path = Path(f"{os.fspath(model)}.meta.npz")
    return path if path.is_file() else None


def choose_statistics(library: MetaLibrary, records: list[tuple[np.ndarray, ScoredCandidates]],
                      translation_table: int, fill_starts, params: DecoderParams | None = None,
                      exclude: str | None = None) -> list[int]:
    """Give each record the hexamer, profile and RBS scores of its best library entry, in place.

    For every entry, the records that try it (:meth:`MetaLibrary.candidates_for`)
    are scored with its statistics, their missing start logits computed
    (``fill_starts(records, params)``, e.g. the finder's
    ``fill_start_logits_many``) and decoded under ``params`` (default: the
    library's); each record keeps the entry whose chosen genes have the
    highest summed score (the first on ties). Returns the entry index of
    each record.
    """
    params = library.params if params is None else params
    tried = [library.candidates_for(index, translation_table, exclude) for index, _ in records]
    best: list[tuple | None] = [None] * len(records)
    # What every entry's scoring reads, computed once per record: the hexamer codes of
    # both strands and the start windows (apply_training's values, without repeating it).
    # Short records (most of a metagenome's) are scored together, bit for bit as alone:
    # hexamers by a HexamerBatch and start profiles over all their windows at once, a few
    # array operations per entry instead of several per record and entry.
    short = [i for i, (index, _) in enumerate(records) if len(index) <= MANY_MAX_BASES]
    slot = {i: s for s, i in enumerate(short)}
    batch = HexamerBatch([
        hexamer_points(len(records[i][0]), c.start, c.end, c.strand, codes)
        for i, codes in zip(short, hexamer_codes_many([records[i][0] for i in short]),
                            strict=True)
        for c in (records[i][1].candidates,)])
    short_windows = short_start_windows([records[i] for i in short])
    short_partial_5 = (np.concatenate([records[i][1].candidates.partial_5prime for i in short])
                       if short else np.zeros(0, dtype=bool))
    short_classes = (rbs_classes(short_windows, START_UPSTREAM)
                     if any(e.training.rbs_log_odds is not None for e in library.entries)
                     else None)
    windows_of: dict[int, np.ndarray] = {}
    codes_of: dict[int, tuple] = {}
    for k, entry in enumerate(library.entries):
        members = [i for i, ks in enumerate(tried) if k in ks]
        if not members:
            continue
        subset = [records[i] for i in members]
        log_ratios, profile = entry.training.hexamer_log_ratios, entry.training.start_profile
        rbs_odds = entry.training.rbs_log_odds
        if any(i in slot for i in members):
            hexamers = batch.split(batch.scores(log_ratios))
            # Each window's profile score is summed alone: one call over all windows.
            profiles = batch.split(np.where(short_partial_5, 0.0, start_profile_scores(
                short_windows, profile)))
            if params.profile_pool > 1:
                pooled = batch.split(np.where(short_partial_5, 0.0, start_profile_scores(
                    short_windows, pooled_profile(profile, params.profile_pool))))
                profiles = [ranked_by_pooled(own, pool, records[i][1].candidates.orf_id)
                            for i, own, pool in zip(short, profiles, pooled, strict=True)]
            codons = batch.split(np.where(short_partial_5, 0.0, start_codon_scores(
                short_windows, profile)))
            rbs_short = (None if rbs_odds is None else
                         batch.split(np.where(short_partial_5, 0.0, rbs_odds[short_classes])))
        for i, (index, scored) in zip(members, subset, strict=True):
            scored.rbs_strength = entry.training.rbs_strength
            if i in slot:
                scored.hexamer, scored.profile = hexamers[slot[i]], profiles[slot[i]]
                scored.profile_codon = codons[slot[i]]
                scored.rbs = None if rbs_short is None else rbs_short[slot[i]]
                continue
            c = scored.candidates
            if i not in windows_of:
                windows_of[i] = start_windows(index, gene_start_positions(c), c.strand)
                codes_of[i] = (hexamer_codes(index),
                               hexamer_codes(reverse_complement_index(index)))
            scored.hexamer = hexamer_scores(index, log_ratios, c.start, c.end, c.strand,
                                            codes=codes_of[i])
            scored.profile = start_profile_part(windows_of[i], profile, c,
                                                params.profile_pool)
            scored.profile_codon = np.where(c.partial_5prime, 0.0,
                                            start_codon_scores(windows_of[i], profile))
            scored.rbs = rbs_scores(scored, windows_of[i], rbs_odds)
        fill_starts(subset, params)
        # Each record's prior (the same for every entry) is kept by its ScoredCandidates.
        for i, score in zip(members, chosen_scores([scored for _, scored in subset], params),
                            strict=True):
            if best[i] is None or score > best[i][0]:
                best[i] = (score, k, records[i][1].hexamer, records[i][1].profile,
                           records[i][1].rbs, records[i][1].rbs_strength,
                           records[i][1].profile_codon)
    for (_, scored), (_, _, hexamer, profile, rbs, strength, codon) in zip(records, best,
                                                                        strict=True):
        scored.hexamer, scored.profile, scored.profile_codon = hexamer, profile, codon
        scored.rbs, scored.rbs_strength = rbs, strength
    return [choice[1] for choice in best]


def short_start_windows(records: list[tuple[np.ndarray, ScoredCandidates]]) -> np.ndarray:
    """:func:`~genoseq.genes.starts.start_windows` of every candidate of many records, joined.

    One call over the records joined with ``START_WINDOW`` unknown bases between
    neighbours, so that every window reads its own record and the unknown bases
    past its ends, as alone; rows in record order, then candidate order.
    """
    if not records:
        return np.zeros((0, START_WINDOW), dtype=np.uint8)
    gap = np.full(START_WINDOW, 4, dtype=np.uint8)
    joined = np.concatenate([part for index, _ in records for part in (index, gap)])
    lengths = np.array([len(index) + len(gap) for index, _ in records], dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    position = np.concatenate([gene_start_positions(scored.candidates) + offset
                               for (_, scored), offset in zip(records, offsets.tolist(),
                                                              strict=True)])
    strand = np.concatenate([scored.candidates.strand for _, scored in records])
    return start_windows(joined, position, strand)


def chosen_scores(scored: list[ScoredCandidates], params: DecoderParams) -> np.ndarray:
    """Summed score of the genes :func:`~genoseq.genes.decode.decode` chooses, per record.

    Equal bit for bit to ``total_scores(s, params)[decode(s, params)].sum()``, from
    :func:`~genoseq.genes.decode.decode_joined`: a record with one positive
    candidate scores it, one with more the genes its dynamic programme chose.
    """
    joined = decode_joined(scored, params)
    at = joined.positive
    out = np.bincount(joined.owner[at], weights=joined.total[at], minlength=len(scored))
    for r, chosen in joined.chosen.items():
        out[r] = float(joined.total[joined.first[r] + chosen].sum())
    return out


def reference_statistics(records, translation_table: int) -> SelfTraining:
    """A genome's statistics learned from its reference CDS (:class:`~genoseq.genes.dataset.LabelledRecord` s).

    The reference genes are matched to the ORF candidates of each record
    (same strand, start and end; genes that are not candidates, e.g. shorter
    than the minimum length or with a non-canonical start, are left out),
    then :func:`~genoseq.genes.adapt.learn_training` learns from them as from
    a first pass.
    """
    from genoseq.genes.orfs import find_orfs
    from genoseq.genes.starts import index_to_ascii

    pairs, chosen = [], []
    for record in records:
        c = find_orfs(index_to_ascii(record.index).tobytes(), translation_table)
        n = len(c.start)
        key = {span: i for i, span in enumerate(zip(c.strand.tolist(), c.start.tolist(),
                                                     c.end.tolist(), strict=True))}
        picked = sorted({key[(g.strand, g.start, g.end)] for g in record.cds
                         if (g.strand, g.start, g.end) in key})
        pairs.append((record.index, ScoredCandidates(candidates=c, coding=np.zeros(n),
                                                     start=np.zeros(n),
                                                     start_known=np.zeros(n, dtype=bool))))
        chosen.append(np.asarray(picked, dtype=np.int64))
    return learn_training(pairs, chosen, translation_table=translation_table,
                          model="reference annotation")


def _organism(entry) -> str:
    """The organism column of the genome folder's genomes.tsv for ``entry`` (its name if none)."""
    import csv

    table = Path(entry.fasta).parent / "genomes.tsv"
    if table.is_file():
        with open(table, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if row.get("name") == entry.name and row.get("organism"):
                    return row["organism"]
    return entry.name


def build_library(entries, params: DecoderParams, progress: bool = False) -> MetaLibrary:
    """A library of the genomes ``entries`` (:class:`~genoseq.genes.dataset.GenomeEntry`)."""
    from tqdm.auto import tqdm

    from genoseq.genes.dataset import load_genome

    built = []
    for entry in tqdm(entries, desc="library genomes", disable=not progress, leave=False):
        organism = _organism(entry)
        records = load_genome(entry)
        training = reference_statistics(records, entry.translation_table)
        gc = gc_fraction(np.concatenate([r.index for r in records]))
        built.append(LibraryEntry(entry.name, organism,
                                  entry.translation_table, round(gc, 4),
                                  replace(training, model_name=entry.name)))
    return MetaLibrary(built, params)


#: Contig length of calibration (a multiple of 3, about 20 kb).
CALIBRATION_CONTIG = 19_998


@dataclass
class CalibrationContig:
    """One contig of a calibration genome, scored, with its complete reference CDS."""

    genome: str
    translation_table: int
    index: np.ndarray
    scored: ScoredCandidates
    reference: set[tuple[int, int, int]]
    hexamer: np.ndarray | None = None
    profile: np.ndarray | None = None
    rbs: np.ndarray | None = None
    rbs_strength: float = 0.0
    profile_codon: np.ndarray | None = None


def contig_counts(scored: ScoredCandidates, reference: set, chosen: np.ndarray
                  ) -> tuple[int, int, int, int]:
    """(reference genes, complete predictions, stop matches, exact starts) of one contig.

    Genes cut by a contig edge are left out on both sides: only complete
    reference CDS and complete predicted genes count.
    """
    c = scored.candidates
    keep = chosen[~(c.partial_left[chosen] | c.partial_right[chosen])]
    predicted = {(s, b if s > 0 else a): (a, b) for s, a, b in zip(
        c.strand[keep].tolist(), c.start[keep].tolist(), c.end[keep].tolist(), strict=True)}
    known = {(s, b if s > 0 else a): (a, b) for s, a, b in reference}
    matched = sum(1 for key in known if key in predicted)
    exact = sum(1 for key, span in known.items() if predicted.get(key) == span)
    return len(known), len(predicted), matched, exact


def library_figures(contigs: list[CalibrationContig], params: DecoderParams) -> dict:
    """Pooled sensitivity, precision, F1, exact start and mean per-genome F1 under ``params``."""
    per_genome: dict[str, np.ndarray] = {}
    for contig in contigs:
        contig.scored.hexamer, contig.scored.profile = contig.hexamer, contig.profile
        contig.scored.rbs, contig.scored.rbs_strength = contig.rbs, contig.rbs_strength
        contig.scored.profile_codon = contig.profile_codon
        counts = contig_counts(contig.scored, contig.reference, decode(contig.scored, params))
        per_genome[contig.genome] = per_genome.get(contig.genome, np.zeros(4, int)) + counts

    def figures(n_ref, n_pred, matched, exact):
        sensitivity, precision = matched / max(n_ref, 1), matched / max(n_pred, 1)
        return {"sensitivity": sensitivity, "precision": precision,
                "f1": 2 * sensitivity * precision / max(sensitivity + precision, 1e-9),
                "exact_start": exact / max(matched, 1)}

    pooled = figures(*sum(per_genome.values()))
    per = {name: figures(*counts) for name, counts in per_genome.items()}
    return {**pooled, "mean_f1": float(np.mean([f["f1"] for f in per.values()])),
            "genomes": per}


def choose_entries(library: MetaLibrary, contigs: list[CalibrationContig], fill_starts,
                   params: DecoderParams) -> None:
    """Give each calibration contig its best entry under ``params``, its own genome's left out.

    The chosen statistics' scores are kept on the contig (``hexamer``, ``profile``, ``rbs``), which
    :func:`library_figures` puts back before decoding.
    """
    for contig in contigs:
        choose_statistics(library, [(contig.index, contig.scored)], contig.translation_table,
                          fill_starts, params, exclude=contig.genome)
        contig.hexamer, contig.profile = contig.scored.hexamer, contig.scored.profile
        contig.rbs, contig.rbs_strength = contig.scored.rbs, contig.scored.rbs_strength
        contig.profile_codon = contig.scored.profile_codon


def calibrate_library(library: MetaLibrary, contigs: list[CalibrationContig], fill_starts,
                      start: DecoderParams, rounds: int = 2,
                      log=None) -> tuple[DecoderParams, dict]:
    """Fit the library's decoder weights on scored calibration contigs.

    Alternates ``rounds`` times: each contig chooses its entry under the
    current weights (its own genome's entry left out), then a coordinate
    search (:func:`genoseq.genes.train.coordinate_search`'s moves and
    objective) refits the weights with those choices fixed. Returns the
    weights and their figures (:func:`library_figures`).
    """
    from genoseq.genes.train import search_params

    names = ("hexamer_weight", "coding_weight", "profile_weight", "start_weight", "gene_bias",
             "length_bias", "penalty", "orf_length_bias")

    def report(params: DecoderParams, figures: dict) -> None:
        if log is not None:
            log(f"calibration: F1 {figures['f1']:.4f}, exact start "
                f"{figures['exact_start']:.3f}, {params}")

    params = start
    figures = None
    for _ in range(rounds):
        choose_entries(library, contigs, fill_starts, params)
        params, figures = search_params(lambda candidate: library_figures(contigs, candidate),
                                        params, names, log=report)
    return params, figures


def calibration_contigs(finder_for, entry, length: int = CALIBRATION_CONTIG
                        ) -> list[CalibrationContig]:
    """One calibration genome cut into ``length`` bp contigs, every candidate scored (all starts).

    ``finder_for(translation_table)`` gives the metagenome-mode finder
    (fp32, no library) that scores them.
    """
    from genoseq.genes.dataset import load_genome
    from genoseq.genes.starts import index_to_ascii

    pieces = [record.slice(first, min(first + length, len(record)))
              for record in load_genome(entry) for first in range(0, len(record), length)]
    finder = finder_for(entry.translation_table)
    scored = finder.score_records([index_to_ascii(p.index).tobytes() for p in pieces],
                                  all_starts=True)
    return [CalibrationContig(entry.name, entry.translation_table, index, candidates,
                              {(g.strand, g.start, g.end) for g in piece.cds
                               if not g.partial_5 and not g.partial_3})
            for piece, (index, candidates) in zip(pieces, scored, strict=True)]


def train_meta_library(genome_dirs, calibration_dirs, out, *, model=None,
                       holdout: tuple[str, ...] = (), compute=None, progress: bool = True,
                       log=None, edge_bonus: float = 0.0,
                       keep_weights: MetaLibrary | None = None) -> MetaLibrary:
    """Build a model's statistics library and fit its decoder weights (``genoseq train meta-library``).

    The library holds every genome of ``genome_dirs`` and ``calibration_dirs``
    except ``holdout``; its weights are fitted (:func:`calibrate_library`) on
    the genomes of ``calibration_dirs``, cut into contigs and scored by the
    model's networks, which must not have been trained on them. Written to
    ``out`` (``STEM.meta.npz`` beside the model ``STEM``, or the shipped
    ``genes.meta.npz``). ``edge_bonus`` is set in the fitted weights as given
    (:attr:`DecoderParams.edge_bonus <genoseq.genes.scoring.DecoderParams.edge_bonus>`:
    the calibration contigs count complete genes only, so it is chosen on
    short pieces instead, by ``benchmarks/gene_edges.py --edge-bonus``).
    ``keep_weights``: a library whose decoder weights (its ``edge_bonus``
    included) are kept as they are instead of fitted: the calibration
    contigs are still scored, each choosing its entry among this library's,
    and give the figures recorded; for adding genomes to a library without
    also moving its weights.
    """
    from genoseq.device import ComputeOptions
    from genoseq.genes.dataset import read_genome_table
    from genoseq.genes.finder import GeneFinder
    from genoseq.genes.train import _check_not_reserved

    entries, calibration = [], []
    for folder, into in [(d, entries) for d in genome_dirs] + [(d, calibration)
                                                             for d in calibration_dirs]:
        kept = [e for e in read_genome_table(folder) if e.name not in holdout]
        _check_not_reserved(Path(folder), [e.name for e in kept])
        into.extend(kept)
    if not calibration:
        raise ValueError("no calibration genomes: --calibration-genomes names none")
    compute = ComputeOptions() if compute is None else compute
    exact = replace(compute, precision="fp32")

    def finder_for(table: int) -> GeneFinder:
        return GeneFinder(model, procedure="meta", translation_table=table, compute=exact,
                          meta_library=False)

    from genoseq.genes.networks import load_gene_models

    _, params, adapted, metadata = load_gene_models(model)
    overlap = sorted(set(metadata.get("training_genomes", [])) & {e.name for e in calibration})
    if overlap:
        raise ValueError(f"calibration genome(s) {', '.join(overlap)} were training genomes of "
                         "the model's networks: calibrate on genomes they never saw")
    start = adapted or replace(params, hexamer_weight=0.2, profile_weight=0.3)
    start = replace(start, self_training_rounds=1)
    library = build_library(entries + calibration, start, progress=progress)
    contigs = []
    for entry in calibration:
        contigs.extend(calibration_contigs(finder_for, entry))
        if log is not None:
            log(f"scored {entry.name}: {sum(c.genome == entry.name for c in contigs)} contigs")
    if keep_weights is None:
        params, figures = calibrate_library(library, contigs, lambda records, params: None,
                                            start, log=log)
        params = replace(params, edge_bonus=edge_bonus)
    else:
        params = keep_weights.params
        # Scored as the weights were fitted: without the edge bonus (the calibration
        # contigs count complete genes only, so genes cut by their ends would count as wrong).
        fitted = replace(params, edge_bonus=0.0)
        choose_entries(library, contigs, lambda records, params: None, fitted)
        figures = library_figures(contigs, fitted)
    library.params = params
    library.metadata = {
        "library_genomes": [e.name for e in entries + calibration],
        "calibration_genomes": [e.name for e in calibration],
        "held_out_genomes": list(holdout),
        "model": "shipped weights" if model is None else Path(model).name,
        "calibration_contig": CALIBRATION_CONTIG,
        "calibration_figures": figures,
        "statistics_from": "reference CDS of each genome's annotation",
        "weights": "fitted" if keep_weights is None else "kept from another library",
    }
    library.save(out)
    return library
