"""Bulk loading: the conservative boxes of many parts at once, with numpy.

Adding declarations one by one builds a :class:`~deconflict.geo.shape.Shape`
for every part only to take its box: tens of microseconds of Python and small
numpy calls per part. A :class:`Batch` instead plans the parts of many
declarations (in exactly the order :func:`~deconflict.engine.parts.declaration_parts`
gives them), then computes the boxes of all point and line parts together:

* **points**: the box of the spherical cap of angular radius ``r / M_MIN``
  around the point, the bound of :mod:`deconflict.geo.bounds`;
* **lines**: the same validation :meth:`Shape.build` does for a line (every
  edge at most ``MAX_EDGE_M``, every vertex within ``MAX_SPAN_M`` of the
  first), with the geodesic solver over arrays, then the same bound as
  :meth:`Shape.box`: samples along each edge no farther apart than
  ``BOUND_SAMPLE_SPACING_M``, each standing for half a spacing around it.

Every box is widened by a hair (``PAD_DEG``, about 0.1 mm, and a relative
``1e-12``) so that rounding in numpy's trigonometry can only make it larger
than the box ``Shape.box()`` gives, never smaller (tests/engine/test_bulk.py
checks containment on random inputs, poles and the antimeridian included).

* **polygons** of one ring of at most ``_MAX_FAST_RING_EDGES`` edges: the
  box of the ring as a closed line (``Shape.box`` of such a polygon is its
  ring's bound: in the easy domain below no pole is encircled), validated by
  :func:`rings_clear`: every pair of edges ``Shape._validate_polygon`` could
  judge must be cleared by the very lower bounds of ``_pairs_clear``; any
  other ring is built one by one, which raises what it raises.

Anything else goes through the one-by-one path: polygons with holes or more
edges, and lines and rings outside the easy domain (a sample within 10
degrees of a pole, or spanning more than 90 degrees of longitude), or failing
the validation above (so the error raised is exactly the one-by-one error).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

from deconflict.engine.index import _EPOCH, _MICRO, micros
from deconflict.engine.parts import Part, Role, declaration_parts
from deconflict.engine.rules import applicable_pair_rules
from deconflict.geo.bounds import Box
from deconflict.geo.ellipsoid import BOUND_SAMPLE_SPACING_M, GEOD, M_MIN, MAX_EDGE_M, MAX_SPAN_M
from deconflict.geo.shape import _CLEAR_M, Shape
from deconflict.model import (
    Declaration,
    DeclarationKind,
    Fire,
    Flight,
    LineString,
    Movement,
    Point,
    Polygon,
    Site,
    SiteCategory,
    Waypoint,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Outward padding of every bulk box, in degrees (about 0.1 mm).
PAD_DEG = 1e-9
_PAD_REL = 1e-12
#: Lines with a sample nearer a pole than this, or spanning more longitude,
#: are built one by one (the unwrapping below is exact only away from them).
_MAX_FAST_LAT = 80.0
_MAX_FAST_LON_SPAN = 90.0

_POINT, _LINE, _GIVEN, _POLY = 0, 1, 2, 3
#: Rings with at most this many edges are validated in bulk: all their m(m - 1)/2
#: pairs of edges are bounded at once, and ShapeTooComplex cannot arise (a sweep
#: counts at most m(m - 1) = 56 overlaps, under a budget of at least 256).
_MAX_FAST_RING_EDGES = 8

# -- tags: what the pair rules look at, in a byte ---------------------------------
_KIND_CODE = {k: i for i, k in enumerate(DeclarationKind)}
_TAGS = 256


def tag_of(kind: DeclarationKind, role: Role, forces: bool) -> int:
    """The index tag of a part: its kind, role and whether it is a forces site
    (everything :class:`~deconflict.engine.rules.Selector` matches on)."""
    return _KIND_CODE[kind] * 16 + int(role) * 2 + int(forces)


def part_tag(part: Part) -> int:
    return tag_of(part.kind, part.role, part.forces)


_SITE, _SITE_FORCES = tag_of(DeclarationKind.SITE, Role.SITE, False), tag_of(DeclarationKind.SITE, Role.SITE, True)
_EFFECTS = tag_of(DeclarationKind.FIRE, Role.EFFECTS, False)
_TRAJECTORY = tag_of(DeclarationKind.FIRE, Role.TRAJECTORY, False)
_LEG = {k: tag_of(k, Role.LEG, False) for k in (DeclarationKind.MOVEMENT, DeclarationKind.FLIGHT)}
_CORRIDOR = {k: tag_of(k, Role.CORRIDOR, False) for k in (DeclarationKind.MOVEMENT, DeclarationKind.FLIGHT)}
_AREA = tag_of(DeclarationKind.FLIGHT, Role.AREA, False)
#: An enum member read from its class costs a lookup per declaration (a sixth of a point site's planning).
_FORCES = SiteCategory.FORCES
_PAIR_TAGS: dict[int, BoolArray] = {}


def pair_tags(part: Part) -> BoolArray:
    """Tags (a 256-entry mask for :meth:`GridIndex.query`) of the parts some
    pair rule applies to opposite ``part``: every other part can be skipped
    before it is built. Derived from the rules themselves, once per tag."""
    tag = part_tag(part)
    mask = _PAIR_TAGS.get(tag)
    if mask is None:
        mask = np.zeros(_TAGS, bool)
        probe = Shape.point(0.0, 0.0)
        window = part.window
        for kind, code in _KIND_CODE.items():
            for role in Role:
                for forces in (False, True):
                    other = Part("", "\x00", kind, role, probe, 0.0, window, None, forces=forces)
                    if applicable_pair_rules(part, other):
                        mask[code * 16 + int(role) * 2 + int(forces)] = True
        _PAIR_TAGS[tag] = mask
    return mask


def grow_boxes(
    lon_lo: FloatArray,
    lon_hi: FloatArray,
    lat_lo: FloatArray,
    lat_hi: FloatArray,
    max_abs_lat: FloatArray,
    dist_m: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]:
    """:meth:`SampleBounds.grow` over arrays, padded outwards.

    Returns (lon_lo, lat_lo, lon_hi, lat_hi, full_lon) with the conventions of
    :class:`Box`: ``lon_lo`` in [-180, 180), ``lon_hi`` above 180 when the box
    crosses the antimeridian, latitudes clipped to [-90, 90] when ``full_lon``."""
    d = np.degrees(dist_m / M_MIN) * (1.0 + _PAD_REL) + PAD_DEG
    la = lat_lo - d
    lh = lat_hi + d
    reach = max_abs_lat + d
    full = reach >= 90.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.sin(np.radians(d)) / np.cos(np.radians(np.where(full, 0.0, reach)))
        dlon = np.degrees(np.arcsin(np.minimum(1.0, ratio))) * (1.0 + _PAD_REL) + PAD_DEG
    lo = lon_lo - dlon
    hi = lon_hi + dlon
    full |= (hi - lo) >= 360.0
    shift = np.floor((lo + 180.0) / 360.0) * 360.0
    lo = np.where(full, -180.0, lo - shift)
    hi = np.where(full, 180.0, hi - shift)
    la = np.where(full, np.maximum(la, -90.0), la)
    lh = np.where(full, np.minimum(lh, 90.0), lh)
    return lo, la, hi, lh, full


def point_boxes(lon: FloatArray, lat: FloatArray, radius_m: FloatArray) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, BoolArray
]:
    """Boxes holding every point within ``radius_m`` of each point (``Shape.point(...).box(r)``, padded)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return grow_boxes(lon, lon, lat, lat, np.abs(lat), np.asarray(radius_m, dtype=np.float64))


def _ramp(counts: IntArray) -> IntArray:
    """0..c-1 for each count c, concatenated."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def line_boxes(
    lon: FloatArray, lat: FloatArray, first: IntArray, count: IntArray, radius_m: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, BoolArray]:
    """Boxes of polylines grown by ``radius_m``: line ``k`` has the vertices
    ``lon/lat[first[k] : first[k] + count[k]]`` (at least two, no two
    consecutive ones equal).

    Returns (lon_lo, lat_lo, lon_hi, lat_hi, full_lon, slow): ``slow`` marks
    lines to build one by one instead (invalid for :meth:`Shape.build`, or
    outside the domain where this path is exact); their boxes are meaningless.
    """
    n = len(first)
    first = np.asarray(first, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    radius_m = np.asarray(radius_m, dtype=np.float64)
    # Edges, grouped by line in order.
    n_edges = count - 1
    edge_line = np.repeat(np.arange(n, dtype=np.int64), n_edges)
    e0 = np.repeat(first, n_edges) + _ramp(n_edges)
    az, _back, length = GEOD.inv(lon[e0], lat[e0], lon[e0 + 1], lat[e0 + 1])
    az = np.asarray(az, dtype=np.float64)
    length = np.asarray(length, dtype=np.float64)
    edge_starts = np.cumsum(n_edges) - n_edges
    slow = np.maximum.reduceat(length > MAX_EDGE_M, edge_starts) if n else np.zeros(0, bool)
    # Vertices, grouped by line; the span from each line's first vertex, solved
    # only for lines whose edges are longer in all than MAX_SPAN_M less a metre
    # (Shape.build's own shortcut: no vertex is farther from the first than the
    # edges leading to it are long; the metre covers the solver's rounding).
    vline = np.repeat(np.arange(n, dtype=np.int64), count)
    v = np.repeat(first, count) + _ramp(count)
    if n:
        long = np.add.reduceat(length, edge_starts) > MAX_SPAN_M - 1.0
        if long.any():
            far = long[vline]
            _az, _b, span = GEOD.inv(lon[first[vline[far]]], lat[first[vline[far]]], lon[v[far]], lat[v[far]])
            over = np.zeros(len(v), bool)
            over[far] = np.asarray(span) > MAX_SPAN_M
            slow = slow | np.maximum.reduceat(over, np.cumsum(count) - count)
    # Bound samples: each edge's ends, and n - 1 points between when it is
    # longer than the spacing; each sample stands for half a spacing.
    n_mid = np.maximum(0, np.ceil(length / BOUND_SAMPLE_SPACING_M) - 1).astype(np.int64)
    spacing = length / (n_mid + 1)
    slack = spacing / 2.0
    edge_slack = np.maximum.reduceat(slack, edge_starts) if n else np.zeros(0)
    m = np.repeat(np.arange(len(e0), dtype=np.int64), n_mid)
    if len(m):
        k = _ramp(n_mid) + 1
        mlon, mlat, _ = GEOD.fwd(lon[e0[m]], lat[e0[m]], az[m], k * spacing[m])
        s_lon = np.concatenate((lon[v], np.asarray(mlon, dtype=np.float64)))
        s_lat = np.concatenate((lat[v], np.asarray(mlat, dtype=np.float64)))
        s_line = np.concatenate((vline, edge_line[m]))
    else:
        s_lon, s_lat, s_line = lon[v], lat[v], vline
    # Longitudes unwrapped against each line's first vertex. Consecutive
    # samples are at most a spacing apart, so away from the poles a line whose
    # samples so unwrapped span less than 180 degrees is that continuous line,
    # in the frame SampleBounds.of and merge() give it.
    lon0 = lon[first][s_line]
    un = lon0 + ((s_lon - lon0 + 180.0) % 360.0 - 180.0)
    big = np.full(n, np.inf)
    lo = big.copy()
    hi = -big
    la = big.copy()
    lh = -big
    mx = np.zeros(n)
    np.minimum.at(lo, s_line, un)
    np.maximum.at(hi, s_line, un)
    np.minimum.at(la, s_line, s_lat)
    np.maximum.at(lh, s_line, s_lat)
    np.maximum.at(mx, s_line, np.abs(s_lat))
    slow |= (mx > _MAX_FAST_LAT) | ((hi - lo) > _MAX_FAST_LON_SPAN)
    blo, bla, bhi, blh, full = grow_boxes(lo, hi, la, lh, mx, radius_m + edge_slack)
    return blo, bla, bhi, blh, full, slow


def _inv_dist(lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray) -> FloatArray:
    """Geodesic distances element by element, in the shape of ``lon1``."""
    _az, _back, dist = GEOD.inv(lon1.ravel(), lat1.ravel(), lon2.ravel(), lat2.ravel())
    return np.asarray(dist, dtype=np.float64).reshape(lon1.shape)


def rings_clear(lon: FloatArray, lat: FloatArray, first: IntArray, count: IntArray) -> BoolArray:
    """For closed rings (ring ``k``: the vertices ``lon/lat[first[k] : first[k] +
    count[k]]``, the last equal to the first), True where ``Shape._validate_polygon``
    would certainly accept the ring as a polygon's only ring: every pair of its
    edges, adjacent or not (a superset of the pairs that validation judges), is
    cleared by the lower bounds of ``geo.shape._pairs_clear``. Each pair of
    vertices' distance is solved once, in one direction (geographiclib's inverse
    is accurate to nanometres either way, well within the micrometre ``_CLEAR_M``
    keeps for the solver's rounding). False means only "not proven here": such
    rings are built one by one. Rings of fewer than 3 or more than
    ``_MAX_FAST_RING_EDGES`` edges are not proven."""
    out = np.zeros(len(first), bool)
    edges = np.asarray(count, np.int64) - 1
    for m in np.unique(edges).tolist():
        if m < 3 or m > _MAX_FAST_RING_EDGES:
            continue
        sel = np.flatnonzero(edges == m)
        v = np.asarray(first, np.int64)[sel][:, None] + np.arange(m)
        x, y = lon[v], lat[v]
        ii, jj = np.triu_indices(m, 1)
        dist = np.zeros((len(sel), m, m))
        dist[:, ii, jj] = _inv_dist(x[:, ii], y[:, ii], x[:, jj], y[:, jj])
        dist[:, jj, ii] = dist[:, ii, jj]

        def d(a: IntArray, b: IntArray, dist: FloatArray = dist, m: int = m) -> FloatArray:
            return dist[:, a % m, b % m]

        idx = np.arange(m)
        length = d(idx, idx + 1)  # edge i: vertex i to vertex i + 1
        ok = (length > 0.0).all(axis=1)
        # Adjacent edges (i, i + 1), and the last with the first: the distance
        # between the far ends (of e ending where f starts: e's start, f's end).
        ea = np.array([*range(m - 1), 0])
        eb = np.array([*range(1, m), m - 1])
        far = d(np.array([*range(m - 1), m - 1]), np.array([*range(2, m + 1), 1]))
        la, lb = length[:, ea], length[:, eb]
        ok &= (np.minimum(far + lb - la, far + la - lb) / 2.0 > _CLEAR_M).all(axis=1)
        pairs = [(a, b) for a in range(m) for b in range(a + 2, m) if not (a == 0 and b == m - 1)]
        if pairs:
            pa = np.array([a for a, _b in pairs])
            pb = np.array([b for _a, b in pairs])
            ac, ad, bc, bd = d(pa, pb), d(pa, pb + 1), d(pa + 1, pb), d(pa + 1, pb + 1)
            lower = (np.maximum(ac + bd, ad + bc) - length[:, pa] - length[:, pb]) / 2.0
            ok &= (lower > _CLEAR_M).all(axis=1)
        out[sel] = ok
    return out


def _fast_ring(g: Polygon) -> bool:
    """A polygon whose box and validation :class:`Batch` may compute in bulk."""
    return len(g.rings) == 1 and len(g.rings[0]) <= _MAX_FAST_RING_EDGES + 1


class Batch:
    """The parts of many declarations, planned without building shapes.

    ``add`` plans one declaration's parts in the order ``declaration_parts``
    gives them (it builds polygons at once, and raises what building raises);
    ``compute`` finds every point and line part's box; declarations listed by
    ``slow()`` must then be built one by one and passed to ``resolve``.
    """

    def __init__(self) -> None:
        self.decls: list[Declaration] = []
        self._decl_first = array("q")
        # Per part: kind, t0, t1 (microseconds), its first vertex in _xy, its tag.
        self._ints = array("q")
        self._radius = array("d")
        self._xy = array("d")  # lon, lat of each vertex
        self._given: dict[int, Box] = {}
        self._box: FloatArray = np.empty((0, 4))
        self._full: BoolArray = np.empty(0, bool)
        self._slow: list[int] = []

    def __len__(self) -> int:
        return len(self.decls)

    @property
    def n_parts(self) -> int:
        return len(self._radius)

    # -- planning -------------------------------------------------------------
    def _point(self, lon: float, lat: float, radius_m: float, t0: int, t1: int, tag: int) -> None:
        self._ints.extend((_POINT, t0, t1, len(self._xy) >> 1, tag))
        self._radius.append(radius_m)
        self._xy.extend((lon, lat))

    def _line(
        self, coords: Sequence[tuple[float, float]], radius_m: float, t0: int, t1: int, tag: int
    ) -> None:
        self._ints.extend((_LINE, t0, t1, len(self._xy) >> 1, tag))
        self._radius.append(radius_m)
        self._xy.extend(chain.from_iterable(coords))

    def _ring(
        self, coords: Sequence[tuple[float, float]], radius_m: float, t0: int, t1: int, tag: int
    ) -> None:
        self._line(coords, radius_m, t0, t1, tag)
        self._ints[-5] = _POLY

    def _given_parts(self, parts: list[Part]) -> None:
        for part in parts:
            self._given[self.n_parts] = part.shape.box(part.radius_m)
            self._ints.extend((_GIVEN, micros(part.window.start), micros(part.window.end), len(self._xy) >> 1,
                               part_tag(part)))
            self._radius.append(part.radius_m)

    def _legs(self, waypoints: tuple[Waypoint, ...], radius_m: float, tag: int) -> None:
        times = [(w.time - _EPOCH) // _MICRO for w in waypoints]
        for i in range(len(waypoints) - 1):
            a, b = waypoints[i].position, waypoints[i + 1].position
            if (a.lon, a.lat) == (b.lon, b.lat):
                self._point(a.lon, a.lat, radius_m, times[i], times[i + 1], tag)
            else:
                self._line(((a.lon, a.lat), (b.lon, b.lat)), radius_m, times[i], times[i + 1], tag)

    def add(self, decl: Declaration) -> None:
        """Plan ``decl``'s parts. Raises what building them raises, for the
        parts built here (polygons); lines are validated in ``compute``."""
        # Point sites and fires are most of a theatre: their paths are inline.
        if isinstance(decl, Site):
            g = decl.geometry
            if isinstance(g, Point):
                w = decl.window
                self._decl_first.append(len(self._radius))
                self.decls.append(decl)
                tag = _SITE_FORCES if decl.category is _FORCES else _SITE
                self._ints.extend((_POINT, (w.start - _EPOCH) // _MICRO, (w.end - _EPOCH) // _MICRO,
                                   len(self._xy) >> 1, tag))
                self._radius.append(decl.protection_m)
                self._xy.extend((g.lon, g.lat))
                return
            simple = isinstance(g, LineString) or (isinstance(g, Polygon) and _fast_ring(g))
        elif isinstance(decl, Fire):
            target = decl.target
            if isinstance(target, Point) and decl.origin is None:
                w = decl.window
                self._decl_first.append(len(self._radius))
                self.decls.append(decl)
                self._ints.extend((_POINT, (w.start - _EPOCH) // _MICRO, (w.end - _EPOCH) // _MICRO,
                                   len(self._xy) >> 1, _EFFECTS))
                self._radius.append(decl.effects_radius_m)
                self._xy.extend((target.lon, target.lat))
                return
            simple = isinstance(target, Point)
        elif isinstance(decl, Flight):
            area = decl.geometry
            simple = area is None or isinstance(area, (Point, LineString)) or (
                isinstance(area, Polygon) and _fast_ring(area))
        else:
            simple = True
        if not simple:
            parts = declaration_parts(decl)
            self._decl_first.append(len(self._radius))
            self.decls.append(decl)
            self._given_parts(parts)
            return
        self._decl_first.append(len(self._radius))
        self.decls.append(decl)
        w = decl.window
        t0, t1 = (w.start - _EPOCH) // _MICRO, (w.end - _EPOCH) // _MICRO
        if isinstance(decl, Site):
            tag = _SITE_FORCES if decl.category is _FORCES else _SITE
            if isinstance(decl.geometry, Polygon):
                self._ring(decl.geometry.rings[0], decl.protection_m, t0, t1, tag)
            else:
                assert isinstance(decl.geometry, LineString)
                self._line(decl.geometry.coords, decl.protection_m, t0, t1, tag)
        elif isinstance(decl, Fire):
            target = decl.target
            assert isinstance(target, Point)
            self._point(target.lon, target.lat, decl.effects_radius_m, t0, t1, _EFFECTS)
            origin = decl.origin
            if origin is not None and decl.max_ordinate is not None:
                if (origin.lon, origin.lat) != (target.lon, target.lat):
                    self._line(((origin.lon, origin.lat), (target.lon, target.lat)),
                               decl.trajectory_half_width_m, t0, t1, _TRAJECTORY)
                else:
                    self._point(target.lon, target.lat, decl.trajectory_half_width_m, t0, t1, _TRAJECTORY)
        elif isinstance(decl, Movement):
            if decl.waypoints:
                self._legs(decl.waypoints, decl.half_width_m, _LEG[decl.kind])
            else:
                assert decl.route is not None
                self._line(decl.route.coords, decl.half_width_m, t0, t1, _CORRIDOR[decl.kind])
        else:
            assert isinstance(decl, Flight)
            if decl.waypoints:
                self._legs(decl.waypoints, decl.half_width_m, _LEG[decl.kind])
            elif isinstance(decl.geometry, Point):
                self._point(decl.geometry.lon, decl.geometry.lat, decl.half_width_m, t0, t1, _AREA)
            elif isinstance(decl.geometry, Polygon):
                self._ring(decl.geometry.rings[0], decl.half_width_m, t0, t1, _AREA)
            else:
                assert isinstance(decl.geometry, LineString)
                self._line(decl.geometry.coords, decl.half_width_m, t0, t1, _CORRIDOR[decl.kind])

    # -- boxes -----------------------------------------------------------------
    def _columns(self) -> npt.NDArray[np.int64]:
        if not self._ints:
            return np.empty((0, 5), np.int64)
        return np.frombuffer(self._ints, dtype=np.int64).reshape(-1, 5)

    def compute(self) -> None:
        """Boxes of all planned point and line parts."""
        n = self.n_parts
        cols = self._columns()
        kind, vfirst = cols[:, 0], cols[:, 3]
        radius = np.frombuffer(self._radius, dtype=np.float64) if n else np.empty(0)
        xy = np.frombuffer(self._xy, dtype=np.float64).reshape(-1, 2) if self._xy else np.empty((0, 2))
        lon, lat = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        box = np.zeros((n, 4))
        full = np.zeros(n, bool)
        slow = np.zeros(n, bool)
        pts = np.flatnonzero(kind == _POINT)
        if len(pts):
            v = vfirst[pts]
            lo, la, hi, lh, f = point_boxes(lon[v], lat[v], radius[pts])
            box[pts] = np.column_stack((lo, la, hi, lh))
            full[pts] = f
        lines = np.flatnonzero((kind == _LINE) | (kind == _POLY))
        if len(lines):
            vend = np.append(vfirst[1:], len(lon))
            lo, la, hi, lh, f, s = line_boxes(
                lon, lat, vfirst[lines], vend[lines] - vfirst[lines], radius[lines]
            )
            box[lines] = np.column_stack((lo, la, hi, lh))
            full[lines] = f
            slow[lines] = s
            rings = np.flatnonzero(kind == _POLY)
            if len(rings):
                slow[rings] |= ~rings_clear(lon, lat, vfirst[rings], vend[rings] - vfirst[rings])
        self._box, self._full = box, full
        decl_first = np.frombuffer(self._decl_first, dtype=np.int64) if self.decls else np.empty(0, np.int64)
        owner = np.searchsorted(decl_first, np.flatnonzero(slow), "right") - 1
        self._slow = np.unique(owner).tolist()

    def slow(self) -> list[int]:
        """Indices (ascending) of declarations to build one by one (after ``compute``)."""
        return list(self._slow)

    def resolve(self, i: int, parts: list[Part]) -> None:
        """Use the boxes of ``parts`` (``declaration_parts`` of declaration ``i``)."""
        first, end = self._decl_first[i], self._part_end(i + 1)
        if len(parts) != end - first:
            raise AssertionError(f"bulk plan of {self.decls[i].id!r} has {end - first} parts, not {len(parts)}")
        for k, part in enumerate(parts):
            self._given[first + k] = part.shape.box(part.radius_m)
            self._ints[5 * (first + k)] = _GIVEN

    # -- results ---------------------------------------------------------------
    def first_parts(self, n_decls: int) -> list[int]:
        """Index of the first part of each of the first ``n_decls``
        declarations, and one past the last part of the last of them."""
        return [*self._decl_first[:n_decls], self._part_end(n_decls)]

    def _part_end(self, n_decls: int) -> int:
        return self._decl_first[n_decls] if n_decls < len(self.decls) else self.n_parts

    def entries(self, n_decls: int) -> tuple[IntArray, IntArray, IntArray, FloatArray, npt.NDArray[np.uint8]]:
        """(t0, t1, e_part, e_box, tags) of the first ``n_decls`` declarations'
        parts, for :meth:`GridIndex.add_many` (boxes split at the antimeridian)."""
        n = self._part_end(n_decls)
        if not n:
            empty = np.empty(0, np.int64)
            return empty, empty, empty, np.empty((0, 4)), np.empty(0, np.uint8)
        cols = self._columns()[:n]
        t0 = np.ascontiguousarray(cols[:, 1])
        t1 = np.ascontiguousarray(cols[:, 2])
        tags = cols[:, 4].astype(np.uint8)
        ids = np.flatnonzero(cols[:, 0] != _GIVEN)
        box = self._box[ids]
        full = self._full[ids]
        wraps = ~full & (box[:, 2] > 180.0)
        first = box.copy()
        first[wraps, 2] = 180.0
        second = box[wraps]
        second[:, 0] = -180.0
        second[:, 2] -= 360.0
        g_part: list[int] = []
        g_box: list[tuple[float, float, float, float]] = []
        for pid, b in self._given.items():
            if pid < n:
                for q in b.parts():
                    g_part.append(pid)
                    g_box.append(q)
        e_part = np.concatenate((ids, ids[wraps], np.asarray(g_part, dtype=np.int64)))
        e_box = np.concatenate((first, second, np.asarray(g_box, dtype=np.float64).reshape(-1, 4)))
        return t0, t1, e_part, e_box, tags


__all__ = ["PAD_DEG", "Batch", "grow_boxes", "line_boxes", "pair_tags", "part_tag", "point_boxes", "rings_clear",
           "tag_of"]
