"""The chord prune in Engine.check (geo/chord.py): ruling candidates out by
chords in space before any exact comparison changes no finding. Each check runs
twice on one engine, with the prune and without it, over crowded random scenes
of corridors, areas, orbits, sites and fires around an activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from deconflict.engine import Engine, checker
from deconflict.model import (
    Altitude,
    AltitudeBand,
    CautionMargins,
    Declaration,
    Fire,
    Flight,
    LineString,
    Movement,
    Party,
    Point,
    Polygon,
    Site,
    SiteCategory,
    Window,
)
from tests.geo.strategies import PROPERTY
from tests.reference import fwd

T0 = datetime(2018, 2, 7, 20, tzinfo=UTC)
W = Window(T0, T0 + timedelta(hours=2))
MARGINS = CautionMargins(horizontal_m=1000.0, vertical_m=300.0, minutes=15.0)


def band(lo: float, hi: float) -> AltitudeBand:
    return AltitudeBand(Altitude(lo), Altitude(hi))


@st.composite
def near(draw: st.DrawFn, i: int, lon: float, lat: float) -> Declaration:
    owner = draw(st.sampled_from(["a", "b"]))
    at = fwd(lon, lat, draw(st.floats(-180, 180)), draw(st.floats(0, 60_000)))
    kind = draw(st.sampled_from(["corridor", "area", "orbit", "site", "fire", "movement"]))
    ident = f"d{i}"
    if kind in ("corridor", "movement"):
        end = fwd(at[0], at[1], draw(st.floats(-180, 180)), draw(st.floats(1_000, 80_000)))
        geom = LineString((at, end))
        if kind == "movement":
            return Movement(id=ident, owner=owner, window=W, route=geom, half_width_m=draw(st.floats(10, 3000)))
        return Flight(id=ident, owner=owner, window=W, geometry=geom, half_width_m=draw(st.floats(10, 5000)),
                      altitude=band(draw(st.floats(0, 2000)), 4000))
    if kind == "area":
        d = draw(st.floats(1_000, 20_000))
        ring = (at, fwd(at[0], at[1], 90, d), fwd(*fwd(at[0], at[1], 90, d), 0, d), fwd(at[0], at[1], 0, d), at)
        return Flight(id=ident, owner=owner, window=W, geometry=Polygon((ring,)), altitude=band(500, 3000))
    if kind == "orbit":
        return Flight(id=ident, owner=owner, window=W, geometry=Point(*at), half_width_m=draw(st.floats(500, 10_000)),
                      altitude=band(1000, 5000))
    if kind == "site":
        return Site(id=ident, owner=owner, window=W, geometry=Point(*at), protection_m=draw(st.floats(0, 3000)),
                    category=draw(st.sampled_from([SiteCategory.FORCES, SiteCategory.PROTECTED])))
    return Fire(id=ident, owner=owner, window=W, target=Point(*at), effects_radius_m=draw(st.floats(0, 3000)))


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[Declaration], Declaration]:
    lon = draw(st.floats(-179.5, 179.5))
    lat = draw(st.floats(-80.0, 80.0))
    decls = [draw(near(i, lon, lat)) for i in range(draw(st.integers(8, 30)))]
    end = fwd(lon, lat, draw(st.floats(-180, 180)), draw(st.floats(5_000, 90_000)))
    if draw(st.booleans()):
        activity: Declaration = Flight(id="act", owner="c", window=W, geometry=LineString(((lon, lat), end)),
                                       half_width_m=draw(st.floats(10, 5000)), altitude=band(1500, 2500))
    else:
        activity = Movement(id="act", owner="c", window=W, route=LineString(((lon, lat), end)),
                            half_width_m=draw(st.floats(10, 2000)))
    return decls, activity


def findings(engine: Engine, activity: Declaration) -> list[tuple[str, str, str, float]]:
    return sorted((f.object_id, f.rule, f.kind.value, f.separation_m) for f in engine.check(activity).findings)


@PROPERTY(80)
@given(scenes())
def test_the_prune_changes_no_finding(scene):
    decls, activity = scene
    engine = Engine(MARGINS)
    for p in ("a", "b", "c"):
        engine.add_party(Party(p, p.upper()))
    engine.load(decls)
    pruned = findings(engine, activity)
    saved = checker.CHORD_PRUNE_MIN
    checker.CHORD_PRUNE_MIN = 10**9
    try:
        whole = findings(engine, activity)
    finally:
        checker.CHORD_PRUNE_MIN = saved
    assert pruned == whole


def test_the_prune_rules_out_far_candidates_in_a_crowded_box():
    """A diagonal corridor's box holds sites far from the corridor itself: the
    prune rules them out (so the test above compares something)."""
    engine = Engine(MARGINS)
    for p in ("a", "c"):
        engine.add_party(Party(p, p.upper()))
    # Sites in the corners of the box of a corridor from (40, 35) to (40.5, 35.5).
    corners = [Site(id=f"s{i}", owner="a", window=W, geometry=Point(40.45 - 0.01 * i, 35.05),
                    protection_m=100.0, category=SiteCategory.FORCES) for i in range(6)]
    engine.load(corners)
    corridor = Movement(id="act", owner="c", window=W, route=LineString(((40.0, 35.0), (40.5, 35.5))),
                        half_width_m=200.0)
    seen = []
    original = engine._within_reach

    def spy(ap_, near_, margin):  # type: ignore[no-untyped-def]
        kept = original(ap_, near_, margin)
        seen.append((len(near_), len(kept)))
        return kept

    engine._within_reach = spy  # type: ignore[method-assign]
    assert engine.check(corridor).findings == ()
    assert seen == [(6, 0)]


@PROPERTY(60)
@given(scenes())
def test_unbuilt_lines_are_ruled_out_as_built_ones(scene):
    """The bound from a line candidate's positions (before its part is built)
    rules out exactly the candidates the bound from its built shape does."""
    from deconflict.engine.parts import declaration_part, declaration_parts, part_line
    from deconflict.engine.rules import applicable_pair_rules, horizontal_reach

    decls, activity = scene
    (ap,) = declaration_parts(activity)
    lines, built = [], []
    for d in decls:
        for k in range(len(declaration_parts(d))):
            line = part_line(d, k)
            if line is not None:
                lines.append(line)
                op = declaration_part(d, k)
                built.append((d, op, applicable_pair_rules(ap, op) or [None]))
    if not lines:
        return
    margin = horizontal_reach(MARGINS)
    keep = Engine._unbuilt_within_reach(ap, lines, margin)
    kept = Engine._within_reach(ap, built, margin)
    assert [c for c, k in zip(built, keep, strict=True) if k] == kept


def test_unbuilt_lines_far_away_are_never_built():
    engine = Engine(MARGINS)
    for p in ("a", "c"):
        engine.add_party(Party(p, p.upper()))
    # Flight corridors in a corner of the box of one from (40, 35) to (40.5, 35.5).
    far = [Flight(id=f"f{i}", owner="a", window=W, geometry=LineString(((40.45 - 0.01 * i, 35.05),
                                                                        (40.46 - 0.01 * i, 35.04))),
                  half_width_m=100.0, altitude=band(1000, 3000)) for i in range(6)]
    engine.load(far)
    corridor = Flight(id="act", owner="c", window=W, geometry=LineString(((40.0, 35.0), (40.5, 35.5))),
                      half_width_m=200.0, altitude=band(1500, 2500))
    assert engine.check(corridor).findings == ()
    assert not any(engine._built(s, 0) for s in range(6))
    # Near ones are built and found.
    engine.load([Flight(id="g", owner="a", window=W, geometry=LineString(((40.25, 35.2), (40.25, 35.3))),
                        half_width_m=100.0, altitude=band(1000, 3000))])
    assert [f.object_id for f in engine.check(corridor).findings] == ["g"]
