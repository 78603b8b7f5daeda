"""Prodigal's gene files: the .sco header line of sequences whose names need escaping."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from genoseq.genes.gene import Gene
from genoseq.io.genes import write_sco

# What a reader of Prodigal's .sco takes from a header line: the value between the quotes.
SEQUENCE_DATA = re.compile(r'^# Sequence Data: seqnum=(\d+);seqlen=(\d+);seqhdr="([^"]*)"$')


def _gene(seqid: str, start: int, end: int, strand: int) -> Gene:
    return Gene(seqid, start, end, strand, "00", start_type="ATG", rbs_motif="None",
                rbs_spacer="None", gc_cont=0.5, conf=99.0, score=10.0, cscore=9.0, sscore=1.0,
                rscore=0.0, uscore=0.0, tscore=0.0)


@pytest.mark.parametrize("seqid, written", [
    ('a"b', "a%22b"),
    ('"quoted"', "%22quoted%22"),
    ("50%GC", "50%25GC"),
    ("a%22b", "a%2522b"),
    ("tab\there", "tab%09here"),
    ("bell\x07\x7f", "bell%07%7F"),
])
def test_sco_header_escapes_what_would_break_the_quotes(tmp_path, seqid, written):
    lengths = {seqid: 300, "plain": 90}
    genes = [_gene(seqid, 9, 60, 1), _gene(seqid, 99, 150, -1), _gene("plain", 0, 30, 1)]
    path = tmp_path / "g.sco"
    write_sco(path, genes, lengths)
    lines = path.read_text().splitlines()
    assert lines == [
        f'# Sequence Data: seqnum=1;seqlen=300;seqhdr="{written}"',
        ">1_10_60_+",
        ">2_100_150_-",
        '# Sequence Data: seqnum=2;seqlen=90;seqhdr="plain"',
        ">1_1_30_+",
    ]
    # One quoted value per header line, and unquote gives the name back.
    match = SEQUENCE_DATA.match(lines[0])
    assert match and unquote(match.group(3)) == seqid


@pytest.mark.parametrize("seqid", [
    "NC_000913.3",
    "contig_1 len=500 cov=3.2",
    "gi|49175990|ref|NC_000913.2|;x=1,y=2&z",
    "k141_7 flag=1 multi=2.0000",
    "émile's\\contig",
])
def test_sco_header_is_prodigals_where_nothing_needs_escaping(tmp_path, seqid):
    path = tmp_path / "g.sco"
    write_sco(path, [_gene(seqid, 0, 30, -1)], {seqid: 42})
    # Exactly what Prodigal's print_genes writes: sprintf("seqhdr=\"%s\"", header).
    assert path.read_text(encoding="utf-8").splitlines() == [
        f'# Sequence Data: seqnum=1;seqlen=42;seqhdr="{seqid}"', ">1_1_30_-"]
