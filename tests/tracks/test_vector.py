"""The vectorised judging of area fences (tracks/vector.py) against the engine, pair by pair.

The reference is the engine's own decision (``Judge._exact_area``: the engine's
evaluate_area_measure / evaluate_volumes) on every (report, fence) pair that the
time, altitude, kind and binding filters keep, with no grid, no bound and no
shortcut. Reports are put where the bounds are tested hardest: a few
centimetres to a few metres either side of every boundary, and paths ahead
that graze, cross or stop short of zones.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.geo.ellipsoid import GEOD
from deconflict.model import (
    AltitudeBand,
    Binds,
    LineString,
    Measure,
    MeasureKind,
    Point,
    Polygon,
    Site,
    SiteCategory,
    Window,
)
from deconflict.tracks import vector
from deconflict.tracks.conformance import Fences, Judge
from deconflict.tracks.report import Report
from deconflict.tracks.vector import Batch

T = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)
WIN = Window(datetime(2018, 2, 1, tzinfo=UTC), datetime(2018, 3, 1, tzinfo=UTC))
LATER = Window(T + timedelta(seconds=200), T + timedelta(days=1))


def _fwd(lon: float, lat: float, az: float, d: float) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, az, d)
    return float(x), float(y)


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def _theatre(rnd: random.Random, centre: tuple[float, float] = (40.0, 35.0)) -> tuple[list[Measure], list[Site]]:
    c0, c1 = centre
    sites = [Site(id=f"s{i}", owner="a", window=rnd.choice([WIN, WIN, LATER]),
                  geometry=Point(_wrap(c0 + rnd.uniform(-0.2, 0.2)), c1 + rnd.uniform(-0.2, 0.2)),
                  category=SiteCategory.FORCES, protection_m=rnd.choice([100.0, 750.0, 2000.0])) for i in range(12)]
    measures = []
    for i in range(8):
        lon, lat = c0 + rnd.uniform(-0.2, 0.2), c1 + rnd.uniform(-0.2, 0.2)
        lon = min(_wrap(lon), 179.955)  # a polygon wholly on one side of the antimeridian
        d = rnd.uniform(0.005, 0.04)
        # Convex and concave rings (an L), in both orientations.
        ring = [(lon, lat), (lon + d, lat), (lon + d, lat + d / 2), (lon + d / 2, lat + d / 2), (lon + d / 2, lat + d),
                (lon, lat + d), (lon, lat)] if i % 2 else [(lon, lat), (lon + d, lat), (lon + d, lat + d),
                                                          (lon, lat + d), (lon, lat)]
        if i % 4 == 3:
            ring.reverse()
        kind = [MeasureKind.NO_FIRE_AREA, MeasureKind.RESTRICTED_OPERATIONS_ZONE][i % 2]
        measures.append(Measure(f"m{i}", kind, "a", Polygon((tuple(ring),)), rnd.choice([WIN, LATER]),
                                binds=Binds(), half_width_m=rnd.choice([0.0, 0.0, 300.0]),
                                altitude=AltitudeBand.metres(1000, 5000) if kind.is_air else None))
    measures.append(Measure("p0", MeasureKind.NO_FIRE_AREA, "a", Point(_wrap(c0), c1), WIN, binds=Binds(),
                            half_width_m=1500.0))
    measures.append(Measure("c0", MeasureKind.AIR_CORRIDOR, "z", LineString(((_wrap(c0 - 0.2), c1 - 0.1),
                                                                             (_wrap(c0 - 0.01), c1 + 0.1))), WIN,
                            half_width_m=1000.0, altitude=AltitudeBand.metres(500, 3000)))
    return measures, sites


def _reports(rnd: random.Random, fences: Fences, n: int) -> list[Report]:
    """Reports near the fences' boundaries (centimetres to metres off), some moving at them."""
    out = []
    for k in range(n):
        f = rnd.choice(fences.fences)
        ring = f.shape.rings[0]
        v = rnd.randrange(len(ring.lons))
        base = (float(ring.lons[v]), float(ring.lats[v]))
        if f.shape.type.value != "point" and len(ring.lons) > 1:
            # A point on an edge (by the geodesic), then off it.
            w = (v + 1) % len(ring.lons)
            az, _b, length = GEOD.inv(ring.lons[v], ring.lats[v], ring.lons[w], ring.lats[w])
            base = _fwd(*base, float(az), rnd.random() * float(length))
        off = f.radius + rnd.choice([-2.0, -0.02, 0.0, 0.005, 0.02, 0.5, 2.0, 50.0, rnd.uniform(-3000, 3000)])
        lon, lat = _fwd(*base, rnd.uniform(0, 360), max(off, 0.0))
        air = rnd.random() < 0.4
        moving = rnd.random() < 0.6
        course = speed = math.nan
        if moving:
            # Aimed at a fence (to cross or graze it), or anywhere.
            g = rnd.choice(fences.fences)
            gl = g.shape.rings[0]
            az, _b, d = GEOD.inv(lon, lat, gl.lons[0], gl.lats[0])
            course = (float(az) + rnd.choice([0.0, 0.0, rnd.uniform(-20, 20), rnd.uniform(0, 360)])) % 360.0
            speed = rnd.choice([rnd.uniform(1, 30), rnd.uniform(50, 250), max(1.0, float(d) / 600.0)])
        out.append(Report(rnd.choice(["b", "c"]), f"r{k}", lon, lat, T + timedelta(seconds=rnd.choice([0, 300])),
                          air, rnd.choice([999.0, 1000.0, 3000.0, 5000.0, 6000.0]) if air else math.nan,
                          course, speed))
    return out


def _reference(judge: Judge, reports: list[Report]) -> dict[tuple[int, str, bool], float | None]:
    """The engine on every pair the filters keep (no grid, no bound)."""
    fz = judge.fences
    out: dict[tuple[int, str, bool], float | None] = {}
    la = int(judge.lookahead_s * 1e6)
    b = Batch.of(reports)
    for i, r in enumerate(reports):
        t = int(b.t[i])
        for f, fence in enumerate(fz.fences):
            now = fz.t0[f] <= t < fz.t1[f]
            pred = r.moving and fz.t0[f] < t + la and t < fz.t1[f]
            if not (now or pred) or not fz.binds(r.party)[f]:
                continue
            if not (fence.air if r.air else fence.ground):
                continue
            if r.air and not fence.z0 <= r.alt_m <= fence.z1:
                continue
            h = judge._exact_area(i, r, fence, bool(now))
            if h is not None:
                out[(i, h.object_id, h.in_s is None)] = h.in_s
    return out


def _fast(judge: Judge, reports: list[Report]) -> dict[tuple[int, str, bool], float | None]:
    rule_names = {"track-in-no-fire-area", "track-in-roz", "track-in-air-corridor", "track-in-forces-site"}
    return {(h.report, h.object_id, h.in_s is None): h.in_s for h in judge.judge(reports) if h.rule in rule_names}


def _touching(fences: Fences, r: Report, object_id: str, lookahead_s: float) -> bool:
    """Whether the report's path comes within a millimetre of the fence's reach by
    the engine's distance (an edge touching a vertex, where the engine's
    edge-to-edge distance rounds to about 1e-9 m past it)."""
    f = next(f for f in fences.fences if f.obj.id == object_id)
    sw = r.swept(lookahead_s)
    shape = r.part().shape if sw is None else sw.shape
    return math.isfinite(shape.distance_within(f.shape, f.radius + 0.001))


def _compare(want: dict[tuple[int, str, bool], float | None], got: dict[tuple[int, str, bool], float | None],
             reports: list[Report], fences: Fences | None = None) -> None:
    missed = sorted(set(want) - set(got))
    extra = sorted(k for k in set(got) - set(want)
                   if fences is None or not _touching(fences, reports[k[0]], k[1], 600.0))
    assert not missed, f"the fast path dropped true alerts: {missed[:5]}"
    assert not extra, f"the fast path raised false alerts: {extra[:5]}"
    for key, w in want.items():
        g = got[key]
        if w is None:
            assert g is None
            continue
        assert g is not None
        # Never later than the engine's; at most a few metres' worth earlier (a chord bound for polygons).
        assert g <= w + 1e-9, (key, g, w)
        assert w - g <= 5.0 / reports[key[0]].speed + 1e-9, (key, g, w)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_vectorised_path_decides_as_the_engine(seed: int) -> None:
    rnd = random.Random(seed)
    measures, sites = _theatre(rnd)
    fences = Fences(measures, sites)
    reports = _reports(rnd, fences, 120)
    judge = Judge(fences)
    _compare(_reference(Judge(fences), reports), _fast(judge, reports), reports, fences)


@pytest.mark.parametrize("centre", [(179.9, 10.0), (-179.95, -20.0), (20.0, 80.5)],
                         ids=["antimeridian", "antimeridian-south", "high-latitude"])
def test_the_vectorised_path_decides_as_the_engine_in_awkward_places(centre: tuple[float, float]) -> None:
    for seed in range(4):
        rnd = random.Random(seed)
        measures, sites = _theatre(rnd, centre)
        fences = Fences(measures, sites)
        reports = _reports(rnd, fences, 100)
        _compare(_reference(Judge(fences), reports), _fast(Judge(fences), reports), reports, fences)


def test_sites_times_are_the_engines_exactly() -> None:
    """For a point fence the time to entry is the engine's exact distance over the speed, bit for bit."""
    s = Site(id="s", owner="a", window=WIN, geometry=Point(40.0, 35.0), category=SiteCategory.FORCES,
             protection_m=500.0)
    fences = Fences([], [s])
    lon, lat = _fwd(40.0, 35.0, 90.0, 3000.0)
    r = Report("b", "u", lon, lat, T, False, course=270.0, speed=10.0)
    ref = _reference(Judge(fences), [r])
    assert list(ref) == [(0, "s", False)]
    assert _fast(Judge(fences), [r]) == ref


def test_bounds_decide_most_pairs_without_the_engine() -> None:
    """Reports away from boundaries never reach the engine (the point of the fast path)."""
    rnd = random.Random(5)
    measures, sites = _theatre(rnd)
    fences = Fences(measures, sites)
    reports = [Report("b", f"u{k}", rnd.uniform(39.8, 40.2), rnd.uniform(34.8, 35.2), T, False,
                      course=rnd.uniform(0, 360), speed=10.0) for k in range(500)]
    judge = Judge(fences)
    judge.judge(reports)
    assert judge.exact_checks < 25  # of about 500 x 3 candidate pairs


def test_a_shrunk_bound_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: with the chord bound made too eager (a
    negative slack), the fast path drops alerts the engine raises, and it says so."""
    monkeypatch.setattr(vector, "SLACK_M", -30.0)
    rnd = random.Random(2)
    measures, sites = _theatre(rnd)
    fences = Fences(measures, sites)
    reports = _reports(rnd, fences, 300)
    with pytest.raises(AssertionError, match="dropped true alerts"):
        _compare(_reference(Judge(fences), reports), _fast(Judge(fences), reports), reports)


def test_winding_is_the_engines_containment() -> None:
    rnd = random.Random(3)
    measures, _sites = _theatre(rnd)
    fences = Fences(measures, [])
    geo = fences.geometry
    polys = [i for i, f in enumerate(fences.fences) if geo.kind[i] == 2]
    f = np.array([rnd.choice(polys) for _ in range(400)], dtype=np.int64)
    lon = np.array([fences.fences[i].shape.rings[0].lons[0] + rnd.uniform(-0.01, 0.05) for i in f])
    lat = np.array([fences.fences[i].shape.rings[0].lats[0] + rnd.uniform(-0.01, 0.05) for i in f])
    got = vector.winding(geo, f, lon, lat)
    want = [fences.fences[i].shape.contains(float(x), float(y)) for i, x, y in zip(f, lon, lat, strict=True)]
    assert got.tolist() == want
    assert 20 < sum(want) < 380


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_lines_area_of_application_by_chords_changes_nothing(seed: int) -> None:
    """Reports skipped as outside a line's area of application (by chords) are the
    ones the engine answers None for: the same hits with the skip as without."""
    from deconflict.model import Side

    rnd = random.Random(seed)
    line = Measure("L", MeasureKind.DECONFLICTION_LINE, "a", LineString(((39.9, 34.9), (40.0, 35.0), (40.1, 35.05))),
                   WIN, sides=(("b", Side.RIGHT),), application_m=rnd.choice([2000.0, 10_000.0]))
    reports = []
    for k in range(80):
        lon, lat = _fwd(40.0, 35.0, rnd.uniform(0, 360), rnd.uniform(0, 30_000))
        moving = rnd.random() < 0.6
        reports.append(Report("b", f"u{k}", lon, lat, T, False, course=rnd.uniform(0, 360) if moving else math.nan,
                              speed=rnd.uniform(1, 40) if moving else math.nan))
    fast = Judge(Fences([line], []))
    got = [(h.report, h.rule, h.in_s) for h in fast.judge(reports)]
    slow = Judge(Fences([line], []))
    slow._away = lambda *a: np.zeros(len(a[1]), dtype=bool)  # type: ignore[method-assign]
    want = [(h.report, h.rule, h.in_s) for h in slow.judge(reports)]
    assert got == want
    assert fast.away_skips > 10 and want


def test_a_polygon_s_ball_holds_it() -> None:
    """Points on the polygons' edges and inside them are within their balls (by the
    chord, which is no longer than the geodesic the ball's radius bounds)."""
    rnd = random.Random(9)
    for centre in [(40.0, 35.0), (179.9, 10.0), (20.0, 80.5)]:
        measures, _sites = _theatre(rnd, centre)
        fences = Fences(measures, [])
        geo = fences.geometry
        for i, f in enumerate(fences.fences):
            if geo.kind[i] != 2:
                continue
            ring = f.shape.rings[0]
            pts = []
            for v in range(len(ring.lons) - 1):
                az, _b, length = GEOD.inv(ring.lons[v], ring.lats[v], ring.lons[v + 1], ring.lats[v + 1])
                pts += [_fwd(float(ring.lons[v]), float(ring.lats[v]), float(az), t * float(length))
                        for t in np.linspace(0, 1, 9)]
            lo0, lo1, la0, la1 = min(ring.lons), max(ring.lons), min(ring.lats), max(ring.lats)
            pts += [p for p in ((rnd.uniform(lo0, lo1), rnd.uniform(la0, la1)) for _ in range(200))
                    if f.shape.contains(*p)]
            xyz = vector.ecef(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
            assert (np.linalg.norm(xyz - geo.xyz[i], axis=1) <= geo.ball[i] + 1e-6).all(), f.obj.id


def test_arrays_alone_give_what_reports_give() -> None:
    """The array interface (no Report objects: the engine's few pairs rebuilt from the
    rows) decides as the tracker's call on the same reports."""
    rnd = random.Random(4)
    measures, sites = _theatre(rnd)
    fences = Fences(measures, sites)
    reports = _reports(rnd, fences, 200)
    judge = Judge(fences)
    batch = Batch.of(reports)
    decided, engine_hits = judge.judge_areas(batch)
    got = {(int(i), fences.fences[int(f)].obj.id, int(w) == vector.NOW)
           for i, f, w in zip(decided.r, decided.f, decided.what, strict=True)}
    got |= {(h.report, h.object_id, h.in_s is None) for h in engine_hits}
    assert engine_hits or len(decided.engine_r)  # the engine was asked about some
    assert got == set(_fast(Judge(fences), reports))
    assert batch.report(3) == reports[3]


def _walkers(rnd: random.Random, fences: Fences, assets: int, steps: int) -> list[list[Report]]:
    """Assets aimed through the polygons (centre, corners, edges), reporting every second
    at 2-250 m/s: ``steps`` batches of one report per asset each."""
    polys = [f for i, f in enumerate(fences.fences) if fences.geometry.kind[i] == 2]
    start = []
    for k in range(assets):
        f = rnd.choice(polys)
        ring = f.shape.rings[0]
        v = rnd.randrange(len(ring.lons) - 1)
        aim = (float(ring.lons[v]), float(ring.lats[v])) if k % 3 == 0 else \
            (float(np.mean(ring.lons[:-1])) + rnd.uniform(-0.005, 0.005), float(np.mean(ring.lats[:-1])))
        speed = rnd.choice([2.0, 15.0, 150.0, 250.0])
        back = rnd.uniform(0, 360)
        lon, lat = _fwd(*aim, back, rnd.uniform(0.2, 1.1) * speed * 600.0)
        air = speed > 100.0
        start.append((lon, lat, (back + 180.0 + rnd.choice([0.0, rnd.uniform(-3, 3)])) % 360.0, speed, air))
    out = []
    for s in range(steps):
        batch = []
        for k, (lon, lat, crs, speed, air) in enumerate(start):
            x, y = _fwd(lon, lat, crs, speed * s * rnd.choice([1.0, 1.0, 3.0]))
            batch.append(Report("b", f"w{k}", x, y, T + timedelta(seconds=s), air, 3000.0 if air else math.nan,
                                crs, speed))
        out.append(batch)
    return out


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_witnesses_kept_across_batches_decide_as_the_engine(seed: int) -> None:
    """Assets crossing polygons, batch after batch, one judge keeping its witnesses:
    every batch's decisions are the engine's on every pair."""
    rnd = random.Random(seed)
    measures, sites = _theatre(rnd)
    fences = Fences(measures, sites)
    judge = Judge(fences)
    reused = 0
    for walk in _walkers(rnd, fences, 40, 4):
        # The same asset twice in one batch: reuse within the batch too.
        batch = walk + [Report(r.party, r.uid, *_fwd(r.lon, r.lat, r.course, r.speed * 0.5), r.t, r.air, r.alt_m,
                                r.course, r.speed) for r in walk[::2]]
        _compare(_reference(Judge(fences), batch), _fast(judge, batch), batch, fences)
        reused += len(judge.witnesses)
    assert reused > 0


def _scatter(rnd: random.Random, fences: Fences, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(report, fence, lon, lat): points around polygons, from their centres to centimetres off their edges."""
    geo = fences.geometry
    polys = [i for i in range(len(fences.fences)) if geo.kind[i] == 2]
    r, f, lon, lat = [], [], [], []
    for k in range(n):
        i = polys[k % len(polys)]
        ring = fences.fences[i].shape.rings[0]
        if rnd.random() < 0.5:
            x, y = float(np.mean(ring.lons[:-1])), float(np.mean(ring.lats[:-1]))
            x, y = _fwd(x, y, rnd.uniform(0, 360), rnd.uniform(0, 400))
        else:
            v = rnd.randrange(len(ring.lons) - 1)
            az, _b, length = GEOD.inv(ring.lons[v], ring.lats[v], ring.lons[v + 1], ring.lats[v + 1])
            x, y = _fwd(float(ring.lons[v]), float(ring.lats[v]), float(az), rnd.random() * float(length))
            x, y = _fwd(x, y, rnd.uniform(0, 360), rnd.choice([0.01, 0.5, 3.0, 40.0, 300.0]))
        r.append(k % 7)
        f.append(i)
        lon.append(x)
        lat.append(y)
    return np.array(r), np.array(f, dtype=np.int64), np.array(lon), np.array(lat)


def _remembered_vs_engine(fences: Fences, rnd: random.Random, rounds: int) -> tuple[int, int]:
    memo = vector.Witnesses()
    b = Batch.of([Report("b", f"a{k}", 40.0, 35.0, T, False) for k in range(7)])
    wrong = asked = 0
    for _ in range(rounds):
        r, f, lon, lat = _scatter(rnd, fences, 300)
        got = vector.inside_remembered(fences.geometry, b, memo, r, f, lon, lat)
        want = [fences.fences[i].shape.contains(float(x), float(y)) for i, x, y in zip(f, lon, lat, strict=True)]
        wrong += sum(g != w for g, w in zip(got.tolist(), want, strict=True))
        asked += len(want)
    return wrong, asked


def test_a_witness_s_clearance_decides_as_the_winding() -> None:
    """Points around polygons (from their centres to centimetres off their edges),
    grouped by asset, over rounds that keep the witnesses: each answer is the engine's
    containment."""
    rnd = random.Random(8)
    measures, _sites = _theatre(rnd)
    fences = Fences(measures, [])
    assert _remembered_vs_engine(fences, rnd, 5) == (0, 1500)


def test_a_stretched_clearance_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: clearances 300 m too generous answer 'inside' for points outside."""
    monkeypatch.setattr(vector, "SLACK_M", -300.0)
    rnd = random.Random(8)
    measures, _sites = _theatre(rnd)
    fences = Fences(measures, [])
    assert _remembered_vs_engine(fences, rnd, 5)[0] > 0


def test_witnesses_are_bounded_and_forgotten() -> None:
    memo = vector.Witnesses()
    uids = ["a", "b"]
    n = 3 * vector.WITNESS_CAP
    side = np.arange(n) % 2 == 0  # inside and outside witnesses alike
    memo.keep(uids, np.zeros(n, dtype=np.int64), np.arange(n), np.zeros(n), np.zeros(n), np.ones(n), side)
    memo.keep(uids, np.ones(2, dtype=np.int64), np.arange(2), np.zeros(2), np.zeros(2), np.ones(2),
              np.array([True, False]))
    assert len(memo) == vector.WITNESS_CAP + 2
    # The newest are kept, each on its side.
    _lon, _lat, c_in = memo.lookup(uids, np.zeros(n, dtype=np.int64), np.arange(n), True)
    _lon, _lat, c_out = memo.lookup(uids, np.zeros(n, dtype=np.int64), np.arange(n), False)
    newest = np.arange(n) >= n - vector.WITNESS_CAP
    assert ((c_in > 0) == (newest & side)).all() and ((c_out > 0) == (newest & ~side)).all()
    memo.forget("a")
    assert len(memo) == 2
    judge = Judge(Fences([], []))
    judge.witnesses.keep(["x"], np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(1),
                         np.ones(1), np.ones(1, dtype=bool))
    judge.forget("x")
    assert len(judge.witnesses) == 0


def test_moved_ub_is_never_short() -> None:
    """R_MAX times the central angle bounds the geodesic from above everywhere (east-west
    at the equator, along meridians, near the poles); M_MIN times it does not."""
    from deconflict.geo.ellipsoid import M_MIN

    rnd = random.Random(4)
    lon0 = np.array([rnd.uniform(-180, 180) for _ in range(3000)])
    lat0 = np.array([rnd.choice([0.0, rnd.uniform(-89.9, 89.9), 89.5, -89.99]) for _ in range(3000)])
    az = np.array([rnd.choice([90.0, 0.0, rnd.uniform(0, 360)]) for _ in range(3000)])
    d = np.array([rnd.choice([0.5, 150.0, 13_400.0, 200_000.0, 3_000_000.0]) for _ in range(3000)])
    lon1, lat1, _ = GEOD.fwd(lon0, lat0, az, d)
    _a, _b, true = GEOD.inv(lon0, lat0, lon1, lat1)
    ub = vector.moved_ub(lon0, lat0, np.asarray(lon1), np.asarray(lat1))
    assert (ub >= true).all()
    lb = (ub - vector.SLACK_M) / vector.R_MAX * M_MIN
    assert (lb < true - 1.0).any()


def _segments(rnd: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Chord segments in ECEF where the tracks meet them: short and long, crossing,
    parallel, of zero length (points), one segment's end on the other."""
    from deconflict.geo.chord import ecef

    lon = rnd.uniform(35.0, 45.0, n)
    lat = rnd.uniform(31.0, 39.0, n)
    p1 = ecef(lon, lat)
    q1 = ecef(lon + rnd.choice([0.0, 1e-6, 0.01, 0.8], n), lat + rnd.choice([0.0, 1e-7, 0.02, 0.5], n))
    p2 = ecef(lon + rnd.uniform(-0.05, 0.05, n), lat + rnd.uniform(-0.05, 0.05, n))
    q2 = ecef(lon + rnd.uniform(-0.05, 0.05, n), lat + rnd.uniform(-0.05, 0.05, n))
    kind = rnd.integers(0, 6, n)
    q2[kind == 0] = p2[kind == 0]  # a point fence's capsule
    p2[kind == 1] = p1[kind == 1]  # an edge starting where the path starts
    q2[kind == 2] = p2[kind == 2] + (q1 - p1)[kind == 2]  # parallel
    q1[kind == 3] = p1[kind == 3]  # a point against a segment
    return p1, q1, p2, q2


def test_closest_with_precomputed_lengths_is_segment_closest_bit_for_bit() -> None:
    """vector._closest (d1.d1 per report, d2.d2 per edge given) and _closest_point (a
    point against segments) answer what geo/chord.py's segment_closest answers, to the
    bit: the decisions and times to entry built on them are the same."""
    from deconflict.geo.chord import segment_closest

    rnd = np.random.default_rng(11)
    p1, q1, p2, q2 = _segments(rnd, 200_000)
    want_d, want_s, _t = segment_closest(p1, q1, p2, q2)
    d1, d2 = q1 - p1, q2 - p2
    got_d, got_s = vector._closest(p1, d1, np.einsum("...i,...i->...", d1, d1), p2, d2,
                                   np.einsum("...i,...i->...", d2, d2))
    assert np.array_equal(got_d, want_d) and np.array_equal(got_s, want_s)
    pt_d, _s, _t = segment_closest(p1, p1, p2, q2)
    got_pt = vector._closest_point(p1, p2, d2, np.einsum("...i,...i->...", d2, d2))
    assert np.array_equal(got_pt, pt_d)


def test_edge_gaps_of_points_are_those_of_zero_length_segments() -> None:
    """edge_gaps given the same array twice (points) takes the point kernel: the same
    gaps, and the same closest edges, as with a copy (the general kernel)."""
    rnd = random.Random(5)
    fences = Fences(*_theatre(rnd))
    geo = fences.geometry
    f = np.nonzero(geo.kind == 2)[0]
    f = np.repeat(f, 50)
    gen = np.random.default_rng(5)
    p = vector.ecef(40.0 + gen.uniform(-0.3, 0.3, len(f)), 35.0 + gen.uniform(-0.3, 0.3, len(f)))
    g1, _s1, e1 = vector.edge_gaps(geo, f, p, p, np.zeros(len(f)))
    g2, _s2, e2 = vector.edge_gaps(geo, f, p, p.copy(), np.zeros(len(f)))
    assert np.array_equal(g1, g2) and np.array_equal(e1, e2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_asset_level_filter_and_the_air_grid_keep_the_same_pairs(seed: int) -> None:
    """Judge._candidates with the per-asset filter and the air grid (``binds`` given)
    leaves, after judge_areas' per-report tests, exactly the pairs it leaves without
    them: assets of several reports mixing air and ground, parties, instants and heights."""
    import dataclasses

    rnd = random.Random(seed)
    measures, sites = _theatre(rnd)
    fences = Fences(measures, sites)
    reports = _reports(rnd, fences, 300)
    # Assets of one to six reports; some wholly in the air, some mixed, some of two parties.
    uid, k = 0, 0
    out = []
    while k < len(reports):
        m = rnd.randint(1, 6)
        all_air = rnd.random() < 0.3
        for r in reports[k:k + m]:
            air = True if all_air else r.air
            out.append(dataclasses.replace(r, uid=f"u{uid}", air=air,
                                           alt_m=(r.alt_m if r.air else 3000.0) if air else math.nan))
        uid, k = uid + 1, k + m
    judge = Judge(fences)
    fz = fences
    b = Batch.of(out)
    moving = b.moving()
    sweep = np.where(moving, b.speed * judge.lookahead_s, 0.0)
    ahead_lon = np.full(len(b), math.nan)
    ahead_lat = np.full(len(b), math.nan)
    mv = np.nonzero(moving)[0]
    elon, elat, _ = GEOD.fwd(b.lon[mv], b.lat[mv], b.course[mv], sweep[mv])
    ahead_lon[mv], ahead_lat[mv] = elon, elat
    boxes = judge._boxes(b.lon, b.lat, ahead_lon, ahead_lat, sweep)
    la_us = int(judge.lookahead_s * 1e6)
    binds = np.stack([fz.binds(p) for p in b.parties])

    def kept(ri: np.ndarray, ff: np.ndarray) -> set[tuple[int, int]]:
        tt = b.t[ri]
        now_t = (fz.t0[ff] <= tt) & (tt < fz.t1[ff])
        pred_t = moving[ri] & (fz.t0[ff] < tt + la_us) & (tt < fz.t1[ff])
        za, is_air = b.alt[ri], b.air[ri]
        band = ~is_air | ((fz.z0[ff] <= za) & (za <= fz.z1[ff]))
        kind_ok = np.where(is_air, fz.air[ff], fz.ground[ff])
        keep = (now_t | pred_t) & band & kind_ok & binds[b.party[ri], ff]
        return set(zip(ri[keep].tolist(), ff[keep].tolist(), strict=True))

    plain = kept(*judge._candidates(b, *boxes))
    filtered = kept(*judge._candidates(b, *boxes, binds, la_us))
    assert plain and filtered == plain
