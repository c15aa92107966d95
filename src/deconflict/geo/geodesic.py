"""Geodesic primitives: edges, foot points, orientation and crossings.

Why these are exact (docs/geometry.md has the longer argument):

* ``foot``: the distance from a point to the points of a geodesic edge is
  1-Lipschitz along the edge and, at distances below about 11,000 km, has a
  single local minimum (every critical point there is a strict minimum, by the
  second variation of length with the ellipsoid's Gaussian curvature K > 0).
  So the sign of its derivative brackets the minimum and a safeguarded secant
  search finds it to ``DISTANCE_TOLERANCE_M``.
* ``edge_distance``: on a surface with K > 0 two geodesic edges that do not
  cross have their minimum distance at an endpoint of one of them (an
  interior-interior critical point has negative second variation under a
  parallel translation), so the distance is the least of four foot distances.
* ``orientation``: two geodesics from one point meet again only near its
  antipode, so the side of a point relative to a geodesic line is the sign of
  the azimuth difference at the line's start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deconflict.geo.ellipsoid import DISTANCE_TOLERANCE_M, GEOD

_MAX_FOOT_ITERATIONS = 200


def inverse(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
    """Forward azimuth (degrees) and distance (metres) from point 1 to point 2."""
    az12, _az21, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return float(az12), float(dist)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def normalize_angle(deg: float) -> float:
    """An angle in degrees folded into (-180, 180]."""
    a = math.fmod(deg, 360.0)
    if a <= -180.0:
        a += 360.0
    elif a > 180.0:
        a -= 360.0
    return a


@dataclass(frozen=True, slots=True)
class Edge:
    """A geodesic edge from (lon1, lat1) to (lon2, lat2)."""

    lon1: float
    lat1: float
    lon2: float
    lat2: float
    az1: float
    length: float

    @classmethod
    def between(cls, lon1: float, lat1: float, lon2: float, lat2: float) -> Edge:
        az, length = inverse(lon1, lat1, lon2, lat2)
        return cls(lon1, lat1, lon2, lat2, az, length)

    def at(self, s: float) -> tuple[float, float, float]:
        """Position and forward azimuth at distance ``s`` from the start."""
        if s <= 0.0:
            return self.lon1, self.lat1, self.az1
        lon, lat, back = GEOD.fwd(self.lon1, self.lat1, self.az1, s)
        return float(lon), float(lat), normalize_angle(float(back) + 180.0)


def _ahead(edge: Edge, s: float, lon: float, lat: float) -> tuple[float, float]:
    """(g, d): g = cos of the angle at X(s) between the edge's direction and the
    direction to the point (minus the derivative of the distance along the
    edge); d = the distance from X(s) to the point."""
    # Edge.at and inverse written out (the same calls and arithmetic, so the
    # same values): this is the foot search's inner step.
    if s <= 0.0:
        x, y, az = edge.lon1, edge.lat1, edge.az1
    else:
        x, y, back = GEOD.fwd(edge.lon1, edge.lat1, edge.az1, s)
        az = normalize_angle(float(back) + 180.0)
    az_xp, _az21, d = GEOD.inv(float(x), float(y), lon, lat)
    if d == 0.0:
        return 0.0, 0.0
    return math.cos(math.radians(float(az_xp) - az)), float(d)


#: A lower bound above ``limit`` by more than this proves the foot distance is
#: too (the micrometre covers the solver's rounding of the distances in the bound).
_BOUND_SLACK_M = 1e-6


def foot(edge: Edge, lon: float, lat: float, limit: float = math.inf) -> tuple[float, float]:
    """Nearest point of ``edge`` to (lon, lat): (distance along the edge, distance).

    With a finite ``limit``, a distance that is certainly above it may be
    answered as ``(best so far, inf)`` as soon as that is proven; a distance at
    most ``limit`` is always found exactly as without one (the same search)."""
    if edge.length == 0.0:
        return 0.0, distance(edge.lon1, edge.lat1, lon, lat)
    g0, d0 = _ahead(edge, 0.0, lon, lat)
    if g0 <= 0.0:
        return 0.0, d0
    g1, d1 = _ahead(edge, edge.length, lon, lat)
    if g1 >= 0.0:
        return edge.length, d1
    # Bracket [a, b] with g(a) > 0 > g(b); regula falsi with the Illinois fix,
    # falling back to bisection when a step does not shrink the bracket enough.
    best_s, best_d = (0.0, d0) if d0 <= d1 else (edge.length, d1)
    return search(edge, lon, lat, limit, (0.0, edge.length, g0, g1, d0, d1, best_s, best_d, 0),
                  _MAX_FOOT_ITERATIONS)


#: The state of a foot search: the bracket (a, b), g and the distance at its
#: ends, the nearest point seen (s, d), and which end moved last (+1 a, -1 b, 0 none).
SearchState = tuple[float, float, float, float, float, float, float, float, int]


def search(edge: Edge, lon: float, lat: float, limit: float, state: SearchState,
           iterations: int) -> tuple[float, float]:
    """The bracketed search of :func:`foot` from ``state``, for at most
    ``iterations`` more steps (geo/batch.py hands over its last few problems so)."""
    a, b, ga, gb, da, db, best_s, best_d, side = state
    for _ in range(iterations):
        if b - a <= DISTANCE_TOLERANCE_M:
            break
        # Every later evaluation lies inside [a, b], where the distance is at
        # least this (it is 1-Lipschitz along the edge), so once it and every
        # distance seen so far are above the limit, so is the answer.
        if best_d > limit and (da + db - (b - a)) / 2.0 > limit + _BOUND_SLACK_M:
            return best_s, math.inf
        s = (a * gb - b * ga) / (gb - ga)
        if not (a < s < b) or min(s - a, b - s) < 1e-3 * (b - a):
            s = 0.5 * (a + b)
        g, d = _ahead(edge, s, lon, lat)
        if d < best_d:
            best_s, best_d = s, d
        if d == 0.0:
            return s, 0.0
        if g > 0.0:
            a, ga, da = s, g, d
            if side == 1:
                gb *= 0.5
            side = 1
        else:
            b, gb, db = s, g, d
            if side == -1:
                ga *= 0.5
            side = -1
    # The bracket's ends need no second look: each was evaluated when it was set
    # (the initial ones as d0 and d1) and already weighed against best_d, and the
    # solver gives the same distance for the same point, so a re-evaluation
    # (which this did) never found anything nearer.
    return best_s, best_d


def orientation(edge: Edge, lon: float, lat: float) -> int:
    """+1 if the point is right of the geodesic line through ``edge`` (looking
    along it), -1 if left, 0 if on it."""
    az, d = inverse(edge.lon1, edge.lat1, lon, lat)
    if d == 0.0:
        return 0
    diff = normalize_angle(az - edge.az1)
    if diff in (0.0, 180.0):
        return 0
    return 1 if diff > 0.0 else -1


def edges_cross(e: Edge, f: Edge) -> bool:
    """True when the two edges cross properly (each separates the other's ends).

    Touching (an end on the other edge) is left to the distance test, which
    reports it as a distance of zero."""
    o1 = orientation(e, f.lon1, f.lat1)
    o2 = orientation(e, f.lon2, f.lat2)
    if o1 * o2 >= 0:
        return False
    o3 = orientation(f, e.lon1, e.lat1)
    o4 = orientation(f, e.lon2, e.lat2)
    return o3 * o4 < 0


def edge_distance(e: Edge, f: Edge, limit: float = math.inf) -> float:
    """Minimum distance between two geodesic edges; with a finite ``limit``,
    one certainly above it may be answered as ``inf`` (see :func:`foot`)."""
    if edges_cross(e, f):
        return 0.0
    return min(
        foot(e, f.lon1, f.lat1, limit)[1],
        foot(e, f.lon2, f.lat2, limit)[1],
        foot(f, e.lon1, e.lat1, limit)[1],
        foot(f, e.lon2, e.lat2, limit)[1],
    )
