"""genoseq.nn.numpy_state: torch.save state_dicts read without torch equal torch.load's."""

import importlib.resources
import pickle

import numpy as np
import pytest
import torch

from genoseq.nn.numpy_state import load_numpy_state

SHIPPED = sorted(entry.name[:-3] for entry in importlib.resources.files("genoseq.weights").iterdir()
                 if entry.name.endswith(".pt"))


def assert_same(path):
    ours = load_numpy_state(path)
    theirs = torch.load(path, map_location="cpu", weights_only=True)
    assert list(ours) == list(theirs)
    for name, tensor in theirs.items():
        expected = tensor.numpy()
        assert ours[name].dtype == expected.dtype, name
        assert ours[name].shape == expected.shape, name
        assert np.array_equal(ours[name], expected), name


def test_every_shipped_weights_file_reads_as_torch_load_reads_it():
    assert "genes" in SHIPPED and len(SHIPPED) >= 4
    folder = importlib.resources.files("genoseq.weights")
    for name in SHIPPED:
        with importlib.resources.as_file(folder / f"{name}.pt") as path:
            assert_same(path)


def test_views_scalars_and_types(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = {
        "transposed": base.t(),                      # strided view of a shared storage
        "slice": base[1:3, 2:5],                     # offset into the storage
        "scalar": torch.tensor(7, dtype=torch.int64),
        "empty": torch.zeros(0, 3),
        "double": torch.linspace(0, 1, 5, dtype=torch.float64),
        "flags": torch.tensor([True, False, True]),
        "half": torch.ones(3, dtype=torch.float16),
        "bytes": torch.arange(5, dtype=torch.uint8),
    }
    path = tmp_path / "state.pt"
    torch.save(state, path)
    assert_same(path)


def test_other_files_are_refused(tmp_path):
    not_zip = tmp_path / "plain.pt"
    not_zip.write_bytes(b"not a zip archive")
    with pytest.raises(Exception):  # noqa: B017 - zipfile.BadZipFile
        load_numpy_state(not_zip)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(2), "optimizer": {"lr": 0.1}}, other)
    with pytest.raises(ValueError, match="not a state_dict"):
        load_numpy_state(other)
    evil = tmp_path / "evil.pt"
    torch.save({"weights": torch.ones(2)}, evil)
    import zipfile
    with zipfile.ZipFile(evil) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    pkl = next(name for name in members if name.endswith("data.pkl"))
    members[pkl] = pickle.dumps({"weights": print}, protocol=2)
    with zipfile.ZipFile(evil, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(pickle.UnpicklingError, match="unsupported global"):
        load_numpy_state(evil)
