"""Malformed GenBank: one InvalidFileError naming file and line, never Biopython's own errors.

Each case is a real file written into a temporary folder. No subcommand reads
GenBank itself (``genoseq predict -f gbk`` only writes it), so the tests go
through :func:`read_genbank_cds` and :func:`read_cds`, whose messages the
command line prints as ``genoseq: error: <message>``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from genoseq.io import InvalidFileError
from genoseq.io.annotation import read_cds
from genoseq.io.errors import GenoseqWarning
from genoseq.io.genbank import read_genbank_cds

BASIC = Path(__file__).resolve().parents[1] / "data" / "annotation" / "basic.gb"
TEXT = BASIC.read_text()


def _lines_of(text: str, fragment: str) -> int:
    """1-based line of the first line containing ``fragment``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def _error(path: Path, reader=read_genbank_cds) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GenoseqWarning)
        with pytest.raises(InvalidFileError) as caught:
            reader(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("reader", [read_genbank_cds, read_cds], ids=["genbank", "read_cds"])
def test_qualifier_without_slash_names_its_line(tmp_path, reader):
    # Biopython raised a bare AssertionError here.
    text = TEXT.replace('/locus_tag="A_2"', 'locus_tag="A_2"')
    path = tmp_path / "noslash.gb"
    path.write_text(text)
    line = _lines_of(text, 'locus_tag="A_2"')
    assert line == 13
    assert _error(path, reader) == (
        f"{path}:13: 'locus_tag=\"A_2\"' in the 'CDS' feature is not a qualifier "
        "(expected '/name=value' after the location: is the '/' missing?)"
    )


def test_truncated_feature_table(tmp_path):
    text = TEXT.split("     CDS             join(37")[0]
    path = tmp_path / "truncated.gb"
    path.write_text(text)
    last = len(text.splitlines())
    assert _error(path) == (
        f"{path}:{last}: not valid GenBank: Premature end of line during features table "
        "(is the file truncated?)"
    )


def test_file_ending_inside_a_quoted_value_names_the_feature(tmp_path):
    text = TEXT[: TEXT.index('/note="-1') + len('/note="-1')]
    path = tmp_path / "cut.gb"
    path.write_text(text)
    line = _lines_of(text, "join(37..45,45..50)")
    assert _error(path) == (
        f"{path}:{line}: cannot read the 'CDS' feature: it ends inside its location or "
        "inside a quoted qualifier value"
    )


def test_unterminated_location(tmp_path):
    text = TEXT.replace("join(37..45,45..50)", "join(37..45,")
    path = tmp_path / "location.gb"
    path.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InvalidFileError) as error:
            read_genbank_cds(path)
    assert str(error.value) == (
        f"{path}:14: cannot read the 'CDS' feature: it ends inside its location or "
        "inside a quoted qualifier value"
    )
    # Biopython's own warning comes through as a GenoseqWarning naming the file.
    assert [w.category for w in caught] == [GenoseqWarning]
    assert str(caught[0].message) == (
        f"{path}: Non-standard feature line wrapping (didn't break on comma)?"
    )


def test_location_biopython_asserts_on_names_the_feature(tmp_path):
    # Biopython raised a bare AssertionError while building the location.
    text = TEXT.replace("complement(21..35)", "complement(21..35..)")
    path = tmp_path / "location.gb"
    path.write_text(text)
    assert _error(path) == (
        f"{path}:12: cannot read the 'CDS' feature at 'complement(21..35..)': "
        "AssertionError in Biopython's parser"
    )


def test_line_of_feature_width_names_the_line(tmp_path):
    # A line exactly 21 characters long inside the feature table: Biopython
    # raised IndexError ('string index out of range').
    text = TEXT.replace('                     /gene="a8"', '              ne="a8"')
    path = tmp_path / "short_line.gb"
    path.write_text(text)
    line = _lines_of(text, ' ne="a8"')
    assert _error(path) == (
        f"{path}:{line}: not valid GenBank at '              ne=\"a8\"': IndexError in "
        "Biopython's parser (string index out of range)"
    )


def test_biopython_warnings_become_genoseq_warnings_naming_the_file(tmp_path):
    text = TEXT.replace("atcttcggat", "atc")
    path = tmp_path / "short_sequence.gb"
    path.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        annotation = read_genbank_cds(path)
    assert len(annotation.sequences["ctgA.1"]) == 53
    assert {w.category for w in caught} == {GenoseqWarning}
    assert str(caught[0].message) == f"{path}: Expected sequence length 60, found 53 (ctgA.1)."


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("cr.gb", lambda text: text.replace("\n", "\r").encode()),
        ("crlf.gb", lambda text: text.replace("\n", "\r\n").encode()),
        ("bom.gb", lambda text: b"\xef\xbb\xbf" + text.encode()),
        ("rna.gb", lambda text: text.replace("cagattttca", "caga" + "uuuuca").encode()),
    ],
)
def test_line_endings_byte_order_mark_and_rna_read_as_usual(tmp_path, name, transform):
    path = tmp_path / name
    path.write_bytes(transform(TEXT))
    expected, got = [], []
    for source, into in ((BASIC, expected), (path, got)):
        for reader in (read_genbank_cds, read_cds):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GenoseqWarning)
                annotation = reader(source)
            into.append((annotation.cds, annotation.sequence_lengths, annotation.sequences))
    assert got == expected
