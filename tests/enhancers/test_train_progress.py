"""``genoseq train enhancer``'s progress: no bar off a terminal, the bar ends where training stopped."""

import io
import re

import pandas as pd
from conftest import TEST_DATA

from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.enhancers.model import EnhancerModelConfig, load_enhancer_model
from genoseq.enhancers.train import EnhancerTrainConfig, train_enhancer_model

SLICE = TEST_DATA / "enhancer" / "crispri_K562_6chroms.GRCh38.tsv.gz"


def test_no_bar_when_stderr_is_not_a_terminal_and_summary_names_both_steps(tmp_path, capsys):
    stem = tmp_path / "small"
    out, err = io.StringIO(), io.StringIO()  # not terminals
    code = main(["train", "enhancer", "--pairs", str(SLICE), "-o", str(stem),
                 "--max-steps", "40", "--threads", "1"], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    captured = capsys.readouterr()
    assert err.getvalue() == "" and captured.err == ""
    _, metadata = load_enhancer_model(stem)
    assert 1 <= metadata["steps"] <= metadata["steps_run"] <= 40
    assert (f"(best at step {metadata['steps']}; training stopped at step "
            f"{metadata['steps_run']})") in out.getvalue()


def test_bar_ends_at_the_step_training_stopped_at(capsys):
    table = pd.read_csv(SLICE, sep="\t")
    settings = EnhancerTrainConfig(max_steps=500, patience=10, eval_every=10)
    _, metadata = train_enhancer_model(table, EnhancerModelConfig(), settings,
                                       compute=ComputeOptions(progress=True, threads=1))
    stopped = metadata["steps_run"]
    assert metadata["steps"] <= stopped < 500  # early stopping ended it
    err = capsys.readouterr().err
    counts = re.findall(r"(\d+)/(\d+) \[", err)
    assert counts and counts[-1] == (str(stopped), str(stopped)), err[-300:]
