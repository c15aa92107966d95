"""The SQLite store on real files: round trips, current state, past states,
all-or-nothing appends, opening errors."""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from deconflict.errors import DeconflictError, InvalidInput, NotFound, StoreError
from deconflict.model import CautionMargins, Party
from deconflict.store import _schema
from deconflict.store.events import (
    GENESIS_HASH,
    EventDraft,
    declaration_declared,
    declaration_withdrawn,
    event_hash,
    format_instant,
    measure_added,
    measure_withdrawn,
    party_added,
    settings_changed,
)
from deconflict.store.sqlite import SQLiteStore
from deconflict.store.state import State
from tests.store.conftest import open_spec
from tests.store.helpers import T0, Clock, World, raw, replay, tables


def snapshot(store: SQLiteStore) -> tuple[Any, ...]:
    """Everything a failed append must leave as it was."""
    return (store.head(), list(store.events()), tables(store), store.count_declarations())


# -- round trip ---------------------------------------------------------------------------
def test_store_append_returns_the_recorded_events(store: SQLiteStore, world: World) -> None:
    drafts = world.drafts()
    events = store.append(drafts)
    assert [e.seq for e in events] == list(range(1, len(drafts) + 1))
    assert [(e.type, e.actor, e.subject, e.payload) for e in events] == [
        (d.type, d.actor, d.subject, d.payload) for d in drafts
    ]
    assert events[0].prev_hash == GENESIS_HASH
    for prev, e in itertools.pairwise(events):
        assert e.prev_hash == prev.hash
    for e in events:
        assert e.recorded_at == T0
        assert e.recorded_at.tzinfo is UTC
        at = format_instant(e.recorded_at)
        assert e.hash == event_hash(e.seq, at, e.type, e.actor, e.subject, e.payload, e.prev_hash)


def test_store_events_read_back_as_appended(store: SQLiteStore, world: World) -> None:
    first = store.append(world.drafts())
    second = store.append([EventDraft("note.added", "sdf", "", {"text": "Ça va? ✓", "n": [1, 2.5, None]})])
    assert list(store.events()) == first + second
    assert list(store.events(after_seq=len(first) - 1)) == first[-1:] + second
    assert store.head() == second[-1]
    assert second[0].recorded_at > first[0].recorded_at


def test_store_reopened_holds_everything(store_path: Path, world: World) -> None:
    with SQLiteStore(store_path) as store:
        events = store.append(world.drafts())
        before = tables(store)
    with SQLiteStore(store_path) as store:
        assert list(store.events()) == events
        assert tables(store) == before
        assert store.verify() == len(events)


def test_store_empty_has_no_head_and_no_state(store: SQLiteStore) -> None:
    assert store.head() is None
    assert list(store.events()) == []
    assert store.parties() == [] and store.measures() == [] and list(store.declarations()) == []
    assert store.margins() is None
    assert store.count_declarations() == 0
    assert store.verify() == 0
    assert store.append([]) == []


def test_store_returns_the_current_state(seeded: SQLiteStore, world: World) -> None:
    assert seeded.parties() == sorted(world.parties, key=lambda p: p.id)
    assert seeded.measures() == sorted(world.measures, key=lambda m: m.id)
    assert list(seeded.declarations()) == sorted(world.declarations, key=lambda d: d.id)
    assert seeded.count_declarations() == len(world.declarations)
    assert seeded.margins() == world.margins


def test_store_declarations_is_a_stream_from_one_snapshot(seeded: SQLiteStore, world: World) -> None:
    stream = seeded.declarations()
    assert isinstance(stream, Iterator) and not isinstance(stream, list)
    first = next(stream)
    extra = dataclasses.replace(world.declarations[0], id="ZZ-late")
    seeded.append([declaration_declared(extra.owner, extra), declaration_withdrawn("sdf", "S4")])
    rest = list(stream)
    # The stream began before the append: it sees neither change.
    assert [first, *rest] == sorted(world.declarations, key=lambda d: d.id)
    assert {d.id for d in seeded.declarations()} == {d.id for d in world.declarations} - {"S4"} | {"ZZ-late"}


# -- the state tables and the log agree ------------------------------------------------------
def _history(world: World) -> list[list[EventDraft]]:
    """A varied history: replacements, withdrawals, settings, foreign event types."""
    d0, d1 = world.declarations[0], world.declarations[1]
    m0 = world.measures[0]
    return [
        world.drafts(),
        [declaration_declared(d0.owner, dataclasses.replace(d0, label="changed once"))],
        [declaration_withdrawn(d1.owner, d1.id), EventDraft("notification.sent", "system", "n1", {"to": d1.owner})],
        [
            measure_added("admin", dataclasses.replace(m0, label="v2")),
            settings_changed("admin", CautionMargins(1, 2, 3)),
        ],
        [measure_withdrawn("admin", world.measures[-1].id)],
        [declaration_declared(d1.owner, d1), party_added("admin", Party("newcomer", "New NGO"))],
        [declaration_withdrawn(d0.owner, d0.id)],
    ]


def test_store_tables_equal_replay_of_the_log(store: SQLiteStore, world: World) -> None:
    for batch in _history(world):
        store.append(batch)
        assert tables(store) == replay(store.events())
    final = tables(store)
    assert final == store.state_as_of(datetime.now(UTC) + timedelta(days=1))
    assert final.margins == CautionMargins(1, 2, 3)
    assert "newcomer" in final.parties and world.declarations[0].id not in final.declarations
    assert final.measures[world.measures[0].id].label == "v2"


def test_store_state_as_of_several_instants(store: SQLiteStore, world: World, clock: Clock) -> None:
    states: list[tuple[datetime, State]] = []
    for batch in _history(world):
        clock.now += timedelta(minutes=5)
        [*_, last] = store.append(batch)
        states.append((last.recorded_at, tables(store)))
    assert store.state_as_of(T0) == State()
    for at, expected in states:
        assert store.state_as_of(at) == expected
        # Until the next batch is recorded, nothing changes.
        assert store.state_as_of(at + timedelta(minutes=4)) == expected
        assert store.state_as_of(at - timedelta(microseconds=1)) != expected


def test_store_state_as_of_reads_any_timezone(seeded: SQLiteStore) -> None:
    at = seeded.head()
    assert at is not None
    moscow = at.recorded_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    assert seeded.state_as_of(moscow) == tables(seeded)


def test_store_state_as_of_refuses_a_time_without_timezone(seeded: SQLiteStore) -> None:
    with pytest.raises(InvalidInput) as info:
        seeded.state_as_of(datetime(2018, 2, 7, 20, 5))
    assert "timezone" in str(info.value)


def test_store_recorded_times_never_decrease(store: SQLiteStore, clock: Clock) -> None:
    [a] = store.append([EventDraft("note.added", "admin", "", {})])
    clock.now = T0 - timedelta(hours=1)  # the system clock is stepped back
    [b] = store.append([EventDraft("note.added", "admin", "", {})])
    assert b.recorded_at == a.recorded_at
    assert store.verify() == 2


# -- all or nothing --------------------------------------------------------------------------
def _bad_batches(world: World) -> dict[str, tuple[list[EventDraft], type[DeconflictError]]]:
    good = party_added("admin", Party("fresh", "Fresh"))
    decl = declaration_declared("sdf", world.declarations[3])
    broken = {**decl.payload, "window": {"start": "2018-02-07T10:00:00Z", "end": "2018-02-07T09:00:00Z"}}
    return {
        "payload not JSON": ([good, EventDraft("note.added", "admin", "", {"at": datetime.now(UTC)})], InvalidInput),
        "payload not a declaration": ([good, EventDraft("declaration.declared", "sdf", "S4", broken)], InvalidInput),
        "misspelt type": ([good, EventDraft("declaration.declare", "sdf", "S4", decl.payload)], InvalidInput),
        "malformed type": ([good, EventDraft("Declaration", "sdf", "S4", decl.payload)], InvalidInput),
        "subject not the id": ([good, EventDraft("declaration.declared", "sdf", "S1", decl.payload)], InvalidInput),
        "no actor": ([good, EventDraft("note.added", "", "", {})], InvalidInput),
        # Found only inside the transaction, after earlier events were inserted.
        "withdraw unknown": ([good, decl, declaration_withdrawn("sdf", "no-such")], NotFound),
        "withdraw twice": ([good, declaration_withdrawn("sdf", "S4"), declaration_withdrawn("sdf", "S4")], NotFound),
    }


@pytest.mark.parametrize(
    "case",
    [
        "payload not JSON",
        "payload not a declaration",
        "misspelt type",
        "malformed type",
        "subject not the id",
        "no actor",
        "withdraw unknown",
        "withdraw twice",
    ],
)
def test_store_append_is_all_or_nothing(seeded: SQLiteStore, world: World, case: str) -> None:
    drafts, error = _bad_batches(world)[case]
    before = snapshot(seeded)
    with pytest.raises(error):
        seeded.append(drafts)
    assert snapshot(seeded) == before
    assert seeded.verify() == before[0].seq
    # The store is still usable after the refusal.
    [e] = seeded.append(drafts[:1])
    assert e.seq == before[0].seq + 1


def test_store_append_error_names_the_draft(seeded: SQLiteStore, world: World) -> None:
    drafts, _ = _bad_batches(world)["payload not a declaration"]
    with pytest.raises(InvalidInput) as info:
        seeded.append(drafts)
    assert info.value.field == "drafts[1].payload.window.end"


def test_store_withdraw_then_declare_again(seeded: SQLiteStore, world: World) -> None:
    s4 = next(d for d in world.declarations if d.id == "S4")
    seeded.append([declaration_withdrawn("sdf", "S4"), declaration_declared("sdf", s4)])
    assert "S4" in {d.id for d in seeded.declarations()}
    assert tables(seeded) == replay(seeded.events())


def test_store_keeps_unknown_event_types_out_of_the_state(seeded: SQLiteStore) -> None:
    before = tables(seeded)
    [e] = seeded.append([EventDraft("credential.issued", "admin", "sdf", {"key_id": "k1"})])
    assert seeded.head() == e
    assert dataclasses.replace(tables(seeded), seq=before.seq) == before


def test_store_append_from_threads_is_gapless(store: SQLiteStore) -> None:
    def work(k: int) -> None:
        for i in range(10):
            store.append([EventDraft("note.added", "admin", "", {"k": k, "i": i})] * 2)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.verify() == 80


# -- SQLite itself -------------------------------------------------------------------------
def test_store_uses_wal_and_full_sync(sqlite_store: SQLiteStore) -> None:
    store = sqlite_store
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA application_id").fetchone()[0] == _schema.APPLICATION_ID
    assert store._db is not None
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_store_triggers_refuse_rewriting_history(sqlite_seeded: SQLiteStore) -> None:
    seeded = sqlite_seeded
    db = sqlite3.connect(seeded.path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE events SET payload = '{}' WHERE seq = 2")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events WHERE seq = 2")
    finally:
        db.close()
    assert seeded.verify() > 0


def test_store_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.sqlite3"
    with SQLiteStore(path) as store:
        store.append([EventDraft("note.added", "admin", "", {})])
    assert path.is_file()


def test_store_default_path_is_in_the_user_data_folder() -> None:
    path = SQLiteStore.default_path()
    assert path.name == "deconflict.sqlite3"
    assert path.parent == platformdirs.user_data_path("deconflict")


def _sqlite_of_another_app(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    db.close()


def _newer_store(path: Path) -> None:
    SQLiteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_text("hello, I am a text file\n" * 100), "not an SQLite database"),
        (_sqlite_of_another_app, "not a Deconflict store"),
        (_newer_store, "newer Deconflict"),
    ],
    ids=["directory", "text file", "other sqlite", "newer schema"],
)
def test_store_open_refuses_what_it_cannot_use(store_path: Path, make: Any, message: str) -> None:
    make(store_path)
    before = store_path.read_bytes() if store_path.is_file() else None
    with pytest.raises(StoreError, match=message):
        SQLiteStore(store_path)
    if before is not None and "newer" not in message:
        assert store_path.read_bytes() == before  # refused without touching the file


def test_store_open_refuses_a_folder_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create the folder"):
        SQLiteStore(tmp_path / "file" / "store.sqlite3")


def test_store_closed_raises_store_error(store_path: Path) -> None:
    store = SQLiteStore(store_path)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.append([EventDraft("note.added", "admin", "", {})])
    with pytest.raises(StoreError, match="closed"):
        list(store.declarations())


def test_store_unreadable_state_row_is_a_store_error(sqlite_seeded: SQLiteStore) -> None:
    seeded = sqlite_seeded
    db = raw(seeded.path)
    db.execute("UPDATE declarations SET doc = '{\"kind\": \"site\"}' WHERE id = 'S2'")
    db.close()
    with pytest.raises(StoreError, match="'S2' cannot be read"):
        list(seeded.declarations())


# -- several writers -------------------------------------------------------------------------
def test_an_append_decided_on_a_stale_state_is_refused_and_writes_nothing(store: SQLiteStore, world: World) -> None:
    from deconflict.store.sqlite import StaleWrite

    drafts = world.drafts()
    store.append(drafts[:1], after=0)
    before = snapshot(store)
    with pytest.raises(StaleWrite) as stale:
        store.append(drafts[1:2], after=0)  # decided before event 1 was appended
    assert (stale.value.expected, stale.value.head) == (0, 1)
    assert snapshot(store) == before
    assert [e.seq for e in store.append(drafts[1:2], after=1)] == [2]


def test_exclusive_is_reentrant_and_excludes_another_connection_to_the_file(store_spec: str) -> None:
    first, second = open_spec(store_spec), open_spec(store_spec)
    order: list[str] = []
    with first.exclusive(), first.exclusive():  # reentrant in a thread
        other = threading.Thread(target=lambda: (second.exclusive().__enter__(), order.append("second")))
        other.start()
        other.join(0.3)
        assert other.is_alive()  # waits for the file lock, as another process would
        order.append("first done")
    other.join(5)
    assert order == ["first done", "second"]
    first.close()
    second.close()


def test_data_version_changes_when_another_connection_commits(store_path: Path, world: World) -> None:
    mine, other = SQLiteStore(store_path), SQLiteStore(store_path)
    v = mine.data_version()
    mine.append(world.drafts()[:1])
    assert mine.data_version() == v  # its own commits do not count
    other.append(world.drafts()[1:2])
    assert mine.data_version() != v
    assert [e.seq for e in mine.events_after(1)] == [2]
    mine.close()
    other.close()
