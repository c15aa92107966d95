"""Hypothesis strategies for geometry in awkward places, shared by tests/geo and tests/engine.

Geometry is built with pyproj's ``Geod`` directly (through tests.reference), never
with the code under test. Shapes come as plain coordinate lists plus the model
geometry, so a test can hand the same shape to the engine and to the reference.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from deconflict.model import LineString, Point, Polygon
from deconflict.model.geometry import Geometry
from tests.reference import RefShape, fwd, inv, point_on_edge

Position = tuple[float, float]

#: Where shapes are put. Each region stresses something: longitudes near
#: +-180 (the antimeridian), latitudes past 85 degrees (the poles), the equator.
REGIONS = ("mid", "antimeridian", "north_pole", "south_pole", "equator")

#: Edge / radius scales in metres. "huge" edges go up to the 4,000 km limit.
SCALES: dict[str, tuple[float, float]] = {
    "tiny": (1.0, 300.0),
    "small": (300.0, 20_000.0),
    "medium": (20_000.0, 300_000.0),
    "large": (300_000.0, 1_200_000.0),
    "huge": (1_000_000.0, 3_900_000.0),
}
#: The engine's span limit (every vertex within this of the first one), with room.
SPAN_LIMIT_M = 4_800_000.0


def PROPERTY(max_examples: int) -> settings:
    """Settings of the property tests: no deadline (geodesics are slow-ish and
    vary), generation may be slow, and the example count is per test so the
    whole of tests/geo and tests/engine stays within a few minutes.
    ``DECONFLICT_PROPERTY_SCALE=10`` multiplies every count (for a deep run).

    Under CI (``CI=true``) the examples are derandomized, so a landing is judged
    on a fixed, reproducible set; developers' runs explore new examples, and a
    failure they find becomes a named regression test (tests/engine/test_rules.py)."""
    scale = max(1, int(os.environ.get("DECONFLICT_PROPERTY_SCALE", "1")))
    return settings(
        max_examples=max_examples * scale,
        deadline=None,
        derandomize=os.environ.get("CI", "").lower() == "true",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@st.composite
def centers(draw: st.DrawFn, region: str | None = None) -> Position:
    region = region or draw(st.sampled_from(REGIONS))
    if region == "antimeridian":
        side = draw(st.sampled_from((-1.0, 1.0)))
        lon = side * draw(st.floats(178.0, 180.0))
        if lon == -180.0:
            lon = 180.0 if draw(st.booleans()) else -180.0
        return lon, draw(st.floats(-70.0, 70.0))
    if region == "north_pole":
        return draw(st.floats(-180.0, 180.0)), draw(st.floats(85.0, 90.0))
    if region == "south_pole":
        return draw(st.floats(-180.0, 180.0)), draw(st.floats(-90.0, -85.0))
    if region == "equator":
        return draw(st.floats(-180.0, 180.0)), draw(st.floats(-1.0, 1.0))
    return draw(st.floats(-180.0, 180.0)), draw(st.floats(-75.0, 75.0))


def lengths(scale: str) -> st.SearchStrategy[float]:
    lo, hi = SCALES[scale]
    return st.floats(lo, hi)


@dataclass(frozen=True)
class GenShape:
    """A generated shape: the model geometry and the reference's copy."""

    geometry: Geometry
    ref: RefShape

    @property
    def kind(self) -> str:
        return self.ref.kind

    def anchor_points(self) -> list[Position]:
        return self.ref.vertices()


def make_point(p: Position) -> GenShape:
    return GenShape(Point(p[0], p[1]), RefShape.point(p[0], p[1]))


def make_line(coords: list[Position]) -> GenShape:
    g = LineString(tuple(coords))
    return GenShape(g, RefShape.line(g.coords))


def make_polygon(rings: list[list[Position]]) -> GenShape:
    closed = [[*r, r[0]] if r[0] != r[-1] else r for r in rings]
    g = Polygon(tuple(tuple(r) for r in closed))
    return GenShape(g, RefShape.polygon(g.rings))


def _within_span(coords: list[Position]) -> bool:
    first = coords[0]
    return all(inv(first[0], first[1], c[0], c[1])[1] <= SPAN_LIMIT_M for c in coords)


@st.composite
def lines(
    draw: st.DrawFn, center: Position, scale: str, *, monotone: bool = False,
    min_vertices: int = 2, max_vertices: int = 5,
) -> GenShape:
    """A 2-5 vertex polyline starting at ``center``. ``monotone`` lines keep
    within 60 degrees of one bearing, so they and their end continuations
    never cross themselves (their sides are well defined)."""
    n = draw(st.integers(min_vertices, max_vertices))
    lo, hi = SCALES[scale]
    hi = min(hi, SPAN_LIMIT_M / (n - 1))
    lo = min(lo, hi)
    bearing = draw(st.floats(-180.0, 180.0))
    coords = [center]
    for _ in range(n - 1):
        az = bearing + draw(st.floats(-60.0, 60.0)) if monotone else draw(st.floats(-180.0, 180.0))
        step = draw(st.floats(lo, hi))
        nxt = fwd(coords[-1][0], coords[-1][1], az, step)
        if monotone:
            # keep following the bearing as seen from the new vertex
            _back, _d = inv(nxt[0], nxt[1], coords[-1][0], coords[-1][1])
            bearing = _back + 180.0
        coords.append(nxt)
    if not _within_span(coords):
        coords = coords[:2]
    return make_line(coords)


def _star(center: Position, azimuths: list[float], radii: list[float]) -> list[Position]:
    return [fwd(center[0], center[1], az, r) for az, r in zip(azimuths, radii, strict=True)]


@st.composite
def star_azimuths(draw: st.DrawFn, k: int) -> list[float]:
    """k sorted azimuths, no gap wider than 150 degrees."""
    weights = draw(st.lists(st.floats(1.0, 4.0), min_size=k, max_size=k))
    total = sum(weights)
    gaps = [360.0 * w / total for w in weights]
    if max(gaps) > 150.0:
        gaps = [360.0 / k] * k
    start = draw(st.floats(-180.0, 180.0))
    out, a = [], start
    for g in gaps:
        out.append(a)
        a += g
    return out


@st.composite
def polygons(
    draw: st.DrawFn, center: Position, scale: str, *, holes: bool | None = None
) -> GenShape:
    """A star-shaped polygon around ``center`` (simple by construction: each
    edge stays in its sector, every sector narrower than 150 degrees), with an
    optional star-shaped hole well inside it. ``center`` may be a pole."""
    lo, hi = SCALES[scale]
    hi = min(hi, 1_900_000.0)  # edges stay below 4,000 km, the span below 5,000 km
    lo = min(lo, hi)
    k = draw(st.integers(3, 7))
    azs = draw(star_azimuths(k))
    r_max = draw(st.floats(lo, hi))
    radii = [r_max * draw(st.floats(0.5, 1.0)) for _ in range(k)]
    ring = _star(center, azs, radii)
    rings = [ring]
    if holes is None:
        holes = draw(st.booleans())
    gaps = [(azs[(i + 1) % k] - azs[i]) % 360.0 for i in range(k)]
    inner = min(radii) * math.cos(math.radians(max(gaps) / 2.0))
    if holes and inner > 2.0:
        hk = draw(st.integers(3, 5))
        hazs = draw(star_azimuths(hk))
        h_r = inner * draw(st.floats(0.1, 0.6))
        rings.append(_star(center, hazs, [h_r * draw(st.floats(0.6, 1.0)) for _ in range(hk)]))
    return make_polygon(rings)


@st.composite
def shapes(
    draw: st.DrawFn, center: Position, scale: str, kinds: tuple[str, ...] = ("point", "line", "polygon"),
) -> GenShape:
    kind = draw(st.sampled_from(kinds))
    if kind == "point":
        return make_point(center)
    if kind == "line":
        return draw(lines(center, scale))
    return draw(polygons(center, scale))


@st.composite
def placed_near(draw: st.DrawFn, shape: GenShape, distance_m: float) -> Position:
    """A point about ``distance_m`` from a random point of ``shape``'s boundary."""
    verts = shape.anchor_points()
    i = draw(st.integers(0, len(verts) - 1))
    anchor = verts[i]
    if shape.kind != "point" and draw(st.booleans()):
        ring = shape.ref.rings[0]
        j = draw(st.integers(0, len(ring) - 2)) if len(ring) > 1 else 0
        anchor = point_on_edge(ring[j], ring[j + 1], draw(st.floats(0.0, 1.0)))
    az = draw(st.floats(-180.0, 180.0))
    return fwd(anchor[0], anchor[1], az, distance_m)


@st.composite
def scene(
    draw: st.DrawFn, kinds_a: tuple[str, ...] = ("point", "line", "polygon"),
    kinds_b: tuple[str, ...] = ("point", "line", "polygon"), max_gap_m: float | None = None,
) -> tuple[GenShape, GenShape, str, str]:
    """Two shapes near each other somewhere awkward: (a, b, region, scale)."""
    region = draw(st.sampled_from(REGIONS))
    scale_a = draw(st.sampled_from(tuple(SCALES)))
    scale_b = draw(st.sampled_from(tuple(SCALES)))
    if region in ("north_pole", "south_pole") and draw(st.booleans()):
        pole = (draw(st.floats(-180.0, 180.0)), 90.0 if region == "north_pole" else -90.0)
        a = draw(polygons(pole, scale_a)) if "polygon" in kinds_a else draw(shapes(pole, scale_a, kinds_a))
    else:
        a = draw(shapes(draw(centers(region)), scale_a, kinds_a))
    hi_a = SCALES[scale_a][1]
    gap = draw(st.floats(0.0, max_gap_m if max_gap_m is not None else max(hi_a, SCALES[scale_b][1])))
    b_center = draw(placed_near(a, gap))
    b = draw(shapes(b_center, scale_b, kinds_b))
    return a, b, region, scale_a
