"""Fixtures for the store: the Euphrates objects, a settable clock, stores on real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.model import CautionMargins
from deconflict.store.documents import decode_declaration, decode_measure, decode_party
from deconflict.store.sqlite import SQLiteStore
from tests.store.helpers import Clock, World


@pytest.fixture
def world(euphrates: dict[str, Any]) -> World:
    s = euphrates["settings"]
    return World(
        parties=[decode_party(p, "p") for p in euphrates["parties"]],
        measures=[decode_measure(m, "m") for m in euphrates["measures"]],
        declarations=[decode_declaration(d, "d") for d in euphrates["declarations"]],
        margins=CautionMargins(s["caution_horizontal_m"], s["caution_vertical_m"], s["caution_minutes"]),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_path: Path, clock: Clock) -> Iterator[SQLiteStore]:
    with SQLiteStore(store_path, clock=clock) as s:
        yield s


@pytest.fixture
def seeded(store: SQLiteStore, world: World) -> SQLiteStore:
    """A store holding the Euphrates settings, parties, measures and declarations."""
    store.append(world.drafts())
    return store
