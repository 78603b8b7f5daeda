"""``genoseq enhancer`` with the shipped weights, the locus plot, bad input, ``genoseq train enhancer``."""

import gzip
import io

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
