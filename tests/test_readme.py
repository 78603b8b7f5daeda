"""README's quick start shows what the shipped model prints on the bundled example.

The release check (.ci/release-check) runs the same comparison on the installed
wheel; this test catches a stale README before a release is built.
"""

import re

from conftest import DATA, REPO

from genoseq.cli import main


def gff_parts(line):
    """Fields, score and attributes of a GFF line; numbers kept as floats."""
    cols = line.split("\t")
    attrs = dict(a.split("=", 1) for a in cols[8].split(";") if "=" in a)
    return cols[:5] + cols[6:8], float(cols[5]), attrs


def test_readme_quick_start_matches_the_shipped_model(tmp_path):
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- main-command -->", 1)[1].split("```\n\n```\n", 1)[1]
    shown = [line.removesuffix("...") for line in block.split("```", 1)[0].splitlines()
             if "\tCDS\t" in line]
    assert len(shown) >= 3
    gff = tmp_path / "ecoli.gff"
    rc = main(["predict", "-i", str(DATA / "ecoli_k12_500kb.fna.gz"), "-o", str(gff),
               "-q", "--threads", "1"])
    assert rc in (0, None)
    genes = [line for line in gff.read_text().splitlines()
             if line and not line.startswith("#")]
    # Scores within 0.1: bf16 (CPUs that have it) and fp32 round the networks apart.
    for line, got in zip(shown, genes[:len(shown)], strict=True):
        head, value, attrs = gff_parts(line)
        got_head, got_value, got_attrs = gff_parts(got)
        assert head == got_head and abs(value - got_value) <= 0.1, (line, got)
        for key, text in attrs.items():
            try:
                assert abs(float(text) - float(got_attrs[key])) <= 0.1, (key, line, got)
            except ValueError:
                assert got_attrs.get(key) == text, (key, line, got)
    claimed = [int(n) for n in re.findall(r"\((\d+) genes in", readme)]
    claimed += [int(n) for n in re.findall(r"genoseq: (\d+) genes on 1 record \(500,000", readme)]
    assert claimed and all(n == len(genes) for n in claimed), (claimed, len(genes))
