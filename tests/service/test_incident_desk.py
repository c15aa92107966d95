"""Incidents over the API: reported, noted, closed, each step an event with a
receipt, known to the review, and agreeing with what the CLI records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deconflict.service.client import ProblemError
from deconflict.service.deconflict import Deconflict
from deconflict.service.incident import Place, review
from deconflict.store.events import EventDraft
from deconflict.store.open import open_store
from deconflict.store.receipts import verify_receipt
from tests.service.conftest import Running

STRIKE = {"id": "I1", "at": {"lat": 35.36, "lon": 40.32}, "radius_m": 300, "time": "2018-02-07T20:05:00Z",
          "description": "a strike hit near the advisers' position"}


def problem(call: object) -> ProblemError:
    assert callable(call)
    with pytest.raises(ProblemError) as info:
        call()
    return info.value


def test_an_incident_is_reported_noted_and_closed_each_step_in_the_log(running: Running) -> None:
    store = running.hotline.service.store
    with running.client("coalition", "planner") as coalition, running.client("regime", "liaison") as regime:
        reported = coalition.report_incident(STRIKE)
        assert reported["reported_by"] == "coalition" and reported["time"] == "2018-02-07T20:05:00Z"
        assert verify_receipt(reported["receipt"], store.verifiers()).size >= reported["seq"]
        assert reported["receipt"]["type"] == "incident.reported"
        noted = regime.note_incident("I1", "no aircraft of ours flew there")
        assert noted["by"] == "regime" and noted["receipt"]["type"] == "incident.noted"
        # Only the reporting party closes it.
        assert problem(lambda: regime.close_incident("I1", "closed by us")).status == 403
        closed = coalition.close_incident("I1", "reviewed with regime")
        assert closed["step"] == "closed" and verify_receipt(closed["receipt"], store.verifiers())
        # Nothing after the close; no second incident of that id.
        assert problem(lambda: regime.note_incident("I1", "later")).status == 409
        assert problem(lambda: coalition.report_incident(STRIKE)).status == 409
        assert problem(lambda: regime.note_incident("I9", "?")).status == 404
    r = review(store, Place(35.36, 40.32, 1000), datetime(2018, 2, 7, tzinfo=UTC), datetime(2018, 2, 8, tzinfo=UTC),
               None)
    [inc] = [i for i in r.incidents if i["id"] == "I1"]
    assert inc["by"] == "coalition"
    assert [(s["type"], s["by"]) for s in inc["steps"]] == [("incident.noted", "regime"),
                                                            ("incident.closed", "coalition")]


@pytest.mark.parametrize(("body", "field"), [
    ({**STRIKE, "at": {"lat": 91, "lon": 40}}, "at.lat"),
    ({**STRIKE, "at": "35.36,40.32"}, "at.lat"),
    ({**STRIKE, "time": "yesterday"}, "time"),
    ({**STRIKE, "time": "2018-02-07T20:05:00"}, "time"),  # no zone: not UTC
    ({**STRIKE, "description": ""}, "description"),
    ({**STRIKE, "id": "a b"}, "id"),
    ({**STRIKE, "radius_m": -1}, "radius_m"),
    ([STRIKE], "body"),
])
def test_a_bad_report_is_refused_naming_its_field(running: Running, body: object, field: str) -> None:
    with running.client("coalition", "planner") as coalition:
        err = problem(lambda: coalition.post("/v1/incidents", body))
    assert err.status == 422 and err.problem["invalid_params"][0]["name"] == field, err.problem
    assert running.hotline.service.store.head() is not None
    assert not any(e.type.startswith("incident.") for e in running.hotline.service.store.events())


def test_an_incident_recorded_by_another_process_is_known_to_the_api(running: Running) -> None:
    """The CLI (or another server process) records I2; this server notes it: the
    desk reads the log, the truth, under the writer's lock."""
    assert running.path is not None
    with Deconflict(open_store(running.path)) as other:
        other.append([EventDraft("incident.reported", "sdf", "I2", {**STRIKE, "id": "I2"})])
    with running.client("coalition", "planner") as coalition:
        assert coalition.note_incident("I2", "our liaison saw it")["seq"] > 0
        assert problem(lambda: coalition.close_incident("I2", "not ours to close")).status == 403
