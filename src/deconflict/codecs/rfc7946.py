"""Geometries as RFC 7946 wants them on the way out, and back again on the way in.

The model's edges are geodesics and its rings have no orientation (a ring bounds
the smaller part of the ellipsoid, :class:`deconflict.model.Polygon`). GIS tools
read GeoJSON as planar longitude/latitude, so on the way out (RFC 7946 §3.1.6,
§3.1.9, §11.2):

* a line or ring that crosses the antimeridian is cut there into a
  MultiLineString or MultiPolygon. The cut point is where the *geodesic* edge
  meets the 180th meridian (found by bisection along the edge), so joining the
  parts again on the way in puts a vertex exactly on the original edge: the
  model's geometry is unchanged by a round trip;
* exterior rings run counter-clockwise and holes clockwise, in the planar
  longitude/latitude sense;
* coordinates have at most :data:`COORDINATE_DECIMALS` decimals (about 1 cm).

On the way in, any winding is accepted (RFC 7946 §3.1.6: parsers should not
reject clockwise rings), and a MultiLineString or MultiPolygon is accepted only
when it is one line or one polygon cut at the antimeridian, as written here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon as ShapelyMultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry import box

from deconflict.errors import InvalidInput
from deconflict.geo.geodesic import Edge, normalize_angle
from deconflict.model import Geometry, LineString, Point

#: At most this many decimals per coordinate (1e-7 degree is 1.1 cm at most).
COORDINATE_DECIMALS = 7
#: Two cut points on the antimeridian are the same if their latitudes differ by
#: less than this: one unit of the last decimal written.
SEAM_TOLERANCE_DEG = 10.0 ** -COORDINATE_DECIMALS
#: Bisection steps for a geodesic's crossing of the antimeridian: 2**-60 of an
#: edge of at most 4,000 km is far below the last decimal written.
_CROSSING_STEPS = 60

XY = tuple[float, float]


def rounded(v: float) -> float:
    r = round(v, COORDINATE_DECIMALS)
    return 0.0 if r == 0 else r  # no -0.0


def _pos(p: XY) -> list[float]:
    return [rounded(p[0]), rounded(p[1])]


# -- out --------------------------------------------------------------------------------------
def _crossing_lat(lon1: float, lat1: float, lon2: float, lat2: float, x1: float, seam: float) -> float:
    """Latitude where the geodesic edge from (lon1, lat1) to (lon2, lat2) meets the
    meridian ``seam`` (in the unwrapped frame where the edge starts at ``x1``).
    Longitude is monotonic along a geodesic of an ellipsoid of revolution."""
    edge = Edge.between(lon1, lat1, lon2, lat2)
    lo, hi = 0.0, edge.length
    lat = lat1
    for _ in range(_CROSSING_STEPS):
        mid = (lo + hi) / 2
        lon, lat, _az = edge.at(mid)
        x = x1 + normalize_angle(lon - lon1)
        if (x - seam) * (x1 - seam) > 0:  # still on the start's side
            lo = mid
        else:
            hi = mid
    return lat


def unwrap(coords: Sequence[XY]) -> list[XY]:
    """The positions with continuous longitudes (each step the short way round),
    with a vertex inserted wherever an edge crosses a meridian 180 + 360k."""
    out: list[XY] = [(float(coords[0][0]), float(coords[0][1]))]
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(coords):
        x1 = out[-1][0]
        x2 = x1 + normalize_angle(lon2 - lon1)
        lo, hi = min(x1, x2), max(x1, x2)
        k = math.ceil((lo - 180.0) / 360.0)
        seam = 180.0 + 360.0 * k
        if lo < seam < hi:
            out.append((seam, _crossing_lat(lon1, lat1, lon2, lat2, x1, seam)))
        out.append((x2, float(lat2)))
    return out


def _sheet(x: float) -> int:
    """Which copy of [-180, 180] an unwrapped longitude is in."""
    return math.floor((x + 180.0) / 360.0)


def _dedupe(points: list[list[float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for p in points:
        if not out or p != out[-1]:
            out.append(p)
    return out


def line_parts(coords: Sequence[XY]) -> list[list[list[float]]]:
    """A line as one or more parts, cut at the antimeridian, rounded."""
    pts = unwrap(coords)
    parts: list[list[XY]] = []
    current_sheet: int | None = None
    for a, b in itertools.pairwise(pts):
        sheet = _sheet((a[0] + b[0]) / 2)
        if sheet != current_sheet:
            parts.append([a])
            current_sheet = sheet
        parts[-1].append(b)
    if not parts:
        parts = [pts]
    out = []
    for part in parts:
        shift = 360.0 * _sheet(sum(p[0] for p in part[:2]) / min(2, len(part)))
        out.append(_dedupe([_pos((x - shift, y)) for x, y in part]))
    return [p for p in out if len(p) >= 2]


def _signed_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) / 2


def _oriented(ring: list[list[float]], ccw: bool) -> list[list[float]]:
    ring = _dedupe(ring)
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if (_signed_area(ring) > 0) != ccw:
        ring.reverse()
    return ring


def _ring_out(ring: Sequence[XY], shift: float = 0.0) -> list[list[float]]:
    return [_pos((x - shift, y)) for x, y in ring]


def polygon_parts(rings: Sequence[Sequence[XY]]) -> list[list[list[list[float]]]]:
    """A polygon as one or more polygons (exterior, holes...), cut at the
    antimeridian, rounded, exterior counter-clockwise and holes clockwise."""
    ext = unwrap(rings[0])
    if ext[-1][0] != ext[0][0]:
        # The ring goes round a pole: close it along that pole (a planar
        # polygon spanning 360 degrees of longitude), then cut as usual.
        pole = math.copysign(90.0, sum(p[1] for p in ext))
        ext = [*ext, (ext[-1][0], pole), (ext[0][0], pole), ext[0]]
    xs = [p[0] for p in ext]
    centre = (min(xs) + max(xs)) / 2
    holes = []
    for ring in rings[1:]:
        h = unwrap(ring)
        mid = (min(p[0] for p in h) + max(p[0] for p in h)) / 2
        shift = 360.0 * round((mid - centre) / 360.0)
        holes.append([(x - shift, y) for x, y in h])
    sheets = range(_sheet(min(xs)), _sheet(max(xs)) + 1)
    crossing = any(_sheet((a[0] + b[0]) / 2) != sheets[0] for a, b in itertools.pairwise(ext))
    if not crossing:
        shift = 360.0 * sheets[0]
        return [[_oriented(_ring_out(ext, shift), True)] + [_oriented(_ring_out(h, shift), False) for h in holes]]
    shape = ShapelyPolygon(ext, holes)
    if not shape.is_valid:
        shape = shapely.make_valid(shape)
    out = []
    for k in sheets:
        piece = shape.intersection(box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0))
        polys = [piece] if isinstance(piece, ShapelyPolygon) else [
            g for g in getattr(piece, "geoms", []) if isinstance(g, ShapelyPolygon)]
        for poly in polys:
            if poly.is_empty or poly.area == 0:
                continue
            shift = 360.0 * k
            out.append([_oriented(_ring_out(list(poly.exterior.coords), shift), True)]
                       + [_oriented(_ring_out(list(r.coords), shift), False) for r in poly.interiors])
    return out


def encode_point(coords: Sequence[float]) -> list[float]:
    """A position as written: rounded (a fire's origin, a waypoint)."""
    return _pos((coords[0], coords[1]))


def encode(g: Geometry) -> dict[str, Any]:
    """A model geometry as an RFC 7946 geometry."""
    if isinstance(g, Point):
        return {"type": "Point", "coordinates": _pos((g.lon, g.lat))}
    if isinstance(g, LineString):
        return lines(list(g.coords))
    parts = polygon_parts(g.rings)
    if len(parts) == 1:
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def lines(coords: Sequence[XY]) -> dict[str, Any]:
    parts = line_parts(coords)
    if len(parts) == 1:
        return {"type": "LineString", "coordinates": parts[0]}
    return {"type": "MultiLineString", "coordinates": parts}


# -- in ---------------------------------------------------------------------------------------
def _numbers(p: object, field: str) -> XY:
    if (not isinstance(p, list) or len(p) not in (2, 3)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)):
        raise InvalidInput(field, f"a position is [longitude, latitude], got {p!r}")
    return (float(p[0]), float(p[1]))


def _on_seam(p: XY) -> bool:
    return abs(p[0]) == 180.0


def join_lines(coords: object, field: str) -> dict[str, Any]:
    """A MultiLineString written by :func:`lines` as the one LineString it was."""
    if not isinstance(coords, list) or not coords:
        raise InvalidInput(field, "a MultiLineString needs at least one line")
    parts = []
    for i, part in enumerate(coords):
        if not isinstance(part, list) or len(part) < 2:
            raise InvalidInput(f"{field}[{i}]", "a line needs at least two positions")
        parts.append([_numbers(p, f"{field}[{i}][{j}]") for j, p in enumerate(part)])
    out = list(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        a, b = out[-1], part[0]
        if not (_on_seam(a) and _on_seam(b) and abs(a[1] - b[1]) <= SEAM_TOLERANCE_DEG):
            raise InvalidInput(f"{field}[{i}]", "a MultiLineString is read only as one line cut at the antimeridian "
                                                "(each part starting on 180° where the previous one ended)")
        out.extend(part[1:])
    return {"type": "LineString", "coordinates": [list(p) for p in out]}


def merge_polygons(coords: object, field: str) -> dict[str, Any]:
    """A MultiPolygon written by :func:`polygon_parts` as the one Polygon it was."""
    if not isinstance(coords, list) or not coords:
        raise InvalidInput(field, "a MultiPolygon needs at least one polygon")
    polys = []
    for i, poly in enumerate(coords):
        if not isinstance(poly, list) or not poly or not all(isinstance(r, list) and len(r) >= 4 for r in poly):
            raise InvalidInput(f"{field}[{i}]", "a polygon is a list of rings of at least four positions")
        rings = [[_numbers(p, f"{field}[{i}][{k}][{j}]") for j, p in enumerate(r)] for k, r in enumerate(poly)]
        polys.append(ShapelyPolygon(rings[0], rings[1:]))
    if len(polys) == 1:
        merged = polys[0]
    else:
        merged = polys[0]
        rest = polys[1:]
        while rest:
            for j, poly in enumerate(rest):
                moved = [shapely.affinity.translate(poly, dx) for dx in (0.0, 360.0, -360.0)]
                touching = [m for m in moved if merged.intersection(m).length > 0]
                if touching:
                    merged = shapely.union(merged, touching[0])
                    del rest[j]
                    break
            else:
                raise InvalidInput(field, "a MultiPolygon is read only as one polygon cut at the antimeridian "
                                          "(its parts must meet along 180°)")
        if isinstance(merged, ShapelyMultiPolygon) or not isinstance(merged, ShapelyPolygon):
            raise InvalidInput(field, "a MultiPolygon is read only as one polygon cut at the antimeridian")

    def wrap(ring: Any) -> list[list[float]]:
        return [[x - 360.0 if x > 180.0 else x + 360.0 if x < -180.0 else x, y] for x, y in ring.coords]

    return {"type": "Polygon", "coordinates": [wrap(merged.exterior)] + [wrap(r) for r in merged.interiors]}


def decode_multi(geometry: object, field: str) -> object:
    """``geometry`` with a Multi* cut at the antimeridian joined again; anything else as it is."""
    if not isinstance(geometry, dict):
        return geometry
    gtype = geometry.get("type")
    if gtype == "MultiLineString":
        return join_lines(geometry.get("coordinates"), f"{field}.coordinates")
    if gtype == "MultiPolygon":
        return merge_polygons(geometry.get("coordinates"), f"{field}.coordinates")
    return geometry
