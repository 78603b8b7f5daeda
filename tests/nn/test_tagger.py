"""BiLSTMTagger with ``lengths``: padded batches give each row the result it has alone."""

import pytest
import torch

from genoseq.nn.tagger import BiLSTMTagger, TaggerConfig


@pytest.fixture
def one_thread():
    """Tiny models: more threads only spin on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("stride, kernel", [(1, 5), (6, 12)])
def test_lengths_make_padding_irrelevant(stride, kernel, one_thread):
    torch.manual_seed(0)
    tagger = BiLSTMTagger(TaggerConfig(input_channels=4, n_classes=3, conv_channels=8,
                                       conv_kernel=kernel, conv_layers=2, stride=stride,
                                       hidden=8, lstm_layers=2, dropout=0.0)).eval()
    x = torch.randn(2, 61, 4)
    with torch.inference_mode():
        full = tagger(x)
        full_with_lengths = tagger(x, torch.tensor([61, 61]))
        padded = tagger(torch.cat([x[:1], torch.cat([x[1:, :30], torch.randn(1, 31, 4)], 1)]),
                        torch.tensor([61, 30]))
        alone = tagger(x[1:, :30])
    torch.testing.assert_close(full_with_lengths, full, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(padded[0], full[0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(padded[1, :30], alone[0], atol=1e-6, rtol=1e-5)
