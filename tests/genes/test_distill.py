"""The student coding model (`genoseq train genes-student`): objective, training, saved model."""

import pytest
import torch
from conftest import write_ecoli_pieces

from genoseq.cli import main
from genoseq.device import ComputeOptions
from genoseq.genes.dataset import load_genome, read_genome_table, split_records, tiled_batches
from genoseq.genes.distill import (
    DistillationObjective,
    distill_coding_model,
    student_config,
    teacher_targets,
)
from genoseq.genes.finder import GeneFinder
from genoseq.genes.model import CodingModel
from genoseq.genes.networks import GeneModels, load_gene_models, save_gene_models
from genoseq.genes.scoring import DecoderParams, OverlapRules
from genoseq.nn.motif_cnn import MotifCNNConfig
from genoseq.nn.tagger import TaggerConfig
from genoseq.nn.train import TrainConfig, evaluate


def test_objective_is_the_kl_plus_the_labels_cross_entropy():
    torch.manual_seed(0)
    teacher = torch.log_softmax(torch.randn(2, 5, 7), -1)
    labels = torch.tensor([[0, 1, 2, -100, 3], [4, 5, 6, 0, -100]])
    targets = torch.cat([teacher, labels[..., None].float()], -1)
    logits = torch.randn(2, 5, 7)
    keep = labels != -100
    ce = torch.nn.functional.cross_entropy(logits[keep], labels[keep])
    log_q = torch.log_softmax(logits[keep], -1)
    kl = (teacher[keep].exp() * (teacher[keep] - log_q)).sum(-1).mean()
    assert DistillationObjective(0.0).loss(logits, targets) == pytest.approx(float(ce), rel=1e-5)
    assert DistillationObjective(1.0).loss(logits, targets) == pytest.approx(float(kl), rel=1e-5)
    assert DistillationObjective(0.25).loss(logits, targets) == pytest.approx(
        float(0.25 * kl + 0.75 * ce), rel=1e-5)
    # The teacher's own logits leave no KL: only the labels' part remains.
    own = DistillationObjective(1.0).loss(teacher, targets)
    assert float(own) == pytest.approx(0.0, abs=1e-5)
    total, right, count = DistillationObjective(0.0).summary(logits, targets)
    assert count == 8 and total == pytest.approx(8 * float(ce), rel=1e-5)
    assert right == int((logits[keep].argmax(-1) == labels[keep]).sum())
    with pytest.raises(ValueError, match="teacher_weight"):
        DistillationObjective(1.5)


def test_student_config_keeps_the_teacher_but_the_step():
    teacher = TaggerConfig(input_channels=7, n_classes=7, conv_channels=96, conv_kernel=12,
                           conv_layers=2, stride=6, hidden=96, lstm_layers=2, dropout=0.2)
    student = student_config(teacher)
    assert (student.stride, student.conv_kernel) == (12, 24)
    assert (student.hidden, student.lstm_layers, student.conv_channels) == (96, 2, 96)


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    """A small seeded teacher 'trained' on g0-g2 of the E. coli pieces, and its student."""
    folder = write_ecoli_pieces(tmp_path_factory.mktemp("genomes"), "g", 4, 30_000)
    torch.manual_seed(1)
    teacher = GeneModels(
        TaggerConfig(input_channels=7, n_classes=7, conv_channels=8, conv_kernel=12,
                     conv_layers=1, stride=6, hidden=8, lstm_layers=1, dropout=0.0),
        MotifCNNConfig(window=69, n_filters=4, filter_width=6, pool=3, hidden=0)).eval()
    params = DecoderParams(coding_weight=1.0, start_weight=1.0, gene_bias=1.0,
                           overlap=OverlapRules())
    out = tmp_path_factory.mktemp("models")
    save_gene_models(teacher, params, out / "teacher",
                     {"training_genomes": ["g0", "g1", "g2"], "held_out_genomes": ["g3"]})
    options = dict(config=TrainConfig(steps_per_epoch=40, max_epochs=3, patience=3,
                                      learning_rate=1e-2),
                   window=600, compute=ComputeOptions(device="cpu", batch_size=8),
                   teacher_weight=1.0, progress=False)
    metadata = distill_coding_model(folder, out / "teacher", out / "student", out / "run",
                                    **options)
    return folder, out, options, metadata


def test_student_learns_the_teachers_distribution(taught):
    folder, out, _, metadata = taught
    teacher, _, _, _ = load_gene_models(out / "teacher")
    student, _, _, _ = load_gene_models(out / "student")
    records = [r for e in read_genome_table(folder) if e.name != "g3" for r in load_genome(e)]
    _, valid = split_records(records, 0.1)
    batches = [(index, teacher_targets(teacher.coding, index, labels))
               for index, labels in tiled_batches(valid, 600, 8)]
    objective = DistillationObjective(1.0)
    torch.manual_seed(0)
    untrained = CodingModel(student.coding.config)
    before = evaluate(untrained, batches, torch.device("cpu"), objective)["loss"]
    after = evaluate(student.coding, batches, torch.device("cpu"), objective)["loss"]
    # The KL to the teacher falls to a fraction of an untrained student's.
    assert after < 0.5 * before
    assert metadata["coding_student"]["training_genomes"] == ["g0", "g1", "g2"]


def test_student_model_is_the_teacher_with_a_new_coding_network(taught):
    _, out, _, _ = taught
    teacher, params, adapted, _ = load_gene_models(out / "teacher")
    student, student_params, student_adapted, saved = load_gene_models(out / "student")
    assert student.coding.config.stride == 12 and student.coding.config.conv_kernel == 24
    assert student_params == params and student_adapted == adapted
    for mine, theirs in zip(student.start.state_dict().values(),
                            teacher.start.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)
    assert saved["coding_student"]["teacher"] == "teacher"
    assert saved["held_out_genomes"] == ["g3"]
    # The saved model predicts like any gene model, in numpy and in torch.
    finder = GeneFinder(out / "student", procedure="meta", meta_library=False)
    seq = b"ATG" + b"GCA" * 200 + b"TAA"
    assert finder.predict(seq * 3).genes is not None


def test_student_training_resumes_to_the_same_weights(taught, tmp_path):
    folder, out, options, _ = taught
    again = distill_coding_model(folder, out / "teacher", tmp_path / "again", out / "run",
                                 **options)
    assert again["coding_student"]["history"] == taught[3]["coding_student"]["history"]
    first = load_gene_models(out / "student")[0].coding.state_dict()
    second = load_gene_models(tmp_path / "again")[0].coding.state_dict()
    for name, value in first.items():
        assert torch.equal(value, second[name])


def test_teacher_without_training_genomes_is_refused(tiny_gene_model, tmp_path, capsys):
    folder = write_ecoli_pieces(tmp_path, "h", 1, 3_000)
    code = main(["train", "genes-student", "--genomes", str(folder), "--teacher",
                 str(tiny_gene_model), "-o", str(tmp_path / "s"), "--run-dir",
                 str(tmp_path / "run"), "-q"])
    assert code == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("genoseq: error: ") and "training genomes" in message


def test_shipped_model_is_the_student_of_the_shipped_teacher():
    from importlib import resources

    teacher_stem = resources.files("genoseq.weights") / "genes_teacher"
    teacher, _, _, teacher_metadata = load_gene_models(teacher_stem)
    student, _, student_adapted, metadata = load_gene_models()
    assert student.coding.config.stride == 12 and teacher.coding.config.stride == 6
    # The start detector is the teacher's, untouched.
    for mine, theirs in zip(student.start.state_dict().values(),
                            teacher.start.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)
    # The decoder weights were refitted on genomes neither network saw (session 13).
    refit = metadata["decoder_calibration_session_13"]["calibration"]
    assert refit["method"] == "separate genomes"
    assert not set(refit["genomes"]) & set(teacher_metadata["training_genomes"])
    assert not set(refit["genomes"]) & set(metadata["held_out_genomes"])
    assert student_adapted.self_training_rounds == 2
    taught = metadata["coding_student"]
    assert taught["teacher"] == "genes_teacher"
    assert taught["training_genomes"] == teacher_metadata["training_genomes"]
    assert not set(taught["training_genomes"]) & set(metadata["held_out_genomes"])
