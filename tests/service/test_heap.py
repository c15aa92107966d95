"""The server's collector policy: what survives a full collection is frozen,
and reclaim() gets back cycles that were frozen while alive."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from deconflict.service import heap


@pytest.fixture
def policy() -> Iterator[None]:
    heap.keep_pauses_short()
    yield
    gc.callbacks.remove(heap._after_collection)
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_survivors_of_a_full_collection_are_frozen_and_the_hook_is_installed_once(policy: None) -> None:
    heap.keep_pauses_short()
    assert gc.callbacks.count(heap._after_collection) == 1
    kept = [Node() for _ in range(100)]
    before = heap.frozen()
    gc.collect()  # a full collection: the survivors, kept among them, are frozen
    assert heap.frozen() >= before + 100
    assert not any(o is kept[0] for o in gc.get_objects())  # out of the collector's sight


def test_reclaim_collects_a_cycle_frozen_while_it_was_alive(policy: None) -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    gc.collect()  # the cycle is alive: frozen with the rest
    del a, b  # now unreachable, but out of the collector's sight
    assert gc.collect() == 0
    assert heap.reclaim() >= 2
