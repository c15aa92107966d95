"""Notifications: sent -> delivered -> acknowledged or objected, each with its time;
overdue ones escalate once; withdrawals are told; all of it survives a restart."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconflict.service.client import Client, ProblemError
from deconflict.store.documents import encode_declaration
from tests.service.conftest import Running, new_store, started


def activity_doc(running: Running, check_id: str, **over: Any) -> dict[str, Any]:
    check = next(c for c in running.scenario.checks if c.id == check_id)
    doc = encode_declaration(check.activity)
    doc.pop("owner")
    doc.pop("id")
    doc.update(over)
    return doc


def t(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def listing(running: Running) -> dict[str, dict[str, Any]]:
    """Every notification, as the administrator sees them (which delivers nothing)."""
    with running.as_admin() as admin:
        return {n["id"]: n for n in admin.notifications()}


def notify_relief(running: Running, **over: Any) -> tuple[str, str]:
    """regime shells near relief's convoy over its findings: relief is notified. (activity id, notification id)"""
    with running.client("regime", "planner") as regime:
        out = regime.submit(activity_doc(running, "C7", **over), override_reason="convoy told by phone")
    assert out["notified"] == ["relief"]
    [n] = [n for n in running.hotline.inbox.for_party("relief") if n.subject == out["id"]]
    return out["id"], n.id


def eventually(what: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_lifecycle_sent_delivered_acknowledged_with_times(running: Running) -> None:
    _aid, nid = notify_relief(running)
    n = listing(running)[nid]
    assert n["status"] == "sent" and n["delivered_at"] is None and n["answered_at"] is None
    # Due the ack deadline after it was sent (the deadline is set a moment before the event is recorded).
    assert abs(t(n["deadline"]) - t(n["sent_at"]) - timedelta(seconds=900)) < timedelta(seconds=1)
    assert n["kind"] == "override" and n["from_party"] == "regime" and n["party"] == "relief"
    with running.client("relief") as relief:
        [mine] = [x for x in relief.notifications() if x["id"] == nid]
        assert mine["status"] == "delivered" and t(mine["delivered_at"]) >= t(mine["sent_at"])
        acked = relief.acknowledge(nid, "convoy halted")
    assert acked["status"] == "acknowledged" and acked["comment"] == "convoy halted"
    assert acked["answered_by"] == "liaison" and t(acked["answered_at"]) >= t(acked["delivered_at"])
    assert acked["delivered_at"] == mine["delivered_at"]  # delivered once, not again
    after = listing(running)[nid]
    assert after["status"] == "acknowledged" and after["overdue"] is False
    types = [e.type for e in running.hotline.service.store.events() if e.subject == nid]
    assert types == ["notification.sent", "notification.delivered", "notification.acknowledged"]


def test_an_objection_needs_a_comment_and_is_recorded(running: Running) -> None:
    _aid, nid = notify_relief(running)
    with running.client("relief") as relief:
        for body in ({"comment": ""}, {"comment": "   "}, {}, None):
            r = relief.http.post(f"/v1/notifications/{nid}/object", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        assert listing(running)[nid]["status"] == "sent"  # nothing recorded, not even delivery
        objected = relief.object(nid, "the convoy is still on that road")
        assert objected["status"] == "objected" and objected["comment"] == "the convoy is still on that road"
        # Answering implies it was handed over.
        assert objected["delivered_at"] is not None and objected["answered_at"] is not None
        with pytest.raises(ProblemError) as e:
            relief.acknowledge(nid)
        assert e.value.status == 422
    assert listing(running)[nid]["status"] == "objected"


def test_a_party_cannot_answer_another_partys_notification(running: Running) -> None:
    _aid, nid = notify_relief(running)
    with running.client("sdf") as sdf, pytest.raises(ProblemError) as e:
        sdf.acknowledge(nid)
    assert e.value.status == 404
    assert listing(running)[nid]["status"] == "sent"


@pytest.fixture
def hasty(tmp_path: Path) -> Any:
    """A server whose notifications are due one second after they are sent."""
    with started(tmp_path / "hasty.sqlite3", ack_deadline_s=1.0) as r:
        yield r


def test_unanswered_notifications_become_overdue_and_escalate_once(hasty: Running) -> None:
    _a1, late = notify_relief(hasty)
    _a2, answered = notify_relief(hasty, window={"start": "2018-02-07T11:30:00Z", "end": "2018-02-07T11:45:00Z"})
    with hasty.client("relief") as relief:
        relief.acknowledge(answered, "ok")
    eventually(lambda: listing(hasty)[late]["escalated_at"] is not None)
    n = listing(hasty)[late]
    assert n["overdue"] is True and n["status"] == "sent"
    assert t(n["escalated_at"]) >= t(n["deadline"])
    time.sleep(1.0)  # several more escalation rounds
    escalations = [e for e in hasty.hotline.service.store.events() if e.type == "notification.escalated"]
    assert [e.subject for e in escalations] == [late]
    done = listing(hasty)[answered]
    assert done["overdue"] is False and done["escalated_at"] is None
    # The party sees it marked, and may still answer it late.
    with hasty.client("relief") as relief:
        [mine] = [x for x in relief.notifications() if x["id"] == late]
        assert mine["overdue"] is True and mine["escalated_at"] == n["escalated_at"]
        assert relief.acknowledge(late, "late, sorry")["overdue"] is False


def test_listing_puts_unanswered_first_overdue_first_then_newest(running: Running) -> None:
    windows = [{"start": f"2018-02-07T11:{m:02d}:00Z", "end": f"2018-02-07T11:{m + 5:02d}:00Z"}
               for m in (0, 10, 20, 30)]
    hl = running.hotline
    hl.ack_deadline = timedelta(seconds=0.3)  # the first two are due at once
    _, overdue_old = notify_relief(running, window=windows[0])
    _, overdue_new = notify_relief(running, window=windows[1])
    hl.ack_deadline = timedelta(minutes=15)
    _, fresh_old = notify_relief(running, window=windows[2])
    _, answered = notify_relief(running, window=windows[3])
    _, fresh_new = notify_relief(running, window=windows[0] | {"end": "2018-02-07T11:02:00Z"})
    with running.client("relief") as relief:
        relief.acknowledge(answered, "ok")
        time.sleep(0.4)
        order = [(n["id"], n["overdue"]) for n in relief.notifications()]
    assert order == [(overdue_new, True), (overdue_old, True), (fresh_new, False), (fresh_old, False),
                     (answered, False)]


def test_withdrawal_tells_the_parties_that_were_told(running: Running) -> None:
    with running.client("russia", "planner") as russia:
        out = russia.submit(activity_doc(running, "C2"), override_reason="exercise")
        told = set(out["notified"])
        assert "coalition" in told and "relief" not in told  # S1's and M1's owner; relief has nothing there
        russia.withdraw(out["id"])
        quiet = russia.submit(activity_doc(running, "C1"))
        russia.withdraw(quiet["id"])
    withdrawals = [n for n in running.hotline.inbox.all() if n.kind.value == "withdrawal"]
    assert {n.party for n in withdrawals} == told
    for n in withdrawals:
        assert n.subject == out["id"] and n.from_party == "russia" and out["id"] in n.summary
    with running.client("sdf") as sdf:
        [n] = [n for n in sdf.notifications() if n["kind"] == "withdrawal"]
        assert n["status"] == "delivered" and sdf.acknowledge(n["id"])["status"] == "acknowledged"


def test_everything_survives_a_restart(tmp_path: Path, store_kind: str) -> None:
    path = new_store(store_kind, tmp_path)
    with started(path) as first:
        with first.as_admin() as admin:
            kept = admin.issue_credential("relief", "night-shift", "liaison")
            gone = admin.issue_credential("relief", "left", "viewer")
            admin.revoke_credential(gone["id"])
        with first.client("regime", "planner") as regime:
            keyed = regime.submit(activity_doc(first, "C7"), override_reason="told", idempotency_key="once")
        with first.client("russia", "planner") as russia:
            told = russia.submit(activity_doc(first, "C2"), override_reason="exercise")
        with Client(first.url, kept["token"]) as relief:
            [n] = relief.notifications()
            relief.acknowledge(n["id"], "seen at night")
        with first.client("sdf") as sdf:
            [n] = sdf.notifications()
            sdf.object(n["id"], "our people are there")
        with first.client("coalition") as coalition:
            coalition.notifications()  # delivered, not answered
            coalition.propose_measure({"id": "roz-kept", "kind": "restricted_operations_zone",
                                       "owner": "coalition", "binds": ["russia", "sdf"],
                                       "geometry": {"type": "Point", "coordinates": [38.0, 36.0]}, "half_width_m": 5000,
                                       "altitude": {"lower_m": 0, "upper_m": 3000},
                                       "window": {"start": "2018-02-20T00:00:00Z", "end": "2018-02-21T00:00:00Z"}})
        with first.client("sdf") as sdf:
            sdf.accept_measure("roz-kept")
        before = listing(first)
        states = {n["status"] for n in before.values()}
        assert {"sent", "delivered", "acknowledged", "objected"} <= states
        with first.as_admin() as admin:
            measures_before = admin.measures()
        head = first.hotline.head

    with started(path) as second:
        assert second.hotline.head == head + len(second.tokens) * 3 + 1  # only the new tokens since
        with Client(second.url, kept["token"]) as relief:
            assert relief.me() == {"party": "relief", "member": "night-shift", "role": "liaison"}
        r = httpx.get(f"{second.url}/v1/me", headers={"Authorization": f"Bearer {gone['token']}"})
        assert r.status_code == 401
        after = listing(second)
        assert {k: {**v, "overdue": None} for k, v in after.items()} == {
            k: {**v, "overdue": None} for k, v in before.items()}
        with second.as_admin() as admin:
            assert admin.measures() == measures_before
        with second.client("regime", "planner") as regime:
            h = second.hotline.head
            again = regime.http.post("/v1/activities", json={"activity": activity_doc(second, "C7"),
                                                             "override_reason": "told"},
                                     headers={"Idempotency-Key": "once"})
            assert again.status_code == 200 and again.json() == keyed
            assert second.hotline.head == h
            with pytest.raises(ProblemError) as e:
                regime.submit(activity_doc(second, "C8"), idempotency_key="once")
            assert e.value.status == 409
        with second.client("russia") as russia:
            assert russia.accept_measure("roz-kept")["in_force"] is True  # sdf's acceptance was kept
            russia.withdraw(told["id"])  # the parties told before the restart are told now
        withdrawals = {n.party for n in second.hotline.inbox.all() if n.kind.value == "withdrawal"}
        assert withdrawals == set(told["notified"])


def test_an_unshared_activity_is_told_only_to_the_owners_of_what_it_touches(running: Running) -> None:
    """regime shells into relief's no-fire area M3 (binding everyone) and across M1 (coalition's), sharing
    the fire with the coalition only: relief and the coalition are told, russia and sdf (merely bound by
    M1 or M3) learn nothing of it, not even from a notification."""
    doc = activity_doc(running, "C13", id="secret-shelling", label="Secret shelling", share_with=["coalition"])
    with running.client("regime", "planner") as regime:
        out = regime.submit(doc, override_reason="exercise")
    assert set(out["notified"]) == {"relief", "coalition"}
    for party in ("russia", "sdf"):
        with running.client(party) as c:
            assert "secret-shelling" not in str(c.notifications())
    [to_relief] = [n for n in running.hotline.inbox.for_party("relief") if n.subject == out["id"]]
    assert to_relief.detail["activity"] is None and "Secret shelling" not in to_relief.summary
    assert {f["object"]["id"] for f in to_relief.detail["findings"]} == {"M3"}  # not M1, not its business


def test_a_shared_activity_is_told_to_every_party_bound_by_the_measure_it_violates(running: Running) -> None:
    with running.client("regime", "planner") as regime:
        out = regime.submit(activity_doc(running, "C13"), override_reason="exercise")
    assert set(out["notified"]) == {"coalition", "relief", "russia", "sdf"}
