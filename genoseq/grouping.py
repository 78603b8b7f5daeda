"""Grouping a stream of items into consecutive runs of bounded total size."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def groups_by_size(items: Iterable[T], size: Callable[[T], int], limit: int
                   ) -> Iterator[list[T]]:
    """Consecutive runs of ``items``, each closed once its total ``size(item)`` reaches ``limit``.

    The last run may be smaller; an item larger than ``limit`` is a run of its own.
    """
    group, total = [], 0
    for item in items:
        group.append(item)
        total += size(item)
        if total >= limit:
            yield group
            group, total = [], 0
    if group:
        yield group
