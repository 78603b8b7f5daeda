import os
import re
import shlex

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def schema_problem(error):
    """'where: what' of the jsonschema error inside a snakemake validation error."""
    problem = error.__context__
    if not hasattr(problem, "absolute_path"):
        return str(error)
    where = ".".join(str(part) for part in problem.absolute_path)
    return f"{where}: {problem.message}" if where else problem.message


try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError as error:
    raise WorkflowError(f"invalid config: {schema_problem(error)}") from None


def locate(path, *folders):
    """A config path: as given if it exists (absolute, or from the working
    directory), else the first existing one under `folders`; as given when none does."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    for folder in folders:
        candidate = os.path.join(os.path.realpath(folder), path)
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return path


def read_samples(path):
    if not os.path.isfile(path):
        raise WorkflowError(f"config 'samples': sample sheet {path} not found")
    sheet = pd.read_csv(
        path, sep="\t", comment="#", dtype={"sample": str, "genome": str}
    )
    try:
        validate(sheet, schema="../schemas/samples.schema.yaml")
    except WorkflowError as error:
        found = re.search(r"row (\d+)", str(error))
        which = ""
        if found:
            row = int(found.group(1))
            name = sheet["sample"].iloc[row] if "sample" in sheet.columns else None
            which = (
                f"sample {name!r}: " if isinstance(name, str) else f"row {row + 1}: "
            )
        raise WorkflowError(
            f"invalid sample sheet {path}: {which}{schema_problem(error)}"
        ) from None
    if sheet.empty:
        raise WorkflowError(f"sample sheet {path}: no samples")
    repeated = sheet["sample"][sheet["sample"].duplicated()].unique().tolist()
    if repeated:
        raise WorkflowError(f"sample sheet {path}: repeated sample names {repeated}")
    folder = os.path.dirname(os.path.realpath(path))
    sheet["genome"] = [locate(genome, folder) for genome in sheet["genome"]]
    for name, genome in zip(sheet["sample"], sheet["genome"]):
        if not os.path.exists(genome):
            raise WorkflowError(
                f"sample sheet {path}: sample {name!r}: genome {genome} not found"
            )
    sheet["table"] = sheet["table"].astype(int)
    return sheet.set_index("sample", drop=False)


SAMPLES_SHEET = locate(config["samples"], workflow.basedir)
samples = read_samples(SAMPLES_SHEET)
MOTIF_FILE = locate(config["motifs"]["file"], workflow.basedir)
ENHANCER_PAIRS = {
    name: locate(path, workflow.basedir)
    for name, path in config["enhancer"]["pairs"].items()
}
RESOURCES = config["resources"]
DEVICE = RESOURCES["device"]


wildcard_constraints:
    sample="|".join(map(re.escape, samples.index)),
    pairs="[A-Za-z0-9._-]+",


def genome_of(wildcards):
    return samples.loc[wildcards.sample, "genome"]


def table_of(wildcards):
    return int(samples.loc[wildcards.sample, "table"])


def predict_options():
    settings = config["predict"]
    options = ["-p", settings["procedure"], "--min-len", str(settings["min_len"])]
    if settings["closed"]:
        options.append("-c")
    if settings["mask"]:
        options.append("-m")
    return " ".join(options)


def scan_options():
    settings = config["motifs"]
    options = ["--min-relative", str(settings["min_relative"])]
    if settings["names"]:
        options += ["--names", shlex.quote(settings["names"])]
    if settings["forward_only"]:
        options.append("--forward-only")
    return " ".join(options)


def all_targets():
    targets = expand(
        "results/{sample}/{name}",
        sample=samples.index,
        name=[
            "genes.gff",
            "proteins.faa",
            "genes.ffn",
            "ss.tsv",
            "upstream_motifs.tsv",
            "summary.tsv",
        ],
    )
    targets += ["results/report.tsv", "results/report.png"]
    targets += expand("results/enhancer/{pairs}.scored.tsv", pairs=ENHANCER_PAIRS)
    return targets
