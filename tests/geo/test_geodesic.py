"""Geodesic primitives (foot, edge_distance, orientation, crossings) against the reference.

Also a few checks of the reference itself against closed-form answers, so that
the property tests rest on something known."""

from __future__ import annotations

import math

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from deconflict.geo.ellipsoid import DISTANCE_TOLERANCE_M, MAX_EDGE_M, WGS84_A
from deconflict.geo.geodesic import Edge, edge_distance, edges_cross, foot, orientation
from tests import reference as ref
from tests.geo.strategies import PROPERTY, REGIONS, SCALES, centers, placed_near

ENGINE_SLACK_M = 2 * DISTANCE_TOLERANCE_M


@st.composite
def edges(draw, region=None, scale=None):
    region = region or draw(st.sampled_from(REGIONS))
    scale = scale or draw(st.sampled_from(tuple(SCALES)))
    lo, hi = SCALES[scale]
    a = draw(centers(region))
    b = ref.fwd(a[0], a[1], draw(st.floats(-180.0, 180.0)), draw(st.floats(lo, min(hi, MAX_EDGE_M))))
    return a, b


def as_edge(a, b) -> Edge:
    return Edge.between(a[0], a[1], b[0], b[1])


# -- the reference itself -------------------------------------------------------------------
def test_reference_equator_distance_is_an_arc_of_the_equator():
    iv = ref.point_distance(ref.RefShape.line([(1.0, -1.0), (1.0, 1.0)]), 0.0, 0.0, h=0.1)
    exact = WGS84_A * math.radians(1.0)
    assert iv.lo - 1e-6 <= exact <= iv.hi + 1e-6
    assert iv.hi - iv.lo <= 0.1  # within h / 2 plus the spread of the last pieces


def test_reference_crossing_edges_are_at_distance_zero():
    iv = ref.boundary_distance(
        ref.RefShape.line([(0.0, 0.0), (10.0, 10.0)]), ref.RefShape.line([(0.0, 10.0), (10.0, 0.0)])
    )
    assert iv.lo == 0.0 and iv.hi <= 0.1


def test_reference_equator_edge_to_a_meridian_edge():
    """An equatorial edge ending at lon 1 and a meridian edge across the equator
    at lon 1.5: by symmetry the nearest points are on the equator."""
    iv = ref.boundary_distance(
        ref.RefShape.line([(0.0, 0.0), (1.0, 0.0)]), ref.RefShape.line([(1.5, -1.0), (1.5, 1.0)]), h=0.1
    )
    assert iv.lo - 1e-6 <= WGS84_A * math.radians(0.5) <= iv.hi + 1e-6
    assert iv.hi - iv.lo <= 0.2  # within h for two edges plus the spread of the last pieces


def test_reference_contains_and_side_on_a_square():
    sq = ref.RefShape.polygon([[(10, 10), (11, 10), (11, 11), (10, 11), (10, 10)]])
    assert ref.contains(sq, 10.5, 10.5) is True
    assert ref.contains(sq, 11.5, 10.5) is False
    assert ref.contains(sq, -169.5, -10.5) is False  # the antipode
    assert ref.contains(sq, 10.0, 10.5) is None  # on the boundary: unsure
    east = ref.RefShape.line([(0.0, 0.0), (1.0, 0.0)])
    assert ref.side_of(east, 0.5, 0.1).side == ref.LEFT
    assert ref.side_of(east, 0.5, -0.1).side == ref.RIGHT
    assert ref.side_of(east, 2.0, 0.1).side == ref.LEFT  # beyond the end


# -- foot ------------------------------------------------------------------------------------
@st.composite
def edge_and_point(draw):
    a, b = draw(edges())
    _az, length = ref.inv(*a, *b)
    how = draw(st.sampled_from(("near", "beside", "far", "on")))
    f = draw(st.floats(0.0, 1.0))
    on = ref.point_on_edge(a, b, f)
    if how == "on":
        return a, b, on
    if how == "beside":
        # perpendicular to the edge at an interior point
        az_at = ref.inv(*on, *b)[0] if f < 1.0 else ref.inv(*a, *b)[0]
        side = draw(st.sampled_from((-90.0, 90.0)))
        return a, b, ref.fwd(on[0], on[1], az_at + side, draw(st.floats(0.0, min(length, 500_000.0))))
    shape = ref.RefShape.line([a, b])
    dist = draw(st.floats(0.0, 50_000.0)) if how == "near" else draw(st.floats(50_000.0, 2_000_000.0))
    from deconflict.model import LineString
    from tests.geo.strategies import GenShape

    q = draw(placed_near(GenShape(LineString((a, b)), shape), dist))
    return a, b, q


@PROPERTY(max_examples=200)
@given(edge_and_point())
def test_geodesic_foot_matches_reference(case):
    a, b, (lon, lat) = case
    e = as_edge(a, b)
    s, d = foot(e, lon, lat)
    iv = ref.point_distance(ref.RefShape.line([a, b]), lon, lat, h=0.01)
    assert iv.lo - ref.INV_EPS_M <= d <= iv.hi + ENGINE_SLACK_M, (d, iv)
    # The foot is where it says: s along the edge, at distance d from the point.
    assert -1e-9 <= s <= e.length + 1e-6
    x = ref.fwd(e.lon1, e.lat1, e.az1, s)
    assert ref.inv(*x, lon, lat)[1] == pytest.approx(d, abs=1e-6)


def test_geodesic_foot_of_a_point_behind_the_start_is_the_start():
    e = as_edge((0.0, 0.0), (1.0, 0.0))
    s, d = foot(e, -1.0, 0.1)
    assert s == 0.0
    assert d == pytest.approx(ref.inv(0.0, 0.0, -1.0, 0.1)[1], abs=1e-6)


def test_geodesic_foot_on_a_4000_km_edge_across_the_antimeridian():
    a = (150.0, 10.0)
    b = ref.fwd(*a, 80.0, 3_999_000.0)
    assert b[0] < 0.0  # the edge crosses the antimeridian
    mid = ref.point_on_edge(a, b, 0.37)
    az_mid = ref.inv(*mid, *b)[0]
    p = ref.fwd(*mid, az_mid - 90.0, 12_345.0)
    s, d = foot(as_edge(a, b), *p)
    assert d == pytest.approx(12_345.0, abs=ENGINE_SLACK_M)
    assert s == pytest.approx(0.37 * ref.inv(*a, *b)[1], abs=1.0)


def test_geodesic_foot_on_an_edge_over_the_pole():
    e = as_edge((0.0, 80.0), (180.0, 80.0))  # runs over the north pole
    s, d = foot(e, 90.0, 89.0)
    iv = ref.point_distance(ref.RefShape.line([(0.0, 80.0), (180.0, 80.0)]), 90.0, 89.0)
    assert iv.lo - 1e-6 <= d <= iv.hi + ENGINE_SLACK_M
    assert 0.0 < s < e.length


# -- edge_distance ----------------------------------------------------------------------------
@st.composite
def edge_pairs(draw):
    a, b = draw(edges())
    scale = draw(st.sampled_from(tuple(SCALES)))
    from deconflict.model import LineString
    from tests.geo.strategies import GenShape

    first = GenShape(LineString((a, b)), ref.RefShape.line([a, b]))
    c = draw(placed_near(first, draw(st.floats(0.0, SCALES[scale][1]))))
    _lo, hi = SCALES[scale]
    d_ = ref.fwd(c[0], c[1], draw(st.floats(-180.0, 180.0)), draw(st.floats(1.0, min(hi, MAX_EDGE_M))))
    return (a, b), (c, d_)


@PROPERTY(max_examples=200)
@given(edge_pairs())
def test_geodesic_edge_distance_matches_reference(pair):
    (a, b), (c, d_) = pair
    got = edge_distance(as_edge(a, b), as_edge(c, d_))
    iv = ref.boundary_distance(ref.RefShape.line([a, b]), ref.RefShape.line([c, d_]), h=0.05)
    event("crossing" if iv.hi <= 0.05 else "apart")
    assert iv.lo - ref.INV_EPS_M <= got <= iv.hi + ENGINE_SLACK_M, (got, iv)


@PROPERTY(max_examples=100)
@given(edge_pairs())
def test_geodesic_edges_cross_only_when_they_meet(pair):
    (a, b), (c, d_) = pair
    e, f = as_edge(a, b), as_edge(c, d_)
    if edges_cross(e, f):
        iv = ref.boundary_distance(ref.RefShape.line([a, b]), ref.RefShape.line([c, d_]), cap=1.0)
        assert iv.lo <= ref.INV_EPS_M
    assert edges_cross(e, f) is edges_cross(f, e)


def test_geodesic_parallel_edges_on_either_side_of_the_equator():
    """Two 3,000 km edges a kilometre either side of the equator never meet."""
    d = edge_distance(as_edge((0.0, 0.01), (27.0, 0.01)), as_edge((1.0, -0.01), (26.0, -0.01)))
    iv = ref.boundary_distance(
        ref.RefShape.line([(0.0, 0.01), (27.0, 0.01)]), ref.RefShape.line([(1.0, -0.01), (26.0, -0.01)])
    )
    assert iv.lo - 1e-6 <= d <= iv.hi + ENGINE_SLACK_M
    assert d > 1_000.0


# -- orientation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "point", "expected"),
    [
        ((0.0, 0.0), (1.0, 0.0), (0.5, 0.1), -1),  # north of an eastward edge: left
        ((0.0, 0.0), (1.0, 0.0), (0.5, -0.1), 1),
        ((179.5, 0.0), (-179.5, 0.0), (180.0, 0.1), -1),  # across the antimeridian
        ((179.5, 0.0), (-179.5, 0.0), (-180.0, -0.1), 1),
        ((0.0, 89.0), (180.0, 89.0), (90.0, 89.5), 1),  # over the pole, heading down lon 180
        ((0.0, 89.0), (180.0, 89.0), (-90.0, 89.5), -1),
        ((0.0, 0.0), (1.0, 0.0), (2.0, 0.0), 0),  # on the equator beyond the end
    ],
)
def test_geodesic_orientation_by_hand(start, end, point, expected):
    assert orientation(as_edge(start, end), *point) == expected


@PROPERTY(max_examples=150)
@given(edges(), st.floats(0.01, 0.99), st.sampled_from((-90.0, 90.0)), st.floats(1.0, 200_000.0))
def test_geodesic_orientation_of_a_perpendicular_offset(edge, f, turn, offset):
    """A point reached by turning right (+90) off the edge is on its right."""
    a, b = edge
    on = ref.point_on_edge(a, b, f)
    az = ref.inv(*on, *b)[0]
    p = ref.fwd(*on, az + turn, offset)
    assert orientation(as_edge(a, b), *p) == (1 if turn > 0 else -1)
