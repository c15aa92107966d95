"""Geometries in WGS84 longitude/latitude degrees, GeoJSON axis order.

Edges are geodesics on the WGS84 ellipsoid, not rhumb lines and not straight
lines on any map. These types check what can be checked without geodesy
(finite numbers, ranges, enough vertices, closed rings); the geodesic checks
(self-intersection, edge length limits) live in :mod:`deconflict.geo.shape`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deconflict.errors import InvalidInput, UnsupportedGeometry

Position = tuple[float, float]


def check_position(pos: object, field: str) -> Position:
    if not isinstance(pos, (tuple, list)) or len(pos) not in (2, 3):
        raise InvalidInput(field, f"a position is [longitude, latitude], got {pos!r}")
    lon, lat = pos[0], pos[1]
    for name, v in (("longitude", lon), ("latitude", lat)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InvalidInput(field, f"{name} must be a number, got {v!r}")
        if not math.isfinite(float(v)):
            raise InvalidInput(field, f"{name} must be a finite number, got {v}")
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(field, f"latitude {lat} is out of range [-90, 90]")
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput(field, f"longitude {lon} is out of range [-180, 180]")
    return (float(lon), float(lat))


def _dedupe(coords: list[Position]) -> tuple[Position, ...]:
    out: list[Position] = []
    for p in coords:
        if not out or p != out[-1]:
            out.append(p)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Point:
    lon: float
    lat: float

    def __post_init__(self) -> None:
        check_position((self.lon, self.lat), "coordinates")

    @property
    def coords(self) -> tuple[Position, ...]:
        return ((self.lon, self.lat),)

    @property
    def type(self) -> str:
        return "Point"


@dataclass(frozen=True, slots=True)
class LineString:
    """A polyline of geodesic edges (consecutive duplicate vertices are dropped)."""

    coords: tuple[Position, ...]

    def __post_init__(self) -> None:
        if len(self.coords) == 0:
            raise InvalidInput("coordinates", "empty geometry: a line needs at least two positions")
        checked = [check_position(p, f"coordinates[{i}]") for i, p in enumerate(self.coords)]
        coords = _dedupe(checked)
        if len(coords) < 2:
            raise InvalidInput("coordinates", "a line needs at least two distinct positions")
        object.__setattr__(self, "coords", coords)

    @property
    def type(self) -> str:
        return "LineString"


@dataclass(frozen=True, slots=True)
class Polygon:
    """An exterior ring and optional holes; each ring closed, edges geodesic.

    On an ellipsoid a ring splits the surface in two: the polygon is the smaller
    part, so ring orientation does not matter (polygons larger than a
    hemisphere are refused by :mod:`deconflict.geo.shape`)."""

    rings: tuple[tuple[Position, ...], ...]

    def __post_init__(self) -> None:
        if len(self.rings) == 0 or len(self.rings[0]) == 0:
            raise InvalidInput("coordinates", "empty geometry: a polygon needs an exterior ring")
        rings = []
        for r, ring in enumerate(self.rings):
            checked = [check_position(p, f"coordinates[{r}][{i}]") for i, p in enumerate(ring)]
            if len(checked) < 4:
                raise InvalidInput(
                    f"coordinates[{r}]", "a ring needs at least four positions (first = last)"
                )
            if checked[0] != checked[-1]:
                raise InvalidInput(
                    f"coordinates[{r}]", "ring is not closed: the last position must equal the first"
                )
            deduped = _dedupe(checked)
            if len(set(deduped[:-1])) < 3:
                raise InvalidInput(
                    f"coordinates[{r}]", "ring has fewer than three distinct positions"
                )
            rings.append(deduped)
        object.__setattr__(self, "rings", tuple(rings))

    @property
    def coords(self) -> tuple[Position, ...]:
        return self.rings[0]

    @property
    def type(self) -> str:
        return "Polygon"


Geometry = Point | LineString | Polygon

GEOMETRY_TYPES = ("Point", "LineString", "Polygon")


def unsupported(type_name: object, field: str, allowed: tuple[str, ...]) -> UnsupportedGeometry:
    return UnsupportedGeometry(
        field, f"geometry type {type_name!r} is not supported here; use one of {', '.join(allowed)}"
    )
