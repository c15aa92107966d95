"""KML validated against the OGC KML 2.2 schema (as fastkml ships it) and read back
with fastkml, a KML library independent of the writer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastkml import kml as fastkml
from fastkml.validator import get_schema_parser
from lxml import etree
from pyproj import Geod

from deconflict.codecs import kml
from deconflict.model import Declaration, Measure
from deconflict.store.documents import decode_declaration, decode_measure

NS = {"k": "http://www.opengis.net/kml/2.2"}
WINDOW = {"start": "2018-02-07T09:00:00Z", "end": "2018-02-07T10:00:00Z"}


def picture(euphrates: dict[str, Any]) -> tuple[list[Measure], list[Declaration]]:
    return ([decode_measure(m, "m") for m in euphrates["measures"]],
            [decode_declaration(d, "d") for d in euphrates["declarations"]])


def valid(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    schema = get_schema_parser()
    assert schema.validate(root), schema.error_log
    return root


def placemark(root: etree._Element, name: str) -> etree._Element:
    found = root.xpath(f"//k:Placemark[k:name='{name}']", namespaces=NS)
    assert len(found) == 1, name
    return found[0]


def extended(pm: etree._Element) -> dict[str, str]:
    return {d.get("name"): d.findtext("k:value", namespaces=NS) for d in pm.iterfind(".//k:Data", NS)}


def test_the_picture_is_valid_kml_2_2_and_fastkml_reads_every_placemark(euphrates: dict[str, Any]) -> None:
    measures, decls = picture(euphrates)
    data = kml.document(measures, decls, name="Euphrates")
    valid(data)
    doc = fastkml.KML.from_string(data)
    folders = doc.features[0].features
    assert [f.name for f in folders] == ["Measures", "Declarations"]
    assert [p.name for p in folders[0].features] == [m.label or m.id for m in measures]
    assert len(folders[1].features) == len(decls)
    for pm, obj in zip(folders[0].features + folders[1].features, [*measures, *decls], strict=True):
        assert pm.times.begin.dt == obj.window.start and pm.times.end.dt == obj.window.end  # TimeSpan
        data_ = {d.name: d.value for d in pm.extended_data.elements}
        assert (data_["id"], data_["owner"], data_["kind"]) == (obj.id, obj.owner, obj.kind.value)
        assert pm.style_url.url == f"#kind-{kml._style_key(obj)}"


def test_a_roz_is_an_extruded_volume_between_its_floor_and_ceiling_in_absolute_altitude(
        euphrates: dict[str, Any]) -> None:
    measures, decls = picture(euphrates)
    root = valid(kml.document(measures, decls))
    roz = next(m for m in measures if m.kind.value == "restricted_operations_zone")
    assert roz.altitude is not None and roz.altitude.lower_m > 0
    pm = placemark(root, roz.label)
    polys = pm.findall("k:MultiGeometry/k:Polygon", NS)
    heights = [{float(c.split(",")[2]) for c in p.findtext(".//k:coordinates", namespaces=NS).split()} for p in polys]
    assert heights[0] == {roz.altitude.lower_m} and heights[1] == {roz.altitude.upper_m}  # floor, ceiling
    assert all(h == {roz.altitude.lower_m, roz.altitude.upper_m} for h in heights[2:])  # walls
    assert len(heights) - 2 == 4  # one wall per edge of the box
    assert {p.findtext("k:altitudeMode", namespaces=NS) for p in polys} == {"absolute"}
    data = extended(pm)
    assert data["band"] == "1500 m AMSL to 7500 m AMSL"
    assert data["window"] == "2018-02-07T18:00:00Z/2018-02-08T06:00:00Z"


def test_a_corridor_from_the_surface_is_one_extruded_outline_at_its_radius() -> None:
    corridor = decode_measure({"id": "AC1", "kind": "air_corridor", "owner": "coalition", "half_width_m": 2000,
                               "geometry": {"type": "LineString", "coordinates": [[40.0, 35.0], [40.5, 35.2]]},
                               "altitude": {"lower_m": 0, "upper_m": 1000}, "window": WINDOW}, "m")
    root = valid(kml.document([corridor], []))
    poly = placemark(root, "AC1").find("k:Polygon", NS)
    assert poly is not None
    assert poly.findtext("k:extrude", namespaces=NS) == "1" and poly.findtext("k:altitudeMode", namespaces=NS) == \
        "absolute"
    coords = [tuple(map(float, c.split(","))) for c in poly.findtext(".//k:coordinates", namespaces=NS).split()]
    assert {c[2] for c in coords} == {1000.0}
    geod = Geod(ellps="WGS84")
    # Every outline vertex is the half-width from the line (checked with pyproj's geodesics), within 1 %.
    line = [(40.0, 35.0), *geod.npts(40.0, 35.0, 40.5, 35.2, 400), (40.5, 35.2)]
    for lon, lat, _z in coords:
        nearest = min(geod.inv(lon, lat, x, y)[2] for x, y in line)
        assert nearest == pytest.approx(2000, rel=0.01)


def test_objects_on_the_ground_are_clamped_with_their_radius(euphrates: dict[str, Any]) -> None:
    measures, decls = picture(euphrates)
    root = valid(kml.document(measures, decls))
    site = next(d for d in decls if d.kind.value == "site" and getattr(d, "protection_m", 0) > 0)
    pm = placemark(root, site.label or site.id)
    modes = {m.text for m in pm.iterfind(".//k:altitudeMode", NS)}
    assert modes == {"clampToGround"}
    assert pm.find("k:MultiGeometry/k:Point", NS) is not None and pm.find("k:MultiGeometry/k:Polygon", NS) is not None
    assert "band" not in extended(pm)


def test_text_is_escaped() -> None:
    site = decode_declaration({"id": "S9", "kind": "site", "owner": "ngo", "category": "protected",
                               "label": "Clinic <A&B> \"north\"", "geometry": {"type": "Point",
                                                                               "coordinates": [40.0, 35.0]},
                               "window": WINDOW}, "d")
    root = valid(kml.document([], [site]))
    assert placemark(root, 'Clinic <A&B> "north"') is not None


def test_the_bundled_picture_as_json_lists_the_same_ids(euphrates: dict[str, Any]) -> None:
    measures, decls = picture(euphrates)
    root = valid(kml.document(measures, decls))
    ids = [extended(pm)["id"] for pm in root.iterfind(".//k:Placemark", NS)]
    assert ids == [o.id for o in [*measures, *decls]]
    assert json.dumps(ids)  # plain strings
