"""Fixtures for the store: the Euphrates objects, a settable clock, stores on real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.model import CautionMargins
from deconflict.store.documents import decode_declaration, decode_measure, decode_party
from deconflict.store.open import store_url
from deconflict.store.postgres import PostgresStore
from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore
from tests.pg import fresh_url
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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_spec(request: pytest.FixtureRequest, store_path: Path) -> str:
    """Where a test's store lives: an SQLite file, or a fresh schema on the
    local PostgreSQL (tests/pg.py). Tests on the store interface run on both."""
    return str(store_path) if request.param == "sqlite" else fresh_url()


def open_spec(spec: str, clock: Clock | None = None) -> Store:
    return PostgresStore(spec, clock=clock) if store_url(spec) else SQLiteStore(spec, clock=clock)


@pytest.fixture
def store(store_spec: str, clock: Clock) -> Iterator[Store]:
    with open_spec(store_spec, clock) as s:
        yield s


@pytest.fixture
def sqlite_store(store_path: Path, clock: Clock) -> Iterator[SQLiteStore]:
    """For what only SQLite has (its file, its pragmas, its triggers)."""
    with SQLiteStore(store_path, clock=clock) as s:
        yield s


@pytest.fixture
def seeded(store: Store, world: World) -> Store:
    """A store holding the Euphrates settings, parties, measures and declarations."""
    store.append(world.drafts())
    return store


@pytest.fixture
def sqlite_seeded(sqlite_store: SQLiteStore, world: World) -> SQLiteStore:
    sqlite_store.append(world.drafts())
    return sqlite_store
