"""Shapes with geodesic edges: validation, containment and exact distance.

A :class:`Shape` is a point, a polyline or a polygon (with holes) whose edges
are geodesics on WGS84. ``distance_within`` answers "how far apart are these
two shapes, if no farther than ``upto``?" exactly (to ``DISTANCE_TOLERANCE_M``),
with a conservative pruning pass first: cheap lower bounds discard edges that
cannot come within ``upto``, never an edge that could.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt
from pyproj.enums import GeodIntermediateFlag

from deconflict.errors import InvalidInput, UnsupportedGeometry
from deconflict.geo import chord, winding
from deconflict.geo.bounds import Box, FloatArray, SampleBounds, merge
from deconflict.geo.ellipsoid import (
    BOUND_SAMPLE_SPACING_M,
    GEOD,
    MAX_EDGE_M,
    MAX_SPAN_M,
    TOUCH_TOLERANCE_M,
)
from deconflict.geo.geodesic import Edge, distance, edge_distance, edges_cross, foot
from deconflict.model.geometry import Geometry, LineString, Point, Polygon, Position

#: Set while building shapes the log vouches for (accepted before, by this or
#: another process): they were validated when accepted and are not again.
_TRUSTED: ContextVar[bool] = ContextVar("deconflict_trusted_shapes", default=False)


@contextlib.contextmanager
def trusted() -> Iterator[None]:
    """Build shapes without re-validating them (see :data:`_TRUSTED`): for
    declarations and measures read from the log, never for a request's."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


class ShapeType(IntEnum):
    POINT = 0
    LINE = 1
    POLYGON = 2


@dataclass(frozen=True, slots=True)
class Ring:
    """A vertex sequence (closed for polygon rings) and its edges."""

    lons: FloatArray
    lats: FloatArray
    edges: tuple[Edge, ...]
    bounds: SampleBounds
    edge_bounds: tuple[SampleBounds, ...]


#: Up to this many inverse problems are solved one call each: pyproj's scalar
#: path makes the same geod_inverse call on the same doubles as its array path
#: (so the same azimuths and distances, bit for bit) without the buffer copies
#: that make the array path several times slower for a few points.
SCALAR_INV_MAX = 12
#: From this many vertices a ring's containment and distance bounds take no
#: geodesic per vertex (geo/winding.py, chords): below it the exact path is as cheap.
MANY_VERTICES = 32


def inv_arrays(
    lons1: FloatArray, lats1: FloatArray, lons2: FloatArray, lats2: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Forward azimuths and distances of the inverse problems, element by element."""
    n = lons1.shape[0]
    if n > SCALAR_INV_MAX:
        az, _back, dist = GEOD.inv(lons1, lats1, lons2, lats2)
        return np.asarray(az, dtype=np.float64), np.asarray(dist, dtype=np.float64)
    azs = np.empty(n, dtype=np.float64)
    dists = np.empty(n, dtype=np.float64)
    inv = GEOD.inv
    for i, (x1, y1, x2, y2) in enumerate(zip(lons1.tolist(), lats1.tolist(), lons2.tolist(), lats2.tolist(),
                                             strict=True)):
        azs[i], _b, dists[i] = inv(x1, y1, x2, y2)
    return azs, dists


def inv_from(
    lon: float, lat: float, lons: FloatArray, lats: FloatArray
) -> tuple[FloatArray, FloatArray]:
    n = lons.shape[0]
    if n > SCALAR_INV_MAX:
        return inv_arrays(np.full(n, lon), np.full(n, lat), lons, lats)
    azs = np.empty(n, dtype=np.float64)
    dists = np.empty(n, dtype=np.float64)
    inv = GEOD.inv
    for i, (x, y) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
        azs[i], _b, dists[i] = inv(lon, lat, x, y)
    return azs, dists


def _edge_bounds(edge: Edge) -> SampleBounds:
    """Bounds of the edge from samples no farther apart than the spacing; every
    point of the edge lies within half a spacing of a sample."""
    if edge.length == 0.0:
        return SampleBounds.of(np.array([edge.lon1]), np.array([edge.lat1]), 0.0)
    n = max(0, math.ceil(edge.length / BOUND_SAMPLE_SPACING_M) - 1)
    if not n:
        return _small_bounds([float(edge.lon1), float(edge.lon2)], [float(edge.lat1), float(edge.lat2)],
                             edge.length / 2.0)
    # GEOD.npts's points (the same call and flags), as arrays rather than a list of tuples.
    mid = GEOD.inv_intermediate(
        edge.lon1, edge.lat1, edge.lon2, edge.lat2, npts=n, flags=GeodIntermediateFlag.AZIS_DISCARD,
        return_back_azimuth=False,
    )
    spacing = edge.length / (n + 1)
    if n <= _SMALL_SAMPLES:
        return _small_bounds([float(edge.lon1), *mid.lons, float(edge.lon2)],
                             [float(edge.lat1), *mid.lats, float(edge.lat2)], spacing / 2.0)
    lons = np.empty(n + 2)
    lats = np.empty(n + 2)
    lons[0], lons[1:-1], lons[-1] = edge.lon1, mid.lons, edge.lon2
    lats[0], lats[1:-1], lats[-1] = edge.lat1, mid.lats, edge.lat2
    return SampleBounds.of(lons, lats, spacing / 2.0)


#: Up to this many samples between an edge's ends, bounds are taken on floats.
_SMALL_SAMPLES = 16


def _small_bounds(lons: list[float], lats: list[float], slack_m: float) -> SampleBounds:
    """SampleBounds.of on a few floats instead of small arrays: the same
    operations in the same order (unwrap's steps folded with the same modulo,
    summed left to right as cumsum does), so the same bounds, bit for bit."""
    lon0 = lons[0]
    lo = hi = lon0
    total = 0.0
    prev = lon0
    for x in lons[1:]:
        total += (x - prev + 180.0) % 360.0 - 180.0
        prev = x
        u = lon0 + total
        lo = min(lo, u)
        hi = max(hi, u)
    return SampleBounds(lo, hi, min(lats), max(lats), max(abs(y) for y in lats), slack_m, hi - lo >= 360.0)


def _make_ring(coords: Sequence[Position], field: str, closed: bool) -> Ring:
    lons = np.array([c[0] for c in coords], dtype=np.float64)
    lats = np.array([c[1] for c in coords], dtype=np.float64)
    edges = []
    # The edges' inverse problems together (the same solver per element, so the
    # same azimuths and lengths as Edge.between one by one).
    az, dist = inv_arrays(lons[:-1], lats[:-1], lons[1:], lats[1:])
    for i in range(len(coords) - 1):
        e = Edge(lons[i], lats[i], lons[i + 1], lats[i + 1], float(az[i]), float(dist[i]))
        if e.length > MAX_EDGE_M:
            raise UnsupportedGeometry(
                f"{field}[{i}]",
                f"edge to the next position is {e.length / 1000:,.0f} km long; geodesic edges "
                f"are decided exactly up to {MAX_EDGE_M / 1000:,.0f} km: add vertices to split it",
            )
        edges.append(e)
    edge_bounds = tuple(_edge_bounds(e) for e in edges)
    bounds = merge(list(edge_bounds)) if edge_bounds else SampleBounds.of(lons, lats, 0.0)
    return Ring(lons, lats, tuple(edges), bounds, edge_bounds)


class Shape:
    """A validated point, polyline or polygon with geodesic edges."""

    __slots__ = ("_capsules", "_many", "_pole", "_rows", "bounds", "rings", "type")

    def __init__(self, type_: ShapeType, rings: tuple[Ring, ...], pole: int = 0) -> None:
        self.type = type_
        self.rings = rings
        self._pole = pole
        self._capsules: FloatArray | None = None
        self._rows: FloatArray | None = None
        # Per ring of MANY_VERTICES or more, made on first use: what the winding
        # test (geo/winding.py) and the chord bounds need of its vertices.
        self._many: list[tuple[winding.Vertices, FloatArray] | None] | None = None
        # merge() of a single ring's bounds gives the same values back.
        b = rings[0].bounds if len(rings) == 1 else merge([r.bounds for r in rings])
        if pole:
            # A polygon around a pole spans every longitude up to the pole.
            b = SampleBounds(
                -180.0, 180.0,
                b.lat_lo if pole > 0 else -90.0,
                90.0 if pole > 0 else b.lat_hi,
                90.0, b.slack_m, True,
            )
        self.bounds = b

    # -- construction -------------------------------------------------------
    @classmethod
    def point(cls, lon: float, lat: float) -> Shape:
        """A point shape, built without the array work the other shapes need
        (points are most of what a theatre holds)."""
        lons = np.array([lon], dtype=np.float64)
        lats = np.array([lat], dtype=np.float64)
        b = SampleBounds(lon, lon, lat, lat, abs(lat), 0.0, False)
        return cls(ShapeType.POINT, (Ring(lons, lats, (), b, ()),))

    @classmethod
    def of(cls, geometry: Geometry, field: str = "coordinates") -> Shape:
        if isinstance(geometry, Point):
            return cls.point(geometry.lon, geometry.lat)
        if isinstance(geometry, LineString):
            return cls.build(ShapeType.LINE, [list(geometry.coords)], field)
        if isinstance(geometry, Polygon):
            return cls.build(ShapeType.POLYGON, [list(r) for r in geometry.rings], field)
        raise UnsupportedGeometry(field, f"unsupported geometry {type(geometry).__name__}")

    @classmethod
    def build(
        cls,
        type_: ShapeType,
        rings: Sequence[Sequence[Position]],
        field: str = "coordinates",
        *,
        check_span: bool = True,
    ) -> Shape:
        if type_ is ShapeType.POINT:
            lon, lat = rings[0][0]
            return cls.point(lon, lat)
        multi = type_ is ShapeType.POLYGON
        built = tuple(
            _make_ring(r, f"{field}[{k}]" if multi else field, multi) for k, r in enumerate(rings)
        )
        origin = built[0]
        for k, ring in enumerate(built if check_span else ()):
            if len(built) == 1 and math.fsum(e.length for e in ring.edges) <= MAX_SPAN_M - 1.0:
                # No vertex is farther from the first than the edges leading to
                # it are long (the metre covers the solver's rounding).
                continue
            _az, d = inv_from(float(origin.lons[0]), float(origin.lats[0]), ring.lons, ring.lats)
            far = int(np.argmax(d))
            if d[far] > MAX_SPAN_M:
                where = f"{field}[{k}][{far}]" if multi else f"{field}[{far}]"
                raise UnsupportedGeometry(
                    where,
                    f"position is {d[far] / 1000:,.0f} km from the first one; shapes must fit "
                    f"within {MAX_SPAN_M / 1000:,.0f} km of their first position",
                )
        pole = 0
        if multi:
            pole = _encircled_pole(built[0])
        shape = cls(type_, built, pole)
        if multi and not _TRUSTED.get():
            shape._validate_polygon(field)
        return shape

    def _validate_polygon(self, field: str) -> None:
        edges = [(k, i, e) for k, r in enumerate(self.rings) for i, e in enumerate(r.edges)]
        boxes = [self.rings[k].edge_bounds[i].grow(TOUCH_TOLERANCE_M) for k, i, _e in edges]
        # The pairs that need a look, in the order they are judged (so the
        # first offending pair is reported): adjacent edges, and others whose
        # boxes meet. Lower bounds of their distances, from one inverse call,
        # clear most of them before any exact (iterative) distance is taken.
        # The pairs come from a sweep over the boxes' latitudes (O(n log n) plus
        # one test per pair of boxes that meet in latitude); the quadratic loop
        # over every pair took 21 s at 4,000 vertices. Adjacent edges always
        # need a look; their other pairs are skipped in the sweep.
        adjacent_pairs: list[tuple[int, int]] = []
        start = 0
        for ring in self.rings:
            n = len(ring.edges)
            adjacent_pairs += [(start + i, start + i + 1) for i in range(n - 1)]
            if n > 2:
                adjacent_pairs.append((start, start + n - 1))
            start += n
        near = _sweep_pairs(boxes, set(adjacent_pairs), field)
        pairs = sorted([(a, b, True) for a, b in adjacent_pairs] + [(a, b, False) for a, b in near])
        clear = _pairs_clear([(edges[a][2], edges[b][2], adjacent and b == a + 1, adjacent)
                              for a, b, adjacent in pairs])
        for (a, b, adjacent), ok in zip(pairs, clear, strict=True):
            if ok:
                continue
            (ka, ia, ea), (kb, ib, eb) = edges[a], edges[b]
            if adjacent:
                if not _adjacent_overlap(ea, eb, b != a + 1):
                    continue
            elif edge_distance(ea, eb) > TOUCH_TOLERANCE_M:
                continue
            what = "self-intersecting ring" if ka == kb else "rings touch or cross"
            raise InvalidInput(
                f"{field}[{ka}]",
                f"{what}: edge {ia}-{ia + 1} meets edge {ib}-{ib + 1} of ring {kb}",
            )
        for k in range(1, len(self.rings)):
            hole = self.rings[k]
            if not _ring_contains(self.rings[0], float(hole.lons[0]), float(hole.lats[0]))[0]:
                raise InvalidInput(f"{field}[{k}]", "hole lies outside the exterior ring")

    # -- queries ------------------------------------------------------------
    def box(self, radius_m: float = 0.0) -> Box:
        """A box holding every point within ``radius_m`` of the shape."""
        return self.bounds.grow(radius_m)

    def vertices(self) -> Iterator[tuple[float, float]]:
        for r in self.rings:
            yield from zip(r.lons.tolist(), r.lats.tolist(), strict=True)

    def edges(self) -> Iterator[tuple[Edge, SampleBounds]]:
        for r in self.rings:
            yield from zip(r.edges, r.edge_bounds, strict=True)

    def contains(self, lon: float, lat: float) -> bool:
        """Closed containment for polygons (the boundary belongs to the polygon)."""
        if self.type is not ShapeType.POLYGON:
            return False
        inside, on_edge = _ring_contains(self.rings[0], lon, lat, self._many_of(0))
        if on_edge:
            return True
        if not inside:
            return False
        for k, hole in enumerate(self.rings[1:], start=1):
            in_hole, on_hole = _ring_contains(hole, lon, lat, self._many_of(k))
            if on_hole:
                return True
            if in_hole:
                return False
        return True

    def _many_of(self, k: int) -> tuple[winding.Vertices, FloatArray] | None:
        """Ring ``k``'s vertices for the winding test and its vertices in ECEF,
        when it has MANY_VERTICES or more (None: the exact path is as cheap)."""
        ring = self.rings[k]
        if ring.lons.shape[0] < MANY_VERTICES:
            return None
        if self._many is None:
            self._many = [None] * len(self.rings)
        got = self._many[k]
        if got is None:
            got = self._many[k] = (winding.vertices(ring.lons, ring.lats), chord.ecef(ring.lons, ring.lats))
        return got

    def capsules(self) -> FloatArray:
        """Capsules covering every point of the shape, inside included
        (:mod:`deconflict.geo.chord`), made on first use and kept."""
        caps = self._capsules
        if caps is None:
            ring = self.rings[0]
            if self.type is ShapeType.POINT:
                caps = chord.ball_capsule(float(ring.lons[0]), float(ring.lats[0]), 0.0)
            elif self.type is ShapeType.LINE:
                lengths = np.fromiter((e.length for e in ring.edges), np.float64, len(ring.edges))
                caps = chord.line_capsules(ring.lons, ring.lats, lengths)
            else:
                lon0, lat0 = float(ring.lons[0]), float(ring.lats[0])
                # Holes are inside the outer ring: the outer ring bounds them too.
                lengths = np.fromiter((e.length for e in ring.edges), np.float64, len(ring.edges))
                _az, d = inv_from(lon0, lat0, ring.lons, ring.lats)
                caps = chord.ball_capsule(lon0, lat0, chord.polygon_reach(d, lengths))
            self._capsules = caps
        return caps

    def edge_rows(self) -> FloatArray:
        """Every ring's edges as rows, made on first use and kept (geo/batch.py):
        (lon1, lat1, lon2, lat2, az1, length), the edge's capsule on its own
        (chord.line_capsules: ends in ECEF and pad) and a ball holding the
        capsule (its chord's midpoint, half the chord plus the pad), (n, 17).
        A point is one edge of length 0."""
        rows = self._rows
        if rows is None:
            if self.type is ShapeType.POINT:
                lon, lat = float(self.rings[0].lons[0]), float(self.rings[0].lats[0])
                geo = np.array([[lon, lat, lon, lat, 0.0, 0.0]], dtype=np.float64)
            else:
                geo = np.array([(e.lon1, e.lat1, e.lon2, e.lat2, e.az1, e.length) for e, _b in self.edges()],
                               dtype=np.float64).reshape(-1, 6)
            a = chord.ecef(geo[:, 0], geo[:, 1])
            b = chord.ecef(geo[:, 2], geo[:, 3])
            c = np.linalg.norm(b - a, axis=1)
            slack = np.maximum(geo[:, 5] - c, 0.0) + chord.CHORD_ROUNDING_M
            pad = 0.5 * np.sqrt(slack * (geo[:, 5] + c))
            rows = np.concatenate((geo, a, b, pad[:, None], (a + b) / 2.0, (c / 2.0 + pad)[:, None]), axis=1)
            self._rows = rows
        return rows

    def point_distance(self, lon: float, lat: float, upto: float = math.inf) -> float:
        """Distance from a point to the shape, exact if at most ``upto``, else ``inf``."""
        if self.type is ShapeType.POINT:
            dp = distance(float(self.rings[0].lons[0]), float(self.rings[0].lats[0]), lon, lat)
            return dp if dp <= upto else math.inf
        if self.type is ShapeType.POLYGON and self.contains(lon, lat):
            return 0.0
        best = math.inf
        for k, ring in enumerate(self.rings):
            many = self._many_of(k)
            if many is not None:
                # Chords are never longer than geodesics (geo/chord.py): lower
                # bounds of the vertex distances, with one geodesic solved (to
                # the nearest by chord: an upper bound of the answer to start from).
                c = np.linalg.norm(many[1] - chord.ecef(np.array([lon]), np.array([lat])), axis=1)
                d = np.maximum(c - chord.CHORD_ROUNDING_M, 0.0)
                j = int(np.argmin(c))
                vmin = distance(lon, lat, float(ring.lons[j]), float(ring.lats[j]))
            else:
                _az, d = inv_from(lon, lat, ring.lons, ring.lats)
                vmin = float(d.min())
            best = min(best, vmin)
            if not ring.edges:
                continue
            lengths = np.fromiter((e.length for e in ring.edges), np.float64, len(ring.edges))
            # Lipschitz lower bound of the distance to each edge: for X on edge AB,
            # d(P, A) + d(P, B) <= 2 d(P, X) + |AB| (the triangle inequality twice).
            lower = (d[:-1] + d[1:] - lengths) / 2.0
            for i in np.argsort(lower):
                lb = float(lower[i])
                limit = min(best, upto)
                if lb > limit:
                    break
                # A foot farther than the limit changes neither ``best`` (as far
                # as the answer goes) nor the answer, so it may stop once proven.
                _s, dist = foot(ring.edges[i], lon, lat, limit)
                best = min(best, dist)
        return best if best <= upto else math.inf

    def distance_within(self, other: Shape, upto: float) -> float:
        """Exact minimum distance between the shapes if at most ``upto``, else ``inf``."""
        if other.type is ShapeType.POINT:
            lon, lat = float(other.rings[0].lons[0]), float(other.rings[0].lats[0])
            return self.point_distance(lon, lat, upto)
        if self.type is ShapeType.POINT:
            return other.distance_within(self, upto)
        if not self.box(upto).intersects(other.box(0.0)):
            return math.inf
        for a, b in ((self, other), (other, self)):
            if a.type is ShapeType.POLYGON:
                for ring in b.rings:
                    if a.contains(float(ring.lons[0]), float(ring.lats[0])):
                        return 0.0
        best = math.inf
        theirs = list(other.edges())
        mine = list(self.edges())
        # Only the pairs whose boxes meet (found with numpy, a block of edges at
        # a time), in the order the loop over every pair took them: that loop
        # was 2.7 s for two 4,000-vertex shapes. Too many such pairs and the
        # comparison is refused (bounded work per request).
        # A distance the shapes certainly come within, from a few of the other's
        # vertices (each an exact point distance, vectorised): boxes grown by it
        # rather than by ``upto`` meet far fewer others.
        sampled = self._sampled_distance(other)
        if sampled == 0.0:
            return 0.0  # a shared vertex
        reach = min(upto, sampled)
        ii, jj = _box_pairs([eb.grow(reach) for _e, eb in mine], [fb.grow(0.0) for _f, fb in theirs])
        if not ii.size:
            return math.inf
        # Cheapest first: lower bounds of every pair's distance (from the
        # distances between their ends, one vectorised inverse call), and the
        # least of those end-to-end distances, a distance the shapes certainly
        # come within. A pair whose lower bound is above what is already known
        # cannot hold the minimum, so most pairs need no exact distance.
        lower, ends = _pair_bounds(_edge_arrays(mine), _edge_arrays(theirs), ii, jj)
        known = min(reach, ends)
        for k in np.argsort(lower, kind="stable").tolist():
            if float(lower[k]) - _BOUND_SLACK_M > min(best, known):
                break
            i, j = int(ii[k]), int(jj[k])
            # Above min(best, upto) a distance would change nothing: it is
            # not kept, or kept but above ``upto`` (answered as inf).
            d = edge_distance(mine[i][0], theirs[j][0], min(best, upto))
            if d < best:
                best = d
                if best == 0.0:
                    return 0.0
        return best if best <= upto else math.inf

    def _sampled_distance(self, other: Shape) -> float:
        """An upper bound of the distance between the shapes: the least distance
        from a few of the other's vertices to this shape's vertices."""
        best = math.inf
        for ring in other.rings:
            n = len(ring.lons)
            for k in sorted({round(i * (n - 1) / (_SAMPLES - 1)) for i in range(_SAMPLES)}):
                for mine in self.rings:
                    _az, d = inv_from(float(ring.lons[k]), float(ring.lats[k]), mine.lons, mine.lats)
                    best = min(best, float(d.min()))
        return best

    def crosses(self, edge: Edge) -> bool:
        return any(edges_cross(e, edge) for e, _b in self.edges())


def line_out_of_reach(lon: float, lat: float, coords: Sequence[Position], upto: float) -> bool:
    """True only when ``Shape.build(ShapeType.LINE, [coords]).point_distance(lon,
    lat, upto)`` is ``inf``, decided without building the shape (a valid line's).

    The same inverse problems on the same doubles as the shape's edges and
    ``point_distance`` (so the same bounds, bit for bit): every vertex farther
    than ``upto`` and every edge's Lipschitz lower bound above it is exactly
    the case where ``point_distance`` stops before any foot search."""
    lons = np.array([c[0] for c in coords], dtype=np.float64)
    lats = np.array([c[1] for c in coords], dtype=np.float64)
    _az, lengths = inv_arrays(lons[:-1], lats[:-1], lons[1:], lats[1:])
    _az, d = inv_from(lon, lat, lons, lats)
    if not float(d.min()) > upto:
        return False
    lower = (d[:-1] + d[1:] - lengths) / 2.0
    return bool(float(lower.min()) > upto)


#: At most this many pairs of non-adjacent edges whose boxes meet, per edge,
#: before a shape is refused as too crowded to validate within the budget of a
#: request (a legitimate outline has a handful; a star of thousands of spikes
#: meeting at its centre has thousands).
MAX_NEAR_PAIRS_PER_EDGE = 32


#: At most this many pairs of edges near each other in one comparison of two
#: shapes (each may take an exact distance): about a second of work.
MAX_EDGE_PAIRS = 200_000


class ComparisonTooCostly(InvalidInput):
    """Two shapes with so many edges near each other that comparing them would
    exceed the work one request may take."""

    def __init__(self, pairs: int) -> None:
        super().__init__("geometry", f"{pairs:,} pairs of edges lie near another shape's (at most "
                                     f"{MAX_EDGE_PAIRS:,} in one request): simplify the shape")


def _box_arrays(
    boxes: list[Box],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    return (np.array([b.lon_lo for b in boxes]), np.array([b.lat_lo for b in boxes]),
            np.array([b.lon_hi for b in boxes]), np.array([b.lat_hi for b in boxes]),
            np.array([b.full_lon for b in boxes], dtype=np.bool_))


#: Rows of the pair matrix computed at once (bounds the memory of a comparison).
_PAIR_BLOCK = 256


def _box_pairs(a: list[Box], b: list[Box]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The pairs (i, j), by i then j, of boxes of ``a`` and ``b`` that meet
    (:meth:`Box.intersects`, vectorised a block of rows at a time)."""
    alo, alat0, ahi, alat1, afull = _box_arrays(a)
    blo, blat0, bhi, blat1, bfull = _box_arrays(b)
    rows: list[npt.NDArray[np.intp]] = []
    cols: list[npt.NDArray[np.intp]] = []
    total = 0
    for start in range(0, len(a), _PAIR_BLOCK):
        sl = slice(start, start + _PAIR_BLOCK)
        lat = (alat0[sl, None] <= blat1[None, :]) & (blat0[None, :] <= alat1[sl, None])
        lon = afull[sl, None] | bfull[None, :]
        for k in (-360.0, 0.0, 360.0):
            lon = lon | ((alo[sl, None] <= bhi[None, :] + k) & (blo[None, :] + k <= ahi[sl, None]))
        r, c = np.nonzero(lat & lon)
        total += r.size
        if total > MAX_EDGE_PAIRS:
            raise ComparisonTooCostly(total)
        rows.append(r + start)
        cols.append(c)
    empty = np.empty(0, dtype=np.intp)
    return (np.concatenate(rows) if rows else empty), (np.concatenate(cols) if cols else empty)


def _edge_arrays(edges: list[tuple[Edge, SampleBounds]]) -> FloatArray:
    """Rows of (lon1, lat1, lon2, lat2, length)."""
    return np.array([(e.lon1, e.lat1, e.lon2, e.lat2, e.length) for e, _b in edges], dtype=np.float64)


#: Vertices of the other shape whose distances start a comparison.
_SAMPLES = 4

#: Covers the solver's rounding in a lower bound built from four distances.
_BOUND_SLACK_M = 1e-6


def _pair_bounds(mine: FloatArray, theirs: FloatArray, ii: npt.NDArray[np.intp],
                 jj: npt.NDArray[np.intp]) -> tuple[FloatArray, float]:
    """For edges AB (rows ``ii`` of ``mine``) and CD (rows ``jj`` of ``theirs``),
    each pair's lower bound of the distance between them, max(d(A,C) + d(B,D),
    d(A,D) + d(B,C)) - |AB| - |CD| over two (see :func:`_pairs_clear`), and the
    least of all the end-to-end distances."""
    e, f = mine[ii], theirs[jj]
    lon1 = np.stack([e[:, 0], e[:, 0], e[:, 2], e[:, 2]], axis=1).ravel()
    lat1 = np.stack([e[:, 1], e[:, 1], e[:, 3], e[:, 3]], axis=1).ravel()
    lon2 = np.stack([f[:, 0], f[:, 2], f[:, 0], f[:, 2]], axis=1).ravel()
    lat2 = np.stack([f[:, 1], f[:, 3], f[:, 1], f[:, 3]], axis=1).ravel()
    _az, dist = inv_arrays(lon1, lat1, lon2, lat2)
    d = dist.reshape(-1, 4)
    lower = (np.maximum(d[:, 0] + d[:, 3], d[:, 1] + d[:, 2]) - e[:, 4] - f[:, 4]) / 2.0
    return lower, float(d.min())


def _sweep_pairs(boxes: list[Box], skip: set[tuple[int, int]], field: str) -> list[tuple[int, int]]:
    """The pairs (a < b) of boxes that meet, other than those in ``skip``.

    Sweep and prune along one axis (two boxes that meet overlap on both axes,
    so none is missed), then the exact box test. The axis is the one along
    which fewer intervals overlap (counted in O(n log n) first): latitude for
    a comb of east-west teeth, longitude for one of north-south teeth. A shape
    crowded along both (thousands of spikes meeting at one point) is refused
    before any pair is looked at."""
    budget = MAX_NEAR_PAIRS_PER_EDGE * max(len(boxes), 8)
    lat_lo = np.array([b.lat_lo for b in boxes])
    lat_hi = np.array([b.lat_hi for b in boxes])
    axes = [(lat_lo, lat_hi, _overlaps(lat_lo, lat_hi))]
    lon = _local_longitudes(boxes)
    if lon is not None:
        axes.append((lon[0], lon[1], _overlaps(lon[0], lon[1])))
    lo, hi, count = min(axes, key=lambda a: a[2])
    if count > budget:
        raise ShapeTooComplex(field, budget)
    order = np.argsort(lo, kind="stable").tolist()
    los, his = lo.tolist(), hi.tolist()
    active: list[int] = []
    out: list[tuple[int, int]] = []
    for i in order:
        start = los[i]
        # Boxes ending before this one starts meet neither it nor any later one.
        active = [j for j in active if his[j] >= start]
        bi = boxes[i]
        for j in active:
            pair = (j, i) if j < i else (i, j)
            if pair not in skip and bi.intersects(boxes[j]):
                out.append(pair)
        active.append(i)
    return out


def _overlaps(lo: FloatArray, hi: FloatArray) -> int:
    """An upper bound of the pairs of intervals that overlap, and of the work
    of a sweep along them: for each interval, the others starting within it
    (of two intervals that overlap, one starts within the other)."""
    starts = np.sort(lo)
    within = np.searchsorted(starts, hi, side="right") - np.searchsorted(starts, lo, side="left") - 1
    return int(within.sum())


def _local_longitudes(boxes: list[Box]) -> tuple[FloatArray, FloatArray] | None:
    """The boxes' longitude intervals in one frame without a wrap (relative to
    the first box), or None when they span too much for one (near a pole, or
    half the world): then only latitude is swept."""
    if any(b.full_lon for b in boxes):
        return None
    ref = boxes[0].lon_lo
    lo = np.array([(b.lon_lo - ref + 180.0) % 360.0 - 180.0 for b in boxes])
    hi = lo + np.array([b.lon_hi - b.lon_lo for b in boxes])
    if float(hi.max()) - float(lo.min()) >= 170.0 or float(lo.min()) < -170.0 or float(hi.max()) > 170.0:
        return None
    return lo, hi


class ShapeTooComplex(InvalidInput):
    """A shape whose validation would exceed the work a request may take."""

    def __init__(self, field: str, budget: int) -> None:
        super().__init__(field, f"too many edges lie close to each other to validate within a request's "
                                f"budget ({budget:,} pairs of nearby edges at most): simplify the shape")


def _adjacent_overlap(ea: Edge, eb: Edge, wraps: bool) -> bool:
    """Adjacent edges share a vertex; they are invalid only if they fold back
    onto each other (a spike), which shows as the far end of one lying on the other."""
    if wraps:
        ea, eb = eb, ea
    # ea ends where eb starts.
    return foot(ea, eb.lon2, eb.lat2)[1] <= TOUCH_TOLERANCE_M or foot(eb, ea.lon1, ea.lat1)[1] <= TOUCH_TOLERANCE_M


#: A lower bound above this proves two pieces farther apart than the touch
#: tolerance (the micrometre covers the solver's rounding in the bound).
_CLEAR_M = TOUCH_TOLERANCE_M + 1e-6


def _pairs_clear(pairs: list[tuple[Edge, Edge, bool, bool]]) -> list[bool]:
    """For each (e, f, consecutive, adjacent): True when the pair is certainly
    clear of the touch tolerance, by lower bounds from the triangle inequality
    (the exact tests never find less than a lower bound, so a cleared pair is
    one they would clear too).

    * Adjacent edges (e ending where f starts, or the ring's last and first
      edge, ``consecutive`` False): the foot distances of each one's far end
      on the other are at least (d(far ends) + |one| - |other|) / 2.
    * Other edges AB and CD: for X on AB and Y on CD,
      2 d(X, Y) >= max(d(A,C) + d(B,D), d(A,D) + d(B,C)) - |AB| - |CD|.
    """
    lon1: list[float] = []
    lat1: list[float] = []
    lon2: list[float] = []
    lat2: list[float] = []
    for e, f, consecutive, adjacent in pairs:
        if adjacent:
            first, second = (e, f) if consecutive else (f, e)
            lon1.append(first.lon1)
            lat1.append(first.lat1)
            lon2.append(second.lon2)
            lat2.append(second.lat2)
        else:
            lon1 += (e.lon1, e.lon1, e.lon2, e.lon2)
            lat1 += (e.lat1, e.lat1, e.lat2, e.lat2)
            lon2 += (f.lon1, f.lon2, f.lon1, f.lon2)
            lat2 += (f.lat1, f.lat2, f.lat1, f.lat2)
    if not lon1:
        return []
    _az, _back, dist = GEOD.inv(np.array(lon1), np.array(lat1), np.array(lon2), np.array(lat2))
    d = np.asarray(dist, dtype=np.float64).tolist()
    out: list[bool] = []
    i = 0
    for e, f, _consecutive, adjacent in pairs:
        if adjacent:
            far = d[i]
            i += 1
            out.append(min(far + f.length - e.length, far + e.length - f.length) / 2.0 > _CLEAR_M)
        else:
            ac, ad, bc, bd = d[i : i + 4]
            i += 4
            out.append((max(ac + bd, ad + bc) - e.length - f.length) / 2.0 > _CLEAR_M)
    return out


def _ring_contains(ring: Ring, lon: float, lat: float,
                   many: tuple[winding.Vertices, FloatArray] | None = None) -> tuple[bool, bool]:
    """(inside, on the boundary) by the winding of the azimuths from the point.

    Each edge, seen from the point, sweeps an angle of less than 180 degrees
    (edges are short and shapes small against a hemisphere), so the sweep is
    the folded difference of the azimuths to its ends."""
    if many is not None:
        # The same decision with geodesics solved only near the point, or None
        # (geo/winding.py proves it); this took 9 ms at 4,000 vertices.
        fast = winding.ring_contains(many[0], lon, lat,
                                     lambda idx: inv_from(lon, lat, ring.lons[idx], ring.lats[idx]))
        if fast is not None:
            return fast
    az, d = inv_from(lon, lat, ring.lons, ring.lats)
    if bool((d <= 0.0).any()):
        return False, True
    # Fix (tests/geo/test_shape.py): the azimuth winding only says whether the
    # ring separates the point from its antipode, so on its own it put points
    # near the antipode of a polygon inside it, and found the north pole inside
    # a ring around the south pole (whose box then left out the south pole).
    # Every vertex lies within MAX_SPAN_M of the first (a cap narrower than a
    # hemisphere), so the polygon lies in that cap: a point farther than twice
    # that is outside, and for any nearer point the antipode is outside, so the
    # winding below answers. (Holes are only asked about points inside the
    # exterior, which keeps their antipodes out of the holes as well.)
    if float(d[0]) > 2.0 * MAX_SPAN_M:
        return False, False
    steps = (np.diff(az) + 180.0) % 360.0 - 180.0
    if bool((np.abs(np.abs(steps) - 180.0) < 1e-9).any()):
        return False, True
    total = float(steps.sum())
    return abs(total) > 180.0, False


def _encircled_pole(ring: Ring) -> int:
    """+1/-1 if the exterior ring goes round the north/south pole, else 0."""
    b = ring.bounds
    if b.max_abs_lat < 89.0 and b.lon_hi - b.lon_lo < 180.0:
        # Seen from a pole, azimuths follow longitudes: a ring whose samples
        # span under 180 degrees of longitude, more than a degree from either
        # pole, sweeps a net azimuth of zero and has no vertex or edge on the
        # pole, so _ring_contains would answer (False, False) for both.
        return 0
    for pole_lat in (90.0, -90.0):
        inside, on_edge = _ring_contains(ring, 0.0, pole_lat)
        if inside or on_edge:
            return 1 if pole_lat > 0 else -1
    return 0
