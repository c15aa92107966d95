"""Presence is never refused (issue 8, scenario b), humanitarian declarations are
acknowledged, and a dry run says who will be told without telling anyone."""

from __future__ import annotations

from typing import Any

import pytest

from deconflict.codecs.scenario import load_scenario
from deconflict.model import PartyKind
from deconflict.model.declaration import DeclarationKind
from deconflict.service.client import ProblemError
from deconflict.service.notify import is_presence
from tests.conftest import BUNDLED
from tests.service.conftest import Running
from tests.service.test_notifications import activity_doc

FIRE_WINDOW = {"start": "2018-02-07T10:00:00Z", "end": "2018-02-07T10:30:00Z"}


def clinic(**over: Any) -> dict[str, Any]:
    doc = {"id": "K1", "kind": "site", "category": "protected", "label": "Mobile clinic, Al Mayadin road",
           "people_present": True, "geometry": {"type": "Point", "coordinates": [40.05, 35.2]},
           "protection_m": 300, "window": {"start": "2018-02-07T06:00:00Z", "end": "2018-02-07T18:00:00Z"}}
    doc.update(over)
    return doc


def test_a_clinic_where_a_fire_is_accepted_is_accepted_and_the_fire_owner_must_answer(running: Running) -> None:
    with running.client("russia") as russia, running.client("relief") as relief, \
            running.client("coalition") as coalition:
        relief.put_settings("relief", {"must_acknowledge": ["coalition", "russia"]})
        fire = russia.submit(activity_doc(running, "C1", id="F20"))  # clear when it was accepted
        assert fire["verdict"] == "clear"
        told_before = len(running.hotline.inbox.all())

        dry = relief.check(clinic())
        assert dry["verdict"] == "conflict" and dry["presence"] is True and dry["would_be_refused"] is False
        assert dry["will_notify"] == ["coalition", "russia"] and "notified" not in dry
        assert len(running.hotline.inbox.all()) == told_before  # a dry run tells nobody

        out = relief.submit(clinic())  # no override: presence is information, not a request
        assert out["accepted"] is True and out["overridden"] is False and out["presence"] is True
        assert [w["object"]["id"] for w in out["warnings"]] == ["russia:F20"]
        assert out["notified"] == ["coalition", "russia"] and out["shared_with"] == "all"
        kinds = {n["party"]: (n["kind"], n["urgent"]) for n in out["notifications"]}
        assert kinds == {"russia": ("presence", True), "coalition": ("declaration", False)}

        # Ids in their parties' namespaces (service/namespace.py).
        [n] = [n for n in russia.notifications() if n["subject"] == "relief:K1"]
        assert n["kind"] == "presence" and n["urgent"] is True and n["needs_answer"] is True
        assert "your fire russia:F20" in n["summary"] and "Presence is not refused" in n["summary"]
        assert n["detail"]["your_objects"] == ["russia:F20"] and n["detail"]["activity"]["id"] == "relief:K1"
        # The fire's current findings now carry the clinic; at submit it was clear.
        view = russia.activity("F20")
        assert view["at_submit"]["verdict"] == "clear" and view["current"]["verdict"] == "conflict"
        assert {f["object"]["id"] for f in view["current"]["findings"]} == {"relief:K1"}

        [ask] = [n for n in coalition.notifications() if n["subject"] == "relief:K1"]
        assert ask["kind"] == "declaration" and "please acknowledge" in ask["summary"]
        coalition.acknowledge(ask["id"], "Passed to the JOC")

        # Relief sees each party's acknowledgement, with its time and reference.
        mine = relief.activity("K1")
        status = {r["party"]: r for r in mine["recipients"]}
        assert status["coalition"]["status"] == "acknowledged" and status["russia"]["status"] == "delivered"
        assert mine["acknowledgements"][0].startswith("coalition acknowledged ")
        assert status["coalition"]["reference"] in mine["acknowledgements"][0]
        assert mine["acknowledgements"][1] == "russia pending (delivered)"
        # Another party sees the declaration but not who answered what.
        assert "recipients" not in coalition.activity("relief:K1")  # by the id the answers name


def test_a_humanitarian_convoy_is_accepted_over_an_accepted_fire_and_forces_are_still_refused(
        running: Running) -> None:
    with running.client("regime", "planner") as regime, running.client("relief") as relief:
        regime.submit(activity_doc(running, "C8", id="shelling"))  # after the convoy's planned window: clear
        convoy = {"id": "V9", "kind": "movement", "label": "Late convoy", "half_width_m": 200,
                  "geometry": {"type": "LineString", "coordinates": [[39.9, 35.46], [40.02, 35.38], [40.12, 35.33]]},
                  "window": {"start": "2018-02-07T15:00:00Z", "end": "2018-02-07T16:00:00Z"}}
        out = relief.submit(convoy)
        assert out["verdict"] == "conflict" and out["accepted"] and out["presence"] is True
        # relief never set must_acknowledge: a humanitarian party's default is every armed force.
        assert out["notified"] == ["coalition", "regime", "russia", "sdf"]
        kinds = {n["party"]: n["kind"] for n in out["notifications"]}
        assert kinds == {"regime": "presence", "coalition": "declaration", "russia": "declaration",
                         "sdf": "declaration"}
        # A movement of forces into a conflict is a request, and refused without a reason.
        with pytest.raises(ProblemError) as e:
            regime.submit(activity_doc(running, "C3", id="column"))
        assert e.value.status == 409 and e.value.problem["result"]["shared_with"] == "all"


@pytest.mark.parametrize(("kind", "party", "presence"), [
    ("site", PartyKind.ARMED_FORCE, True), ("site", PartyKind.HUMANITARIAN, True),
    ("movement", PartyKind.HUMANITARIAN, True), ("movement", PartyKind.ARMED_FORCE, False),
    ("fire", PartyKind.HUMANITARIAN, False), ("flight", PartyKind.HUMANITARIAN, False),
])
def test_which_kinds_are_presence(kind: str, party: PartyKind, presence: bool) -> None:
    scenario = load_scenario(BUNDLED)
    every = [*scenario.declarations, *(c.activity for c in scenario.checks)]
    d = next(d for d in every if d.kind is DeclarationKind(kind))
    assert is_presence(d, {d.owner: party}) is presence


def test_a_party_default_share_with_applies_when_the_planner_does_not_choose(running: Running) -> None:
    with running.client("russia") as russia, running.client("sdf") as sdf, running.client("coalition") as co:
        russia.put_settings("russia", {"share_with": ["coalition"]})
        unsaid = activity_doc(running, "C1", id="quiet")
        unsaid.pop("share_with")
        out = russia.submit(unsaid)
        assert out["shared_with"] == ["coalition"]
        assert russia.check(unsaid)["shared_with"] == ["coalition"]
        assert "russia:quiet" in {d["id"] for d in co.declarations()}
        assert "russia:quiet" not in {d["id"] for d in sdf.declarations()}
        chosen = russia.submit(activity_doc(running, "C1", id="loud", share_with="all"))
        assert chosen["shared_with"] == "all"


def test_a_dry_run_names_exactly_who_a_submit_then_tells(running: Running) -> None:
    """Every Euphrates check, as its party: will_notify (nobody told) == notified on submit."""
    for c in running.scenario.checks:
        with running.client(c.by) as client:
            doc = activity_doc(running, c.id, id=f"dry-{c.id}")
            before = len(running.hotline.inbox.all())
            dry = client.check(doc)
            assert len(running.hotline.inbox.all()) == before
            out = client.submit(doc, override_reason="exercise")
            assert dry["will_notify"] == out["notified"], c.id
            assert dry["would_be_refused"] == out["overridden"], c.id
