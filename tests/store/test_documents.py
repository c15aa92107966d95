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
