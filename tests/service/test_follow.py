"""Following other processes' appends (Hotline.follow, issue 13): a NOTIFY from
PostgreSQL only wakes a follower early; reading the log by sequence number is
the truth, so a follower that never hears one still catches up by polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from deconflict.model import Party
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.documents import decode_declaration
from deconflict.store.postgres import NOTIFY_CHANNEL, PostgresStore
from tests.pg import fresh_url

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T02:00:00Z"}
#: A guard against hanging, not a measure.
PATIENCE_S = 20.0


@contextmanager
def following(h: Hotline, every: float, url: str) -> Iterator[None]:
    stop = threading.Event()
    t = threading.Thread(target=h.follow, args=(stop, every))
    t.start()
    try:
        yield
    finally:
        stop.set()
        with psycopg.connect(url, autocommit=True) as db:  # wake it to see the stop
            db.execute(f"NOTIFY {NOTIFY_CHANNEL}")
        t.join(every + PATIENCE_S)
        assert not t.is_alive()


def caught_up(follower: Hotline, writer: Hotline) -> bool:
    deadline = time.monotonic() + PATIENCE_S
    while follower.head != writer.head:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def pair(url: str, *, notify: bool) -> tuple[Hotline, Hotline]:
    first = Deconflict(PostgresStore(url))
    first.add_party(Party("p1", "p1"))
    first.close()
    writer = Hotline(Deconflict(PostgresStore(url, notify=notify, trace=True)))
    return writer, Hotline(Deconflict(PostgresStore(url)))


def submit_one(writer: Hotline) -> None:
    who = writer.authenticate(writer.issue_credential(None, "p1", "m", Role.PLANNER)[1])
    doc = {"kind": "fire", "id": "F1", "effects_radius_m": 300,
           "target": {"type": "Point", "coordinates": [40.0, 35.0]}, "window": WINDOW}
    writer.submit(who, decode_declaration(doc, "a", owner="p1", default_id="F1"))


def test_a_follower_that_never_hears_a_notify_catches_up_by_polling() -> None:
    url = fresh_url()
    writer, follower = pair(url, notify=False)
    try:
        follower.service.store.wait_for_log(0.01)  # it listens; nothing will come
        with following(follower, every=0.2, url=url):
            submit_one(writer)
            assert caught_up(follower, writer)
        assert follower.service.engine.has_declaration("p1:F1")
        assert not any("NOTIFY" in sql for _c, sql in writer.service.store.statements or [])  # type: ignore[attr-defined]
    finally:
        for h in (writer, follower):
            h.service.close()


def test_a_notify_wakes_a_follower_long_before_its_next_poll() -> None:
    """A follower polling once a minute is woken by the writer's NOTIFY (it has
    caught up within PATIENCE_S, a third of the minute, so no poll did it)."""
    url = fresh_url()
    writer, follower = pair(url, notify=True)
    try:
        follower.service.store.wait_for_log(0.01)  # listening from now on
        with following(follower, every=60.0, url=url):
            time.sleep(0.2)  # the follower waits in wait_for_log
            submit_one(writer)
            assert caught_up(follower, writer)
            assert follower.service.engine.has_declaration("p1:F1")
    finally:
        for h in (writer, follower):
            h.service.close()
