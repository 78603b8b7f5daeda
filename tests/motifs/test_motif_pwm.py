"""Reading JASPAR and MEME motif files; PFM → log-odds as Biopython computes it."""

import gzip

import numpy as np
import pytest
from Bio import motifs as bio_motifs
from motif_testdata import JASPAR, MEME

from genoseq.io import InvalidFileError
from genoseq.motifs.pwm import Motif, as_background, read_motifs, select_motifs


def test_jaspar_and_meme_files_give_the_same_motifs():
    jaspar, meme = read_motifs(JASPAR), read_motifs(MEME)
    assert len(jaspar) == 16
    assert [(m.id, m.name) for m in jaspar] == [(m.id, m.name) for m in meme]
    ctcf = jaspar[0]
    assert (ctcf.id, ctcf.name, ctcf.width) == ("MA0139.2", "CTCF", 15)
    assert ctcf.counts[:, 0].tolist() == [281, 49, 449, 134]
    for a, b in zip(jaspar, meme, strict=True):
        # MEME stores probabilities with 6 decimals (some rounded from other totals).
        np.testing.assert_allclose(a.probabilities(0), b.probabilities(0), atol=1e-3)


def test_compressed_motif_file(tmp_path):
    packed = tmp_path / "motifs.txt.gz"
    packed.write_bytes(gzip.compress(JASPAR.read_bytes()))
    assert [m.id for m in read_motifs(packed)] == [m.id for m in read_motifs(JASPAR)]


@pytest.mark.parametrize("background", [None, [0.3, 0.2, 0.2, 0.3]])
def test_log_odds_equal_biopython(background):
    for motif in read_motifs(JASPAR):
        bg = as_background(background)
        counts = {base: motif.counts[row].tolist() for row, base in enumerate("ACGT")}
        expected = (bio_motifs.Motif(counts=counts).counts
                    .normalize(pseudocounts={b: 0.8 * bg[i] for i, b in enumerate("ACGT")})
                    .log_odds(background=dict(zip("ACGT", bg, strict=True))))
        expected = np.array([expected[base] for base in "ACGT"])
        np.testing.assert_allclose(motif.log_odds(0.8, background), expected, rtol=1e-12)


def test_information_content():
    motif = Motif("m", "m", np.array([[10, 5, 0], [0, 5, 0], [0, 0, 0], [0, 0, 10]], float))
    np.testing.assert_allclose(motif.information(pseudocount=0), [2, 1, 2])


def test_select_by_name_or_id():
    motifs = read_motifs(JASPAR)
    assert [m.id for m in select_motifs(motifs, "ctcf")] == ["MA0139.2", "MA1929.2", "MA1930.2"]
    assert [m.id for m in select_motifs(motifs, ["MA0002.3", "SP1"])] == ["MA0002.3", "MA0079.5"]
    assert len(select_motifs(motifs, None)) == 16
    with pytest.raises(ValueError, match="'NOPE'"):
        select_motifs(motifs, "CTCF,NOPE")


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("hello world\n", "bad.txt:1: expected a JASPAR"),
    (">MA1\tX\nA [ 1 2 ]\nC [ 1 x ]\nG [ 1 2 ]\nT [ 1 2 ]\n", "malformed JASPAR"),
    (">MA1\tX\nA [ 1 2 ]\n", "no complete motif"),
    (">MA1\tX\nA [ 1 0 ]\nC [ 1 0 ]\nG [ 1 0 ]\nT [ 1 0 ]\n", "position 2 has no counts"),
    (">MA1\tX\nA [ 1 -2 ]\nC [ 1 3 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", "negative"),
    ("MEME version 4\n\nMOTIF a\n", "malformed MEME"),
])
def test_bad_motif_files(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InvalidFileError, match=message) as error:
        read_motifs(path)
    assert str(error.value).startswith(str(path))
