"""Answers reach the sender (issue 8, scenario a): an override with its reason, an
objection, and the originator's answer, over HTTP with one client per party."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from deconflict.service.client import Client, ProblemError, StreamEvent
from tests.service.conftest import Running
from tests.service.test_notifications import activity_doc

REASON = "Exercise cancelled late; strike window agreed by phone with the coalition duty officer at 19:40"


def stream_until(client: Client, after: int, want: Any, timeout: float = 10.0) -> list[StreamEvent]:
    """Read ``client``'s stream from ``after`` until ``want(event)``; every event read."""
    seen: list[StreamEvent] = []
    done = threading.Event()

    def read() -> None:
        for ev in client.stream(after, wait=0.2, timeout=timeout):
            seen.append(ev)
            if want(ev):
                done.set()
                return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    assert done.is_set(), f"not on the stream: {[(e.type, e.data.get('kind')) for e in seen]}"
    return seen


def test_an_override_reaches_the_affected_party_with_its_reason_and_the_objection_comes_back(
        running: Running) -> None:
    head = running.hotline.head
    with running.client("russia") as russia, running.client("coalition") as coalition:
        out = russia.submit(activity_doc(running, "C2", id="F7"), override_reason=REASON)
        assert out["overridden"] is True and out["reference"].startswith("DC-")
        assert "coalition" in out["notified"]
        [told] = [n for n in out["notifications"] if n["party"] == "coalition"]
        assert told["reference"].startswith("DC-") and told["reference"] != out["reference"]

        # The coalition sees who, what, when, where, why, and both references.
        [n] = [n for n in coalition.notifications() if n["subject"] == "russia:F7"]
        assert n["kind"] == "override" and n["from_party"] == "russia" and n["urgent"] is True
        assert n["reference"] == told["reference"]
        assert n["detail"]["override_reason"] == REASON and REASON in n["summary"]
        assert out["reference"] in n["summary"] and "20:00-20:15Z" in n["summary"]
        about = n["detail"]["about"]
        assert about == {"id": "russia:F7", "reference": out["reference"], "owner": "russia", "kind": "fire",
                         "label": "Air strike near the Conoco plant", "shared_with_you": True,
                         "window": {"start": "2018-02-07T20:00:00Z", "end": "2018-02-07T20:15:00Z"}}
        assert n["detail"]["activity"]["target"]["coordinates"] == [40.325, 35.355]  # shared: where
        # From the coalition's side: its own objects, how close, when.
        assert set(n["detail"]["your_objects"]) == {"S1", "M1"}
        s1 = next(f for f in n["detail"]["findings"] if f["object"]["id"] == "S1")
        assert s1["object"]["owner"] == "coalition" and s1["overlap"] is not None and s1["separation_m"] == 0
        assert "your site S1" in n["summary"]
        # The reference reads back on the radio.
        assert coalition.reference(n["reference"])["id"] == n["id"]
        assert coalition.reference(out["reference"].lower())["id"] == "russia:F7"

        objected = coalition.object(n["id"], "Our advisers are at the plant until 21:00; move it")
        assert objected["objection"] == {"open": True, "resolved": None, "resolved_at": None}

        # Russia has the objection in its inbox and on its stream.
        events = stream_until(russia, head, lambda e: e.type == "notification.sent" and e.data["kind"] == "answer")
        answer_event = events[-1].data
        assert answer_event["from_party"] == "coalition" and answer_event["needs_answer"] is True
        [back] = [x for x in russia.notifications() if x["kind"] == "answer"]
        assert back["id"] == answer_event["id"] and back["detail"]["answer"] == "objected"
        assert back["detail"]["comment"] == "Our advisers are at the plant until 21:00; move it"
        assert back["detail"]["in_reply_to"] == n["id"] and n["reference"] in back["summary"]
        assert back["urgent"] is True and back["status"] == "delivered"

        # The originator's view: each recipient party, sent, delivered, objected, with the comment.
        view = russia.activity("F7")
        [co] = [r for r in view["recipients"] if r["party"] == "coalition"]
        [item] = co["notifications"]
        assert item["status"] == "objected" and item["sent_at"] and item["delivered_at"] and item["answered_at"]
        assert item["comment"].startswith("Our advisers") and item["objection_open"] is True
        assert [o["party"] for o in view["open_objections"]] == ["coalition"]
        assert view["at_submit"]["override_reason"] == REASON and view["at_submit"]["overridden"] is True

        # Russia answers the objection; the objection closes and the coalition is told.
        head2 = running.hotline.head
        russia.acknowledge(back["id"], "Moved to 21:30")
        assert russia.activity("F7")["open_objections"] == []
        [closed] = [x for x in coalition.notifications() if x["id"] == n["id"]]
        assert closed["objection"]["open"] is False and closed["objection"]["resolved"] == "acknowledged"
        events = stream_until(coalition, head2,
                              lambda e: e.type == "notification.sent" and e.data["kind"] == "answer")
        assert "Moved to 21:30" in events[-1].data["summary"] and events[-1].data["needs_answer"] is False
        # An informational answer is answered by nobody: no loop.
        [info] = [x for x in coalition.notifications() if x["kind"] == "answer"]
        before = len(russia.notifications())
        coalition.acknowledge(info["id"])
        assert len(russia.notifications()) == before


def test_an_amendment_or_a_withdrawal_answers_an_objection_and_the_objector_is_told(running: Running) -> None:
    with running.client("russia") as russia, running.client("coalition") as coalition:
        out = russia.submit(activity_doc(running, "C2", id="F8"), override_reason="exercise")
        [n] = [n for n in coalition.notifications() if n["subject"] == "russia:F8"]
        coalition.object(n["id"], "no")
        # Amended out of the way: clear now (C1's target, far from S1 and on russia's side).
        russia.submit(activity_doc(running, "C1", id="F8"))
        [closed] = [x for x in coalition.notifications() if x["id"] == n["id"]]
        assert closed["objection"] == {"open": False, "resolved": "amended", "resolved_at": closed["objection"][
            "resolved_at"]}
        [told] = [x for x in coalition.notifications() if x["kind"] == "answer"]
        assert "amended" in told["summary"] and "clear" in told["summary"] and told["needs_answer"] is False
        [waiting] = [x for x in russia.notifications() if x["kind"] == "answer"]
        assert waiting["overdue"] is False and waiting["objection"] is None
        assert russia.notification_summary()["unanswered"] == 0  # the answer waits no more

        out = russia.submit(activity_doc(running, "C2", id="F9"), override_reason="exercise")
        [n] = [n for n in coalition.notifications() if n["subject"] == "russia:F9"]
        coalition.object(n["id"], "no")
        russia.withdraw(out["id"])
        [closed] = [x for x in coalition.notifications() if x["id"] == n["id"]]
        assert closed["objection"]["open"] is False and closed["objection"]["resolved"] == "withdrawn"


def test_an_objection_to_an_objection_answer_is_answered_once(running: Running) -> None:
    """The originator may object back; that closes the objection too, and the loop ends there."""
    with running.client("russia") as russia, running.client("coalition") as coalition:
        russia.submit(activity_doc(running, "C2", id="F10"), override_reason="exercise")
        [n] = [n for n in coalition.notifications() if n["subject"] == "russia:F10"]
        coalition.object(n["id"], "no")
        [back] = [x for x in russia.notifications() if x["kind"] == "answer"]
        russia.object(back["id"], "we keep it: the window is agreed")
        with pytest.raises(ProblemError) as e:
            russia.acknowledge(back["id"])
        assert e.value.status == 422
        [closed] = [x for x in coalition.notifications() if x["id"] == n["id"]]
        assert closed["objection"]["resolved"] == "objected"
