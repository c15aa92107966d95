"""A batch of reports judged against the area fences over numpy arrays.

No Python object is made per report: a batch is arrays (:class:`Batch`), and
each (report, fence) pair the grid and the box, time, altitude, kind and
binding filters leave is decided by conservative bounds over arrays, or sent
to the engine when the bounds cannot decide (a report near a boundary). The
proofs are in docs/geometry.md ("Tracks: deciding without the engine"):

* **Out, by chords.** A chord is never longer than the geodesic between its
  ends, and each shape is covered by capsules (geo/chord.py: a point is a ball
  of radius 0; a line or a polygon's boundary one capsule per edge; a report's
  path ahead one capsule). The least distance between capsules, less both pads,
  is a lower bound of the geodesic distance. Past the reach (the radius: with
  no margins the engine asks for the distance up to it) plus :data:`SLACK_M`:
  out, as the engine says.
* **In, exactly.** For a point report against a point fence the engine's own
  exact distance is one inverse geodesic problem: solved over arrays by the
  same pyproj call (bit for bit), and compared as the engine compares it. For a
  polygon the engine's containment (the winding of the azimuths from the point
  to the vertices) is the same computation over arrays.
* **In, by a witness.** A path ahead whose point X lies within the reach of a
  fence (by the exact distance, less :data:`SLACK_M`) or inside a polygon (by the
  exact winding) comes within the reach: the engine's minimum over the path is
  no more than at X.
* **Wholly in or out.** A path whose every point is farther than the reach from
  a polygon's boundary (the chord bound) is inside it everywhere or nowhere: its
  start decides (a path is connected; crossing the boundary would put a point on it).

Whatever no bound decides goes to the engine (``Judge._exact_area``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from deconflict.geo.chord import CHORD_ROUNDING_M, closest_of, segment_closest
from deconflict.geo.chord import ecef as _ecef
from deconflict.geo.ellipsoid import GEOD, MAX_SPAN_M, R_MAX, TOUCH_TOLERANCE_M
from deconflict.geo.shape import ShapeType
from deconflict.tracks.report import Report

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: A bound decides only this far from the threshold: it covers the rounding of
#: the chord computations (micrometres on 6.4e6 m) and the engine's own
#: tolerance in finding a foot on an edge (DISTANCE_TOLERANCE_M, a millimetre)
#: by orders of magnitude.
SLACK_M = 1.0
#: How far either side of an edge a witness is looked for on a path through a polygon.
NUDGE_M = 25.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: What a pair came to.
NOW, PREDICTED = 1, 2


def ecef(lon: FloatArray, lat: FloatArray) -> FloatArray:
    return _ecef(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))


@dataclass(slots=True)
class Batch:
    """Reports as arrays, one row each. ``t`` in microseconds since the epoch;
    ``alt`` NaN on the ground; ``course``/``speed`` NaN when unknown; ``party``
    indexes ``parties``; ``uid`` indexes ``uids``."""

    lon: FloatArray
    lat: FloatArray
    t: IntArray
    alt: FloatArray
    air: BoolArray
    course: FloatArray
    speed: FloatArray
    party: IntArray
    parties: list[str]
    uid: IntArray
    uids: list[str]

    def __len__(self) -> int:
        return len(self.lon)

    @classmethod
    def of(cls, reports: Sequence[Report]) -> Batch:
        n = len(reports)
        parties: dict[str, int] = {}
        uids: dict[str, int] = {}
        pcode = np.fromiter((parties.setdefault(r.party, len(parties)) for r in reports), np.int64, n)
        ucode = np.fromiter((uids.setdefault(r.uid, len(uids)) for r in reports), np.int64, n)
        return cls(
            np.fromiter((r.lon for r in reports), np.float64, n),
            np.fromiter((r.lat for r in reports), np.float64, n),
            np.fromiter(((r.t - _EPOCH) // timedelta(microseconds=1) for r in reports), np.int64, n),
            np.fromiter((r.alt_m if r.air else math.nan for r in reports), np.float64, n),
            np.fromiter((r.air for r in reports), bool, n),
            np.fromiter((r.course for r in reports), np.float64, n),
            np.fromiter((r.speed for r in reports), np.float64, n),
            pcode, list(parties), ucode, list(uids))

    def report(self, i: int) -> Report:
        """Row ``i`` as a Report (for the engine, on the few pairs the bounds leave)."""
        air = bool(self.air[i])
        return Report(self.parties[int(self.party[i])], self.uids[int(self.uid[i])], float(self.lon[i]),
                      float(self.lat[i]), _EPOCH + timedelta(microseconds=int(self.t[i])), air,
                      float(self.alt[i]) if air else math.nan, float(self.course[i]), float(self.speed[i]))

    def moving(self) -> BoolArray:
        with np.errstate(invalid="ignore"):
            out: BoolArray = np.isfinite(self.speed) & np.isfinite(self.course) & (self.speed > 0.0)
        return out


@dataclass(slots=True)
class Geometry:
    """The area fences' shapes as flat arrays (CSR: a fence's edges, its ring's vertices)."""

    kind: IntArray  # 0 point, 1 line, 2 polygon (one ring), 3 anything else (the engine decides)
    xyz: FloatArray  # (n, 3): a point fence's centre; a polygon's ball's centre; a line's first vertex
    lon0: FloatArray
    lat0: FloatArray
    radius: FloatArray  # a site's protection, a measure's half width
    centre: FloatArray  # (n, 3): the mean of a polygon's vertices (a witness's aim); the first vertex otherwise
    ball: FloatArray  # a polygon lies within this of its first vertex (geo/chord.py); 0 otherwise
    reach: FloatArray  # what the engine compares a distance with: the radius and the touch tolerance (see below)
    e_start: IntArray  # edges of fence f: e_start[f]:e_start[f + 1]
    e_a: FloatArray
    e_b: FloatArray
    e_pad: FloatArray
    e_fence: IntArray
    v_start: IntArray  # vertices of a polygon's ring (closing vertex included)
    v_lon: FloatArray
    v_lat: FloatArray
    v_dup: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # a closing vertex (= the first)
    box: FloatArray | None = None  # (n, 4): lon0, lat0, lon1, lat1 holding each fence (set by Fences)
    # Per edge, what segment_closest computes of it for every pair: e_b - e_a and its
    # square length (the same operations on the same values: the same bits).
    e_d: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    e_dd: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if len(self.e_d) != len(self.e_a):
            self.e_d = self.e_b - self.e_a
            self.e_dd = np.einsum("...i,...i->...", self.e_d, self.e_d)

    @classmethod
    def of(cls, fences: Sequence[object]) -> Geometry:
        from deconflict.geo.chord import line_capsules
        from deconflict.tracks.conformance import Fence

        kinds, lon0, lat0, radius, ball = [], [], [], [], []
        centre: list[FloatArray] = []
        ball_c: list[FloatArray | None] = []
        caps: list[FloatArray] = []
        e_start = [0]
        v_start = [0]
        v_lon: list[FloatArray] = []
        v_lat: list[FloatArray] = []
        for f in fences:
            assert isinstance(f, Fence)
            sh = f.shape
            ring = sh.rings[0]
            lon0.append(float(ring.lons[0]))
            lat0.append(float(ring.lats[0]))
            radius.append(f.radius)
            if sh.type is ShapeType.POINT:
                k = 0
            elif sh.type is ShapeType.LINE:
                k = 1
            elif sh.type is ShapeType.POLYGON and len(sh.rings) == 1:
                k = 2
            else:
                k = 3
            kinds.append(k)
            if k == 2:
                bc, br = _ball(sh)
                ball_c.append(bc)
                ball.append(br)
            else:
                ball_c.append(None)
                ball.append(0.0)
            centre.append(ecef(ring.lons, ring.lats).mean(axis=0) if k == 2 else ecef(ring.lons[:1], ring.lats[:1])[0])
            if k in (1, 2):
                lengths = np.fromiter((e.length for e in ring.edges), np.float64, len(ring.edges))
                caps.append(line_capsules(ring.lons, ring.lats, lengths))
                e_start.append(e_start[-1] + len(ring.edges))
            else:
                e_start.append(e_start[-1])
            if k == 2:
                v_lon.append(np.asarray(ring.lons, dtype=np.float64))
                v_lat.append(np.asarray(ring.lats, dtype=np.float64))
                v_start.append(v_start[-1] + len(ring.lons))
            else:
                v_start.append(v_start[-1])
        allcaps = np.concatenate(caps) if caps else np.zeros((0, 7))
        vl = np.concatenate(v_lon) if v_lon else np.zeros(0)
        va = np.concatenate(v_lat) if v_lat else np.zeros(0)
        dup = np.zeros(len(vl), dtype=bool)
        vs = np.array(v_start, dtype=np.int64)
        for a, z in zip(vs[:-1].tolist(), vs[1:].tolist(), strict=True):
            if z - a > 1 and vl[z - 1] == vl[a] and va[z - 1] == va[a]:
                dup[z - 1] = True
        n = len(kinds)
        es = np.array(e_start, dtype=np.int64)
        xyz = ecef(np.array(lon0), np.array(lat0)).reshape(n, 3)
        for i, c in enumerate(ball_c):
            if c is not None:
                xyz[i] = c
        return cls(np.array(kinds, dtype=np.int64), xyz,
                   np.array(lon0), np.array(lat0), np.array(radius, dtype=np.float64),
                   np.array(centre).reshape(n, 3), np.array(ball),
                   # With no margins the engine asks for the distance up to the radius
                   # and its touch tolerance (engine/rules.py: horizontal_reach), and a
                   # distance within that is a touch: the reach is the radius plus it.
                   np.array(radius, dtype=np.float64) + TOUCH_TOLERANCE_M,
                   es, allcaps[:, 0:3], allcaps[:, 3:6], allcaps[:, 6],
                   np.repeat(np.arange(n, dtype=np.int64), np.diff(es)),
                   vs, vl, va, dup)


def _ball(sh: object) -> tuple[FloatArray, float]:
    """A ball holding a polygon: its centre (ECEF) and radius, the smaller of two.
    (a) Around the middle of its vertices' longitudes and latitudes, of radius
    ``max (dCi + dCj + L_ij) / 2`` over its edges: geo/chord.py's bound, whose proof
    holds for any centre C (a point at t along edge ViVj is within ``min(dCi + t,
    dCj + L - t)`` of C, and the distance from C has no local maximum inside a shape
    of at most 5,000 km). (b) Around the middle of its distinct vertices, of radius
    ``max (max(|CVi|, |CVj|) + h_ij)`` by the chords, h_ij the edge capsule's pad
    (docs/geometry.md, "Live tracks", statement 8): a ball is convex, so it holds
    the chord ViVj, and the edge lies within h_ij of that chord; inside the polygon
    the chord distance from C has no local maximum either. (b) is about two thirds
    of (a)'s radius for a square. A polygon across the antimeridian keeps the first
    vertex's ball."""
    from deconflict.geo.chord import line_capsules, polygon_reach
    from deconflict.geo.shape import Shape

    assert isinstance(sh, Shape)
    ring = sh.rings[0]
    lons, lats = np.asarray(ring.lons, dtype=np.float64), np.asarray(ring.lats, dtype=np.float64)
    if float(lons.max() - lons.min()) > 180.0:
        caps = sh.capsules()
        return caps[0, 0:3].copy(), float(caps[0, 6])
    cl, ca = float(lons.mean()), float(lats.mean())
    _az, _back, d = GEOD.inv(np.full(len(lons), cl), np.full(len(lons), ca), lons, lats)
    lengths = np.fromiter((e.length for e in ring.edges), np.float64, len(ring.edges))
    centre_a = ecef(np.array([cl]), np.array([ca]))[0]
    radius_a = polygon_reach(np.asarray(d, dtype=np.float64), lengths)
    closed = len(lons) > 1 and lons[-1] == lons[0] and lats[-1] == lats[0]
    dl, da = (lons[:-1], lats[:-1]) if closed else (lons, lats)
    centre_b = ecef(np.array([float(dl.mean())]), np.array([float(da.mean())]))[0]
    caps = line_capsules(lons, lats, lengths)
    far_end = np.maximum(np.linalg.norm(caps[:, 0:3] - centre_b, axis=1),
                         np.linalg.norm(caps[:, 3:6] - centre_b, axis=1))
    radius_b = float(np.max(far_end + caps[:, 6]))
    if radius_b < radius_a:
        return centre_b, radius_b
    return centre_a, radius_a


# -- distances between chords -------------------------------------------------------------
def point_segment(p: FloatArray, a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(distance, parameter along ab) from each point to each segment, row by row."""
    v = b - a
    w = p - a
    vv = np.einsum("ij,ij->i", v, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(vv > 0, np.clip(np.einsum("ij,ij->i", w, v) / np.where(vv > 0, vv, 1.0), 0.0, 1.0), 0.0)
    d = np.linalg.norm(w - v * s[:, None], axis=1)
    return d, s


def _point_path(p: FloatArray, a: FloatArray, v: FloatArray, vv: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`point_segment` with each segment's ``v = b - a`` and ``vv = v.v`` given
    (computed once per report): the same operations on the same values, the same bits."""
    w = p - a
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(vv > 0, np.clip(np.einsum("ij,ij->i", w, v) / np.where(vv > 0, vv, 1.0), 0.0, 1.0), 0.0)
    d = np.linalg.norm(w - v * s[:, None], axis=1)
    return d, s


def segment_segment(p1: FloatArray, q1: FloatArray, p2: FloatArray, q2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(least distance, parameter along p1q1 of the closest point), row by row
    (geo/chord.py: segment_closest)."""
    dist, s, _t = segment_closest(p1, q1, p2, q2)
    return dist, s


def _closest(p1: FloatArray, d1: FloatArray, a: FloatArray, p2: FloatArray, d2: FloatArray, e: FloatArray
             ) -> tuple[FloatArray, FloatArray]:
    """geo/chord.py's segment_closest (least distance, s), with ``a`` = d1.d1 and
    ``e`` = d2.d2 computed once per report and per edge rather than per pair: the
    same operations on the same values, hence the same bits (tests/tracks/test_vector.py)."""
    dist, s, _t = closest_of(p1, d1, a, p2, d2, e)
    return dist, s


def _closest_point(p1: FloatArray, p2: FloatArray, d2: FloatArray, e: FloatArray) -> FloatArray:
    """:func:`_closest` for segments p1q1 of zero length (a point): there d1 = 0, a =
    b = c = 0 and s = 0, t = f / e clipped (0 when e is not above the tiny), and the
    distance |(p1 + 0) - (p2 + d2 t)| = |p1 - (p2 + d2 t)|: the same bits as the
    general case, with a third of its operations."""
    r = p1 - p2
    f = np.einsum("...i,...i->...", d2, r)
    pe = e > 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(pe, np.clip(f / np.where(pe, e, 1.0), 0.0, 1.0), 0.0)
    dist: FloatArray = np.linalg.norm(p1 - (p2 + d2 * t[..., None]), axis=-1)
    return dist


def _segment_min(values: FloatArray, starts: IntArray, counts: IntArray) -> FloatArray:
    """The least of each run of ``values`` (runs are non-empty and contiguous)."""
    out: FloatArray = np.minimum.reduceat(values, starts) if len(values) else np.zeros(0)
    return out[: len(counts)]


def edge_gaps(geo: Geometry, fence: IntArray, a: FloatArray, b: FloatArray, pad: FloatArray,
              ab: tuple[FloatArray, FloatArray] | None = None) -> tuple[FloatArray, FloatArray, IntArray]:
    """For each pair (a fence with edges, a capsule ``a``-``b`` with ``pad``): the least
    gap between the capsule and the fence's edge capsules, the parameter along ``ab``
    of the closest point, and the closest edge. ``ab``: ``b - a`` and its square
    length, when already at hand."""
    counts = geo.e_start[fence + 1] - geo.e_start[fence]
    total = int(counts.sum())
    pair = np.repeat(np.arange(len(fence), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    edge = np.repeat(geo.e_start[fence] - first, counts) + np.arange(total, dtype=np.int64)
    if a is b:
        # Points (the callers pass the same array twice): s is 0.
        d = _closest_point(a[pair], geo.e_a[edge], geo.e_d[edge], geo.e_dd[edge])
        s = np.zeros(total)
    else:
        d1, aa = (b - a, None) if ab is None else ab
        if aa is None:
            aa = np.einsum("...i,...i->...", d1, d1)
        d, s = _closest(a[pair], d1[pair], aa[pair], geo.e_a[edge], geo.e_d[edge], geo.e_dd[edge])
    gap = d - pad[pair] - geo.e_pad[edge]
    best = _segment_min(gap, first, counts)
    # The closest edge of each pair: the first whose gap is the least.
    is_best = gap == best[pair]
    idx = np.nonzero(is_best)[0]
    firsts = np.unique(pair[idx], return_index=True)[1]
    pick = idx[firsts]
    return best, s[pick], edge[pick]


def near_ball(geo: Geometry, fence: IntArray, lon: FloatArray, lat: FloatArray) -> BoolArray:
    """Whether each point is within its polygon fence's box and ball (the others are
    outside it: the ball holds the polygon, and a chord is no longer than the geodesic)."""
    near = np.ones(len(fence), dtype=bool)
    if geo.box is not None:
        # The fence's box (the engine's conservative Shape.box) holds the polygon.
        bx = geo.box[fence]
        lon_in = np.zeros(len(fence), dtype=bool)
        for shift in (-360.0, 0.0, 360.0):
            lon_in |= (lon + shift >= bx[:, 0]) & (lon + shift <= bx[:, 2])
        near = lon_in & (lat >= bx[:, 1]) & (lat <= bx[:, 3])
    idx = np.nonzero(near)[0]
    xyz = ecef(lon[idx], lat[idx])
    near[idx] = np.linalg.norm(xyz - geo.xyz[fence[idx]], axis=1) <= geo.ball[fence[idx]] + SLACK_M
    return near


def inside(geo: Geometry, fence: IntArray, lon: FloatArray, lat: FloatArray) -> BoolArray:
    """:func:`winding`, asked only of the points :func:`near_ball`."""
    out = np.zeros(len(fence), dtype=bool)
    idx = np.nonzero(near_ball(geo, fence, lon, lat))[0]
    if len(idx):
        out[idx] = winding(geo, fence[idx], lon[idx], lat[idx])
    return out


def winding(geo: Geometry, fence: IntArray, lon: FloatArray, lat: FloatArray) -> BoolArray:
    """Whether each point is in (or on) its polygon fence: the engine's
    ``_ring_contains`` (the winding of the azimuths to the vertices), over arrays."""
    if not len(fence):
        return np.zeros(0, dtype=bool)
    counts = geo.v_start[fence + 1] - geo.v_start[fence]
    total = int(counts.sum())
    pair = np.repeat(np.arange(len(fence), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    vert = np.repeat(geo.v_start[fence] - first, counts) + np.arange(total, dtype=np.int64)
    # A closed ring's last vertex is its first: the same inverse problem, solved once.
    dup = geo.v_dup[vert]
    solve = np.nonzero(~dup)[0]
    az = np.empty(total)
    d = np.empty(total)
    a_, _back, d_ = GEOD.inv(lon[pair[solve]], lat[pair[solve]], geo.v_lon[vert[solve]], geo.v_lat[vert[solve]])
    az[solve], d[solve] = a_, d_
    again = np.nonzero(dup)[0]
    az[again], d[again] = az[first[pair[again]]], d[first[pair[again]]]
    on_vertex = np.logical_or.reduceat(d <= 0.0, first)
    steps = (np.diff(az) + 180.0) % 360.0 - 180.0
    # Only steps within a ring: the one from a ring's last vertex to the next ring's first goes.
    within = np.ones(max(total - 1, 0), dtype=bool)
    within[(first + counts - 1)[:-1]] = False
    steps = np.where(within, steps, 0.0)
    steps_full = np.append(steps, 0.0)
    on_edge = np.logical_or.reduceat(np.abs(np.abs(steps_full) - 180.0) < 1e-9, first) & \
        np.logical_or.reduceat(np.append(within, False), first)
    tot = np.add.reduceat(steps_full, first)
    far = d[first] > 2.0 * MAX_SPAN_M
    out: BoolArray = on_vertex | (~far & (on_edge | (np.abs(tot) > 180.0)))
    return out


def moved_ub(lon0: FloatArray, lat0: FloatArray, lon1: FloatArray, lat1: FloatArray) -> FloatArray:
    """An upper bound of the geodesic distance, metres: R_MAX times the central angle
    with geodetic coordinates (docs/geometry.md), plus :data:`SLACK_M`. NaN in, NaN out.
    What is compared with a clearance must be bounded from above: a lower bound (M_MIN
    times the angle) is up to 1 % short."""
    p0, p1 = np.radians(lat0), np.radians(lat1)
    dl = np.radians(lon1 - lon0)
    h = np.sin((p1 - p0) / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    ang = 2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    out: FloatArray = ang * R_MAX + SLACK_M
    return out


#: Witnesses kept per asset (a polygon it is near, inside or outside it); past it the oldest goes.
WITNESS_CAP = 32


class Witnesses:
    """Per asset, points whose containment in a polygon fence is known (by the exact
    winding), each with a clearance: a lower bound of its distance to the polygon's
    boundary. A point within the clearance of a witness (by :func:`moved_ub`) is on the
    same side, with no winding (docs/geometry.md, "Live tracks", statement 6). At most
    :data:`WITNESS_CAP` per asset; :meth:`forget` drops an asset's."""

    def __init__(self) -> None:
        # uid -> {fence (inside) or -1 - fence (outside): (lon, lat, clearance)}
        self._by_uid: dict[str, dict[int, tuple[float, float, float]]] = {}

    def __len__(self) -> int:
        return sum(len(d) for d in self._by_uid.values())

    def lookup(self, uids: list[str], uid: IntArray, fence: IntArray, inside: bool
               ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(lon, lat, clearance) of each (asset, fence)'s witness inside (or outside);
        NaN and -1 where none."""
        n = len(uid)
        lon, lat, clear = np.full(n, math.nan), np.full(n, math.nan), np.full(n, -1.0)
        by = self._by_uid
        for j, (u, f) in enumerate(zip(uid.tolist(), fence.tolist(), strict=True)):
            got = by.get(uids[u])
            w = None if got is None else got.get(f if inside else -1 - f)
            if w is not None:
                lon[j], lat[j], clear[j] = w
        return lon, lat, clear

    def keep(self, uids: list[str], uid: IntArray, fence: IntArray, lon: FloatArray, lat: FloatArray,
             clear: FloatArray, inside: BoolArray) -> None:
        by = self._by_uid
        for u, f, x, y, c, i in zip(uid.tolist(), fence.tolist(), lon.tolist(), lat.tolist(), clear.tolist(),
                                    inside.tolist(), strict=True):
            d = by.setdefault(uids[u], {})
            k = f if i else -1 - f
            d.pop(k, None)
            d[k] = (x, y, c)
            if len(d) > WITNESS_CAP:
                del d[next(iter(d))]

    def forget(self, uid: str) -> None:
        self._by_uid.pop(uid, None)


def inside_remembered(geo: Geometry, b: Batch, memo: Witnesses | None, r: IntArray, fence: IntArray,
                      lon: FloatArray, lat: FloatArray, gap: FloatArray | None = None) -> BoolArray:
    """:func:`inside` of points of reports ``r`` (their positions, or points of their
    paths), the same answers with fewer windings: a point within the clearance of its
    asset's witness for the polygon (kept from earlier batches, or the first point of
    the same asset and polygon in this batch) is on the witness's side. The witnesses
    found are kept in ``memo``. Without a memo: :func:`inside`. ``gap``: each point's
    :func:`edge_gaps` to its fence, when already at hand."""
    if memo is None:
        return inside(geo, fence, lon, lat)
    res = np.zeros(len(fence), dtype=bool)
    near = np.nonzero(near_ball(geo, fence, lon, lat))[0]
    if len(near):
        res[near] = _remembered(geo, b, memo, r[near], fence[near], lon[near], lat[near],
                                None if gap is None else gap[near])
    return res


def _remembered(geo: Geometry, b: Batch, memo: Witnesses, r: IntArray, fence: IntArray, lon: FloatArray,
                lat: FloatArray, gaps: FloatArray | None) -> BoolArray:
    n = len(fence)
    out = np.zeros(n, dtype=bool)
    key = b.uid[r] * len(geo.kind) + fence
    _g, first, group = np.unique(key, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    g_uid, g_f = b.uid[r[first]], fence[first]
    il, ia, ic = memo.lookup(b.uids, g_uid, g_f, True)
    ol, oa, oc = memo.lookup(b.uids, g_uid, g_f, False)

    def by_witness(idx: IntArray) -> tuple[BoolArray, BoolArray]:
        g = group[idx]
        with np.errstate(invalid="ignore"):
            yes = moved_ub(il[g], ia[g], lon[idx], lat[idx]) < ic[g]
            no = moved_ub(ol[g], oa[g], lon[idx], lat[idx]) < oc[g]
        return yes, no

    yes, no = by_witness(np.arange(n, dtype=np.int64))
    out[yes] = True
    todo = np.nonzero(~yes & ~no)[0]
    if not len(todo):
        return out
    # The first point of each group left: the winding, and its clearance for the others.
    lead = todo[np.unique(group[todo], return_index=True)[1]]
    out[lead] = winding(geo, fence[lead], lon[lead], lat[lead])
    if gaps is None:
        p = ecef(lon[lead], lat[lead])
        gap, _s, _e = edge_gaps(geo, fence[lead], p, p, np.zeros(len(lead)))
    else:
        gap = gaps[lead]
    clear = gap - SLACK_M
    kept = clear > 0.0
    li, clear, side = lead[kept], clear[kept], out[lead[kept]]
    memo.keep(b.uids, b.uid[r[li]], fence[li], lon[li], lat[li], clear, side)
    gi, go = group[li[side]], group[li[~side]]
    il[gi], ia[gi], ic[gi] = lon[li[side]], lat[li[side]], clear[side]
    ol[go], oa[go], oc[go] = lon[li[~side]], lat[li[~side]], clear[~side]
    rest = np.setdiff1d(todo, lead, assume_unique=True)
    if len(rest):
        yes, no = by_witness(rest)
        out[rest[yes]] = True
        rest = rest[~yes & ~no]
        out[rest] = winding(geo, fence[rest], lon[rest], lat[rest])
    return out


#: A path left undecided is cut into this many pieces; one still undecided after the
#: witnesses, into FINE_PIECES (a pad of centimetres for 90 km).
PIECES = 8
FINE_PIECES = 64


def _pieces_clear(geo: Geometry, b: Batch, r: IntArray, f: IntArray, kind: IntArray, length: FloatArray,
                  reach: FloatArray, pieces: int = PIECES) -> BoolArray:
    """Whether each path (report ``r``, ``length`` ahead) is farther than the reach
    from fence ``f`` (its point, or its edges), by capsules over the path in
    ``pieces`` pieces (each piece's pad from its own length and chord, geo/chord.py)."""
    n = len(r)
    frac = np.arange(pieces + 1, dtype=np.float64) / pieces
    rr = np.repeat(r, pieces + 1)
    lon, lat, _az = GEOD.fwd(b.lon[rr], b.lat[rr], b.course[rr], np.tile(frac, n) * np.repeat(length, pieces + 1))
    xyz = ecef(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)).reshape(n, pieces + 1, 3)
    a = xyz[:, :-1].reshape(-1, 3)
    c = xyz[:, 1:].reshape(-1, 3)
    piece = np.repeat(length / pieces, pieces)
    chord = np.linalg.norm(c - a, axis=1)
    pad = 0.5 * np.sqrt((np.maximum(piece - chord, 0.0) + CHORD_ROUNDING_M) * (piece + chord))
    fp = np.repeat(f, pieces)
    kp = np.repeat(kind, pieces)
    gap = np.full(len(fp), np.inf)
    pt = np.nonzero(kp == 0)[0]
    if len(pt):
        d, _s = point_segment(geo.xyz[fp[pt]], a[pt], c[pt])
        gap[pt] = d - pad[pt]
    ed = np.nonzero((kp == 1) | (kp == 2))[0]
    if len(ed):
        gap[ed], _s, _e = edge_gaps(geo, fp[ed], a[ed], c[ed], pad[ed])
    least = gap.reshape(n, pieces).min(axis=1)
    out: BoolArray = (least > reach + SLACK_M) & (kind != 3)
    return out


# -- the decisions --------------------------------------------------------------------------
@dataclass(slots=True)
class _Paths:
    """Per report (rows of the batch; only ``rows`` filled): its path's end (ECEF),
    ``v`` = end - start and its square length, the path's length and its capsule's pad."""

    p1: FloatArray
    v: FloatArray
    vv: FloatArray
    length: FloatArray
    pad: FloatArray

    @classmethod
    def of(cls, b: Batch, pr: FloatArray, ahead: tuple[FloatArray, FloatArray], lookahead_s: float,
           rows: IntArray) -> _Paths:
        n = len(b)
        p1 = np.full((n, 3), math.nan)
        p1[rows] = ecef(ahead[0][rows], ahead[1][rows])
        v = np.full((n, 3), math.nan)
        v[rows] = p1[rows] - pr[rows]
        vv = np.full(n, math.nan)
        vv[rows] = np.einsum("ij,ij->i", v[rows], v[rows])
        length = b.speed * lookahead_s
        chord = np.full(n, math.nan)
        chord[rows] = np.linalg.norm(p1[rows] - pr[rows], axis=1)
        pad = 0.5 * np.sqrt((np.maximum(length - chord, 0.0) + CHORD_ROUNDING_M) * (length + chord))
        return cls(p1, v, vv, length, pad)


@dataclass(slots=True)
class Decided:
    """Pairs decided by the bounds (``what`` NOW or PREDICTED, ``in_s`` for the
    predicted), and pairs left to the engine (``engine_r``, ``engine_f``, with
    whether the report's instant is in the fence's window)."""

    r: IntArray
    f: IntArray
    what: IntArray
    in_s: FloatArray
    engine_r: IntArray
    engine_f: IntArray
    engine_now: BoolArray


def decide(geo: Geometry, b: Batch, ri: IntArray, ff: IntArray, now_t: BoolArray, pred_t: BoolArray,
           fence_t0: IntArray, lookahead_s: float,
           ahead: tuple[FloatArray, FloatArray] | None = None, memo: Witnesses | None = None) -> Decided:
    """Decide every candidate pair (report ``ri``, fence ``ff``): in its window now
    (``now_t``) and/or along its path ahead within the window (``pred_t``).
    ``ahead``: each report's position at the end of its path (NaN when not moving).
    ``memo``: witnesses inside polygons kept per asset across batches (none: every
    witness by its winding)."""
    n = len(ri)
    kind = geo.kind[ff]
    reach = geo.reach[ff]
    res = np.zeros(n, dtype=np.int64)
    in_s = np.full(n, math.nan)
    to_engine = kind == 3
    undecided = ~to_engine
    pr = ecef(b.lon, b.lat)
    # -- now: the report's point ------------------------------------------------------------
    sel = np.nonzero(undecided & now_t)[0]
    if len(sel):
        k = kind[sel]
        pt = sel[k == 0]
        if len(pt):
            chord = np.linalg.norm(pr[ri[pt]] - geo.xyz[ff[pt]], axis=1)
            near = pt[chord <= reach[pt] + SLACK_M]
            if len(near):
                # The engine's exact distance (report first, as Shape.distance_within asks it).
                _a, _b, d = GEOD.inv(b.lon[ri[near]], b.lat[ri[near]], geo.lon0[ff[near]], geo.lat0[ff[near]])
                res[near[np.asarray(d) <= reach[near]]] = NOW
        ed = sel[k != 0]
        poly = ed[kind[ed] == 2]
        if len(poly):
            # Outside a polygon's ball: outside it, and past the reach of its edges.
            far = np.linalg.norm(pr[ri[poly]] - geo.xyz[ff[poly]], axis=1) - geo.ball[ff[poly]] > \
                reach[poly] + SLACK_M
            ed = np.concatenate([ed[kind[ed] == 1], poly[~far]])
        if len(ed):
            p = pr[ri[ed]]
            gap, _s, _e = edge_gaps(geo, ff[ed], p, p, np.zeros(len(ed)))
            poly = kind[ed] == 2
            within = np.zeros(len(ed), dtype=bool)
            if poly.any():
                pe = ed[poly]
                within[poly] = inside_remembered(geo, b, memo, ri[pe], ff[pe], b.lon[ri[pe]], b.lat[ri[pe]],
                                                 gap[poly])
            res[ed[within]] = NOW
            unsure = ~within & (gap <= reach[ed] + SLACK_M)
            to_engine[ed[unsure]] = True
    # -- predicted: the path ahead ---------------------------------------------------------
    sel = np.nonzero(undecided & ~to_engine & (res == 0) & pred_t)[0]
    if len(sel) and ahead is not None:
        alon, alat = ahead[0][ri[sel]], ahead[1][ri[sel]]
        ok = np.isfinite(alon) & ((alon != b.lon[ri[sel]]) | (alat != b.lat[ri[sel]]))
        sel, alon, alat = sel[ok], alon[ok], alat[ok]
        r = ri[sel]
        # Each report's path capsule once (a report has several pairs); row by row,
        # the same bits as per pair.
        seen = np.zeros(len(b), dtype=bool)
        seen[r] = True
        paths = _Paths.of(b, pr, ahead, lookahead_s, np.flatnonzero(seen))
        p0 = pr[r]
        p1 = paths.p1[r]
        length = paths.length[r]
        pad = paths.pad[r]
        v, vv = paths.v[r], paths.vv[r]
        k = kind[sel]
        hit = np.zeros(len(sel), dtype=bool)
        unsure = np.zeros(len(sel), dtype=bool)
        witness_s = np.full(len(sel), math.nan)
        pts = np.nonzero(k == 0)[0]
        if len(pts):
            d, s = _point_path(geo.xyz[ff[sel[pts]]], p0[pts], v[pts], vv[pts])
            near = (d - pad[pts]) <= reach[sel[pts]] + SLACK_M
            pts, s = pts[near], s[near]
            witness_s[pts] = s
        eds = np.nonzero(k == 1)[0]
        pol = np.nonzero(k == 2)[0]
        if len(pol):
            d, _s = _point_path(geo.xyz[ff[sel[pol]]], p0[pol], v[pol], vv[pol])
            far = d - pad[pol] - geo.ball[ff[sel[pol]]] > reach[sel[pol]] + SLACK_M
            eds = np.concatenate([eds, pol[~far]])
        if len(eds):
            gap, s, _e = edge_gaps(geo, ff[sel[eds]], p0[eds], p1[eds], pad[eds], (v[eds], vv[eds]))
            near = gap <= reach[sel[eds]] + SLACK_M
            # Wholly in or out of a polygon: its start decides.
            # A start in the window now is known outside (inside, the pair would be NOW).
            clear_poly = np.nonzero(~near & (k[eds] == 2) & ~now_t[sel[eds]])[0]
            if len(clear_poly):
                cp = eds[clear_poly]
                hit[cp] = inside_remembered(geo, b, memo, r[cp], ff[sel[cp]], b.lon[r[cp]], b.lat[r[cp]])
            witness_s[eds[near]] = s[near]
        # A witness on the path: for a point fence, the point nearest it by the chords.
        wi = np.nonzero(np.isfinite(witness_s))[0]
        if len(wi):
            kw = k[wi]
            got = np.zeros(len(wi), dtype=bool)
            pw = np.nonzero(kw == 0)[0]
            if len(pw):
                rp = r[wi[pw]]
                xlon, xlat, _az = GEOD.fwd(b.lon[rp], b.lat[rp], b.course[rp], witness_s[wi[pw]] * length[wi[pw]])
                _a, _b, d = GEOD.inv(xlon, xlat, geo.lon0[ff[sel[wi[pw]]]], geo.lat0[ff[sel[wi[pw]]]])
                got[pw] = np.asarray(d) <= reach[sel[wi[pw]]] - SLACK_M
            gw = np.nonzero(kw == 2)[0]
            # For a polygon, the point nearest the centre of its vertices (a path
            # through a small polygon passes it inside); then either side of where
            # the path comes nearest an edge (crossing the boundary there, one of
            # them is inside); then the path's end. The nearest point itself lies on
            # the boundary when the path crosses it, where the winding may go either way.
            for which in ("centre", "after", "before", "end"):
                left = gw[~got[gw]]
                if not len(left):
                    break
                pl = wi[left]
                rl = r[pl]
                if which == "centre":
                    _d, s2 = _point_path(geo.centre[ff[sel[pl]]], p0[pl], v[pl], vv[pl])
                    x2, y2, _az = GEOD.fwd(b.lon[rl], b.lat[rl], b.course[rl], s2 * length[pl])
                elif which in ("after", "before"):
                    step = np.minimum(NUDGE_M / length[pl], 0.5) * (1.0 if which == "after" else -1.0)
                    s2 = np.clip(witness_s[pl] + step, 0.0, 1.0)
                    x2, y2, _az = GEOD.fwd(b.lon[rl], b.lat[rl], b.course[rl], s2 * length[pl])
                else:
                    x2, y2 = alon[pl], alat[pl]
                xs2, ys2 = np.asarray(x2, dtype=np.float64), np.asarray(y2, dtype=np.float64)
                got[left] = inside_remembered(geo, b, memo, rl, ff[sel[pl]], xs2, ys2)
            hit[wi[got]] = True
            unsure[wi[~got]] = True
        # A long path's one capsule is padded by its sagitta (160 m for 90 km):
        # those left are tried again with the path cut into pieces (a pad a
        # sixty-fourth as wide), each piece a capsule of its own.
        un = np.nonzero(unsure)[0]
        if len(un):
            clear = _pieces_clear(geo, b, r[un], ff[sel[un]], kind[sel[un]], length[un], reach[sel[un]])
            unsure[un[clear]] = False
            cp = un[clear & (kind[sel[un]] == 2) & ~now_t[sel[un]]]
            if len(cp):
                hit[cp] = inside_remembered(geo, b, memo, r[cp], ff[sel[cp]], b.lon[r[cp]], b.lat[r[cp]])
        # Paths still undecided against a polygon, most of them clipping a corner:
        # the point of the path nearest the polygon's vertex nearest it (by the chords).
        up = np.nonzero(unsure & (kind[sel] == 2))[0]
        if len(up):
            fl = ff[sel[up]]
            cnt = geo.v_start[fl + 1] - geo.v_start[fl]
            first = np.cumsum(cnt) - cnt
            pair = np.repeat(np.arange(len(up), dtype=np.int64), cnt)
            vert = np.repeat(geo.v_start[fl] - first, cnt) + np.arange(int(cnt.sum()), dtype=np.int64)
            dv, sv = _point_path(ecef(geo.v_lon[vert], geo.v_lat[vert]), p0[up][pair], v[up][pair], vv[up][pair])
            best = np.minimum.reduceat(dv, first)
            pick = np.nonzero(dv == best[pair])[0]
            pick = pick[np.unique(pair[pick], return_index=True)[1]]
            rl = r[up]
            xs, ys, _az = GEOD.fwd(b.lon[rl], b.lat[rl], b.course[rl], sv[pick] * length[up])
            found = inside_remembered(geo, b, memo, rl, fl, np.asarray(xs, dtype=np.float64),
                                      np.asarray(ys, dtype=np.float64))
            hit[up[found]] = True
            unsure[up[found]] = False
        # Paths still undecided, most of them passing a polygon's corner by metres: cut
        # finer (statement 1 again, each piece's pad from its own length and chord).
        un = np.nonzero(unsure)[0]
        if len(un):
            clear = _pieces_clear(geo, b, r[un], ff[sel[un]], kind[sel[un]], length[un], reach[sel[un]],
                                  FINE_PIECES)
            unsure[un[clear]] = False
            cp = un[clear & (kind[sel[un]] == 2) & ~now_t[sel[un]]]
            if len(cp):
                hit[cp] = inside_remembered(geo, b, memo, r[cp], ff[sel[cp]], b.lon[r[cp]], b.lat[r[cp]])
        to_engine[sel[unsure]] = True
        hs = sel[hit]
        res[hs] = PREDICTED
        # Time to entry: the distance to the zone over the speed, never later than the truth.
        rh = ri[hs]
        dist = np.zeros(len(hs))
        kh = kind[hs]
        pp = np.nonzero(kh == 0)[0]
        if len(pp):
            # The engine's exact distance (the fence's point first, as Shape.point_distance asks it).
            _a, _b, d = GEOD.inv(geo.lon0[ff[hs[pp]]], geo.lat0[ff[hs[pp]]], b.lon[rh[pp]], b.lat[rh[pp]])
            dist[pp] = np.asarray(d)
        ee = np.nonzero(kh != 0)[0]
        if len(ee):
            # A lower bound (the chords): at most a metre or so short of the exact distance.
            p = pr[rh[ee]]
            gap, _s, _e = edge_gaps(geo, ff[hs[ee]], p, p, np.zeros(len(ee)))
            within = np.zeros(len(ee), dtype=bool)
            pol = np.nonzero((kh[ee] == 2) & ~now_t[hs[ee]])[0]
            if len(pol):
                within[pol] = inside_remembered(geo, b, memo, rh[ee[pol]], ff[hs[ee[pol]]], b.lon[rh[ee[pol]]],
                                                b.lat[rh[ee[pol]]], gap[pol])
            dist[ee] = np.where(within, 0.0, np.maximum(gap, 0.0))
        radius = geo.radius[ff[hs]]
        start = (fence_t0[ff[hs]] - b.t[rh]) / 1e6
        in_s[hs] = np.maximum.reduce([np.maximum(0.0, dist - radius) / b.speed[rh], start, np.zeros(len(hs))])
    done = np.nonzero(res > 0)[0]
    eng = np.nonzero(to_engine & (res == 0))[0]
    return Decided(ri[done], ff[done], res[done], in_s[done], ri[eng], ff[eng], now_t[eng])
