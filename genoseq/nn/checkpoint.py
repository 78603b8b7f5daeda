"""Saving and loading models as state_dict + JSON config, and resumable training checkpoints."""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from genoseq.io.atomic import atomic_write
from genoseq.io.errors import InvalidFileError

if TYPE_CHECKING:
    import torch


def model_files(path_stem: str | os.PathLike) -> tuple[Path, Path]:
    """``(<stem>.pt, <stem>.json)``; a stem may contain dots (``ss.seed1``) or end in .pt/.json."""
    stem = Path(path_stem)
    if stem.suffix in (".pt", ".json"):
        stem = stem.with_suffix("")
    return stem.parent / f"{stem.name}.pt", stem.parent / f"{stem.name}.json"


def save_model(model: torch.nn.Module, config: dict, path_stem: str | os.PathLike,
               metadata: dict | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.pt`` (state_dict) and ``<stem>.json`` (config + metadata), atomically."""
    import torch

    weights, card = model_files(path_stem)
    with atomic_write(weights, "wb") as handle:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, handle)
    with atomic_write(card) as handle:
        json.dump({"config": config, "metadata": metadata or {}}, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return weights, card


def load_state(path_stem: str | os.PathLike) -> tuple[dict, dict, dict]:
    """Read ``<stem>.pt`` and ``<stem>.json``: (state_dict, config, metadata)."""
    import torch

    weights, card_path = model_files(path_stem)
    with open(card_path, encoding="utf-8") as handle:
        card = json.load(handle)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    return state, card["config"], card.get("metadata", {})


def load_shipped_state(name: str) -> tuple[dict, dict, dict]:
    """(state_dict, config, metadata) of the model ``name`` shipped in ``genoseq/weights``."""
    folder = importlib.resources.files("genoseq.weights")
    with importlib.resources.as_file(folder / f"{name}.pt") as weights:
        return load_state(weights.with_suffix(""))


def load_model_state(path_stem: str | os.PathLike | None, shipped: str) -> tuple[dict, dict, dict]:
    """(state_dict, config, metadata) of the model at ``path_stem``; None: the shipped ``shipped``."""
    if path_stem is None:
        return load_shipped_state(shipped)
    return load_state(path_stem)


@contextlib.contextmanager
def reading_model(path_stem: str | os.PathLike | None, what: str) -> Iterator[None]:
    """Turn a model file that cannot be used into one :class:`InvalidFileError` naming it.

    Wraps loading ``<stem>.pt`` + ``<stem>.json`` and building the model from
    them: a file that is not JSON, a config without the keys ``what`` needs,
    weights that are not a state_dict or do not fit the config. Missing
    files stay OSErrors. The shipped models (``path_stem`` None) are not
    wrapped: an error there is a bug, not bad input. Every other exception is
    caught, since torch and json fail on a foreign file in many ways.
    """
    if path_stem is None:
        yield
        return
    try:
        yield
    except (InvalidFileError, OSError):
        raise
    except KeyError as error:
        raise InvalidFileError(path_stem, None, f"not a {what}: its config has no "
                               f"{error.args[0]!r}") from None
    except Exception as error:  # whatever torch or json make of a foreign file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidFileError(path_stem, None, f"not a {what}: {reason}") from None


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Atomically write a training checkpoint.

    Only tensors, numbers, strings, lists and dicts: it is read back with
    ``weights_only=True``.
    """
    import torch

    with atomic_write(path, "wb") as handle:
        torch.save(payload, handle)


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    """Read a checkpoint written by :func:`save_checkpoint`, or None if there is none."""
    if not os.path.exists(path):
        return None
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)
