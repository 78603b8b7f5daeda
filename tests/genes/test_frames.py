"""Open-frame input channels of the coding model: values, padding, tables, training, inference."""

import numpy as np
import pytest
import torch
from conftest import DATA

from genoseq.device import ComputeOptions
from genoseq.encoding import codon_lookup, dna_to_index
from genoseq.genes.dataset import LabelledRecord, WindowSampler, tiled_batches
from genoseq.genes.finder import GeneFinder
from genoseq.genes.frames import N_FRAME_CHANNELS, frame_channels, stop_codons
from genoseq.genes.model import CodingModel, default_config
from genoseq.genes.networks import GeneModels
from genoseq.genes.scoring import DecoderParams
from genoseq.genes.train import train_networks
from genoseq.io import read_fasta
from genoseq.nn.train import TrainConfig

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def brute_force(seq: str, table: int, offset: int = 0) -> np.ndarray:
    """Codon counts to the nearest in-frame stops, walking codon by codon (the definition)."""
    stops = {c for c, is_stop in zip(
        ("".join(t) for t in __import__("itertools").product("ACGT", repeat=3)),
        codon_lookup(table).stop_mask[:64], strict=True) if is_stop}
    length = len(seq)

    def plus_stop(p):  # triplet on p..p+2 read on the + strand
        return p + 3 <= length and seq[p:p + 3] in stops

    def minus_stop(p):  # triplet on p..p+2 read on the - strand
        triplet = seq[p:p + 3]
        return p + 3 <= length and "".join(COMPLEMENT.get(b, "N") for b in triplet[::-1]) in stops

    out = np.zeros((length, 12))
    for i in range(length):
        for frame in range(3):
            # + strand: the codon of this frame holding base i starts at c ≡ frame (mod 3).
            first = (frame - offset) % 3
            c = max(i - ((i - first) % 3), first) if i >= first else first
            columns = list(range(first, length, 3))
            k = columns.index(c) if c in columns else len(columns) - 1
            down = next((j - k for j in range(k, len(columns)) if plus_stop(columns[j])),
                        len(columns) - k)
            up = next((k - j for j in range(k - 1, -1, -1) if plus_stop(columns[j])), k + 1)
            if plus_stop(columns[k]):
                down, up = 0, 0
            out[i, frame], out[i, 3 + frame] = down, up
            # - strand: triplets p..p+2 with (p + 2 + offset) ≡ frame; downstream is to the left.
            first = (frame - offset - 2) % 3
            columns = list(range(first, length, 3))
            c = max(i - ((i - first) % 3), first) if i >= first else first
            k = columns.index(c) if c in columns else len(columns) - 1
            left = next((k - j for j in range(k - 1, -1, -1) if minus_stop(columns[j])), k + 1)
            right = next((j - k for j in range(k, len(columns)) if minus_stop(columns[j])),
                         len(columns) - k)
            if minus_stop(columns[k]):
                left, right = 0, 0
            out[i, 6 + frame], out[i, 9 + frame] = left, right
    return np.log2(1 + out) / 10


@pytest.mark.parametrize("table,offset", [(11, 0), (11, 1), (4, 2), (25, 0)])
def test_channels_match_a_codon_by_codon_walk(table, offset):
    rng = np.random.default_rng(table + offset)
    seq = "".join(rng.choice(list("ACGT"), size=200, p=[0.3, 0.2, 0.2, 0.3]))
    seq = seq[:90] + "NN" + seq[92:]
    got = frame_channels(torch.from_numpy(dna_to_index(seq).astype(np.int64))[None],
                         stop_codons(table), offset)[0].numpy()
    assert got.shape == (200, N_FRAME_CHANNELS)
    np.testing.assert_allclose(got, brute_force(seq, table, offset), atol=1e-6)


def test_table_changes_the_channels_only_where_its_stops_differ():
    seq = "ATG" + "TGA" * 10 + "AAA" * 10  # TGA: stop in table 11, Trp in table 4
    index = torch.from_numpy(dna_to_index(seq).astype(np.int64))[None]
    eleven, four = frame_channels(index, stop_codons(11)), frame_channels(index, stop_codons(4))
    assert eleven[0, 0, 0] == 0.2 / 2  # next + strand stop in frame 0: the TGA one codon on
    assert four[0, 0, 0] > eleven[0, 0, 0]
    assert torch.equal(frame_channels(index), eleven)  # table 11 by default


def test_padded_rows_get_what_they_get_alone():
    rng = np.random.default_rng(3)
    lengths = [600, 451, 37]
    index = torch.full((3, 600), 4, dtype=torch.long)
    rows = []
    for r, n in enumerate(lengths):
        row = torch.from_numpy(rng.integers(0, 4, size=n))
        index[r, :n] = row
        rows.append(row)
    padded = frame_channels(index, stop_codons(11), 0, torch.tensor(lengths))
    model = CodingModel(default_config(frames=True)).eval()
    with torch.no_grad():
        logits = model(index, lengths=torch.tensor(lengths))
        for r, row in enumerate(rows):
            alone = frame_channels(row[None], stop_codons(11))[0]
            assert torch.equal(padded[r, :lengths[r]], alone)
            torch.testing.assert_close(logits[r, :lengths[r]], model(row[None])[0],
                                       atol=1e-5, rtol=1e-5)


def test_models_without_the_channels_keep_seven_inputs():
    model = CodingModel()
    assert not model.uses_frames and model.config.input_channels == 7
    assert CodingModel(default_config(frames=True)).config.input_channels == 19
    with pytest.raises(ValueError, match="input_channels"):
        CodingModel(default_config().__class__(input_channels=8, n_classes=7))


def _records():
    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq[:30_000]
    index = dna_to_index(seq)
    frames = np.zeros(len(index), dtype=np.int8)
    starts = np.zeros(len(index), dtype=np.uint8)
    return [LabelledRecord("a", "a", index, frames, starts, [], 11),
            LabelledRecord("b", "b", index.copy(), frames, starts, [], 4)]


def test_sampler_draws_the_same_windows_with_the_tables_stops():
    records = _records()
    plain = WindowSampler(records, 300, 8)(np.random.default_rng(0))
    inputs, targets = WindowSampler(records, 300, 8, stops=True)(np.random.default_rng(0))
    assert torch.equal(inputs["index"], plain[0]) and torch.equal(targets, plain[1])
    picks = np.random.default_rng(0).choice(2, size=8, p=[0.5, 0.5])
    for row, pick in enumerate(picks):
        assert torch.equal(inputs["stops"][row], stop_codons(11 if pick == 0 else 4))
    batches = tiled_batches(records, 3000, 4, stops=True)
    tables = [row for inputs, _ in batches for row in inputs["stops"]]
    assert sum(torch.equal(t, stop_codons(4)) for t in tables) == 10  # 30 kb of record b


def test_networks_train_on_dict_inputs_and_the_finder_passes_its_table(tmp_path):
    seq = next(read_fasta(DATA / "ecoli_k12_500kb.fna.gz")).seq
    from genoseq.genes.labels import coding_labels
    from genoseq.genes.model import codon_position_to_frame
    from genoseq.io.gff import read_gff3_cds

    cds = read_gff3_cds(DATA / "ecoli_k12_500kb.gff3").by_seqid()
    seqid = next(iter(cds))
    genes = [c for c in cds[seqid] if c.end <= 60_000]
    labels, starts = coding_labels(60_000, genes)
    record = LabelledRecord("g", seqid, dna_to_index(seq[:60_000]),
                            codon_position_to_frame(labels).astype(np.int8), starts, genes, 11)
    tiny = TrainConfig(steps_per_epoch=25, max_epochs=2, patience=2, learning_rate=1e-2, seed=0)
    models, trained = train_networks([record.slice(0, 48_000)], [record.slice(48_000, 60_000)],
                                     tiny, tiny, tmp_path, window=600, batch_size=4, seed=0,
                                     device=torch.device("cpu"), progress=False, frames=True)
    assert models.coding.uses_frames
    losses = [h["train_loss"] for h in trained["coding_history"]]
    assert losses[-1] < losses[0]  # the loop learns on dict inputs
    piece = seq[:3000]
    out = {}
    for table in (11, 4):
        finder = GeneFinder.from_models(models, DecoderParams(), translation_table=table,
                                        compute=ComputeOptions(device="cpu", precision="fp32"))
        assert torch.equal(finder.networks.stops.cpu(), stop_codons(table))
        out[table] = finder.networks.coding_logits_many([dna_to_index(piece)])[0]
    assert not np.allclose(out[11], out[4])  # the table reaches the network
    plain = GeneFinder.from_models(GeneModels(), DecoderParams())
    assert plain.networks.stops is None
