"""PWM scanning agrees with Biopython's PSSM search on real JASPAR motifs and real DNA."""

import numpy as np
import pandas as pd
import pytest
from Bio import motifs as bio_motifs
from conftest import DATA
from motif_testdata import CTCF_FASTA, CTCF_TSV, DEVICES, JASPAR

from genoseq.device import ComputeOptions
from genoseq.io import read_fasta
from genoseq.motifs.pwm import read_motifs
from genoseq.motifs.scan import HIT_COLUMNS, max_motif_scores, scan_motifs, write_hits

RELATIVE = 0.75
# Hits this close to the cut-off may fall either side of it in float32.
EDGE = 1e-4


def records() -> list[tuple[str, str]]:
    """120 CTCF peaks/shuffles, 20 kb of E. coli, lower case, Ns, a record shorter than a motif."""
    peaks = pd.read_csv(CTCF_TSV, sep="\t")
    ecoli = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq[:20_000].decode()
    mixed = peaks.sequence[0].lower() + "NNACGTRYACGT" + peaks.sequence[1]
    return [*zip(peaks.id, peaks.sequence, strict=True), ("ecoli", ecoli),
            ("mixed", mixed), ("short", "ACGTAC")]


def biopython_pssm(motif):
    counts = {base: motif.counts[row].tolist() for row, base in enumerate("ACGT")}
    return bio_motifs.Motif(counts=counts).counts.normalize(
        pseudocounts=dict.fromkeys("ACGT", 0.25)).log_odds()


def biopython_hits(sequences, motif) -> tuple[dict, float]:
    """{(record, start, strand): score} of Biopython's search at the relative cut-off."""
    pssm = biopython_pssm(motif)
    cutoff = pssm.min + RELATIVE * (pssm.max - pssm.min)
    hits = {}
    for record, seq in sequences:
        if len(seq) < motif.width:
            continue
        for position, score in pssm.search(seq, threshold=cutoff):
            # Biopython numbers reverse-strand hits from the end: position - len(seq).
            start, strand = (position, "+") if position >= 0 else (position + len(seq), "-")
            hits[record, int(start), strand] = float(score)
    return hits, cutoff


@pytest.mark.parametrize("device", DEVICES)
def test_hits_and_scores_equal_biopython(device):
    sequences = records()
    motifs = read_motifs(JASPAR)
    table = scan_motifs(sequences, motifs, min_relative=RELATIVE,
                        compute=ComputeOptions(device=device))
    assert list(table.columns) == HIT_COLUMNS
    assert set(table.strand) == {"+", "-"}
    for motif in motifs:
        expected, cutoff = biopython_hits(sequences, motif)
        mine = table[table.motif == motif.id]
        found = dict(zip(zip(mine.record, mine.start, mine.strand, strict=True), mine.score,
                         strict=True))
        assert (mine.end - mine.start == motif.width).all()
        for key in set(expected) ^ set(found):
            assert abs(expected.get(key, found.get(key)) - cutoff) < EDGE, (motif.id, key)
        common = sorted(set(expected) & set(found))
        assert len(common) > 10
        np.testing.assert_allclose([found[k] for k in common], [expected[k] for k in common],
                                   atol=2e-5)
    assert not ((table.record == "mixed") & (table.start > 95) & (table.start < 113)).any()
    assert not (table.record == "short").any()


def test_relative_scores_and_threshold():
    sequences = records()
    table = scan_motifs(sequences, JASPAR, names="MA0139.2", threshold=12.0, min_relative=None)
    pssm = biopython_pssm(read_motifs(JASPAR)[0])
    assert (table.score >= 12.0).all() and len(table) > 20
    np.testing.assert_allclose(table.relative_score,
                               (table.score - pssm.min) / (pssm.max - pssm.min), rtol=1e-9)


def test_max_scores_equal_biopython_best_window():
    sequences = records()
    motifs = read_motifs(JASPAR)
    best = max_motif_scores(sequences, motifs)
    assert best.shape == (len(sequences), len(motifs))
    for motif in motifs[:6]:
        pssm = biopython_pssm(motif)
        rc = pssm.reverse_complement()
        for record, seq in sequences:
            if len(seq) < motif.width:
                assert np.isnan(best.loc[record, motif.id])
                continue
            expected = max(np.nanmax(pssm.calculate(seq)), np.nanmax(rc.calculate(seq)))
            assert best.loc[record, motif.id] == pytest.approx(expected, abs=2e-5)


def test_batch_size_strand_and_input_kinds_do_not_change_hits(tmp_path):
    from_file = scan_motifs(CTCF_FASTA, JASPAR, names="CTCF")
    from_records = scan_motifs(list(read_fasta(CTCF_FASTA)), JASPAR, names="CTCF",
                               compute=ComputeOptions(batch_size=1))
    pd.testing.assert_frame_equal(from_file, from_records)
    forward = scan_motifs(CTCF_FASTA, JASPAR, names="CTCF", both_strands=False)
    pd.testing.assert_frame_equal(forward.reset_index(drop=True),
                                  from_file[from_file.strand == "+"].reset_index(drop=True))
    write_hits(from_file, tmp_path / "hits.tsv")
    again = pd.read_csv(tmp_path / "hits.tsv", sep="\t")
    assert list(again.columns) == HIT_COLUMNS and len(again) == len(from_file)


def test_no_hits_gives_an_empty_table_with_the_columns():
    table = scan_motifs([("a", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")], JASPAR, names="CTCF")
    assert table.empty and list(table.columns) == HIT_COLUMNS


def test_bad_arguments():
    with pytest.raises(ValueError, match="pseudocount"):
        scan_motifs([("a", "ACGT" * 10)], JASPAR, pseudocount=0)
    with pytest.raises(ValueError, match="min_relative"):
        scan_motifs([("a", "ACGT" * 10)], JASPAR, min_relative=1.5)
