"""The canonical JSON documents: decoding names the field, encoding round-trips."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from deconflict.errors import InvalidInput, UnsupportedGeometry
from deconflict.geo import mgrs
from deconflict.model import Fire, Movement, Point
from deconflict.store.documents import (
    decode_declaration,
    decode_measure,
    encode_declaration,
    encode_measure,
)


def test_every_euphrates_object_round_trips(euphrates: dict[str, Any]) -> None:
    for doc in euphrates["declarations"]:
        decl = decode_declaration(doc, "d")
        assert decode_declaration(json.loads(json.dumps(encode_declaration(decl))), "d") == decl
    for doc in euphrates["measures"]:
        m = decode_measure(doc, "m")
        assert decode_measure(json.loads(json.dumps(encode_measure(m))), "m") == m


def test_misspelt_field_is_refused_by_path(euphrates: dict[str, Any]) -> None:
    doc = copy.deepcopy(euphrates["checks"][0]["activity"])
    doc["effect_radius_m"] = doc.pop("effects_radius_m")
    with pytest.raises(InvalidInput) as e:
        decode_declaration(doc, "checks[0].activity", owner="russia", default_id="C1")
    assert e.value.field.startswith("checks[0].activity.effect")


def test_unknown_declaration_kind_lists_the_kinds() -> None:
    with pytest.raises(InvalidInput) as e:
        decode_declaration({"kind": "strike"}, "x")
    assert e.value.field == "x.kind" and "site, movement, flight, fire" in e.value.reason


def test_mgrs_points_are_accepted_wherever_a_point_is() -> None:
    ref = mgrs.format(40.325, 35.355)
    fire = decode_declaration({
        "kind": "fire", "target": ref, "effects_radius_m": 100, "origin": {"mgrs": ref.replace(" ", "")},
        "max_ordinate_ft": 9000, "window": {"start": "2018-02-07T20:00:00Z", "end": "2018-02-07T21:00:00Z"},
    }, "f", owner="russia", default_id="F")
    assert isinstance(fire, Fire) and isinstance(fire.target, Point)
    assert fire.target.lon == pytest.approx(40.325, abs=2e-5)
    assert fire.max_ordinate is not None and fire.max_ordinate.metres == pytest.approx(2743.2)


def test_bad_mgrs_names_the_field() -> None:
    with pytest.raises(InvalidInput) as e:
        decode_declaration({"kind": "fire", "target": "99ZZZ", "effects_radius_m": 1,
                            "window": {"start": "2018-02-07T20:00:00Z", "end": "2018-02-07T21:00:00Z"}},
                           "f", owner="p", default_id="F")
    assert e.value.field == "f.target"


def test_waypoints_make_a_4d_trajectory() -> None:
    mv = decode_declaration({"id": "V", "kind": "movement", "owner": "p", "half_width_m": 50, "waypoints": [
        {"coordinates": [40.0, 35.0], "time": "2018-02-07T10:00:00Z"},
        {"coordinates": [40.1, 35.0], "time": "2018-02-07T11:00:00Z"},
        {"coordinates": [40.2, 35.1], "time": "2018-02-07T12:00:00Z"}]}, "v")
    assert isinstance(mv, Movement) and len(mv.waypoints) == 3
    assert mv.window.end.hour == 12
    assert decode_declaration(encode_declaration(mv), "v") == mv


def test_waypoint_times_must_increase() -> None:
    with pytest.raises(InvalidInput) as e:
        decode_declaration({"id": "V", "kind": "movement", "owner": "p", "waypoints": [
            {"coordinates": [40.0, 35.0], "time": "2018-02-07T11:00:00Z"},
            {"coordinates": [40.1, 35.0], "time": "2018-02-07T10:00:00Z"}]}, "v")
    assert "waypoints[1].time" in e.value.field


def test_agl_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as e:
        decode_declaration({"id": "F", "kind": "flight", "owner": "p", "half_width_m": 10,
                            "geometry": {"type": "LineString", "coordinates": [[40, 35], [40.1, 35]]},
                            "altitude": {"lower_m": 0, "upper_m": 100, "datum": "AGL"},
                            "window": {"start": "2018-02-07T10:00:00Z", "end": "2018-02-07T11:00:00Z"}}, "f")
    assert e.value.field == "f.altitude.datum" and "'AGL'" in e.value.reason


def test_unsupported_geometry_is_its_own_error() -> None:
    with pytest.raises(UnsupportedGeometry):
        decode_measure({"id": "M", "kind": "no_fire_area", "owner": "p",
                        "geometry": {"type": "GeometryCollection", "coordinates": []},
                        "window": {"start": "2018-02-07T10:00:00Z", "end": "2018-02-07T11:00:00Z"}}, "m")


# -- humanitarian details ------------------------------------------------------
CLINIC: dict[str, Any] = {
    "id": "S9", "kind": "site", "owner": "relief", "label": "Clinic, Al Tabiyah", "category": "protected",
    "facility": "hospital", "geometry": {"type": "Point", "coordinates": [40.325, 35.355]}, "protection_m": 200.0,
    "details": {
        "contact": {"name": "Dr A. Haddad", "phone": "+963 11 000 0000", "radio": "VHF 145.500, RELIEF 1",
                    "email": "a.haddad@relief.example"},
        "organisation": "Relief", "people": 40,
        "vehicles": {"count": 2, "plates": ["DEZ 1001", "DEZ 1002"], "markings": "white, red crescent on the roof"},
        "remarks": "Generator at the back",
    },
    "window": {"start": "2018-02-01T00:00:00Z", "end": "2018-03-01T00:00:00Z"},
    "share_with": ["coalition", "russia"],
}


def test_humanitarian_details_round_trip_exactly() -> None:
    site = decode_declaration(copy.deepcopy(CLINIC), "d")
    assert encode_declaration(site) == CLINIC
    convoy = {"id": "V9", "kind": "movement", "owner": "relief", "geometry": {"type": "LineString",
              "coordinates": [[39.9, 35.46], [40.12, 35.33]]}, "half_width_m": 100.0,
              "details": {"vehicles": {"count": 6}, "cargo": "Medical supplies, 4 t", "people": 14,
                          "contact": {"radio": "HF 7.850"}},
              "window": {"start": "2018-02-07T08:00:00Z", "end": "2018-02-07T14:00:00Z"}, "share_with": "all"}
    move = decode_declaration(copy.deepcopy(convoy), "d")
    assert isinstance(move, Movement) and move.details is not None and move.details.cargo.startswith("Medical")
    assert encode_declaration(move) == convoy


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.update(facility="hospitl"), "d.facility"),
    (lambda d: d["details"].update(people="forty"), "d.details.people"),
    (lambda d: d["details"].update(people=40.5), "d.details.people"),
    (lambda d: d["details"].update(people=-3), "d.details.people"),
    (lambda d: d["details"].update(peeple=3), "d.details.peeple"),
    (lambda d: d["details"]["contact"].update(phone=123), "d.details.contact.phone"),
    (lambda d: d["details"]["contact"].update(email="nobody"), "d.details.contact.email"),
    (lambda d: d["details"]["contact"].update(name="x" * 201), "d.details.contact.name"),
    (lambda d: d["details"]["vehicles"].update(count=1), "d.details.vehicles.plates"),
    (lambda d: d["details"]["vehicles"].update(plates=["A", 7]), "d.details.vehicles.plates[1]"),
    (lambda d: d["details"]["vehicles"].update(plates="A"), "d.details.vehicles.plates"),
    (lambda d: d["details"]["vehicles"].pop("count"), "d.details.vehicles.count"),
    (lambda d: d["details"].update(remarks="x" * 2001), "d.details.remarks"),
    (lambda d: d.update(details=[]), "d.details"),
    (lambda d: d.update(category="forces"), "d.facility"),
])
def test_bad_details_name_the_field(change: Any, field: str) -> None:
    doc = copy.deepcopy(CLINIC)
    change(doc)
    with pytest.raises(InvalidInput) as e:
        decode_declaration(doc, "d")
    assert e.value.field == field, e.value


def test_details_only_on_sites_and_movements(euphrates: dict[str, Any]) -> None:
    fire = copy.deepcopy(euphrates["checks"][0]["activity"])
    fire["details"] = {"remarks": "x"}
    with pytest.raises(InvalidInput) as e:
        decode_declaration(fire, "a", owner="russia", default_id="C1")
    assert e.value.field == "a.details" and "unknown" in e.value.reason


def test_a_declared_symbol_round_trips_and_a_bad_one_is_refused_by_name() -> None:
    doc: dict[str, Any] = {
        "id": "U1", "kind": "site", "owner": "sdf", "category": "forces", "label": "Forward HQ",
        "geometry": {"type": "Point", "coordinates": [40.1, 35.3]}, "protection_m": 300,
        "window": {"start": "2018-02-07T00:00:00Z", "end": "2018-02-08T00:00:00Z"},
        "sidc": "sfgpucf----f---", "designation": "2-22 INF",
    }
    decl = decode_declaration(doc)
    assert (decl.sidc, decl.designation) == ("SFGPUCF----F---", "2-22 INF")
    out = encode_declaration(decl)
    assert (out["sidc"], out["designation"]) == ("SFGPUCF----F---", "2-22 INF")
    assert decode_declaration(out) == decl
    # Without a symbol, the document is as before: no empty fields.
    plain = {k: v for k, v in doc.items() if k not in ("sidc", "designation")}
    assert "sidc" not in encode_declaration(decode_declaration(plain))
    with pytest.raises(InvalidInput) as err:
        decode_declaration({**doc, "sidc": "not a code"})
    assert err.value.field.lstrip(".") == "sidc"
