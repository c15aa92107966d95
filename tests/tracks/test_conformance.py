"""Conformance of every report, against the independent brute-force reference."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.model import Binds, Measure, MeasureKind, Point, Site, SiteCategory, Window
from deconflict.model.units import AltitudeBand
from deconflict.tracks.conformance import Fences, Judge
from deconflict.tracks.report import Report
from tests import reference as ref
from tests.tracks.conftest import World

T = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)
WIN = Window(datetime(2018, 2, 1, tzinfo=UTC), datetime(2018, 3, 1, tzinfo=UTC))


def _judge(w: World) -> Judge:
    svc = w.service
    return Judge(Fences(svc.measures(), svc.declarations()))


def test_every_rule_against_the_reference(euphrates_world: World) -> None:
    """Random reports around the ROZ, S1 and the line: each decision as the reference's."""
    judge = _judge(euphrates_world)
    m1 = next(m for m in euphrates_world.service.measures() if m.id == "M1")
    m2 = next(m for m in euphrates_world.service.measures() if m.id == "M2")
    s1 = euphrates_world.service.engine.get_declaration("S1")
    roz = ref.RefShape.of(m2.geometry)
    s1_ref = ref.RefShape.of(s1.geometry)  # type: ignore[union-attr]
    line = ref.RefShape.of(m1.geometry)
    rnd = random.Random(11)
    checked = {"roz": 0, "site": 0, "line": 0}
    for k in range(80):
        # Aircraft (russia) around the ROZ, at altitudes around its band.
        lon, lat = rnd.uniform(40.24, 40.40), rnd.uniform(35.30, 35.42)
        alt = rnd.choice([1499.9, 1500.0, 3000.0, 7500.0, 7500.1, rnd.uniform(0, 9000)])
        r = Report("russia", f"air{k}", lon, lat, T, True, alt)
        inside = ref.contains(roz, lon, lat)
        if inside is not None:
            got = {h.object_id for h in judge.judge([r]) if h.rule == "track-in-roz"}
            assert (got == {"M2"}) == (inside and 1500.0 <= alt <= 7500.0), (lon, lat, alt)
            checked["roz"] += 1
        # Ground (regime) around S1: inside its 1,500 m protection zone?
        b, d = ref.fwd(40.32, 35.36, rnd.uniform(0, 360), rnd.uniform(0, 3000))
        r = Report("regime", f"g{k}", b, d, T, False)
        iv = ref.point_distance(s1_ref, b, d)
        if not iv.lo <= 1500.0 <= iv.hi:
            got = {h.object_id for h in judge.judge([r]) if h.rule == "track-in-forces-site"}
            assert (got == {"S1"}) == (iv.hi <= 1500.0), (b, d, iv)
            checked["site"] += 1
        # Ground (regime, bound to the right) on either side of the line.
        a = ref.point_on_edge(m1.geometry.coords[4], m1.geometry.coords[5], rnd.random())  # type: ignore[union-attr]
        p = ref.fwd(a[0], a[1], rnd.uniform(0, 360), rnd.uniform(0, 5000))
        side = ref.side_of(line, *p).side
        if side is not None:
            got = {h.object_id for h in judge.judge([Report("regime", f"l{k}", p[0], p[1], T, False)])
                   if h.rule == "track-line-far-side"}
            assert (got == {"M1"}) == (side == ref.LEFT), p
            checked["line"] += 1
    assert min(checked.values()) > 30


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_clearances_never_change_a_decision(seed: int) -> None:
    """A random walk across the line: the judge with its clearances decides every
    report exactly as a judge without memory (a new one per report)."""
    line = Measure("L", MeasureKind.DECONFLICTION_LINE, "a", _line(), WIN, sides=(("b", _right()),))
    fences = Fences([line], [])
    keeping = Judge(fences)
    rnd = random.Random(seed)
    lon, lat = 40.0 + rnd.uniform(-0.05, 0.05), 35.0 + rnd.uniform(-0.05, 0.05)
    for k in range(30):
        step = rnd.choice([1.0, 30.0, 500.0, 3000.0])
        lon, lat = ref.fwd(lon, lat, rnd.uniform(0, 360), step)
        moving = rnd.random() < 0.5
        r = Report("b", "walker", lon, lat, T + timedelta(seconds=k), False,
                   course=rnd.uniform(0, 360) if moving else math.nan, speed=rnd.uniform(0, 20) if moving else math.nan)
        fresh = Judge(Fences([line], []))
        assert [(h.rule, h.in_s is None) for h in keeping.judge([r])] == \
            [(h.rule, h.in_s is None) for h in fresh.judge([r])]
    assert keeping.cache_hits + keeping.exact_checks >= 30


def _line() -> object:
    from deconflict.model import LineString

    return LineString(((39.9, 34.9), (40.0, 35.0), (40.1, 35.05)))


def _right() -> object:
    from deconflict.model import Side

    return Side.RIGHT


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_grid_never_drops_a_fence(seed: int) -> None:
    """Many small fences, many reports, some moving: the vectorised screen and the
    exact checks find exactly what a brute force over every pair finds."""
    rnd = random.Random(seed)
    sites = [Site(id=f"s{i}", owner="a", window=WIN, geometry=Point(rnd.uniform(39.5, 40.5), rnd.uniform(34.5, 35.5)),
                  category=SiteCategory.FORCES, protection_m=rnd.choice([100.0, 2000.0, 20000.0])) for i in range(40)]
    nfa = Measure("n", MeasureKind.NO_FIRE_AREA, "a", Point(40.0, 35.0), WIN, binds=Binds(), half_width_m=5000.0)
    roz = Measure("z", MeasureKind.RESTRICTED_OPERATIONS_ZONE, "a", Point(40.2, 35.2), WIN,
                  half_width_m=8000.0, altitude=AltitudeBand.metres(1000, 2000))
    fences = Fences([nfa, roz], sites)
    reports = []
    for k in range(150):
        air = rnd.random() < 0.3
        moving = rnd.random() < 0.5
        reports.append(Report("b", f"r{k}", rnd.uniform(39.4, 40.6), rnd.uniform(34.4, 35.6), T, air,
                              rnd.uniform(0, 3000) if air else math.nan,
                              rnd.uniform(0, 360) if moving else math.nan, rnd.uniform(0, 50) if moving else math.nan))
    got = {(h.report, h.object_id, h.in_s is None) for h in Judge(fences).judge(reports)}
    want = set()
    brute = Judge(fences)
    centres = [(f.obj.geometry.lon, f.obj.geometry.lat) for f in fences.fences]  # type: ignore[union-attr]
    for i, r in enumerate(reports):
        reach = (r.speed * brute.lookahead_s if r.moving else 0.0) + 1000.0
        for f, c in zip(fences.fences, centres, strict=True):
            if ref.inv(r.lon, r.lat, *c)[1] > f.radius + reach:  # the reference's own distance: surely apart
                continue
            h = brute._exact_area(0, r, f, True)
            if h is not None and fences.binds("b")[fences.fences.index(f)] and (f.air if r.air else f.ground) and (
                    not r.air or f.z0 <= r.alt_m <= f.z1):
                want.add((i, h.object_id, h.in_s is None))
    assert got == want


def test_a_line_clearance_is_left_once_moved_that_far() -> None:
    """Regression: the clearance was reused while a lower bound of the distance moved
    (M_MIN times the central angle) was under it; east-west at the equator a metre of
    that bound is 1.0067 m, so a report 13.4 km across from a clearance of 13.36 km was
    taken for the same side and its violation missed. The distance moved must be
    bounded from above."""
    from deconflict.model import LineString, Side

    line = Measure("L", MeasureKind.DECONFLICTION_LINE, "a", LineString(((0.0, -0.5), (0.0, 0.5))), WIN,
                   sides=(("b", Side.RIGHT),), application_m=100_000.0)
    judge = Judge(Fences([line], []))
    assert judge.judge([Report("b", "w", 0.12, 0.0, T, False)]) == []  # east: its own side
    far = Report("b", "w", -0.0005, 0.0, T + timedelta(seconds=1), False)  # 56 m west: the far side
    assert [h.rule for h in judge.judge([far])] == ["track-line-far-side"]
    assert [h.rule for h in Judge(Fences([line], [])).judge([far])] == ["track-line-far-side"]
