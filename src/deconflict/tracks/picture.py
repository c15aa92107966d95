"""The picture out to TAK: measures and the declarations a party may see, as CoT shapes.

Lines and polygons are ``u-d-f``, points with a radius (a site's protection
zone, a point-and-radius measure) ``u-d-c-c`` circles. Each shape's uid is
stable per object and version (``dcf.<kind>.<id>.<version>``): a new version
replaces the old one on the clients' maps (the old uid is deleted with
``t-x-d-d``), and a withdrawal deletes it. The owner and window are in the
remarks; the shape goes stale when its window ends.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from deconflict.codecs.cot import CotEvent, Style, circle_event, shape_event
from deconflict.model import (
    Declaration,
    Fire,
    Flight,
    LineString,
    Measure,
    MeasureKind,
    Movement,
    Point,
    Polygon,
    Site,
)
from deconflict.service.disclosure import visible
from deconflict.store.documents import encode_declaration, encode_measure

STYLES: dict[str, Style] = {
    MeasureKind.DECONFLICTION_LINE.value: Style(0xFF0000, 0, 4.0),
    MeasureKind.NO_FIRE_AREA.value: Style(0x00A000, 60),
    MeasureKind.RESTRICTIVE_FIRE_AREA.value: Style(0xFFA500, 50),
    MeasureKind.RESTRICTIVE_FIRE_LINE.value: Style(0xFFA500, 0, 3.0),
    MeasureKind.RESTRICTED_OPERATIONS_ZONE.value: Style(0x1E90FF, 50),
    MeasureKind.AIR_CORRIDOR.value: Style(0x00BFFF, 40),
    "site": Style(0x0000FF, 50),
    "movement": Style(0x8B4513, 0, 3.0),
    "flight": Style(0x00CED1, 40),
    "fire": Style(0xDC143C, 70),
}

Shape = tuple[CotEvent, str]


def version_of(doc: dict[str, object]) -> str:
    """A short digest of the object's document: the same object and version, the same uid."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:10]


def _window(start: datetime, end: datetime) -> str:
    f = "%Y-%m-%d %H:%M"
    return f"{start.astimezone(UTC):{f}}Z to {end.astimezone(UTC):{f}}Z"


def _geometry(uid: str, label: str, geom: object, radius: float, style: Style, start: datetime, end: datetime,
              text: str) -> Shape | None:
    if isinstance(geom, Point):
        if radius <= 0:
            radius = 50.0
        return circle_event(uid, label, geom.lon, geom.lat, radius, style=style, start=start, stale=end, text=text)
    if isinstance(geom, LineString):
        return shape_event(uid, label, geom.coords, closed=False, style=style, start=start, stale=end, text=text)
    if isinstance(geom, Polygon):
        return shape_event(uid, label, geom.rings[0], closed=True, style=style, start=start, stale=end, text=text)
    return None


def measure_shape(m: Measure) -> tuple[str, Shape | None]:
    uid = f"dcf.measure.{m.id}.{version_of(encode_measure(m))}"
    text = f"{m.kind.value.replace('_', ' ')} {m.id} of {m.owner}; in force {_window(m.window.start, m.window.end)}"
    if m.altitude is not None:
        text += f"; {m.altitude}"
    if m.sides:
        text += "; sides: " + ", ".join(f"{p} {s.value}" for p, s in m.sides)
    return uid, _geometry(uid, m.label or m.id, m.geometry, m.half_width_m, STYLES[m.kind.value],
                          m.window.start, m.window.end, text)


def declaration_shape(d: Declaration) -> tuple[str, Shape | None]:
    uid = f"dcf.declaration.{d.id}.{version_of(encode_declaration(d))}"
    text = f"{d.kind.value} {d.id} of {d.owner}; {_window(d.window.start, d.window.end)}"
    style = STYLES[d.kind.value]
    if isinstance(d, Site):
        return uid, _geometry(uid, d.label or d.id, d.geometry, d.protection_m, style, d.window.start, d.window.end,
                              text + f"; {d.category.value}, protection {d.protection_m:g} m")
    if isinstance(d, (Movement, Flight)):
        geom = d.route if isinstance(d, Movement) else d.geometry
        if geom is None:
            geom = LineString(tuple((w.position.lon, w.position.lat) for w in d.waypoints))
        if isinstance(d, Flight) and d.altitude is not None:
            text += f"; {d.altitude}"
        return uid, _geometry(uid, d.label or d.id, geom, 0.0 if not isinstance(geom, Point) else d.half_width_m,
                              style, d.window.start, d.window.end, text)
    assert isinstance(d, Fire)
    return uid, _geometry(uid, d.label or d.id, d.target, d.effects_radius_m, style, d.window.start, d.window.end,
                          text + f"; effects radius {d.effects_radius_m:g} m")


def picture(party: str, measures: list[Measure], declarations: list[Declaration]) -> dict[str, Shape]:
    """Every shape ``party`` may see, by uid."""
    out: dict[str, Shape] = {}
    for m in measures:
        uid, shape = measure_shape(m)
        if shape is not None:
            out[uid] = shape
    for d in declarations:
        if visible(d, party):
            uid, shape = declaration_shape(d)
            if shape is not None:
                out[uid] = shape
    return out
