"""Tampering: every alteration of the stored log is caught at the first bad event."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deconflict.errors import TamperedLog
from deconflict.store.events import EventDraft, canonical_json, stored_event_hash
from deconflict.store.sqlite import SQLiteStore
from tests.store.helpers import World, raw

N = 24  # 17 Euphrates events, then notes


@pytest.fixture
def logged(sqlite_store: SQLiteStore, world: World) -> SQLiteStore:
    """The Euphrates world, then notes whose payloads are unique in the file.
    (SQLite's SQL; the same chain check on PostgreSQL: tests/store/test_postgres.py.)"""
    store = sqlite_store
    store.append(world.drafts())
    head = store.head()
    assert head is not None
    for i in range(head.seq + 1, N + 1):
        store.append([EventDraft("note.added", "admin", "", {"text": f"MARKER-{i:04d}"})])
    assert store.verify() == N
    return store


def tampered(store: SQLiteStore, *sql: str) -> TamperedLog:
    db = raw(store.path)
    for statement in sql:
        db.execute(statement)
    assert db.total_changes > 0
    db.close()
    with pytest.raises(TamperedLog) as info:
        store.verify()
    return info.value


def test_verify_counts_a_good_log(logged: SQLiteStore) -> None:
    assert logged.verify() == N


def test_verify_names_an_event_with_one_character_changed(logged: SQLiteStore) -> None:
    err = tampered(logged, "UPDATE events SET payload = replace(payload, 'MARKER-0020', 'MARKER-0021') WHERE seq = 20")
    assert err.seq == 20
    assert "altered" in err.reason


def test_verify_names_a_changed_declaration(logged: SQLiteStore) -> None:
    row = next(e for e in logged.events() if e.type == "declaration.declared")
    err = tampered(logged, f"UPDATE events SET payload = replace(payload, 'e', 'E') WHERE seq = {row.seq}")
    assert err.seq == row.seq


def test_verify_names_a_whitespace_only_edit(logged: SQLiteStore) -> None:
    err = tampered(logged, "UPDATE events SET payload = replace(payload, ':', ': ') WHERE seq = 21")
    assert err.seq == 21


def test_verify_names_an_event_patched_in_the_file(store_path: Path, logged: SQLiteStore) -> None:
    logged.close()  # checkpoints the WAL: the events are now in the main file
    data = bytearray(store_path.read_bytes())
    marker = b"MARKER-0019"
    at = data.find(marker)
    assert at >= 0 and data.find(marker, at + 1) == -1
    data[at + len(marker) - 1] = ord("8")  # one byte
    store_path.write_bytes(bytes(data))
    with SQLiteStore(store_path) as reopened, pytest.raises(TamperedLog) as info:
        reopened.verify()
    assert info.value.seq == 19


def test_verify_names_a_deleted_event(logged: SQLiteStore) -> None:
    err = tampered(logged, "DELETE FROM events WHERE seq = 7")
    assert err.seq == 7
    assert "missing" in err.reason


def test_verify_names_deleted_events_at_the_end(logged: SQLiteStore) -> None:
    err = tampered(logged, f"DELETE FROM events WHERE seq >= {N - 1}")
    assert err.seq == N - 1
    assert "missing" in err.reason


def test_verify_names_swapped_hashes(logged: SQLiteStore) -> None:
    err = tampered(
        logged,
        "CREATE TEMP TABLE h AS SELECT seq, hash FROM events WHERE seq IN (5, 6)",
        "UPDATE events SET hash = (SELECT hash FROM h WHERE h.seq = 11 - events.seq) WHERE seq IN (5, 6)",
    )
    assert err.seq == 5


def test_verify_names_reordered_events(logged: SQLiteStore) -> None:
    # Events 10 and 11 exchange places, each keeping its own hashes.
    err = tampered(
        logged,
        "CREATE TEMP TABLE e AS SELECT * FROM events WHERE seq IN (10, 11)",
        "DELETE FROM events WHERE seq IN (10, 11)",
        "INSERT INTO events SELECT 21 - seq, recorded_at, type, actor, subject, payload, prev_hash, hash FROM e",
    )
    assert err.seq == 10


def test_verify_names_a_broken_prev_link(logged: SQLiteStore) -> None:
    err = tampered(logged, f"UPDATE events SET prev_hash = '{'f' * 64}' WHERE seq = 4")
    assert err.seq == 4
    assert "chain is broken" in err.reason


def test_verify_names_an_undecodable_payload(logged: SQLiteStore) -> None:
    err = tampered(logged, "UPDATE events SET payload = '{not json' WHERE seq = 8")
    assert err.seq == 8
    assert "undecodable" in err.reason


def test_verify_names_bytes_that_are_not_text(logged: SQLiteStore) -> None:
    err = tampered(logged, "UPDATE events SET payload = CAST(x'7b22ff227d' AS TEXT) WHERE seq = 6")
    assert err.seq == 6
    assert "undecodable" in err.reason


def test_verify_names_a_row_of_the_wrong_type(logged: SQLiteStore) -> None:
    err = tampered(logged, "UPDATE events SET recorded_at = x'3132' WHERE seq = 3")
    assert err.seq == 3
    assert "not text" in err.reason


def test_verify_cannot_name_a_rehashed_event_but_still_fails(logged: SQLiteStore) -> None:
    """Rewriting event 19 *and* its hash breaks the link from event 20. (Naming 19
    itself needs signed checkpoints, which are a later layer.)"""
    e9 = next(e for e in logged.events() if e.seq == 19)
    payload = canonical_json({"text": "FORGED"})
    forged = stored_event_hash(19, e9.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), e9.type, e9.actor, e9.subject,
                               payload, e9.prev_hash)
    err = tampered(logged, f"UPDATE events SET payload = '{payload}', hash = '{forged}' WHERE seq = 19")
    assert err.seq == 20


def test_verify_catches_a_rewritten_last_event(logged: SQLiteStore) -> None:
    last = logged.head()
    assert last is not None
    payload = canonical_json({"text": "FORGED"})
    forged = stored_event_hash(N, last.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), last.type, last.actor,
                               last.subject, payload, last.prev_hash)
    err = tampered(logged, f"UPDATE events SET payload = '{payload}', hash = '{forged}' WHERE seq = {N}")
    assert err.seq == N


@pytest.mark.parametrize("read", [lambda s: s.state_as_of(s.head().recorded_at)], ids=["state_as_of"])
def test_replay_refuses_a_tampered_log(logged: SQLiteStore, read: Callable[[SQLiteStore], object]) -> None:
    db = raw(logged.path)
    db.execute("UPDATE events SET payload = replace(payload, 'coalition', 'c0alition') WHERE seq = 2")
    db.close()
    with pytest.raises(TamperedLog) as info:
        read(logged)
    assert info.value.seq == 2


def test_verify_names_an_event_added_behind_the_stores_back(logged: SQLiteStore) -> None:
    """A well-formed event inserted with SQL, chained and hashed correctly, was
    still not written by an append: the head recorded at the last append says so."""
    last = logged.head()
    assert last is not None
    at = last.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload = canonical_json({"text": "extra"})
    h = stored_event_hash(N + 1, at, "note.added", "admin", "", payload, last.hash)
    err = tampered(
        logged,
        f"INSERT INTO events VALUES ({N + 1}, '{at}', 'note.added', 'admin', '', '{payload}', '{last.hash}', '{h}')",
    )
    assert err.seq == N + 1
