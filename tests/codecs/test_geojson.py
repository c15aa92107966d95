from __future__ import annotations

from typing import Any

import pytest

from deconflict.codecs import geojson
from deconflict.errors import InvalidInput
from deconflict.model import Fire, Measure
from deconflict.store.documents import decode_declaration, decode_measure


def test_feature_collection_round_trips(euphrates: dict[str, Any]) -> None:
    measures = [decode_measure(m, "m") for m in euphrates["measures"]]
    decls = [decode_declaration(d, "d") for d in euphrates["declarations"]]
    fc = geojson.feature_collection(measures, decls)
    back = [geojson.decode_feature(f, p) for p, f in geojson.features(fc)]
    assert back == [*measures, *decls]


def test_fire_geometry_is_its_target_and_origin_a_property() -> None:
    feat = {"type": "Feature", "id": "X", "geometry": {"type": "Point", "coordinates": [40.62, 34.88]},
            "properties": {"kind": "fire", "owner": "coalition", "effects_radius_m": 200, "origin": [40.5, 34.98],
                           "max_ordinate_m": 3500,
                           "window": {"start": "2018-02-07T09:00:00Z", "end": "2018-02-07T09:30:00Z"}}}
    fire = geojson.decode_feature(feat)
    assert isinstance(fire, Fire) and fire.origin is not None and fire.origin.lon == 40.5


def test_activity_takes_its_owner_from_by() -> None:
    feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [40.0, 35.0]},
            "properties": {"kind": "fire", "effects_radius_m": 1,
                           "window": {"start": "2018-02-07T09:00:00Z", "end": "2018-02-07T09:30:00Z"}}}
    a = geojson.decode_activity(feat, "features[0]", "russia", "A1")
    assert (a.owner, a.id) == ("russia", "A1")


def test_not_geojson_is_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        list(geojson.features({"type": "Topology"}))
    assert e.value.field == "type"


def test_measure_features_decode_to_measures(euphrates: dict[str, Any]) -> None:
    m = decode_measure(euphrates["measures"][0], "m")
    assert isinstance(geojson.decode_feature(geojson.encode_measure_feature(m)), Measure)


def test_humanitarian_details_round_trip_through_geojson() -> None:
    from tests.store.test_documents import CLINIC

    site = decode_declaration(CLINIC, "d")
    feat = geojson.encode_declaration_feature(site)
    assert feat["properties"]["facility"] == "hospital"
    assert feat["properties"]["details"]["contact"]["radio"] == "VHF 145.500, RELIEF 1"
    assert geojson.decode_feature(feat) == site
    feat["properties"]["details"]["vehicles"]["count"] = "two"
    with pytest.raises(InvalidInput) as e:
        geojson.decode_feature(feat, "features[3]")
    assert e.value.field == "features[3].properties.details.vehicles.count"
