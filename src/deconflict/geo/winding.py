"""Point in polygon by the winding of azimuths, without a geodesic per vertex.

``shape._ring_contains`` decides containment exactly from the azimuths of the
geodesics from the point to every vertex: about 2 µs of geodesic solving per
vertex, 9 ms for a 4,000-vertex ring, which made a fire on such a polygon with
2,000 sites along it take 15 s (issue 9). Here the same decision is taken
from azimuths that need no solving, and it is the exact decision, or no
decision at all (``None``: the caller solves exactly).

**The approximation.** The azimuth of the great circle on Bessel's auxiliary
sphere (reduced latitudes, with the longitude difference in place of the
auxiliary one), which is Vincenty's first iterate. It differs from the
geodesic azimuth because the auxiliary longitude differs from the longitude by
at most about ``f * sigma`` (f the flattening, sigma the arc); seen from the
point that moves the azimuth by at most about ``f * sigma / sin(sigma)``: 0.3
degrees at the 10,000 km this is used for. :data:`AZIMUTH_ERROR_DEG` takes
1 degree; ``tests/geo/test_winding.py`` measures the error on millions of
pairs from 1 m to 10,000 km, poles included (the worst seen is 0.15 degrees)
and fails if it ever reaches half of that constant.

**Why an approximation with a bounded error decides exactly.** Let a_i be the
true azimuths to the ring's vertices (a_n = a_0: the ring is closed) and
b_i = a_i + e_i the approximate ones, |e_i| <= E. The exact test folds each
step a_{i+1} - a_i into (-180, 180) and sums; the sum is 0 or +-360 (the
winding number), and "inside" is |sum| > 180. Take the folded approximate
steps t_i. If every |t_i| < 180 - 2E, then the true step is
s_i = t_i - e_{i+1} + e_i (it is congruent to that, and that lies strictly
inside (-180, 180), where the fold is unique), so no true step is a boundary
case either, and

    sum s_i = sum t_i - sum (e_{i+1} - e_i) = sum t_i

because the errors telescope round the closed ring (e_n = e_0: the same vertex
from the same point). The two sums are the same multiple of 360 and the
decisions agree. The same holds with some azimuths solved exactly (their
e_i = 0), so a step near 180 degrees (the point near an edge seen end on,
that is near the boundary) has its two ends solved, as has a vertex within
:data:`NEAR_VERTEX_M`, and the test is repeated: a point on the boundary of a
4,000-vertex ring solves a handful of geodesics, not 4,000. Steps between
solved ends are the exact test's own, "on the boundary" included. A closing
vertex is the first one: solved together, so that e_n = e_0 still.

**The far test.** The exact test calls a point farther than twice MAX_SPAN_M
from the first vertex outside (the polygon lies in a cap narrower than a
hemisphere). The geodesic distance s between two points and the arc sigma'
computed here satisfy 0.9966 a sigma' <= s <= a sigma' (1 + 1e-11) over the
same test pairs (b sigma <= s <= a sigma holds for the true arc, and sigma' is
within about f of it); :data:`DISTANCE_MARGIN` of 1 % decides only clear cases
and leaves the rest to the exact test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from deconflict.geo.bounds import FloatArray
from deconflict.geo.ellipsoid import MAX_SPAN_M, WGS84_A, WGS84_F

#: The bound taken on the approximate azimuths' error, in degrees (measured: 0.15).
AZIMUTH_ERROR_DEG: Final = 1.0
#: A vertex nearer than this to the point leaves the decision to the exact test.
NEAR_VERTEX_M: Final = 10.0
#: The relative margin on the approximate arc for the distance cases.
DISTANCE_MARGIN: Final = 0.01
_WGS84_B: Final = WGS84_A * (1.0 - WGS84_F)
IntArray = npt.NDArray[np.intp]
_FAR_M: Final = 2.0 * MAX_SPAN_M
_COS_NEAR: Final = math.cos(10.0 * NEAR_VERTEX_M / _WGS84_B)


@dataclass(frozen=True, slots=True)
class Vertices:
    """What the azimuths need of a ring's vertices, computed once per ring."""

    lons: FloatArray  #: radians
    sin_b: FloatArray  #: of the reduced latitudes
    cos_b: FloatArray
    closed: bool


def vertices(lons: FloatArray, lats: FloatArray) -> Vertices:
    p = np.radians(lats)
    b = np.arctan2((1.0 - WGS84_F) * np.sin(p), np.cos(p))
    closed = lons.shape[0] >= 2 and lons[0] == lons[-1] and lats[0] == lats[-1]
    return Vertices(np.radians(lons), np.sin(b), np.cos(b), bool(closed))


def azimuths(lon: float, lat: float, v: Vertices) -> tuple[FloatArray, FloatArray]:
    """Approximate azimuths (degrees) from (lon, lat) to each vertex, and the
    cosines of the arcs on the auxiliary sphere; see the module's docstring."""
    p1 = math.radians(lat)
    b1 = math.atan2((1.0 - WGS84_F) * math.sin(p1), math.cos(p1))
    sb1, cb1 = math.sin(b1), math.cos(b1)
    lam = v.lons - math.radians(lon)
    cos_lam = np.cos(lam)
    y = v.cos_b * np.sin(lam)
    x = cb1 * v.sin_b - sb1 * v.cos_b * cos_lam
    return np.degrees(np.arctan2(y, x)), sb1 * v.sin_b + cb1 * v.cos_b * cos_lam


#: Rounds of solving more vertices exactly before the caller solves them all.
MAX_ROUNDS: Final = 8

Solver = Callable[[IntArray], tuple[FloatArray, FloatArray]]


def ring_contains(v: Vertices, lon: float, lat: float, solve: Solver) -> tuple[bool, bool] | None:
    """(inside, on the boundary) of a closed ring for (lon, lat), as the exact
    winding test (``shape._ring_contains``) decides it, solving geodesics only
    for the vertices near the point or at the ends of a step near 180 degrees
    (``solve(indices)``: their exact azimuths and distances). None when only the
    exact test over every vertex can say (near the far limit, or the steps keep
    needing more vertices solved)."""
    if not v.closed:
        return None  # the telescoping below needs e_n = e_0
    az, cos_arc = azimuths(lon, lat, v)
    first = math.acos(min(1.0, max(-1.0, float(cos_arc[0]))))
    if _WGS84_B * first * (1.0 - DISTANCE_MARGIN) > _FAR_M:
        return False, False  # the exact test's far case
    if WGS84_A * first * (1.0 + DISTANCE_MARGIN) >= _FAR_M:
        return None
    err = np.full(az.shape[0], AZIMUTH_ERROR_DEG)
    # A vertex possibly within NEAR_VERTEX_M is solved: the exact test's
    # "on a vertex" (distance 0) is then decided as it decides it. (The cosine
    # of an arc of 1.6e-6 rad is 1 - 1.3e-12, resolved to 1e-16: the test is
    # taken at ten times the distance, and a nearer vertex is solved as well.)
    wanted = cos_arc > _COS_NEAR
    for _round in range(MAX_ROUNDS):
        wanted[0] = wanted[-1] = bool(wanted[0] or wanted[-1])  # one vertex, one azimuth
        idx = np.flatnonzero(wanted & (err > 0.0))
        if idx.size:
            exact_az, exact_d = solve(idx)
            if bool((exact_d <= 0.0).any()):
                return False, True
            az[idx] = exact_az
            err[idx] = 0.0
        steps = (np.diff(az) + 180.0) % 360.0 - 180.0
        slack = err[:-1] + err[1:]
        # A step with an approximate end must be clear of 180 by both ends'
        # errors; a step between solved ends is the exact test's own step.
        unsure = (slack > 0.0) & (np.abs(steps) >= 180.0 - slack - 1e-6)
        if not bool(unsure.any()):
            solved = slack == 0.0
            if bool((solved & (np.abs(np.abs(steps) - 180.0) < 1e-9)).any()):
                return False, True
            return abs(float(steps.sum())) > 180.0, False
        wanted[:-1] |= unsure
        wanted[1:] |= unsure
    return None
