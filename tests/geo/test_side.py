"""Which side of a polyline a point is on, against the brute-force reference."""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from deconflict.geo.ellipsoid import DISTANCE_TOLERANCE_M, MAX_EDGE_M
from deconflict.geo.shape import Shape
from deconflict.geo.side import (
    LEFT,
    ON,
    RIGHT,
    end_extensions,
    on_far_side,
    reach_beyond,
    side_of_point,
)
from deconflict.model import LineString
from tests import reference as ref
from tests.geo.strategies import PROPERTY, REGIONS, SCALES, centers, lines, placed_near

assert (LEFT, RIGHT) == (ref.LEFT, ref.RIGHT)

ENGINE_SLACK_M = 2 * DISTANCE_TOLERANCE_M


@st.composite
def line_and_point(draw):
    region = draw(st.sampled_from(REGIONS))
    scale = draw(st.sampled_from(("tiny", "small", "medium", "large")))
    line = draw(lines(draw(centers(region)), scale, monotone=draw(st.booleans())))
    coords = line.ref.rings[0]
    how = draw(st.sampled_from(("near", "beyond_end", "before_start", "far")))
    if how == "near":
        p = draw(placed_near(line, draw(st.floats(0.0, SCALES[scale][1]))))
    elif how in ("beyond_end", "before_start"):
        end, prev = (coords[-1], coords[-2]) if how == "beyond_end" else (coords[0], coords[1])
        onward = ref.inv(*end, *prev)[0] + 180.0
        p = ref.fwd(*end, onward + draw(st.floats(-80.0, 80.0)), draw(st.floats(1.0, SCALES[scale][1])))
    else:
        p = draw(placed_near(line, draw(st.floats(SCALES[scale][1], 2_000_000.0))))
    return line, p, how


@PROPERTY(max_examples=150)
@given(line_and_point())
def test_side_of_point_matches_reference(case):
    line, (lon, lat), _how = case
    side, dist, _beyond = side_of_point(Shape.of(line.geometry), lon, lat)
    expected = ref.side_of(line.ref, lon, lat)
    assert expected.dist.lo - ref.INV_EPS_M <= dist <= expected.dist.hi + ENGINE_SLACK_M
    event(f"reference side: {expected.side}")
    if expected.side is not None:
        assert side == expected.side, (side, expected)


@PROPERTY(max_examples=80)
@given(
    st.sampled_from(REGIONS).flatmap(centers),
    st.floats(-180.0, 180.0),
    st.floats(100.0, 500_000.0),
    st.floats(0.05, 0.95),
    st.sampled_from((-90.0, 90.0)),
    st.floats(0.05, 50_000.0),
)
def test_side_of_point_off_a_single_edge_by_construction(start, az, length, f, turn, offset):
    """Turning right (+90) off a point of the edge puts the point on its right."""
    end = ref.fwd(*start, az, length)
    on = ref.point_on_edge(start, end, f)
    p = ref.fwd(*on, ref.inv(*on, *end)[0] + turn, offset)
    side, dist, beyond = side_of_point(Shape.of(LineString((start, end))), *p)
    assert side == (RIGHT if turn > 0 else LEFT)
    assert dist == pytest.approx(offset, abs=ENGINE_SLACK_M + 1e-6 * offset)
    assert not beyond


# -- by hand ----------------------------------------------------------------------------------
EAST = LineString(((0.0, 0.0), (1.0, 0.0), (2.0, 0.0)))


@pytest.mark.parametrize(
    ("point", "side", "beyond"),
    [
        ((0.5, 0.01), LEFT, False),  # north of an eastward line is left
        ((1.5, -0.01), RIGHT, False),
        ((1.0, 0.2), LEFT, False),  # straight above the middle vertex
        ((3.0, 0.01), LEFT, True),  # past the end, judged by the end edge continued
        ((3.0, -0.01), RIGHT, True),
        ((-1.0, 0.01), LEFT, True),  # before the start
        ((0.5, 0.0), ON, False),
    ],
)
def test_side_of_point_by_hand(point, side, beyond):
    got_side, _d, got_beyond = side_of_point(Shape.of(EAST), *point)
    assert (got_side, got_beyond) == (side, beyond)


def test_side_of_point_outside_a_sharp_turn_uses_the_sector():
    """A line going east then back west-north-west: the point east of the turn
    is outside it, on the right of both edges' continuations? No: by the
    sector rule it is left of a line that turns left."""
    line = Shape.of(LineString(((0.0, 0.0), (1.0, 0.0), (0.0, 0.1))))
    side, _d, _b = side_of_point(line, 1.1, 0.02)
    expected = ref.side_of(ref.RefShape.line([(0.0, 0.0), (1.0, 0.0), (0.0, 0.1)]), 1.1, 0.02)
    assert expected.side is not None
    assert side == expected.side
    # Inside the turn (between the edges) is left: the line turns left there.
    assert side_of_point(line, 0.5, 0.02)[0] == LEFT


def test_side_of_point_equidistant_parts_that_disagree_is_on():
    """A zigzag that crosses itself: at the crossing the parts disagree."""
    z = Shape.of(LineString(((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0))))
    side, _d, _b = side_of_point(z, 0.5, 0.5)
    assert side == ON


def test_side_of_point_across_the_antimeridian_and_near_the_pole():
    across = Shape.of(LineString(((179.0, 0.0), (-179.0, 0.0))))
    assert side_of_point(across, 180.0, 0.5)[0] == LEFT
    assert side_of_point(across, -179.5, -0.5)[0] == RIGHT
    polar = Shape.of(LineString(((0.0, 85.0), (180.0, 85.0))))  # northward over the pole
    # heading north along lon 0, east (lon 90) is on the right
    assert side_of_point(polar, 90.0, 89.0)[0] == RIGHT
    assert side_of_point(polar, -90.0, 89.0)[0] == LEFT


def test_side_on_far_side_counts_on_the_line_as_far():
    assert on_far_side(ON, LEFT) and on_far_side(RIGHT, LEFT)
    assert not on_far_side(LEFT, LEFT)


def test_side_end_extensions_continue_the_end_edges():
    line = Shape.of(EAST)
    first, last = end_extensions(line, 100_000.0)
    assert (first.lon1, first.lat1) == (0.0, 0.0)
    assert first.lon2 == pytest.approx(-100_000.0 / ref.inv(0.0, 0.0, 1.0, 0.0)[1], abs=1e-9)
    assert last.lat2 == pytest.approx(0.0, abs=1e-9) and last.lon2 > 2.0
    assert last.length == pytest.approx(100_000.0)


def test_side_reach_beyond_passes_every_point_of_the_core():
    line = Shape.of(EAST)
    core = Shape.of(LineString(((5.0, 1.0), (6.0, -1.0))))
    reach = reach_beyond(line, core)
    for lon, lat in ((5.0, 1.0), (6.0, -1.0), (5.5, 0.0)):
        assert reach >= ref.inv(2.0, 0.0, lon, lat)[1]


@pytest.mark.parametrize("lat", [-80.0, -45.0, 0.0, 30.0, 85.0])
def test_side_end_extensions_stay_within_the_edge_limit(lat):
    """Regression: extensions of exactly MAX_EDGE_M could measure a hair over
    it once rebuilt from their ends, and were then refused as too long."""
    for az in range(0, 360, 15):
        line = Shape.of(LineString(((10.0, lat), ref.fwd(10.0, lat, float(az), 50_000.0))))
        for ext in end_extensions(line, 10_000_000.0):
            rebuilt = ref.inv(ext.lon1, ext.lat1, ext.lon2, ext.lat2)[1]
            assert rebuilt <= MAX_EDGE_M, (az, rebuilt)
            Shape.of(LineString(((ext.lon1, ext.lat1), (ext.lon2, ext.lat2))))
