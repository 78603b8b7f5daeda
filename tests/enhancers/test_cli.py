"""``genoseq enhancer`` with the shipped weights, the locus plot, bad input, ``genoseq train enhancer``."""

import gzip
import io

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA

from genoseq.cli import main
from genoseq.enhancers.model import load_enhancer_model
from genoseq.enhancers.plot import plot_locus
from genoseq.enhancers.table import LABEL_COLUMNS, read_pairs

SLICE = TEST_DATA / "enhancer" / "crispri_K562_6chroms.GRCh38.tsv.gz"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_scores_the_screen_slice_with_shipped_weights(tmp_path):
    out = tmp_path / "scores.tsv"
    code, _, err = run("enhancer", "-i", SLICE, "-o", out)
    assert code == 0, err
    scored = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    original = pd.read_csv(SLICE, sep="\t", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(scored.drop(columns="genoseq_score"), original)
    scores = scored["genoseq_score"].astype(float)
    assert (scores >= 0).all() and scores.nunique() > 300
    # The shipped model ranks the slice's regulated pairs well above chance (39 / 380).
    from sklearn.metrics import average_precision_score
    assert average_precision_score(original["Regulated"] == "True", scores) > 0.3
    # Same input, same bytes.
    again = tmp_path / "again.tsv"
    assert run("enhancer", "-i", SLICE, "-o", again)[0] == 0
    assert again.read_bytes() == out.read_bytes()


def test_without_label_columns_gives_the_same_scores(tmp_path):
    table = pd.read_csv(SLICE, sep="\t", dtype=str, keep_default_na=False)
    unlabelled = tmp_path / "unlabelled.tsv"
    table.drop(columns=list(LABEL_COLUMNS)).to_csv(unlabelled, sep="\t", index=False)
    code, with_labels, _ = run("enhancer", "-i", SLICE)
    assert code == 0
    code, without, _ = run("enhancer", "-i", unlabelled)
    assert code == 0
    first = pd.read_csv(io.StringIO(with_labels), sep="\t")["genoseq_score"]
    pd.testing.assert_series_equal(pd.read_csv(io.StringIO(without), sep="\t")["genoseq_score"],
                                   first)


def test_plot_locus_png(tmp_path):
    png = tmp_path / "rpl3.png"
    code, _, err = run("enhancer", "-i", SLICE, "-o", tmp_path / "s.tsv",
                       "--plot-locus", "RPL3", "--plot-file", png)
    assert code == 0, err
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000
    model, _ = load_enhancer_model()
    figure = plot_locus(read_pairs(SLICE), "RPL3", model)
    assert figure.axes[0].get_yscale() == "log"


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"chrom\tchromStart\n" + b"chr1\t5\n", "missing column(s) chromEnd"),
    (b"\x00\x01binary\xff\xfe", "not a tab-separated table"),
])
def test_bad_input_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_bytes(content)
    out = tmp_path / "out.tsv"
    code, _, err = run("enhancer", "-i", path, "-o", out)
    assert code == 2 and err.count("\n") == 1 and err.startswith("genoseq: error: ")
    assert message in err and not out.exists()


def test_bad_value_and_unknown_gene(tmp_path):
    lines = gzip.open(SLICE, "rt").read().splitlines()
    header = lines[0].split("\t")
    row = lines[5].split("\t")
    row[header.index("H3K27ac.RPM")] = "-3"
    path = tmp_path / "bad.tsv"
    path.write_text("\n".join([lines[0], *lines[1:5], "\t".join(row)]) + "\n")
    code, _, err = run("enhancer", "-i", path, "-o", tmp_path / "out.tsv")
    assert code == 2 and "bad.tsv:6: H3K27ac.RPM -3.0 is negative" in err
    code, _, err = run("enhancer", "-i", SLICE, "-o", tmp_path / "o.tsv", "--plot-locus", "NOPE")
    assert code == 2 and "no pairs for gene 'NOPE'" in err and err.count("\n") == 1


def test_train_enhancer_cli(tmp_path):
    stem = tmp_path / "small"
    code, out, err = run("train", "enhancer", "--pairs", SLICE, "-o", stem, "--max-steps", "15",
                         "--readout", "monotone", "-q")
    assert code == 0, err
    assert "validation chromosomes" in out
    model, metadata = load_enhancer_model(stem)
    assert model.config.readout.monotone
    assert metadata["n_pairs_train"] + metadata["n_pairs_validation"] == 380
    assert 1 <= metadata["steps"] <= 15
    code, _, _ = run("enhancer", "-i", SLICE, "-o", tmp_path / "s.tsv", "--model", stem)
    assert code == 0


def write_slice(tmp_path, edit, name="pairs.tsv"):
    """The slice with ``edit(header, rows)`` applied to its cells, as a plain TSV."""
    lines = gzip.open(SLICE, "rt").read().splitlines()
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:]]
    edit(header, rows)
    path = tmp_path / name
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return path


def read_tsv(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_zero_length_elements_are_points(tmp_path):
    # The first 10 elements shrunk to a point at their centre: distanceToTSS still
    # gives each its offset, so every pair keeps its score.
    def points(header, rows):
        start, end = header.index("chromStart"), header.index("chromEnd")
        for row in rows[:10]:
            row[start] = row[end] = str((int(row[start]) + int(row[end])) // 2)
    path = write_slice(tmp_path, points)
    code, _, err = run("enhancer", "-i", path, "-o", tmp_path / "points.tsv")
    assert code == 0 and err == ""
    scored, given = read_tsv(tmp_path / "points.tsv"), read_tsv(path)
    assert (scored["chromStart"] == scored["chromEnd"]).sum() == 10
    pd.testing.assert_frame_equal(scored.drop(columns="genoseq_score"), given)
    assert run("enhancer", "-i", SLICE, "-o", tmp_path / "slice.tsv")[0] == 0
    pd.testing.assert_series_equal(scored["genoseq_score"],
                                   read_tsv(tmp_path / "slice.tsv")["genoseq_score"])


def test_reversed_element_refused_in_one_line(tmp_path):
    def reverse(header, rows):
        rows[2][header.index("chromEnd")] = "5"
    path = write_slice(tmp_path, reverse)
    out = tmp_path / "out.tsv"
    code, stdout, err = run("enhancer", "-i", path, "-o", out)
    assert code == 2 and stdout == "" and not out.exists()
    assert err == f"genoseq: error: {path}:4: chromEnd 5 is below chromStart 27421403\n"


def test_pairs_without_tss_are_kept_unscored(tmp_path):
    # Rows 0 and 2 are the only pairs of SAP18 and RPL21; row 1 is one of POLR1D's two.
    def no_tss(header, rows):
        for row in rows[:3]:
            for column in ("startTSS", "endTSS", "distanceToTSS"):
                row[header.index(column)] = ""
    path = write_slice(tmp_path, no_tss)
    out = tmp_path / "out.tsv"
    code, _, err = run("enhancer", "-i", path, "-o", out)
    assert code == 0
    assert err == (f"genoseq: warning: {path}: 3 of 380 pairs have no TSS (empty startTSS) "
                   "and cannot be scored; their genoseq_score is left empty\n")
    scored, given = read_tsv(out), read_tsv(path)
    assert len(scored) == len(given) == 380
    pd.testing.assert_frame_equal(scored.drop(columns="genoseq_score"), given)
    assert (scored["genoseq_score"][:3] == "").all() and (scored["genoseq_score"][3:] != "").all()
    # Loci on other chromosomes are untouched (on the same chromosome the unplaced pairs'
    # elements no longer kick their neighbours); bucketing may move the 6th digit.
    assert run("enhancer", "-i", SLICE, "-o", tmp_path / "slice.tsv")[0] == 0
    original = read_tsv(tmp_path / "slice.tsv")["genoseq_score"]
    other = ~given["chrom"].isin(given["chrom"][:3]).to_numpy()
    assert other.sum() > 100
    np.testing.assert_allclose(scored["genoseq_score"][other].astype(float),
                               original[other].astype(float), rtol=1e-5)
    code, _, err = run("enhancer", "-i", path, "-o", out, "--plot-locus", "SAP18")
    assert code == 2 and err.splitlines()[1:] == [
        f"genoseq: error: {path}: gene 'SAP18' has no TSS (empty startTSS): its locus cannot "
        "be drawn"]
    stem = tmp_path / "model"
    code, _, err = run("train", "enhancer", "--pairs", path, "-o", stem, "--max-steps", "3", "-q")
    assert code == 0
    assert err == (f"genoseq: warning: {path}: 3 of 380 pairs have no TSS (empty startTSS); "
                   "left out of training\n")
    _, metadata = load_enhancer_model(stem)
    assert metadata["n_pairs_train"] + metadata["n_pairs_validation"] == 377
