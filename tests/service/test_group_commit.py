"""Group commit: queued submits are decided in order and made durable together,
and a failed append takes the whole batch back out of the engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.errors import StoreError
from deconflict.model import Party
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.documents import decode_declaration
from deconflict.store.open import open_store
from tests.service.conftest import new_store

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}


def chosen(ident: str) -> str:
    """The id as its party chose it (the hotline keeps it as ``<party>:<id>``)."""
    return ident.partition(":")[2]


def patrol(i: int, lon: float) -> dict[str, Any]:
    """A movement of forces on the spot (refusable, unlike a site: presence is never
    refused), conflicting with a fire there as a forces site would."""
    return {"kind": "movement", "id": f"s{i}", "half_width_m": 500,
            "geometry": {"type": "LineString", "coordinates": [[lon - 1e-6, 35.0], [lon + 1e-6, 35.0]]},
            "window": WINDOW}


@pytest.fixture
def hotline(tmp_path: Path, store_kind: str) -> Iterator[Hotline]:
    service = Deconflict(open_store(new_store(store_kind, tmp_path)))
    for p in ("p1", "p2"):
        service.add_party(Party(p, p))
    h = Hotline(service)
    yield h
    h.stop_committer()
    service.close()


def test_a_failed_append_leaves_nothing_in_the_engine(hotline: Hotline, monkeypatch: pytest.MonkeyPatch) -> None:
    who = hotline.authenticate(hotline.issue_credential(None, "p1", "m", Role.PLANNER)[1])
    head = hotline.head

    def broken(_drafts: object, **_kw: object) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(hotline.service.store, "append", broken)
    monkeypatch.setattr(hotline.service.store, "append_numbered", broken)  # a decision under cell rows
    activity = decode_declaration(patrol(1, 40.0), "a", owner="p1", default_id="s1")
    with pytest.raises(StoreError):
        hotline.submit(who, activity, idempotency_key="k1", request_sha256="x")
    assert not hotline.service.engine.has_declaration("p1:s1")
    monkeypatch.undo()
    created, _response = hotline.submit(who, activity, idempotency_key="k1", request_sha256="x")
    assert created and hotline.service.engine.has_declaration("p1:s1") and hotline.head > head


def test_concurrent_conflicting_submits_are_decided_one_after_the_other(hotline: Hotline) -> None:
    """Sites of two parties at the same place: forces sites do not conflict with
    each other, so use fires on sites; whichever comes first wins, never both."""
    p1 = hotline.authenticate(hotline.issue_credential(None, "p1", "m", Role.PLANNER)[1])
    p2 = hotline.authenticate(hotline.issue_credential(None, "p2", "m", Role.PLANNER)[1])
    barrier = threading.Barrier(16)
    outcomes: list[str] = []

    def go(i: int) -> None:
        who = p1 if i % 2 else p2
        doc: dict[str, Any] = patrol(i, 40.0) if i % 2 else {
            "kind": "fire", "id": f"f{i}", "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [40.0, 35.0]}, "window": WINDOW}
        activity = decode_declaration(doc, "a", owner=who.party, default_id=doc["id"])
        barrier.wait()
        try:
            hotline.submit(who, activity)
            outcomes.append(who.party)
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    accepted = {o for o in outcomes if o in ("p1", "p2")}
    assert len(accepted) == 1  # all sites or all fires, never a mix
    assert len(outcomes) == 16
    assert hotline.service.store.verify() == hotline.head


def _fire(i: int) -> dict[str, Any]:
    return {"kind": "fire", "id": f"f{i}", "effects_radius_m": 300,
            "target": {"type": "Point", "coordinates": [40.0, 35.0]}, "window": WINDOW}


def test_the_committer_answers_every_queued_submit_once_and_in_batches(hotline: Hotline) -> None:
    """The event loop's path: ``enqueue`` returns at once, the committer thread
    decides what queued up together and calls back once per submit."""
    p1 = hotline.authenticate(hotline.issue_credential(None, "p1", "m", Role.PLANNER)[1])
    p2 = hotline.authenticate(hotline.issue_credential(None, "p2", "m", Role.PLANNER)[1])
    answered: list[tuple[str, bool, str]] = []
    done = threading.Semaphore(0)
    batches: list[int] = []
    run_batch = hotline._run_batch

    def counting(batch: list[Any]) -> None:
        batches.append(len(batch))
        run_batch(batch)

    hotline._run_batch = counting  # type: ignore[method-assign]

    def on_done(item: Any) -> None:
        answered.append((chosen(item.activity.id), item.result is not None and item.result[0],
                         type(item.error).__name__ if item.error else ""))
        done.release()

    with hotline._lock:  # hold the committer back so that the submits queue up
        for i in range(40):
            who, doc = (p1, patrol(i, 40.0)) if i % 2 else (p2, _fire(i))
            hotline.enqueue(who, decode_declaration(doc, "a", owner=who.party, default_id=doc["id"]), on_done)
    for _ in range(40):
        assert done.acquire(timeout=30)
    assert sorted(a[0] for a in answered) == sorted([f"s{i}" for i in range(1, 40, 2)] +
                                                    [f"f{i}" for i in range(0, 40, 2)])
    accepted = [a for a in answered if a[1]]
    # The first queued (a fire of p2's) wins; every site after it conflicts, other fires do not.
    assert {a[0][0] for a in accepted} == {"f"}
    assert {a[2] for a in answered if not a[1]} == {"Refused"}
    assert max(batches) > 1  # decided together, one fsync
    hotline.stop_committer()
    assert hotline.service.store.verify() == hotline.head


def test_stopping_the_committer_drains_the_queue_then_refuses(hotline: Hotline) -> None:
    from deconflict.errors import Unavailable

    p1 = hotline.authenticate(hotline.issue_credential(None, "p1", "m", Role.PLANNER)[1])
    answered: list[bool] = []
    with hotline._lock:
        for i in range(5):
            hotline.enqueue(p1, decode_declaration(patrol(i, 40.0 + i), "a", owner="p1", default_id=f"s{i}"),
                            lambda item: answered.append(bool(item.result and item.result[0])))
    hotline.stop_committer()  # returns once the queue is decided and durable
    assert answered == [True] * 5
    assert all(hotline.service.engine.has_declaration(f"p1:s{i}") for i in range(5))
    with pytest.raises(Unavailable):
        hotline.enqueue(p1, decode_declaration(patrol(9, 41.0), "a", owner="p1", default_id="s9"), lambda _i: None)


def test_a_store_failure_before_deciding_answers_the_queue_and_the_committer_goes_on(
        hotline: Hotline, monkeypatch: pytest.MonkeyPatch) -> None:
    p1 = hotline.authenticate(hotline.issue_credential(None, "p1", "m", Role.PLANNER)[1])
    answers: list[tuple[str, str]] = []
    done = threading.Semaphore(0)

    def on_done(item: Any) -> None:
        answers.append((chosen(item.activity.id), type(item.error).__name__ if item.error else "accepted"))
        done.release()

    def unreadable() -> None:
        raise StoreError("disk gone")

    monkeypatch.setattr(hotline.service, "sync", unreadable)
    hotline.enqueue(p1, decode_declaration(patrol(1, 40.0), "a", owner="p1", default_id="s1"), on_done)
    assert done.acquire(timeout=10)
    assert answers == [("s1", "StoreError")]
    with pytest.raises(StoreError):  # the caller's own thread: told, and not accepted later
        hotline.submit(p1, decode_declaration(patrol(2, 41.0), "a", owner="p1", default_id="s2"))
    assert hotline._pending == []
    monkeypatch.undo()
    hotline.enqueue(p1, decode_declaration(patrol(3, 42.0), "a", owner="p1", default_id="s3"), on_done)
    assert done.acquire(timeout=10)
    assert answers[-1] == ("s3", "accepted")
    engine = hotline.service.engine
    assert not engine.has_declaration("p1:s1") and not engine.has_declaration("p1:s2") \
        and engine.has_declaration("p1:s3")
    hotline.stop_committer()


def test_a_waiter_that_raises_does_not_keep_the_others_unanswered(hotline: Hotline) -> None:
    p1 = hotline.authenticate(hotline.issue_credential(None, "p1", "m", Role.PLANNER)[1])
    answered: list[str] = []

    def gone(_item: Any) -> None:
        raise RuntimeError("Event loop is closed")

    with hotline._lock:
        hotline.enqueue(p1, decode_declaration(patrol(1, 40.0), "a", owner="p1", default_id="s1"), gone)
        hotline.enqueue(p1, decode_declaration(patrol(2, 41.0), "a", owner="p1", default_id="s2"),
                        lambda item: answered.append(chosen(item.activity.id)))
    hotline.stop_committer()
    assert answered == ["s2"]
