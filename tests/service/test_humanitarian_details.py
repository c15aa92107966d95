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
