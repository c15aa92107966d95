"""Lock cells (engine/cells.py): two decisions that could give a finding against
each other always lock a row in common; two far apart lock none but the
global row, which both only share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from deconflict.engine import Engine, cells
from deconflict.engine.cells import EVERYTHING, GLOBAL, Claim
from deconflict.engine.parts import declaration_parts
from deconflict.model import (
    CautionMargins,
    Declaration,
    Fire,
    LineString,
    Movement,
    Party,
    Point,
    Polygon,
    Site,
    SiteCategory,
    Window,
)
from tests.geo.strategies import PROPERTY, scene

T0 = datetime(2030, 1, 1, 12, tzinfo=UTC)
DAY = Window(T0, T0 + timedelta(hours=2))


def wait_for_each_other(a: Claim, b: Claim) -> bool:
    """Whether holding ``a`` and ``b`` at once is impossible (a row one holds
    exclusively, the other holds at all)."""
    return bool(a.exclusive & (b.exclusive | b.shared) or b.exclusive & (a.exclusive | a.shared))


def claim_of(decl: Declaration, margins: CautionMargins) -> Claim:
    return cells.claim(cells.declaration_reach(declaration_parts(decl), margins))


def engine_with(margins: CautionMargins) -> Engine:
    engine = Engine(margins)
    for p in ("p", "q"):
        engine.add_party(Party(p, p))
    return engine


def fire(lon: float, lat: float, radius: float = 300.0, window: Window = DAY, ident: str = "F") -> Fire:
    return Fire(id=ident, owner="p", window=window, target=Point(lon, lat), effects_radius_m=radius)


def site(lon: float, lat: float, protection: float = 100.0, window: Window = DAY, ident: str = "S") -> Site:
    return Site(id=ident, owner="q", window=window, geometry=Point(lon, lat), category=SiteCategory.PROTECTED,
                protection_m=protection)


@PROPERTY(max_examples=80)
@given(st.data())
def test_whatever_gives_a_finding_shares_a_row(data: st.DataObject) -> None:
    """Fires and sites or movements of every size, near each other somewhere
    awkward (antimeridian, poles), windows near each other: whenever the
    engine finds anything (a caution included) between the two, their claims
    wait for each other, whichever levels their cells are on."""
    a, b, region, _scale = data.draw(scene(kinds_a=("point", "polygon"), kinds_b=("point", "line", "polygon")))
    margins = CautionMargins(horizontal_m=data.draw(st.sampled_from((0.0, 2_000.0, 50_000.0))),
                             minutes=data.draw(st.sampled_from((0.0, 30.0, 600.0))))
    radius = data.draw(st.sampled_from((0.0, 250.0, 5_000.0, 200_000.0)))
    hours = data.draw(st.integers(0, 400))
    length = timedelta(minutes=data.draw(st.sampled_from((5, 90, 60 * 24 * 30))))
    wf = Window(T0, T0 + timedelta(minutes=30))
    wb = Window(T0 + timedelta(hours=hours) - length, T0 + timedelta(hours=hours))
    assert isinstance(a.geometry, Point | Polygon)
    f = Fire(id="F", owner="p", window=wf, target=a.geometry, effects_radius_m=radius)
    other: Declaration
    if b.kind == "line":
        assert isinstance(b.geometry, LineString)
        other = Movement(id="M", owner="q", window=wb, route=b.geometry, half_width_m=radius)
    else:
        assert isinstance(b.geometry, Point | Polygon)
        other = Site(id="S", owner="q", window=wb, geometry=b.geometry, category=SiteCategory.PROTECTED,
                     protection_m=radius)
    engine = engine_with(margins)
    engine.add_declaration(other)
    found = engine.check(f).findings
    a_claim, b_claim = claim_of(f, margins), claim_of(other, margins)
    levels = {k.split(":")[0] for k in a_claim.exclusive | b_claim.exclusive}
    event(f"{region}: {'finding' if found else 'none'}, levels {sorted(levels)}")
    if found:
        assert wait_for_each_other(a_claim, b_claim), (found, a_claim, b_claim)


def test_overlapping_activities_on_different_levels_wait_for_each_other() -> None:
    """A small fire locks level-0 cells; a site with a 60 km protection radius
    locks coarser ones. They meet: the fire holds the site's cell as an
    ancestor (shared), the site holds it exclusively."""
    margins = CautionMargins()
    small = fire(40.0, 35.0)
    large = site(40.4, 35.0, protection=60_000.0)
    engine = engine_with(margins)
    engine.add_declaration(large)
    assert engine.check(small).findings
    a, b = claim_of(small, margins), claim_of(large, margins)
    assert {k.split(":")[0] for k in a.exclusive} == {"c0"}
    assert {k.split(":")[0] for k in b.exclusive} != {"c0"}
    assert not a.exclusive & b.exclusive  # not one cell in common ...
    assert b.exclusive & a.shared  # ... but the site's cell is one of the fire's ancestors
    assert wait_for_each_other(a, b)


def test_distant_activities_wait_for_nothing() -> None:
    """A fire in Syria and one in Iraq 300 km away, or at the same place a week
    apart, share only the global row, which both hold shared."""
    margins = CautionMargins()
    here = claim_of(fire(40.0, 35.0), margins)
    there = claim_of(fire(43.0, 35.5, ident="G"), margins)
    later = claim_of(fire(40.0, 35.0, window=Window(T0 + timedelta(days=7), T0 + timedelta(days=7, hours=1)),
                          ident="H"), margins)
    for other in (there, later):
        assert not wait_for_each_other(here, other)
        assert GLOBAL in here.shared and GLOBAL in other.shared


def test_the_antimeridian_is_one_edge_between_two_cells() -> None:
    margins = CautionMargins()
    east = fire(179.9999, 10.0)
    west = site(-179.9999, 10.0)
    engine = engine_with(margins)
    engine.add_declaration(west)
    assert engine.check(east).findings
    assert wait_for_each_other(claim_of(east, margins), claim_of(west, margins))


def polar_cap(window: Window) -> Site:
    ring = tuple((float(lon), 80.0) for lon in range(-180, 180, 20))
    return Site(id="W", owner="q", window=window, geometry=Polygon(((*ring, ring[0]),)),
                category=SiteCategory.PROTECTED)


def test_an_object_around_the_world_takes_the_top_cells_it_spans() -> None:
    """A site around the North Pole spans every longitude: it locks a coarse level's
    cells all the way round (exclusively), which every claim near the pole holds at
    least shared, and nothing in the south."""
    margins = CautionMargins()
    cap = claim_of(polar_cap(DAY), margins)
    [level] = {k.split(":")[0] for k in cap.exclusive}
    around = 4096 >> (cells.SPACE_SHIFT * int(level[1:]))
    assert {int(k.split(":")[1]) for k in cap.exclusive} == set(range(around))
    for lon in (-170.0, -60.0, 40.0, 179.9):
        assert wait_for_each_other(cap, claim_of(fire(lon, 84.0), margins))
    assert not wait_for_each_other(cap, claim_of(fire(40.0, -35.0), margins))


def test_a_world_spanning_object_of_decades_locks_everything_and_waits_for_everyone() -> None:
    """More cells than a claim may lock even on the top level: the global row,
    exclusively, which every other claim holds shared."""
    margins = CautionMargins()
    big = claim_of(polar_cap(Window(T0, T0 + timedelta(days=365 * 40))), margins)
    assert big == EVERYTHING
    for lon, lat in ((40.0, 35.0), (-70.0, -40.0), (179.9, 0.0)):
        assert wait_for_each_other(big, claim_of(fire(lon, lat), margins))


def test_a_window_of_years_goes_up_levels_not_to_everything() -> None:
    margins = CautionMargins()
    long = site(40.0, 35.0, window=Window(T0, T0 + timedelta(days=365)))
    claim = claim_of(long, margins)
    assert not claim.is_global and len(claim.exclusive) <= cells.MAX_CELLS
    assert wait_for_each_other(claim, claim_of(fire(40.0, 35.0, window=Window(
        T0 + timedelta(days=200), T0 + timedelta(days=200, hours=1))), margins))


def test_claims_combine_and_cover() -> None:
    a = claim_of(fire(40.0, 35.0), CautionMargins())
    b = claim_of(fire(43.0, 35.0, ident="G"), CautionMargins())
    both = a | b
    assert both.covers(a) and both.covers(b) and not a.covers(both)
    assert not both.exclusive & both.shared
    assert (a | EVERYTHING) == EVERYTHING and EVERYTHING.covers(both)
    rows = both.rows()
    assert [k for k, _x in rows] == sorted(both.exclusive | both.shared)


def test_ids_are_locked_by_hash_in_a_bounded_number_of_rows() -> None:
    assert cells.id_key("d", "S1") == cells.id_key("d", "S1") != cells.id_key("k", "S1")
    keys = {cells.id_key("d", f"S{i}") for i in range(5000)}
    assert len(keys) > 4600 and all(0 <= int(k[2:]) < cells.ID_ROWS for k in keys)  # about 190 collide
