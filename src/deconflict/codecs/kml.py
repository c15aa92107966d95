"""KML 2.2 (OGC 07-147r2) of the picture, for Google Earth, QGIS and ATAK.

Airspace is drawn as the volume it is: a restricted operations zone, an air
corridor or a flight with an altitude band is a floor at its lower altitude, a
ceiling at its upper one and walls between them (``altitudeMode`` absolute:
every band is AMSL, :class:`deconflict.model.units.Datum`); a band from the
surface is one extruded ceiling. Objects on the ground (sites, movements,
fires, lines, fire areas) are ``clampToGround`` and tessellated, so long edges
follow the ground. Each Placemark carries a ``TimeSpan`` (the window), a style
by kind and ``ExtendedData`` (id, kind, owner, label, window, start, end,
band, lower_m, upper_m, reference).

Written with the standard library's ElementTree: the tree is small and fixed,
and it keeps a library out of every installation; the tests parse the output
with fastkml and validate it against the OGC KML 2.2 schema that fastkml ships.
Footprints with a radius or half-width are outlined for display only
(:mod:`deconflict.codecs.outline`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from xml.etree import ElementTree as ET

from deconflict.codecs import outline
from deconflict.codecs.rfc7946 import rounded
from deconflict.model import (
    AltitudeBand,
    Declaration,
    Fire,
    Flight,
    Geometry,
    LineString,
    Measure,
    Movement,
    Point,
    Polygon,
    Site,
)
from deconflict.model.units import Datum
from deconflict.store.documents import encode_declaration, encode_measure, format_time

NS = "http://www.opengis.net/kml/2.2"
MEDIA_TYPE = "application/vnd.google-earth.kml+xml"
XY = tuple[float, float]
#: A band whose floor is at or below this (metres AMSL) is drawn from the ground.
GROUND_FLOOR_M = 0.0

#: Colours by kind, KML's aabbggrr: lines opaque, areas a third opaque.
KIND_COLOURS = {
    "site-protected": "1e9600",
    "site-forces": "c86400",
    "movement": "0080ff",
    "flight": "ffc800",
    "fire": "0000e6",
    "deconfliction_line": "000000",
    "no_fire_area": "0000c8",
    "restrictive_fire_area": "0078ff",
    "restrictive_fire_line": "c800c8",
    "restricted_operations_zone": "b4288c",
    "air_corridor": "e6b400",
}

ET.register_namespace("", NS)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, _q(tag))
    if text is not None:
        el.text = text
    return el


def _style_key(obj: Declaration | Measure) -> str:
    return f"site-{obj.category.value}" if isinstance(obj, Site) else obj.kind.value


def _styles(doc: ET.Element) -> None:
    for key, bgr in KIND_COLOURS.items():
        style = ET.SubElement(doc, _q("Style"), id=f"kind-{key}")
        icon = _sub(style, "IconStyle")
        _sub(icon, "color", f"ff{bgr}")
        line = _sub(style, "LineStyle")
        _sub(line, "color", f"ff{bgr}")
        _sub(line, "width", "3" if key in ("deconfliction_line", "restrictive_fire_line") else "2")
        poly = _sub(style, "PolyStyle")
        _sub(poly, "color", f"55{bgr}")


# -- geometry -----------------------------------------------------------------------------------
def _coords(points: Iterable[XY], alt: float | None = None) -> str:
    z = "" if alt is None else f",{alt:.3f}".rstrip("0").rstrip(".")
    return " ".join(f"{rounded(x)!r},{rounded(y)!r}{z}" for x, y in points)


def _mode(parent: ET.Element, mode: str, extrude: bool = False, tessellate: bool = False) -> None:
    if extrude:
        _sub(parent, "extrude", "1")
    if tessellate:
        _sub(parent, "tessellate", "1")
    _sub(parent, "altitudeMode", mode)


def _polygon(parent: ET.Element, rings: Sequence[Sequence[XY]], alt: float | None, mode: str,
             extrude: bool = False) -> None:
    poly = _sub(parent, "Polygon")
    _mode(poly, mode, extrude=extrude, tessellate=mode == "clampToGround")
    for i, ring in enumerate(rings):
        boundary = _sub(poly, "outerBoundaryIs" if i == 0 else "innerBoundaryIs")
        _sub(_sub(boundary, "LinearRing"), "coordinates", _coords(ring, alt))


def _line(parent: ET.Element, points: Sequence[XY], alt: float | None, mode: str, extrude: bool = False) -> None:
    line = _sub(parent, "LineString")
    _mode(line, mode, extrude=extrude, tessellate=mode == "clampToGround")
    _sub(line, "coordinates", _coords(points, alt))


def _point(parent: ET.Element, p: XY) -> None:
    pt = _sub(parent, "Point")
    _sub(pt, "altitudeMode", "clampToGround")
    _sub(pt, "coordinates", _coords([p]))


def _band_mode(band: AltitudeBand) -> str:
    # Only AMSL exists (AGL needs terrain the service does not have); a datum
    # above ground would be relativeToGround here.
    return "absolute" if band.lower.datum is Datum.AMSL and band.upper.datum is Datum.AMSL else "relativeToGround"


def _walls(parent: ET.Element, ring: Sequence[XY], band: AltitudeBand, mode: str) -> None:
    for a, b in itertools.pairwise(ring):
        quad = f"{_coords([a, b], band.lower_m)} {_coords([b, a], band.upper_m)} {_coords([a], band.lower_m)}"
        poly = _sub(parent, "Polygon")
        _mode(poly, mode)
        _sub(_sub(_sub(poly, "outerBoundaryIs"), "LinearRing"), "coordinates", quad)


def _volume(parent: ET.Element, rings: Sequence[Sequence[XY]], band: AltitudeBand) -> None:
    """A band over an area: an extruded ceiling from the ground, else floor, ceiling and walls."""
    mode = _band_mode(band)
    if band.lower_m <= GROUND_FLOOR_M:
        _polygon(parent, rings, band.upper_m, mode, extrude=True)
        return
    multi = _sub(parent, "MultiGeometry")
    _polygon(multi, rings, band.lower_m, mode)
    _polygon(multi, rings, band.upper_m, mode)
    for ring in rings:
        _walls(multi, ring, band, mode)


def _curtain(parent: ET.Element, points: Sequence[XY], band: AltitudeBand) -> None:
    """A band along a line of no width: a curtain from the floor to the ceiling."""
    mode = _band_mode(band)
    if band.lower_m <= GROUND_FLOOR_M:
        _line(parent, points, band.upper_m, mode, extrude=True)
        return
    multi = _sub(parent, "MultiGeometry")
    _walls(multi, points, band, mode)


def _footprint(g: Geometry, width_m: float) -> list[list[XY]] | None:
    """The rings of an area: a polygon's, a circle's, a corridor's; None for a bare point or line."""
    if isinstance(g, Polygon):
        return [list(r) for r in g.rings]
    if isinstance(g, Point):
        return [outline.circle(g.lon, g.lat, width_m)] if width_m > 0 else None
    return [outline.corridor(g.coords, width_m)] if width_m > 0 else None


def _surface(parent: ET.Element, g: Geometry, width_m: float) -> None:
    """An object on the ground: the geometry, and its radius or corridor when it has one."""
    rings = _footprint(g, width_m)
    target = _sub(parent, "MultiGeometry") if rings is not None and not isinstance(g, Polygon) else parent
    if isinstance(g, Point):
        _point(target, (g.lon, g.lat))
    elif isinstance(g, LineString):
        _line(target, g.coords, None, "clampToGround")
    if rings is not None:
        _polygon(target, rings, None, "clampToGround")


def _airspace(parent: ET.Element, g: Geometry, width_m: float, band: AltitudeBand) -> None:
    rings = _footprint(g, width_m)
    if rings is not None:
        _volume(parent, rings, band)
    elif isinstance(g, LineString):
        _curtain(parent, g.coords, band)
    else:
        assert isinstance(g, Point)
        pt = _sub(parent, "Point")
        _mode(pt, _band_mode(band), extrude=True)
        _sub(pt, "coordinates", _coords([(g.lon, g.lat)], band.upper_m))


def _geometry(parent: ET.Element, obj: Declaration | Measure) -> None:
    if isinstance(obj, Measure):
        if obj.altitude is not None:
            _airspace(parent, obj.geometry, obj.half_width_m, obj.altitude)
        else:
            _surface(parent, obj.geometry, obj.half_width_m)
    elif isinstance(obj, Site):
        _surface(parent, obj.geometry, obj.protection_m)
    elif isinstance(obj, Fire):
        _surface(parent, obj.target, obj.effects_radius_m)
    elif isinstance(obj, Movement | Flight) and obj.waypoints:
        band = obj.altitude if isinstance(obj, Flight) else None
        if isinstance(obj, Flight):
            pts = [(w.position.lon, w.position.lat) for w in obj.waypoints]
            alts = [w.altitude.metres if w.altitude is not None else band.upper_m if band else 0.0
                    for w in obj.waypoints]
            line = _sub(parent, "LineString")
            _mode(line, "absolute", extrude=True)
            _sub(line, "coordinates", " ".join(_coords([p], a) for p, a in zip(pts, alts, strict=True)))
        else:
            _line(parent, [(w.position.lon, w.position.lat) for w in obj.waypoints], None, "clampToGround")
    elif isinstance(obj, Movement):
        assert obj.route is not None
        _surface(parent, obj.route, obj.half_width_m)
    else:
        assert obj.geometry is not None and obj.altitude is not None
        _airspace(parent, obj.geometry, obj.half_width_m, obj.altitude)


# -- features -----------------------------------------------------------------------------------
def _band(obj: Declaration | Measure) -> AltitudeBand | None:
    if isinstance(obj, Measure | Flight):
        return obj.altitude
    if isinstance(obj, Fire):
        return obj.trajectory_band
    return None


def _data(ext: ET.Element, name: str, value: str, display: str | None = None) -> None:
    d = ET.SubElement(ext, _q("Data"), name=name)
    if display:
        _sub(d, "displayName", display)
    _sub(d, "value", value)


def _reference(obj: Declaration | Measure) -> str | None:
    """The object's external reference, where its document has one."""
    doc = encode_measure(obj) if isinstance(obj, Measure) else encode_declaration(obj)
    ref = doc.get("reference")
    return str(ref) if ref else None


def _placemark(folder: ET.Element, obj: Declaration | Measure) -> None:
    pm = _sub(folder, "Placemark")
    _sub(pm, "name", obj.label or obj.id)
    kind = obj.kind.value.replace("_", " ")
    start, end = format_time(obj.window.start), format_time(obj.window.end)
    band = _band(obj)
    _sub(pm, "description", f"{kind} of {obj.owner}, {start} to {end}" + (f", {band}" if band else ""))
    span = _sub(pm, "TimeSpan")
    _sub(span, "begin", start)
    _sub(span, "end", end)
    _sub(pm, "styleUrl", f"#kind-{_style_key(obj)}")
    ext = _sub(pm, "ExtendedData")
    _data(ext, "id", obj.id, "Id")
    _data(ext, "kind", obj.kind.value, "Kind")
    _data(ext, "owner", obj.owner, "Owner")
    _data(ext, "label", obj.label, "Label")
    _data(ext, "window", f"{start}/{end}", "Window (UTC)")
    _data(ext, "start", start)
    _data(ext, "end", end)
    if band is not None:
        _data(ext, "band", str(band), "Altitude band")
        _data(ext, "lower_m", repr(band.lower_m))
        _data(ext, "upper_m", repr(band.upper_m))
    reference = _reference(obj)
    if reference:
        _data(ext, "reference", reference, "Reference")
    _geometry(pm, obj)


def document(measures: Sequence[Measure], declarations: Sequence[Declaration], *, name: str = "Deconflict") -> bytes:
    """The KML document (UTF-8 bytes) of ``measures`` and ``declarations``."""
    root = ET.Element(_q("kml"))
    doc = _sub(root, "Document")
    _sub(doc, "name", name)
    _styles(doc)
    for title, objs in (("Measures", measures), ("Declarations", declarations)):
        folder = _sub(doc, "Folder")
        _sub(folder, "name", title)
        for obj in objs:
            _placemark(folder, obj)
    # To text, then bytes: ElementTree writing bytes goes through a TextIOWrapper
    # call per fragment, half the time of a big export.
    text = ET.tostring(root, encoding="unicode")
    return b"<?xml version='1.0' encoding='utf-8'?>\n" + text.encode("utf-8")
