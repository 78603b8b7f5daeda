"""A faster coding model taught by the shipped one: ``genoseq train genes-student``.

The decoder weights of a gene model (:class:`~genoseq.genes.scoring.DecoderParams`)
were fitted, out of fold, to the per-base coding log-probabilities of *its*
coding network: a coding network trained again from the labels alone would
need its own out-of-fold calibration (fold networks, hours on two cores).
A student that learns to give the teacher's per-base distribution keeps the
scale of those log-probabilities, so the teacher's decoder weights, start
detector and metagenome library stay valid, and only the coding network
changes: here a network with a longer recurrent step (stride 12, four codons
per step: half the recurrent steps of the teacher's stride 6).

The student's loss at every base of a training window is
``w · KL(teacher ‖ student) + (1 − w) · cross-entropy(reference label)``:
the reference annotation (the teacher's own training labels) stays in the
objective, the teacher's distribution carries its calibration. The windows
come from the teacher's training genomes only (never its held-out genomes,
never a reserved genus), drawn as the teacher's were
(:class:`~genoseq.genes.dataset.WindowSampler`), early stopping on the last
10% of every record.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genoseq import __version__
from genoseq.device import ComputeOptions
from genoseq.genes.dataset import (
    WindowSampler,
    load_genome,
    read_genome_table,
    split_records,
    tiled_batches,
)
from genoseq.genes.model import CodingModel
from genoseq.genes.networks import GeneModels, load_gene_models, save_gene_models
from genoseq.nn.configs import TaggerConfig
from genoseq.nn.train import IGNORE, TrainConfig, train_tagger

#: The student's architecture: the shipped coding model with four codons per
#: recurrent step (stride 12; the first convolution's kernel 24 spans the step
#: and six bases on each side, as kernel 12 does at stride 6).
STUDENT_OVERRIDES = {"stride": 12, "conv_kernel": 24}
#: Share of the teacher's distribution in the student's loss (the rest: the labels).
TEACHER_WEIGHT = 0.75
#: Optimisation of the student (as the shipped coding model's, fewer epochs: the
#: teacher's distribution is a richer target than one label per base). The
#: validation loss swings in the first epochs at this learning rate (as the
#: teacher's did), so patience spans the run: the best epoch is kept.
STUDENT_TRAINING = TrainConfig(steps_per_epoch=300, max_epochs=12, patience=12,
                               learning_rate=3e-3)


def student_config(teacher: TaggerConfig, **overrides) -> TaggerConfig:
    """The teacher's configuration with :data:`STUDENT_OVERRIDES` (and ``overrides``)."""
    return TaggerConfig.from_dict({**teacher.to_dict(), **STUDENT_OVERRIDES, **overrides})


class DistillationObjective:
    """Per-base ``w · KL(teacher ‖ student) + (1 − w) · cross-entropy`` over kept bases.

    Targets are float tensors ``(batch, length, n_classes + 1)``: the teacher's
    log-probabilities, then the reference label (``-100``: ignored base).
    """

    def __init__(self, teacher_weight: float = TEACHER_WEIGHT):
        if not 0.0 <= teacher_weight <= 1.0:
            raise ValueError(f"teacher_weight must lie in [0, 1], not {teacher_weight}")
        self.teacher_weight = teacher_weight

    def _per_base(self, logits: torch.Tensor, targets: torch.Tensor):
        labels = targets[..., -1].long()
        keep = labels != IGNORE
        teacher = targets[..., :-1][keep]
        log_q = torch.log_softmax(logits[keep].float(), dim=-1)
        kl = (teacher.exp() * (teacher - log_q)).sum(-1)
        ce = nn.functional.nll_loss(log_q, labels[keep], reduction="none")
        return self.teacher_weight * kl + (1 - self.teacher_weight) * ce, log_q, labels[keep]

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        per_base, _, _ = self._per_base(logits, targets)
        return per_base.mean()

    def summary(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, int, int]:
        """(summed loss, bases whose argmax is the reference label, kept bases)."""
        per_base, log_q, labels = self._per_base(logits, targets)
        return float(per_base.sum()), int((log_q.argmax(-1) == labels).sum()), len(labels)


def teacher_targets(teacher: CodingModel, index: torch.Tensor, labels: torch.Tensor
                    ) -> torch.Tensor:
    """Targets of :class:`DistillationObjective` for windows beginning on codon boundaries."""
    with torch.inference_mode():
        log_p = torch.log_softmax(teacher(index).float(), dim=-1)
    return torch.cat([log_p, labels[..., None].to(log_p.dtype)], dim=-1)


class TaughtSampler:
    """A :class:`WindowSampler`'s windows with the teacher's distribution beside the labels."""

    def __init__(self, sampler: WindowSampler, teacher: CodingModel):
        self.sampler = sampler
        self.teacher = teacher

    def __call__(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        index, labels = self.sampler(rng)
        return index, teacher_targets(self.teacher, index, labels)


def distill_coding_model(genomes_dir: str | os.PathLike, teacher_stem: str | os.PathLike | None,
                         out_stem: str | os.PathLike, run_dir: str | os.PathLike, *,
                         config: TrainConfig | None = None, window: int = 3000, seed: int = 0,
                         teacher_weight: float = TEACHER_WEIGHT,
                         overrides: dict | None = None,
                         compute: ComputeOptions | None = None, progress: bool = True) -> dict:
    """Train a student coding model on the teacher's training genomes; save a whole gene model.

    The saved model (``out_stem``.pt/.json) is the teacher's with the coding
    network replaced: same start detector, same decoder weights (both passes).
    ``teacher_stem`` None is the shipped model. Resumable from
    ``run_dir/student``. Returns the metadata written beside the weights.
    """
    from genoseq.genes.train import _check_not_reserved

    Path(out_stem).parent.mkdir(parents=True, exist_ok=True)
    compute = ComputeOptions() if compute is None else compute
    device = compute.torch_device()
    batch_size = compute.batch(32)
    config = replace(config or STUDENT_TRAINING, seed=seed)
    teacher_models, params, adapted, teacher_metadata = load_gene_models(teacher_stem)
    teacher = teacher_models.coding.to(device).eval()
    names = list(teacher_metadata.get("training_genomes") or [])
    if not names:
        where = "the shipped model" if teacher_stem is None else f"{os.fspath(teacher_stem)}.json"
        raise ValueError(f"{where} lists no training genomes: a student learns only on its "
                         "teacher's")
    entries = {e.name: e for e in read_genome_table(genomes_dir)}
    missing = sorted(set(names) - set(entries))
    if missing:
        raise ValueError(f"teacher's training genome(s) not in {genomes_dir}: {missing}")
    _check_not_reserved(Path(genomes_dir), names)
    records = [record for name in names for record in load_genome(entries[name])]
    train_records, valid_records = split_records(records, 0.1)

    torch.manual_seed(seed)
    student = CodingModel(student_config(teacher.config, **(overrides or {})))
    valid = [(index.to(device), teacher_targets(teacher, index.to(device), labels.to(device)))
             for index, labels in tiled_batches(valid_records, window, batch_size,
                                                max_windows=512)]
    result = train_tagger(
        student, TaughtSampler(WindowSampler(train_records, window, batch_size), teacher),
        valid, config, Path(run_dir) / "student", device=device,
        objective=DistillationObjective(teacher_weight), progress=progress)

    models = GeneModels(student.config, teacher_models.start.config)
    models.coding.load_state_dict(result.model.state_dict())
    models.start.load_state_dict(teacher_models.start.state_dict())
    metadata = {
        **teacher_metadata,
        "genoseq_version": __version__,
        "coding_student": {
            "teacher": "shipped" if teacher_stem is None else os.path.basename(
                os.fspath(teacher_stem)),
            "teacher_coding_config": teacher.config.to_dict(),
            "genomes_dir": os.fspath(genomes_dir),
            "training_genomes": names,
            "teacher_weight": teacher_weight,
            "window": window,
            "batch_size": batch_size,
            "seed": seed,
            "training": config.to_dict(),
            "history": result.history,
            "best_epoch": result.best_epoch,
        },
    }
    save_gene_models(models.cpu().eval(), params, out_stem, metadata, adapted=adapted)
    return metadata
