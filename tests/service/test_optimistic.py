"""A submit is checked before the store's lock and, under it, against what changed
since alone (service/optimistic.py): as safe as a full check under the lock.

Two hotlines over one store are two workers. The test holds the store's lock
itself (another handle on the store: another worker) while worker A checks a
fire; then a patrol conflicting with it is accepted on the spot; A, once it has
the lock, must find the patrol in its delta and refuse the fire."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Refused
from deconflict.service.optimistic import Journal
from deconflict.store.documents import decode_declaration
from deconflict.store.events import Event
from deconflict.store.open import open_store
from tests.service.conftest import new_store
from tests.service.test_workers import Workers, activity, fire, patrol


@pytest.fixture
def store_path(tmp_path: Path, store_kind: str) -> Path | str:
    return new_store(store_kind, tmp_path)


@pytest.fixture
def workers(store_path: Path | str) -> Any:
    w = Workers(store_path)
    yield w
    w.close()


def submit_while_another_worker_writes(workers: Workers, other: Deconflict, doc: dict[str, Any],
                                       written: dict[str, Any] | None) -> tuple[bool | None, BaseException | None]:
    """Worker A submits ``doc`` for p1; once it has checked it (before the store's lock),
    ``other`` (p2) declares ``written`` under that lock; then A decides."""
    p1 = workers.planner(workers.a, "p1")
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["created"] = workers.a.submit(p1, activity(p1, doc))[0]
        except BaseException as exc:  # handed to the test thread
            out["error"] = exc

    with other.store.exclusive():
        checked = workers.a.checked_before_lock
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 20
        while workers.a.checked_before_lock == checked:
            assert thread.is_alive() and time.monotonic() < deadline, "A never checked before the lock"
            time.sleep(0.005)
        if written is not None:
            other.declare(decode_declaration({**written, "owner": "p2"}, "d"), "p2")
    thread.join(30)
    assert not thread.is_alive()
    return out.get("created"), out.get("error")


def test_a_conflict_accepted_after_the_first_check_is_found_in_the_delta(workers: Workers,
                                                                         store_path: Path | str) -> None:
    other = Deconflict(open_store(store_path))  # a third worker, on its own handle of the store
    try:
        before = dict(workers.a.checked_under_lock)
        created, error = submit_while_another_worker_writes(workers, other, fire("F1"), patrol("P1"))
        assert created is None and isinstance(error, Refused), (created, error)
        assert error.result["verdict"] == "conflict"
        assert {f["object"]["id"] for f in error.result["findings"]} == {"P1"}
        # Decided on the delta, not on a full check under the lock.
        assert workers.a.checked_under_lock["delta"] == before["delta"] + 1
        assert workers.a.checked_under_lock["full"] == before["full"]
        # Nothing changed in between: accepted, on the (empty) delta.
        created, error = submit_while_another_worker_writes(workers, other, fire("F2", lon=41.0), None)
        assert error is None and created is True
        assert workers.a.checked_under_lock["delta"] == before["delta"] + 2
    finally:
        other.close()


def test_a_measure_or_party_added_since_means_a_full_check() -> None:
    journal = Journal()
    for seq, kind, subject in [(5, "declaration.declared", "D1"), (6, "notification.sent", "n"),
                               (7, "declaration.withdrawn", "D2"), (8, "party.added", "p9"),
                               (9, "declaration.declared", "D3")]:
        journal(Event(seq, datetime.now(UTC), kind, "x", subject, {}, "", ""))
    assert journal.changed_since(4, 7) == {"D1", "D2"}
    assert journal.changed_since(6, 7) == {"D2"}
    assert journal.changed_since(7, 7) == set()
    assert journal.changed_since(4, 9) is None  # a party joined in between
    assert journal.changed_since(8, 9) == {"D3"}
    assert journal.changed_since(2, 7) is None  # the journal does not reach back to event 3
