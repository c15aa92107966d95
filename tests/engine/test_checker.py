"""The Engine: the Euphrates scenario, refusals naming the field, withdrawals and symmetry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import deconflict
from deconflict.codecs.scenario import load_scenario
from deconflict.engine import Engine
from deconflict.errors import AlreadyExists, InvalidInput, NotFound, UnknownReference, UnsupportedGeometry
from deconflict.geo.ellipsoid import MAX_EDGE_M, MAX_SPAN_M
from deconflict.model import (
    AltitudeBand,
    CautionMargins,
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
    Site,
    SiteCategory,
    Waypoint,
    Window,
)
from tests import reference as ref

EUPHRATES = Path(deconflict.__file__).parent / "data" / "euphrates-2018.json"
T0 = datetime(2018, 2, 7, 20, tzinfo=UTC)
W = Window(T0, T0 + timedelta(hours=1))


def scenario_engine():
    sc = load_scenario(EUPHRATES)
    engine = Engine(sc.margins)
    for p in sc.parties:
        engine.add_party(p)
    for m in sc.measures:
        engine.add_measure(m)
    for d in sc.declarations:
        engine.add_declaration(d)
    return sc, engine


SCENARIO = load_scenario(EUPHRATES)


@pytest.mark.parametrize("check", SCENARIO.checks, ids=[c.id for c in SCENARIO.checks])
def test_engine_euphrates_check_meets_its_expectation(check):
    _sc, engine = scenario_engine()
    assert check.expect is not None
    result = engine.check(check.activity)
    assert check.expect.failures(result) == []


def test_engine_euphrates_has_thirteen_checks_and_checking_adds_nothing():
    sc, engine = scenario_engine()
    assert len(sc.checks) == 13
    before = len(engine)
    for c in sc.checks:
        engine.check(c.activity)
    assert len(engine) == before


def test_engine_euphrates_bulk_load_gives_the_same_results():
    """Loading the declarations at once (start-up) answers as adding them one by one."""
    sc, one_by_one = scenario_engine()
    bulk = Engine(sc.margins)
    for p in sc.parties:
        bulk.add_party(p)
    for m in sc.measures:
        bulk.add_measure(m)
    bulk.load(sc.declarations)
    for c in sc.checks:
        a, b = one_by_one.check(c.activity), bulk.check(c.activity)
        assert [(f.object_id, f.rule, f.kind) for f in a.findings] == [
            (f.object_id, f.rule, f.kind) for f in b.findings
        ]


def test_engine_euphrates_fire_far_from_every_line_is_checked_without_error():
    """Regression: checking a fire about 4,000 km or more past the end of the
    Euphrates line raised UnsupportedGeometry ("geometry[0]": an edge of the
    line's continuation that the engine had made itself)."""
    _sc, engine = scenario_engine()
    w = Window(datetime(2018, 2, 7, 10, tzinfo=UTC), datetime(2018, 2, 7, 11, tzinfo=UTC))
    for where in ((131.9, 43.1), (-77.0, 38.9), (151.2, -33.9)):
        result = engine.check(Fire(id="X", owner="russia", window=w, target=Point(*where),
                                   effects_radius_m=100.0))
        assert all(f.rule == "deconfliction-line-far-side" for f in result.findings)


# -- a small engine ------------------------------------------------------------------------------
def engine(margins: CautionMargins | None = None) -> Engine:
    e = Engine(margins or CautionMargins())
    for p in ("p", "q"):
        e.add_party(Party(p, p.upper()))
    return e


HERE = (40.3, 35.3)


def site(ident="S", owner="q", where=HERE, protection=1_000.0) -> Site:
    return Site(id=ident, owner=owner, window=W, geometry=Point(*where), protection_m=protection,
                category=SiteCategory.FORCES)


def strike(where=HERE, r=100.0, owner="p") -> Fire:
    return Fire(id="F", owner=owner, window=W, target=Point(*where), effects_radius_m=r)


def test_engine_withdrawn_declaration_gives_no_finding():
    e = engine()
    e.add_declaration(site())
    assert e.check(strike()).verdict is FindingKind.CONFLICT
    e.remove_declaration("S")
    assert e.check(strike()).verdict is FindingKind.CLEAR
    with pytest.raises(NotFound):
        e.remove_declaration("S")


def test_engine_replaced_declaration_is_checked_where_it_now_is():
    e = engine()
    e.add_declaration(site())
    with pytest.raises(AlreadyExists):
        e.add_declaration(site())
    e.add_declaration(site(where=ref.fwd(*HERE, 0.0, 50_000.0)), replace=True)
    assert e.check(strike()).verdict is FindingKind.CLEAR
    assert len(e) == 1


def test_engine_activity_with_the_id_of_an_accepted_one_is_not_checked_against_itself():
    e = engine()
    e.add_declaration(site(ident="X", owner="q"))
    e.add_declaration(strike(owner="p"))
    # the fire F is re-checked (e.g. an amendment): it still meets the site, not itself
    result = e.check(strike(owner="p"))
    assert [f.object_id for f in result.findings] == ["X"]


def test_engine_another_partys_declaration_with_the_activitys_id_is_still_checked():
    """Regression: the check skipped any declaration with the activity's id,
    so a fire named after another party's site missed that very site."""
    e = engine()
    e.add_declaration(site(ident="F", owner="q"))  # the strike below is also "F"
    result = e.check(strike(owner="p"))
    assert result.verdict is FindingKind.CONFLICT
    assert [f.object_id for f in result.findings] == ["F"]


def test_engine_findings_are_ordered_worst_first():
    e = engine()
    e.add_declaration(site(ident="NEAR", where=ref.fwd(*HERE, 90.0, 1_300.0), protection=1_000.0))
    e.add_declaration(site(ident="ON", where=HERE))
    result = e.check(strike(r=100.0))
    assert result.verdict is FindingKind.CONFLICT
    assert [(f.object_id, f.kind) for f in result.findings] == [
        ("ON", FindingKind.CONFLICT), ("NEAR", FindingKind.CAUTION)]
    assert result.findings[1].separation_m == pytest.approx(200.0, abs=0.1)


def test_engine_unknown_party_is_refused_naming_the_field():
    e = engine()
    with pytest.raises(UnknownReference) as err:
        e.check(strike(owner="nobody"))
    assert err.value.field == "owner"


def test_engine_far_apart_across_the_antimeridian_are_found():
    """A site just east of 180 and a fire just west of it: 2 km apart."""
    east = (-179.99, 10.0)
    west = ref.fwd(*east, 270.0, 2_000.0)
    assert west[0] > 179.0
    e = engine()
    e.add_declaration(site(where=east, protection=1_500.0))
    assert e.check(strike(where=west, r=600.0)).verdict is FindingKind.CONFLICT
    assert e.check(strike(where=west, r=400.0)).verdict is FindingKind.CAUTION


def test_engine_polygon_round_the_south_pole_meets_a_site_near_the_pole():
    """Regression: a ring round the south pole was taken to hold the north
    pole, so its box stopped short of the south pole and the index missed
    everything near it."""
    ring = [(lon, -80.0) for lon in (-150.0, -30.0, 90.0)]
    e = engine(CautionMargins(horizontal_m=0.0, vertical_m=0.0, minutes=0.0))
    e.add_declaration(site(where=(12.0, -89.0), protection=0.0))
    target = Polygon(((*ring, ring[0]),))
    result = e.check(Fire(id="F", owner="p", window=W, target=target, effects_radius_m=0.0))
    assert result.verdict is FindingKind.CONFLICT


def test_engine_point_at_the_antimeridian_meets_a_line_ending_there_without_margins():
    """Regression: the index did not see that +180 and -180 are one meridian."""
    e = engine(CautionMargins(horizontal_m=0.0, vertical_m=0.0, minutes=0.0))
    e.add_declaration(Movement(id="M", owner="q", window=W,
                               route=LineString(((179.0, 0.0), (180.0, 0.0)))))
    result = e.check(strike(where=(-180.0, 0.0), r=0.0))
    assert [(f.object_id, f.kind) for f in result.findings] == [("M", FindingKind.CONFLICT)]


# -- refusals, by field ----------------------------------------------------------------------------
def long_edge_polygon() -> Polygon:
    """Its third edge (index 2, from b back to a) is longer than the limit."""
    a = (10.0, 0.0)
    b = ref.fwd(*a, 90.0, MAX_EDGE_M + 10_000.0)
    c = ref.fwd(*a, 60.0, 200_000.0)
    assert ref.inv(*c, *b)[1] < MAX_EDGE_M
    return Polygon(((a, c, b, a),))


def test_engine_refuses_an_edge_longer_than_the_limit_naming_the_field():
    e = engine()
    with pytest.raises(UnsupportedGeometry) as err:
        e.add_declaration(Site(id="S", owner="q", window=W, geometry=long_edge_polygon()))
    assert err.value.field == "geometry.coordinates[0][2]"
    with pytest.raises(UnsupportedGeometry) as err:
        e.check(Fire(id="F", owner="p", window=W, target=long_edge_polygon()))
    assert err.value.field.startswith("target.coordinates[0]")


def test_engine_refuses_a_long_leg_naming_the_waypoint():
    far = ref.fwd(10.5, 0.0, 90.0, MAX_EDGE_M + 10_000.0)
    wps = (
        Waypoint(Point(10.0, 0.0), T0),
        Waypoint(Point(10.5, 0.0), T0 + timedelta(minutes=5)),
        Waypoint(Point(*far), T0 + timedelta(minutes=50)),
    )
    with pytest.raises(UnsupportedGeometry) as err:
        engine().check(Movement(id="M", owner="p", window=Window(T0, T0 + timedelta(minutes=50)),
                                waypoints=wps))
    assert err.value.field.startswith("waypoints[1]")


def test_engine_refuses_a_shape_wider_than_the_span_limit_naming_the_position():
    coords = [(0.0, 0.0)]
    for _ in range(3):
        coords.append(ref.fwd(*coords[-1], 90.0, 2_000_000.0))
    assert ref.inv(*coords[0], *coords[-1])[1] > MAX_SPAN_M
    route = LineString(tuple(coords))
    with pytest.raises(UnsupportedGeometry) as err:
        engine().check(Movement(id="M", owner="p", window=W, route=route))
    assert err.value.field == "geometry.coordinates[3]"


def test_engine_refuses_a_self_intersecting_polygon():
    bow_tie = Polygon((((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)),))
    with pytest.raises(InvalidInput) as err:
        engine().check(Flight(id="A", owner="p", window=W, geometry=bow_tie,
                              altitude=AltitudeBand.metres(0, 100)))
    assert err.value.field.startswith("geometry.coordinates[0]")
    assert not isinstance(err.value, UnsupportedGeometry)


def test_engine_refuses_a_measure_with_a_long_edge_naming_the_field():
    e = engine()
    m = Measure(id="N", kind=MeasureKind.NO_FIRE_AREA, owner="q", geometry=long_edge_polygon(), window=W)
    with pytest.raises(UnsupportedGeometry) as err:
        e.add_measure(m)
    assert err.value.field == "geometry.coordinates[0][2]"
    assert e.measures() == []


def test_a_measure_added_or_removed_after_checks_is_seen_by_the_next_check():
    """The engine keeps, per kind of part, the measures that can govern it; a
    measure coming into force or withdrawn must drop what it kept."""
    _sc, engine = scenario_engine()
    fire = Fire(id="Fx", owner="russia", window=W, target=Point(40.05, 35.2), effects_radius_m=100)
    assert not [f for f in engine.check(fire).findings if f.object_id == "NFAx"]
    ring = ((40.04, 35.19), (40.06, 35.19), (40.06, 35.21), (40.04, 35.21), (40.04, 35.19))
    engine.add_measure(Measure(id="NFAx", kind=MeasureKind.NO_FIRE_AREA, owner="coalition", window=W,
                               geometry=Polygon((ring,))))
    assert [f.kind for f in engine.check(fire).findings if f.object_id == "NFAx"] == [FindingKind.VIOLATION]
    engine.remove_measure("NFAx")
    assert not [f for f in engine.check(fire).findings if f.object_id == "NFAx"]
