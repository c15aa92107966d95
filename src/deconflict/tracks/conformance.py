"""Conformance: every report judged, with the engine's own rules, against the fences in force.

A report is a small 4D activity (:meth:`Report.part`). It is judged against:

* a **deconfliction line** that binds its party and applies to its kind (a
  ground asset is a movement, an aircraft a flight): on the far side ->
  ``track-line-far-side`` (the engine's ``evaluate_line_measure``);
* a **no-fire area, a ROZ, or an air corridor** that binds its party
  (``track-in-no-fire-area``, ``track-in-roz``, ``track-in-air-corridor``; the
  engine's ``evaluate_area_measure``: a ROZ and a corridor in 3D, and a corridor
  only for other parties than its owner). The engine applies NFAs to fire
  effects only; a track inside one is reported too, because fires may be
  planned there on the assumption that nobody is;
* the **protection zone of another party's forces site** (the engine's
  ``movement-into-forces-site``, for ground assets);
* the **4D volume of its linked declaration** (outside every part of it, in
  time, altitude or space -> ``track-outside-declaration``).

Each condition is decided by one exact geodesic distance (the engine's), with
no caution margins: a report is inside or it is not. Moving assets are also
judged along their path over the look-ahead (``predicted``), which gives the
warning before the fact.

The hot path is vectorised with numpy and never decides: a grid over the
fences' conservative boxes, then box, time and altitude tests over arrays, and
for lines a per-asset clearance (the exact distance to the line's boundary at
the last exact decision; a report that has moved less than that, by a
conservative upper bound of the distance moved, is on the same side). Only what
survives these goes to the engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from deconflict.engine.index import micros
from deconflict.engine.parts import Part, declaration_parts, measure_shape
from deconflict.engine.rules import (
    PAIR_RULES,
    _extended,
    evaluate_area_measure,
    evaluate_line_measure,
    evaluate_volumes,
)
from deconflict.geo.chord import CHORD_ROUNDING_M, PRUNE_SLACK_M, capsule_gaps
from deconflict.geo.chord import ecef as chord_ecef
from deconflict.geo.ellipsoid import GEOD, M_MIN
from deconflict.geo.shape import Shape, ShapeType
from deconflict.model import (
    CautionMargins,
    Declaration,
    DeclarationKind,
    FindingKind,
    Measure,
    MeasureKind,
    Site,
    SiteCategory,
)
from deconflict.tracks.report import Report
from deconflict.tracks.vector import NOW, Batch, Decided, Geometry, Witnesses, decide, moved_ub

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: No caution margins: a track is inside or it is not (prediction gives the warning).
EXACT = CautionMargins(0.0, 0.0, 0.0)
#: Grid cells of the fence index, in degrees.
CELL_DEG = 0.25
#: A clearance is trusted up to this (beyond it a new exact decision is cheap anyway).
CLEARANCE_CAP_M = 20_000.0
#: Taken off every clearance and lower bound, added to every upper bound: covers the rounding of the
#: haversine in numpy (relative 1e-12 of the Earth's radius is micrometres).
SLACK_M = 1.0

_FORCES_SITE_RULE = next(r for r in PAIR_RULES if r.name == "movement-into-forces-site")


def _beyond(a: Shape, b: Shape, reach_m: float) -> bool:
    """Whether chords in space prove ``a`` and ``b`` farther apart than ``reach_m``
    (geo/chord.py), so an exact comparison within that reach would answer None.
    Only for a line or polygon against another: against a point, the exact
    distance is about as cheap as the bound."""
    if a.type is ShapeType.POINT or b.type is ShapeType.POINT:
        return False
    return float(capsule_gaps(a.capsules(), b.capsules()).min()) > reach_m + PRUNE_SLACK_M

RULES = {
    "line": ("track-line-far-side", FindingKind.VIOLATION,
             "on the far side of a deconfliction line that binds its party"),
    MeasureKind.NO_FIRE_AREA: ("track-in-no-fire-area", FindingKind.VIOLATION, "inside a no-fire area"),
    MeasureKind.RESTRICTED_OPERATIONS_ZONE: ("track-in-roz", FindingKind.VIOLATION,
                                             "inside a restricted operations zone that binds it"),
    MeasureKind.AIR_CORRIDOR: ("track-in-air-corridor", FindingKind.VIOLATION,
                               "inside another party's air corridor"),
    "site": ("track-in-forces-site", FindingKind.CONFLICT,
             "inside the protection zone of another party's forces site"),
    "declaration": ("track-outside-declaration", FindingKind.VIOLATION,
                    "outside the 4D volume of its declared movement or flight"),
}


@dataclass(frozen=True, slots=True)
class Hit:
    """One condition of one report: ``rule`` about ``object_id``; ``predicted``
    with the seconds until it would begin (None: it holds now)."""

    report: int
    rule: str
    kind: FindingKind
    object_id: str
    object_type: str  # "measure" or "declaration"
    object_kind: str
    owner: str
    summary: str
    in_s: float | None = None
    lon: float = math.nan  # a point of the object (for the CoT picture of the alert)
    lat: float = math.nan


@dataclass(slots=True)
class Fence:
    key: str
    obj: Measure | Site
    shape: Shape
    radius: float
    t0: int
    t1: int
    z0: float
    z1: float
    air: bool
    ground: bool

    @property
    def measure(self) -> Measure | None:
        return self.obj if isinstance(self.obj, Measure) else None


@dataclass(slots=True)
class _Line:
    measure: Measure
    shape: Shape
    t0: int
    t1: int
    area: Shape | None = None  # the area of application, when given as a polygon
    ext_cache: dict[int, Shape] = field(default_factory=dict)


def _cap_deg(lat: FloatArray, radius_m: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """(dlat, dlon) of a box bounding every point within ``radius_m`` (the spherical-cap bound)."""
    dlat = np.degrees(np.asarray(radius_m) / M_MIN) + 1e-9
    top = np.minimum(np.abs(lat) + dlat, 90.0)
    cos = np.cos(np.radians(top))
    with np.errstate(divide="ignore"):
        dlon = np.where(top >= 89.9, 360.0, np.minimum(360.0, dlat / np.maximum(cos, 1e-12)))
    return np.broadcast_to(dlat, lat.shape).astype(np.float64), dlon.astype(np.float64)


class Fences:
    """The fences in force, compiled for tracks: area measures and forces sites
    on a grid; lines apart (a side is not a box)."""

    def __init__(self, measures: Iterable[Measure], declarations: Iterable[Declaration]) -> None:
        self.fences: list[Fence] = []
        self.lines: list[_Line] = []
        for m in measures:
            self._add_measure(m)
        for d in declarations:
            if isinstance(d, Site) and d.category is SiteCategory.FORCES:
                self._add_site(d)
        self._compile()

    def _add_measure(self, m: Measure) -> None:
        shape = measure_shape(m)
        t0, t1 = micros(m.window.start), micros(m.window.end)
        if m.kind is MeasureKind.DECONFLICTION_LINE:
            area = None if m.application_area is None else Shape.of(m.application_area, "application_area")
            self.lines.append(_Line(m, shape, t0, t1, area))
            return
        if m.kind not in RULES:
            return  # restrictive fire areas and lines govern fires only
        z0, z1 = (-math.inf, math.inf) if m.altitude is None else (m.altitude.lower_m, m.altitude.upper_m)
        air = True
        ground = m.kind is MeasureKind.NO_FIRE_AREA
        self.fences.append(Fence(f"m:{m.id}", m, shape, m.half_width_m, t0, t1, z0, z1, air, ground))

    def _add_site(self, s: Site) -> None:
        shape = declaration_parts(s)[0].shape
        self.fences.append(Fence(f"d:{s.id}", s, shape, s.protection_m, micros(s.window.start),
                                 micros(s.window.end), -math.inf, math.inf, False, True))

    def _compile(self) -> None:
        rows: list[tuple[int, float, float, float, float]] = []
        for i, f in enumerate(self.fences):
            for lo0, la0, lo1, la1 in f.shape.box(f.radius).parts():
                rows.append((i, lo0, la0, lo1, la1))
        n = len(self.fences)
        self.t0 = np.array([f.t0 for f in self.fences], dtype=np.int64)
        self.t1 = np.array([f.t1 for f in self.fences], dtype=np.int64)
        self.z0 = np.array([f.z0 for f in self.fences], dtype=np.float64)
        self.z1 = np.array([f.z1 for f in self.fences], dtype=np.float64)
        self.air = np.array([f.air for f in self.fences], dtype=bool)
        self.ground = np.array([f.ground for f in self.fences], dtype=bool)
        self.owner = [f.obj.owner for f in self.fences]
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        self.box_fence = arr[:, 0].astype(np.int64)
        self.box = arr[:, 1:5]
        # One box per fence holding its boxes (a fence split at the antimeridian: every longitude).
        self.f_lon0 = np.full(n, np.inf)
        self.f_lon1 = np.full(n, -np.inf)
        self.f_lat0 = np.full(n, np.inf)
        self.f_lat1 = np.full(n, -np.inf)
        np.minimum.at(self.f_lon0, self.box_fence, self.box[:, 0])
        np.maximum.at(self.f_lon1, self.box_fence, self.box[:, 2])
        np.minimum.at(self.f_lat0, self.box_fence, self.box[:, 1])
        np.maximum.at(self.f_lat1, self.box_fence, self.box[:, 3])
        # Grid: every cell a box touches lists the box. A second grid lists only the
        # fences that apply to the air: an asset wholly in the air (a long path ahead,
        # a large box) is asked of it alone, and meets a fifth of the boxes here.
        self._grid = self._cells(np.arange(len(self.box), dtype=np.int64))
        self._air_grid = self._cells(np.flatnonzero(self.air[self.box_fence]))
        self._binds: dict[str, BoolArray] = {}
        self.n = n
        self.geometry = Geometry.of(self.fences)
        self.geometry.box = np.stack([self.f_lon0, self.f_lat0, self.f_lon1, self.f_lat1], axis=1)

    def _cells(self, boxes: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """A grid over ``boxes`` (indices into self.box): (cell keys, each cell's start and
        end in the box list, the box list)."""
        cells_f: list[np.ndarray] = []
        cells_c: list[np.ndarray] = []
        for b in boxes.tolist():
            lo0, la0, lo1, la1 = self.box[b].tolist()
            cx0, cx1 = math.floor((lo0 + 180) / CELL_DEG), math.floor((lo1 + 180) / CELL_DEG)
            cy0, cy1 = math.floor((la0 + 90) / CELL_DEG), math.floor((la1 + 90) / CELL_DEG)
            xs, ys = np.meshgrid(np.arange(cx0, cx1 + 1), np.arange(cy0, cy1 + 1))
            cells_c.append((ys.ravel() * _NX + xs.ravel()).astype(np.int64))
            cells_f.append(np.full(xs.size, b, dtype=np.int64))
        if not cells_c:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        cc, ff = np.concatenate(cells_c), np.concatenate(cells_f)
        order = np.argsort(cc, kind="stable")
        keys, starts = np.unique(cc[order], return_index=True)
        return (keys.astype(np.int64), starts.astype(np.int64), np.append(starts[1:], len(cc)).astype(np.int64),
                ff[order])

    def binds(self, party: str) -> BoolArray:
        """Which fences bind ``party`` (a site binds every other party)."""
        got = self._binds.get(party)
        if got is None:
            vals = []
            for f in self.fences:
                m = f.measure
                if m is None:
                    vals.append(party not in (f.obj.owner, ""))
                elif m.kind is MeasureKind.AIR_CORRIDOR:
                    vals.append(m.owner != party and m.binds_party(party))
                else:
                    vals.append(m.binds_party(party))
            got = np.array(vals, dtype=bool)
            self._binds[party] = got
        return got

    # -- candidates -------------------------------------------------------------------
    def candidates(self, lon_lo: FloatArray, lon_hi: FloatArray, lat_lo: FloatArray,
                   lat_hi: FloatArray, air_only: BoolArray | None = None) -> tuple[IntArray, IntArray]:
        """(report index, fence index) pairs whose boxes may meet the reports' boxes
        (``lon_hi`` may pass 180 for a box across the antimeridian; a box wider than
        360 degrees covers every longitude): over-selects, never drops. ``air_only``:
        the reports for which only the fences that apply to the air are wanted.
        Sorted by report, then fence."""
        n = len(lon_lo)
        if not n:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if air_only is None or not air_only.any():
            key = self._query(self._grid, np.arange(n, dtype=np.int64), lon_lo, lon_hi, lat_lo, lat_hi)
        else:
            # Two disjoint sets of reports: their keys (report, fence) never collide.
            key = np.sort(np.concatenate([
                self._query(self._grid, np.flatnonzero(~air_only), lon_lo, lon_hi, lat_lo, lat_hi),
                self._query(self._air_grid, np.flatnonzero(air_only), lon_lo, lon_hi, lat_lo, lat_hi)]))
        return (key // max(self.n, 1)).astype(np.int64), (key % max(self.n, 1)).astype(np.int64)

    def _query(self, grid: tuple[IntArray, IntArray, IntArray, IntArray], rows: IntArray, lon_lo: FloatArray,
               lon_hi: FloatArray, lat_lo: FloatArray, lat_hi: FloatArray) -> IntArray:
        """The keys ``report * n + fence`` (sorted, once each) of the boxes in ``grid``
        that may meet the boxes of reports ``rows``."""
        cell_keys, cell_start, cell_end, cell_boxes = grid
        if not len(cell_keys) or not len(rows):
            return np.zeros(0, dtype=np.int64)
        lon_lo, lon_hi, lat_lo, lat_hi = lon_lo[rows], lon_hi[rows], lat_lo[rows], lat_hi[rows]
        n = len(rows)
        full = (lon_hi - lon_lo) >= 360.0
        x0 = np.floor((lon_lo + 180) / CELL_DEG).astype(np.int64)
        x1 = np.where(full, x0 + _NX - 1, np.floor((lon_hi + 180) / CELL_DEG).astype(np.int64))
        y0 = np.maximum(0, np.floor((lat_lo + 90) / CELL_DEG).astype(np.int64))
        y1 = np.minimum(_NY - 1, np.floor((lat_hi + 90) / CELL_DEG).astype(np.int64))
        nx, ny = x1 - x0 + 1, y1 - y0 + 1
        per = nx * ny
        # Every cell of every report's box, without a Python loop.
        r_all = np.repeat(np.arange(n, dtype=np.int64), per)
        k = np.arange(int(per.sum()), dtype=np.int64) - np.repeat(np.cumsum(per) - per, per)
        cx = (x0[r_all] + k % nx[r_all]) % _NX
        cy = y0[r_all] + k // nx[r_all]
        c_all = cy * _NX + cx
        pos = np.searchsorted(cell_keys, c_all)
        pos = np.minimum(pos, len(cell_keys) - 1)
        found = cell_keys[pos] == c_all
        r_all, pos = r_all[found], pos[found]
        counts = cell_end[pos] - cell_start[pos]
        reps = np.repeat(r_all, counts)
        # The box ids of each cell, concatenated.
        offs = np.repeat(cell_start[pos] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        boxes = cell_boxes[offs]
        b = self.box[boxes]
        ok = (lat_hi[reps] >= b[:, 1]) & (lat_lo[reps] <= b[:, 3])
        # Longitude with wrap (fence boxes are split at the antimeridian).
        rl0, rl1 = lon_lo[reps], lon_hi[reps]
        lo_ok = full[reps].copy()
        for shift in (-360.0, 0.0, 360.0):
            lo_ok |= (rl1 + shift >= b[:, 0]) & (rl0 + shift <= b[:, 2])
        ok &= lo_ok
        # A fence's box in several cells of a report's box is met once per cell: once is enough.
        key: IntArray = np.unique(rows[reps[ok]] * self.n + self.box_fence[boxes[ok]])
        return key


_NX = round(360 / CELL_DEG)
_NY = round(180 / CELL_DEG)


@dataclass(slots=True)
class _Clearance:
    lon: float
    lat: float
    clear_m: float
    far: bool


class Judge:
    """Judges batches of reports; keeps per-asset clearances for lines and linked volumes."""

    def __init__(self, fences: Fences, lookahead_s: float = 600.0) -> None:
        self.fences = fences
        self.lookahead_s = lookahead_s
        self._line_clear: dict[tuple[str, str], _Clearance] = {}
        self.witnesses = Witnesses()
        self.exact_checks = 0
        self.cache_hits = 0
        self.away_skips = 0
        self._swept_memo: tuple[Report, Part | None] | None = None

    def _swept(self, r: Report) -> Part | None:
        """The report's path ahead, built once per report (many fences may ask)."""
        memo = self._swept_memo
        if memo is not None and memo[0] is r:
            return memo[1]
        part = r.swept(self.lookahead_s)
        self._swept_memo = (r, part)
        return part

    def judge(self, reports: Sequence[Report], links: dict[str, list[Part]] | None = None) -> list[Hit]:
        """Every condition of every report (in report order), present and predicted."""
        n = len(reports)
        if n == 0:
            return []
        b = Batch.of(reports)
        lon, lat, t, air = b.lon, b.lat, b.t, b.air
        sweep = np.where(b.moving(), b.speed * self.lookahead_s, 0.0)
        # -- areas and sites ----------------------------------------------------------
        decided, hits = self.judge_areas(b, reports)
        fz = self.fences
        for i, f, what, in_s in zip(decided.r.tolist(), decided.f.tolist(), decided.what.tolist(),
                                    decided.in_s.tolist(), strict=True):
            fence = fz.fences[f]
            key: object = fence.obj.kind if isinstance(fence.obj, Measure) else "site"
            where = (float(fence.shape.rings[0].lons[0]), float(fence.shape.rings[0].lats[0]))
            hits.append(self._hit(i, key, fence.obj, None if what == NOW else in_s, where))
        # -- lines ----------------------------------------------------------------------
        for line in fz.lines:
            self._judge_line(line, reports, lon, lat, t, air, sweep, hits)
        # -- linked declarations --------------------------------------------------------
        if links:
            for i, r in enumerate(reports):
                parts = links.get(r.uid)
                if parts is not None:
                    h = self._outside(i, r, parts)
                    if h is not None:
                        hits.append(h)
        hits.sort(key=lambda h: h.report)
        return hits

    def judge_areas(self, b: Batch, reports: Sequence[Report] | None = None) -> tuple[Decided, list[Hit]]:
        """The area fences (measures and forces sites) over a batch, vectorised: the
        pairs the bounds decide (arrays), and the engine's hits on the pairs they
        leave (tracks/vector.py). ``reports``: the batch's reports, when at hand."""
        fz = self.fences
        moving = b.moving()
        sweep = np.where(moving, b.speed * self.lookahead_s, 0.0)
        la_us = int(self.lookahead_s * 1e6)
        ahead_lon = np.full(len(b), math.nan)
        ahead_lat = np.full(len(b), math.nan)
        mv = np.nonzero(moving)[0]
        if len(mv):
            elon, elat, _ = GEOD.fwd(b.lon[mv], b.lat[mv], b.course[mv], sweep[mv])
            ahead_lon[mv], ahead_lat[mv] = elon, elat
        binds = np.stack([fz.binds(p) for p in b.parties]) if b.parties else np.zeros((0, fz.n), dtype=bool)
        ri, ff = self._candidates(b, *self._boxes(b.lon, b.lat, ahead_lon, ahead_lat, sweep), binds, la_us)
        empty = np.zeros(0, dtype=np.int64)
        if not len(ri):
            return Decided(empty, empty, empty, np.zeros(0), empty, empty, np.zeros(0, dtype=bool)), []
        tt = b.t[ri]
        # Now: t in [t0, t1); predicted: [t, t + lookahead) meets [t0, t1).
        now_t = (fz.t0[ff] <= tt) & (tt < fz.t1[ff])
        pred_t = moving[ri] & (fz.t0[ff] < tt + la_us) & (tt < fz.t1[ff])
        za = b.alt[ri]
        is_air = b.air[ri]
        band = ~is_air | ((fz.z0[ff] <= za) & (za <= fz.z1[ff]))
        kind_ok = np.where(is_air, fz.air[ff], fz.ground[ff])
        keep = (now_t | pred_t) & band & kind_ok & binds[b.party[ri], ff]
        ri, ff, now_t, pred_t = ri[keep], ff[keep], now_t[keep], pred_t[keep]
        decided = decide(fz.geometry, b, ri, ff, now_t, pred_t, fz.t0, self.lookahead_s, (ahead_lon, ahead_lat),
                         self.witnesses)
        hits: list[Hit] = []
        for i, f, nt in zip(decided.engine_r.tolist(), decided.engine_f.tolist(), decided.engine_now.tolist(),
                            strict=True):
            r = reports[i] if reports is not None else b.report(i)
            h = self._exact_area(i, r, fz.fences[f], nt)
            if h is not None:
                hits.append(h)
        return decided, hits

    def _candidates(self, b: Batch, lon_lo: FloatArray, lon_hi: FloatArray, lat_lo: FloatArray,
                    lat_hi: FloatArray, binds: BoolArray | None = None, la_us: int = 0
                    ) -> tuple[IntArray, IntArray]:
        """(report, fence) pairs whose boxes may meet. The grid is asked once per asset
        (the union of its reports' boxes: an asset's reports in a batch are close
        together), then each of its reports is tested against each fence's box.
        With ``binds`` (party code x fence) and the look-ahead ``la_us``, an (asset,
        fence) pair that none of the asset's reports could keep in judge_areas (its
        window, altitude band, air or ground, binding) is dropped before that: what
        judge_areas keeps of the pairs is the same, with fewer to expand and test."""
        fz = self.fences
        order = np.argsort(b.uid, kind="stable")
        u = b.uid[order]
        starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
        counts = np.diff(np.r_[starts, len(u)])
        g_lo = np.minimum.reduceat(lon_lo[order], starts)
        g_hi = np.maximum.reduceat(lon_hi[order], starts)
        g_la0 = np.minimum.reduceat(lat_lo[order], starts)
        g_la1 = np.maximum.reduceat(lat_hi[order], starts)
        # An asset whose reports are all in the air is kept only with fences that apply
        # to the air (judge_areas' kind test): it is asked of the air grid alone.
        all_air = ~np.logical_or.reduceat(~b.air[order], starts) if binds is not None else None
        gi, ff = fz.candidates(g_lo, g_hi, g_la0, g_la1, all_air)
        if not len(gi):
            return gi, ff
        if binds is not None:
            gi, ff = self._may_keep(b, order, starts, gi, ff, binds, la_us)
            if not len(gi):
                return gi, ff
        # Each pair (asset, fence) for each report of the asset.
        per = counts[gi]
        pair = np.repeat(np.arange(len(gi), dtype=np.int64), per)
        k = np.arange(int(per.sum()), dtype=np.int64) - np.repeat(np.cumsum(per) - per, per)
        ri = order[starts[gi][pair] + k]
        ff = ff[pair]
        ok = (lat_hi[ri] >= fz.f_lat0[ff]) & (lat_lo[ri] <= fz.f_lat1[ff])
        rl0, rl1 = lon_lo[ri], lon_hi[ri]
        f0, f1 = fz.f_lon0[ff], fz.f_lon1[ff]
        lon_ok = (rl1 - rl0) >= 360.0
        for shift in (-360.0, 0.0, 360.0):
            lon_ok |= (rl1 + shift >= f0) & (rl0 + shift <= f1)
        ok &= lon_ok
        return ri[ok], ff[ok]

    def _may_keep(self, b: Batch, order: IntArray, starts: IntArray, gi: IntArray, ff: IntArray,
                  binds: BoolArray, la_us: int) -> tuple[IntArray, IntArray]:
        """The (asset group ``gi``, fence ``ff``) pairs that at least one of the group's
        reports might keep: judge_areas keeps a pair of report R only when R's instant
        t has t0 <= t (now) or t0 < t + la (ahead), and t < t1; when R is in the air,
        its altitude is in the band and the fence applies to the air (on the ground:
        applies to the ground); and the fence binds R's party. Each test below is
        implied by its per-report test for some report of the group (the least and
        greatest instant and altitude, any air, any ground, a party shared by all)."""
        fz = self.fences
        t = b.t[order]
        t_lo = np.minimum.reduceat(t, starts)[gi]
        t_hi = np.maximum.reduceat(t, starts)[gi]
        ok = (fz.t0[ff] <= t_hi + max(la_us, 0)) & (t_lo < fz.t1[ff])
        air = b.air[order]
        any_air = np.logical_or.reduceat(air, starts)
        any_ground = np.logical_or.reduceat(~air, starts)
        ok &= (any_air[gi] & fz.air[ff]) | (any_ground[gi] & fz.ground[ff])
        # The band only for groups wholly in the air (a report on the ground has none);
        # NaN altitudes are passed over by fmin/fmax (such a report fails its band anyway).
        with np.errstate(invalid="ignore"):
            alt = b.alt[order]
            z_lo = np.fmin.reduceat(alt, starts)[gi]
            z_hi = np.fmax.reduceat(alt, starts)[gi]
            ok &= any_ground[gi] | ((fz.z0[ff] <= z_hi) & (z_lo <= fz.z1[ff]))
        party = b.party[order]
        p_lo = np.minimum.reduceat(party, starts)[gi]
        p_hi = np.maximum.reduceat(party, starts)[gi]
        ok &= (p_lo != p_hi) | binds[p_lo, ff]
        return gi[ok], ff[ok]

    def _boxes(self, lon: FloatArray, lat: FloatArray, ahead_lon: FloatArray, ahead_lat: FloatArray,
               sweep: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Each report's box: its point, or for a moving one its path over the look-ahead
        (the box of both ends, from the exact geodesic, grown by a bound of how far the
        geodesic strays from the straight lon/lat segment between them, doubled)."""
        lon_lo, lon_hi, lat_lo, lat_hi = lon.copy(), lon.copy(), lat.copy(), lat.copy()
        mv = np.nonzero(sweep > 0)[0]
        if len(mv):
            elon, elat = ahead_lon[mv], ahead_lat[mv]
            # Unwrap the end next to the start (paths are far shorter than 180 degrees).
            elon = lon[mv] + ((elon - lon[mv] + 540.0) % 360.0 - 180.0)
            d = sweep[mv]
            top = np.minimum(np.maximum(np.abs(lat[mv]), np.abs(elat)) + np.degrees(d / M_MIN), 89.0)
            stray = d * d * np.tan(np.radians(top)) / (2.0 * M_MIN) + 0.01 * d + 100.0
            # Near a pole the bound above is useless: the whole cap of the path's length.
            stray = np.where(top >= 80.0, d, stray)
            glat, glon = _cap_deg(np.maximum(np.abs(lat[mv]), np.abs(elat)), stray)
            lon_lo[mv] = np.minimum(lon[mv], elon) - glon
            lon_hi[mv] = np.maximum(lon[mv], elon) + glon
            lat_lo[mv] = np.minimum(lat[mv], elat) - glat
            lat_hi[mv] = np.maximum(lat[mv], elat) + glat
        # Normalise: lo in [-180, 180).
        shift = np.floor((lon_lo + 180.0) / 360.0) * 360.0
        return lon_lo - shift, lon_hi - shift, lat_lo, lat_hi

    def _hit(self, i: int, rule_key: object, obj: Measure | Declaration, in_s: float | None,
             where: tuple[float, float]) -> Hit:
        name, kind, summary = RULES[rule_key]  # type: ignore[index]
        if isinstance(obj, Measure):
            return Hit(i, name, kind, obj.id, "measure", obj.kind.value, obj.owner, summary, in_s, *where)
        return Hit(i, name, kind, obj.id, "declaration", obj.kind.value, obj.owner, summary, in_s, *where)

    def _exact_area(self, i: int, r: Report, f: Fence, now_in_window: bool) -> Hit | None:
        self.exact_checks += 1
        part = r.part()
        m = f.measure
        where = (float(f.shape.rings[0].lons[0]), float(f.shape.rings[0].lats[0]))
        key: object = m.kind if m is not None else "site"
        if now_in_window and not _beyond(part.shape, f.shape, (part.radius_m + m.half_width_m) if m is not None
                                         else f.radius):
            if m is not None:
                out = evaluate_area_measure(m, f.shape, part, EXACT)
            else:
                out = evaluate_volumes(part.shape, 0.0, (part.window.start, part.window.end), None,
                                       f.shape, f.radius, (f.obj.window.start, f.obj.window.end), None,
                                       _FORCES_SITE_RULE.three_d, EXACT)
            if out is not None and out.strict:
                return self._hit(i, key, f.obj, None, where)
        swept = self._swept(r)
        if swept is None:
            return None
        # The reach each evaluation below compares the exact distance with (no margins).
        if _beyond(swept.shape, f.shape, (swept.radius_m + m.half_width_m) if m is not None else f.radius):
            return None
        if m is not None:
            out = evaluate_area_measure(m, f.shape, swept, EXACT)
        else:
            out = evaluate_volumes(swept.shape, 0.0, (swept.window.start, swept.window.end), None,
                                   f.shape, f.radius, (f.obj.window.start, f.obj.window.end), None, False, EXACT)
        if out is None or not out.strict:
            return None
        # Time to entry: the exact distance to the zone over the speed (a straight
        # run at the reported speed; never later than the truth along this path).
        d = f.shape.point_distance(r.lon, r.lat)
        in_s = max(0.0, d - f.radius) / r.speed
        start = (f.obj.window.start - r.t).total_seconds()
        return self._hit(i, key, f.obj, max(in_s, start, 0.0), where)

    def _judge_line(self, line: _Line, reports: Sequence[Report], lon: FloatArray, lat: FloatArray,
                    t: IntArray, air: BoolArray, sweep: FloatArray, hits: list[Hit]) -> None:
        m = line.measure
        n = len(reports)
        la_us = int(self.lookahead_s * 1e6)
        kinds = m.applies_to
        party_ok = {p: m.side_of(p) is not None for p in {r.party for r in reports}}
        applies = np.fromiter(
            (party_ok[r.party] and (DeclarationKind.FLIGHT if r.air else DeclarationKind.MOVEMENT) in kinds
             for r in reports), bool, n)
        now_t = (line.t0 <= t) & (t < line.t1)
        pred_t = (sweep > 0) & (line.t0 < t + la_us) & (t < line.t1)
        cand = np.nonzero(applies & (now_t | pred_t))[0]
        if not len(cand):
            return
        # Clearances from the last exact decisions (per asset).
        c_lon = np.full(len(cand), np.nan)
        c_lat = np.full(len(cand), np.nan)
        c_clear = np.full(len(cand), -1.0)
        for j, i in enumerate(cand.tolist()):
            c = self._line_clear.get((reports[i].uid, m.id))
            if c is not None:
                c_lon[j], c_lat[j], c_clear[j] = c.lon, c.lat, c.clear_m
        moved = moved_ub(c_lon, c_lat, lon[cand], lat[cand])
        # Reusable: moved less than the clearance, and the path ahead stays within it too.
        reuse = np.nan_to_num(moved, nan=np.inf) + sweep[cand] < c_clear
        away = self._away(line, lon[cand], lat[cand], sweep[cand], reports, cand)
        for j, i in enumerate(cand.tolist()):
            r = reports[i]
            key = (r.uid, m.id)
            if reuse[j]:
                self.cache_hits += 1
                c = self._line_clear[key]
                if c.far and now_t[i]:
                    hits.append(self._hit(i, "line", m, None, (r.lon, r.lat)))
                continue
            if away[j]:
                # Outside the line's area of application, now and along the path:
                # the engine answers None (and keeps no clearance).
                self.away_skips += 1
                self._line_clear.pop(key, None)
                continue
            h = self._exact_line(i, r, line, bool(now_t[i]))
            if h is not None:
                hits.append(h)

    def _away(self, line: _Line, lon: FloatArray, lat: FloatArray, sweep: FloatArray, reports: Sequence[Report],
              idx: IntArray) -> BoolArray:
        """Which reports, with their paths ahead, are farther from the line than its
        area of application, by chords (geo/chord.py: a lower bound of the geodesic
        distance, so the engine's distance is past the reach too and it answers
        None). Not for an area of application given as a polygon."""
        n = len(lon)
        if line.area is not None or not n:
            return np.zeros(n, dtype=bool)
        p0 = chord_ecef(lon, lat)
        p1 = p0.copy()
        pad = np.zeros(n)
        mv = np.nonzero(sweep > 0)[0]
        if len(mv):
            crs = np.fromiter((reports[i].course for i in idx[mv].tolist()), np.float64, len(mv))
            elon, elat, _ = GEOD.fwd(lon[mv], lat[mv], crs, sweep[mv])
            p1[mv] = chord_ecef(np.asarray(elon, dtype=np.float64), np.asarray(elat, dtype=np.float64))
            c = np.linalg.norm(p1[mv] - p0[mv], axis=1)
            pad[mv] = 0.5 * np.sqrt((np.maximum(sweep[mv] - c, 0.0) + CHORD_ROUNDING_M) * (sweep[mv] + c))
        caps = np.concatenate([p0, p1, pad[:, None]], axis=1)
        gaps = capsule_gaps(caps, line.shape.capsules()).min(axis=1)
        out: BoolArray = gaps > line.measure.application_m + PRUNE_SLACK_M
        return out

    def _exact_line(self, i: int, r: Report, line: _Line, now_in_window: bool) -> Hit | None:
        self.exact_checks += 1
        m = line.measure
        own = m.side_of(r.party)
        assert own is not None
        part = r.part()
        out = evaluate_line_measure(m, line.shape, part, own, EXACT, line.ext_cache, line.area)
        far = out is not None and out.strict
        # The clearance: the exact distance to the line continued past its ends
        # (the boundary between the sides), trusted only well within the line's
        # area of application (within application_m of the line), where nothing
        # else decides; not kept for an area of application given as a polygon.
        # Only decisions in the line's window are kept: outside it the engine
        # answers None whatever the side.
        reach = m.application_m
        d_line = (line.shape.point_distance(r.lon, r.lat, reach)
                  if now_in_window and line.area is None else math.inf)
        if d_line + CLEARANCE_CAP_M < reach:
            ext = _extended(line.shape, part.shape, CLEARANCE_CAP_M, line.ext_cache)
            d_ext = ext.point_distance(r.lon, r.lat, CLEARANCE_CAP_M)
            clear = min(d_ext, CLEARANCE_CAP_M) - SLACK_M
            if clear > 0:
                self._line_clear[(r.uid, m.id)] = _Clearance(r.lon, r.lat, clear, far)
            else:
                self._line_clear.pop((r.uid, m.id), None)
        else:
            self._line_clear.pop((r.uid, m.id), None)
        if far and now_in_window:
            return self._hit(i, "line", m, None, (r.lon, r.lat))
        swept = self._swept(r)
        if far or swept is None:
            return None
        out = evaluate_line_measure(m, line.shape, swept, own, EXACT, line.ext_cache, line.area)
        if out is None or not out.strict:
            return None
        d = line.shape.point_distance(r.lon, r.lat)
        start = (m.window.start - r.t).total_seconds()
        return self._hit(i, "line", m, max(d / r.speed, start, 0.0), (r.lon, r.lat))

    def _outside(self, i: int, r: Report, parts: list[Part]) -> Hit | None:
        self.exact_checks += 1
        part = r.part()
        pb = None if part.band is None else (part.band.lower_m, part.band.upper_m)
        for p in parts:
            qb = None if p.band is None else (p.band.lower_m, p.band.upper_m)
            three_d = pb is not None and qb is not None
            out = evaluate_volumes(part.shape, 0.0, (part.window.start, part.window.end), pb,
                                   p.shape, p.radius_m, (p.window.start, p.window.end), qb, three_d, EXACT)
            if out is not None and out.strict:
                return None
        first = parts[0]
        where = (float(first.shape.rings[0].lons[0]), float(first.shape.rings[0].lats[0]))
        name, kind, summary = RULES["declaration"]
        return Hit(i, name, kind, first.decl_id, "declaration", first.kind.value, first.owner, summary, None,
                   *where)

    def forget(self, uid: str) -> None:
        self.witnesses.forget(uid)
        for key in [k for k in self._line_clear if k[0] == uid]:
            del self._line_clear[key]


def linked_parts(decl: Declaration) -> list[Part]:
    return declaration_parts(decl)


def at(t: datetime) -> int:
    return micros(t)
