"""Helpers for the store tests: a settable clock, the Euphrates objects as drafts,
state built from the tables or from a replay, and the tamperer's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from deconflict.model import CautionMargins, Declaration, Measure, Party
from deconflict.store.events import (
    Event,
    EventDraft,
    declaration_declared,
    measure_added,
    party_added,
    settings_changed,
)
from deconflict.store.postgres import PostgresStore
from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore
from deconflict.store.state import State
from deconflict.store.vouch import head_path

T0 = datetime(2018, 2, 7, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand; each reading also steps it by one
    second so that events of successive appends get distinct times."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        t = self.now
        self.now += timedelta(seconds=1)
        return t


@dataclass
class World:
    parties: list[Party]
    measures: list[Measure]
    declarations: list[Declaration]
    margins: CautionMargins

    def drafts(self) -> list[EventDraft]:
        return [
            settings_changed("admin", self.margins),
            *(party_added("admin", p) for p in self.parties),
            *(measure_added("admin", m) for m in self.measures),
            *(declaration_declared(d.owner, d) for d in self.declarations),
        ]


def replay(events: Iterable[Event]) -> State:
    state = State()
    for e in events:
        state.apply(e)
    return state


def tables(store: SQLiteStore) -> State:
    """The current-state tables as a State, to compare with a replay."""
    head = store.head()
    return State(
        parties={p.id: p for p in store.parties()},
        measures={m.id: m for m in store.measures()},
        declarations={d.id: d for d in store.declarations()},
        margins=store.margins(),
        seq=head.seq if head else 0,
    )


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection with the append-only triggers dropped: the tamperer's view."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS events_no_update")
    db.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return db


class Tamperer:
    """The tamperer's connection to either store, as someone with the database
    (and its files) has it: the append-only triggers dropped, SQL with ``?``
    placeholders, the recorded head and the published head file by name."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pg: psycopg.Connection[Any] | None = None
        self.lite: sqlite3.Connection | None = None
        if isinstance(store, PostgresStore):
            self.pg = psycopg.connect(store.url, autocommit=True)
            self.pg.execute("DROP TRIGGER IF EXISTS events_no_change ON events")
        else:
            assert isinstance(store, SQLiteStore)
            self.lite = raw(store.path)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if self.pg is not None:
            cur = self.pg.execute(sql.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []
        assert self.lite is not None
        return self.lite.execute(sql, tuple(params)).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params)[0]

    def set_head(self, seq: int, h: str) -> None:
        """Rewrite the head recorded by the last append."""
        if self.pg is not None:
            self.execute("UPDATE head SET seq = ?, hash = ? WHERE id = 1", (seq, h))
        else:
            self.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{seq} {h}",))

    @property
    def head_file(self) -> Path:
        """The checkpoint the service last published, outside the database."""
        if isinstance(self.store, PostgresStore):
            return head_path(self.store._log.keys_path)
        assert isinstance(self.store, SQLiteStore)
        return head_path(self.store.path)

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
        if self.lite is not None:
            self.lite.close()
