"""Several server processes on one store, as two hotlines over one file in
one process: each has its own engine and memory, and every decision is taken
on everything any of them accepted (the store's exclusive lock, then sync)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deconflict.errors import NotFound
from deconflict.model import Party
from deconflict.service import log_view, measure_life
from deconflict.service.auth import Principal, Role, Unauthenticated
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline, Refused
from deconflict.store.documents import decode_declaration, decode_measure
from deconflict.store.open import open_store
from tests.service.conftest import new_store

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}


def patrol(ident: str, lon: float = 40.0) -> dict[str, Any]:
    """A movement of forces on the spot (refusable, unlike a site: presence is never
    refused), conflicting with a fire there as a forces site would."""
    return {"kind": "movement", "id": ident, "half_width_m": 500,
            "geometry": {"type": "LineString", "coordinates": [[lon - 1e-6, 35.0], [lon + 1e-6, 35.0]]},
            "window": WINDOW}


def fire(ident: str, lon: float = 40.0) -> dict[str, Any]:
    return {"kind": "fire", "id": ident, "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [lon, 35.0]}, "window": WINDOW}


def activity(who: Principal, doc: dict[str, Any]) -> Any:
    """As a party chose it: the hotline keeps it as ``<party>:<id>`` (service/namespace.py)."""
    return decode_declaration(doc, "a", owner=who.party, default_id=doc["id"])


def own(who: Principal, ident: str) -> str:
    return f"{who.party}:{ident}"


class Workers:
    def __init__(self, path: Path | str, *, ack_deadline: timedelta = timedelta(minutes=15)) -> None:
        first = Deconflict(open_store(path))
        for p in ("p1", "p2", "p3"):
            first.add_party(Party(p, p))
        first.close()
        self.a = Hotline(Deconflict(open_store(path)), ack_deadline=ack_deadline)
        self.b = Hotline(Deconflict(open_store(path)), ack_deadline=ack_deadline)

    def planner(self, hotline: Hotline, party: str, role: Role = Role.PLANNER) -> Principal:
        token = hotline.issue_credential(None, party, f"{party}-{role.value}", role)[1]
        return hotline.authenticate(token)

    def close(self) -> None:
        for h in (self.a, self.b):
            h.stop_committer()
            h.service.close()


@pytest.fixture
def workers(tmp_path: Path, store_kind: str) -> Any:
    w = Workers(new_store(store_kind, tmp_path))
    yield w
    w.close()


def test_a_conflict_accepted_by_one_worker_is_refused_by_the_other(workers: Workers) -> None:
    p1 = workers.planner(workers.a, "p1")
    p2 = workers.planner(workers.b, "p2")
    created, _ = workers.a.submit(p1, activity(p1, patrol("S1")))
    assert created
    with pytest.raises(Refused) as refused:
        workers.b.submit(p2, activity(p2, fire("F1")))
    assert refused.value.result["verdict"] == "conflict"
    # The other way round too, and the refused fire is in neither engine.
    assert not workers.a.service.engine.has_declaration("F1")
    workers.a.catch_up()
    assert not workers.a.service.engine.has_declaration("F1")


def test_credentials_withdrawals_and_replays_reach_the_other_worker(workers: Workers) -> None:
    token = workers.a.issue_credential(None, "p1", "m", Role.PLANNER)[1]
    # b has not looked yet, but its next read of the log knows the credential.
    with pytest.raises(Unauthenticated):
        workers.b.authenticate(token)
    workers.b.catch_up()
    p1 = workers.b.authenticate(token)
    p2 = workers.planner(workers.a, "p2")

    created, first = workers.b.submit(p1, activity(p1, patrol("S1")), idempotency_key="k", request_sha256="d")
    again, replay = workers.a.submit(p1, activity(p1, patrol("S1")), idempotency_key="k", request_sha256="d")
    assert created and not again and replay == first  # a replay, not a second acceptance

    workers.a.withdraw(p1, "S1")
    created, _ = workers.b.submit(p2, activity(p2, fire("F1")))  # nothing in the way any more
    assert created
    assert not workers.b.service.engine.has_declaration(own(p1, "S1"))
    workers.a.catch_up()
    assert workers.a.service.engine.has_declaration(own(p2, "F1"))
    with pytest.raises(NotFound):
        workers.a.service.engine.get_declaration(own(p1, "S1"))


def test_a_measure_proposed_on_one_worker_and_accepted_on_the_other_is_in_force_on_both(workers: Workers) -> None:
    p1 = workers.planner(workers.a, "p1", Role.LIAISON)
    liaison2 = workers.planner(workers.b, "p2", Role.LIAISON)
    liaison3 = workers.planner(workers.b, "p3", Role.LIAISON)
    nfa = decode_measure({"id": "N1", "kind": "no_fire_area", "owner": "p1", "binds": "all",
                          "geometry": {"type": "Polygon", "coordinates": [[[39.9, 34.9], [40.1, 34.9], [40.1, 35.1],
                                                                           [39.9, 35.1], [39.9, 34.9]]]},
                          "window": WINDOW}, "measure")
    assert measure_life.propose(workers.a, p1, nfa)["waiting_for"] == ["p2", "p3"]
    measure_life.accept(workers.b, liaison2, "N1")
    assert measure_life.accept(workers.b, liaison3, "N1")["in_force"]
    planner2 = workers.planner(workers.a, "p2")
    with pytest.raises(Refused) as refused:  # a's engine has the measure in force
        workers.a.submit(planner2, activity(planner2, fire("F9")))
    assert any(f["object"]["id"] == "N1" and f["kind"] == "violation" for f in refused.value.result["findings"])


def test_an_overdue_notification_escalates_once_whichever_workers_look(tmp_path: Path, store_kind: str) -> None:
    w = Workers(new_store(store_kind, tmp_path), ack_deadline=timedelta(seconds=-1))  # overdue at once
    try:
        p1 = w.planner(w.a, "p1")
        p2 = w.planner(w.b, "p2")
        w.a.submit(p1, activity(p1, patrol("S1")))
        w.b.submit(p2, activity(p2, fire("F1")), override_reason="urgent")  # notifies p1
        # Both deadlines passed at once: one reminder and one escalation (issue 8), once each.
        assert w.a.escalate_overdue() + w.b.escalate_overdue() == 2
        assert w.b.escalate_overdue() == 0 and w.a.escalate_overdue() == 0
        steps = [e.type for e in w.a.service.store.events() if e.type in ("notification.reminded",
                                                                           "notification.escalated")]
        assert steps == ["notification.reminded", "notification.escalated"]
    finally:
        w.close()


def test_workers_escalating_at_the_same_instant_escalate_once(tmp_path: Path, store_kind: str) -> None:
    """Both processes look for overdue notifications at once, many times over
    (as each one's escalation thread does): one reminder and one escalation."""
    w = Workers(new_store(store_kind, tmp_path), ack_deadline=timedelta(seconds=-1))  # overdue at once
    try:
        p1 = w.planner(w.a, "p1")
        p2 = w.planner(w.b, "p2")
        w.a.submit(p1, activity(p1, patrol("S1")))
        w.b.submit(p2, activity(p2, fire("F1")), override_reason="urgent")  # notifies p1
        barrier = threading.Barrier(8)
        steps: list[int] = []

        def look(h: Hotline) -> None:
            barrier.wait()
            for _ in range(5):
                steps.append(h.escalate_overdue())

        threads = [threading.Thread(target=look, args=(w.a if i % 2 else w.b,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(steps) == 2
        kinds = [e.type for e in w.a.service.store.events() if e.type in ("notification.reminded",
                                                                           "notification.escalated")]
        assert kinds == ["notification.reminded", "notification.escalated"]
    finally:
        w.close()


def test_concurrent_conflicting_submits_on_both_workers_accept_one_side_only(workers: Workers) -> None:
    """Patrols of p1 and fires of p2 at one place, half through each worker,
    through both paths (the committer and the caller's own thread)."""
    p1a, p1b = workers.planner(workers.a, "p1"), workers.planner(workers.b, "p1")
    p2a, p2b = workers.planner(workers.a, "p2"), workers.planner(workers.b, "p2")
    for h in (workers.a, workers.b):
        h.catch_up()
    barrier = threading.Barrier(24)
    outcomes: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def record(party: str, accepted: bool) -> None:
        with lock:
            outcomes.append((party, accepted))

    def go(i: int) -> None:
        hotline = workers.a if i % 2 else workers.b
        who = [p1a, p2a][i % 4 // 2] if i % 2 else [p1b, p2b][i % 4 // 2]
        doc = patrol(f"S{i}", 40.0 + i * 1e-5) if who.party == "p1" else fire(f"F{i}", 40.0 + i * 1e-5)
        decl = activity(who, doc)
        barrier.wait()
        if i % 3:
            try:
                hotline.submit(who, decl)
                record(who.party, True)
            except Refused:
                record(who.party, False)
        else:
            done = threading.Event()

            def on_done(item: Any) -> None:
                record(who.party, item.error is None)
                done.set()

            hotline.enqueue(who, decl, on_done)
            assert done.wait(30)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 24
    winners = {party for party, accepted in outcomes if accepted}
    assert len(winners) == 1
    for h in (workers.a, workers.b):
        h.catch_up()
    assert workers.a.head == workers.b.head == workers.a.service.store.verify()
    a_ids = {d.id for d in workers.a.service.engine.declarations()}
    assert a_ids == {d.id for d in workers.b.service.engine.declarations()}


def test_a_service_opened_while_another_appends_misses_nothing(tmp_path: Path, store_kind: str) -> None:
    """The engine loads one snapshot and then follows the log from its event:
    a declaration appended between the two is neither lost nor doubled."""
    path = new_store(store_kind, tmp_path)
    writer = Deconflict(open_store(path))
    writer.add_party(Party("p1", "p1"))
    stop = threading.Event()
    count = 0

    def keep_declaring() -> None:
        nonlocal count
        while not stop.is_set():
            decl = decode_declaration(patrol(f"S{count}", 30.0 + count * 0.01), "d", owner="p1")
            writer.apply([Change(declaration=decl)], "p1")
            count += 1

    t = threading.Thread(target=keep_declaring)
    t.start()
    try:
        readers = []
        for _ in range(5):
            readers.append(Deconflict(open_store(path)))
    finally:
        stop.set()
        t.join()
    for r in readers:
        r.sync()
        assert len(r.engine) == count == r.store.count_declarations()
        assert r.seq == writer.seq
        r.close()
    writer.close()


def test_a_stream_on_one_worker_carries_what_the_other_appended(workers: Workers) -> None:
    p1 = workers.planner(workers.a, "p1")
    viewer = workers.planner(workers.b, "p1", Role.VIEWER)
    workers.b.catch_up()
    start = workers.b.head
    stream = log_view.follow(workers.b, viewer, start, wait=30)  # only a catch-up can wake it in time
    got: list[Any] = []

    def read() -> None:
        for item in stream:
            if item is not None and item[1] == "declaration.declared":
                got.append(item)
                return

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.2)  # the stream has read the log and waits
    workers.a.submit(p1, activity(p1, patrol("S1")))
    for _ in range(100):  # the server's follower thread does this every 0.1 s
        workers.b.catch_up()
        reader.join(0.05)
        if not reader.is_alive():
            break
    assert got and got[0][2]["id"] == own(p1, "S1") and got[0][0] > start
