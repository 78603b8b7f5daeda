"""The shared inference engine: windows cover every position once, padding and batch partners never change a result."""

import numpy as np
import pytest
import torch

from genoseq.nn.inference import length_batches, predict_positions, window_rows
from genoseq.nn.tagger import BiLSTMTagger, TaggerConfig

CPU = torch.device("cpu")


@pytest.mark.parametrize("length", [1, 5, 59, 60, 61, 200, 1001])
def test_windows_keep_every_position_exactly_once(length):
    values = np.arange(length) % 4
    rows = window_rows([values], window=60, context=9, multiple=3, pad_value=4)
    kept = np.zeros(length, dtype=int)
    for row in rows:
        assert row.size <= 60 and row.size % 3 == 0
        kept[row.first:row.stop] += 1
        # The row's middle is the sequence itself, its context the neighbours or padding.
        middle = row.padded[row.first + 9:row.first + 9 + row.stop - row.first]
        np.testing.assert_array_equal(middle, values[row.first:row.stop])
    assert (kept == 1).all()


@pytest.mark.parametrize("length", [1, 5, 59, 60, 61, 200, 1001])
def test_rows_kept_inside_the_sequence_keep_its_positions_and_interior_rows(length):
    values = (np.arange(length) % 4).astype(np.uint8)
    padded = window_rows([values], window=60, context=9, multiple=3, pad_value=4)
    inside = window_rows([values], window=60, context=9, multiple=3, pad_value=4,
                         edge_padding=False)
    assert [(r.first, r.stop) for r in inside] == [(r.first, r.stop) for r in padded]
    rounded = 3 * -(-length // 3)
    assert {row.size for row in inside} == {min(padded[0].size, rounded)}  # one size
    for row, full in zip(inside, padded, strict=True):
        begin = row.first - row.lead  # the row's first position in the sequence
        assert begin % 3 == 0 and 0 <= begin and begin + row.size <= rounded
        assert row.lead >= min(row.first, 9)  # at least its context, or all there is
        assert row.size - row.lead - (row.stop - row.first) >= min(rounded - row.stop, 9)
        # Pad values only to round the sequence up to codons.
        assert np.count_nonzero(row.values == 4) == max(begin + row.size - length, 0)
        np.testing.assert_array_equal(row.values[row.lead:row.lead + row.stop - row.first],
                                      values[row.first:row.stop])
        if row.first >= 9 and row.first - 9 + full.size <= length:
            np.testing.assert_array_equal(row.values, full.values)  # interior: unchanged


def test_a_sequence_shorter_than_a_window_is_one_row_of_its_own_bases():
    values = np.arange(100, dtype=np.uint8) % 4
    row, = window_rows([values], window=600, context=90, multiple=3, pad_value=4,
                       edge_padding=False)
    assert (row.size, row.lead, row.first, row.stop) == (102, 0, 0, 100)
    np.testing.assert_array_equal(row.values[:100], values)
    assert (row.values[100:] == 4).all()


def test_window_must_exceed_its_context():
    with pytest.raises(ValueError, match="context"):
        window_rows([np.zeros(10, np.uint8)], window=18, context=9)


def windowed_sum(batch, lengths):
    """Each position's output: the sum of the inputs 3 either side (zero-padded)."""
    x = batch.float().unsqueeze(1)
    return torch.nn.functional.conv1d(x, torch.ones(1, 1, 7), padding=3).transpose(1, 2)


def test_stitched_windows_equal_the_whole_sequence_when_context_covers_the_model():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 5, size=n).astype(np.uint8) for n in (0, 7, 130, 999)]
    got = predict_positions(windowed_sum, seqs, channels=1, device=CPU, budget=200,
                            window=48, context=3, multiple=3)
    assert got[0].shape == (0, 1)
    for values, out in zip(seqs[1:], got[1:], strict=True):
        expected = np.convolve(values.astype(float), np.ones(7), mode="same")
        np.testing.assert_allclose(out[:, 0], expected)


@pytest.mark.parametrize("edge_padding", [True, False])
def test_results_do_not_depend_on_batch_partners_or_padding(edge_padding):
    torch.manual_seed(0)
    tagger = BiLSTMTagger(TaggerConfig(input_channels=5, n_classes=3, conv_channels=8,
                                       conv_kernel=5, conv_layers=1, hidden=8, lstm_layers=1,
                                       dropout=0.0)).eval()

    def forward(batch, lengths):
        return tagger(torch.nn.functional.one_hot(batch.long(), 5).float(), lengths)

    rng = np.random.default_rng(1)
    seqs = [rng.integers(0, 4, size=n).astype(np.uint8) for n in (3, 40, 41, 90, 17, 250)]
    options = dict(channels=3, device=CPU, budget=400, pad_value=4, window=60, context=9,
                   multiple=3, edge_padding=edge_padding)
    together = predict_positions(forward, seqs, **options)
    for values, out in zip(seqs, together, strict=True):
        alone = predict_positions(forward, [values], **options)[0]
        np.testing.assert_allclose(out, alone, atol=1e-6)
        if not edge_padding and len(values) <= 42:
            # One row: the sequence alone, no context; pad values round it to codons.
            row = np.full(3 * -(-len(values) // 3), 4, dtype=np.uint8)
            row[:len(values)] = values
            whole = forward(torch.from_numpy(row[None]), None)[0].detach().numpy()
            np.testing.assert_allclose(out, whole[:len(values)], atol=1e-6)


def test_batches_respect_the_row_limit_and_budget():
    shapes = []

    def forward(batch, lengths):
        shapes.append(tuple(batch.shape))
        return torch.zeros(*batch.shape, 2)

    seqs = [np.ones(n, np.uint8) for n in (10, 10, 10, 10, 10, 50, 300)]
    predict_positions(forward, seqs, channels=2, device=CPU, budget=100, max_rows=3)
    assert shapes[0] == (1, 300)  # longer than the budget: a batch of its own
    assert all(rows * longest <= 100 for rows, longest in shapes[1:])
    assert all(rows <= 3 for rows, _ in shapes)
    assert sum(rows for rows, _ in shapes) == len(seqs)


def test_length_batches_group_the_shortest_first():
    groups = length_batches([5, 1, 3, 2, 4], max_residues=6)
    assert [g.tolist() for g in groups] == [[1, 3], [2], [4], [0]]


def test_spans_run_only_the_windows_they_need_each_as_in_a_full_run():
    torch.manual_seed(2)
    tagger = BiLSTMTagger(TaggerConfig(input_channels=5, n_classes=3, conv_channels=8,
                                       conv_kernel=5, conv_layers=1, hidden=8, lstm_layers=1,
                                       dropout=0.0)).eval()
    rows_seen = []

    def forward(batch, lengths):
        rows_seen.append(batch.shape[0])
        return tagger(torch.nn.functional.one_hot(batch.long(), 5).float(), lengths)

    rng = np.random.default_rng(3)
    seqs = [rng.integers(0, 4, size=n).astype(np.uint8) for n in (500, 90, 700)]
    options = dict(channels=3, device=CPU, budget=10_000, window=60, context=9, multiple=3,
                   pad_value=4)
    full = predict_positions(forward, seqs, **options)
    n_full = sum(rows_seen)
    rows_seen.clear()
    spans = [np.array([[100, 130], [400, 401]]), None, np.array([[0, 5]])]
    part = predict_positions(forward, seqs, spans=spans, **options)
    # Windows keep 42 positions each: 100-130 lies in one or two, 400 in one, 0-5 in one.
    assert 3 <= sum(rows_seen) <= 4 < n_full
    for ranges, got, want in zip(spans, part, full, strict=True):
        for lo, hi in ([] if ranges is None else ranges.tolist()):
            np.testing.assert_allclose(got[lo:hi], want[lo:hi], atol=1e-6)
