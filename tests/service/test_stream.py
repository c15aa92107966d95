"""A party's live stream (Server-Sent Events): complete, resumable, disclosed.

The expected stream is the event log filtered by the disclosure rules written
out here independently of the server's own filter: a party sees its own
notifications and their changes, the declarations shared with it (judged by
the version declared, at the time it was declared) and their withdrawals,
measures, agreements and parties, and its own acceptances.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from deconflict.errors import DeconflictError
from deconflict.service.client import StreamEvent
from deconflict.store.events import Event
from tests.service.conftest import Running

WINDOW = {"start": "2018-02-12T10:00:00Z", "end": "2018-02-12T11:00:00Z"}


def shared_with(owner: str, share: Any, party: str) -> bool:
    return owner == party or share == "all" or party in share


def expected_for(party: str, events: Iterable[Event]) -> list[tuple[int, str]]:
    """(seq, type) of every event ``party`` may see, by the rules in the module docstring."""
    notified: dict[str, str] = {}
    declared: dict[str, tuple[str, Any]] = {}
    out = []
    for e in events:
        p = e.payload
        if e.type == "notification.sent":
            notified[p["id"]] = p["party"]
            ok = p["party"] == party
        elif e.type.startswith("notification."):
            ok = notified.get(p["id"]) == party
        elif e.type == "declaration.declared":
            declared[e.subject] = (p["owner"], p["share_with"])
            ok = shared_with(p["owner"], p["share_with"], party)
        elif e.type == "declaration.withdrawn":
            ok = shared_with(*declared[e.subject], party)
        elif e.type.startswith(("measure.", "agreement.", "party.")):
            ok = True
        elif e.type == "activity.accepted":
            ok = e.actor == party
        else:
            ok = False
        if ok:
            out.append((e.seq, e.type))
    return out


class Reader:
    """A party's stream read in a thread, through the package's client."""

    def __init__(self, running: Running, party: str, after: int = 0, *, limit: int | None = None) -> None:
        self.client = running.client(party, "viewer")
        self.events: list[StreamEvent] = []
        self.error: BaseException | None = None
        self.limit = limit
        self.thread = threading.Thread(target=self._run, args=(after,), daemon=True)
        self.thread.start()

    def _run(self, after: int) -> None:
        try:
            for ev in self.client.stream(after, wait=0.2, timeout=30):
                self.events.append(ev)
                if self.limit is not None and len(self.events) >= self.limit:
                    return  # leaves the loop: the client disconnects mid-stream
        except (httpx.HTTPError, DeconflictError, RuntimeError) as exc:  # closed under it, or a server error
            self.error = exc

    def wait(self, done: Callable[[list[StreamEvent]], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.events):
            assert self.thread.is_alive() or done(self.events), f"stream ended early: {self.error!r}"
            assert time.monotonic() < deadline, f"stream did not deliver in time; got {len(self.events)} events"
            time.sleep(0.02)

    def wait_until(self, seq: int, timeout: float = 10.0) -> None:
        self.wait(lambda evs: bool(evs) and evs[-1].id >= seq, timeout)

    def close(self) -> None:
        self.client.close()
        self.thread.join(5)


def log(running: Running) -> list[Event]:
    return list(running.hotline.service.store.events())


def last_expected(running: Running, party: str) -> int:
    return expected_for(party, log(running))[-1][0]


def site(did: str, owner_share: Any, label: str, lon: float = 38.2) -> dict[str, Any]:
    return {"id": did, "kind": "site", "category": "protected", "label": label,
            "geometry": {"type": "Point", "coordinates": [lon, 36.2]}, "protection_m": 100,
            "window": WINDOW, "share_with": owner_share}


def roz(mid: str, binds: list[str]) -> dict[str, Any]:
    return {"id": mid, "kind": "restricted_operations_zone", "owner": "coalition", "binds": binds,
            "geometry": {"type": "Polygon", "coordinates": [
                [[38.0, 36.5], [38.1, 36.5], [38.1, 36.6], [38.0, 36.6], [38.0, 36.5]]]},
            "altitude": {"lower_m": 1000, "upper_m": 2000}, "window": WINDOW}


def produce(running: Running, tag: str) -> None:
    """Events of every sort, some for russia, some not."""
    with running.client("coalition") as coalition, running.client("sdf") as sdf, \
            running.client("relief") as relief, running.client("regime") as regime:
        # relief asks nobody to acknowledge its sites (a humanitarian party's default is every
        # armed force): who is told what stays as below.
        relief.put_settings("relief", {})
        coalition.propose_measure(roz(f"roz-{tag}-r", ["russia", "sdf"]))  # russia and sdf notified
        coalition.propose_measure(roz(f"roz-{tag}-s", ["sdf"]))  # only sdf notified
        sdf.submit(site(f"private-{tag}", ["coalition"], f"secret {tag}"))
        sdf.withdraw(f"private-{tag}")  # its withdrawal is as private as it was
        relief.submit(site(f"public-{tag}", "all", f"clinic {tag}", lon=38.3))
        regime.submit({"id": f"fire-{tag}", "kind": "fire", "target": {"type": "Point", "coordinates": [38.3, 36.2]},
                       "effects_radius_m": 50, "window": WINDOW},
                      override_reason="relief agreed by phone")  # relief notified, not russia
        relief.withdraw(f"public-{tag}")  # russia saw it declared: it sees it withdrawn
        regime.withdraw(f"fire-{tag}")  # relief, told about the fire, is told of its withdrawal
        # An id shared, withdrawn, then used again privately: russia saw the first
        # declared, so it must see the first withdrawn, and nothing of the second.
        relief.submit(site(f"reused-{tag}", "all", f"depot {tag}", lon=38.6))
        relief.withdraw(f"reused-{tag}")
        relief.submit(site(f"reused-{tag}", ["coalition"], f"hidden depot {tag}", lon=38.6))
        # Declared private, then changed to shared: russia may see only the second version.
        sdf.submit(site(f"changed-{tag}", ["coalition"], f"hidden {tag}", lon=38.4))
        sdf.submit(site(f"changed-{tag}", "all", f"open {tag}", lon=38.4))
        [n] = [n for n in sdf.notifications() if n["subject"] == f"roz-{tag}-r"]
        sdf.acknowledge(n["id"], "seen")  # sdf's answer: not russia's business


def assert_no_secrets(events: list[StreamEvent], tags: Iterable[str]) -> None:
    text = json.dumps([e.data for e in events])
    for tag in tags:
        assert f"private-{tag}" not in text
        assert f"secret {tag}" not in text and f"hidden {tag}" not in text and f"hidden depot {tag}" not in text
        assert f"roz-{tag}-s" not in {e.data.get("subject") for e in events if e.type.startswith("notification.")}
    for e in events:
        if e.type == "notification.sent":
            assert e.data["party"] == "russia"
    assert "S4" not in {e.data.get("id") for e in events if e.type.startswith("declaration.")}


def test_resume_after_disconnect_loses_and_duplicates_nothing(running: Running) -> None:
    first = Reader(running, "russia")
    first.wait_until(last_expected(running, "russia"))  # the history so far
    produce(running, "live")  # while connected
    first.wait_until(last_expected(running, "russia"))
    first.close()

    # Connect again, disconnect mid-way through the backlog.
    head = len(first.events)
    second = Reader(running, "russia", after=first.events[head // 2].id, limit=3)
    second.thread.join(10)
    assert not second.thread.is_alive() and len(second.events) == 3
    second.close()
    produce(running, "missed")  # while disconnected

    third = Reader(running, "russia", after=second.events[-1].id)  # Last-Event-ID
    # Until the log stands still: reading a notification.sent appends its
    # notification.delivered, which this stream then carries too.
    target = 0
    while target != (target := last_expected(running, "russia")):
        third.wait_until(target)
    third.close()

    everything = log(running)
    want = expected_for("russia", everything)
    live = [(e.id, e.type) for e in first.events]
    resumed = [(e.id, e.type) for e in first.events[: head // 2 + 1] + second.events + third.events]
    assert live == want[: len(live)], "the live stream differs from the log"
    assert resumed == want, "resuming lost or repeated events"
    by_seq = {e.seq: e for e in everything}
    for ev in first.events + second.events + third.events:
        if ev.type.startswith(("declaration.", "notification.", "measure.", "agreement.")):
            assert ev.data == by_seq[ev.id].payload
    assert_no_secrets(first.events + third.events, ("live", "missed"))
    names = {e.data.get("id") for e in third.events if e.type.startswith("declaration.")}
    assert {"relief:public-missed", "sdf:changed-missed", "relief:reused-missed"} <= names  # namespaced ids


def test_a_party_sees_only_its_own_notifications(running: Running) -> None:
    produce(running, "a")
    for party in ("russia", "sdf", "relief"):
        reader = Reader(running, party)
        reader.wait_until(last_expected(running, party))
        reader.close()
        sent = [e.data for e in reader.events if e.type == "notification.sent"]
        assert sent, party
        assert {n["party"] for n in sent} == {party}
        mine = {n.id for n in running.hotline.inbox.for_party(party)}
        assert {n["id"] for n in sent} == mine
        others = {n.id for n in running.hotline.inbox.all()} - mine
        assert not [e for e in reader.events if e.data.get("id") in others]


def test_a_notification_seen_on_the_stream_is_delivered(running: Running) -> None:
    reader = Reader(running, "relief")
    reader.wait_until(last_expected(running, "relief"))
    with running.client("coalition") as coalition:
        coalition.propose_measure(roz("roz-relief", ["relief"]))
    [note] = [n for n in running.hotline.inbox.for_party("relief") if n.subject == "roz-relief"]
    reader.wait(lambda evs: any(e.type == "notification.delivered" and e.data["id"] == note.id for e in evs))
    reader.close()
    [sent] = [e for e in reader.events if e.type == "notification.sent" and e.data["id"] == note.id]
    with running.as_admin() as admin:  # the administrator's listing delivers nothing itself
        [listed] = [n for n in admin.notifications() if n["id"] == note.id]
    assert listed["status"] == "delivered" and listed["delivered_at"] is not None
    assert listed["sent_at"] <= listed["delivered_at"]
    assert sent.id < next(e.id for e in reader.events if e.type == "notification.delivered")


def test_a_notification_not_yet_streamed_stays_sent(running: Running) -> None:
    """The converse, so the test above can fail: nobody looked, so nothing was delivered."""
    with running.client("coalition") as coalition:
        coalition.propose_measure(roz("roz-unseen", ["relief"]))
    with running.as_admin() as admin:
        [listed] = [n for n in admin.notifications() if n["subject"] == "roz-unseen"]
    assert listed["status"] == "sent" and listed["delivered_at"] is None


def test_stream_needs_a_credential_and_refuses_a_negative_resume_point(running: Running) -> None:
    r = httpx.get(f"{running.url}/v1/stream")
    assert r.status_code == 401
    with running.client("russia", "viewer") as c:
        r = c.http.get("/v1/stream", params={"after": -1})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
