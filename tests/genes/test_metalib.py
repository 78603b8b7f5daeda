"""Metagenome mode's statistics library: building, files, choosing an entry, calibration, use."""

import dataclasses

import numpy as np
import pytest
from conftest import DATA, write_ecoli_pieces

from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.genes.adapt import SelfTraining
from genoseq.genes.dataset import load_genome, read_genome_table
from genoseq.genes.decode import decode
from genoseq.genes.finder import GeneFinder, missing_starts_many
from genoseq.genes.metalib import (
    LibraryEntry,
    MetaLibrary,
    build_library,
    calibration_contigs,
    choose_statistics,
    chosen_scores,
    contig_counts,
    library_figures,
    library_path_for,
    read_library,
    train_meta_library,
)
from genoseq.genes.orfs import find_orfs
from genoseq.genes.scoring import DecoderParams, ScoredCandidates, total_scores
from genoseq.genes.train import objective
from genoseq.io import InvalidFileError, read_fasta

PIECE = 30_000
FP32 = ComputeOptions(device="cpu", precision="fp32", threads=1)


@pytest.fixture(scope="module")
def genome_folder(tmp_path_factory):
    """Three 'genomes': consecutive 30 kb pieces of the bundled E. coli slice with their CDS."""
    return write_ecoli_pieces(tmp_path_factory.mktemp("genomes"), "p", 3, PIECE)


@pytest.fixture(scope="module")
def library(genome_folder):
    return build_library(read_genome_table(genome_folder),
                         DecoderParams(coding_weight=0.003, start_weight=1.0, gene_bias=-9.0,
                                       length_bias=30.0, hexamer_weight=0.4,
                                       profile_weight=0.4))


def entry(name, gc, table=11, scale=1.0):
    training = SelfTraining(hexamer_log_ratios=np.full(4096, scale),
                            start_profile=np.zeros((60, 5)), translation_table=table)
    return LibraryEntry(name, f"organism {name}", table, gc, training)


def test_entries_are_learned_from_the_reference_genes(genome_folder, library):
    assert [e.name for e in library.entries] == ["p0", "p1", "p2"]
    assert [e.organism for e in library.entries] == [f"Escherichia coli piece {k}"
                                                    for k in range(3)]
    for e in library.entries:
        records = load_genome(next(x for x in read_genome_table(genome_folder)
                                   if x.name == e.name))
        # Almost every reference CDS is an ORF candidate and was learned from.
        assert 0.9 * len(records[0].cds) <= e.training.genes <= len(records[0].cds)
        assert 0.45 < e.gc < 0.56
        assert e.training.hexamer_log_ratios.shape == (4096,)
        assert np.isfinite(e.training.start_profile).all()


def test_a_library_file_reads_back_as_it_was_written(library, tmp_path):
    library.metadata = {"note": "test"}
    library.save(tmp_path / "lib.meta.npz")
    back = read_library(tmp_path / "lib.meta.npz")
    assert back.params == library.params
    assert (back.gc_window, back.nearest, back.metadata) == (library.gc_window,
                                                             library.nearest, {"note": "test"})
    for a, b in zip(library.entries, back.entries, strict=True):
        assert (a.name, a.organism, a.translation_table, a.gc) == (
            b.name, b.organism, b.translation_table, b.gc)
        np.testing.assert_array_equal(a.training.hexamer_log_ratios, b.training.hexamer_log_ratios)
        np.testing.assert_array_equal(a.training.start_profile, b.training.start_profile)
        assert a.training.rbs_log_odds is not None  # learned with the rest since session 15
        np.testing.assert_array_equal(a.training.rbs_log_odds, b.training.rbs_log_odds)
    assert library_path_for(tmp_path / "lib") == tmp_path / "lib.meta.npz"
    assert library_path_for(tmp_path / "other") is None


def test_a_library_without_rbs_statistics_gives_no_rbs_score(library, tmp_path):
    library.save(tmp_path / "new.meta.npz")
    with np.load(tmp_path / "new.meta.npz") as data:
        arrays = {name: data[name] for name in data.files if name != "rbs"}
    np.savez(tmp_path / "old.meta.npz", **arrays)  # as written before session 15
    old = read_library(tmp_path / "old.meta.npz")
    assert all(e.training.rbs_log_odds is None for e in old.entries)
    arrays["rbs"] = np.zeros((len(library.entries), 5))
    np.savez(tmp_path / "bad.meta.npz", **arrays)
    with pytest.raises(InvalidFileError, match=r"bad\.meta\.npz.*RBS statistics of shape"):
        read_library(tmp_path / "bad.meta.npz")


def test_a_file_that_is_no_library_is_refused_by_name(tmp_path):
    bad = tmp_path / "bad.meta.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(InvalidFileError, match="bad.meta.npz"):
        read_library(bad)
    other = tmp_path / "other.meta.npz"
    np.savez(other, header=np.array('{"format": 99}'), hexamer=np.zeros((0, 4096)),
             profile=np.zeros((0, 60, 5)))
    with pytest.raises(InvalidFileError, match="format 99"):
        read_library(other)


def test_entries_tried_follow_gc_table_and_exclusion():
    library = MetaLibrary([entry("low", 0.30), entry("mid", 0.50), entry("mid2", 0.58),
                           entry("high", 0.70), entry("t4", 0.50, table=4)], DecoderParams())
    bases = np.array([0, 1, 2, 3] * 50, dtype=np.uint8)  # GC 0.5
    assert library.candidates_for(bases, 11) == [1, 2]
    assert library.candidates_for(bases, 11, exclude="mid") == [2]
    assert library.candidates_for(bases, 4) == [4]
    # No entry of the table: all tables; none within the window: the nearest.
    assert library.candidates_for(bases, 25) == [1, 2, 4]
    at = np.array([0, 3] * 100 + [4] * 50, dtype=np.uint8)  # GC 0 over A/C/G/T, N ignored
    assert library.candidates_for(at, 11) == [0]


def test_each_record_keeps_the_entry_whose_genes_score_highest(genome_folder, library):
    """The true statistics of a piece win over the same statistics turned upside down."""
    finder = GeneFinder(procedure="meta", compute=FP32, meta_library=False)
    seq = (genome_folder / "p1.fna").read_text().split("\n", 1)[1].replace("\n", "")
    records = finder.score_records([seq.encode()])
    true = library.entries[1]
    upside_down = LibraryEntry("inverted", "inverted", 11, true.gc, dataclasses.replace(
        true.training, hexamer_log_ratios=-true.training.hexamer_log_ratios,
        start_profile=-true.training.start_profile))
    both = MetaLibrary([upside_down, true], library.params)
    picks = choose_statistics(both, records, 11, finder.fill_start_logits_many)
    assert picks == [1]
    scored = records[0][1]
    expected = dataclasses.replace(scored)
    from genoseq.genes.adapt import apply_training

    apply_training(true.training, [(records[0][0], expected)])
    np.testing.assert_array_equal(scored.hexamer, expected.hexamer)
    np.testing.assert_array_equal(scored.profile, expected.profile)
    np.testing.assert_array_equal(scored.rbs, expected.rbs)
    assert scored.rbs_strength == expected.rbs_strength == -true.training.rbs_log_odds[0]


def test_calibration_improves_its_objective_and_leaves_each_genome_out(genome_folder, library):
    entries = read_genome_table(genome_folder)
    contigs = []
    for e in entries:
        contigs.extend(calibration_contigs(
            lambda table: GeneFinder(procedure="meta", translation_table=table, compute=FP32,
                                     meta_library=False), e, length=15_000))
    assert {c.genome for c in contigs} == {"p0", "p1", "p2"}
    assert all(len(c.reference) > 0 for c in contigs)
    from genoseq.genes.metalib import calibrate_library

    start = library.params
    for contig in contigs:
        choose_statistics(library, [(contig.index, contig.scored)], 11,
                          lambda records, params: None, start, exclude=contig.genome)
        contig.hexamer, contig.profile = contig.scored.hexamer, contig.scored.profile
    before = library_figures(contigs, start)
    params, after = calibrate_library(library, contigs, lambda records, params: None, start,
                                      rounds=1)
    assert objective(after) >= objective(before)
    assert 0.5 < after["f1"] <= 1.0


def test_contig_counts_leave_edge_genes_out():
    from genoseq.genes.orfs import find_orfs
    from genoseq.genes.scoring import ScoredCandidates

    seq = b"TAA" + b"ATG" + b"GCT" * 40 + b"TAA" + b"CCC" * 10 + b"ATG" + b"GCA" * 30
    c = find_orfs(seq, 11)
    n = len(c.start)
    scored = ScoredCandidates(candidates=c, coding=np.zeros(n), start=np.zeros(n),
                              start_known=np.zeros(n, dtype=bool))
    complete = int(np.flatnonzero((c.start == 3) & (c.strand > 0) & ~c.partial_left)[0])
    edge = np.flatnonzero(c.partial_right & (c.strand > 0))
    reference = {(1, 3, 129)}
    counts = contig_counts(scored, reference, np.array([complete, *edge]))
    assert counts == (1, 1, 1, 1)


def test_meta_mode_uses_the_shipped_library_and_names_the_genome_it_borrowed(tmp_path):
    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq[:20_000].decode()
    fasta = tmp_path / "contig.fna"
    fasta.write_text(f">contig\n{seq}\n")
    out = tmp_path / "genes.gff"
    assert main(["predict", "-i", str(fasta), "-o", str(out), "-p", "meta", "-q"]) == 0
    header = out.read_text()
    assert 'statistics of ' in header
    plain = tmp_path / "plain.gff"
    assert main(["predict", "-i", str(fasta), "-o", str(plain), "-p", "meta", "-q",
                 "--no-meta-library"]) == 0
    assert "statistics of" not in plain.read_text()
    finder = GeneFinder(procedure="meta", compute=FP32)
    assert finder.meta_library is not None and len(finder.meta_library.entries) >= 10
    prediction = finder.predict_genome([("contig", seq)])[0]
    assert prediction.statistics in {e.organism for e in finder.meta_library.entries}
    assert finder.params_of(prediction) == finder.meta_library.params
    # Single mode reads it only for an input too short to self-train on.
    single = GeneFinder(compute=FP32)
    assert single._library is None
    short = single.predict_genome([("contig", seq)])[0]
    assert not short.adapted and short.statistics is not None
    assert [g.start for g in short.genes] == [g.start for g in prediction.genes]


def test_training_a_library_refuses_genomes_the_networks_learned(genome_folder, tmp_path):
    folder = tmp_path / "seen"
    folder.mkdir()
    for suffix in (".fna", ".gff3"):
        (folder / f"bsub_best7003{suffix}").write_text(
            (genome_folder / f"p0{suffix}").read_text().replace("p0", "bsub_best7003"))
    (folder / "genomes.tsv").write_text("name\torganism\ttranslation_table\n"
                                        "bsub_best7003\tBacillus subtilis\t11\n")
    with pytest.raises(ValueError, match="bsub_best7003 were training genomes"):
        train_meta_library([genome_folder], [folder], tmp_path / "lib.meta.npz",
                           compute=FP32, progress=False)
    assert not (tmp_path / "lib.meta.npz").exists()


def test_train_meta_library_command_writes_a_library_the_finder_reads(genome_folder, tmp_path,
                                                                      capsys):
    calibration = tmp_path / "calibration"
    calibration.mkdir()
    rows = (genome_folder / "genomes.tsv").read_text().splitlines()
    for suffix in (".fna", ".gff3"):
        (calibration / f"p2{suffix}").write_text((genome_folder / f"p2{suffix}").read_text())
    (calibration / "genomes.tsv").write_text("\n".join([rows[0], rows[3]]) + "\n")
    library_folder = tmp_path / "library"
    library_folder.mkdir()
    for name in ("p0", "p1"):
        for suffix in (".fna", ".gff3"):
            (library_folder / f"{name}{suffix}").write_text(
                (genome_folder / f"{name}{suffix}").read_text())
    (library_folder / "genomes.tsv").write_text("\n".join(rows[:3]) + "\n")
    out = tmp_path / "lib.meta.npz"
    assert main(["train", "meta-library", "--genomes", str(library_folder),
                 "--calibration-genomes", str(calibration), "-o", str(out), "-q",
                 "--threads", "1"]) == 0
    assert "3 genomes in the library" in capsys.readouterr().out
    library = read_library(out)
    assert [e.name for e in library.entries] == ["p0", "p1", "p2"]
    assert library.metadata["calibration_genomes"] == ["p2"]
    assert 0.5 < library.metadata["calibration_figures"]["f1"] <= 1.0
    finder = GeneFinder(procedure="meta", compute=FP32, meta_library=out)
    seq = (genome_folder / "p2.fna").read_text().split("\n", 1)[1].replace("\n", "")
    prediction = finder.predict_genome([("p2", seq)])[0]
    assert prediction.statistics in {"Escherichia coli piece 0", "Escherichia coli piece 1",
                                     "Escherichia coli piece 2"}

    # --keep-weights: the entries are learned again, the weights are the given library's, and
    # on the same genomes the calibration contigs give back the figures they were fitted to.
    kept = tmp_path / "kept.meta.npz"
    assert main(["train", "meta-library", "--genomes", str(library_folder),
                 "--calibration-genomes", str(calibration), "-o", str(kept), "-q",
                 "--threads", "1", "--keep-weights", str(out)]) == 0
    again = read_library(kept)
    assert again.params == library.params
    assert [e.name for e in again.entries] == ["p0", "p1", "p2"]
    assert again.metadata["weights"] == "kept from another library"
    assert again.metadata["calibration_figures"] == library.metadata["calibration_figures"]
    capsys.readouterr()
    assert main(["train", "meta-library", "--genomes", str(library_folder),
                 "--calibration-genomes", str(calibration), "-o", str(tmp_path / "no.npz"),
                 "-q", "--threads", "1", "--keep-weights", str(out), "--edge-bonus", "3"]) == 2
    assert "contradicts --keep-weights" in capsys.readouterr().err
    assert not (tmp_path / "no.npz").exists()


def random_scored(seed: int, count: int, *, statistics: bool = True,
                  known: float = 1.0) -> list[ScoredCandidates]:
    """``count`` random records of up to 900 bp with random scores; ``known``: share of
    start logits known."""
    rng = np.random.default_rng(seed)
    scored = []
    for length in rng.integers(0, 900, count):
        c = find_orfs(bytes(rng.choice(list(b"ACGT"), int(length)).astype(np.uint8)), 11,
                      min_len=60)
        n = len(c)
        scored.append(ScoredCandidates(
            c, rng.normal(0, 300, n), start=rng.normal(0, 4, n),
            start_known=rng.random(n) < known, hexamer=rng.normal(0, 8, n) if statistics else None,
            profile=rng.normal(0, 3, n) if statistics else None))
    return scored


def test_chosen_scores_equal_decoding_each_record_alone():
    params = DecoderParams(coding_weight=0.01, start_weight=1.3, gene_bias=-6.0,
                           length_bias=20.0, edge_bonus=2.0, hexamer_weight=0.4,
                           profile_weight=0.4)
    scored = random_scored(8, 300)
    got = chosen_scores(scored, params)
    expected = [float(total_scores(s, params)[decode(s, params)].sum()) for s in scored]
    positives = [int((total_scores(s, params) > 0).sum()) for s in scored]
    assert {0, 1} <= set(positives) and max(positives) > 2  # every path taken
    np.testing.assert_array_equal(got, expected)  # equal, not merely close


@pytest.mark.parametrize("statistics", [False, True])
def test_missing_starts_of_many_records_equal_each_alone(statistics):
    params = DecoderParams(coding_weight=0.01, start_weight=1.3, gene_bias=-12.0,
                           length_bias=20.0, edge_bonus=2.0, hexamer_weight=0.4,
                           profile_weight=0.4)
    scored = random_scored(9, 200, statistics=statistics, known=0.3)
    got = missing_starts_many(scored, params)
    expected = [GeneFinder._missing_starts(s, params) for s in scored]
    assert 0 < sum(map(len, expected)) < sum(len(s.candidates) for s in scored)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(np.array_equal(a, np.flatnonzero(~s.start_known))
               for a, s in zip(missing_starts_many(scored, None), scored, strict=True))


@pytest.mark.parametrize("pool", [1, 3])
def test_pooled_profile_in_meta_mode_equals_applying_the_entry_alone(genome_folder, library,
                                                                      pool):
    """Short records (scored together) and a long one get apply_training's profile scores."""
    from genoseq.genes.adapt import MANY_MAX_BASES, apply_training

    finder = GeneFinder(procedure="meta", compute=FP32, meta_library=False)
    seq = (genome_folder / "p1.fna").read_text().split("\n", 1)[1].replace("\n", "")
    pieces = [seq[:2_000], seq[2_000:9_000], seq[9_000:]]
    assert len(pieces[0]) <= MANY_MAX_BASES < len(pieces[2])
    records = finder.score_records([piece.encode() for piece in pieces])
    params = dataclasses.replace(library.params, profile_pool=pool)
    one = MetaLibrary([library.entries[1]], params)
    assert choose_statistics(one, records, 11, finder.fill_start_logits_many) == [0, 0, 0]
    for index, scored in records:
        expected = dataclasses.replace(scored)
        apply_training(library.entries[1].training, [(index, expected)], profile_pool=pool)
        np.testing.assert_allclose(scored.profile, expected.profile, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(scored.profile_codon, expected.profile_codon)
