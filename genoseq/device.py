"""Choosing the device, mixed precision and CPU threads for PyTorch work.

Every model takes one :class:`ComputeOptions` (device, precision, batch size,
threads, progress) and passes its device through :func:`resolve_device`, so the
same code runs on CUDA, Apple MPS or the CPU.

torch is imported only by the functions that need it: :func:`resolves_to_cpu`,
:func:`resolve_precision` on a device named by a string,
:func:`cpu_has_native_bf16` and :func:`free_cpus` run without it, so that a
small input can be predicted by the torch-free networks
(:mod:`genoseq.genes.numpy_networks`) without paying for importing torch.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = [
    "INT8", "PRECISIONS", "ComputeOptions", "autocast_context", "cpu_has_native_bf16", "inference_autocast",
    "resolve_precision", "resolves_to_cpu",
    "free_cpus", "resolve_device", "set_threads",
]

_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(?::\d+)?")
#: Files present wherever a GPU driver that torch could use is installed: NVIDIA's
#: (CUDA), AMD's kernel driver (ROCm builds of torch answer as CUDA) and WSL's GPU
#: device. Where none exists, ``torch.cuda.is_available()`` is False.
_GPU_DRIVER_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd",
                     "/dev/dxg")


def _mps_available() -> bool:
    import torch

    return torch.backends.mps.is_available()


def _device_text(device) -> str:
    if device is None:
        return "auto"
    if isinstance(device, str):
        return device.strip().lower()
    return str(device)  # a torch.device: "cpu", "cuda:0", ...


def resolves_to_cpu(device) -> bool:
    """Whether ``device`` (as :func:`resolve_device` takes it) is the CPU, decided without torch.

    True for "cpu" (or a CPU ``torch.device``), and for None/"auto" on a
    machine where no GPU driver is installed (no NVIDIA or AMD driver, not
    WSL's GPU, not macOS with its MPS): there ``resolve_device`` could only
    answer the CPU. False otherwise, including where only torch can tell.
    """
    text = _device_text(device)
    if text == "cpu":
        return True
    if text != "auto":
        return False
    if sys.platform == "darwin":
        return False
    return not any(os.path.exists(path) for path in _GPU_DRIVER_FILES)


def _device_type(device) -> str:
    """The type ("cpu", "cuda", "mps") of a device or device string, without importing torch."""
    if hasattr(device, "type"):
        return device.type
    text = _device_text(device)
    if text == "cpu" or (text == "auto" and resolves_to_cpu(text)):
        return "cpu"
    if text == "auto":
        return resolve_device(text).type
    import torch

    return torch.device(text).type


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn a user's device choice into an available :class:`torch.device`.

    Parameters
    ----------
    device : str, torch.device or None
        ``None`` or ``"auto"``: CUDA if available, else MPS if available, else
        the CPU. Otherwise ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``
        (case and surrounding spaces ignored), or a ``torch.device`` of one of
        those types.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        The string names no device genoseq supports.
    RuntimeError
        CUDA or MPS was asked for but is not available, or ``cuda:N`` names a
        GPU that does not exist.
    """
    import torch

    if isinstance(device, torch.device):
        text = str(device)
    elif device is None:
        text = "auto"
    else:
        text = str(device).strip().lower()
    if not _DEVICE_PATTERN.fullmatch(text):
        raise ValueError(f"unknown device {device!r}: expected auto, cpu, cuda, cuda:N or mps")
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    resolved = torch.device(text)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {text!r} was requested but CUDA is not available "
                "(no GPU, or a PyTorch build without CUDA); use device='cpu' or 'auto'"
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise RuntimeError(
                f"device {text!r} was requested but only {count} CUDA device(s) exist "
                f"(cuda:0 to cuda:{count - 1})"
            )
    elif resolved.type == "mps" and not _mps_available():
        raise RuntimeError(
            f"device {text!r} was requested but MPS is not available; use device='cpu' or 'auto'"
        )
    return resolved


def autocast_context(
    device: str | torch.device,
) -> contextlib.AbstractContextManager:
    """Mixed-precision context for inference on ``device``.

    On CUDA this is :class:`torch.autocast` with bfloat16 on GPUs with native
    bfloat16 (compute capability 8.0, Ampere, and newer) and float16 on older
    ones, where bfloat16 would only be emulated. On every other device it does
    nothing, so CPU results stay in float32.

    Parameters
    ----------
    device : str or torch.device
        A device as returned by :func:`resolve_device`.
    """
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return contextlib.nullcontext()
    major, _ = torch.cuda.get_device_capability(device)
    dtype = torch.bfloat16 if major >= 8 else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether the CPU has bfloat16 arithmetic instructions (AVX512-BF16 or AMX-BF16).

    Read from the ``flags`` line of ``/proc/cpuinfo``; False where that file
    does not exist (macOS, Windows), so those machines keep float32.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return bool({"avx512_bf16", "amx_bf16"} & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


#: Values of the ``precision`` option of genoseq's predictors.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: A further ``precision`` of the secondary-structure predictor only: its recurrent and
#: output layers dynamically quantized to 8-bit integers, on the CPU
#: (:func:`genoseq.structure.predict.predict_probabilities`).
INT8 = "int8"


def _check_precision(precision: str) -> None:
    if precision == INT8:
        raise ValueError("precision 'int8' is offered by the secondary-structure predictor "
                         "only; expected one of " + ", ".join(PRECISIONS))
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: expected one of {', '.join(PRECISIONS)}")


def resolve_precision(device: str | torch.device, precision: str = "auto") -> str:
    """The arithmetic ``precision`` stands for on ``device``, for :func:`inference_autocast`.

    "auto" on the CPU is "bf16" where the processor has native bf16
    instructions (:func:`cpu_has_native_bf16`; about 1.6-2× faster there) and
    "fp32" elsewhere; on CUDA it stays "auto" (bf16 or fp16 mixed precision);
    on other devices it is "fp32". Other values are returned unchanged.
    """
    _check_precision(precision)
    kind = _device_type(device)
    if precision != "auto" or kind == "cuda":
        return precision
    return "bf16" if kind == "cpu" and cpu_has_native_bf16() else "fp32"


@contextlib.contextmanager
def full_float32(device: str | torch.device):
    """Plain float32 arithmetic: on CUDA, TF32 tensor cores switched off for the block.

    cuDNN may run float32 convolutions and recurrent layers in TF32 (10-bit
    mantissa) by default; results meant to equal float32 reference values
    (an fp32 recheck, a CPU comparison) need it off. No effect elsewhere.
    """
    if _device_type(device) != "cuda":
        yield
        return
    import torch

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def inference_autocast(
    device: str | torch.device, precision: str = "auto"
) -> contextlib.AbstractContextManager:
    """Autocast context for inference at a chosen precision.

    Parameters
    ----------
    device : str or torch.device
        A device as returned by :func:`resolve_device`.
    precision : {"auto", "fp32", "bf16", "fp16"}
        "auto" is :func:`autocast_context` (mixed precision on CUDA, float32
        elsewhere); "fp32" never autocasts (and keeps CUDA off TF32,
        :func:`full_float32`); "bf16" and "fp16" autocast to that
        type on any device (on the CPU, bf16 is fast on processors with
        native bf16 instructions and fp16 is rarely faster).

    Raises
    ------
    ValueError
        ``precision`` is not one of the above.
    """
    _check_precision(precision)
    if precision == "auto":
        return autocast_context(device)
    if precision == "fp32":
        return full_float32(device)
    import torch

    device = torch.device(device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _running_elsewhere() -> float:
    """Processes running or waiting for a CPU now, this one excluded.

    Linux's instantaneous count (``/proc/loadavg``'s fourth field), not the
    1-minute load average, which still holds the load of a genoseq run that
    just ended and would cut the threads of every run in a sequential loop.
    Elsewhere, the load average.
    """
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            return float(int(handle.read().split()[3].split("/")[0]) - 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def free_cpus() -> int:
    """CPUs this process may use that other processes do not already keep busy (at least 1).

    The CPUs of the process's affinity mask (what ``taskset``, a cgroup cpuset
    or a batch scheduler allots). Where that mask is the whole machine, the
    processes running elsewhere are taken off: OpenMP threads that find their
    cores busy wait for one another, and beside two CPU-bound processes on two
    cores a run with two threads took 2-6 times as long as idle, with one
    thread 1.4 times (``benchmarks/results/shared_cpu.md``). Where the mask is
    a subset, the load on the other CPUs is someone else's and the allotment
    is used whole.
    """
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = os.cpu_count() or 1
    if allowed < (os.cpu_count() or allowed):
        return max(1, allowed)
    return max(1, min(allowed, int(allowed - _running_elsewhere() + 0.5)))


def set_threads(n: int | None) -> int:
    """Set how many threads PyTorch uses for CPU work.

    Parameters
    ----------
    n : int or None
        Number of threads (at least 1); ``None`` keeps the current setting.

    Returns
    -------
    int
        The number of threads now in effect.
    """
    import torch

    if n is not None:
        if n < 1:
            raise ValueError(f"thread count must be at least 1, got {n}")
        torch.set_num_threads(n)
    return torch.get_num_threads()


@dataclass(frozen=True)
class ComputeOptions:
    """How a model runs: the settings every genoseq predictor and trainer shares.

    Parameters
    ----------
    device : str, torch.device or None
        None or "auto": CUDA when present, else MPS, else the CPU
        (:func:`resolve_device`).
    precision : "auto", "fp32", "bf16", "fp16" or "int8"
        Network arithmetic (:func:`resolve_precision`); "int8" only for the
        secondary-structure predictor (:data:`INT8`).
    batch_size : int or None
        Items per forward pass, in the unit of the model (windows, chains,
        sequences); None: the model's default.
    threads : int or None
        CPU threads for torch, set when a model is built (:func:`set_threads`);
        None keeps torch's choice. Threads are per process, not per model.
    progress : bool
        Show progress bars.
    """

    device: str | torch.device | None = None
    precision: str = "auto"
    batch_size: int | None = None
    threads: int | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        if self.precision not in (*PRECISIONS, INT8):
            raise ValueError(f"unknown precision {self.precision!r}: expected one of "
                             f"{', '.join((*PRECISIONS, INT8))}")
        for name in ("batch_size", "threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 or None, not {value!r}")

    def batch(self, default: int) -> int:
        """The batch size, ``default`` when none was given."""
        return default if self.batch_size is None else self.batch_size

    def torch_device(self) -> torch.device:
        """Resolve the device, and set torch's CPU threads when ``threads`` is given."""
        set_threads(self.threads)
        return resolve_device(self.device)
