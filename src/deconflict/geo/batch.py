"""The exact geodesic distances of :mod:`deconflict.geo.geodesic` on arrays.

:func:`feet` is :func:`deconflict.geo.geodesic.foot` for many (edge, point)
problems at once: the same bracket, the same regula falsi with the Illinois
fix and the same fallback to bisection, element by element, every problem
still open advanced together (one array ``GEOD.fwd`` and one ``GEOD.inv`` per
step) and the finished ones masked out. pyproj's array path makes the same
geodesic calls on the same doubles as its scalar path, and the arithmetic
around them is the same IEEE operations in the same order, so each element's
search visits the same points and answers the same distance as the scalar
search (tests/geo/test_batch.py compares them).

:func:`distances_within` is :meth:`Shape.distance_within` of one shape against
many: every candidate's edges flattened into one array with owner offsets,
conservative lower bounds (chords in space, then the triangle inequality on the
ends' geodesic distances) ruling edge pairs out on arrays, then the crossing
tests and the foot searches of all that remain, in one call each. Its Python
work grows with the number of solver steps, not with the number of candidates
or edges. docs/geometry.md ("Vectorised exact distances") has the argument
that it answers what the scalar comparison answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from deconflict.geo import geodesic
from deconflict.geo.chord import PRUNE_SLACK_M, segment_closest
from deconflict.geo.ellipsoid import DISTANCE_TOLERANCE_M, GEOD
from deconflict.geo.geodesic import Edge
from deconflict.geo.shape import Shape, ShapeType

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

_MAX_FOOT_ITERATIONS: Final = 200
#: As in geodesic.foot: a lower bound above the limit by this proves the distance is.
_BOUND_SLACK_M: Final = 1e-6
#: An upper bound of the distance taken as the search's limit is raised by this:
#: it comes from the ends' distances, which the searches reproduce to within the
#: solver's rounding (nanometres), so the nearest foot is never cut short.
_LIMIT_SLACK_M: Final = 1e-3
#: Edge pairs whose lower bound is at most this are given the crossing test:
#: two edges that cross are at distance 0, which their bound never exceeds by
#: more than the solver's rounding.
_CROSS_BOUND_M: Final = 1.0


def _f64(x: object) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _normalize(deg: FloatArray) -> FloatArray:
    """geodesic.normalize_angle, element by element (fmod is exact)."""
    a = np.fmod(deg, 360.0)
    a = np.where(a <= -180.0, a + 360.0, a)
    return np.where(a > 180.0, a - 360.0, a)


def _fwd_public(lon: FloatArray, lat: FloatArray, az: FloatArray, dist: FloatArray
                ) -> tuple[FloatArray, FloatArray, FloatArray]:
    x, y, back = GEOD.fwd(_f64(lon), _f64(lat), _f64(az), _f64(dist), return_back_azimuth=True)
    return _f64(x), _f64(y), _f64(back)


def _inv_public(lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
                ) -> tuple[FloatArray, FloatArray]:
    az, _back, d = GEOD.inv(_f64(lon1), _f64(lat1), _f64(lon2), _f64(lat2), return_back_azimuth=True)
    return _f64(az), _f64(d)


def _fwd_private(lon: FloatArray, lat: FloatArray, az: FloatArray, dist: FloatArray
                 ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``GEOD.fwd`` on float64 arrays: pyproj's own array routine (``_fwd``, what
    ``Geod.fwd`` calls after copying its inputs into buffers) on fresh copies,
    without the wrapper's conversions (a third of a step's cost for a few points)."""
    x, y, z = np.array(lon, dtype=np.float64), np.array(lat, dtype=np.float64), np.array(az, dtype=np.float64)
    GEOD._fwd(x, y, z, np.array(dist, dtype=np.float64), radians=False, return_back_azimuth=True)
    return x, y, z


def _inv_private(lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
                 ) -> tuple[FloatArray, FloatArray]:
    """``GEOD.inv`` on float64 arrays (as :func:`_fwd_private`): forward azimuths and distances."""
    x, y, z, w = (np.array(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    GEOD._inv(x, y, z, w, radians=False, return_back_azimuth=True)
    return x, z  # pyproj writes the azimuths over the first point, the distance over lon2


def _private_agrees() -> bool:
    """Whether pyproj's private array routines answer exactly as its public ones
    on a few fixed cases. They are not part of pyproj's API: a release that
    changes them (what they write where) must cost speed, never a wrong
    distance, so the public ones are used unless these agree bit for bit."""
    lon1, lat1 = np.array([10.0, -179.5, 0.0, 45.0]), np.array([20.0, -60.0, 0.0, 89.9])
    lon2, lat2 = np.array([10.3, 179.8, 0.001, -135.0]), np.array([20.1, -60.2, 0.0, 89.8])
    az, s = np.array([33.0, -120.0, 90.0, 179.0]), np.array([1234.5, 98765.4, 0.5, 20000.0])
    try:
        return (all(np.array_equal(a, b) for a, b in zip(_inv_private(lon1, lat1, lon2, lat2),
                                                           _inv_public(lon1, lat1, lon2, lat2), strict=True))
                and all(np.array_equal(a, b) for a, b in zip(_fwd_private(lon1, lat1, az, s),
                                                              _fwd_public(lon1, lat1, az, s), strict=True)))
    except (AttributeError, TypeError, ValueError):
        return False


PRIVATE_ROUTINES = _private_agrees()
_fwd = _fwd_private if PRIVATE_ROUTINES else _fwd_public
_inv = _inv_private if PRIVATE_ROUTINES else _inv_public


def _ahead(lon1: FloatArray, lat1: FloatArray, az1: FloatArray, s: FloatArray,
           plon: FloatArray, plat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """geodesic._ahead for s > 0, element by element: (g, d)."""
    x, y, back = _fwd(lon1, lat1, az1, s)
    az = _normalize(back + 180.0)
    az_xp, d = _inv(x, y, plon, plat)
    g = np.where(d == 0.0, 0.0, np.cos(np.radians(az_xp - az)))
    return g, d


#: Fewer foot problems than this are solved one by one (geodesic.foot): a
#: lockstep step costs tens of numpy calls whatever the number of problems.
FEET_SCALAR_MAX: Final = 48
#: The lockstep stops when this few problems are left open and each finishes
#: alone (geodesic.search from its state): the slowest few would otherwise set
#: the number of array steps for all.
FEET_TAIL: Final = 6


def _compact(live: BoolArray, arrays: list[FloatArray]) -> list[FloatArray]:
    return [v[live] for v in arrays]


def feet(lon1: FloatArray, lat1: FloatArray, az1: FloatArray, length: FloatArray,
         plon: FloatArray, plat: FloatArray, limit: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``geodesic.foot(Edge(lon1, lat1, ., ., az1, length), plon, plat, limit)``
    for every element: (distances along the edges, distances)."""
    n = lon1.shape[0]
    s_out = np.zeros(n)
    if n < FEET_SCALAR_MAX:
        d_out = np.zeros(n)
        for k, (x, y, az, ln, px, py, lim) in enumerate(zip(
                lon1.tolist(), lat1.tolist(), az1.tolist(), length.tolist(), plon.tolist(), plat.tolist(),
                limit.tolist(), strict=True)):
            s_out[k], d_out[k] = geodesic.foot(Edge(x, y, x, y, az, ln), px, py, lim)
        return s_out, d_out
    az0, d0 = _inv(lon1, lat1, plon, plat)
    d_out = d0.copy()
    g0 = np.where(d0 == 0.0, 0.0, np.cos(np.radians(az0 - az1)))
    # A point edge, or the nearest point at the start: (0, d0), as the scalar answers.
    go = (length != 0.0) & (g0 > 0.0)
    idx = np.nonzero(go)[0]
    if not idx.size:
        return s_out, d_out
    g1, d1 = _ahead(lon1[idx], lat1[idx], az1[idx], length[idx], plon[idx], plat[idx])
    at_end = g1 >= 0.0
    s_out[idx[at_end]] = length[idx[at_end]]
    d_out[idx[at_end]] = d1[at_end]
    keep = ~at_end
    idx = idx[keep]
    if not idx.size:
        return s_out, d_out
    # The open problems, compacted as they finish: bracket [a, b], g(a) > 0 > g(b).
    e_lon, e_lat, e_az = lon1[idx], lat1[idx], az1[idx]
    p_lon, p_lat, lim = plon[idx], plat[idx], limit[idx]
    a = np.zeros(idx.size)
    b = length[idx].copy()
    ga, gb = g0[idx], g1[keep]
    da, db = d0[idx], d1[keep]
    first = da <= db
    best_s = np.where(first, 0.0, b)
    best_d = np.where(first, da, db)
    side = np.zeros(idx.size)  # +1 / -1: the end moved last (a / b)
    for step in range(_MAX_FOOT_ITERATIONS):
        width = b - a
        converged = width <= DISTANCE_TOLERANCE_M
        beyond = ~converged & (best_d > lim) & ((da + db - width) / 2.0 > lim + _BOUND_SLACK_M)
        done = converged | beyond
        if done.any():
            s_out[idx[done]] = best_s[done]
            d_out[idx[done]] = np.where(beyond[done], math.inf, best_d[done])
            live = ~done
            idx = idx[live]
            (e_lon, e_lat, e_az, p_lon, p_lat, lim, a, b, ga, gb, da, db, best_s, best_d, side) = _compact(
                live, [e_lon, e_lat, e_az, p_lon, p_lat, lim, a, b, ga, gb, da, db, best_s, best_d, side])
            width = b - a
        if idx.size <= FEET_TAIL:
            # The same search, from the same state, one by one (the checks above
            # were made for this step: search makes them again, to the same effect).
            for k, i in enumerate(idx.tolist()):
                state = (float(a[k]), float(b[k]), float(ga[k]), float(gb[k]), float(da[k]), float(db[k]),
                         float(best_s[k]), float(best_d[k]), int(side[k]))
                x, y, az = float(e_lon[k]), float(e_lat[k]), float(e_az[k])
                s_out[i], d_out[i] = geodesic.search(Edge(x, y, x, y, az, float(b[k])), float(p_lon[k]),
                                                     float(p_lat[k]), float(lim[k]), state,
                                                     _MAX_FOOT_ITERATIONS - step)
            return s_out, d_out
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (a * gb - b * ga) / (gb - ga)
            bad = ~((a < s) & (s < b)) | (np.minimum(s - a, b - s) < 1e-3 * width)
        s = np.where(bad, 0.5 * (a + b), s)
        g, d = _ahead(e_lon, e_lat, e_az, s, p_lon, p_lat)
        nearer = d < best_d
        best_s = np.where(nearer, s, best_s)
        best_d = np.where(nearer, d, best_d)
        hit = d == 0.0
        right = g > 0.0
        # Illinois: the end kept twice in a row has its g halved.
        gb = np.where(right & (side == 1.0), gb * 0.5, gb)
        ga = np.where(~right & (side == -1.0), ga * 0.5, ga)
        a = np.where(right, s, a)
        ga = np.where(right, g, ga)
        da = np.where(right, d, da)
        b = np.where(right, b, s)
        gb = np.where(right, gb, g)
        db = np.where(right, db, d)
        side = np.where(right, 1.0, -1.0)
        if hit.any():
            s_out[idx[hit]] = s[hit]
            d_out[idx[hit]] = 0.0
            live = ~hit
            idx = idx[live]
            (e_lon, e_lat, e_az, p_lon, p_lat, lim, a, b, ga, gb, da, db, best_s, best_d, side) = _compact(
                live, [e_lon, e_lat, e_az, p_lon, p_lat, lim, a, b, ga, gb, da, db, best_s, best_d, side])
            if not idx.size:
                return s_out, d_out
    s_out[idx] = best_s
    d_out[idx] = best_d
    return s_out, d_out


def _sides(az_line: FloatArray, az_to: FloatArray, d_to: FloatArray) -> npt.NDArray[np.int8]:
    """geodesic.orientation from the line's azimuth and the inverse problem to the point."""
    diff = _normalize(az_to - az_line)
    o = np.where(diff > 0.0, 1, -1).astype(np.int8)
    return np.where((d_to == 0.0) | (diff == 0.0) | (diff == 180.0), 0, o).astype(np.int8)


#: Columns of an edge row (Shape.edge_rows): the edge, its capsule, its capsule's ball.
LON1, LAT1, LON2, LAT2, AZ1, LENGTH = range(6)
CAP_A, CAP_B, CAP_PAD, BALL_C, BALL_R = slice(6, 9), slice(9, 12), 12, slice(13, 16), 16


def _edge_rows(shape: Shape) -> FloatArray:
    """The shape's edges as rows (lon1, lat1, lon2, lat2, az1, length); a point
    as one edge of length 0 (its foot on anything is its distance to it)."""
    return shape.edge_rows()


def _contained(mine: Shape, other: Shape) -> bool:
    """Shape.distance_within's containment step: a vertex of one inside the other polygon."""
    for a, b in ((mine, other), (other, mine)):
        if a.type is ShapeType.POLYGON:
            for ring in b.rings:
                if a.contains(float(ring.lons[0]), float(ring.lats[0])):
                    return True
    return False


def distances_within(shape: Shape, others: Sequence[Shape], uptos: FloatArray) -> FloatArray:
    """``[shape.distance_within(o, u) for o, u in zip(others, uptos)]`` on arrays:
    the exact distance where it is at most the candidate's ``upto``, else inf."""
    return pair_distances([shape] * len(others), others, uptos)


def pair_distances(mines: Sequence[Shape], others: Sequence[Shape], uptos: FloatArray) -> FloatArray:
    """``[m.distance_within(o, u) for m, o, u in zip(mines, others, uptos)]`` on
    arrays (a shape repeated in ``mines`` is looked at once): the exact distance
    of each pair where it is at most its ``upto``, else inf."""
    k = len(others)
    out = np.full(k, math.inf)
    if not k:
        return out
    uptos = _f64(uptos)
    # Containment (a vertex of one inside the other polygon) is distance 0;
    # winding tests stay per polygon (geo/winding.py), a point inside too.
    zero = np.zeros(k, dtype=np.bool_)
    for c, (shape, o) in enumerate(zip(mines, others, strict=True)):
        if shape.type is ShapeType.POLYGON or o.type is ShapeType.POLYGON:
            if shape.type is ShapeType.POINT or o.type is ShapeType.POINT:
                p, q = (o, shape) if o.type is ShapeType.POINT else (shape, o)
                zero[c] = q.contains(float(p.rings[0].lons[0]), float(p.rings[0].lats[0]))
            else:
                zero[c] = _contained(shape, o)
    out[zero] = 0.0
    # The distinct shapes of ``mines`` and their edges, one block each.
    slot: dict[int, int] = {}
    unique: list[Shape] = []
    which = np.empty(k, dtype=np.intp)
    for c, shape in enumerate(mines):
        u = slot.get(id(shape))
        if u is None:
            u = slot[id(shape)] = len(unique)
            unique.append(shape)
        which[c] = u
    mine_rows = [_edge_rows(u) for u in unique]
    mine = np.concatenate(mine_rows)
    m_count = np.fromiter((r.shape[0] for r in mine_rows), np.intp, len(unique))
    m_start = np.cumsum(m_count) - m_count
    rows = [_edge_rows(o) for o in others]
    t_count = np.fromiter((r.shape[0] for r in rows), np.intp, k)
    t_start = np.cumsum(t_count) - t_count
    theirs = np.concatenate(rows)
    # Every (mine, theirs) edge pair of every pair of shapes still open.
    per = np.where(zero, 0, m_count[which] * t_count)
    total = int(per.sum())
    if not total:
        return out
    owner = np.repeat(np.arange(k), per)
    r = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    tc = t_count[owner]
    ii = m_start[which[owner]] + r // tc
    jj = t_start[owner] + r % tc
    # 1. Chords (geo/chord.py): lower bounds of each pair's distance, no geodesic.
    #    First the balls holding the capsules (a point of one is at least the
    #    centres' distance less both radii from a point of the other), then the
    #    capsules of the pairs the balls leave.
    cm, ct = mine[ii], theirs[jj]
    ball = np.linalg.norm(cm[:, BALL_C] - ct[:, BALL_C], axis=1) - cm[:, BALL_R] - ct[:, BALL_R]
    near = ~(ball > uptos[owner] + PRUNE_SLACK_M)
    ii, jj, owner, cm, ct = ii[near], jj[near], owner[near], cm[near], ct[near]
    if not ii.size:
        return out
    chord_d, _s, _t = segment_closest(cm[:, CAP_A], cm[:, CAP_B], ct[:, CAP_A], ct[:, CAP_B])
    gap = chord_d - cm[:, CAP_PAD] - ct[:, CAP_PAD]
    near = ~(gap > uptos[owner] + PRUNE_SLACK_M)
    ii, jj, owner = ii[near], jj[near], owner[near]
    if not ii.size:
        return out
    # 2. The ends' geodesic distances: lower bounds of each pair's distance
    #    (shape._pair_bounds) and, per candidate, a distance it certainly comes within.
    e, f = mine[ii], theirs[jj]
    lon1 = np.stack([e[:, LON1], e[:, LON1], e[:, LON2], e[:, LON2]], axis=1).ravel()
    lat1 = np.stack([e[:, LAT1], e[:, LAT1], e[:, LAT2], e[:, LAT2]], axis=1).ravel()
    lon2 = np.stack([f[:, LON1], f[:, LON2], f[:, LON1], f[:, LON2]], axis=1).ravel()
    lat2 = np.stack([f[:, LAT1], f[:, LAT2], f[:, LAT1], f[:, LAT2]], axis=1).ravel()
    az_e, dist = _inv(lon1, lat1, lon2, lat2)
    d4 = dist.reshape(-1, 4)
    lower = (np.maximum(d4[:, 0] + d4[:, 3], d4[:, 1] + d4[:, 2]) - e[:, LENGTH] - f[:, LENGTH]) / 2.0
    upper = np.full(k, math.inf)
    np.minimum.at(upper, owner, d4.min(axis=1))
    limit = np.minimum(upper + _LIMIT_SLACK_M, uptos)
    keep = ~(lower - _BOUND_SLACK_M > limit[owner])
    ii, jj, owner, lower = ii[keep], jj[keep], owner[keep], lower[keep]
    az_e = az_e.reshape(-1, 4)[keep]
    d4 = d4[keep]
    e, f = e[keep], f[keep]
    if not ii.size:
        return out
    best = np.full(k, math.inf)
    # 3. Crossings (geodesic.edges_cross) where the bound allows one: distance 0.
    maybe = np.nonzero(lower <= _CROSS_BOUND_M)[0]
    if maybe.size:
        em, fm = e[maybe], f[maybe]
        o1 = _sides(em[:, AZ1], az_e[maybe, 0], d4[maybe, 0])
        o2 = _sides(em[:, AZ1], az_e[maybe, 1], d4[maybe, 1])
        az3, d3 = _inv(fm[:, LON1], fm[:, LAT1], em[:, LON1], em[:, LAT1])
        az4, d4b = _inv(fm[:, LON1], fm[:, LAT1], em[:, LON2], em[:, LAT2])
        o3 = _sides(fm[:, AZ1], az3, d3)
        o4 = _sides(fm[:, AZ1], az4, d4b)
        cross = (o1.astype(np.int16) * o2 < 0) & (o3.astype(np.int16) * o4 < 0)
        if cross.any():
            best[owner[maybe[cross]]] = 0.0
    # 4. The four foot searches of every pair left (geodesic.edge_distance), in
    #    lockstep, but only those whose own lower bound is within the limit: for
    #    X on edge AB, d(P, A) + d(P, B) <= 2 d(P, X) + |AB| (the triangle
    #    inequality twice, as Shape.point_distance bounds its feet).
    live = best[owner] > 0.0
    e, f, owner, d4 = e[live], f[live], owner[live], d4[live]
    if owner.shape[0]:
        # Foot k of a pair: of f's start and end on e, of e's start and end on f.
        foot_lower = np.stack([d4[:, 0] + d4[:, 2] - e[:, LENGTH], d4[:, 1] + d4[:, 3] - e[:, LENGTH],
                               d4[:, 0] + d4[:, 1] - f[:, LENGTH], d4[:, 2] + d4[:, 3] - f[:, LENGTH]],
                              axis=1).ravel() / 2.0
        lim4 = np.repeat(limit[owner], 4)
        want = ~(foot_lower - _BOUND_SLACK_M > lim4)
        edge_lon = np.stack([e[:, LON1], e[:, LON1], f[:, LON1], f[:, LON1]], axis=1).ravel()[want]
        edge_lat = np.stack([e[:, LAT1], e[:, LAT1], f[:, LAT1], f[:, LAT1]], axis=1).ravel()[want]
        edge_az = np.stack([e[:, AZ1], e[:, AZ1], f[:, AZ1], f[:, AZ1]], axis=1).ravel()[want]
        edge_len = np.stack([e[:, LENGTH], e[:, LENGTH], f[:, LENGTH], f[:, LENGTH]], axis=1).ravel()[want]
        pt_lon = np.stack([f[:, LON1], f[:, LON2], e[:, LON1], e[:, LON2]], axis=1).ravel()[want]
        pt_lat = np.stack([f[:, LAT1], f[:, LAT2], e[:, LAT1], e[:, LAT2]], axis=1).ravel()[want]
        _fs, fd = feet(edge_lon, edge_lat, edge_az, edge_len, pt_lon, pt_lat, lim4[want])
        np.minimum.at(best, np.repeat(owner, 4)[want], fd)
    found = ~zero & (best <= uptos)
    out[found] = best[found]
    return out
