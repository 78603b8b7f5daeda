import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from Bio.Data import CodonTable

from genoseq.encoding import CODONS, dna_to_index, reverse_complement, translate
from genoseq.genes.orfs import OrfCandidates, find_orfs, find_orfs_many, start_codon_mask

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GENOMES = SHARED_DATA / "genomes"


# --- a plain-Python reference ----------------------------------------------------


def reference_orfs(
    seq: str,
    table: int,
    start_codons=None,
    min_len=90,
    min_edge_len=60,
    closed=False,
    mask_n=False,
    n_run=50,
) -> list[tuple]:
    """Walk codon by codon from every possible first codon to the next stop."""
    ncbi = CodonTable.unambiguous_dna_by_id[table]
    stops = set(ncbi.stop_codons)
    if start_codons is None:
        starts = {c for c in ("ATG", "GTG", "TTG") if c in ncbi.start_codons}
    elif start_codons == "ncbi":
        starts = set(ncbi.start_codons)
    else:
        starts = set(start_codons)
    length = len(seq)
    barrier = [False] * length
    run_start = None
    for i, base in enumerate(seq + "A"):
        if base not in "ACGT" and run_start is None:
            run_start = i
        elif base in "ACGT" and run_start is not None:
            if i - run_start >= (min(n_run, 50) if mask_n else n_run):
                barrier[run_start:i] = [True] * (i - run_start)
            run_start = None

    found = []
    for strand, strand_seq in ((1, seq), (-1, reverse_complement(seq))):
        for first in range(length - 2):
            codon = strand_seq[first : first + 3]
            if codon in stops:
                continue
            kinds = []
            if first < 3:
                kinds.append(True)  # 5'-partial: first full codon of its frame
            if codon in starts:
                kinds.append(False)
            if not kinds:
                continue
            pos = first
            while pos + 3 <= length and strand_seq[pos : pos + 3] not in stops:
                pos += 3
            partial_3 = pos + 3 > length
            local_end = pos if partial_3 else pos + 3
            if strand > 0:
                start, end = first, local_end
            else:
                start, end = length - local_end, length - first
            if any(barrier[start:end]):
                continue
            for partial_5 in kinds:
                partial = partial_5 or partial_3
                if closed and partial:
                    continue
                if end - start < (min_edge_len if partial else min_len):
                    continue
                left, right = (partial_5, partial_3) if strand > 0 else (partial_3, partial_5)
                name = codon if set(codon) <= set("ACGT") else "NNN"
                found.append((strand, start, end, left, right, name))
    return sorted(found)


def as_tuples(orfs: OrfCandidates) -> list[tuple]:
    return sorted(
        zip(
            orfs.strand.tolist(),
            orfs.start.tolist(),
            orfs.end.tolist(),
            orfs.partial_left.tolist(),
            orfs.partial_right.tolist(),
            orfs.start_codon_str.tolist(),
            strict=True,
        )
    )


def check_structure(orfs: OrfCandidates) -> None:
    """Dtypes, sort order, orf_id grouping and derived coordinates."""
    n = len(orfs)
    assert orfs.strand.dtype == np.int8 and orfs.start_codon.dtype == np.int8
    for name in ("start", "end", "stop_pos", "orf_id"):
        assert getattr(orfs, name).dtype == np.int64 and getattr(orfs, name).shape == (n,)
    assert orfs.partial_left.dtype == orfs.partial_right.dtype == bool
    assert np.all(orfs.length % 3 == 0) and np.all(orfs.start >= 0)
    assert np.all(orfs.end <= orfs.seq_length)
    forward = orfs.strand > 0
    np.testing.assert_array_equal(orfs.stop_pos, np.where(forward, orfs.end - 3, orfs.start))
    np.testing.assert_array_equal(orfs.start_pos, np.where(forward, orfs.start, orfs.end - 3))
    keys = list(zip(orfs.strand.tolist(), orfs.stop_pos.tolist(), strict=True))
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))
    ids = {}
    for key, orf_id in zip(keys, orfs.orf_id.tolist(), strict=True):
        assert ids.setdefault(key, orf_id) == orf_id
    assert sorted(ids.values()) == list(range(len(ids)))
    assert np.all(np.diff(orfs.orf_id) >= 0)


def random_seq(rng, length, alphabet="ACGT", weights=None) -> str:
    return "".join(rng.choice(list(alphabet), length, p=weights))


# AT-rich sequences have fewer stops, hence longer ORFs and more candidates.
AT_RICH = [0.35, 0.15, 0.15, 0.35]


@pytest.mark.parametrize("table", [11, 4])
@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 5, 6, 7, 61, 200, 999, 1000, 3001])
def test_matches_reference_on_random_sequences(table, length):
    rng = np.random.default_rng(length * 100 + table)
    seq = random_seq(rng, length, weights=AT_RICH)
    for options in (
        {},
        {"min_len": 6, "min_edge_len": 3},
        {"min_len": 6, "min_edge_len": 3, "closed": True},
    ):
        orfs = find_orfs(seq, table, **options)
        check_structure(orfs)
        assert as_tuples(orfs) == reference_orfs(seq, table, **options), options


@pytest.mark.parametrize("table", [11, 4, 1, 25])
@pytest.mark.parametrize("start_codons", [None, "ncbi", ("ATG",), ("CTG", "ATT")])
def test_matches_reference_for_start_codon_choices(table, start_codons):
    rng = np.random.default_rng(table)
    seq = random_seq(rng, 2000, weights=AT_RICH)
    orfs = find_orfs(seq, table, start_codons=start_codons, min_len=30, min_edge_len=9)
    check_structure(orfs)
    expected = reference_orfs(seq, table, start_codons, min_len=30, min_edge_len=9)
    assert as_tuples(orfs) == expected


@pytest.mark.parametrize("seed", range(4))
def test_matches_reference_with_unknown_bases(seed):
    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(12):
        pieces.append(random_seq(rng, int(rng.integers(0, 400)), weights=AT_RICH))
        pieces.append("N" * int(rng.choice([1, 2, 3, 5, 8])))
        pieces.append(random_seq(rng, int(rng.integers(0, 5)), "ACGTRYN"))
    seq = "".join(pieces)
    for options in ({"n_run": 3}, {"n_run": 5}, {"mask_n": True}, {"n_run": 1000}):
        options.update(min_len=15, min_edge_len=6)
        orfs = find_orfs(seq, 11, **options)
        check_structure(orfs)
        assert as_tuples(orfs) == reference_orfs(seq, 11, **options), options


def test_input_types_and_case_agree():
    seq = random_seq(np.random.default_rng(5), 3000, weights=AT_RICH)
    expected = as_tuples(find_orfs(seq))
    assert as_tuples(find_orfs(seq.lower())) == expected
    assert as_tuples(find_orfs(seq.encode())) == expected
    assert as_tuples(find_orfs(np.frombuffer(seq.encode(), dtype=np.uint8))) == expected


# --- exact coordinates by hand -------------------------------------------------------


GENE = "ATG" + "GCA" * 40 + "TAA"  # 126 bp: M, 40 x A, stop


def test_plus_strand_gene_by_hand():
    seq = "CC" + GENE + "CCCC"
    orfs = find_orfs(seq, closed=True)
    assert as_tuples(orfs) == [(1, 2, 128, False, False, "ATG")]
    assert orfs.stop_pos.tolist() == [125] and orfs.start_pos.tolist() == [2]
    assert translate(seq[2:128], 11) == "M" + "A" * 40 + "*"


def test_minus_strand_gene_by_hand():
    seq = "GG" + reverse_complement(GENE) + "GGGG"
    orfs = find_orfs(seq, closed=True)
    assert as_tuples(orfs) == [(-1, 2, 128, False, False, "ATG")]
    assert orfs.stop_pos.tolist() == [2] and orfs.start_pos.tolist() == [125]
    assert orfs.partial_5prime.tolist() == orfs.partial_3prime.tolist() == [False]
    gene = reverse_complement(seq[orfs.start[0] : orfs.end[0]])
    assert translate(gene, 11, cds=True) == "M" + "A" * 40


def test_alternative_starts_share_one_orf():
    gene = "ATG" + "GCA" * 10 + "GTG" + "GCA" * 10 + "TTG" + "GCA" * 20 + "TAG"
    for strand, seq in ((1, "C" + gene), (-1, reverse_complement("C" + gene))):
        orfs = find_orfs(seq, closed=True, min_len=60)
        assert orfs.strand.tolist() == [strand] * 3
        assert orfs.start_codon_str.tolist() == ["ATG", "GTG", "TTG"]
        assert orfs.length.tolist() == [len(gene), len(gene) - 33, len(gene) - 66]
        assert orfs.orf_id.tolist() == [0, 0, 0]
        assert len(set(orfs.stop_pos.tolist())) == 1


def test_partial_genes_at_both_edges():
    # + strand frame 1 has no stop at all: a gene open at both ends, through
    # the last full codon (the trailing "GC" is not one).
    seq = "C" + "GCA" * 40 + "GC"
    assert (1, 1, 121, True, True, "GCA") in as_tuples(find_orfs(seq))
    assert len(find_orfs(seq, closed=True)) == 0

    # - strand, 5'-partial: open at the right end, stopped near the left end.
    seq = "A" + reverse_complement("GCA" * 30 + "TGA")
    minus = [t for t in as_tuples(find_orfs(seq)) if t[0] == -1 and t[2] == len(seq)]
    assert minus == [(-1, 1, 94, False, True, "GCA")]

    # - strand, 3'-partial: a real start whose gene runs off the left end.
    seq = reverse_complement("CCCC" + "ATG" + "GCA" * 30)
    orfs = find_orfs(seq)
    minus = [t for t in as_tuples(orfs) if t[0] == -1 and t[5] == "ATG"]
    assert minus == [(-1, 0, 93, True, False, "ATG")]
    assert (-1, 0, 96, True, True, "CCC") in as_tuples(orfs)
    atg_gene = (orfs.strand < 0) & (orfs.end == 93)
    assert orfs.partial_3prime[atg_gene].tolist() == [True]
    assert orfs.partial_5prime[atg_gene].tolist() == [False]


def test_start_codon_at_edge_gives_partial_and_complete_candidates():
    seq = GENE + "CCC"
    tuples = [t for t in as_tuples(find_orfs(seq)) if t[:2] == (1, 0)]
    assert tuples == [(1, 0, 126, False, False, "ATG"), (1, 0, 126, True, False, "ATG")]


def test_min_len_counts_the_stop_codon():
    gene = "ATG" + "GCA" * 28 + "TAA"  # 90 bp, Prodigal's MIN_GENE
    assert len(find_orfs("C" + gene + "C", closed=True)) == 1
    assert len(find_orfs("C" + gene + "C", closed=True, min_len=93)) == 0


def test_n_runs_block_genes():
    left = "ATG" + "GCA" * 20
    right = "GCA" * 20 + "TAA"
    for gap, spans in (("N" * 3, True), ("N" * 48, True), ("N" * 51, False), ("NNR" * 17, False)):
        seq = "C" + left + gap + right + "C"
        orfs = find_orfs(seq, closed=True)
        assert (len(orfs) == 1) == spans, gap
    # -m masks what Prodigal masks: runs of >= 50 N; shorter runs are crossed.
    seq = "C" + left + "NNN" + right + "C"
    assert len(find_orfs(seq, closed=True, mask_n=True)) == 1
    assert len(find_orfs(seq, closed=True, mask_n=True, n_run=3)) == 0
    seq = "C" + left + "N" * 51 + right + "C"
    assert len(find_orfs(seq, closed=True, mask_n=True, n_run=1000)) == 0
    assert len(find_orfs(seq, closed=True, n_run=1000)) == 1


def test_start_codon_mask():
    mask = start_codon_mask(11)
    assert mask.shape == (65,) and mask.dtype == bool
    assert {CODONS[i] for i in np.flatnonzero(mask)} == {"ATG", "GTG", "TTG"}
    assert {CODONS[i] for i in np.flatnonzero(start_codon_mask(1))} == {"ATG", "TTG"}
    assert np.flatnonzero(start_codon_mask(11, "ncbi")).size == 7
    assert {CODONS[i] for i in np.flatnonzero(start_codon_mask(11, ["aug", "Ctg"]))} == {
        "ATG",
        "CTG",
    }
    with pytest.raises(ValueError, match="is a stop codon in table 11"):
        start_codon_mask(11, ["TGA"])
    with pytest.raises(ValueError, match="not three of A, C, G, T"):
        start_codon_mask(11, ["ATGA"])
    with pytest.raises(ValueError, match="expected None, 'ncbi'"):
        start_codon_mask(11, "ATG")
    with pytest.raises(ValueError, match="unknown translation table"):
        find_orfs("ATG", 7)


# --- a real genome --------------------------------------------------------------------


def read_genome(name: str) -> tuple[str, list[tuple[int, int, int, str]]]:
    """Single-replicon genome and its CDSs as (strand, start, end, first codon)."""
    path = GENOMES / f"{name}.fna.gz"
    if not path.exists():
        pytest.skip(f"{path} not available")
    with gzip.open(path, "rt") as handle:
        lines = handle.read().split("\n")
    assert sum(line.startswith(">") for line in lines) == 1
    seq = "".join(line.strip() for line in lines[1:]).upper()
    cds = []
    with gzip.open(GENOMES / f"{name}.gff3.gz", "rt") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            strand = 1 if fields[6] == "+" else -1
            start, end = int(fields[3]) - 1, int(fields[4])
            gene = seq[start:end] if strand > 0 else reverse_complement(seq[start:end])
            cds.append((strand, start, end, gene[:3]))
    return seq, cds


@pytest.mark.shared
def test_every_annotated_cds_is_a_candidate_mycoplasma_genitalium():
    seq, cds = read_genome("mgen_g37")
    orfs = find_orfs(seq, 4)
    check_structure(orfs)
    candidates = set(zip(orfs.strand.tolist(), orfs.start.tolist(), orfs.end.tolist(), strict=True))
    missed = [c for c in cds if c[:3] not in candidates]
    usual_starts = [c for c in cds if c[3] in ("ATG", "GTG", "TTG")]
    print(
        f"\nM. genitalium, table 4: {len(orfs)} candidates in {orfs.orf_id[-1] + 1} ORFs; "
        f"{len(cds) - len(missed)}/{len(cds)} annotated CDSs found, "
        f"{len(cds) - len(usual_starts)} with a start outside ATG/GTG/TTG"
    )
    assert all(c[3] not in ("ATG", "GTG", "TTG") for c in missed)
    assert len(usual_starts) == len(cds) - len(missed)


@pytest.mark.shared
def test_table_11_splits_mycoplasma_genes_at_tga():
    seq, cds = read_genome("mgen_g37")
    orfs = find_orfs(seq, 11)
    candidates = set(zip(orfs.strand.tolist(), orfs.start.tolist(), orfs.end.tolist(), strict=True))
    found = sum(c[:3] in candidates for c in cds)
    split = Counter()
    for strand, start, end, _ in cds:
        inside = (
            (orfs.strand == strand)
            & (orfs.stop_pos > start)
            & (orfs.stop_pos < end - 3)
            & ((orfs.stop_pos - start) % 3 == 0)
        )
        stops = set(orfs.stop_pos[inside].tolist())
        codons = {
            seq[s : s + 3] if strand > 0 else reverse_complement(seq[s : s + 3]) for s in stops
        }
        split.update(codons)
        split["genes"] += bool(stops)
    print(
        f"\nM. genitalium, table 11: {found}/{len(cds)} annotated CDSs found; "
        f"{split['genes']} genes hold in-frame candidates ending at {split['TGA']} TGA stops"
    )
    assert set(split) <= {"genes", "TGA"}
    assert split["genes"] > len(cds) // 2
    assert found < len(cds) // 2


@pytest.mark.shared
@pytest.mark.parametrize("name", ["mgen_g37", "ecoli_k12_mg1655"])
def test_pyrodigal_genes_are_candidates(name):
    """Every gene pyrodigal calls on contig fragments is a candidate, partial flags included."""
    pyrodigal = pytest.importorskip("pyrodigal")
    seq, _ = read_genome(name)
    finder = pyrodigal.GeneFinder(meta=True)
    n_genes = n_partial = 0
    for offset in range(0, 300_000, 30_011):
        fragment = seq[offset : offset + 7_003]
        genes = finder.find_genes(fragment.encode())
        by_table = {}
        for gene in genes:
            if gene.translation_table not in by_table:
                orfs = find_orfs(fragment, gene.translation_table)
                by_table[gene.translation_table] = set(
                    zip(
                        orfs.strand.tolist(),
                        orfs.start.tolist(),
                        orfs.end.tolist(),
                        orfs.partial_left.tolist(),
                        orfs.partial_right.tolist(),
                        strict=True,
                    )
                )
            key = (gene.strand, gene.begin - 1, gene.end, gene.partial_begin, gene.partial_end)
            assert key in by_table[gene.translation_table]
            n_genes += 1
            n_partial += gene.partial_begin or gene.partial_end
    assert n_genes > 50 and n_partial > 5


@pytest.mark.parametrize(("table", "options"), [(11, {}), (4, {}), (11, {"closed": True}),
                                                (11, {"min_len": 60, "min_edge_len": 90})])
def test_many_records_get_exactly_the_candidates_of_each_alone(table, options):
    rng = np.random.default_rng(table + len(options))
    lengths = [0, 1, 2, 3, 4, 5, 6, 59, 60, 61, 62, *rng.integers(0, 2500, 150).tolist()]
    seqs = [bytes(rng.choice(list(b"ACGT"), n).astype(np.uint8)) for n in lengths]
    many = find_orfs_many([dna_to_index(seq) for seq in seqs], table, **options)
    assert sum(len(c) for c in many) > 1000
    for seq, got in zip(seqs, many, strict=True):
        alone = find_orfs(seq, table, **options)
        assert (got.seq_length, got.translation_table) == (alone.seq_length,
                                                           alone.translation_table)
        for name in ("strand", "start", "end", "stop_pos", "start_codon", "partial_left",
                     "partial_right", "orf_id"):
            a, b = getattr(got, name), getattr(alone, name)
            assert a.dtype == b.dtype, name
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_many_records_refuse_unknown_bases():
    with pytest.raises(ValueError, match="A/C/G/T"):
        find_orfs_many([dna_to_index(b"ACGTNACGT")])
