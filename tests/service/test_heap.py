"""What a server loaded at start is frozen; what comes later is still collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from deconflict.service import heap


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_what_is_loaded_is_frozen_and_later_cycles_are_still_collected(thawed: None) -> None:
    loaded = [Node() for _ in range(100)]
    heap.freeze_loaded()
    assert gc.get_freeze_count() >= 100
    assert not any(o is loaded[0] for o in gc.get_objects())  # out of the collector's sight
    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2  # a cycle made after the freeze is reclaimed
