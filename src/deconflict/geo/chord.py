"""Lower bounds of the distance between shapes from straight lines in space.

A straight line is the shortest path between two points, so the chord between
two points of the ellipsoid's surface (their distance in Earth-centred,
Earth-fixed coordinates) is never longer than the geodesic between them. Each
shape is covered by *capsules* (a chord segment and a pad around it) that hold
every one of its points:

* a point: itself, pad 0;
* a line: one chord per geodesic edge. A point X of an edge PQ of geodesic
  length L, at t along it, has |XP| <= t and |XQ| <= L - t (the geodesic is a
  path from P to X, and from X to Q), so X lies in the intersection of those two
  balls, which is within ``h = sqrt(L^2 - c^2) / 2`` of the chord segment (c the
  chord length |PQ|). This needs nothing but the triangle inequality: no bound
  on the surface's curvature. For a 20 km edge h is about 9 m;
* a polygon: one ball around its first vertex V0 whose radius bounds the
  geodesic distance from V0 to any point of the polygon, boundary or inside.
  Within a shape (at most 5,000 km across, see MAX_SPAN_M) the distance from V0
  has no local maximum inside the polygon, so the farthest point is on the
  boundary, and a point at t along an edge ViVj is at most
  ``min(d0i + t, d0j + L - t) <= (d0i + d0j + L) / 2`` from V0.

Between two shapes the distance is then at least the least distance between
their capsules' segments less both pads. :data:`PRUNE_SLACK_M` more is asked
before a pair is ruled out, which covers the rounding of these doubles (about
1e-9 m on coordinates of 6.4e6 m, and the closest-point search between nearly
parallel segments) by orders of magnitude.

The engine rules out, with one array computation per activity part, the
candidates whose lower bound is past every rule's reach: they would each have
cost an exact geodesic comparison that answers "farther than the reach".
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from deconflict.geo.ellipsoid import WGS84_A, WGS84_E2

FloatArray = npt.NDArray[np.float64]

#: A pair is ruled out only when its lower bound exceeds the reach by this.
PRUNE_SLACK_M: Final = 1.0
#: Added to L - c before a pad is made of it: more than the geodesic solver's
#: error on L (15 nm) and the rounding of the chord c (about 1e-9 m), which on a
#: short edge (L - c of 1e-13 m for 8 m) would otherwise leave the pad at 0.
CHORD_ROUNDING_M: Final = 1e-7


def ecef(lons: FloatArray, lats: FloatArray) -> FloatArray:
    """Earth-centred, Earth-fixed coordinates (metres) of points on the ellipsoid, (n, 3)."""
    lam = np.radians(lons)
    phi = np.radians(lats)
    sin_phi = np.sin(phi)
    cos_phi = np.cos(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_phi * sin_phi)
    return np.stack((n * cos_phi * np.cos(lam), n * cos_phi * np.sin(lam), n * (1.0 - WGS84_E2) * sin_phi), axis=1)


def line_capsules(lons: FloatArray, lats: FloatArray, lengths: FloatArray) -> FloatArray:
    """One capsule per geodesic edge of a line, (n - 1, 7): a, b (ECEF) and the pad.

    ``lengths`` are the edges' geodesic lengths, as the shape's edges carry them."""
    xyz = ecef(lons, lats)
    a, b = xyz[:-1], xyz[1:]
    chord = np.linalg.norm(b - a, axis=1)
    slack = np.maximum(lengths - chord, 0.0) + CHORD_ROUNDING_M
    pad = 0.5 * np.sqrt(slack * (lengths + chord))
    return np.concatenate((a, b, pad[:, None]), axis=1)


def ball_capsule(lon0: float, lat0: float, radius_m: float) -> FloatArray:
    """One capsule of zero length: a ball around (lon0, lat0) on the surface, (1, 7)."""
    c = ecef(np.array([lon0]), np.array([lat0]))
    return np.concatenate((c, c, np.array([[radius_m]])), axis=1)


def polygon_reach(from_first: FloatArray, lengths: FloatArray) -> float:
    """A bound of the geodesic distance from a ring's first vertex to any point of
    the polygon, from the vertices' distances to it (``from_first``, closing vertex
    included) and the edges' lengths."""
    return float(np.max((from_first[:-1] + from_first[1:] + lengths) / 2.0))


def segment_closest(p1: FloatArray, q1: FloatArray, p2: FloatArray, q2: FloatArray
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(least distance, s, t) between the segments p1q1 and p2q2, broadcast over
    the leading axes (the last holds x, y, z): the closest points are p1 + s (q1 -
    p1) and p2 + t (q2 - p2) (Ericson, Real-Time Collision Detection, 5.1.9), case
    by case over arrays; a segment of zero length is a point (a ball's capsule)."""
    d1 = q1 - p1
    d2 = q2 - p2
    return closest_of(p1, d1, np.einsum("...i,...i->...", d1, d1), p2, d2, np.einsum("...i,...i->...", d2, d2))


def closest_of(p1: FloatArray, d1: FloatArray, a: FloatArray, p2: FloatArray, d2: FloatArray, e: FloatArray
               ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`segment_closest` of the segments p1 + s d1 and p2 + t d2, given
    ``a`` = d1.d1 and ``e`` = d2.d2 (a caller meeting the same segment in many
    pairs computes them once: tracks/vector.py)."""
    r = p1 - p2
    f = np.einsum("...i,...i->...", d2, r)
    c = np.einsum("...i,...i->...", d1, r)
    b = np.einsum("...i,...i->...", d1, d2)
    a, e, f, c, b = np.broadcast_arrays(a, e, f, c, b)
    tiny = 1e-12
    pa = a > tiny
    pe = e > tiny
    a_ = np.where(pa, a, 1.0)
    e_ = np.where(pe, e, 1.0)
    denom = a * e - b * b
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(denom > 0.0, np.clip((b * f - c * e) / np.where(denom > 0.0, denom, 1.0), 0.0, 1.0), 0.0)
        t = (b * s + f) / e_
        s = np.where(t < 0.0, np.clip(-c / a_, 0.0, 1.0), np.where(t > 1.0, np.clip((b - c) / a_, 0.0, 1.0), s))
        t = np.clip(t, 0.0, 1.0)
        # Degenerate cases: a point against a segment, a segment against a point, two points.
        s = np.where(pa & ~pe, np.clip(-c / a_, 0.0, 1.0), s)
        t = np.where(pa & ~pe, 0.0, t)
        s = np.where(~pa, 0.0, s)
        t = np.where(~pa & pe, np.clip(f / e_, 0.0, 1.0), t)
        t = np.where(~pa & ~pe, 0.0, t)
    dist: FloatArray = np.linalg.norm((p1 + d1 * s[..., None]) - (p2 + d2 * t[..., None]), axis=-1)
    return dist, s, t


def capsule_gaps(mine: FloatArray, theirs: FloatArray) -> FloatArray:
    """Least distance between each of ``mine`` (m, 7) and each of ``theirs`` (k, 7)
    capsules, less both pads, (m, k): a lower bound of the distance between any
    point one covers and any point the other covers (up to rounding)."""
    dist, _s, _t = segment_closest(mine[:, None, 0:3], mine[:, None, 3:6], theirs[None, :, 0:3], theirs[None, :, 3:6])
    gap: FloatArray = dist - mine[:, None, 6] - theirs[None, :, 6]
    return gap
