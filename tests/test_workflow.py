"""The Snakemake workflow (workflows/), `genoseq workflow` and genoseq.workflow's steps.

The end-to-end test runs the `.test` config (the bundled 500 kb E. coli slice
under two translation tables, and the 380-pair enhancer table) with
--cores 2: about 45 s on 2 CPU cores. Tests needing Snakemake or snakefmt are
skipped where they are not installed (pip install -e '.[test]' installs them
on Python >= 3.11).
"""

import base64
import importlib.util
import io
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA, REPO

from genoseq.cli import main
from genoseq.workflow import SUMMARY_COLUMNS, sample_summary, upstream_regions, write_report
from genoseq.workflow_cli import (
    example_data_dir,
    packaged_test_config,
    snakefile,
    snakemake_command,
)

WORKFLOW = REPO / "workflows"
SNAKEFILE = WORKFLOW / "Snakefile"
TEST_CONFIG = WORKFLOW / ".test" / "config.yaml"
TEST_SAMPLES = ["ecoli_k12", "ecoli_k12_table4"]
PER_SAMPLE = ["genes.gff", "proteins.faa", "genes.ffn", "ss.tsv", "upstream.fa",
              "upstream_motifs.tsv", "summary.tsv"]

needs_snakemake = pytest.mark.skipif(importlib.util.find_spec("snakemake") is None,
                                     reason="snakemake is not installed")
needs_snakefmt = pytest.mark.skipif(importlib.util.find_spec("snakefmt") is None,
                                    reason="snakefmt is not installed")
needs_pygments = pytest.mark.skipif(importlib.util.find_spec("pygments") is None,
                                    reason="snakemake --report needs pygments (snakemake[reports])")


def _environment() -> dict:
    """The rules call `genoseq` and `python`: those of this interpreter come first."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def snakemake(*args, cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True,
                          text=True, timeout=600)


def _output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


# --- the workflow end to end -------------------------------------------------------------


@pytest.fixture(scope="module")
def test_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The .test workflow run once with --cores 2, in a fresh working directory."""
    workdir = tmp_path_factory.mktemp("workflow")
    result = snakemake("--configfile", TEST_CONFIG, "--cores", 2, cwd=workdir)
    return workdir, result


@needs_snakemake
def test_test_config_produces_every_target(test_run):
    workdir, result = test_run
    assert result.returncode == 0, _output(result)[-3000:]
    results = workdir / "results"
    expected = [results / sample / name for sample in TEST_SAMPLES for name in PER_SAMPLE]
    expected += [results / "report.tsv", results / "report.png",
                 results / "enhancer" / "K562_6chroms.scored.tsv"]
    for path in expected:
        assert path.is_file() and path.stat().st_size > 0, path
    # log and benchmark for every job
    for rule in ("predict_genes", "secondary_structure", "upstream_regions",
                 "scan_upstream_motifs", "sample_summary"):
        for sample in TEST_SAMPLES:
            assert (results / "logs" / rule / f"{sample}.log").is_file()
            assert (results / "benchmarks" / rule / f"{sample}.tsv").is_file()

    report = pd.read_csv(results / "report.tsv", sep="\t")
    assert list(report.columns) == SUMMARY_COLUMNS
    assert report["sample"].tolist() == TEST_SAMPLES
    for row in report.itertuples():
        assert row.genome_bp == 500_000 and 51 < row.gc_percent < 53
        assert 350 < row.genes < 500 and 0.8 < row.coding_density < 0.95
        assert abs(row.ss_helix + row.ss_strand + row.ss_coil - 1) < 0.01
        assert 0.3 < row.motif_hits_per_gene < 2 and 0.3 < row.genes_with_motif <= 1
    table11, table4 = report.itertuples()
    # The slice has 464 reference CDS; the summary must count the GFF's genes.
    gff = (results / "ecoli_k12" / "genes.gff").read_text()
    assert table11.genes == sum("\tCDS\t" in line for line in gff.splitlines())
    # Table 4 reads TGA as Trp: other genes, fewer and longer ones.
    assert table4.genes != table11.genes and table4.mean_gene_length > table11.mean_gene_length
    with open(results / "report.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", handle.read(16)[8:16])
    assert width > 400 and height > 300

    scored = pd.read_csv(results / "enhancer" / "K562_6chroms.scored.tsv", sep="\t")
    assert len(scored) == 380 and "genoseq_score" in scored.columns

    # Upstream regions: 50 bp each (less only at the slice's edges), named by gene id.
    gff_ids = [line.split("ID=")[1].split(";")[0]
               for line in (results / "ecoli_k12" / "genes.gff").read_text().splitlines()
               if not line.startswith("#")]
    upstream = (results / "ecoli_k12" / "upstream.fa").read_text().splitlines()
    assert [line[1:] for line in upstream[::2]] == gff_ids
    assert sum(len(line) == 50 for line in upstream[1::2]) >= len(gff_ids) - 2


@needs_snakemake
def test_second_run_has_nothing_to_do(test_run):
    workdir, first = test_run
    assert first.returncode == 0, _output(first)[-3000:]
    report = workdir / "results" / "report.tsv"
    before = report.stat().st_mtime_ns
    for extra in (["-n"], []):
        result = snakemake("--configfile", TEST_CONFIG, "--cores", 2, *extra, cwd=workdir)
        assert result.returncode == 0, _output(result)[-3000:]
        assert "Nothing to be done" in _output(result)
    assert report.stat().st_mtime_ns == before


@needs_snakemake
@needs_pygments
def test_report_html_embeds_the_plots_with_captions(test_run):
    workdir, first = test_run
    assert first.returncode == 0, _output(first)[-3000:]
    result = snakemake("--configfile", TEST_CONFIG, "--report", "report.html", cwd=workdir)
    assert result.returncode == 0, _output(result)[-3000:]
    html = (workdir / "report.html").read_text()
    # The plot the workflow made, byte for byte, and every table marked for the report.
    embedded = re.search(r"data:image/png;charset=utf8;filename=report\.png;base64,"
                         r"([A-Za-z0-9+/=]+)", html)
    assert embedded, "report.png is not embedded"
    assert base64.b64decode(embedded.group(1)) == (workdir / "results/report.png").read_bytes()
    for name in ("report.tsv", "summary.tsv", "K562_6chroms.scored.tsv"):
        assert f"Adding {name}" in _output(result), name
    # Captions (rendered with the wildcards and config), categories, the workflow text.
    assert "Every sample side by side" in html
    for sample in TEST_SAMPLES:
        assert f"Summary of sample {sample}:" in html
    assert "pairs of the table K562_6chroms" in html
    assert "genoseq workflow on .test/samples.tsv" in html
    for category in ("All samples", "Samples", "Enhancer-gene scores"):
        assert f'"{category}"' in html or category in html, category


# --- lint, format, schema ------------------------------------------------------------------


@needs_snakemake
def test_lint_is_clean(tmp_path):
    result = snakemake("--configfile", TEST_CONFIG, "--lint", cwd=tmp_path)
    output = _output(result)
    assert result.returncode == 0, output
    assert "Lints for" not in output and "WARNING" not in output.upper(), output


def _rules_marked_local() -> list[str]:
    sources = [SNAKEFILE, *sorted((WORKFLOW / "rules").glob("*.smk"))]
    text = "\n".join(path.read_text() for path in sources)
    assert "localrules:" not in text
    blocks = re.split(r"^rule (\w+):\n", text, flags=re.M)[1:]
    return [name for name, body in zip(blocks[::2], blocks[1::2], strict=True)
            if re.search(r"^    localrule: True$", body, re.M)]


def test_only_the_target_rule_stays_off_the_cluster():
    # Every rule that runs a command is a cluster job under an executor such as
    # SLURM (.ci/slurm-check runs them so); 'all' only collects the targets.
    assert _rules_marked_local() == ["all"]
    all_rule = SNAKEFILE.read_text().split("rule all:", 1)[1]
    assert "shell:" not in all_rule and "run:" not in all_rule and "script:" not in all_rule


@needs_snakemake
def test_workflow_folder_lints_as_a_catalog_repository(tmp_path):
    # The workflow catalog runs `snakemake --lint` in a repository's root, finding
    # the Snakefile and config/config.yaml there: our workflows/ folder is that root.
    root = tmp_path / "workflows"
    shutil.copytree(WORKFLOW, root, symlinks=False)
    (tmp_path / "data").symlink_to(DATA)  # config/samples.tsv: ../../data/...
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=root,
                            env=_environment(), capture_output=True, text=True, timeout=300)
    output = _output(result)
    assert result.returncode == 0, output
    assert "Lints for" not in output and "WARNING" not in output.upper(), output


def test_catalog_settings_and_config_readme():
    yaml = pytest.importorskip("yaml")
    settings = yaml.safe_load((WORKFLOW / ".snakemake-workflow-catalog.yml").read_text())
    usage = settings["usage"]
    assert usage["report"] is True
    assert set(usage["mandatory-flags"]) == {"desc", "flags"}
    assert set(usage["software-stack-deployment"]) == {"conda", "apptainer", "apptainer+conda"}
    # config/README.md names every key of the config schema, dotted, with its default.
    readme = (WORKFLOW / "config" / "README.md").read_text()
    schema = yaml.safe_load((WORKFLOW / "schemas" / "config.schema.yaml").read_text())

    def keys(properties, prefix=""):
        for name, spec in properties.items():
            if "properties" in spec:
                yield from keys(spec["properties"], f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}", spec.get("default")

    rows = re.findall(r"^\| `([\w.]+)` \| ([^|]+) \|", readme, re.M)
    documented = {key: cell.strip().strip("`") for key, cell in rows}
    for key, default in keys(schema["properties"]):
        assert key in documented, f"config/README.md does not describe {key}"
        if isinstance(default, bool):
            assert documented[key] == str(default).lower(), key
        elif default == "":
            assert documented[key] == '""', key
        elif default is not None and not isinstance(default, dict):
            assert documented[key] == str(default), (key, documented[key], default)
    for column in ("sample", "genome", "table"):
        assert f"| `{column}` |" in readme


@needs_snakefmt
def test_snakefmt_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


SHEET_HEADER = "sample\tgenome\ttable\n"
GENOME = DATA / "ecoli_k12_500kb.fna.gz"


@needs_snakemake
@pytest.mark.parametrize(("config", "sheet", "message"), [
    ("predict:\n  min_len: 90\n", None,
     "invalid config: 'samples' is a required property"),
    ("samples: samples.tsv\nmotifs:\n  upstream: -5\n", f"x\t{GENOME}\t\n",
     "invalid config: motifs.upstream: -5 is less than the minimum of 1"),
    ("samples: samples.tsv\nno_such_key: 1\n", f"x\t{GENOME}\t\n",
     "invalid config: Additional properties are not allowed ('no_such_key' was unexpected)"),
    ("samples: samples.tsv\n", f"x\t{GENOME}\t-1\n",
     "invalid sample sheet samples.tsv: sample 'x': table: -1 is not one of [1, 2, 3"),
    ("samples: samples.tsv\n", f"x\t{GENOME}\t7\n",
     "invalid sample sheet samples.tsv: sample 'x': table: 7 is not one of"),
    ("samples: samples.tsv\n", f"x\t{GENOME}\tfour\n",
     "invalid sample sheet samples.tsv: sample 'x': table: 'four' is not of type 'integer'"),
    ("samples: samples.tsv\n", f"a/b\t{GENOME}\t\n",
     "invalid sample sheet samples.tsv: sample 'a/b': sample: 'a/b' does not match"),
    ("samples: samples.tsv\n", "x\tno_such_genome.fa\t\n",
     "sample sheet samples.tsv: sample 'x': genome no_such_genome.fa not found"),
    ("samples: samples.tsv\n", f"x\t{GENOME}\t\nx\t{GENOME}\t4\n",
     "sample sheet samples.tsv: repeated sample names ['x']"),
    ("samples: missing.tsv\n", None, "sample sheet missing.tsv not found"),
])
def test_bad_config_is_rejected_with_a_clear_message(tmp_path, config, sheet, message):
    (tmp_path / "config.yaml").write_text(config)
    if sheet is not None:
        (tmp_path / "samples.tsv").write_text(SHEET_HEADER + sheet)
    result = snakemake("--configfile", "config.yaml", "--cores", 1, "-n", cwd=tmp_path)
    assert result.returncode != 0
    assert message in _output(result), _output(result)
    assert not (tmp_path / "results").exists()


@needs_snakemake
def test_sheet_without_table_column_defaults_to_table_11(tmp_path):
    (tmp_path / "config.yaml").write_text("samples: samples.tsv\n")
    (tmp_path / "samples.tsv").write_text(f"sample\tgenome\nx\t{GENOME}\n")
    result = snakemake("--configfile", "config.yaml", "--cores", 1, "-n", "-p", cwd=tmp_path)
    assert result.returncode == 0, _output(result)
    assert "-g 11 -p single --min-len 90" in _output(result)


# --- genoseq workflow ----------------------------------------------------------------------


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_packaged_workflow_is_the_repository_one():
    assert snakefile().is_file()
    assert snakefile().resolve() == SNAKEFILE.resolve()
    assert packaged_test_config() == TEST_CONFIG.resolve()
    assert example_data_dir() == DATA.resolve()
    assert (example_data_dir() / "ecoli_k12_500kb.fna.gz").is_file()


@needs_snakemake
def test_test_config_finds_its_inputs_in_the_wheel_layout(tmp_path):
    # The wheel holds genoseq/workflows and genoseq/data as folders (copies of the
    # linked workflows/ and data/): the .test config must find the example genome
    # and the enhancer table there, without the checkout.
    package = tmp_path / "site-packages" / "genoseq"
    shutil.copytree(WORKFLOW, package / "workflows", symlinks=False)
    shutil.copytree(DATA, package / "data", symlinks=False)
    run = tmp_path / "run"
    run.mkdir()
    command = [sys.executable, "-m", "snakemake", "-s", str(package / "workflows" / "Snakefile"),
               "--configfile", str(package / "workflows" / ".test" / "config.yaml"),
               "--cores", "1", "-n", "-p"]
    result = subprocess.run(command, cwd=run, env=_environment(), capture_output=True,
                            text=True, timeout=300)
    output = _output(result)
    assert result.returncode == 0, output
    assert f"input: {package}/data/ecoli_k12_500kb.fna.gz" in output
    assert f"{package}/workflows/.test/crispri_K562_6chroms.GRCh38.tsv.gz" in output
    for folder in ("data", "workflows", "tests"):
        assert str(REPO / folder) not in output, folder


def test_workflow_help_names_the_snakefile():
    code, out, _ = run_cli("workflow", "--help")
    assert code == 0
    assert f"Snakefile: {snakefile()}" in out and "--configfile" in out
    assert f"Test config: {packaged_test_config()}" in out
    assert str(example_data_dir() / "ecoli_k12_500kb.fna.gz") in out and "--report" in out
    code, out, _ = run_cli("--help")
    assert code == 0 and "workflow" in out


def test_workflow_command_passes_arguments_through():
    command = snakemake_command(["--cores", "2", "-n", "--directory", "out"])
    assert command[:3] == [sys.executable, "-m", "snakemake"]
    assert command[3:] == ["-s", str(snakefile()), "--cores", "2", "-n", "--directory", "out"]
    assert snakemake_command(["-s", "my/Snakefile", "-n"])[3:] == ["-s", "my/Snakefile", "-n"]
    assert "-s" not in snakemake_command(["--snakefile=x", "-n"])[3:4]


def test_workflow_without_snakemake_is_a_one_line_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "snakemake" else real(name, *a))
    code, out, err = run_cli("workflow", "--cores", "1")
    assert code == 2 and out == ""
    assert err == ("genoseq: error: the workflow needs Snakemake: "
                   "pip install 'genoseq[workflow]'\n")


@needs_snakemake
def test_genoseq_workflow_dry_run_writes_to_the_working_directory(tmp_path):
    command = [sys.executable, "-m", "genoseq.cli", "workflow", "--configfile",
               str(TEST_CONFIG), "--cores", "1", "-n"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = _output(result)
    assert result.returncode == 0, output
    assert "predict_genes" in output and "This was a dry-run" in output
    assert (tmp_path / ".snakemake").is_dir()  # Snakemake's state: in the working directory


# --- genoseq.workflow steps ----------------------------------------------------------------

# 200 bp, no repeats that matter: the index of each base is easy to check.
_SEQUENCE = ("ATGAAACCCGGGTTTAAACCCGGGTTTAGGAGGTTTATGCCCAAATTTGGGCCCAAATTTGGGTAA"
             "GGCATCGATCGATTACGGATCCATGCATGCAAGCTTGGCACTGGCCGTCGTTTTACAACGTCGTGA"
             "CTGGGAAAACCCTGGCGTTACCCAACTTAATCGCCTTGCAGCACATCCCCCTTTCGCCAGCTGGCGTA")[:200]
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _revcomp(text: str) -> str:
    return text.translate(_COMPLEMENT)[::-1]


@pytest.fixture
def small_genome(tmp_path):
    genome = tmp_path / "genome.fa"
    genome.write_text(f">chr\n{_SEQUENCE}\n>plasmid\n{_SEQUENCE[:90]}\n")
    gff = tmp_path / "genes.gff"
    rows = [  # seqid, start, end (1-based), strand, id, partial
        ("chr", 101, 160, "+", "g1", "00"),  # 50 bp upstream: bases 51-100
        ("chr", 21, 80, "+", "g2", "00"),    # only 20 bp before the start
        ("chr", 1, 60, "+", "g3", "00"),     # nothing upstream: left out
        ("chr", 31, 90, "-", "g4", "00"),    # upstream: 91-140, reverse complement
        ("chr", 121, 180, "-", "g5", "00"),  # only 20 bp (181-200) before the edge
        ("chr", 61, 120, "+", "g6", "10"),   # runs off its 5' end: no start, left out
        ("plasmid", 31, 90, "+", "p1", "00"),
    ]
    lines = ["##gff-version 3", "##sequence-region chr 1 200", "##sequence-region plasmid 1 90"]
    for seqid, start, end, strand, gene, partial in rows:
        lines.append(f"{seqid}\tgenoseq\tCDS\t{start}\t{end}\t1.0\t{strand}\t0\t"
                     f"ID={gene};partial={partial}")
    gff.write_text("\n".join(lines) + "\n")
    return genome, gff


def _read_fasta(path: Path) -> dict:
    lines = path.read_text().splitlines()
    return dict(zip((line[1:] for line in lines[::2]), lines[1::2], strict=True))


def test_upstream_regions_are_strand_aware_and_clipped(small_genome, tmp_path):
    genome, gff = small_genome
    out = tmp_path / "upstream.fa"
    assert upstream_regions(genome, gff, out, length=50) == 5
    regions = _read_fasta(out)
    assert list(regions) == ["g1", "g2", "g4", "g5", "p1"]
    assert regions["g1"] == _SEQUENCE[50:100]
    assert regions["g2"] == _SEQUENCE[0:20]
    assert regions["g4"] == _revcomp(_SEQUENCE[90:140])
    assert regions["g5"] == _revcomp(_SEQUENCE[180:200])
    assert regions["p1"] == _SEQUENCE[:30]


def test_upstream_regions_reject_genes_on_unknown_sequences(small_genome, tmp_path):
    genome, gff = small_genome
    genome.write_text(f">other\n{_SEQUENCE}\n")
    with pytest.raises(ValueError, match="lies on 'chr', which is not in"):
        upstream_regions(genome, gff, tmp_path / "up.fa")
    assert not (tmp_path / "up.fa").exists()
    with pytest.raises(ValueError, match="upstream length must be >= 1"):
        upstream_regions(genome, gff, tmp_path / "up.fa", length=0)


def test_sample_summary_and_report(small_genome, tmp_path):
    genome, gff = small_genome
    upstream = tmp_path / "upstream.fa"
    upstream_regions(genome, gff, upstream, length=50)
    ss = tmp_path / "ss.tsv"
    ss.write_text("id\tsequence\tq3\tq8\ng1\tMKKA\tHHHE\tHHHE\ng2\tMKKAAA\tCCCCEE\tCCCCEE\n")
    hits = tmp_path / "hits.tsv"
    hits.write_text("record\tstart\tend\tstrand\tmotif\tname\tscore\trelative_score\n"
                    "g1\t1\t7\t+\tSD\tSD\t5.0\t0.9\ng1\t9\t15\t+\tSD\tSD\t4.0\t0.85\n"
                    "g4\t3\t9\t+\tSD\tSD\t4.5\t0.88\n")
    row = sample_summary("demo", genome, gff, ss, upstream, hits)
    assert list(row) == SUMMARY_COLUMNS
    assert row["genome_bp"] == 290 and row["records"] == 2 and row["genes"] == 7
    # chr: genes cover 1-180 (180 bp), plasmid: 31-90 (60 bp) of 290
    assert row["coding_density"] == round(240 / 290, 4)
    assert row["mean_gene_length"] == 60.0
    assert (row["ss_helix"], row["ss_strand"], row["ss_coil"]) == (0.3, 0.3, 0.4)
    assert row["upstream_bp"] == 50 + 20 + 50 + 20 + 30
    assert row["motif_hits"] == 3 and row["motif_hits_per_gene"] == round(3 / 7, 4)
    assert row["genes_with_motif"] == round(2 / 7, 4)

    summaries = []
    for name in ("one", "two"):
        path = tmp_path / f"{name}.tsv"
        pd.DataFrame([{**row, "sample": name}], columns=SUMMARY_COLUMNS).to_csv(
            path, sep="\t", index=False)
        summaries.append(path)
    frame = write_report(summaries, tmp_path / "report.tsv", tmp_path / "report.png")
    assert frame["sample"].tolist() == ["one", "two"]
    table = pd.read_csv(tmp_path / "report.tsv", sep="\t")
    assert list(table.columns) == SUMMARY_COLUMNS and len(table) == 2
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_workflow_module_errors_are_one_line(tmp_path):
    command = [sys.executable, "-m", "genoseq.workflow", "upstream", "-i",
               str(tmp_path / "missing.fa"), "--genes", str(tmp_path / "missing.gff"),
               "-o", str(tmp_path / "out.fa")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("genoseq.workflow: error: ")
    assert result.stderr.count("\n") == 1
