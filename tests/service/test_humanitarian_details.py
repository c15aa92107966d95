"""Humanitarian details over HTTP: carried with the declaration, and disclosed
exactly as it is: a party it is not shared with sees none of them, neither in
reads nor in the findings of its own checks."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from deconflict.service.client import Client, ProblemError
from tests.service.conftest import Running

WINDOW = {"start": "2018-02-07T06:00:00Z", "end": "2018-02-08T06:00:00Z"}
SECRETS = ("Haddad", "145.500", "DEZ 1001", "ten beds")


def clinic(**extra: Any) -> dict[str, Any]:
    # Out in the desert south of the scenario, clear of everything declared there.
    return {
        "kind": "site", "label": "Clinic, Al Tabiyah", "category": "protected", "facility": "hospital",
        "geometry": {"type": "Point", "coordinates": [40.55, 34.70]}, "protection_m": 300,
        "details": {"contact": {"name": "Dr A. Haddad", "radio": "VHF 145.500"}, "organisation": "Relief",
                    "people": 40, "vehicles": {"count": 2, "plates": ["DEZ 1001"]}, "remarks": "ten beds"},
        "window": WINDOW, **extra,
    }


def test_details_are_seen_only_by_the_parties_it_is_shared_with(module_running: Running) -> None:
    r = module_running
    with r.client("relief") as relief, r.client("coalition") as coalition, r.client("russia") as russia:
        check_disclosure(relief, coalition, russia)


def check_disclosure(relief: Client, coalition: Client, russia: Client) -> None:
    out = relief.submit(clinic(share_with=["coalition"]))
    sid = out["id"]
    mine = relief.get(f"/v1/declarations/{sid}")
    assert mine["facility"] == "hospital" and mine["details"]["contact"]["radio"] == "VHF 145.500"
    seen = coalition.get(f"/v1/declarations/{sid}")
    assert seen["details"] == mine["details"]
    with pytest.raises(ProblemError) as e:
        russia.get(f"/v1/declarations/{sid}")
    assert e.value.status == 404
    for text in (json.dumps(russia.declarations()), json.dumps(russia.get("/v1/picture"))):
        assert not any(s in text for s in SECRETS)
    # Russia's fire on the clinic: the finding names whom to contact, and nothing of the details.
    fire = {"kind": "fire", "target": {"type": "Point", "coordinates": [40.55, 34.70]}, "effects_radius_m": 200,
            "window": {"start": "2018-02-07T20:00:00Z", "end": "2018-02-07T20:15:00Z"}}
    result = russia.check(fire)
    assert any(f["object"]["owner"] == "relief" for f in result["findings"]), result
    assert not any(s in json.dumps(result) for s in SECRETS)


def test_bad_details_are_422_naming_the_field(module_running: Running) -> None:
    doc = clinic()
    doc["details"] = copy.deepcopy(doc["details"])
    doc["details"]["vehicles"]["count"] = "two"
    with module_running.client("relief") as relief, pytest.raises(ProblemError) as e:
        relief.check(doc)
    assert e.value.status == 422
    assert e.value.problem["field"] == "activity.details.vehicles.count"


def test_a_party_told_of_a_clinic_not_shared_with_it_learns_none_of_its_details(module_running: Running) -> None:
    r = module_running
    spot = {"type": "Point", "coordinates": [40.50, 34.66]}
    fire = {"kind": "fire", "label": "Fire on the plain", "target": spot, "effects_radius_m": 300,
            "window": {"start": "2018-02-09T10:00:00Z", "end": "2018-02-09T10:30:00Z"}}
    with r.client("russia") as russia, r.client("relief") as relief, r.client("coalition") as coalition:
        russia.submit(fire, override_reason="Test: the fire is accepted first")
        doc = clinic(share_with=["coalition"], geometry=spot,
                     window={"start": "2018-02-09T06:00:00Z", "end": "2018-02-10T06:00:00Z"})
        out = relief.submit(doc)  # a site is presence: accepted despite the fire
        told = [n for n in russia.notifications() if n["subject"] == out["id"]]
        assert told, "the fire's owner is told of the clinic"
        assert not any(s in json.dumps(told) for s in SECRETS)
        seen = [n for n in coalition.notifications() if n["subject"] == out["id"]]
        assert all("Haddad" in json.dumps(n) for n in seen if n["detail"].get("activity"))
