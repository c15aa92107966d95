"""GeoJSON as RFC 7946 asks, checked independently with shapely and pyproj: winding,
antimeridian cuts, precision; flat properties; and import reads what export writes."""

from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import shape

from deconflict.codecs import geojson, rfc7946
from deconflict.errors import InvalidInput
from deconflict.model import Fire, Flight, LineString, Measure, Polygon
from deconflict.store.documents import decode_declaration, decode_measure

GEOD = Geod(ellps="WGS84")
WINDOW = {"start": "2018-02-07T09:00:00Z", "end": "2018-02-07T10:00:00Z"}


def positions(geometry: dict[str, Any]) -> list[list[float]]:
    c = geometry["coordinates"]
    depth = {"Point": 0, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}[geometry["type"]]
    items = [c]
    for _ in range(depth):
        items = [x for item in items for x in item]
    return items


def assert_rfc7946(geometry: dict[str, Any]) -> None:
    """What RFC 7946 asks, checked without the code under test."""
    for lon, lat in positions(geometry):
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        for v in (lon, lat):
            exponent = Decimal(repr(v)).as_tuple().exponent
            assert isinstance(exponent, int) and exponent >= -7, f"{v} has more than 7 decimals"
    g = shape(geometry)
    assert g.is_valid, geometry
    lines = (geometry["coordinates"] if geometry["type"] == "MultiLineString"
             else [geometry["coordinates"]] if geometry["type"] == "LineString" else [])
    for line in lines:  # no edge jumps across the map (§3.1.9)
        for a, b in itertools.pairwise(line):
            assert abs(b[0] - a[0]) <= 180
    polys = list(g.geoms) if geometry["type"] == "MultiPolygon" else [g] if geometry["type"] == "Polygon" else []
    for p in polys:  # §3.1.6: exterior counter-clockwise, holes clockwise
        assert p.exterior.is_ccw
        assert all(not r.is_ccw for r in p.interiors)
        xs = [x for x, _y in p.exterior.coords]
        assert max(xs) - min(xs) < 180


def geodesic_crossing_lat(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Where the geodesic a-b meets 180°, by dense sampling with pyproj (independent of the codec)."""
    pts = [a, *GEOD.npts(a[0], a[1], b[0], b[1], 20000), b]
    for (x1, y1), (x2, y2) in itertools.pairwise(pts):
        if (x1 > 0) != (x2 > 0) and abs(x1) > 90:
            u1 = x1 if x1 > 0 else x1 + 360
            u2 = x2 if x2 > 0 else x2 + 360
            return float(y1 + (180 - u1) * (y2 - y1) / (u2 - u1))
    raise AssertionError("no crossing")


# -- winding and precision ------------------------------------------------------------------
def test_clockwise_input_is_written_counter_clockwise_with_clockwise_holes() -> None:
    ext = [(40.0, 35.0), (40.0, 35.5), (40.5, 35.5), (40.5, 35.0), (40.0, 35.0)]  # clockwise
    hole = [(40.1, 35.1), (40.2, 35.1), (40.2, 35.2), (40.1, 35.2), (40.1, 35.1)]  # counter-clockwise
    out = rfc7946.encode(Polygon((tuple(ext), tuple(hole))))
    assert out["type"] == "Polygon"
    assert_rfc7946(out)
    assert shape(out).equals(shape({"type": "Polygon", "coordinates": [ext, hole]}))


def test_coordinates_have_at_most_seven_decimals() -> None:
    out = rfc7946.encode(LineString(((40.123456789012345, 35.98765432109876), (40.3, -0.00000000001))))
    assert out["coordinates"] == [[40.1234568, 35.9876543], [40.3, 0.0]]
    assert_rfc7946(out)


# -- antimeridian ---------------------------------------------------------------------------
def test_a_line_across_the_antimeridian_is_cut_where_its_geodesic_crosses() -> None:
    a, b = (179.0, 60.0), (-178.0, 62.0)
    out = rfc7946.encode(LineString((a, b)))
    assert out["type"] == "MultiLineString"
    assert_rfc7946(out)
    first, second = out["coordinates"]
    assert first[0] == [179.0, 60.0] and second[-1] == [-178.0, 62.0]
    assert first[-1][0] == 180.0 and second[0][0] == -180.0 and first[-1][1] == second[0][1]
    assert first[-1][1] == pytest.approx(geodesic_crossing_lat(a, b), abs=2e-7)
    # Not the straight line's crossing: the geodesic bulges poleward at 60°N.
    assert abs(first[-1][1] - (60 + 2 / 3)) > 0.01


def test_a_polygon_across_the_antimeridian_becomes_a_multipolygon_of_the_same_area() -> None:
    ring = ((178.0, -17.0), (-178.0, -17.0), (-178.0, -15.0), (178.0, -15.0), (178.0, -17.0))
    out = rfc7946.encode(Polygon((ring,)))
    assert out["type"] == "MultiPolygon" and len(out["coordinates"]) == 2
    assert_rfc7946(out)
    parts = [shape({"type": "Polygon", "coordinates": p}) for p in out["coordinates"]]
    assert {round(min(p.bounds[0], p.bounds[2])) for p in parts} == {178, -180}
    # The parts cover what the ring covers (to the geodesics' bulge), cut where its geodesic edges cross.
    unwrapped = shape({"type": "Polygon", "coordinates": [[[x % 360, y] for x, y in ring]]})
    assert sum(p.area for p in parts) == pytest.approx(unwrapped.area, rel=1e-3)
    seam = sorted({y for p in out["coordinates"] for x, y in p[0] if abs(x) == 180})
    assert seam == pytest.approx(sorted([geodesic_crossing_lat((178.0, -17.0), (-178.0, -17.0)),
                                         geodesic_crossing_lat((-178.0, -15.0), (178.0, -15.0))]), abs=2e-7)


def test_a_line_ending_on_the_antimeridian_is_not_cut() -> None:
    out = rfc7946.encode(LineString(((170.0, 10.0), (180.0, 11.0))))
    assert out == {"type": "LineString", "coordinates": [[170.0, 10.0], [180.0, 11.0]]}


@settings(max_examples=25, deadline=None)
@given(lon=st.floats(170, 179.99), lat=st.floats(-70, 70), beyond=st.floats(0.01, 10), dlat=st.floats(0.1, 5))
def test_any_box_across_the_antimeridian_round_trips_through_its_cut(lon: float, lat: float, beyond: float,
                                                                     dlat: float) -> None:
    east = -180 + beyond
    top = min(lat + dlat, 80.0)
    ring = ((lon, lat), (east, lat), (east, top), (lon, top), (lon, lat))
    poly = Polygon((ring,))
    out = rfc7946.encode(poly)
    assert_rfc7946(out)
    back = rfc7946.decode_multi(out, "geometry")
    assert isinstance(back, dict) and back["type"] == "Polygon"
    # Joined again: the same vertices (to the precision written) plus points on the cut edges.
    got = back["coordinates"][0]
    for x, y in ring:
        assert any(abs(x - gx) <= 6e-8 and abs(y - gy) <= 6e-8 for gx, gy in got), (x, y)
    # ... and written again, the same parts with the same vertices: export is idempotent through import.
    again = rfc7946.encode(Polygon(tuple(tuple((x, y) for x, y in r) for r in back["coordinates"])))
    assert again["type"] == "MultiPolygon"
    assert shape(again).normalize().equals_exact(shape(out).normalize(), 0)


def test_a_multipolygon_that_is_not_one_cut_polygon_is_refused() -> None:
    two = {"type": "MultiPolygon", "coordinates": [
        [[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[10, 0], [11, 0], [11, 1], [10, 0]]]]}
    with pytest.raises(InvalidInput) as e:
        rfc7946.decode_multi(two, "features[0].geometry")
    assert e.value.field == "features[0].geometry.coordinates"
    apart = {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[5, 5], [6, 6]]]}
    with pytest.raises(InvalidInput, match="antimeridian"):
        rfc7946.decode_multi(apart, "g")


# -- features: flat properties and the round trip --------------------------------------------
def test_properties_are_flat_for_the_qgis_temporal_controller(euphrates: dict[str, Any]) -> None:
    measures = [decode_measure(m, "m") for m in euphrates["measures"]]
    decls = [decode_declaration(d, "d") for d in euphrates["declarations"]]
    fc = geojson.feature_collection(measures, decls)
    for f in fc["features"]:
        p = f["properties"]
        assert list(p)[:4] == ["id", "kind", "owner", "label"]
        assert p["id"] == f["id"]
        for key in ("start", "end"):
            assert isinstance(p[key], str) and p[key].endswith("Z")
        assert "window" not in p
        assert all(not isinstance(p[k], dict) for k in ("start", "end", "lower_m", "upper_m"))
        assert_rfc7946(f["geometry"])
    by_id = {f["id"]: f["properties"] for f in fc["features"]}
    roz = next(m for m in measures if m.kind.value == "restricted_operations_zone")
    assert roz.altitude is not None
    assert (by_id[roz.id]["lower_m"], by_id[roz.id]["upper_m"]) == (roz.altitude.lower_m, roz.altitude.upper_m)
    assert "altitude" not in by_id[roz.id]
    site = next(d for d in decls if d.kind.value == "site")
    assert by_id[site.id]["lower_m"] is None and by_id[site.id]["upper_m"] is None


def test_export_then_import_gives_back_the_same_objects(euphrates: dict[str, Any]) -> None:
    measures = [decode_measure(m, "m") for m in euphrates["measures"]]
    decls = [decode_declaration(d, "d") for d in euphrates["declarations"]]
    fc = json.loads(json.dumps(geojson.feature_collection(measures, decls)))  # through text, as a file
    back = [geojson.decode_feature(f, p) for p, f in geojson.features(fc)]
    assert [type(b) for b in back] == [type(o) for o in [*measures, *decls]]
    assert [b.id for b in back] == [o.id for o in [*measures, *decls]]
    assert geojson.feature_collection([b for b in back if isinstance(b, Measure)],
                                      [b for b in back if not isinstance(b, Measure)]) == fc
    for b, o in zip(back, [*measures, *decls], strict=True):
        assert (b.window, b.owner, b.label, getattr(b, "altitude", None)) == \
            (o.window, o.owner, o.label, getattr(o, "altitude", None))


def feet_flight() -> Flight:
    decl = decode_declaration({"id": "F1", "kind": "flight", "owner": "coalition", "half_width_m": 500,
                               "geometry": {"type": "LineString", "coordinates": [[179.5, 51.0], [-179.5, 52.0]]},
                               "altitude": {"lower_ft": 1000, "upper_ft": 12000}, "window": WINDOW})
    assert isinstance(decl, Flight)
    return decl


def test_a_band_in_feet_keeps_its_unit_and_gives_metres_flat() -> None:
    decl = feet_flight()
    f = json.loads(json.dumps(geojson.encode_declaration_feature(decl)))
    assert f["geometry"]["type"] == "MultiLineString"
    assert f["properties"]["altitude"] == {"lower_ft": 1000, "upper_ft": 12000}
    assert f["properties"]["lower_m"] == pytest.approx(304.8) and f["properties"]["upper_m"] == pytest.approx(3657.6)
    back = geojson.decode_feature(f)
    assert isinstance(back, Flight) and back.altitude == decl.altitude
    assert isinstance(back.geometry, LineString) and back.geometry.coords[0] == (179.5, 51.0)
    assert back.geometry.coords[-1] == (-179.5, 52.0) and back.geometry.coords[1][0] == 180.0
    f["properties"]["upper_m"] = 5000
    with pytest.raises(InvalidInput) as e:
        geojson.decode_feature(f, "features[3]")
    assert e.value.field == "features[3].properties.upper_m" and "altitude" in e.value.reason


def test_flat_lower_and_upper_are_a_measures_band_and_a_fires_are_checked() -> None:
    roz = {"type": "Feature", "id": "R1", "geometry": {"type": "Polygon", "coordinates": [
        [[40.0, 35.0], [40.2, 35.0], [40.2, 35.2], [40.0, 35.2], [40.0, 35.0]]]},
        "properties": {"kind": "restricted_operations_zone", "owner": "coalition", "start": WINDOW["start"],
                       "end": WINDOW["end"], "lower_m": 0, "upper_m": 3000, "label": ""}}
    m = geojson.decode_feature(roz)
    assert isinstance(m, Measure) and m.altitude is not None and m.altitude.upper_m == 3000
    fire = {"type": "Feature", "id": "C1", "geometry": {"type": "Point", "coordinates": [40.62, 34.88]},
            "properties": {"kind": "fire", "owner": "coalition", "effects_radius_m": 200, "origin": [40.5, 34.98],
                           "max_ordinate_m": 3500, "start": WINDOW["start"], "end": WINDOW["end"],
                           "lower_m": -500, "upper_m": 3500}}  # a trajectory starts at the lowest surface
    assert isinstance(geojson.decode_feature(fire), Fire)
    fire["properties"]["upper_m"] = 4000
    with pytest.raises(InvalidInput, match="max_ordinate"):
        geojson.decode_feature(fire)


def test_feature_id_and_property_id_must_agree() -> None:
    f = {"type": "Feature", "id": "A", "geometry": {"type": "Point", "coordinates": [40.0, 35.0]},
         "properties": {"id": "B", "kind": "site", "owner": "x", "category": "protected", **WINDOW}}
    with pytest.raises(InvalidInput) as e:
        geojson.decode_feature(f)
    assert e.value.field == "properties.id"


def test_a_line_shorter_than_the_precision_is_kept_not_dropped() -> None:
    line = LineString(((170.0, 0.0), (170.0, 2.9026550668332442e-261)))
    assert rfc7946.encode(line) == {"type": "LineString", "coordinates": [[170.0, 0.0], [170.0, 0.0]]}


def test_precision_loss_is_within_the_written_decimals(euphrates: dict[str, Any]) -> None:
    decls = [decode_declaration(d, "d") for d in euphrates["declarations"]]
    for d in decls:
        if isinstance(d, Fire):
            f = geojson.encode_declaration_feature(d)
            back = geojson.decode_feature(f)
            assert isinstance(back, Fire)
            assert isinstance(d.target, type(back.target))
            for (x1, y1), (x2, y2) in zip(d.target.coords, back.target.coords, strict=True):
                assert math.isclose(x1, x2, abs_tol=5e-8) and math.isclose(y1, y2, abs_tol=5e-8)


@settings(max_examples=25, deadline=None)
@given(pts=st.lists(st.tuples(st.floats(-60, 60), st.floats(-70, 70)), min_size=2, max_size=6))
def test_any_line_is_written_per_rfc_7946_and_read_back_to_the_same_vertices(pts: list[tuple[float, float]]) -> None:
    # Steps of at most 60 degrees of longitude, starting near the antimeridian so many cross it.
    coords, lon = [], 170.0
    for dlon, lat in pts:
        lon = ((lon + dlon + 180) % 360) - 180
        coords.append((lon, lat))
    try:
        line = LineString(tuple(coords))
    except InvalidInput:
        return  # fewer than two distinct positions
    out = rfc7946.encode(line)
    originals = [(rfc7946.rounded(x), rfc7946.rounded(y)) for x, y in line.coords]
    if len(set(originals)) < 2:
        # Shorter than the written precision: kept as one position twice, never dropped
        # (it once came out as an empty MultiLineString).
        assert out == {"type": "LineString", "coordinates": [list(originals[0])] * 2}
        return
    assert_rfc7946(out)
    back = rfc7946.decode_multi(out, "g")
    assert isinstance(back, dict) and back["type"] == "LineString"

    def same(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a == b or (abs(a[0]) == 180.0 and abs(b[0]) == 180.0 and a[1] == b[1])

    def dedupe(ps: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in ps:
            if not out or not same(out[-1], p):
                out.append(p)
        return out

    got = [(float(x), float(y)) for x, y in back["coordinates"]]
    inserted = [p for p in got if not any(same(p, o) for o in originals)]
    assert all(abs(x) == 180.0 for x, _y in inserted)  # only cut points on the antimeridian were added
    kept, want = dedupe([p for p in got if p not in inserted]), dedupe(originals)
    # -180 and 180 are one meridian: a vertex on it may be written as either.
    assert len(kept) == len(want) and all(same(a, b) for a, b in zip(kept, want, strict=True))
