"""The gene finder's networks in numpy: fp32 inference on the CPU without importing torch.

Importing torch costs about 2 s, more than predicting the genes of a 3 kb
contig; a metagenome binned into thousands of small files pays it per file.
For small inputs on the CPU in fp32, :class:`NumpyNetworkEvidence` therefore
runs the coding model (:class:`~genoseq.genes.model.CodingModel`: conv front,
two-layer BiLSTM, head; with or without the open-frame input channels of
:mod:`genoseq.genes.frames`) and the start detector
(:class:`~genoseq.genes.start_model.StartModel`) in numpy, from the very
weights of the model file (read by :func:`genoseq.nn.numpy_state.load_numpy_state`).
It computes what the torch networks compute in eval mode, to float32
rounding (about 1e-5 on a logit), and offers the methods of
:class:`~genoseq.genes.networks.NetworkEvidence` that a fp32 run uses.
Its matrix products run on one BLAS thread (threadpoolctl): they are small
(a batch of rows times a 96 x 384 matrix per LSTM step), and BLAS threads
that spin-wait at every step collapse when other processes keep the CPUs
busy (one LSTM direction over 50 rows of 217 steps: 26 ms on one thread,
730 ms on OpenBLAS's default two beside a two-thread torch job).

A call over more than :data:`NUMPY_MAX_BASES` bases goes to the torch
networks instead, built on first need from the same weights: on long
inputs torch's batched kernels are faster, and its 2 s of import no longer
matter. Once torch is loaded, every later call goes to it too, so that a
finder gives each record one backend's values however records are grouped.
:func:`network_backend` decides which finders use this class: the
CPU known without torch (:func:`genoseq.device.resolves_to_cpu`) and fp32
arithmetic (``precision`` fp32 or auto: :func:`gene_precision`). The
environment variable ``GENOSEQ_NETWORKS`` forces a backend: ``torch``
never uses numpy, ``numpy`` uses it for every size (still only on the
CPU in fp32); ``auto`` or unset is the default above.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import os
from collections.abc import Callable, Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from genoseq.device import ComputeOptions, resolve_precision, resolves_to_cpu
from genoseq.genes.frames import N_FRAME_CHANNELS, frame_channels_numpy, stop_codon_mask
from genoseq.genes.orfs import OrfCandidates
from genoseq.genes.scoring import DecoderParams
from genoseq.genes.starts import START_WINDOW, gene_start_positions, start_windows
from genoseq.nn.checkpoint import model_files, reading_model
from genoseq.nn.configs import MotifCNNConfig, TaggerConfig
from genoseq.nn.inference import window_rows
from genoseq.nn.numpy_state import load_numpy_state

#: Calls of the networks over at most this many bases (a record, or the records of one
#: batch call) run in numpy; longer ones in torch. The break-even of a cold
#: ``genoseq predict`` (single mode, one record, fp32, 2 CPU cores; best of 3, torch's
#: ~2 s of import included): numpy 0.42-0.86x torch's wall time at 50-200 kb, even at
#: 300 kb (0.81-0.97x), torch faster from 400 kb (1.16x); numpy's peak RSS is about
#: half. See benchmarks/results/cold_start.md (``bench_cold_start.py --break-even``).
NUMPY_MAX_BASES = 300_000
#: Name of the shipped gene models in ``genoseq/weights``.
SHIPPED_MODEL = "genes"
#: Environment variable forcing a backend: "torch", "numpy" or "auto" (default).
BACKEND_VARIABLE = "GENOSEQ_NETWORKS"
#: Input channels of the coding model without the open-frame ones: 4 one-hot bases +
#: 3 codon phase (:data:`genoseq.genes.model.BASE_CHANNELS`).
BASE_CHANNELS = 7
FRAME_INPUT_CHANNELS = BASE_CHANNELS + N_FRAME_CHANNELS
N_CLASSES = 7
#: Padded positions per numpy batch of coding-model rows.
BATCH_POSITIONS = 1 << 16
#: Start windows per numpy pass of the start detector.
START_ROWS = 4096
_BATCH_NORM_EPS = 1e-5


def gene_precision(device, precision: str) -> str:
    """The arithmetic of the gene finder's networks: :func:`~genoseq.device.resolve_precision`,
    except that "auto" on the CPU is always fp32.

    On a CPU with native bf16 (an Intel Xeon with AMX-BF16), bf16 with the fp32
    recheck that keeps its calls those of an fp32 run took longer than fp32 on
    P. fluorescens (6.06 Mbp: 10.9 s vs 9.9 s, benchmarks/results/genes.md, session
    11), used more memory, and ruled out the numpy networks that spare small
    inputs torch's import. ``precision="bf16"`` still asks for it.
    """
    if precision == "auto" and resolves_to_cpu(device):
        return "fp32"
    return resolve_precision(device, precision)


def network_backend(compute: ComputeOptions) -> str:
    """"numpy" when a finder with these options may use :class:`NumpyNetworkEvidence`, else "torch".

    Numpy needs the CPU, known as such without importing torch, and fp32
    arithmetic; ``GENOSEQ_NETWORKS=torch`` rules it out.
    """
    choice = os.environ.get(BACKEND_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in ("auto", "numpy", "torch"):
        raise ValueError(f"{BACKEND_VARIABLE}={choice!r}: expected auto, numpy or torch")
    if choice == "torch" or not resolves_to_cpu(compute.device):
        return "torch"
    return "numpy" if gene_precision("cpu", compute.precision) == "fp32" else "torch"


def numpy_max_bases() -> float:
    """Longest call run in numpy: :data:`NUMPY_MAX_BASES`, unlimited with ``GENOSEQ_NETWORKS=numpy``."""
    if os.environ.get(BACKEND_VARIABLE, "").strip().lower() == "numpy":
        return math.inf
    return NUMPY_MAX_BASES


def _one_blas_thread():
    """Context in which numpy's matrix products run on one BLAS thread (see the module doc)."""
    return threadpool_limits(limits=1, user_api="blas")


# --- elementwise functions, float32 --------------------------------------------------

def _erf(x: np.ndarray) -> np.ndarray:
    """Error function, to 1.5e-7 (Abramowitz & Stegun 7.1.26), computed in float64."""
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                        + t * (-1.453152027 + t * 1.061405429))))
    return np.copysign(1.0 - poly * np.exp(-z * z), x)


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, ``x * Φ(x)`` (torch's default), float32."""
    return (0.5 * x * (1.0 + _erf(x * np.float32(1 / math.sqrt(2))))).astype(np.float32)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis of a float32 array, float32."""
    logits = np.asarray(logits, dtype=np.float32)
    if logits.size == 0:
        return logits.copy()
    top = logits.max(axis=-1, keepdims=True)
    shifted = logits - top
    return (shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))).astype(np.float32)


# --- the networks ----------------------------------------------------------------------

def expected_shapes(coding: TaggerConfig, start: MotifCNNConfig) -> dict[str, tuple]:
    """Every tensor of a :class:`~genoseq.genes.networks.GeneModels` state_dict and its shape."""
    shapes: dict[str, tuple] = {}
    c = coding.conv_channels
    for layer in range(coding.conv_layers):
        prefix = f"coding.tagger.front.{layer}."
        shapes[prefix + "conv.weight"] = ((c, coding.input_channels, coding.conv_kernel)
                                          if layer == 0 else (c, c, 5))
        for name in ("conv.bias", "norm.weight", "norm.bias", "norm.running_mean",
                     "norm.running_var"):
            shapes[prefix + name] = (c,)
        shapes[prefix + "norm.num_batches_tracked"] = ()
    hidden = coding.hidden
    for layer in range(coding.lstm_layers):
        inputs = c if layer == 0 else 2 * hidden
        for suffix in ("", "_reverse"):
            prefix = "coding.tagger.lstm."
            shapes[f"{prefix}weight_ih_l{layer}{suffix}"] = (4 * hidden, inputs)
            shapes[f"{prefix}weight_hh_l{layer}{suffix}"] = (4 * hidden, hidden)
            shapes[f"{prefix}bias_ih_l{layer}{suffix}"] = (4 * hidden,)
            shapes[f"{prefix}bias_hh_l{layer}{suffix}"] = (4 * hidden,)
    shapes["coding.tagger.head.weight"] = (coding.n_classes * coding.stride, 2 * hidden)
    shapes["coding.tagger.head.bias"] = (coding.n_classes * coding.stride,)
    shapes["start.cnn.filters.weight"] = (start.n_filters, start.in_channels, start.filter_width)
    shapes["start.cnn.filters.bias"] = (start.n_filters,)
    features = start.n_filters
    if start.pool:
        features *= (start.window - start.filter_width + 1) // start.pool
    if start.hidden:
        shapes["start.cnn.readout.0.weight"] = (start.hidden, features)
        shapes["start.cnn.readout.0.bias"] = (start.hidden,)
        shapes["start.cnn.readout.3.weight"] = (start.n_outputs, start.hidden)
        shapes["start.cnn.readout.3.bias"] = (start.n_outputs,)
    else:
        shapes["start.cnn.readout.weight"] = (start.n_outputs, features)
        shapes["start.cnn.readout.bias"] = (start.n_outputs,)
    return shapes


def check_configs(coding: TaggerConfig, start: MotifCNNConfig) -> None:
    """The checks the torch networks make when built from these configs (same ValueErrors)."""
    if coding.input_channels not in (BASE_CHANNELS, FRAME_INPUT_CHANNELS) \
            or coding.n_classes != N_CLASSES:
        raise ValueError(f"the coding model needs input_channels {BASE_CHANNELS} or "
                         f"{FRAME_INPUT_CHANNELS} and n_classes {N_CLASSES}")
    if coding.stride > 1 and (coding.conv_kernel - coding.stride) % 2:
        raise ValueError("conv_kernel - stride must be even so each step stays centred")
    if start.window != START_WINDOW or start.n_outputs != 1:
        raise ValueError(f"the start model needs window={START_WINDOW} and n_outputs=1")
    if start.pool and start.window < start.filter_width:
        raise ValueError("pooling by position needs window >= filter_width")


def check_state(state: dict[str, np.ndarray], coding: TaggerConfig,
                start: MotifCNNConfig) -> None:
    """ValueError unless ``state`` has exactly the tensors the configs' networks have."""
    shapes = expected_shapes(coding, start)
    missing = sorted(set(shapes) - set(state))
    unexpected = sorted(set(state) - set(shapes))
    wrong = sorted(name for name in set(shapes) & set(state)
                   if tuple(state[name].shape) != shapes[name])
    problems = []
    if missing:
        problems.append(f"missing key(s) {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected key(s) {', '.join(unexpected)}")
    if wrong:
        problems.append("size mismatch for " + ", ".join(
            f"{name}: {tuple(state[name].shape)} in the file, {shapes[name]} in the model"
            for name in wrong))
    if problems:
        raise ValueError("Error(s) in loading state_dict for GeneModels: " + "; ".join(problems))


class NumpyCodingModel:
    """:class:`~genoseq.genes.model.CodingModel` in eval mode, in numpy, float32.

    ``model(index, lengths, stops)`` takes ``index`` (batch, length) (A=0 …
    other=4, column 0 at a record position ≡ 0 mod 3) and returns logits
    (batch, length, 7); ``lengths`` (batch,) makes the rows of a padded batch
    exact, as in :meth:`genoseq.nn.tagger.BiLSTMTagger.forward`.
    """

    def __init__(self, state: dict[str, np.ndarray], config: TaggerConfig):
        self.config = config

        def get(name):
            return np.ascontiguousarray(state[f"coding.tagger.{name}"], dtype=np.float32)

        self.front = []
        for layer in range(config.conv_layers):
            weight = get(f"front.{layer}.conv.weight")
            out_channels, in_channels, kernel = weight.shape
            stride = config.stride if layer == 0 else 1
            if layer == 0 and stride > 1:
                padding = (kernel - stride) // 2
            else:
                padding = kernel // 2
            # (in_channels * kernel, out) so that windows (…, in_channels, kernel) @ it.
            matrix = np.ascontiguousarray(weight.reshape(out_channels, -1).T)
            mean, var = get(f"front.{layer}.norm.running_mean"), get(f"front.{layer}.norm.running_var")
            scale = get(f"front.{layer}.norm.weight") / np.sqrt(var + np.float32(_BATCH_NORM_EPS))
            self.front.append(dict(matrix=matrix, bias=get(f"front.{layer}.conv.bias"),
                                   kernel=kernel, stride=stride, padding=padding, mean=mean,
                                   scale=scale.astype(np.float32),
                                   shift=get(f"front.{layer}.norm.bias")))
        self.lstm = []
        for layer in range(config.lstm_layers):
            directions = []
            for suffix in ("", "_reverse"):
                # Gates i, f, g, o. sigmoid(x) = (tanh(x / 2) + 1) / 2, so the rows of i,
                # f and o are halved (exact in binary floating point): one tanh per step
                # then serves all four gates.
                half = np.ones((4 * config.hidden, 1), dtype=np.float32)
                half[:2 * config.hidden] = half[3 * config.hidden:] = 0.5
                bias = (get(f"lstm.bias_ih_l{layer}{suffix}")
                        + get(f"lstm.bias_hh_l{layer}{suffix}"))
                directions.append(dict(
                    w_ih=np.ascontiguousarray((get(f"lstm.weight_ih_l{layer}{suffix}") * half).T),
                    w_hh=np.ascontiguousarray((get(f"lstm.weight_hh_l{layer}{suffix}") * half).T),
                    bias=bias * half[:, 0]))
            self.lstm.append(directions)
        self.head_weight = np.ascontiguousarray(get("head.weight").T)
        self.head_bias = get("head.bias")

    @property
    def uses_frames(self) -> bool:
        return self.config.input_channels == FRAME_INPUT_CHANNELS

    def features(self, index: np.ndarray, stops: np.ndarray | None,
                 lengths: np.ndarray | None) -> np.ndarray:
        """Input channels (batch, length, input_channels), float32, as ``CodingModel.features``."""
        batch, length = index.shape
        eye = np.eye(5, 4, dtype=np.float32)  # row 4 (unknown base) is all zeros
        parts = [eye[np.minimum(index, 4)],
                 np.broadcast_to(np.eye(3, dtype=np.float32)[np.arange(length) % 3],
                                 (batch, length, 3))]
        if self.uses_frames:
            parts.append(frame_channels_numpy(index, stops, 0, lengths))
        return np.concatenate(parts, axis=-1)

    def _conv(self, x: np.ndarray, block: dict) -> np.ndarray:
        """Conv1d → BatchNorm → GELU on (batch, steps, channels) float32."""
        kernel, stride, padding = block["kernel"], block["stride"], block["padding"]
        batch, length, channels = x.shape
        padded = np.zeros((batch, length + 2 * padding, channels), dtype=np.float32)
        padded[:, padding:padding + length] = x
        steps = (length + 2 * padding - kernel) // stride + 1
        windows = sliding_window_view(padded, kernel, axis=1)[:, ::stride][:, :steps]
        out = windows.reshape(batch * steps, channels * kernel) @ block["matrix"]
        out += block["bias"]
        out = (out - block["mean"]) * block["scale"] + block["shift"]
        return gelu(out).reshape(batch, steps, -1)

    @staticmethod
    def _direction(inputs: np.ndarray, weights: dict, step_lengths: np.ndarray | None,
                   reverse: bool) -> np.ndarray:
        """One direction of one LSTM layer over (batch, steps, inputs); hidden states, float32."""
        batch, steps, _ = inputs.shape
        hidden = weights["w_hh"].shape[0]
        projected = (inputs.reshape(batch * steps, -1) @ weights["w_ih"] + weights["bias"]
                     ).reshape(batch, steps, 4 * hidden)
        h = np.zeros((batch, hidden), dtype=np.float32)
        c = np.zeros((batch, hidden), dtype=np.float32)
        out = np.zeros((batch, steps, hidden), dtype=np.float32)
        w_hh = weights["w_hh"]
        ragged = step_lengths is not None and reverse and np.any(step_lengths < steps)
        gates = np.empty((batch, 4 * hidden), dtype=np.float32)
        squashed = np.empty((batch, 4 * hidden), dtype=np.float32)
        i, f, o = slice(0, hidden), slice(hidden, 2 * hidden), slice(3 * hidden, 4 * hidden)
        g = slice(2 * hidden, 3 * hidden)
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            np.matmul(h, w_hh, out=gates)
            gates += projected[:, t]
            np.tanh(gates, out=squashed)  # tanh(x/2) for i, f, o; tanh(x) for g
            sig = squashed * np.float32(0.5) + np.float32(0.5)
            c_new = sig[:, f] * c + sig[:, i] * squashed[:, g]
            h_new = sig[:, o] * np.tanh(c_new)
            if ragged:
                # A row runs backwards from its own last step: before it, its state stays zero.
                inside = (t < step_lengths)[:, None]
                c = np.where(inside, c_new, np.float32(0))
                h = np.where(inside, h_new, np.float32(0))
            else:
                c, h = c_new, h_new
            out[:, t] = h
        return out

    def __call__(self, index: np.ndarray, lengths: np.ndarray | None = None,
                 stops: np.ndarray | None = None) -> np.ndarray:
        with _one_blas_thread():
            return self._forward(index, lengths, stops)

    def _forward(self, index, lengths, stops) -> np.ndarray:
        index = np.asarray(index)
        batch, length = index.shape
        stride = self.config.stride
        steps = -(-length // stride)
        x = self.features(index, stops, lengths)
        if steps * stride != length:
            x = np.concatenate([x, np.zeros((batch, steps * stride - length, x.shape[2]),
                                            dtype=np.float32)], axis=1)
        step_lengths = None
        if lengths is not None:
            lengths = np.asarray(lengths, dtype=np.int64)
            step_lengths = (lengths + stride - 1) // stride
            x = x * (np.arange(steps * stride) < lengths[:, None])[:, :, None]
            inside = (np.arange(steps) < step_lengths[:, None])[:, :, None]
        features = x
        for block in self.front:
            features = self._conv(features, block)
            if lengths is not None:
                features = features * inside
        for forward, backward in self.lstm:
            features = np.concatenate(
                [self._direction(features, forward, step_lengths, reverse=False),
                 self._direction(features, backward, step_lengths, reverse=True)], axis=2)
        if lengths is not None:
            features = features * inside  # pad_packed_sequence's zeros past a row's end
        logits = features.reshape(batch * steps, -1) @ self.head_weight + self.head_bias
        return logits.reshape(batch, steps * stride, self.config.n_classes)[:, :length]


class NumpyStartModel:
    """:class:`~genoseq.genes.start_model.StartModel` (a MotifCNN) in eval mode, in numpy.

    ``model(windows)`` takes windows (n, START_WINDOW) of bases (A=0 …
    other=4, :func:`~genoseq.genes.starts.start_windows`) and returns logits (n,) float32.
    """

    def __init__(self, state: dict[str, np.ndarray], config: MotifCNNConfig):
        self.config = config

        def get(name):
            return np.ascontiguousarray(state[f"start.cnn.{name}"], dtype=np.float32)

        weight = get("filters.weight")  # (filters, 4, width)
        self.width = weight.shape[2]
        # table[k, base] = the filters' weights for `base` at offset k; unknown bases add 0.
        self.table = np.zeros((self.width, 5, weight.shape[0]), dtype=np.float32)
        self.table[:, :4, :] = weight.transpose(2, 1, 0)
        self.bias = get("filters.bias")
        if config.hidden:
            self.layers = [(get("readout.0.weight").T.copy(), get("readout.0.bias")),
                           (get("readout.3.weight").T.copy(), get("readout.3.bias"))]
        else:
            self.layers = [(get("readout.weight").T.copy(), get("readout.bias"))]

    def _filter_scores(self, windows: np.ndarray) -> np.ndarray:
        """(n, positions, filters) float32 activations before the non-linearity."""
        positions = windows.shape[1] - self.width + 1
        scores = np.broadcast_to(self.bias, (len(windows), positions, len(self.bias))).copy()
        for k in range(self.width):
            scores += self.table[k][windows[:, k:k + positions]]
        return scores

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        with _one_blas_thread():
            return self._forward(windows)

    def _forward(self, windows: np.ndarray) -> np.ndarray:
        windows = np.minimum(np.asarray(windows, dtype=np.intp), 4)
        out = np.empty(len(windows), dtype=np.float32)
        config = self.config
        for first in range(0, len(windows), START_ROWS):
            part = windows[first:first + START_ROWS]
            scores = self._filter_scores(part)
            if config.both_strands:
                reverse = (3 - part[:, ::-1]) % 5  # complement (A<->T, C<->G), 4 stays 4
                reverse[part[:, ::-1] == 4] = 4
                scores = np.maximum(scores, self._filter_scores(reverse)[:, ::-1])
            if config.pool:
                blocks = scores.shape[1] // config.pool
                pooled = scores[:, :blocks * config.pool].reshape(
                    len(part), blocks, config.pool, -1).max(axis=2)
                # torch flattens (filters, blocks): filter-major.
                features = np.maximum(pooled, 0).transpose(0, 2, 1).reshape(len(part), -1)
            else:
                features = np.maximum(scores.max(axis=1), 0)
            for layer, (weight, bias) in enumerate(self.layers):
                features = features @ weight + bias
                if layer < len(self.layers) - 1:
                    features = np.maximum(features, 0)
            out[first:first + len(part)] = features[:, 0]
        return out


# --- loading -------------------------------------------------------------------------

def _read_gene_models(stem):
    weights, card_path = model_files(stem)
    with open(card_path, encoding="utf-8") as handle:
        card = json.load(handle)
    config = card["config"]
    state = load_numpy_state(weights)
    coding = TaggerConfig.from_dict(config["coding"])
    start = MotifCNNConfig.from_dict(config["start"])
    check_configs(coding, start)
    check_state(state, coding, start)
    adapted = config.get("decoder_adapted")
    params = DecoderParams.from_dict(config["decoder"])
    adapted = None if adapted is None else DecoderParams.from_dict(adapted)
    return state, coding, start, params, adapted, card.get("metadata", {})


def load_numpy_gene_models(path_stem: str | os.PathLike | None = None):
    """:func:`~genoseq.genes.networks.load_gene_models` without torch.

    Returns ``(state, coding_config, start_config, params, adapted, metadata)``:
    the weights as numpy arrays, the networks' configs, the decoder parameters
    of both passes (the second None if the model has none) and the model card
    metadata. A file that cannot be used raises the
    :class:`~genoseq.io.errors.InvalidFileError` that ``load_gene_models`` raises.
    """
    with reading_model(path_stem, "genoseq gene model"):
        if path_stem is not None:
            return _read_gene_models(path_stem)
        folder = importlib.resources.files("genoseq.weights")
        with importlib.resources.as_file(folder / f"{SHIPPED_MODEL}.pt") as weights:
            return _read_gene_models(weights.with_suffix(""))


def state_fingerprint_items(state: dict[str, np.ndarray]) -> Iterator[tuple[str, str, tuple, bytes]]:
    """(name, torch dtype name, shape, bytes) of each tensor, sorted by name, as torch would give them."""
    for name in sorted(state):
        value = np.asarray(state[name])
        yield name, f"torch.{value.dtype}", tuple(value.shape), value.tobytes(order="C")


def torch_gene_models(state: dict[str, np.ndarray], coding: TaggerConfig, start: MotifCNNConfig):
    """The torch :class:`~genoseq.genes.networks.GeneModels` holding these weights (imports torch)."""
    import torch

    from genoseq.genes.networks import GeneModels

    models = GeneModels(coding, start)
    models.load_state_dict({name: torch.from_numpy(np.array(value))
                            for name, value in state.items()})
    return models.eval()


# --- running them over sequences ------------------------------------------------------

class NumpyNetworkEvidence:
    """:class:`~genoseq.genes.networks.NetworkEvidence` in fp32 on the CPU, in numpy.

    Same methods and results (to float32 rounding) for what a fp32 run calls:
    :meth:`coding_logits_many`, :meth:`coding_logits_chunks`,
    :meth:`start_logits`, :meth:`start_logits_at`, :meth:`exact_start_logits`
    and the log-probability helpers. A call over more than
    :func:`numpy_max_bases` bases is handed to the torch networks
    (:attr:`torch_evidence`, built from the same weights on first use with
    ``make_torch``), and once that exists, every call is; :attr:`models`
    gives the torch networks too.

    Parameters
    ----------
    state : dict of np.ndarray
        The GeneModels state_dict (:func:`load_numpy_gene_models`).
    coding_config, start_config
        The networks' configs.
    batch_size, window, context, translation_table
        As for :class:`~genoseq.genes.networks.NetworkEvidence`.
    make_torch : callable, optional
        ``make_torch(models) -> NetworkEvidence`` for the torch networks
        (default: on the CPU in fp32 with these settings).
    """

    precision = "fp32"
    device = "cpu"

    def __init__(self, state: dict[str, np.ndarray], coding_config: TaggerConfig,
                 start_config: MotifCNNConfig, *, batch_size: int, window: int, context: int,
                 translation_table: int = 11, edge_padding: bool = False,
                 make_torch: Callable | None = None):
        if window % 3 or context % 3 or window <= 2 * context:
            raise ValueError("window and context must be multiples of 3 with window > 2*context")
        self.state = state
        self.coding_config = coding_config
        self.start_config = start_config
        self.coding = NumpyCodingModel(state, coding_config)
        self.start = NumpyStartModel(state, start_config)
        #: As :attr:`NetworkEvidence.start_precision <genoseq.genes.networks.NetworkEvidence.start_precision>`:
        #: numpy and the CPU torch networks it hands long inputs to both give fp32 start logits.
        self.start_precision = "fp32"
        self.stops = stop_codon_mask(translation_table) if self.coding.uses_frames else None
        self.batch_size = batch_size
        self.window = window
        self.context = context
        self.edge_padding = edge_padding
        self.translation_table = translation_table
        self._make_torch = make_torch
        self._torch = None

    log_softmax = staticmethod(log_softmax)

    @property
    def torch_evidence(self):
        """The torch :class:`~genoseq.genes.networks.NetworkEvidence` of these weights (imports torch)."""
        if self._torch is None:
            models = torch_gene_models(self.state, self.coding_config, self.start_config)
            if self._make_torch is not None:
                self._torch = self._make_torch(models)
            else:
                import torch

                from genoseq.genes.networks import NetworkEvidence

                self._torch = NetworkEvidence(
                    models, device=torch.device("cpu"), precision="fp32",
                    batch_size=self.batch_size, window=self.window, context=self.context,
                    translation_table=self.translation_table, edge_padding=self.edge_padding)
        return self._torch

    @property
    def models(self):
        """The torch GeneModels (imports torch)."""
        return self.torch_evidence.models

    def _to_torch(self, bases: int, precision: str | None = None) -> bool:
        """Whether a call over ``bases`` bases goes to torch: a long one, or any once torch is loaded.

        Once loaded, torch is faster on every input, and one finder then gives
        every record the values of one backend, however records are grouped.
        """
        return (self._torch is not None or bases > numpy_max_bases()
                or precision not in (None, "fp32"))

    def coding_log_probs(self, index: np.ndarray) -> np.ndarray:
        return self.coding_log_probs_many([index])[0]

    def coding_log_probs_many(self, indices: list[np.ndarray]) -> list[np.ndarray]:
        return [log_softmax(logits) for logits in self.coding_logits_many(indices)]

    def coding_logits_many(self, indices: list[np.ndarray], precision: str | None = None,
                           spans: list[np.ndarray | None] | None = None,
                           on_batch: Callable[[int], None] | None = None,
                           batch_size: int | None = None) -> list[np.ndarray]:
        """As :meth:`NetworkEvidence.coding_logits_many <genoseq.genes.networks.NetworkEvidence.coding_logits_many>`; fp32 only."""
        if self._to_torch(sum(map(len, indices)), precision):
            return self.torch_evidence.coding_logits_many(indices, precision, spans, on_batch,
                                                          batch_size)
        outs = [np.empty((len(values), N_CLASSES), dtype=np.float32) for values in indices]
        rows = window_rows(indices, window=self.window, context=self.context, multiple=3,
                           pad_value=4, spans=spans, edge_padding=self.edge_padding)
        rows.sort(key=lambda row: -row.size)
        first = 0
        while first < len(rows):
            longest = rows[first].size
            count = max(1, BATCH_POSITIONS // longest)
            chunk = rows[first:first + count]
            first += len(chunk)
            batch = np.full((len(chunk), longest), 4, dtype=np.uint8)
            for r, row in enumerate(chunk):
                batch[r, :row.size] = row.values
            lengths = None
            if chunk[-1].size != longest:
                lengths = np.array([row.size for row in chunk])
            logits = self.coding(batch, lengths, self.stops)
            for r, row in enumerate(chunk):
                outs[row.item][row.first:row.stop] = logits[r, row.lead:
                                                            row.lead + row.stop - row.first]
            if on_batch is not None:
                on_batch(sum(row.stop - row.first for row in chunk))
        return outs

    def coding_logits_chunks(self, index: np.ndarray, chunk: int,
                             on_batch: Callable[[int], None] | None = None
                             ) -> Iterator[np.ndarray]:
        """Per-base logits of one sequence, in order, about ``chunk`` positions at a time."""
        if self._to_torch(len(index)):
            yield from self.torch_evidence.coding_logits_chunks(index, chunk, on_batch)
            return
        size = min(self.window, 3 * math.ceil((len(index) + 2 * self.context) / 3))
        step = size - 2 * self.context
        per_chunk = max(1, round(chunk / step)) * step
        for first in range(0, len(index), per_chunk):
            stop = min(first + per_chunk, len(index))
            whole = self.coding_logits_many([index], spans=[np.array([[first, stop]])],
                                            on_batch=on_batch)[0]
            yield whole[first:stop].copy()

    def start_logits(self, index: np.ndarray, candidates: OrfCandidates,
                     which: np.ndarray, precision: str | None = None) -> np.ndarray:
        """Start-detector logits of the candidates ``which`` (indices), float64."""
        return self.start_logits_at(index, gene_start_positions(candidates)[which],
                                    candidates.strand[which], precision)

    def start_logits_at(self, index: np.ndarray, position: np.ndarray, strand: np.ndarray,
                        precision: str | None = None) -> np.ndarray:
        """Start-detector logits of the start codons at ``position``/``strand``, float64."""
        if self._to_torch(len(index), precision):
            return self.torch_evidence.start_logits_at(index, position, strand, precision)
        windows = start_windows(index, np.asarray(position, dtype=np.int64), np.asarray(strand))
        return self.start(windows).astype(np.float64)

    def exact_start_logits(self, index: np.ndarray, candidates: OrfCandidates,
                           which: np.ndarray, rows: int = 1024) -> np.ndarray:
        """fp32 start-detector logits of the candidates ``which``, each from its own window."""
        if self._to_torch(len(index)):
            return self.torch_evidence.exact_start_logits(index, candidates, which, rows)
        positions = gene_start_positions(candidates)[which]
        windows = start_windows(index, positions, candidates.strand[which])
        return self.start(windows).astype(np.float64)
