"""Every rule, by name, against the brute-force reference, through the Engine.

Each test draws two footprints somewhere awkward (antimeridian, poles, long
edges, large areas, holes), windows, bands and margins, then asks the Engine
(index, parts, rules) and decides the same question with tests/reference.py.

Tolerance policy. The reference gives an interval [lo, hi] holding the true
distance between the cores; its error bound is err = max(hi - lo, 5 mm).
With R the sum of the radii, M the horizontal caution margin and
TOUCH_TOLERANCE_M the engine's touch band:

* a finding of the rule's kind is required when the windows overlap, the bands
  meet (3D) and hi <= R - err;
* at least a caution is required when the margin-grown windows overlap, the
  vertical gap is within the vertical margin and hi <= R + M - err;
* no finding at all is allowed when the grown windows miss, the gap exceeds
  the vertical margin, or lo > R + M + TOUCH_TOLERANCE_M (the reference's
  distance exceeds the threshold by more than its error bound and the touch
  tolerance);
* no finding of the rule's kind (a caution is fine) is allowed when the windows
  do not overlap, the bands do not meet, or lo > R + TOUCH_TOLERANCE_M.

Anything else is the ambiguous band, where either answer is accepted. Time and
altitude are decided exactly (half-open windows, closed bands).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from deconflict.engine import Engine
from deconflict.geo.ellipsoid import TOUCH_TOLERANCE_M
from deconflict.model import (
    Altitude,
    AltitudeBand,
    Binds,
    CautionMargins,
    CheckResult,
    DeclarationKind,
    FindingKind,
    Fire,
    Flight,
    Measure,
    MeasureKind,
    Movement,
    Party,
    Point,
    Side,
    Site,
    SiteCategory,
    Waypoint,
    Window,
)
from deconflict.model.measure import DEFAULT_LINE_APPLICATION_M, BindsMode
from deconflict.model.units import SURFACE_M
from tests import reference as ref
from tests.geo.strategies import (
    PROPERTY,
    REGIONS,
    SCALES,
    GenShape,
    centers,
    lines,
    make_line,
    placed_near,
    scene,
    shapes,
)

T0 = datetime(2018, 2, 7, 12, tzinfo=UTC)
PARTIES = ("p", "q", "o")
MAX_R = 500_000.0  # the model's largest radius


# -- reference decisions ----------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    strict: bool  # a finding of the rule's kind is required
    some: bool  # some finding (the rule's kind or a caution) is required
    none: bool  # no finding at all is allowed
    not_strict: bool  # no finding of the rule's kind is allowed

    @staticmethod
    def any_of(items: list[Expect]) -> Expect:
        """For several parts (legs) of one activity or object: the finding is
        the worst over the parts."""
        return Expect(
            any(e.strict for e in items), any(e.some for e in items),
            all(e.none for e in items), all(e.not_strict for e in items),
        )


def windows_meet(a: tuple[datetime, datetime], b: tuple[datetime, datetime], grow: timedelta) -> bool:
    return a[0] < b[1] + grow and b[0] < a[1] + grow


def band_gap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
    if a is None or b is None:
        return 0.0
    return max(0.0, b[0] - a[1], a[0] - b[1])


def expect_volumes(
    iv: ref.Interval, reach: float, wa, wb, ba, bb, margins: CautionMargins
) -> Expect:
    t_strict = windows_meet(wa, wb, timedelta(0))
    t_grown = windows_meet(wa, wb, margins.time)
    gap = band_gap(ba, bb)
    return Expect(
        strict=t_strict and gap == 0.0 and iv.surely_at_most(reach),
        some=t_grown and gap <= margins.vertical_m and iv.surely_at_most(reach + margins.horizontal_m),
        none=(not t_grown) or gap > margins.vertical_m
        or iv.surely_beyond(reach + margins.horizontal_m, TOUCH_TOLERANCE_M),
        not_strict=(not t_strict) or gap > 0.0 or iv.surely_beyond(reach, TOUCH_TOLERANCE_M),
    )


NEVER = Expect(strict=False, some=False, none=True, not_strict=True)


def assert_finding(result: CheckResult, object_id: str, rule: str, kind: FindingKind, exp: Expect,
                   *, cautions: bool = True) -> None:
    found = [f for f in result.findings if f.object_id == object_id and f.rule == rule]
    assert len(found) <= 1, found
    f = found[0] if found else None
    if not cautions:
        # This rule gives no cautions: only its own kind, or nothing.
        exp = Expect(exp.strict, exp.strict, exp.none or exp.not_strict, exp.not_strict)
        assert f is None or f.kind is kind, f
    event(f"engine: {f.kind.value if f else 'nothing'}")
    if exp.strict:
        assert f is not None and f.kind is kind, f"missed {rule} ({kind.value}); got {f}"
    if exp.some:
        assert f is not None, f"missed even a caution for {rule}"
    if exp.none:
        assert f is None, f"reference rules out any finding for {rule}, got {f}"
    if exp.not_strict:
        assert f is None or f.kind is FindingKind.CAUTION, f"reference rules out {kind.value}: {f}"


def check_fields(result: CheckResult, object_id: str, rule: str, iv: ref.Interval, reach: float,
                 wa, wb, gap: float | None) -> None:
    """Separation, vertical gap and overlap of a finding between single parts."""
    found = [f for f in result.findings if f.object_id == object_id and f.rule == rule]
    if not found or not math.isfinite(iv.hi):
        return
    f = found[0]
    sep_lo, sep_hi = max(0.0, iv.lo - reach), max(0.0, iv.hi - reach)
    # separation_m is rounded to 0.1 m; the engine's distance is within 2 mm above the truth
    assert sep_lo - 0.051 <= f.separation_m <= sep_hi + 0.053, (f.separation_m, iv, reach)
    if gap is not None:
        assert f.vertical_gap_m == round(gap, 1)
    start, end = max(wa[0], wb[0]), min(wa[1], wb[1])
    if start < end:
        assert f.overlap is not None and (f.overlap.start, f.overlap.end) == (start, end)
        assert f.time_gap_s == 0.0
    else:
        assert f.overlap is None and f.time_gap_s == (start - end).total_seconds()


# -- drawing the pieces -------------------------------------------------------------------------
@st.composite
def margins_st(draw) -> CautionMargins:
    return CautionMargins(
        horizontal_m=draw(st.sampled_from((0.0, 500.0, 2_000.0))),
        vertical_m=draw(st.sampled_from((0.0, 150.0))),
        minutes=draw(st.sampled_from((0.0, 10.0, 30.0))),
    )


@st.composite
def window_st(draw) -> tuple[datetime, datetime]:
    """Windows on a 5-minute grid, so touching and margin-touching windows are common."""
    a = draw(st.integers(0, 24))
    b = draw(st.integers(a + 1, 30))
    return T0 + timedelta(minutes=5 * a), T0 + timedelta(minutes=5 * b)


@st.composite
def band_st(draw) -> tuple[float, float]:
    """Bands on a 50 m grid, so touching bands are common."""
    lo = draw(st.integers(0, 60)) * 50.0
    return lo, lo + draw(st.integers(0, 40)) * 50.0


@st.composite
def radii_st(draw, iv: ref.Interval, margins: CautionMargins, n: int) -> list[float]:
    """n radii whose sum lands near the strict or the caution threshold (or anywhere)."""
    mode = draw(st.sampled_from(("strict_edge", "caution_edge", "free")))
    if mode == "free" or not math.isfinite(iv.hi) or iv.hi > n * MAX_R - 5_000.0:
        return [draw(st.sampled_from((0.0, 250.0, 5_000.0, 50_000.0))) for _ in range(n)]
    delta = draw(st.sampled_from((-30.0, -1.0, -0.05, 0.05, 0.5, 1.0, 5.0, 30.0)))
    total = iv.hi + delta - (margins.horizontal_m if mode == "caution_edge" else 0.0)
    total = max(0.0, total)
    if n == 1:
        return [total]
    share = draw(st.sampled_from((0.0, 0.5, 1.0)))
    first = min(MAX_R, total * share)
    return [first, min(MAX_R, max(0.0, total - first))]


def two_ends(line: GenShape) -> tuple[ref.Position, ref.Position]:
    """A firing position and a target from a drawn line: its ends, or its first
    edge if the ends are farther apart than an edge may be."""
    coords = line.ref.rings[0]
    if ref.inv(*coords[0], *coords[-1])[1] > 3_900_000.0:
        return coords[0], coords[1]
    return coords[0], coords[-1]


def cores_distance(a: GenShape, b: GenShape) -> ref.Interval:
    return ref.distance(a.ref, b.ref, h=0.1)


def engine_for(margins: CautionMargins) -> Engine:
    engine = Engine(margins)
    for p in PARTIES:
        engine.add_party(Party(p, p.upper()))
    return engine


def win(w: tuple[datetime, datetime]) -> Window:
    return Window(*w)


def band(b: tuple[float, float]) -> AltitudeBand:
    return AltitudeBand.metres(*b)


def trajectory_band(max_ordinate: float) -> tuple[float, float]:
    return min(SURFACE_M, max_ordinate), max_ordinate


# -- pair rules -----------------------------------------------------------------------------------
@PROPERTY(max_examples=60)
@given(st.data())
def test_rule_fire_effects_on_site_matches_reference(data):
    a, b, _region, _scale = data.draw(scene(kinds_a=("point", "polygon")))
    margins = data.draw(margins_st())
    iv = cores_distance(a, b)
    r_fire, r_site = data.draw(radii_st(iv, margins, 2))
    wf, ws = data.draw(window_st()), data.draw(window_st())
    fire = Fire(id="F", owner="p", window=win(wf), target=a.geometry, effects_radius_m=r_fire)
    category = data.draw(st.sampled_from(SiteCategory))
    site = Site(id="S", owner="q", window=win(ws), geometry=b.geometry, category=category,
                protection_m=r_site)
    engine = engine_for(margins)
    fire_checked = data.draw(st.booleans())
    engine.add_declaration(site if fire_checked else fire)
    result = engine.check(fire if fire_checked else site)
    other = "S" if fire_checked else "F"
    exp = expect_volumes(iv, r_fire + r_site, wf, ws, None, None, margins)
    assert_finding(result, other, "fire-effects-on-site", FindingKind.CONFLICT, exp)
    check_fields(result, other, "fire-effects-on-site", iv, r_fire + r_site, wf, ws, None)


@st.composite
def movement_st(draw, route: GenShape, window: tuple[datetime, datetime], half_width: float,
                owner: str, ident: str):
    """A movement along ``route``: one corridor, or timed waypoints (legs)."""
    coords = route.ref.rings[0]
    if draw(st.booleans()):
        return Movement(id=ident, owner=owner, window=win(window), route=route.geometry,
                        half_width_m=half_width), [(route, window)]
    minutes = sorted(draw(st.lists(st.integers(0, 150), min_size=len(coords), max_size=len(coords),
                                   unique=True)))
    times = [T0 + timedelta(minutes=m) for m in minutes]
    wps = tuple(Waypoint(Point(*c), t) for c, t in zip(coords, times, strict=True))
    legs = [(make_line([coords[i], coords[i + 1]]), (times[i], times[i + 1]))
            for i in range(len(coords) - 1)]
    return Movement(id=ident, owner=owner, window=Window(times[0], times[-1]), waypoints=wps,
                    half_width_m=half_width), legs


@PROPERTY(max_examples=60)
@given(st.data())
def test_rule_fire_effects_on_movement_matches_reference(data):
    a, b, _region, _scale = data.draw(scene(kinds_a=("point", "polygon"), kinds_b=("line",)))
    margins = data.draw(margins_st())
    iv = cores_distance(a, b)
    r_fire, half = data.draw(radii_st(iv, margins, 2))
    wf, wm = data.draw(window_st()), data.draw(window_st())
    fire = Fire(id="F", owner="p", window=win(wf), target=a.geometry, effects_radius_m=r_fire)
    move, legs = data.draw(movement_st(b, wm, half, "q", "M"))
    engine = engine_for(margins)
    fire_checked = data.draw(st.booleans())
    engine.add_declaration(move if fire_checked else fire)
    result = engine.check(fire if fire_checked else move)
    other = "M" if fire_checked else "F"
    exps = [expect_volumes(iv if len(legs) == 1 else cores_distance(a, leg), r_fire + half, wf, w,
                           None, None, margins) for leg, w in legs]
    assert_finding(result, other, "fire-effects-on-movement", FindingKind.CONFLICT, Expect.any_of(exps))
    if len(legs) == 1:
        check_fields(result, other, "fire-effects-on-movement", iv, r_fire + half, wf, legs[0][1], None)


@PROPERTY(max_examples=60)
@given(st.data())
def test_rule_movement_into_forces_site_matches_reference(data):
    a, b, _region, _scale = data.draw(scene(kinds_a=("line",)))
    margins = data.draw(margins_st())
    iv = cores_distance(a, b)
    half, prot = data.draw(radii_st(iv, margins, 2))
    wm, ws = data.draw(window_st()), data.draw(window_st())
    move, legs = data.draw(movement_st(a, wm, half, "p", "M"))
    category = data.draw(st.sampled_from(SiteCategory))
    site = Site(id="S", owner="q", window=win(ws), geometry=b.geometry, category=category,
                protection_m=prot)
    engine = engine_for(margins)
    move_checked = data.draw(st.booleans())
    engine.add_declaration(site if move_checked else move)
    result = engine.check(move if move_checked else site)
    other = "S" if move_checked else "M"
    if category is SiteCategory.PROTECTED:
        exp = NEVER  # the rule is about forces sites only
    else:
        exp = Expect.any_of([
            expect_volumes(iv if len(legs) == 1 else cores_distance(leg, b), half + prot, w, ws,
                           None, None, margins) for leg, w in legs])
    assert_finding(result, other, "movement-into-forces-site", FindingKind.CONFLICT, exp)


@PROPERTY(max_examples=60)
@given(st.data())
def test_rule_flight_into_flight_matches_reference(data):
    a, b, _region, _scale = data.draw(scene())
    margins = data.draw(margins_st())
    iv = cores_distance(a, b)
    ha, hb = data.draw(radii_st(iv, margins, 2))
    wa, wb = data.draw(window_st()), data.draw(window_st())
    ba, bb = data.draw(band_st()), data.draw(band_st())
    fa = Flight(id="A", owner="p", window=win(wa), geometry=a.geometry, half_width_m=ha, altitude=band(ba))
    fb = Flight(id="B", owner=data.draw(st.sampled_from(("q", "p"))), window=win(wb),
                geometry=b.geometry, half_width_m=hb, altitude=band(bb))
    engine = engine_for(margins)
    engine.add_declaration(fb)
    result = engine.check(fa)
    exp = expect_volumes(iv, ha + hb, wa, wb, ba, bb, margins) if fb.owner != "p" else NEVER
    assert_finding(result, "B", "flight-into-flight", FindingKind.CONFLICT, exp)
    if fb.owner != "p":
        check_fields(result, "B", "flight-into-flight", iv, ha + hb, wa, wb, band_gap(ba, bb))


@PROPERTY(max_examples=60)
@given(st.data())
def test_rule_fire_trajectory_through_flight_matches_reference(data):
    origin_target, flight_shape, _region, _scale = data.draw(scene(kinds_a=("line",)))
    origin, target = two_ends(origin_target)
    trajectory = make_line([origin, target])
    margins = data.draw(margins_st())
    iv = cores_distance(trajectory, flight_shape)
    half, hf = data.draw(radii_st(iv, margins, 2))
    max_ord = data.draw(st.sampled_from((-600.0, 0.0, 50.0, 1_000.0, 3_500.0)))
    wf, wa = data.draw(window_st()), data.draw(window_st())
    bf = data.draw(band_st())
    if data.draw(st.booleans()):
        bf = (bf[0] - 1_000.0, bf[1] - 1_000.0)  # low flights, down to the Dead Sea and below
    fire = Fire(id="F", owner="p", window=win(wf), target=Point(*target), effects_radius_m=0.0,
                origin=Point(*origin), max_ordinate=Altitude(max_ord), trajectory_half_width_m=half)
    flight = Flight(id="A", owner="q", window=win(wa), geometry=flight_shape.geometry,
                    half_width_m=hf, altitude=band(bf))
    engine = engine_for(margins)
    fire_checked = data.draw(st.booleans())
    engine.add_declaration(flight if fire_checked else fire)
    result = engine.check(fire if fire_checked else flight)
    other = "A" if fire_checked else "F"
    tb = trajectory_band(max_ord)
    exp = expect_volumes(iv, half + hf, wf, wa, tb, bf, margins)
    assert_finding(result, other, "fire-trajectory-through-flight", FindingKind.CONFLICT, exp)
    check_fields(result, other, "fire-trajectory-through-flight", iv, half + hf, wf, wa,
                 band_gap(tb, bf))


# -- area measures ------------------------------------------------------------------------------
@st.composite
def binds_st(draw) -> Binds:
    mode = draw(st.sampled_from(BindsMode))
    if mode is BindsMode.LISTED:
        return Binds(mode, frozenset(draw(st.lists(st.sampled_from(PARTIES), max_size=3))))
    return Binds(mode)


def bound(binds: Binds, party: str, owner: str) -> bool:
    if binds.mode is BindsMode.ALL:
        return True
    if binds.mode is BindsMode.ALL_BUT_OWNER:
        return party != owner
    return party in binds.parties


@st.composite
def area_measure_scene(draw, activity_kinds: tuple[str, ...]):
    """An activity core and an area measure (a polygon, or a point with a radius) near it."""
    a, b, _region, _scale = draw(scene(kinds_a=activity_kinds, kinds_b=("point", "polygon")))
    return a, b


@st.composite
def fire_area_case(draw, kind: MeasureKind):
    a, m_shape = draw(area_measure_scene(("point", "polygon")))
    margins = draw(margins_st())
    iv = cores_distance(a, m_shape)
    r_fire, r_area = draw(radii_st(iv, margins, 2))
    if m_shape.kind == "point" and r_area <= 0.0:
        r_area = 1.0  # an area given as a point needs a radius
    wf, wm = draw(window_st()), draw(window_st())
    binds = draw(binds_st())
    owner = draw(st.sampled_from(PARTIES))
    measure = Measure(id="N", kind=kind, owner=owner, geometry=m_shape.geometry, window=win(wm),
                      binds=binds, half_width_m=r_area)
    fire = Fire(id="F", owner="p", window=win(wf), target=a.geometry, effects_radius_m=r_fire)
    exp = expect_volumes(iv, r_fire + r_area, wf, wm, None, None, margins)
    if not bound(binds, "p", owner):
        exp = NEVER
    engine = engine_for(margins)
    engine.add_measure(measure)
    return engine.check(fire), exp, iv, r_fire + r_area, wf, wm


@PROPERTY(max_examples=60)
@given(fire_area_case(MeasureKind.NO_FIRE_AREA))
def test_rule_no_fire_area_matches_reference(case):
    result, exp, iv, reach, wf, wm = case
    assert_finding(result, "N", "no-fire-area", FindingKind.VIOLATION, exp)
    check_fields(result, "N", "no-fire-area", iv, reach, wf, wm, None)


@PROPERTY(max_examples=60)
@given(fire_area_case(MeasureKind.RESTRICTIVE_FIRE_AREA))
def test_rule_restrictive_fire_area_matches_reference(case):
    result, exp, _iv, _reach, _wf, _wm = case
    assert_finding(result, "N", "restrictive-fire-area", FindingKind.COORDINATION_REQUIRED, exp,
                   cautions=False)


@st.composite
def air_measure_case(draw, kind: MeasureKind):
    """A flight (or, for an air corridor, possibly a fire trajectory) and an air measure."""
    margins = draw(margins_st())
    owner = draw(st.sampled_from(PARTIES))
    binds = draw(binds_st())
    wm, wa = draw(window_st()), draw(window_st())
    bm = draw(band_st())
    use_fire = kind is MeasureKind.AIR_CORRIDOR and draw(st.booleans())
    m_kinds = ("line", "polygon") if kind is MeasureKind.AIR_CORRIDOR else ("point", "polygon")
    a, m_shape, _region, _scale = draw(scene(kinds_a=("line",) if use_fire else
                                              ("point", "line", "polygon"), kinds_b=m_kinds))
    if use_fire:
        a = make_line(list(two_ends(a)))
    iv = cores_distance(a, m_shape)
    r_act, r_m = draw(radii_st(iv, margins, 2))
    if m_shape.kind in ("point", "line") and r_m <= 0.0:
        r_m = 1.0
    measure = Measure(id="Z", kind=kind, owner=owner, geometry=m_shape.geometry, window=win(wm),
                      binds=binds, altitude=band(bm), half_width_m=r_m)
    if use_fire:
        max_ord = draw(st.sampled_from((0.0, 500.0, 3_000.0)))
        coords = a.ref.rings[0]
        activity = Fire(id="F", owner="p", window=win(wa), target=Point(*coords[-1]),
                        origin=Point(*coords[0]), max_ordinate=Altitude(max_ord),
                        trajectory_half_width_m=r_act)
        ba = trajectory_band(max_ord)
        applies = True
    else:
        ba = draw(band_st())
        activity = Flight(id="A", owner="p", window=win(wa), geometry=a.geometry, half_width_m=r_act,
                          altitude=band(ba))
        applies = kind is MeasureKind.RESTRICTED_OPERATIONS_ZONE or owner != "p"
    exp = expect_volumes(iv, r_act + r_m, wa, wm, ba, bm, margins)
    if not (bound(binds, "p", owner) and applies):
        exp = NEVER
    engine = engine_for(margins)
    engine.add_measure(measure)
    return engine.check(activity), exp, iv, r_act + r_m, wa, wm, band_gap(ba, bm)


@PROPERTY(max_examples=60)
@given(air_measure_case(MeasureKind.RESTRICTED_OPERATIONS_ZONE))
def test_rule_restricted_operations_zone_matches_reference(case):
    result, exp, iv, reach, wa, wm, gap = case
    assert_finding(result, "Z", "restricted-operations-zone", FindingKind.VIOLATION, exp)
    check_fields(result, "Z", "restricted-operations-zone", iv, reach, wa, wm, gap)


@PROPERTY(max_examples=60)
@given(air_measure_case(MeasureKind.AIR_CORRIDOR))
def test_rule_air_corridor_matches_reference(case):
    result, exp, iv, reach, wa, wm, gap = case
    assert_finding(result, "Z", "air-corridor", FindingKind.VIOLATION, exp)
    check_fields(result, "Z", "air-corridor", iv, reach, wa, wm, gap)


# -- line measures --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineCase:
    line: GenShape
    core: GenShape
    radius: float
    own: Side
    application_m: float = DEFAULT_LINE_APPLICATION_M


def expect_line(case: LineCase, wa, wm, margins: CautionMargins) -> Expect:
    """The far-side rule decided by the reference (see the module doc of
    tests/reference.py for sides). The measure lines are monotone, so the line
    with its ends continued never crosses itself: a footprint clear of it lies
    on one side, the side of any of its vertices."""
    r = case.radius
    d_line = ref.distance(case.line.ref, case.core.ref, h=0.1)
    reach = ref.reach_from_ends(case.line.ref, case.core.ref) + r + margins.horizontal_m + 1_000.0
    extended = ref.extended_line(case.line.ref, min(reach, 3_999_000.0))
    d_ext = ref.distance(extended, case.core.ref, h=0.1)
    own = ref.LEFT if case.own is Side.LEFT else ref.RIGHT
    # The line governs within application_m of the line itself (alongside it
    # and past its ends): a violation needs the footprint (radius r) to come
    # within it, a caution the footprint grown by the margin. The margin
    # belongs to cautions only.
    strict_reach = case.application_m + r
    grown_reach = case.application_m + r + margins.horizontal_m
    answers = []
    if d_ext.lo > r + TOUCH_TOLERANCE_M or d_line.hi > r:
        answers = [ref.side_of(case.line.ref, lon, lat) for lon, lat in case.core.ref.vertices()]
    far = any(a.side is not None and a.side != own for a in answers)
    all_own = bool(answers) and all(a.side == own for a in answers)
    event(f"reference: far={far} own={all_own} governed={d_line.hi <= strict_reach}")
    t_strict = windows_meet(wa, wm, timedelta(0))
    t_grown = windows_meet(wa, wm, margins.time)
    return Expect(
        strict=t_strict and d_line.surely_at_most(strict_reach) and (far or d_line.surely_at_most(r)),
        some=t_grown and d_line.surely_at_most(grown_reach)
        and (far or d_line.surely_at_most(r + margins.horizontal_m)),
        none=(not t_grown) or (all_own and d_ext.surely_beyond(r + margins.horizontal_m, TOUCH_TOLERANCE_M))
        or d_line.surely_beyond(grown_reach, TOUCH_TOLERANCE_M),
        not_strict=(not t_strict) or (all_own and d_ext.surely_beyond(r, TOUCH_TOLERANCE_M))
        or d_line.surely_beyond(strict_reach, TOUCH_TOLERANCE_M),
    )


@st.composite
def line_case_st(draw, kinds: tuple[str, ...], monotone: bool = True):
    region = draw(st.sampled_from(REGIONS))
    scale = draw(st.sampled_from(("tiny", "small", "medium", "large")))
    line = draw(lines(draw(centers(region)), scale, monotone=monotone))
    core_scale = draw(st.sampled_from(("tiny", "small", "medium")))
    spot = draw(placed_near(line, draw(st.floats(0.0, SCALES[scale][1]))))
    core = draw(shapes(spot, core_scale, kinds))
    radius = draw(st.sampled_from((0.0, 200.0, 5_000.0)))
    if draw(st.booleans()):
        # Put the footprint's edge right at the line.
        d = ref.distance(line.ref, core.ref, h=0.1)
        if math.isfinite(d.hi) and d.hi < MAX_R - 100.0:
            radius = max(0.0, d.hi + draw(st.sampled_from((-2.0, -0.05, 0.05, 2.0))))
    application_m = draw(st.sampled_from((DEFAULT_LINE_APPLICATION_M, 5_000.0, 200_000.0)))
    if draw(st.integers(0, 3)) == 0:
        # Put the footprint's edge right at the edge of the area of application.
        d = ref.distance(line.ref, core.ref, h=0.1)
        if math.isfinite(d.hi):
            edge = d.hi - radius + draw(st.sampled_from((-2.0, -0.05, 0.05, 2.0, 300.0, 1_000.0)))
            if 1.0 <= edge <= MAX_R:
                application_m = edge
    return LineCase(line, core, radius, draw(st.sampled_from(Side)), application_m)


def line_measure(kind: MeasureKind, case: LineCase, wm, applies_to, sides) -> Measure:
    kw = {"applies_to": applies_to} if applies_to is not None else {}
    return Measure(id="L", kind=kind, owner="o", geometry=case.line.geometry, window=win(wm),
                   sides=sides, application_m=case.application_m, **kw)


@PROPERTY(max_examples=60)
@given(st.data())
def test_rule_deconfliction_line_far_side_matches_reference(data):
    what = data.draw(st.sampled_from(("movement", "fire", "site", "flight")))
    kinds = {"movement": ("line",), "fire": ("point", "polygon"), "site": ("point", "line", "polygon"),
             "flight": ("point", "line", "polygon")}[what]
    case = data.draw(line_case_st(kinds))
    margins = data.draw(margins_st())
    wa, wm = data.draw(window_st()), data.draw(window_st())
    applies_to = data.draw(st.one_of(st.none(), st.frozensets(st.sampled_from(DeclarationKind),
                                                               min_size=1)))
    p_has_side = data.draw(st.integers(0, 4)) > 0
    sides = (("p", case.own), ("q", case.own.other)) if p_has_side else (("q", case.own),)
    measure = line_measure(MeasureKind.DECONFLICTION_LINE, case, wm, applies_to, sides)
    g, r = case.core.geometry, case.radius
    if what == "movement":
        activity = Movement(id="A", owner="p", window=win(wa), route=g, half_width_m=r)
    elif what == "fire":
        activity = Fire(id="A", owner="p", window=win(wa), target=g, effects_radius_m=r)
    elif what == "site":
        activity = Site(id="A", owner="p", window=win(wa), geometry=g, protection_m=r)
    else:
        activity = Flight(id="A", owner="p", window=win(wa), geometry=g, half_width_m=r,
                          altitude=band((0.0, 1_000.0)))
    kinds_applied = applies_to if applies_to is not None else {DeclarationKind.MOVEMENT,
                                                               DeclarationKind.FIRE}
    engine = engine_for(margins)
    engine.add_measure(measure)
    result = engine.check(activity)
    applied = activity.kind in kinds_applied and p_has_side
    exp = expect_line(case, wa, wm, margins) if applied else NEVER
    assert_finding(result, "L", "deconfliction-line-far-side", FindingKind.VIOLATION, exp)


@PROPERTY(max_examples=60)
@given(st.data())
def test_rule_restrictive_fire_line_far_side_matches_reference(data):
    case = data.draw(line_case_st(("point", "polygon")))
    margins = data.draw(margins_st())
    wa, wm = data.draw(window_st()), data.draw(window_st())
    bound_p = data.draw(st.booleans())
    sides = (("p", case.own),) if bound_p else (("q", case.own),)
    measure = line_measure(MeasureKind.RESTRICTIVE_FIRE_LINE, case, wm, None, sides)
    use_trajectory = data.draw(st.booleans())
    if use_trajectory and case.core.kind == "point":
        # The firing position is not part of the effects: only the target counts.
        origin = ref.fwd(*case.core.ref.rings[0][0], data.draw(st.floats(-180.0, 180.0)), 20_000.0)
        activity = Fire(id="A", owner="p", window=win(wa), target=case.core.geometry,
                        effects_radius_m=case.radius, origin=Point(*origin),
                        max_ordinate=Altitude(2_000.0))
    else:
        activity = Fire(id="A", owner="p", window=win(wa), target=case.core.geometry,
                        effects_radius_m=case.radius)
    engine = engine_for(margins)
    engine.add_measure(measure)
    result = engine.check(activity)
    exp = expect_line(case, wa, wm, margins) if bound_p else NEVER
    assert_finding(result, "L", "restrictive-fire-line-far-side", FindingKind.VIOLATION, exp)


@PROPERTY(max_examples=30)
@given(st.data())
def test_rule_deconfliction_line_far_side_never_misses_on_any_line(data):
    """Lines that zigzag or cross themselves: sides are then ambiguous in
    places, so only what the reference is sure of is asserted: a vertex surely
    on the far side, or a footprint reaching the line itself, is a violation."""
    case = data.draw(line_case_st(("point", "line", "polygon"), monotone=False))
    margins = data.draw(margins_st())
    wa, wm = data.draw(window_st()), data.draw(window_st())
    measure = line_measure(MeasureKind.DECONFLICTION_LINE, case, wm,
                           frozenset({DeclarationKind.SITE}), (("p", case.own),))
    engine = engine_for(margins)
    engine.add_measure(measure)
    result = engine.check(Site(id="A", owner="p", window=win(wa), geometry=case.core.geometry,
                               protection_m=case.radius))
    full = expect_line(case, wa, wm, margins)
    must = Expect(strict=full.strict, some=full.some, none=False, not_strict=False)
    assert_finding(result, "L", "deconfliction-line-far-side", FindingKind.VIOLATION, must)
