"""GeoJSON (RFC 7946) for declarations, measures and activities.

A Feature's ``properties`` carry the object's fields as in the scenario format
(``kind``, ``owner``, ``window``, ``effects_radius_m``...) and its geometry is
the object's main geometry: a site's place, a movement's route, a flight's
route or area, a fire's target, a measure's line or area. A fire's firing
position goes in ``properties.origin`` ([lon, lat], an MGRS string or a Point).
4D trajectories carry ``properties.waypoints``; their geometry is the path
through the waypoints and is ignored on import.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deconflict.errors import InvalidInput
from deconflict.model import (
    Declaration,
    DeclarationKind,
    Fire,
    Flight,
    Measure,
    MeasureKind,
    Movement,
)
from deconflict.store.documents import (
    Doc,
    decode_declaration,
    decode_measure,
    encode_declaration,
    encode_measure,
)

_DECL_KINDS = {k.value for k in DeclarationKind}
_MEASURE_KINDS = {k.value for k in MeasureKind}
_GEOMETRY_KEY = {"site": "geometry", "movement": "geometry", "flight": "geometry", "fire": "target"}


def features(data: object, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, feature) for a Feature or each Feature of a FeatureCollection."""
    d = Doc(data, path)
    gtype = d.raw("type")
    if gtype == "Feature":
        yield path, dict(d.data)
        return
    if gtype != "FeatureCollection":
        d.fail("type", f"expected 'Feature' or 'FeatureCollection', got {gtype!r}")
    items = d.raw("features")
    if not isinstance(items, list):
        d.fail("features", "must be an array")
    for i, f in enumerate(items):
        yield d.at(f"features[{i}]"), f


def _doc(feature: object, path: str) -> tuple[dict[str, Any], str]:
    d = Doc(feature, path)
    if d.raw("type") != "Feature":
        d.fail("type", f"expected 'Feature', got {d.data.get('type')!r}")
    props = d.opt("properties") or {}
    if not isinstance(props, dict):
        d.fail("properties", "must be an object")
    geometry = d.opt("geometry")
    fid = d.opt("id")
    d.opt("bbox")
    d.finish()
    doc = dict(props)
    if fid is not None and "id" not in doc:
        doc["id"] = str(fid)
    kind = doc.get("kind")
    if kind in _DECL_KINDS and doc.get("waypoints") is None:
        key = _GEOMETRY_KEY[str(kind)]
        if geometry is not None:
            doc[key] = geometry
    elif kind in _MEASURE_KINDS and geometry is not None:
        doc["geometry"] = geometry
    origin = doc.get("origin")
    if isinstance(origin, list):
        doc["origin"] = {"type": "Point", "coordinates": origin}
    return doc, d.at("properties")


def decode_feature(feature: object, path: str = "") -> Declaration | Measure:
    doc, ppath = _doc(feature, path)
    kind = doc.get("kind")
    if kind in _MEASURE_KINDS:
        return decode_measure(doc, ppath)
    if kind in _DECL_KINDS:
        return decode_declaration(doc, ppath)
    raise InvalidInput(
        f"{ppath}.kind",
        f"{kind!r} is not a declaration kind ({', '.join(sorted(_DECL_KINDS))}) "
        f"or a measure kind ({', '.join(sorted(_MEASURE_KINDS))})",
    )


def decode_activity(feature: object, path: str, by: str, default_id: str) -> Declaration:
    doc, ppath = _doc(feature, path)
    return decode_declaration(doc, ppath, owner=by, default_id=default_id)


def _feature(doc: dict[str, Any], key: str) -> dict[str, Any]:
    geometry = doc.pop(key, None)
    return {"type": "Feature", "id": doc["id"], "geometry": geometry, "properties": doc}


def encode_declaration_feature(decl: Declaration) -> dict[str, Any]:
    doc = encode_declaration(decl)
    if isinstance(decl, (Movement, Flight)) and decl.waypoints:
        coords = [[w.position.lon, w.position.lat] for w in decl.waypoints]
        feat = _feature(doc, "__none__")
        feat["geometry"] = {"type": "LineString", "coordinates": coords}
        return feat
    key = "target" if isinstance(decl, Fire) else "geometry"
    return _feature(doc, key)


def encode_measure_feature(measure: Measure) -> dict[str, Any]:
    return _feature(encode_measure(measure), "geometry")


def feature_collection(measures: list[Measure], declarations: list[Declaration]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [encode_measure_feature(m) for m in measures]
        + [encode_declaration_feature(d) for d in declarations],
    }
