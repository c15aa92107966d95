"""Every rule, by name, on hand-made cases whose distances are known by construction.

Footprints are placed with pyproj's Geod (through tests.reference): a point
``D`` metres from another along a geodesic is exactly ``D`` away, and a point
reached by leaving a geodesic edge square to it is ``D`` from the edge. Radii
are then set so that the footprints overlap by 5 mm (a finding), miss by 5 mm
(inside the 1 cm touch tolerance: a conservative finding), miss by a metre
(a caution, inside the 500 m margin) or miss by more than the margin (nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconflict.engine import Engine
from deconflict.engine.rules import LINE_END_REACH_M, MEASURE_RULES, PAIR_RULES
from deconflict.geo.ellipsoid import TOUCH_TOLERANCE_M
from deconflict.model import (
    Altitude,
    AltitudeBand,
    Binds,
    CautionMargins,
    DeclarationKind,
    Finding,
    FindingKind,
    Fire,
    Flight,
    LineString,
    Measure,
    MeasureKind,
    Movement,
    Party,
    Point,
    Polygon,
    Side,
    Site,
    SiteCategory,
    Waypoint,
    Window,
)
from deconflict.model.measure import BindsMode
from tests import reference as ref

T0 = datetime(2018, 2, 7, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
W = Window(T0, T0 + HOUR)
MARGINS = CautionMargins(horizontal_m=500.0, vertical_m=150.0, minutes=10.0)
NO_MARGINS = CautionMargins(horizontal_m=0.0, vertical_m=0.0, minutes=0.0)

#: separation between footprints -> the kind of finding expected ("rule" = the rule's kind)
GAPS = [
    (-0.005, "rule", False),  # overlapping by 5 mm
    (TOUCH_TOLERANCE_M / 2, "rule", True),  # missing by 5 mm: within the touch tolerance
    (1.0, "caution", False),  # missing by a metre: inside the 500 m margin
    (499.0, "caution", False),
    (501.0, None, False),  # beyond the margin
]

HERE = (40.3, 35.3)


def at(d: float, az: float = 0.0, origin: tuple[float, float] = HERE) -> tuple[float, float]:
    return ref.fwd(*origin, az, d)


def engine(*, margins: CautionMargins = MARGINS) -> Engine:
    e = Engine(margins)
    for p in ("p", "q", "o"):
        e.add_party(Party(p, p.upper()))
    return e


def finding(result, object_id: str, rule: str) -> Finding | None:
    found = [f for f in result.findings if f.object_id == object_id and f.rule == rule]
    assert len(found) <= 1
    return found[0] if found else None


def assert_kind(f: Finding | None, expected: str | None, rule_kind: FindingKind, conservative=None):
    if expected is None:
        assert f is None, f
        return
    assert f is not None
    assert f.kind is (rule_kind if expected == "rule" else FindingKind.CAUTION), f
    if conservative is not None and expected == "rule":
        assert f.conservative is conservative


def square_off(a, b, fraction: float, d: float, turn: float = 90.0):
    """The point ``d`` metres off edge a-b, leaving it square at ``fraction``
    of its length (turn +90: to the right of a->b, -90: to the left)."""
    on = ref.point_on_edge(a, b, fraction)
    return ref.fwd(*on, ref.inv(*on, *b)[0] + turn, d)


def test_rules_are_all_named_and_distinct():
    names = [r.name for r in PAIR_RULES] + [v[0] for v in MEASURE_RULES.values()]
    assert sorted(names) == sorted({
        "fire-effects-on-site", "fire-effects-on-movement", "fire-trajectory-through-flight",
        "movement-into-forces-site", "flight-into-flight", "deconfliction-line-far-side",
        "no-fire-area", "restrictive-fire-area", "restrictive-fire-line-far-side",
        "restricted-operations-zone", "air-corridor",
    })


# -- fire-effects-on-site -----------------------------------------------------------------------
D = 10_000.0


def fire(target, r=3_000.0, owner="p", window=W, **kw) -> Fire:
    return Fire(id="F", owner=owner, window=window, target=target, effects_radius_m=r, **kw)


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_fire_effects_on_site_by_separation(gap, expected, conservative):
    e = engine()
    e.add_declaration(Site(id="S", owner="q", window=W, geometry=Point(*at(D)),
                           category=SiteCategory.PROTECTED, protection_m=D - 3_000.0 - gap))
    f = finding(e.check(fire(Point(*HERE))), "S", "fire-effects-on-site")
    assert_kind(f, expected, FindingKind.CONFLICT, conservative)
    if f is not None:
        assert f.separation_m == round(max(0.0, gap), 1)
        assert f.vertical_gap_m is None
        assert f.part == "effects"


def test_fire_effects_on_site_is_symmetric_and_same_party_is_exempt():
    site = Site(id="S", owner="q", window=W, geometry=Point(*at(D)), protection_m=7_500.0)
    e = engine()
    e.add_declaration(fire(Point(*HERE)))
    f = finding(e.check(site), "F", "fire-effects-on-site")
    assert f is not None and f.kind is FindingKind.CONFLICT
    own = engine()
    own.add_declaration(Site(id="S", owner="p", window=W, geometry=Point(*at(D)), protection_m=7_500.0))
    assert own.check(fire(Point(*HERE))).findings == ()


def test_fire_effects_on_site_polygon_target_over_a_polygon_site():
    """A polygon target covering a polygon site entirely: distance 0."""
    big = Polygon(((at(20_000, 45), at(20_000, 135), at(20_000, 225), at(20_000, 315), at(20_000, 45)),))
    small = Polygon(((at(1_000, 0), at(1_000, 120), at(1_000, 240), at(1_000, 0)),))
    e = engine()
    e.add_declaration(Site(id="S", owner="q", window=W, geometry=small))
    f = finding(e.check(fire(big, r=0.0)), "S", "fire-effects-on-site")
    assert f is not None and f.kind is FindingKind.CONFLICT and f.separation_m == 0.0


@pytest.mark.parametrize(
    ("site_window", "margins", "expected"),
    [
        (Window(T0 + HOUR, T0 + 2 * HOUR), MARGINS, "caution"),  # touching at an instant
        (Window(T0 + HOUR, T0 + 2 * HOUR), NO_MARGINS, None),
        (Window(T0 - HOUR, T0), NO_MARGINS, None),
        (Window(T0 + HOUR - timedelta(microseconds=1), T0 + 2 * HOUR), NO_MARGINS, "rule"),
        (Window(T0 + HOUR + timedelta(minutes=10), T0 + 2 * HOUR), MARGINS, None),  # 10 min apart
        (Window(T0 + HOUR + timedelta(minutes=9), T0 + 2 * HOUR), MARGINS, "caution"),
    ],
)
def test_fire_effects_on_site_windows_are_half_open(site_window, margins, expected):
    e = engine(margins=margins)
    e.add_declaration(Site(id="S", owner="q", window=site_window, geometry=Point(*HERE)))
    f = finding(e.check(fire(Point(*HERE))), "S", "fire-effects-on-site")
    assert_kind(f, expected, FindingKind.CONFLICT)
    if f is not None and expected == "caution":
        assert f.overlap is None
        assert f.time_gap_s == (site_window.start - W.end).total_seconds()


# -- fire-effects-on-movement ---------------------------------------------------------------------
ROUTE = (at(30_000, 270), at(30_000, 90))  # 60 km east-west through HERE


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_fire_effects_on_movement_by_separation(gap, expected, conservative):
    target = square_off(*ROUTE, 0.4, D, turn=-90.0)  # north of the route
    e = engine()
    e.add_declaration(Movement(id="M", owner="q", window=W, route=LineString(ROUTE),
                               half_width_m=200.0))
    f = finding(e.check(fire(Point(*target), r=D - 200.0 - gap)), "M", "fire-effects-on-movement")
    assert_kind(f, expected, FindingKind.CONFLICT, conservative)


def test_fire_effects_on_movement_only_while_the_leg_is_in_use():
    """A 4D movement occupies each leg only during its own slice of time."""
    wps = (
        Waypoint(Point(*ROUTE[0]), T0),
        Waypoint(Point(*HERE), T0 + HOUR),
        Waypoint(Point(*ROUTE[1]), T0 + 2 * HOUR),
    )
    e = engine(margins=NO_MARGINS)
    e.add_declaration(Movement(id="M", owner="q", window=Window(T0, T0 + 2 * HOUR), waypoints=wps,
                               half_width_m=100.0))
    east_end = Point(*ROUTE[1])
    early = fire(east_end, r=50.0, window=Window(T0, T0 + HOUR))  # second leg not yet used
    late = fire(east_end, r=50.0, window=Window(T0 + HOUR, T0 + 2 * HOUR))
    assert finding(e.check(early), "M", "fire-effects-on-movement") is None
    f = finding(e.check(late), "M", "fire-effects-on-movement")
    assert f is not None and f.kind is FindingKind.CONFLICT and f.part == "effects"


# -- fire-trajectory-through-flight -------------------------------------------------------------------
ORIGIN, TARGET = at(15_000, 200), at(15_000, 20)


def artillery(max_ord=3_500.0, half=250.0, owner="p") -> Fire:
    return Fire(id="F", owner=owner, window=W, target=Point(*TARGET), effects_radius_m=100.0,
                origin=Point(*ORIGIN), max_ordinate=Altitude(max_ord), trajectory_half_width_m=half)


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_fire_trajectory_through_flight_by_separation(gap, expected, conservative):
    spot = square_off(ORIGIN, TARGET, 0.5, 5_000.0)
    e = engine()
    e.add_declaration(Flight(id="A", owner="q", window=W, geometry=Point(*spot),
                             half_width_m=5_000.0 - 250.0 - gap, altitude=AltitudeBand.metres(1_000, 2_000)))
    f = finding(e.check(artillery()), "A", "fire-trajectory-through-flight")
    assert_kind(f, expected, FindingKind.CONFLICT, conservative)
    if f is not None:
        assert f.part == "trajectory" and f.vertical_gap_m == 0.0


@pytest.mark.parametrize(
    ("band", "expected"),
    [
        ((3_500.0, 4_000.0), "rule"),  # touching the maximum ordinate: closed bands overlap
        ((3_500.5, 4_000.0), "caution"),  # just above, inside the 150 m vertical margin
        ((3_700.0, 4_000.0), None),
        ((-420.0, -380.0), "rule"),  # a helicopter low over the Dead Sea: the trajectory starts at the surface
        ((0.0, 0.0), "rule"),
    ],
)
def test_fire_trajectory_through_flight_bands(band, expected):
    e = engine()
    e.add_declaration(Flight(id="A", owner="q", window=W, geometry=LineString((ORIGIN, TARGET)),
                             half_width_m=100.0, altitude=AltitudeBand.metres(*band)))
    f = finding(e.check(artillery()), "A", "fire-trajectory-through-flight")
    assert_kind(f, expected, FindingKind.CONFLICT)
    if expected == "caution":
        assert f is not None and f.vertical_gap_m == round(band[0] - 3_500.0, 1)


def test_fire_trajectory_needs_the_firing_position():
    """Without origin and maximum ordinate a fire has no trajectory part."""
    e = engine()
    e.add_declaration(Flight(id="A", owner="q", window=W, geometry=LineString((ORIGIN, TARGET)),
                             half_width_m=100.0, altitude=AltitudeBand.metres(1_000, 2_000)))
    assert finding(e.check(fire(Point(*TARGET), r=0.0)), "A", "fire-trajectory-through-flight") is None


# -- movement-into-forces-site -------------------------------------------------------------------------
@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_movement_into_forces_site_by_separation(gap, expected, conservative):
    spot = square_off(*ROUTE, 0.7, 3_000.0)
    e = engine()
    e.add_declaration(Site(id="S", owner="q", window=W, geometry=Point(*spot),
                           category=SiteCategory.FORCES, protection_m=1_000.0))
    move = Movement(id="M", owner="p", window=W, route=LineString(ROUTE), half_width_m=2_000.0 - gap)
    f = finding(e.check(move), "S", "movement-into-forces-site")
    assert_kind(f, expected, FindingKind.CONFLICT, conservative)


def test_movement_into_a_protected_site_is_not_this_rule():
    e = engine()
    e.add_declaration(Site(id="S", owner="q", window=W, geometry=Point(*HERE),
                           category=SiteCategory.PROTECTED, protection_m=1_000.0))
    move = Movement(id="M", owner="p", window=W, route=LineString(ROUTE), half_width_m=100.0)
    assert e.check(move).findings == ()


# -- flight-into-flight ---------------------------------------------------------------------------------
def flight(ident, owner, where, half, band, window=W) -> Flight:
    return Flight(id=ident, owner=owner, window=window, geometry=where, half_width_m=half,
                  altitude=AltitudeBand.metres(*band))


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_flight_into_flight_by_separation(gap, expected, conservative):
    e = engine()
    e.add_declaration(flight("B", "q", Point(*at(D, 123.0)), 4_000.0, (1_000, 2_000)))
    f = finding(e.check(flight("A", "p", Point(*HERE), D - 4_000.0 - gap, (2_000, 3_000))), "B",
                "flight-into-flight")
    assert_kind(f, expected, FindingKind.CONFLICT, conservative)


@pytest.mark.parametrize(
    ("band", "expected"),
    [((2_000, 3_000), "rule"), ((2_100, 3_000), "caution"), ((2_150.0, 3_000), "caution"),
     ((2_150.5, 3_000), None), ((0, 999.5), "caution"), ((0, 800), None)],
)
def test_flight_into_flight_bands_are_closed(band, expected):
    e = engine()
    e.add_declaration(flight("B", "q", Point(*HERE), 1_000.0, (1_000, 2_000)))
    f = finding(e.check(flight("A", "p", Point(*HERE), 1_000.0, band)), "B", "flight-into-flight")
    assert_kind(f, expected, FindingKind.CONFLICT)


def test_flight_into_flight_same_party_is_exempt():
    e = engine()
    e.add_declaration(flight("B", "p", Point(*HERE), 1_000.0, (1_000, 2_000)))
    assert e.check(flight("A", "p", Point(*HERE), 1_000.0, (1_000, 2_000))).findings == ()


# -- deconfliction-line-far-side --------------------------------------------------------------------------
LINE = (at(50_000, 270), HERE, at(50_000, 100))  # runs west to east; left is north


def dline(kind=MeasureKind.DECONFLICTION_LINE, sides=(("p", Side.LEFT), ("q", Side.RIGHT)), **kw):
    return Measure(id="L", kind=kind, owner="o", geometry=LineString(LINE), window=W, sides=sides, **kw)


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_deconfliction_line_far_side_by_separation(gap, expected, conservative):
    """A movement on its own side (north), its corridor edge near the line."""
    a = square_off(LINE[0], LINE[1], 0.3, 5_000.0, turn=-90.0)
    b = square_off(LINE[0], LINE[1], 0.6, 5_000.0, turn=-90.0)
    e = engine()
    e.add_measure(dline())
    move = Movement(id="M", owner="p", window=W, route=LineString((a, b)), half_width_m=5_000.0 - gap)
    f = finding(e.check(move), "L", "deconfliction-line-far-side")
    assert_kind(f, expected, FindingKind.VIOLATION, conservative)


def test_deconfliction_line_far_side_entirely_across_and_own_side():
    e = engine()
    e.add_measure(dline())
    south = Point(*square_off(LINE[1], LINE[2], 0.5, 20_000.0, turn=90.0))
    north = Point(*square_off(LINE[1], LINE[2], 0.5, 20_000.0, turn=-90.0))
    f = finding(e.check(fire(south, r=0.0)), "L", "deconfliction-line-far-side")
    assert f is not None and f.kind is FindingKind.VIOLATION and not f.conservative
    assert finding(e.check(fire(north, r=0.0)), "L", "deconfliction-line-far-side") is None
    # q keeps to the right (south): the same fires the other way round
    assert finding(e.check(fire(north, r=0.0, owner="q")), "L", "deconfliction-line-far-side") is not None
    assert finding(e.check(fire(south, r=0.0, owner="q")), "L", "deconfliction-line-far-side") is None


def test_deconfliction_line_far_side_beyond_the_end_is_conservative():
    """Past the east end, south of the line continued: flagged, conservatively."""
    onward = ref.inv(*LINE[2], *LINE[1])[0] + 180.0  # the last edge's azimuth at its end
    beyond = ref.fwd(*LINE[2], onward, 30_000.0)
    south_beyond = ref.fwd(*beyond, 180.0, 5_000.0)
    e = engine()
    e.add_measure(dline())
    f = finding(e.check(fire(Point(*south_beyond), r=0.0)), "L", "deconfliction-line-far-side")
    assert f is not None and f.kind is FindingKind.VIOLATION
    assert f.conservative


def test_deconfliction_line_binds_only_the_named_parties_and_kinds():
    south = Point(*square_off(LINE[1], LINE[2], 0.5, 20_000.0, turn=90.0))
    e = engine()
    e.add_measure(dline(sides=(("q", Side.RIGHT),)))
    assert finding(e.check(fire(south, r=0.0)), "L", "deconfliction-line-far-side") is None
    e2 = engine()
    e2.add_measure(dline(applies_to=frozenset({DeclarationKind.MOVEMENT})))
    assert finding(e2.check(fire(south, r=0.0)), "L", "deconfliction-line-far-side") is None
    route = LineString(((south.lon, south.lat), ref.fwd(south.lon, south.lat, 90.0, 1_000.0)))
    f = finding(e2.check(Movement(id="M", owner="p", window=W, route=route)), "L",
                "deconfliction-line-far-side")
    assert f is not None and f.kind is FindingKind.VIOLATION


def test_deconfliction_line_ignores_the_firing_position():
    """A bound party may fire from across the line: only the effects count."""
    north = square_off(LINE[1], LINE[2], 0.5, 20_000.0, turn=-90.0)
    south = square_off(LINE[1], LINE[2], 0.5, 20_000.0, turn=90.0)
    e = engine()
    e.add_measure(dline())
    shot = Fire(id="F", owner="p", window=W, target=Point(*north), effects_radius_m=100.0,
                origin=Point(*south), max_ordinate=Altitude(3_000.0))
    assert finding(e.check(shot), "L", "deconfliction-line-far-side") is None


def test_deconfliction_line_window_touching_at_an_instant():
    south = Point(*square_off(LINE[1], LINE[2], 0.5, 20_000.0, turn=90.0))
    later = Window(T0 + HOUR, T0 + 2 * HOUR)
    e = engine(margins=NO_MARGINS)
    e.add_measure(dline())
    assert finding(e.check(fire(south, r=0.0, window=later)), "L", "deconfliction-line-far-side") is None
    e2 = engine()
    e2.add_measure(dline())
    f = finding(e2.check(fire(south, r=0.0, window=later)), "L", "deconfliction-line-far-side")
    assert f is not None and f.kind is FindingKind.CAUTION


# -- no-fire-area / restrictive-fire-area ------------------------------------------------------------
SQUARE = (at(2_000, 45), at(2_000, 135), at(2_000, 225), at(2_000, 315))


def area(kind, geometry=None, binds=None, half=0.0) -> Measure:
    geometry = geometry or Polygon(((*SQUARE, SQUARE[0]),))
    return Measure(id="N", kind=kind, owner="o", geometry=geometry, window=W,
                   binds=binds or Binds(), half_width_m=half)


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_no_fire_area_by_separation(gap, expected, conservative):
    target = square_off(SQUARE[0], SQUARE[1], 0.5, D, turn=-90.0)  # outside, off the east side
    e = engine()
    e.add_measure(area(MeasureKind.NO_FIRE_AREA))
    f = finding(e.check(fire(Point(*target), r=D - gap)), "N", "no-fire-area")
    assert_kind(f, expected, FindingKind.VIOLATION, conservative)


def test_no_fire_area_as_a_point_with_a_radius_and_binding():
    e = engine()
    e.add_measure(area(MeasureKind.NO_FIRE_AREA, Point(*at(D)), Binds(BindsMode.LISTED,
                                                                    frozenset({"q"})), half=D - 100.0))
    assert finding(e.check(fire(Point(*HERE), r=200.0)), "N", "no-fire-area") is None
    f = finding(e.check(fire(Point(*HERE), r=200.0, owner="q")), "N", "no-fire-area")
    assert f is not None and f.kind is FindingKind.VIOLATION


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_restrictive_fire_area_by_separation(gap, expected, conservative):
    target = square_off(SQUARE[0], SQUARE[1], 0.5, D, turn=-90.0)
    e = engine()
    e.add_measure(area(MeasureKind.RESTRICTIVE_FIRE_AREA))
    f = finding(e.check(fire(Point(*target), r=D - gap)), "N", "restrictive-fire-area")
    # No cautions for restrictive fire areas: a near miss needs no coordination.
    assert_kind(f, "rule" if expected == "rule" else None, FindingKind.COORDINATION_REQUIRED,
                conservative)


def test_restrictive_fire_area_all_but_owner():
    e = engine()
    e.add_measure(Measure(id="N", kind=MeasureKind.RESTRICTIVE_FIRE_AREA, owner="p",
                          geometry=Polygon(((*SQUARE, SQUARE[0]),)), window=W,
                          binds=Binds(BindsMode.ALL_BUT_OWNER)))
    assert finding(e.check(fire(Point(*HERE))), "N", "restrictive-fire-area") is None
    f = finding(e.check(fire(Point(*HERE), owner="q")), "N", "restrictive-fire-area")
    assert f is not None and f.kind is FindingKind.COORDINATION_REQUIRED


# -- restrictive-fire-line-far-side ---------------------------------------------------------------------
@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_restrictive_fire_line_far_side_by_separation(gap, expected, conservative):
    target = square_off(LINE[1], LINE[2], 0.5, D, turn=-90.0)  # on p's side (north)
    e = engine()
    e.add_measure(dline(MeasureKind.RESTRICTIVE_FIRE_LINE, sides=(("p", Side.LEFT),)))
    f = finding(e.check(fire(Point(*target), r=D - gap)), "L", "restrictive-fire-line-far-side")
    assert_kind(f, expected, FindingKind.VIOLATION, conservative)


def test_restrictive_fire_line_applies_to_fires_only():
    south = square_off(LINE[1], LINE[2], 0.5, 5_000.0, turn=90.0)
    e = engine()
    e.add_measure(dline(MeasureKind.RESTRICTIVE_FIRE_LINE, sides=(("p", Side.LEFT),)))
    move = Movement(id="M", owner="p", window=W, route=LineString((south, ref.fwd(*south, 90, 1e3))))
    assert finding(e.check(move), "L", "restrictive-fire-line-far-side") is None
    f = finding(e.check(fire(Point(*south), r=0.0)), "L", "restrictive-fire-line-far-side")
    assert f is not None and f.kind is FindingKind.VIOLATION


# -- restricted-operations-zone ----------------------------------------------------------------------------
def roz(band=(1_500.0, 7_500.0), binds=None) -> Measure:
    return Measure(id="Z", kind=MeasureKind.RESTRICTED_OPERATIONS_ZONE, owner="o",
                   geometry=Polygon(((*SQUARE, SQUARE[0]),)), window=W, binds=binds or Binds(),
                   altitude=AltitudeBand.metres(*band))


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_restricted_operations_zone_by_separation(gap, expected, conservative):
    spot = square_off(SQUARE[2], SQUARE[3], 0.5, D, turn=-90.0)
    e = engine()
    e.add_measure(roz())
    f = finding(e.check(flight("A", "p", Point(*spot), D - gap, (1_000, 2_000))), "Z",
                "restricted-operations-zone")
    assert_kind(f, expected, FindingKind.VIOLATION, conservative)


@pytest.mark.parametrize(
    ("band", "expected"),
    [((7_500, 9_000), "rule"), ((7_600, 9_000), "caution"), ((7_651, 9_000), None),
     ((0, 1_500), "rule"), ((0, 1_400), "caution")],
)
def test_restricted_operations_zone_bands_are_closed(band, expected):
    e = engine()
    e.add_measure(roz())
    f = finding(e.check(flight("A", "p", Point(*HERE), 100.0, band)), "Z", "restricted-operations-zone")
    assert_kind(f, expected, FindingKind.VIOLATION)


# -- air-corridor ---------------------------------------------------------------------------------------------
CORRIDOR = (at(40_000, 0), at(40_000, 180))  # north-south through HERE


def corridor(owner="q") -> Measure:
    return Measure(id="C", kind=MeasureKind.AIR_CORRIDOR, owner=owner, geometry=LineString(CORRIDOR),
                   window=W, binds=Binds(BindsMode.ALL_BUT_OWNER), half_width_m=2_500.0,
                   altitude=AltitudeBand.metres(500, 4_000))


@pytest.mark.parametrize(("gap", "expected", "conservative"), GAPS)
def test_air_corridor_by_separation(gap, expected, conservative):
    spot = square_off(*CORRIDOR, 0.5, D)
    e = engine()
    e.add_measure(corridor())
    f = finding(e.check(flight("A", "p", Point(*spot), D - 2_500.0 - gap, (1_000, 2_000))), "C",
                "air-corridor")
    assert_kind(f, expected, FindingKind.VIOLATION, conservative)


def test_air_corridor_owner_flights_are_exempt_but_fire_trajectories_are_not():
    across = LineString((at(10_000, 270), at(10_000, 90)))
    e = engine()
    e.add_measure(corridor(owner="q"))
    assert finding(e.check(flight("A", "q", across, 100.0, (1_000, 2_000))), "C", "air-corridor") is None
    f = finding(e.check(flight("A", "p", across, 100.0, (1_000, 2_000))), "C", "air-corridor")
    assert f is not None and f.kind is FindingKind.VIOLATION
    shot = Fire(id="F", owner="p", window=W, target=Point(*at(10_000, 90)), effects_radius_m=50.0,
                origin=Point(*at(10_000, 270)), max_ordinate=Altitude(1_000.0))
    f = finding(e.check(shot), "C", "air-corridor")
    assert f is not None and f.kind is FindingKind.VIOLATION and f.part == "trajectory"
    low = Fire(id="F", owner="p", window=W, target=Point(*at(10_000, 90)), effects_radius_m=50.0,
               origin=Point(*at(10_000, 270)), max_ordinate=Altitude(300.0))  # under the corridor
    assert finding(e.check(low), "C", "air-corridor") is None


def test_deconfliction_line_continuation_is_the_boundary_within_reach_only():
    """Past its ends a line's continuation is the boundary, up to LINE_END_REACH_M
    from the line: a footprint straddling it 40 km out is a (conservative)
    violation; 4,500 km out the line no longer rules at all."""
    onward = ref.inv(*LINE[2], *LINE[1])[0] + 180.0
    e = engine()
    e.add_measure(dline())
    for along, aside, straddling, short in ((40_000.0, 1_000.0, 3_000.0, 500.0),
                                            (4_500_000.0, 100_000.0, 300_000.0, 50_000.0)):
        far_on_line = ref.fwd(*LINE[2], onward, along)
        back = ref.inv(*far_on_line, *LINE[2])[0]  # looking back along the continuation
        left_of_it = ref.fwd(*far_on_line, back + 90.0, aside)  # left when heading onward
        f = finding(e.check(fire(Point(*left_of_it), r=straddling)), "L", "deconfliction-line-far-side")
        if along < LINE_END_REACH_M:
            assert f is not None and f.kind is FindingKind.VIOLATION and f.conservative
        else:
            assert f is None
        assert finding(e.check(fire(Point(*left_of_it), r=short)), "L", "deconfliction-line-far-side") is None


@pytest.mark.parametrize("distance_m", [3_000_000.0, 3_999_500.0, 4_000_000.0, 7_000_000.0])
def test_deconfliction_line_checks_activities_far_away_without_error(distance_m):
    """Regression: an activity about 4,000 km past an end raised
    UnsupportedGeometry for an edge the engine had made itself."""
    onward = ref.inv(*LINE[2], *LINE[1])[0] + 180.0
    spot = ref.fwd(*ref.fwd(*LINE[2], onward, distance_m), 0.0, 1_000.0)
    e = engine()
    e.add_measure(dline())
    e.check(fire(Point(*spot), r=100.0))


def test_flight_into_flight_4d_legs_have_their_own_time_and_band():
    """A climb: leg 1 level at 1,000 m, leg 2 from 1,000 to 3,000 m. Another
    flight at 2,000-2,100 m over the same ground meets only leg 2, and only
    while leg 2 is flown."""
    a, b, c = at(20_000, 270), HERE, at(20_000, 90)
    climb = Flight(id="A", owner="p", window=Window(T0, T0 + 2 * HOUR), waypoints=(
        Waypoint(Point(*a), T0, Altitude(1_000.0)),
        Waypoint(Point(*b), T0 + HOUR, Altitude(1_000.0)),
        Waypoint(Point(*c), T0 + 2 * HOUR, Altitude(3_000.0)),
    ))
    route = LineString((a, c))
    during_leg_1 = flight("B", "q", route, 500.0, (2_000, 2_100), Window(T0, T0 + HOUR))
    during_leg_2 = flight("B", "q", route, 500.0, (2_000, 2_100), Window(T0 + HOUR, T0 + 2 * HOUR))
    e = engine(margins=NO_MARGINS)
    e.add_declaration(during_leg_1)
    assert finding(e.check(climb), "B", "flight-into-flight") is None
    e = engine(margins=NO_MARGINS)
    e.add_declaration(during_leg_2)
    f = finding(e.check(climb), "B", "flight-into-flight")
    assert f is not None and f.kind is FindingKind.CONFLICT and f.part == "leg 2"


def _pair(rule: str, owner: str):
    """(declared object, activity) that meet for ``rule``; the object is ``owner``'s."""
    route = LineString(ROUTE)
    if rule == "fire-effects-on-site":
        return Site(id="X", owner=owner, window=W, geometry=Point(*HERE)), fire(Point(*HERE))
    if rule == "fire-effects-on-movement":
        return Movement(id="X", owner=owner, window=W, route=route), fire(Point(*HERE))
    if rule == "fire-trajectory-through-flight":
        return (Flight(id="X", owner=owner, window=W, geometry=Point(*HERE), half_width_m=100.0,
                       altitude=AltitudeBand.metres(1_000, 2_000)), artillery())
    if rule == "movement-into-forces-site":
        return (Site(id="X", owner=owner, window=W, geometry=Point(*HERE), category=SiteCategory.FORCES),
                Movement(id="M", owner="p", window=W, route=route))
    return (flight("X", owner, Point(*HERE), 100.0, (1_000, 2_000)),
            flight("A", "p", Point(*HERE), 100.0, (1_000, 2_000)))


@pytest.mark.parametrize("rule", [r.name for r in PAIR_RULES])
def test_pair_rules_apply_between_parties_only(rule):
    kind = next(r.kind for r in PAIR_RULES if r.name == rule)
    other, activity = _pair(rule, "q")
    e = engine()
    e.add_declaration(other)
    f = finding(e.check(activity), "X", rule)
    assert f is not None and f.kind is kind
    own, activity = _pair(rule, "p")
    e = engine()
    e.add_declaration(own)
    assert e.check(activity).findings == ()


def test_line_does_not_rule_on_a_footprint_astride_its_continuation_out_of_reach():
    """Regression (found by the property test): a target area astride the
    continuation 76 km past the end, out of LINE_END_REACH_M, was a violation
    because the reach was only applied to footprints not touching the boundary."""
    line = LineString(((0.0, 0.0), (0.004703046059106066, 0.180811908211938),
                       (0.009406185166432853, 0.361623779034506)))
    area = Polygon((((0.2901009821366176, 1.1793798940470341), (0.00801645559423099, 1.04698535349242),
                     (0.035133920926732606, 1.359075366206589), (0.2901009821366176, 1.1793798940470341)),))
    e = Engine(CautionMargins(0.0, 0.0, 0.0))
    for p in ("p", "o"):
        e.add_party(Party(p, p))
    e.add_measure(Measure(id="L", kind=MeasureKind.RESTRICTIVE_FIRE_LINE, owner="o", geometry=line, window=W,
                          sides=(("p", Side.LEFT),)))
    fire = Fire(id="F", owner="p", window=W, target=area, effects_radius_m=0.0)
    assert finding(e.check(fire), "L", "restrictive-fire-line-far-side") is None
    # Moved back within reach of the end (across the line), the same area is a violation.
    near = Polygon((tuple((lon, lat - 0.75) for lon, lat in area.rings[0]),))
    f = finding(e.check(Fire(id="F", owner="p", window=W, target=near, effects_radius_m=0.0)), "L",
                "restrictive-fire-line-far-side")
    assert f is not None and f.kind is FindingKind.VIOLATION
