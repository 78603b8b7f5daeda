"""Reading a ``torch.save`` state_dict as numpy arrays, without importing torch.

The model files of genoseq (``<stem>.pt``, :mod:`genoseq.nn.checkpoint`) are
written by ``torch.save`` of a ``{name: tensor}`` dict: a zip archive holding
``<folder>/data.pkl`` (a pickle whose tensors refer to storages by key),
``<folder>/byteorder`` and one file ``<folder>/data/<key>`` of raw bytes per
storage. :func:`load_numpy_state` reads that archive with :mod:`zipfile` and a
restricted :class:`pickle.Unpickler` that knows only the few globals such a
pickle names (tensor rebuilding, storage types, ``OrderedDict``) and refuses
every other, as ``torch.load(weights_only=True)`` does; it returns
``{name: np.ndarray}`` holding the same values as ``torch.load``. The
torch-free inference path (:mod:`genoseq.genes.numpy_networks`) uses it, so
that a small input never pays for importing torch.
"""

from __future__ import annotations

import collections
import os
import pickle
import zipfile

import numpy as np

__all__ = ["load_numpy_state"]

#: Storage classes of ``torch.save`` pickles and the numpy type of their elements.
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
#: ``torch.<dtype>`` names of typed storages (``UntypedStorage`` pickles name the dtype).
_DTYPE_NAMES = {
    "float64": np.float64, "double": np.float64, "float32": np.float32, "float": np.float32,
    "float16": np.float16, "half": np.float16, "int64": np.int64, "long": np.int64,
    "int32": np.int32, "int": np.int32, "int16": np.int16, "short": np.int16,
    "int8": np.int8, "uint8": np.uint8, "bool": np.bool_,
}


class _StorageType:
    """Stands for a torch storage class (or dtype) named in the pickle: its numpy type."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


def _rebuild_tensor(storage: np.ndarray, offset: int, size, stride, *_) -> np.ndarray:
    """A tensor's values out of its storage: ``size`` elements from ``offset`` with ``stride``."""
    size, stride = tuple(size), tuple(stride)
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    needed = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if needed > len(storage) or min(stride) < 0:
        raise pickle.UnpicklingError("a tensor reaches past the end of its storage")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride],
        writeable=False)
    return np.array(view)


def _rebuild_parameter(data: np.ndarray, *_) -> np.ndarray:
    return data


class _StateUnpickler(pickle.Unpickler):
    """Unpickler of ``data.pkl`` that maps torch's globals to numpy and loads storages lazily."""

    def __init__(self, handle, archive: zipfile.ZipFile, folder: str, byteorder: str):
        super().__init__(handle)
        self.archive = archive
        self.folder = folder
        self.byteorder = "<" if byteorder == "little" else ">"
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and name in _DTYPE_NAMES:
            return _StorageType(_DTYPE_NAMES[name])
        raise pickle.UnpicklingError(f"unsupported global in a state_dict: {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        kind, key, count = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(kind, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {kind!r}")
        if key not in self.storages:
            raw = self.archive.read(f"{self.folder}/data/{key}")
            values = np.frombuffer(raw, dtype=kind.dtype.newbyteorder(self.byteorder))
            self.storages[key] = values.astype(kind.dtype, copy=False)
        values = self.storages[key]
        if values.dtype != kind.dtype:
            # One storage used as two types: the bytes are reinterpreted, as torch does.
            values = values.view(np.uint8).view(kind.dtype)
        if len(values) < count:
            raise pickle.UnpicklingError(f"storage {key} holds fewer than {count} elements")
        return values[:count]


def load_numpy_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ``{name: tensor}`` dict saved by ``torch.save`` at ``path``, as numpy arrays.

    Only the zip format (``torch.save``'s default since torch 1.6) of a dict
    of tensors is read; anything else (another pickle, a file that is not a
    zip archive) raises ``ValueError`` or :class:`pickle.UnpicklingError`.
    Arrays keep the tensors' types (float32 weights, int64 counters).
    """
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError("not a torch.save zip archive (no single data.pkl)")
        folder = pickles[0][:-len("/data.pkl")]
        names = set(archive.namelist())
        byteorder = (archive.read(f"{folder}/byteorder").decode("ascii").strip()
                     if f"{folder}/byteorder" in names else "little")
        with archive.open(pickles[0]) as handle:
            state = _StateUnpickler(handle, archive, folder, byteorder).load()
    if not isinstance(state, dict) or not all(
            isinstance(key, str) and isinstance(value, np.ndarray)
            for key, value in state.items()):
        raise ValueError("not a state_dict: expected a dict of tensors")
    return dict(state)
