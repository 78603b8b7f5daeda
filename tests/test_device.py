import contextlib

import pytest
import torch

from genoseq import device as device_module
from genoseq.device import autocast_context, resolve_device, set_threads

HAS_CUDA = torch.cuda.is_available()


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    if request.param == "cuda" and not HAS_CUDA:
        pytest.skip("no CUDA GPU")
    return torch.device(request.param)


@pytest.mark.parametrize("spec", ["cpu", "CPU", " cpu ", torch.device("cpu")])
def test_cpu(spec):
    assert resolve_device(spec) == torch.device("cpu")


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    assert resolve_device() == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert resolve_device(None) == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


@pytest.mark.parametrize(
    "spec", ["gpu", "cuda:", "cuda:x", "cuda1", "tpu", "", torch.device("meta")]
)
def test_unknown_device(spec):
    with pytest.raises(ValueError, match="expected auto, cpu, cuda, cuda:N or mps"):
        resolve_device(spec)


def test_unknown_device_message_names_it():
    with pytest.raises(ValueError, match="unknown device 'x'"):
        resolve_device("x")


@pytest.mark.skipif(HAS_CUDA, reason="CUDA is available here")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "CUDA:1"])
def test_cuda_requested_but_absent(spec):
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device(spec)


def test_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(RuntimeError, match=r"only 2 CUDA device\(s\)"):
        resolve_device("cuda:2")


def test_mps_requested_but_absent(monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    with pytest.raises(RuntimeError, match="MPS is not available"):
        resolve_device("mps")


def test_autocast_is_a_no_op_off_cuda():
    context = autocast_context("cpu")
    assert isinstance(context, contextlib.nullcontext)
    with context:
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_autocast_on_device(device):
    x = torch.ones(4, 4, device=device)
    with autocast_context(device):
        y = x @ x
    if device.type == "cuda":
        assert y.dtype in (torch.bfloat16, torch.float16)
    else:
        assert y.dtype == torch.float32
    assert float(y[0, 0]) == 4.0


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA GPU")
def test_auto_picks_cuda_when_present():
    assert resolve_device().type == "cuda"


def test_set_threads():
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1
        assert torch.get_num_threads() == 1
        assert set_threads(None) == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="at least 1"):
        set_threads(0)


def test_fp32_inference_keeps_cuda_off_tf32(device):
    from genoseq.device import inference_autocast

    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    with inference_autocast(device, "fp32"):
        if device.type == "cuda":
            assert not torch.backends.cudnn.allow_tf32
            assert not torch.backends.cuda.matmul.allow_tf32
        x = torch.ones(4, 4, device=device)
        assert (x @ x).dtype == torch.float32
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before
