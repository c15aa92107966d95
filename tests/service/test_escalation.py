"""Escalation reaches people (issue 8, scenario d), on a test clock: the recipient's
liaisons are reminded at the first deadline; the administrators and the originator
are told at the second. Deadlines are the recipient's, by kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deconflict.service.client import Client
from tests.service.conftest import Running
from tests.service.test_answers import stream_until
from tests.service.test_notifications import activity_doc


class TestClock:
    __test__ = False

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def test_reminded_then_escalated_to_the_administrators_and_the_originator(running: Running) -> None:
    clock = TestClock()
    running.hotline.clock = clock
    with running.client("relief") as relief, running.client("regime") as regime, running.as_admin() as admin:
        relief.put_settings("relief", {"deadlines": {"fire": {"remind_minutes": 10, "escalate_minutes": 30},
                                                     "default": {"remind_minutes": 600}}})
        head = running.hotline.head
        out = regime.submit(activity_doc(running, "C7"), override_reason="convoy told by phone")
        [n] = [n for n in running.hotline.inbox.for_party("relief") if n.subject == out["id"]]
        assert n.deadline - n.sent_at < timedelta(minutes=10, seconds=5)
        assert n.escalate_at is not None and n.escalate_at - clock.now == timedelta(minutes=30)

        clock.advance(9)
        assert running.hotline.escalate_overdue() == 0
        clock.advance(2)  # past the first deadline: relief's liaisons are reminded
        assert running.hotline.escalate_overdue() == 1
        assert running.hotline.escalate_overdue() == 0  # once
        summary = relief.notification_summary()
        assert summary["overdue"] == 1 and summary["reminded"] == 1 and summary["escalated"] == 0
        [mine] = [x for x in relief.notifications() if x["id"] == n.id]
        assert mine["reminded_at"] is not None and mine["escalated_at"] is None
        stream_until(relief, head, lambda e: e.type == "notification.reminded")
        assert not [x for x in regime.notifications() if x["kind"] == "escalation"]

        clock.advance(20)  # past the second: the administrators and the originator
        assert running.hotline.escalate_overdue() == 1
        assert running.hotline.escalate_overdue() == 0
        [esc] = [e for e in running.hotline.service.store.events() if e.type == "notification.escalated"]
        assert esc.payload["to"] == ["admin", "regime"] and esc.subject == n.id
        [told] = [x for x in regime.notifications() if x["kind"] == "escalation"]
        assert told["summary"].startswith(f"relief has not answered {n.reference}") and told["urgent"] is True
        assert told["needs_answer"] is False
        everyone = admin.notification_summary()
        assert everyone["by_party"]["relief"]["escalated"] == 1
        stream_until(Client(running.url, running.admin), head, lambda e: e.type == "notification.escalated")

        # Answered late, it is overdue no more; nothing escalates again.
        relief.acknowledge(n.id, "late, sorry")
        clock.advance(600)
        assert running.hotline.escalate_overdue() == 0
        assert relief.notification_summary()["overdue"] == 0


def test_deadlines_are_the_recipients_by_kind(running: Running) -> None:
    clock = TestClock()
    running.hotline.clock = clock
    with running.client("relief") as relief, running.client("regime") as regime:
        relief.put_settings("relief", {"deadlines": {"fire": {"remind_minutes": 5}}})
        # The originator's settings do not set the recipient's deadlines.
        regime.put_settings("regime", {"deadlines": {"fire": {"remind_minutes": 120}}})
        regime.submit(activity_doc(running, "C7"), override_reason="told")
        [n] = relief.notifications()
        assert datetime.fromisoformat(n["deadline"]) - clock.now == timedelta(minutes=5)
        assert datetime.fromisoformat(n["escalate_at"]) - clock.now == timedelta(minutes=10)  # twice, unsaid
        # A kind the recipient set nothing for (a site, to regime): the service's default (15 minutes here).
        relief.submit({"id": "camp", "kind": "site", "category": "protected", "protection_m": 500,
                       "geometry": {"type": "Point", "coordinates": [40.03, 35.378]},
                       "window": {"start": "2018-02-07T11:00:00Z", "end": "2018-02-07T12:00:00Z"}})
        [m] = [x for x in regime.notifications() if x["subject"] == "relief:camp"]
        assert datetime.fromisoformat(m["deadline"]) - clock.now == timedelta(minutes=15)
