"""Config dataclasses that round-trip through JSON: ``to_dict`` and ``from_dict``.

Models are saved as a ``state_dict`` plus a JSON config (``genoseq/weights``);
every config dataclass inherits :class:`DictConfig` so that it writes and
reads itself the same way, nested configs included.
"""

from __future__ import annotations

import dataclasses
import functools
import typing


class DictConfig:
    """Mixin for dataclasses: ``to_dict`` (plain JSON-able dict) and ``from_dict`` (its inverse).

    ``from_dict`` rebuilds nested :class:`DictConfig` fields from their dicts
    and leaves missing keys at their defaults, so configs saved before a field
    was added still load.
    """

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        values = dict(data)
        for name, kind in _nested_configs(cls).items():
            if isinstance(values.get(name), dict):
                values[name] = kind.from_dict(values[name])
        return cls(**values)


@functools.cache
def _nested_configs(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)
            if isinstance(hints[field.name], type) and issubclass(hints[field.name], DictConfig)}
