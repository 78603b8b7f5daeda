"""Pair tables: reading, one-line errors, and label columns never used as features."""

import gzip

import numpy as np
import pytest
import torch
from conftest import TEST_DATA

from genoseq.device import ComputeOptions
from genoseq.enhancers.loci import build_loci, element_offsets
from genoseq.enhancers.model import EnhancerModel, EnhancerModelConfig
from genoseq.enhancers.predict import element_effects
from genoseq.enhancers.table import LABEL_COLUMNS, check_feature_names, has_tss, read_pairs
from genoseq.io import InvalidFileError

SLICE = TEST_DATA / "enhancer" / "crispri_K562_6chroms.GRCh38.tsv.gz"
CPU = ComputeOptions(device="cpu")


@pytest.fixture(scope="module")
def table():
    return read_pairs(SLICE)


def test_reads_the_screen_slice(table):
    assert len(table) == 380 and set(LABEL_COLUMNS) <= set(table.columns)
    assert table["chromStart"].dtype == np.int64
    assert (table["Regulated"] == "True").sum() == 39


@pytest.mark.parametrize("column", LABEL_COLUMNS)
def test_label_columns_are_refused_as_features(table, column):
    with pytest.raises(ValueError, match=column):
        check_feature_names(["DHS.RPM", column])
    with pytest.raises(ValueError, match=column):
        EnhancerModelConfig(element_columns=("DHS.RPM", column))
    with pytest.raises(ValueError, match=column):
        EnhancerModelConfig(gene_columns=(column,))
    with pytest.raises(ValueError, match=column):
        build_loci(table, ["DHS.RPM", column])


def test_effects_do_not_depend_on_label_columns(table):
    torch.manual_seed(0)
    model = EnhancerModel(EnhancerModelConfig())
    rng = np.random.default_rng(0)
    scrambled = table.copy()
    for column in LABEL_COLUMNS:
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    config = model.config
    original = element_effects(model, build_loci(table, config.element_columns,
                                                 config.gene_columns), compute=CPU)
    for other in (scrambled, table.drop(columns=list(LABEL_COLUMNS))):
        loci = build_loci(other, config.element_columns, config.gene_columns)
        np.testing.assert_array_equal(element_effects(model, loci, compute=CPU), original)


def rewrite(tmp_path, edit):
    lines = gzip.open(SLICE, "rt").read().splitlines()
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:]]
    header, rows = edit(header, rows)
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return path


def set_cell(column, row, value):
    def edit(header, rows):
        rows[row][header.index(column)] = value
        return header, rows
    return edit


def drop_column(column):
    def edit(header, rows):
        i = header.index(column)
        return header[:i] + header[i + 1:], [r[:i] + r[i + 1:] for r in rows]
    return edit


@pytest.mark.parametrize("edit, line, message", [
    (drop_column("startTSS"), 1, "missing column(s) startTSS"),
    (set_cell("chromStart", 4, "12x"), 6, "'12x' is not a number"),
    (set_cell("chromEnd", 2, "5"), 4, "chromEnd 5 is below chromStart 27421403"),
    (set_cell("startTSS", 3, "near"), 5, "column 'startTSS': 'near' is not a number"),
    (set_cell("startTSS", 3, "-4"), 5, "startTSS '-4' is not a non-negative integer"),
    (set_cell("chrTSS", 0, "chr1"), 2, "TSS on chr1"),
    (lambda h, r: (h, r + [r[7]]), 382, "listed twice"),
])
def test_bad_tables_name_file_and_line(tmp_path, edit, line, message):
    path = rewrite(tmp_path, edit)
    with pytest.raises(InvalidFileError) as error:
        read_pairs(path)
    assert error.value.line == line and message in error.value.message


def test_bad_feature_value_and_empty_file(tmp_path, table):
    path = rewrite(tmp_path, set_cell("DHS.RPM", 9, "high"))
    with pytest.raises(InvalidFileError, match=r"pairs.tsv:11: column 'DHS.RPM': 'high'"):
        build_loci(read_pairs(path), ["DHS.RPM"], [], source=str(path))
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    with pytest.raises(InvalidFileError, match="empty file"):
        read_pairs(empty)


def test_zero_length_element_is_a_point_at_chrom_start(tmp_path, table):
    # Row 0: chr13:21243002-21243502 (500 bp, centre 21243252), its gene's TSS at 21140514.
    def point(header, rows):
        header, rows = set_cell("chromStart", 0, "21243252")(header, rows)
        header, rows = set_cell("chromEnd", 0, "21243252")(header, rows)
        return drop_column("distanceToTSS")(header, rows)
    points = read_pairs(rewrite(tmp_path, point))
    assert len(points) == 380
    assert points["chromStart"].iloc[0] == points["chromEnd"].iloc[0] == 21243252
    offsets = element_offsets(points, "pairs.tsv")
    assert offsets[0] == 21243252 - 21140514
    # The point at the old element's centre sits where the element sat.
    np.testing.assert_array_equal(
        offsets, element_offsets(table.drop(columns="distanceToTSS"), "slice"))


def test_missing_tss_is_kept_and_placed_in_no_locus(tmp_path, table):
    # Rows 0 and 2: SAP18 and RPL21, one pair each; row 1 (POLR1D) shares its gene with row 3.
    def blank(header, rows):
        for row, value in ((0, ""), (2, "NA"), (1, " ")):
            rows[row][header.index("startTSS")] = value
            rows[row][header.index("chrTSS")] = ""
            rows[row][header.index("distanceToTSS")] = "NA"
        return header, rows
    pairs = read_pairs(rewrite(tmp_path, blank))
    assert len(pairs) == 380 and str(pairs["startTSS"].dtype) == "Int64"
    assert list(np.flatnonzero(~has_tss(pairs))) == [0, 1, 2]
    assert pairs["startTSS"].iloc[3] == table["startTSS"].iloc[3]
    loci = build_loci(pairs)
    placed = np.concatenate([b.rows[b.rows >= 0].numpy() for b in loci.buckets])
    assert sorted(placed) == sorted(set(range(380)) - {0, 1, 2})
    assert sum(len(names) for names in loci.names) == \
        sum(len(names) for names in build_loci(table).names) - 2
    torch.manual_seed(0)
    effects = element_effects(EnhancerModel(EnhancerModelConfig()), loci, compute=CPU)
    assert np.isnan(effects[:3]).all() and np.isfinite(effects[3:]).all()
