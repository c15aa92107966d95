"""GeoJSON (RFC 7946) for declarations, measures and activities.

A Feature's geometry is the object's main geometry: a site's place, a
movement's route, a flight's route or area, a fire's target, a measure's line
or area; written as RFC 7946 asks (:mod:`deconflict.codecs.rfc7946`: cut at
the antimeridian, counter-clockwise exterior rings, at most 7 decimals).

Its ``properties`` are flat where GIS tools need them: ``id``, ``kind``,
``owner``, ``label``, ``reference`` (when the object has one), ``start`` and
``end`` (ISO 8601 UTC, the window ``[start, end)``), ``lower_m`` and
``upper_m`` (metres AMSL, null when the object has no vertical extent), which
the QGIS temporal controller and an expression filter can use as they are.
The other fields follow as in the scenario format (``category``,
``effects_radius_m``, ``share_with``...). A fire's firing position goes in
``origin`` ([lon, lat], an MGRS string or a Point). 4D trajectories carry
``waypoints``; their geometry is the path through the waypoints and is ignored
on import.

On import the nested forms are read too (``window``, ``altitude``), and
``lower_m``/``upper_m`` are a flight's or a measure's altitude band. Where they
are derived from another field (a fire's ``max_ordinate``, a band written
structured in feet), they must agree with it: an edited copy is refused by
name, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from deconflict.codecs import rfc7946
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
    format_time,
)

_DECL_KINDS = {k.value for k in DeclarationKind}
_MEASURE_KINDS = {k.value for k in MeasureKind}
_GEOMETRY_KEY = {"site": "geometry", "movement": "geometry", "flight": "geometry", "fire": "target"}
#: A derived ``lower_m``/``upper_m`` agrees with its source within this (a foot
#: band converted to metres and back is exact to far better than this).
DERIVED_AGREEMENT_M = 0.001
#: The flat properties every Feature carries first, in this order.
FLAT_KEYS = ("id", "kind", "owner", "label", "reference", "start", "end", "lower_m", "upper_m")


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


def vertical_extent(obj: Declaration | Measure) -> tuple[float, float] | None:
    """(lower, upper) in metres AMSL, or None for an object on the surface or one
    whose heights are only on its waypoints."""
    if isinstance(obj, Measure | Flight):
        band = obj.altitude
    elif isinstance(obj, Fire):
        band = obj.trajectory_band
    else:
        band = None
    return None if band is None else (band.lower_m, band.upper_m)


def _banded(kind: object, doc: dict[str, Any]) -> bool:
    """Whether flat lower_m/upper_m are this object's band (not derived)."""
    return (kind == "flight" or kind in _MEASURE_KINDS) and doc.get("altitude") is None


def _doc(feature: object, path: str) -> tuple[dict[str, Any], str, Callable[[Declaration | Measure], None]]:
    """The scenario document of a Feature, its properties' path, and a check of
    the derived flat properties to run on the decoded object."""
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
    ppath = d.at("properties")
    doc = dict(props)
    if fid is not None:
        if doc.get("id") is None:
            doc["id"] = str(fid)
        elif str(doc["id"]) != str(fid):
            raise InvalidInput(f"{ppath}.id", f"is {doc['id']!r} but the Feature's id is {fid!r}")
    start, end = doc.pop("start", None), doc.pop("end", None)
    if start is not None or end is not None:
        flat = {"start": start, "end": end}
        if doc.get("window") is None:
            doc["window"] = flat
        elif doc["window"] != flat:
            raise InvalidInput(f"{ppath}.start", "disagrees with window; give the window once")
    lower, upper = doc.pop("lower_m", None), doc.pop("upper_m", None)
    kind = doc.get("kind")
    given: tuple[float, float] | None = None
    if lower is not None or upper is not None:
        if _banded(kind, doc):
            doc["altitude"] = {"lower_m": lower, "upper_m": upper}
        else:
            for name, v in (("lower_m", lower), ("upper_m", upper)):
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise InvalidInput(f"{ppath}.{name}", f"must be a number, got {v!r}")
            given = (float(lower), float(upper))
    if kind in _DECL_KINDS and doc.get("waypoints") is None:
        key = _GEOMETRY_KEY[str(kind)]
        if geometry is not None:
            doc[key] = rfc7946.decode_multi(geometry, d.at("geometry"))
    elif kind in _MEASURE_KINDS and geometry is not None:
        doc["geometry"] = rfc7946.decode_multi(geometry, d.at("geometry"))
    origin = doc.get("origin")
    if isinstance(origin, list):
        doc["origin"] = {"type": "Point", "coordinates": origin}

    def verify(obj: Declaration | Measure) -> None:
        if given is None:
            return
        have = vertical_extent(obj)
        source = "max_ordinate" if isinstance(obj, Fire) else "altitude"
        if have is None:
            raise InvalidInput(f"{ppath}.lower_m", f"a {obj.kind.value} without {source} has no altitudes; "
                                                   "leave lower_m and upper_m out")
        for name, g, h in (("lower_m", given[0], have[0]), ("upper_m", given[1], have[1])):
            if abs(g - h) > DERIVED_AGREEMENT_M:
                raise InvalidInput(f"{ppath}.{name}", f"is derived from {source} ({h:g} m) but says {g:g} m; "
                                                      f"change {source} instead")

    return doc, ppath, verify


def decode_feature(feature: object, path: str = "") -> Declaration | Measure:
    doc, ppath, verify = _doc(feature, path)
    kind = doc.get("kind")
    obj: Declaration | Measure
    if kind in _MEASURE_KINDS:
        obj = decode_measure(doc, ppath)
    elif kind in _DECL_KINDS:
        obj = decode_declaration(doc, ppath)
    else:
        raise InvalidInput(
            f"{ppath}.kind",
            f"{kind!r} is not a declaration kind ({', '.join(sorted(_DECL_KINDS))}) "
            f"or a measure kind ({', '.join(sorted(_MEASURE_KINDS))})",
        )
    verify(obj)
    return obj


def decode_activity(feature: object, path: str, by: str, default_id: str) -> Declaration:
    doc, ppath, verify = _doc(feature, path)
    decl = decode_declaration(doc, ppath, owner=by, default_id=default_id)
    verify(decl)
    return decl


def _flat(obj: Declaration | Measure, doc: dict[str, Any]) -> dict[str, Any]:
    """The Feature properties: the flat keys first, then the rest of the document."""
    props: dict[str, Any] = {"id": obj.id, "kind": obj.kind.value, "owner": obj.owner, "label": obj.label}
    if doc.get("reference") is not None:
        props["reference"] = doc["reference"]
    props["start"], props["end"] = format_time(obj.window.start), format_time(obj.window.end)
    extent = vertical_extent(obj)
    props["lower_m"], props["upper_m"] = extent if extent is not None else (None, None)
    alt = doc.get("altitude")
    if isinstance(alt, dict) and set(alt) == {"lower_m", "upper_m"}:
        del doc["altitude"]  # exactly what lower_m/upper_m say
    ordinate = doc.get("max_ordinate")
    if isinstance(ordinate, dict) and ordinate.get("unit") == "m" and ordinate.get("datum") == "AMSL":
        del doc["max_ordinate"]
        doc["max_ordinate_m"] = ordinate["value"]
    origin = doc.get("origin")
    if isinstance(origin, dict):
        doc["origin"] = rfc7946.encode_point(origin["coordinates"])
    for w in doc.get("waypoints") or ():
        w["coordinates"] = rfc7946.encode_point(w["coordinates"])
    for k, v in doc.items():
        if k not in props and k != "window":
            props[k] = v
    return props


def encode_declaration_feature(decl: Declaration) -> dict[str, Any]:
    doc = encode_declaration(decl)
    if isinstance(decl, Movement | Flight) and decl.waypoints:
        geometry = rfc7946.lines([(w.position.lon, w.position.lat) for w in decl.waypoints])
    else:
        geometry = rfc7946.encode(_main(decl))
        doc.pop(_GEOMETRY_KEY[decl.kind.value], None)
    return {"type": "Feature", "id": decl.id, "geometry": geometry, "properties": _flat(decl, doc)}


def _main(decl: Declaration) -> Any:
    if isinstance(decl, Movement):
        return decl.route
    return decl.target if isinstance(decl, Fire) else decl.geometry


def encode_measure_feature(measure: Measure) -> dict[str, Any]:
    doc = encode_measure(measure)
    doc.pop("geometry", None)
    return {"type": "Feature", "id": measure.id, "geometry": rfc7946.encode(measure.geometry),
            "properties": _flat(measure, doc)}


def feature_collection(measures: list[Measure], declarations: list[Declaration]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [encode_measure_feature(m) for m in measures]
        + [encode_declaration_feature(d) for d in declarations],
    }
