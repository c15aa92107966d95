"""Helpers for the store tests: a settable clock, the Euphrates objects as drafts,
state built from the tables or from a replay, and the tamperer's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deconflict.model import CautionMargins, Declaration, Measure, Party
from deconflict.store.events import (
    Event,
    EventDraft,
    declaration_declared,
    measure_added,
    party_added,
    settings_changed,
)
from deconflict.store.sqlite import SQLiteStore
from deconflict.store.state import State

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
