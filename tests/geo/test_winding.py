"""The winding test without a geodesic per vertex (geo/winding.py) decides as the
exact one does, and as the independent reference does away from the boundary.

Before it, a point's containment in a 4,000-vertex ring solved 4,000
geodesics (9 ms), and a fire on such a polygon with 2,000 sites along its edge
took 15 s (issue 9)."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from deconflict.geo import shape as shape_mod
from deconflict.geo import winding
from deconflict.geo.ellipsoid import DISTANCE_TOLERANCE_M, GEOD
from deconflict.geo.shape import Shape, ShapeTooComplex
from deconflict.model.geometry import Polygon
from tests.geo.strategies import PROPERTY, REGIONS, SCALES, Position, centers
from tests.reference import RefShape, contains, fwd, point_on_edge


def test_the_approximate_azimuths_stay_within_half_their_bound() -> None:
    """Pairs from 1 m to 10,000 km (twice the widest shape), poles included: the
    worst error seen is 0.15 degrees; the bound taken is 1 degree."""
    rng = np.random.default_rng(9)
    worst = 0.0
    for polar in (False, True):
        for _point in range(40):  # one point against many, as the winding test uses it
            n = 20_000
            lon1 = float(rng.uniform(-180.0, 180.0))
            lat1 = (float(rng.uniform(80.0, 90.0) * rng.choice([-1.0, 1.0])) if polar
                    else math.degrees(math.asin(rng.uniform(-1.0, 1.0))))
            az = rng.uniform(-180.0, 180.0, n)
            dist = np.exp(rng.uniform(math.log(1.0), math.log(1.0e7), n))
            lon2, lat2, _ = GEOD.fwd(np.full(n, lon1), np.full(n, lat1), az, dist)
            exact, _back, _d = GEOD.inv(np.full(n, lon1), np.full(n, lat1), lon2, lat2)
            approx, _cos = winding.azimuths(lon1, lat1, winding.vertices(np.asarray(lon2), np.asarray(lat2)))
            err = np.abs((approx - np.asarray(exact) + 180.0) % 360.0 - 180.0)
            worst = max(worst, float(err.max()))
    assert worst < winding.AZIMUTH_ERROR_DEG / 2, worst


@st.composite
def many_vertex_polygons(draw: st.DrawFn) -> tuple[list[Position], Position]:
    """A star-shaped ring of 32 to 400 vertices (simple by construction), with
    its centre. Radii wobble, so edges are seen end on from many places."""
    region = draw(st.sampled_from(REGIONS))
    center = draw(centers(region))
    scale = draw(st.sampled_from(sorted(SCALES)))
    lo, hi = SCALES[scale]
    r_max = draw(st.floats(max(lo, 20.0), min(hi, 1_900_000.0)))
    k = draw(st.integers(32, 400))
    start = draw(st.floats(-180.0, 180.0))
    wobble = draw(st.floats(0.0, 0.5))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    radii = r_max * (1.0 - wobble * rng.random(k))
    ring = [fwd(center[0], center[1], start + 360.0 * i / k, float(r)) for i, r in enumerate(radii)]
    return [*ring, ring[0]], center


def _probe_points(ring: list[Position], center: Position, pick: list[float]) -> list[Position]:
    """Vertices, points on edges, points a little off edges, the centre, far points."""
    pts: list[Position] = [center]
    n = len(ring) - 1
    for x in pick:
        i = int(x * n) % n
        a, b = ring[i], ring[i + 1]
        pts.append(a)
        on = point_on_edge(a, b, (x * 7.0) % 1.0)
        pts.append(on)
        for d in (0.001, 0.5, 20.0, 3_000.0):
            pts.append(fwd(on[0], on[1], (x * 1000.0) % 360.0, d))
    pts.append(fwd(center[0], center[1], pick[0] * 360.0, 9_000_000.0))
    return pts


def _exact(s: Shape, lon: float, lat: float) -> tuple[bool, float]:
    """Containment and distance with every vertex solved (the path before); ``s``
    must not have been asked with the fast path (its vertices' cache stays unused)."""
    with mock.patch.object(shape_mod, "MANY_VERTICES", 10**9):
        return s.contains(lon, lat), s.point_distance(lon, lat)


@PROPERTY(40)
@given(many_vertex_polygons(), st.lists(st.floats(0.0, 1.0), min_size=2, max_size=4))
def test_containment_and_distance_are_those_of_the_exact_path(poly_center: tuple[list[Position], Position],
                                                              pick: list[float]) -> None:
    ring, center = poly_center
    poly = Polygon((tuple(ring),))
    try:
        fast = Shape.of(poly)
    except ShapeTooComplex:  # many short edges near a pole: refused, not asked about
        assume(False)
        return
    ref = RefShape.polygon([ring])
    slow = Shape.of(poly)
    for lon, lat in _probe_points(ring, center, pick):
        inside = fast.contains(lon, lat)
        exact_inside, exact_d = _exact(slow, lon, lat)
        assert inside == exact_inside, (lon, lat)
        got = fast.point_distance(lon, lat)
        assert abs(got - exact_d) <= DISTANCE_TOLERANCE_M or got == exact_d, (lon, lat, got, exact_d)
        truth = contains(ref, lon, lat)  # None within its margin of the boundary
        if truth is not None:
            assert inside == truth, (lon, lat)


def test_a_point_on_a_long_ring_s_boundary_solves_few_geodesics() -> None:
    """The sites along a 4,000-vertex fire of bench/lock_hold.py: on the ring,
    so near the boundary, where only a few vertices need solving."""
    n = 4000
    ring = [fwd(40.0, 35.6, 360.0 * i / n, 5_000.0 * (1 + 0.05 * math.sin(37 * 2 * math.pi * i / n)))
            for i in range(n)]
    ring.append(ring[0])
    fast = Shape.of(Polygon((tuple(ring),)))
    solved: list[int] = []
    real_inv_from = shape_mod.inv_from

    def counting(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        solved.append(int(lons.shape[0]))
        return real_inv_from(lon, lat, lons, lats)

    slow = Shape.of(Polygon((tuple(ring),)))
    for i in range(0, n, 97):
        on = point_on_edge(ring[i], ring[i + 1], 0.5)  # on it, give or take the rounding
        with mock.patch.object(shape_mod, "inv_from", counting):
            got = fast.contains(*on)
        assert got == _exact(slow, *on)[0]
    # Those within 100 m (edges are 8 m here) and the ends of steps near 180 degrees: not 4,000.
    assert solved and max(solved) <= 64, solved
