"""Proximity between tracks, now and predicted (closest point of approach).

Each cycle takes the latest state of every asset (position, altitude, velocity)
and finds the pairs of different parties (or with an unaffiliated aircraft)
that are, or within the look-ahead will be, closer than the horizontal and
vertical distances.

Screening is sub-quadratic: every asset's motion over the look-ahead is a
segment; its midpoint goes into a KD-tree (scipy's ``cKDTree``) in Earth-centred
coordinates, and two assets can only come within ``H`` of each other if their
midpoints are within ``H + half1 + half2`` (a chord is never longer than the
arc, so the screen over-selects, never drops). Assets are screened in speed
classes, so a few fast aircraft do not widen the radius for every pair of
ground units.

The survivors get the closest point of approach from straight-line relative
motion in a local tangent plane, screened again with a 1% allowance, then the
exact check on the ellipsoid: the positions at the predicted time along each
geodesic course, and their geodesic distance (``Geod.inv``), which decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from deconflict.geo.ellipsoid import GEOD, WGS84_A, WGS84_E2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_HORIZONTAL_M = 1_000.0
DEFAULT_VERTICAL_M = 300.0
DEFAULT_LOOKAHEAD_S = 120.0
#: Allowance of the flat relative-motion screen before the exact check.
PLANAR_SLACK = 0.01
#: Vertical gaps this close to the vertical distance count as within it: the
#: moment chosen is where the gap reaches the distance, computed in floating point.
VERTICAL_TOLERANCE_M = 0.001
#: Speed classes (m/s upper bounds) screened separately.
SPEED_CLASSES = (5.0, 40.0, 350.0, math.inf)


@dataclass(frozen=True, slots=True)
class Approach:
    """Assets ``a`` and ``b`` (indexes into the state arrays) are, or will be, too close."""

    a: int
    b: int
    now_m: float  # exact geodesic distance now
    t_cpa_s: float  # seconds to the closest point of approach (0: now)
    miss_m: float  # exact geodesic distance at the CPA
    vertical_m: float  # vertical separation at the CPA (0 for two ground assets)
    now: bool  # too close already


def ecef(lon: FloatArray, lat: FloatArray, h: FloatArray) -> FloatArray:
    lo, la = np.radians(lon), np.radians(lat)
    n = WGS84_A / np.sqrt(1 - WGS84_E2 * np.sin(la) ** 2)
    x = (n + h) * np.cos(la) * np.cos(lo)
    y = (n + h) * np.cos(la) * np.sin(lo)
    z = (n * (1 - WGS84_E2) + h) * np.sin(la)
    return np.stack([x, y, z], axis=1)


def _enu_velocity(course: FloatArray, speed: FloatArray) -> tuple[FloatArray, FloatArray]:
    c = np.radians(course)
    return speed * np.sin(c), speed * np.cos(c)


def screen(lon: FloatArray, lat: FloatArray, speed: FloatArray, course: FloatArray, horizontal_m: float,
           lookahead_s: float, z: FloatArray | None = None, vz: FloatArray | None = None,
           vertical_m: float = math.inf) -> IntArray:
    """Candidate pairs (i < j) whose swept segments may come within ``horizontal_m``
    and (given heights ``z`` and climb rates ``vz``) within ``vertical_m``."""
    n = len(lon)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    half = speed * lookahead_s / 2.0
    ve, vn = _enu_velocity(course, speed)
    # The midpoint of the path, on the tangent plane (its chord to the true
    # geodesic midpoint is metres at most; the radius below allows for it).
    mlat = lat + np.degrees(vn * lookahead_s / 2.0 / WGS84_A)
    mlon = lon + np.degrees(ve * lookahead_s / 2.0 / (WGS84_A * np.maximum(np.cos(np.radians(lat)), 1e-6)))
    pts = ecef(mlon, np.clip(mlat, -90.0, 90.0), np.zeros(n))
    # Heights: the middle of each one's climb over the look-ahead, and half the climb.
    if z is None or not math.isfinite(vertical_m):
        zmid, zhalf = np.zeros(n), np.zeros(n)
        vertical = math.inf
    else:
        w = np.zeros(n) if vz is None else vz
        zmid = z + w * lookahead_s / 2.0
        zhalf = np.abs(w) * lookahead_s / 2.0
        vertical = vertical_m + VERTICAL_TOLERANCE_M
    cls = np.searchsorted(np.array(SPEED_CLASSES[:-1]), speed, side="left")
    groups = [np.nonzero(cls == k)[0] for k in range(len(SPEED_CLASSES))]
    info = [(g, float(half[g].max()) if len(g) else 0.0, float(zhalf[g].max()) if len(g) else 0.0) for g in groups]
    out: list[IntArray] = []
    # The planar midpoint errs by at most (path/2)^2 / R plus rounding: a metre slack per km of path.
    def slack(h: float) -> float:
        return 1.0 + 2.0 * h * h / WGS84_A + 1e-3 * h

    def trees(ga: IntArray, gb: IntArray | None, r: float, reach_z: float) -> tuple[cKDTree, cKDTree, float]:
        # Heights that differ: a fourth coordinate, the height scaled so that the
        # vertical reach becomes the horizontal radius. A pair within r in space
        # and within the vertical reach is then within r * sqrt(2) in four
        # dimensions, the radius asked: kept. All heights equal (ground units):
        # space alone.
        both = ga if gb is None else np.concatenate([ga, gb])
        flat = not math.isfinite(reach_z) or float(np.ptp(zmid[both])) == 0.0
        if flat:
            ta = cKDTree(pts[ga])
            return ta, (ta if gb is None else cKDTree(pts[gb])), r
        scale = r / reach_z
        ta = cKDTree(np.concatenate([pts[ga], (zmid[ga] * scale)[:, None]], axis=1))
        tb = ta if gb is None else cKDTree(np.concatenate([pts[gb], (zmid[gb] * scale)[:, None]], axis=1))
        return ta, tb, r * math.sqrt(2.0) * (1.0 + 1e-12)

    for a in range(len(info)):
        ga, ha, za = info[a]
        if not len(ga):
            continue
        r = horizontal_m + 2 * ha + 2 * slack(ha)
        ta, _tb, radius = trees(ga, None, r, vertical + 2 * za + 1.0)
        p = ta.query_pairs(radius, output_type="ndarray")
        if len(p):
            out.append(np.stack([ga[p[:, 0]], ga[p[:, 1]]], axis=1))
        for b in range(a + 1, len(info)):
            gb, hb, zb = info[b]
            if not len(gb):
                continue
            r = horizontal_m + ha + hb + slack(ha) + slack(hb)
            ta, tb, radius = trees(ga, gb, r, vertical + za + zb + 1.0)
            sm = ta.sparse_distance_matrix(tb, radius, output_type="ndarray")
            if len(sm):
                out.append(np.stack([ga[sm["i"]], gb[sm["j"]]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    return np.stack([lo, hi], axis=1)


def _windows(dx: FloatArray, dy: FloatArray, dvx: FloatArray, dvy: FloatArray, dz0: FloatArray, dvz: FloatArray,
             hs: float, vs: float, lookahead_s: float) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray]:
    """(which pairs can be within ``hs`` and ``vs`` at once in [0, T], the best moment, the vertical gap then)."""
    # The times when the pair is within hs horizontally: |d + v t|^2 <= hs^2, a quadratic in t ...
    a = dvx * dvx + dvy * dvy
    b = dx * dvx + dy * dvy
    c = dx * dx + dy * dy - hs * hs
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.maximum(disc, 0.0))
        h_lo = np.where(a > 0, (-b - root) / a, np.where(c <= 0, -np.inf, np.inf))
        h_hi = np.where(a > 0, (-b + root) / a, np.where(c <= 0, np.inf, -np.inf))
    h_ok = ((a > 0) & (disc >= 0)) | ((a == 0) & (c <= 0))
    # ... and within vs vertically: |dz + vz t| <= vs, linear in t (the same model
    # as the exact check, so no allowance).
    with np.errstate(invalid="ignore", divide="ignore"):
        t_a = np.where(dvz != 0, (-vs - dz0) / dvz, np.where(np.abs(dz0) <= vs, -np.inf, np.inf))
        t_b = np.where(dvz != 0, (vs - dz0) / dvz, np.where(np.abs(dz0) <= vs, np.inf, -np.inf))
    lo = np.maximum.reduce([h_lo, np.minimum(t_a, t_b), np.zeros_like(h_lo)])
    hi = np.minimum.reduce([h_hi, np.maximum(t_a, t_b), np.full_like(h_hi, lookahead_s)])
    keep = h_ok & (lo <= hi)
    # The best moment: the horizontal closest approach, held within the window
    # where both can hold (the horizontal distance is convex in t).
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        tc = np.where(a > 0, -b / a, 0.0)
        tc = np.where(keep, np.clip(np.nan_to_num(tc), np.where(keep, lo, 0.0), np.where(keep, hi, 0.0)), 0.0)
        dz_cpa = np.abs(dz0 + dvz * tc)
    return keep, tc, dz_cpa


def approaches(lon: FloatArray, lat: FloatArray, alt: FloatArray, speed: FloatArray, course: FloatArray,
               vz: FloatArray, party: IntArray, *, horizontal_m: float = DEFAULT_HORIZONTAL_M,
               vertical_m: float = DEFAULT_VERTICAL_M, lookahead_s: float = DEFAULT_LOOKAHEAD_S) -> list[Approach]:
    """Pairs of assets of different parties (``party`` -1 for unaffiliated, which
    is a party apart from every other, unaffiliated ones included) that are within
    ``horizontal_m`` and ``vertical_m`` now or will be within ``lookahead_s``.

    ``alt`` is NaN for ground assets (on the surface: vertical separation to an
    aircraft is the aircraft's altitude); ``speed`` 0 and ``course`` 0 for
    stationary or unknown motion."""
    z = np.where(np.isnan(alt), 0.0, alt)
    w = np.where(np.isnan(alt), 0.0, vz)
    pairs = screen(lon, lat, speed, course, horizontal_m, lookahead_s, z, w, vertical_m)
    if not len(pairs):
        return []
    i, j = pairs[:, 0], pairs[:, 1]
    diff = (party[i] != party[j]) | (party[i] < 0)
    i, j = i[diff], j[diff]
    if not len(i):
        return []
    # Heights: ground assets on the surface (0), aircraft climbing at vz.
    ve, vn = _enu_velocity(course, speed)
    # A first pass on chords (Earth-centred differences on i's tangent plane),
    # with a wide allowance: cheap, and it leaves few pairs for the geodesics.
    xyz = ecef(lon, lat, np.zeros(len(lon)))
    d = xyz[j] - xyz[i]
    # The tangent plane's axes per asset (once each), then per pair.
    lo_r, la_r = np.radians(lon), np.radians(lat)
    sl, cl, sp, cp = np.sin(lo_r), np.cos(lo_r), np.sin(la_r), np.cos(la_r)
    ex = -sl[i] * d[:, 0] + cl[i] * d[:, 1]
    ny = -sp[i] * cl[i] * d[:, 0] - sp[i] * sl[i] * d[:, 1] + cp[i] * d[:, 2]
    keep, _tc, _dz = _windows(ex, ny, ve[j] - ve[i], vn[j] - vn[i], z[j] - z[i], w[j] - w[i],
                              horizontal_m * 1.02 + 100.0, vertical_m, lookahead_s)
    i, j = i[keep], j[keep]
    if not len(i):
        return []
    # Relative position on the tangent plane at i, from the exact geodesic
    # (azimuth and distance): the plane errs only in the motion over the look-ahead.
    az, _back, dist = GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    az, dist = np.radians(np.asarray(az, dtype=np.float64)), np.asarray(dist, dtype=np.float64)
    dz0 = z[j] - z[i]
    keep, tc, dz_cpa = _windows(dist * np.sin(az), dist * np.cos(az), ve[j] - ve[i], vn[j] - vn[i], dz0,
                                w[j] - w[i], horizontal_m * (1 + PLANAR_SLACK) + 1.0, vertical_m, lookahead_s)
    dz_now = np.abs(dz0)
    # The exact check, over arrays: both positions at that moment along their
    # geodesic courses, and their geodesic distance.
    p, q, t = i[keep], j[keep], tc[keep]
    dzn, dzc = dz_now[keep], dz_cpa[keep]
    if not len(p):
        return []
    now_m = dist[keep]  # the exact geodesic distance now, solved above for these pairs
    plon, plat, _ = GEOD.fwd(lon[p], lat[p], course[p], speed[p] * t)
    qlon, qlat, _ = GEOD.fwd(lon[q], lat[q], course[q], speed[q] * t)
    _f, _b, miss = GEOD.inv(plon, plat, qlon, qlat)
    miss = np.where(t > 0, np.asarray(miss, dtype=np.float64), now_m)
    now = (now_m <= horizontal_m) & (dzn <= vertical_m)
    predicted = (t > 0) & (miss <= horizontal_m) & (dzc <= vertical_m + VERTICAL_TOLERANCE_M)
    out: list[Approach] = []
    for k in np.nonzero(now | predicted)[0].tolist():
        if now[k]:
            out.append(Approach(int(p[k]), int(q[k]), float(now_m[k]), 0.0, float(now_m[k]), float(dzn[k]), True))
        else:
            out.append(Approach(int(p[k]), int(q[k]), float(now_m[k]), float(t[k]), float(miss[k]), float(dzc[k]),
                                False))
    return out


def _ahead(lon: float, lat: float, course: float, speed: float, t: float) -> tuple[float, float]:
    if speed <= 0:
        return float(lon), float(lat)
    x, y, _az = GEOD.fwd(lon, lat, course, speed * t)
    return float(x), float(y)
