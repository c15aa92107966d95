"""An independent, brute-force geodesic reference for the engine's geometry.

This module deliberately imports nothing from ``deconflict.geo`` (nor from the
engine): it uses pyproj's ``Geod`` (GeographicLib) directly, numpy and shapely.
The tests compare the engine's decisions with the decisions made here.

Method
------
* **Densify.** Every geodesic edge (a point is an edge of length 0) is cut into
  pieces; the pieces' ends are points *on* the edge, computed with
  ``Geod.fwd`` from the edge's start along its initial azimuth.
* **Distance intervals, all pairs.** For every pair of pieces (one from each
  shape) the four end-to-end distances are computed in one vectorised
  ``Geod.inv``. Their minimum over all pairs is an upper bound ``hi`` on the
  distance (it is the distance between two points of the shapes). Every point
  of a piece of length ``l`` is within ``l / 2`` of one of its ends (measured
  along the geodesic, so also in distance), hence a pair of pieces of lengths
  ``la``, ``lb`` is no closer than ``mean(corners) - (la + lb) / 2`` (by the
  triangle inequality, see ``boundary_distance``): a rigorous lower bound.
  Pairs whose lower bound exceeds the best upper bound (or a cap
  the caller does not care beyond) are dropped; the others are halved and
  compared again, until the pieces are no longer than ``h`` (the sample
  spacing). This is brute-force densification with spacing ``h``, only done
  where it can matter.
* **Error bound.** With sample spacing ``h`` along each edge the reference
  distance ``hi`` is within ``h / 2`` of the truth for a point and an edge, and
  within ``h`` for two edges; it never underestimates (``lo <= truth <= hi``).
  The functions return the interval ``(lo, hi)`` itself, so callers use the
  bound that was actually achieved (it is wider only when a work budget stopped
  the refinement, e.g. for long, nearly parallel edges).
* **Point in polygon.** The densified rings are projected into the azimuthal
  equidistant projection centred on the point (x = d sin(az), y = d cos(az)
  from ``Geod.inv``: that is the projection's definition, so geodesics through
  the point are straight rays) and shapely decides whether the origin is
  inside each ring (GEOS's ray-crossing count). The answer is exact whenever
  the point is not on the boundary: each sub-arc, seen from the point, sweeps
  the same angle (less than 180 degrees) as its chord, so the chord ring winds
  round the origin exactly as the geodesic ring does. The reference reports
  "unsure" (``None``) when the point is within ``CONTAIN_MARGIN_M`` of the
  boundary. A polygon is the smaller of the two parts its exterior ring makes;
  since every vertex lies within ``SPAN_M`` of the first, the polygon lies in
  that cap, and a point farther than ``2 * SPAN_M`` from the first vertex is
  outside (this is also what keeps the point's antipode out of the polygon).
* **Side of a polyline.** Judged against the nearest part of the line, beyond
  its ends against the end edges continued as geodesics (DESIGN.md). The line
  is densified (spacing ``h``); every sample within ``h`` of the nearest one
  that may be next to the true nearest point votes: a vertex by the sector
  between its incoming and outgoing edges, an end vertex by its edge's
  tangent, an interior sample by the sign of the azimuth difference to its
  tangent if the direction to the point is nearly square to the edge there
  (within ``h / d``, as it is within ``h / 2`` of an interior foot). The side
  is sure only when all votes agree (and the point is not on the line).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
FloatArray = npt.NDArray[np.float64]

#: Default sample spacing the refinement goes down to (metres).
H_M = 0.02
#: Pieces at the start of the refinement are no longer than this.
START_PIECE_M = 50_000.0
#: The refinement stops (leaving a wider but still rigorous interval) past this
#: many piece pairs in one round, or in all rounds together.
PAIR_BUDGET = 12_000
TOTAL_PAIR_BUDGET = 80_000
#: Distances from pyproj are exact to nanometres; this covers their rounding.
INV_EPS_M = 1e-6
#: Containment is "unsure" within this distance of a ring.
CONTAIN_MARGIN_M = 0.05
#: Spacing used to densify rings for point-in-polygon (the answer does not
#: depend on it, see above; it only keeps sub-arcs short).
RING_SPACING_M = 20_000.0
#: Shapes are no wider than this from their first vertex (the engine's limit).
SPAN_M = 5_000_000.0
#: Smallest error bound the reference declares (covers pyproj and the engine's
#: documented 1 mm distance resolution).
MIN_ERR_M = 0.005

Position = tuple[float, float]


# -- shapes ---------------------------------------------------------------------
@dataclass(frozen=True)
class RefShape:
    """``kind`` is "point", "line" or "polygon"; ``rings`` holds the vertex
    lists (one for a point or a line; exterior then holes for a polygon, each
    closed: first == last)."""

    kind: str
    rings: tuple[tuple[Position, ...], ...]
    _edges: tuple[FloatArray, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def point(cls, lon: float, lat: float) -> RefShape:
        return cls("point", (((float(lon), float(lat)),),))

    @classmethod
    def line(cls, coords: Sequence[Position]) -> RefShape:
        return cls("line", (tuple((float(x), float(y)) for x, y in coords),))

    @classmethod
    def polygon(cls, rings: Sequence[Sequence[Position]]) -> RefShape:
        out = []
        for r in rings:
            ring = tuple((float(x), float(y)) for x, y in r)
            if ring[0] != ring[-1]:
                ring = (*ring, ring[0])
            out.append(ring)
        return cls("polygon", tuple(out))

    @classmethod
    def of(cls, geometry: object) -> RefShape:
        """From a ``deconflict.model`` geometry (duck-typed: no geo import)."""
        kind = type(geometry).__name__
        if kind == "Point":
            return cls.point(geometry.lon, geometry.lat)  # type: ignore[attr-defined]
        if kind == "LineString":
            return cls.line(geometry.coords)  # type: ignore[attr-defined]
        if kind == "Polygon":
            return cls.polygon(geometry.rings)  # type: ignore[attr-defined]
        raise TypeError(kind)

    def vertices(self) -> list[Position]:
        out: list[Position] = []
        for r in self.rings:
            out.extend(r[:-1] if self.kind == "polygon" else r)
        return out

    def edges(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(lon1, lat1, az1, length) of every edge; a point is one edge of length 0."""
        if not self._edges:
            lon1: list[float] = []
            lat1: list[float] = []
            lon2: list[float] = []
            lat2: list[float] = []
            for r in self.rings:
                if len(r) == 1:
                    lon1.append(r[0][0])
                    lat1.append(r[0][1])
                    lon2.append(r[0][0])
                    lat2.append(r[0][1])
                for a, b in itertools.pairwise(r):
                    lon1.append(a[0])
                    lat1.append(a[1])
                    lon2.append(b[0])
                    lat2.append(b[1])
            az, _back, dist = GEOD.inv(lon1, lat1, lon2, lat2)
            arrays = (np.array(lon1), np.array(lat1), np.asarray(az, float), np.asarray(dist, float))
            object.__setattr__(self, "_edges", arrays)
        e = self._edges
        return e[0], e[1], e[2], e[3]


def _at(
    edges: tuple[FloatArray, FloatArray, FloatArray, FloatArray], e: npt.NDArray[np.int64], s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Positions at distance ``s`` along edges ``e``."""
    lon1, lat1, az1, _len = edges
    if e.size == 0:
        return np.empty(0), np.empty(0)
    lon, lat, _ = GEOD.fwd(lon1[e], lat1[e], az1[e], s)
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    # fwd at distance 0 gives the start back; keep it bit-exact for points
    zero = s == 0.0
    lon[zero] = lon1[e][zero]
    lat[zero] = lat1[e][zero]
    return lon, lat


@dataclass
class _Pieces:
    e: npt.NDArray[np.int64]
    s0: FloatArray
    s1: FloatArray

    @classmethod
    def start(cls, shape: RefShape, piece_m: float) -> _Pieces:
        _l1, _l2, _az, length = shape.edges()
        es, s0s, s1s = [], [], []
        for i, ln in enumerate(length.tolist()):
            n = max(1, math.ceil(ln / piece_m))
            cuts = np.linspace(0.0, ln, n + 1)
            es.append(np.full(n, i))
            s0s.append(cuts[:-1])
            s1s.append(cuts[1:])
        return cls(np.concatenate(es).astype(np.int64), np.concatenate(s0s), np.concatenate(s1s))


@dataclass(frozen=True)
class Interval:
    """The true distance lies in ``[lo, hi]``; ``lo`` may be ``> cap`` only
    as far as the caller asked (``hi`` is then ``inf`` or a true distance)."""

    lo: float
    hi: float

    @property
    def err(self) -> float:
        """The reference's error bound for this distance."""
        return max(self.hi - self.lo, MIN_ERR_M) if math.isfinite(self.hi) else math.inf

    def surely_at_most(self, threshold: float) -> bool:
        """Sure that the truth is within ``threshold`` (the brief's rule:
        reference distance <= threshold - error bound)."""
        return self.hi <= threshold - self.err

    def surely_beyond(self, threshold: float, slack: float = 0.0) -> bool:
        """Sure that the truth exceeds ``threshold + slack`` (reference
        distance > threshold + error bound + slack)."""
        return self.lo > threshold + slack


def _start_piece(shape: RefShape) -> float:
    """Start with about 48 pieces a shape (long shapes get long pieces)."""
    return max(START_PIECE_M, float(shape.edges()[3].sum()) / 48.0)


def boundary_distance(a: RefShape, b: RefShape, cap: float = math.inf, h: float = H_M) -> Interval:
    """Distance between the boundaries (edges) of ``a`` and ``b``, as an interval.

    Pieces are refined until no longer than ``h`` near the minimum; pairs that
    cannot come within ``cap`` are dropped, so beyond ``cap`` only ``lo > cap``
    is promised."""
    ea, eb = a.edges(), b.edges()
    pa, pb = _Pieces.start(a, _start_piece(a)), _Pieces.start(b, _start_piece(b))
    ia = np.repeat(np.arange(pa.e.size), pb.e.size)
    ib = np.tile(np.arange(pb.e.size), pa.e.size)
    e_a, a0, a1 = pa.e[ia], pa.s0[ia], pa.s1[ia]
    e_b, b0, b1 = pb.e[ib], pb.s0[ib], pb.s1[ib]
    best = math.inf
    dropped_lo = math.inf  # least lower bound among pairs dropped for the cap only
    lower = np.empty(0)
    evaluated = 0
    while True:
        alon0, alat0 = _at(ea, e_a, a0)
        alon1, alat1 = _at(ea, e_a, a1)
        blon0, blat0 = _at(eb, e_b, b0)
        blon1, blat1 = _at(eb, e_b, b1)
        n = e_a.size
        evaluated += n
        d = np.asarray(
            GEOD.inv(
                np.concatenate((alon0, alon0, alon1, alon1)),
                np.concatenate((alat0, alat0, alat1, alat1)),
                np.concatenate((blon0, blon1, blon0, blon1)),
                np.concatenate((blat0, blat1, blat0, blat1)),
            )[2],
            float,
        ).reshape(4, n)
        best = min(best, float(d.min()))
        la, lb = a1 - a0, b1 - b0
        # X on piece a, Y on piece b: d(X, Y) >= (d(a0, Y) + d(a1, Y) - la) / 2
        # (as d(a0, X) + d(X, a1) = la), and the same for Y: so d(X, Y) is at
        # least the mean of the four corner distances less (la + lb) / 2.
        lower = np.maximum(0.0, d.mean(axis=0) - (la + lb) / 2.0 - INV_EPS_M)
        keep = lower <= best
        capped = keep & (lower > cap)
        if capped.any():
            dropped_lo = min(dropped_lo, float(lower[capped].min()))
        keep &= lower <= cap
        e_a, a0, a1, e_b, b0, b1, lower = (x[keep] for x in (e_a, a0, a1, e_b, b0, b1, lower))
        la, lb = la[keep], lb[keep]
        split_a = la > h
        split_b = lb > h
        if (
            not (split_a.any() or split_b.any())
            or 4 * e_a.size > PAIR_BUDGET
            or evaluated > TOTAL_PAIR_BUDGET
        ):
            break
        # Halve every piece longer than h: a pair becomes 1, 2 or 4 pairs.
        am = np.where(split_a, (a0 + a1) / 2.0, a1)
        bm = np.where(split_b, (b0 + b1) / 2.0, b1)
        parts = [(a0, am, b0, bm, np.ones_like(split_a))]
        parts.append((am, a1, b0, bm, split_a))
        parts.append((a0, am, bm, b1, split_b))
        parts.append((am, a1, bm, b1, split_a & split_b))
        e_a = np.concatenate([e_a[m] for *_x, m in parts])
        e_b = np.concatenate([e_b[m] for *_x, m in parts])
        a0 = np.concatenate([p[0][p[4]] for p in parts])
        a1 = np.concatenate([p[1][p[4]] for p in parts])
        b0 = np.concatenate([p[2][p[4]] for p in parts])
        b1 = np.concatenate([p[3][p[4]] for p in parts])
    # The minimum lies in a kept pair or (if beyond the cap) in a capped one;
    # pairs dropped because their lower bound exceeded ``best`` cannot hold it.
    lo = min(float(lower.min()) if lower.size else math.inf, dropped_lo, best)
    return Interval(max(0.0, lo), best)


def point_distance(shape: RefShape, lon: float, lat: float, cap: float = math.inf, h: float = H_M) -> Interval:
    """Distance from a point to ``shape`` (0 inside a polygon)."""
    return distance(shape, RefShape.point(lon, lat), cap, h)


def distance(a: RefShape, b: RefShape, cap: float = math.inf, h: float = H_M) -> Interval:
    """Distance between two shapes, polygons being areas (holes excluded)."""
    iv = boundary_distance(a, b, cap, h)
    if iv.hi == 0.0:
        return iv
    lo = iv.lo
    for poly, other in ((a, b), (b, a)):
        if poly.kind != "polygon":
            continue
        for lon, lat in other.vertices():
            inside = contains(poly, lon, lat)
            if inside:
                return Interval(0.0, 0.0)
            if inside is None:
                lo = 0.0
    return Interval(lo, iv.hi)


# -- containment ------------------------------------------------------------------
def _densified_ring(ring: Sequence[Position], spacing: float) -> tuple[FloatArray, FloatArray]:
    shape = RefShape.line(ring)
    edges = shape.edges()
    pieces = _Pieces.start(shape, spacing)
    lon, lat = _at(edges, pieces.e, pieces.s0)
    return np.append(lon, ring[-1][0]), np.append(lat, ring[-1][1])


def contains(poly: RefShape, lon: float, lat: float) -> bool | None:
    """Is the point in the polygon (holes excluded)? ``None`` when it lies
    within ``CONTAIN_MARGIN_M`` of the boundary (unsure)."""
    assert poly.kind == "polygon"
    v0 = poly.rings[0][0]
    if float(GEOD.inv(v0[0], v0[1], lon, lat)[2]) > 2 * SPAN_M:
        return False
    near = boundary_distance(poly, RefShape.point(lon, lat), cap=CONTAIN_MARGIN_M * 2)
    if near.lo <= CONTAIN_MARGIN_M:
        return None
    origin = shapely.Point(0.0, 0.0)
    inside = []
    for ring in poly.rings:
        rlon, rlat = _densified_ring(ring, RING_SPACING_M)
        az, _back, d = GEOD.inv(np.full(rlon.size, lon), np.full(rlat.size, lat), rlon, rlat)
        az_r = np.radians(np.asarray(az, float))
        d = np.asarray(d, float)
        xy = np.column_stack((d * np.sin(az_r), d * np.cos(az_r)))
        chords = shapely.LinearRing(xy)
        if chords.distance(origin) <= INV_EPS_M:
            return None
        inside.append(bool(shapely.Polygon(xy).contains(origin)))
    return inside[0] and not any(inside[1:])


# -- sides of a polyline --------------------------------------------------------------
LEFT, RIGHT = -1, 1


def _sign_of_turn(tangent: FloatArray, direction: FloatArray) -> npt.NDArray[np.int64]:
    """+1 (right) when ``direction`` is clockwise of ``tangent`` by (0, 180)
    degrees, -1 (left) for (180, 360), 0 on the line."""
    s = np.sin(np.radians(direction - tangent))
    return np.sign(np.where(np.abs(s) < 1e-12, 0.0, s)).astype(np.int64)


@dataclass(frozen=True)
class SideAnswer:
    side: int | None  # LEFT / RIGHT, None when unsure
    dist: Interval
    nearest_is_end: bool  # the nearest sample is an end vertex


def _line_samples(
    line: RefShape, lon: float, lat: float, near_m: float, h: float
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """(edge, distance along it) of samples no more than ``h`` apart on every
    stretch of ``line`` that may come within ``near_m`` of the point, plus every
    vertex. Stretches are first cut into 5 km pieces; a piece whose ends are at
    d0 and d1 from the point stays farther than min(d0, d1) - length / 2."""
    edges = line.edges()
    length = edges[3]
    coarse = _Pieces.start(line, 5_000.0)
    lon0, lat0 = _at(edges, coarse.e, coarse.s0)
    lon1, lat1 = _at(edges, coarse.e, coarse.s1)
    n = coarse.e.size
    d = np.asarray(
        GEOD.inv(np.concatenate((lon0, lon1)), np.concatenate((lat0, lat1)),
                 np.full(2 * n, lon), np.full(2 * n, lat))[2],
        float,
    ).reshape(2, n)
    lower = d.min(axis=0) - (coarse.s1 - coarse.s0) / 2.0 - INV_EPS_M
    es = [np.arange(length.size), np.arange(length.size)]
    ss = [np.zeros(length.size), length.copy()]
    for i in np.flatnonzero(lower <= near_m).tolist():
        s0, s1 = float(coarse.s0[i]), float(coarse.s1[i])
        k = max(1, math.ceil((s1 - s0) / h))
        es.append(np.full(k + 1, coarse.e[i]))
        ss.append(np.linspace(s0, s1, k + 1))
    return np.concatenate(es).astype(np.int64), np.concatenate(ss)


def side_of(line: RefShape, lon: float, lat: float, h: float = 5.0) -> SideAnswer:
    """Side of the point against the nearest part of ``line`` (see the module doc)."""
    assert line.kind == "line"
    edges = line.edges()
    lon1, lat1, az1, length = edges
    last_edge = length.size - 1
    iv = boundary_distance(line, RefShape.point(lon, lat), h=H_M)
    e, s = _line_samples(line, lon, lat, iv.hi + 2 * h, h)
    slon, slat, back = GEOD.fwd(lon1[e], lat1[e], az1[e], s)
    slon = np.asarray(slon, float)
    slat = np.asarray(slat, float)
    tangent = np.asarray(back, float) + 180.0
    tangent[s == 0.0] = az1[e][s == 0.0]
    to_p, _b, dist = GEOD.inv(slon, slat, np.full(slon.size, lon), np.full(slat.size, lat))
    to_p = np.asarray(to_p, float)
    dist = np.asarray(dist, float)
    dmin = float(dist.min())
    nearest = int(np.argmin(dist))
    nearest_is_end = bool(
        (e[nearest] == 0 and s[nearest] == 0.0)
        or (e[nearest] == last_edge and s[nearest] == length[last_edge])
    )
    votes = set()
    for j in np.flatnonzero(dist <= dmin + h).tolist():
        ej, sj = int(e[j]), float(s[j])
        at_start, at_end = sj == 0.0, sj == float(length[ej])
        if (at_start and ej > 0) or (at_end and ej < last_edge):
            # An inner vertex: the sector between the edges that meet there.
            vi = ej if at_start else ej + 1
            forward = float(az1[vi])
            _x, _y, b_in = GEOD.fwd(lon1[vi - 1], lat1[vi - 1], az1[vi - 1], length[vi - 1])
            back_az = float(b_in)  # from the vertex back along the incoming edge
            ccw_p = (forward - float(to_p[j])) % 360.0
            ccw_back = (forward - back_az) % 360.0
            if dist[j] == 0.0 or ccw_p in (0.0, ccw_back):
                votes.add(0)
            else:
                votes.add(LEFT if ccw_p < ccw_back else RIGHT)
        else:
            # An edge's sample (or an end vertex, judged by its edge continued)
            # speaks only if the foot on its edge may lie within h of it: there
            # the direction to the point is within about (h / 2) / d of square
            # to the edge. (An end vertex that is the foot is always heard.)
            angle = math.radians(float(to_p[j] - tangent[j]))
            is_end = (at_start and ej == 0) or (at_end and ej == last_edge)
            if is_end and abs(float(dist[j]) * math.sin(angle)) <= CONTAIN_MARGIN_M:
                # Beyond an end the boundary is the end edge continued: a
                # point (nearly) on the continuation has no sure side.
                votes.add(0)
            elif is_end or abs(math.cos(angle)) <= h / max(dmin, h) + 1e-9:
                votes.add(int(_sign_of_turn(np.array([tangent[j]]), np.array([to_p[j]]))[0]))
    if len(votes) != 1 or 0 in votes or iv.lo <= CONTAIN_MARGIN_M:
        return SideAnswer(None, iv, nearest_is_end)
    return SideAnswer(votes.pop(), iv, nearest_is_end)


def extended_line(line: RefShape, length_m: float) -> RefShape:
    """``line`` with its end edges continued as geodesics by ``length_m``."""
    lon1, lat1, az1, length = line.edges()
    coords = list(line.rings[0])
    blon, blat, _ = GEOD.fwd(coords[0][0], coords[0][1], float(az1[0]) + 180.0, length_m)
    _x, _y, back_end = GEOD.fwd(lon1[-1], lat1[-1], az1[-1], length[-1])
    elon, elat, _ = GEOD.fwd(coords[-1][0], coords[-1][1], float(back_end) + 180.0, length_m)
    return RefShape.line([(float(blon), float(blat)), *coords, (float(elon), float(elat))])


def reach_from_ends(line: RefShape, shape: RefShape) -> float:
    """Farthest any point of ``shape`` can be from either end of ``line``."""
    ends = [line.rings[0][0], line.rings[0][-1]]
    verts = shape.vertices()
    far = 0.0
    for elon, elat in ends:
        d = GEOD.inv(
            np.full(len(verts), elon), np.full(len(verts), elat),
            np.array([v[0] for v in verts]), np.array([v[1] for v in verts]),
        )[2]
        far = max(far, float(np.max(d)))
    longest = float(shape.edges()[3].max())
    return far + longest


# -- altitudes, exactly --------------------------------------------------------------------
#: The international foot (1959): exactly 0.3048 m.
FOOT_M = Fraction(3048, 10_000)


def exact_metres(value: float, unit: str) -> Fraction:
    """An altitude in metres as an exact fraction of the decimal the user wrote
    (the shortest decimal that reads back as ``value``: 4785.36, not the binary
    4785.35999999999967...), feet converted exactly."""
    v = Fraction(Decimal(repr(float(value))))
    return v * FOOT_M if unit == "ft" else v


def exact_gap(a: tuple[Fraction, Fraction], b: tuple[Fraction, Fraction]) -> Fraction:
    """The gap between two closed bands, exactly; zero when they touch."""
    return max(Fraction(0), b[0] - a[1], a[0] - b[1])


# -- small helpers for tests -------------------------------------------------------------
def fwd(lon: float, lat: float, az: float, dist_m: float) -> Position:
    x, y, _ = GEOD.fwd(lon, lat, az, dist_m)
    return float(x), float(y)


def inv(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
    """(azimuth at 1, distance)."""
    az, _b, d = GEOD.inv(lon1, lat1, lon2, lat2)
    return float(az), float(d)


def point_on_edge(a: Position, b: Position, fraction: float) -> Position:
    az, d = inv(a[0], a[1], b[0], b[1])
    return fwd(a[0], a[1], az, d * fraction)
