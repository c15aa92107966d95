"""Acceptance by cells on one PostgreSQL database that two processes share
(issue 13; engine/cells.py): deciding far apart, they go on at the same time;
deciding where they could meet, one waits for the other's rows. Waits are
observed in PostgreSQL (pg_locks, a NOWAIT probe), never timed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from deconflict.engine import cells
from deconflict.model import Declaration, Party
from deconflict.service import measure_life
from deconflict.service.auth import Principal, Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline, Refused, Submission
from deconflict.store.documents import decode_declaration, decode_measure
from deconflict.store.open import open_store
from deconflict.store.postgres import PostgresStore
from tests.pg import fresh_url

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T02:00:00Z"}
#: How long a test waits for something PostgreSQL will show (a guard against hanging, not a measure).
PATIENCE_S = 30.0


def fire(ident: str, lon: float, lat: float = 35.0) -> dict[str, Any]:
    return {"kind": "fire", "id": ident, "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [lon, lat]}, "window": WINDOW}


def patrol(ident: str, lon: float, half_width_m: float = 500.0) -> dict[str, Any]:
    return {"kind": "movement", "id": ident, "half_width_m": half_width_m,
            "geometry": {"type": "LineString", "coordinates": [[lon - 1e-3, 35.0], [lon + 1e-3, 35.0]]},
            "window": WINDOW}


def polar_site(ident: str) -> dict[str, Any]:
    ring = [[float(lon), 80.0] for lon in range(-180, 180, 20)]
    return {"kind": "site", "id": ident, "category": "forces", "protection_m": 100,
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, "window": WINDOW}


class Two:
    """Two service processes' hotlines on one database (each its own store, engine and lock connection)."""

    def __init__(self) -> None:
        self.url = fresh_url()
        first = Deconflict(open_store(self.url))
        for p in ("p1", "p2"):
            first.add_party(Party(p, p))
        first.close()
        self.a = Hotline(Deconflict(open_store(self.url)))
        self.b = Hotline(Deconflict(open_store(self.url)))
        self.admin = self.principal(self.b, "", Role.ADMIN)

    @staticmethod
    def principal(h: Hotline, party: str, role: Role = Role.PLANNER) -> Principal:
        return h.authenticate(h.issue_credential(None, party, f"{party or 'admin'}-{role.value}", role)[1])

    def close(self) -> None:
        for h in (self.a, self.b):
            h.stop_committer()
            h.service.close()


@pytest.fixture
def two() -> Iterator[Two]:
    t = Two()
    yield t
    t.close()


def declaration(who: Principal, doc: dict[str, Any]) -> Declaration:
    return decode_declaration(doc, "a", owner=who.party, default_id=doc["id"])


def claim_of(h: Hotline, who: Principal, decl: Declaration) -> cells.Claim:
    return h._claim([Submission(who, decl, "", "", "")], {})


def store_of(h: Hotline) -> PostgresStore:
    store = h.service.store
    assert isinstance(store, PostgresStore)
    return store


@contextmanager
def holding(h: Hotline, claim: cells.Claim) -> Iterator[None]:
    """``h`` holds ``claim``'s rows (deciding, on another thread) until the block ends."""
    entered, leave = threading.Event(), threading.Event()

    def run() -> None:
        with h.service.deciding(claim):
            entered.set()
            leave.wait(PATIENCE_S * 2)

    t = threading.Thread(target=run)
    t.start()
    assert entered.wait(PATIENCE_S)
    try:
        yield
    finally:
        leave.set()
        t.join(PATIENCE_S)


def lock_backend(h: Hotline) -> int:
    db = store_of(h)._lockdb
    assert db is not None
    return int(db.info.backend_pid)


def waits(url: str, pid: int) -> bool:
    """Whether backend ``pid`` waits for a lock another holds (pg_locks: not granted)."""
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)).fetchone()
    return bool(row and row[0])


def held_by_another(url: str, keys: set[str]) -> bool:
    """Whether some of ``keys``' lock rows are held: locking them without waiting fails."""
    with psycopg.connect(url, autocommit=True) as db:
        try:
            with db.transaction():
                db.execute("SELECT key FROM locks WHERE key = ANY(%s) FOR UPDATE NOWAIT", (sorted(keys),))
        except psycopg.errors.LockNotAvailable:
            return True
    return False


def submit_in_thread(h: Hotline, who: Principal, decl: Declaration) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(h.submit(who, decl))
        except Exception as exc:
            out.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, out


def until_waiting(url: str, pid: int, t: threading.Thread) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not waits(url, pid):
        assert t.is_alive(), "the decision went through without waiting"
        assert time.monotonic() < deadline, "never seen waiting for a row"
        time.sleep(0.02)


def test_decisions_far_apart_go_on_while_the_other_holds_its_rows(two: Two) -> None:
    """While process a holds the rows of a fire in Syria, process b accepts a fire
    300 km away: its submit completes, and a's rows are still held (a probe for
    them cannot take them without waiting)."""
    p1, p2 = two.principal(two.a, "p1"), two.principal(two.b, "p2")
    here = declaration(p1, fire("F1", 40.0))
    claim = claim_of(two.a, p1, here)
    with holding(two.a, claim):
        t, out = submit_in_thread(two.b, p2, declaration(p2, fire("F2", 43.0)))
        t.join(PATIENCE_S)
        assert not t.is_alive() and isinstance(out[0], tuple) and out[0][0], out
        assert held_by_another(two.url, set(claim.exclusive))
        assert not waits(two.url, lock_backend(two.b))


@pytest.mark.parametrize(("held", "submitted"), [
    # different-but-overlapping cells: a movement 60 km wide locks coarse cells,
    # a fire within its reach level-0 cells below them
    (patrol("M1", 40.4, half_width_m=60_000.0), fire("F1", 40.0)),
    (fire("F1", 40.0), patrol("M1", 40.4, half_width_m=60_000.0)),
    # a site around the North Pole locks cells all the way round
    (polar_site("W1"), fire("F1", -170.0, lat=84.0)),
])
def test_decisions_that_could_meet_wait_for_each_other(two: Two, held: dict[str, Any],
                                                       submitted: dict[str, Any]) -> None:
    p1, p2 = two.principal(two.a, "p1"), two.principal(two.b, "p2")
    first = declaration(p1, held)
    with holding(two.a, claim_of(two.a, p1, first)):
        t, out = submit_in_thread(two.b, p2, declaration(p2, submitted))
        until_waiting(two.url, lock_backend(two.b), t)
    t.join(PATIENCE_S)
    assert not t.is_alive() and isinstance(out[0], tuple), out


def test_a_line_measure_waits_for_a_decision_in_its_area_of_application(two: Two) -> None:
    """A deconfliction line whose area of application reaches 100 km from it: while a
    decides on a fire inside the area (far from the line itself), putting the line in
    force through b waits (measures hold every row: they re-check all they reach)."""
    p1 = two.principal(two.a, "p1")
    inside = declaration(p1, fire("F1", 39.6, lat=34.6))
    line = decode_measure({
        "id": "L", "kind": "deconfliction_line", "owner": "p1", "sides": {"p1": "left", "p2": "right"},
        "geometry": {"type": "LineString", "coordinates": [[40.0, 35.0], [40.1, 35.5]]},
        "application_area": {"type": "Polygon", "coordinates": [[[39.5, 34.5], [40.5, 34.5], [40.5, 36.0],
                                                                  [39.5, 36.0], [39.5, 34.5]]]},
        "window": WINDOW})
    with holding(two.a, claim_of(two.a, p1, inside)):
        out: list[Any] = []
        t = threading.Thread(target=lambda: out.append(measure_life.propose(two.b, two.admin, line)))
        t.start()
        until_waiting(two.url, lock_backend(two.b), t)
    t.join(PATIENCE_S)
    assert out and out[0]["in_force"]


def test_conflicting_activities_in_overlapping_cells_through_two_processes_one_side_wins(two: Two) -> None:
    """Wide movements of p1 (coarse cells) through process a and small fires of p2
    (level-0 cells, each inside the movements' reach) through process b, all at
    once: never both sides accepted."""
    p1, p2 = two.principal(two.a, "p1"), two.principal(two.b, "p2")
    for h in (two.a, two.b):
        h.catch_up()
    n = 12
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def go(i: int) -> None:
        h, who = (two.a, p1) if i % 2 else (two.b, p2)
        doc = patrol(f"M{i}", 40.4 + i * 1e-3, half_width_m=60_000.0) if i % 2 else fire(f"F{i}", 40.0 + i * 1e-3)
        decl = declaration(who, doc)
        barrier.wait()
        try:
            h.submit(who, decl)
            accepted = True
        except Refused:
            accepted = False
        with lock:
            outcomes.append((who.party, accepted))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE_S * 2)
    assert len(outcomes) == n
    assert len({party for party, accepted in outcomes if accepted}) == 1
    for h in (two.a, two.b):
        h.catch_up()
    assert two.a.head == two.b.head == two.a.service.store.verify()
    assert {d.id for d in two.a.service.engine.declarations()} == {d.id for d in two.b.service.engine.declarations()}
