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
           lookahead_s: float) -> IntArray:
    """Candidate pairs (i < j) whose swept segments may come within ``horizontal_m``."""
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
    cls = np.searchsorted(np.array(SPEED_CLASSES[:-1]), speed, side="left")
    groups = [np.nonzero(cls == k)[0] for k in range(len(SPEED_CLASSES))]
    trees = [(g, cKDTree(pts[g]), float(half[g].max()) if len(g) else 0.0) for g in groups]
    out: list[IntArray] = []
    # The planar midpoint errs by at most (path/2)^2 / R plus rounding: a metre slack per km of path.
    def slack(h: float) -> float:
        return 1.0 + 2.0 * h * h / WGS84_A + 1e-3 * h

    for a in range(len(trees)):
        ga, ta, ha = trees[a]
        if not len(ga):
            continue
        r = horizontal_m + 2 * ha + 2 * slack(ha)
        p = ta.query_pairs(r, output_type="ndarray")
        if len(p):
            out.append(np.stack([ga[p[:, 0]], ga[p[:, 1]]], axis=1))
        for b in range(a + 1, len(trees)):
            gb, tb, hb = trees[b]
            if not len(gb):
                continue
            r = horizontal_m + ha + hb + slack(ha) + slack(hb)
            sm = ta.sparse_distance_matrix(tb, r, output_type="ndarray")
            if len(sm):
                out.append(np.stack([ga[sm["i"]], gb[sm["j"]]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    pairs.sort(axis=1)
    return pairs


def approaches(lon: FloatArray, lat: FloatArray, alt: FloatArray, speed: FloatArray, course: FloatArray,
               vz: FloatArray, party: IntArray, *, horizontal_m: float = DEFAULT_HORIZONTAL_M,
               vertical_m: float = DEFAULT_VERTICAL_M, lookahead_s: float = DEFAULT_LOOKAHEAD_S) -> list[Approach]:
    """Pairs of assets of different parties (``party`` -1 for unaffiliated, which
    is a party apart from every other, unaffiliated ones included) that are within
    ``horizontal_m`` and ``vertical_m`` now or will be within ``lookahead_s``.

    ``alt`` is NaN for ground assets (on the surface: vertical separation to an
    aircraft is the aircraft's altitude); ``speed`` 0 and ``course`` 0 for
    stationary or unknown motion."""
    pairs = screen(lon, lat, speed, course, horizontal_m, lookahead_s)
    if not len(pairs):
        return []
    i, j = pairs[:, 0], pairs[:, 1]
    diff = (party[i] != party[j]) | (party[i] < 0)
    i, j = i[diff], j[diff]
    if not len(i):
        return []
    # Relative position on the tangent plane at i, from the exact geodesic
    # (azimuth and distance): the plane errs only in the motion over the look-ahead.
    az, _back, dist = GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    az, dist = np.radians(np.asarray(az, dtype=np.float64)), np.asarray(dist, dtype=np.float64)
    dx, dy = dist * np.sin(az), dist * np.cos(az)
    vei, vni = _enu_velocity(course[i], speed[i])
    vej, vnj = _enu_velocity(course[j], speed[j])
    dvx, dvy = vej - vei, vnj - vni
    # Heights: ground assets on the surface (0), aircraft climbing at vz.
    zi0 = np.where(np.isnan(alt[i]), 0.0, alt[i])
    zj0 = np.where(np.isnan(alt[j]), 0.0, alt[j])
    dz0 = zj0 - zi0
    dvz = np.where(np.isnan(alt[j]), 0.0, vz[j]) - np.where(np.isnan(alt[i]), 0.0, vz[i])
    # The times in [0, T] when the pair is within the (slightly grown) horizontal
    # distance: |d + v t|^2 <= Hs^2, a quadratic in t ...
    hs = horizontal_m * (1 + PLANAR_SLACK) + 1.0
    a = dvx * dvx + dvy * dvy
    b = dx * dvx + dy * dvy
    c = dx * dx + dy * dy - hs * hs
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.maximum(disc, 0.0))
        h_lo = np.where(a > 0, (-b - root) / a, np.where(c <= 0, -np.inf, np.inf))
        h_hi = np.where(a > 0, (-b + root) / a, np.where(c <= 0, np.inf, -np.inf))
    h_ok = (a > 0) & (disc >= 0) | (a == 0) & (c <= 0)
    # ... and within the vertical distance: |dz + vz t| <= V, linear in t (the
    # same model as the exact check below, so no allowance).
    vs = vertical_m
    with np.errstate(invalid="ignore", divide="ignore"):
        t_a = np.where(dvz != 0, (-vs - dz0) / dvz, np.where(np.abs(dz0) <= vs, -np.inf, np.inf))
        t_b = np.where(dvz != 0, (vs - dz0) / dvz, np.where(np.abs(dz0) <= vs, np.inf, -np.inf))
    v_lo, v_hi = np.minimum(t_a, t_b), np.maximum(t_a, t_b)
    lo = np.maximum.reduce([h_lo, v_lo, np.zeros_like(h_lo)])
    hi = np.minimum.reduce([h_hi, v_hi, np.full_like(h_hi, lookahead_s)])
    keep = h_ok & (lo <= hi)
    # The best moment: the horizontal closest approach, held within the window
    # where both distances can hold (the horizontal distance is convex in t).
    with np.errstate(invalid="ignore", divide="ignore"):
        tc = np.where(a > 0, -b / a, 0.0)
    tc = np.where(keep, np.clip(np.nan_to_num(tc), np.where(keep, lo, 0.0), np.where(keep, hi, 0.0)), 0.0)
    dz_now = np.abs(dz0)
    dz_cpa = np.abs(dz0 + dvz * np.nan_to_num(tc))
    out: list[Approach] = []
    for p, q, t, dzn, dzc in zip(i[keep].tolist(), j[keep].tolist(), tc[keep].tolist(), dz_now[keep].tolist(),
                                 dz_cpa[keep].tolist(), strict=True):
        _f, _b, now_m = GEOD.inv(lon[p], lat[p], lon[q], lat[q])
        now = bool(now_m <= horizontal_m and dzn <= vertical_m)
        miss_m = float(now_m)
        if t > 0:
            la_, lo_ = _ahead(lon[p], lat[p], course[p], speed[p], t)
            lb_, ob_ = _ahead(lon[q], lat[q], course[q], speed[q], t)
            _f, _b, d = GEOD.inv(la_, lo_, lb_, ob_)
            miss_m = float(d)
        predicted = t > 0 and miss_m <= horizontal_m and dzc <= vertical_m + VERTICAL_TOLERANCE_M
        if now or predicted:
            out.append(Approach(p, q, float(now_m), float(t) if predicted and not now else 0.0,
                                float(now_m) if now else miss_m, dzn if now else dzc, now))
    return out


def _ahead(lon: float, lat: float, course: float, speed: float, t: float) -> tuple[float, float]:
    if speed <= 0:
        return float(lon), float(lat)
    x, y, _az = GEOD.fwd(lon, lat, course, speed * t)
    return float(x), float(y)
