"""Conservative boxes: every point within r of a shape lies in the shape's box grown by r."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconflict.geo.bounds import Box, SampleBounds, cap_angle, merge, unwrap
from deconflict.geo.shape import Shape
from deconflict.model import LineString, Point, Polygon
from tests import reference as ref
from tests.geo.strategies import PROPERTY, REGIONS, SCALES, centers, polygons, shapes


def box_holds(box: Box, lon: float, lat: float) -> bool:
    """Independent membership test: latitude in range, longitude in the arc
    [lon_lo, lon_hi] taken round the circle."""
    if not box.lat_lo <= lat <= box.lat_hi:
        return False
    if box.full_lon:
        return True
    return any(box.lon_lo <= lon + k <= box.lon_hi for k in (-360.0, 0.0, 360.0))


@st.composite
def shape_and_nearby_point(draw):
    region = draw(st.sampled_from(REGIONS))
    scale = draw(st.sampled_from(tuple(SCALES)))
    around_pole = region.endswith("pole") and draw(st.booleans())
    if around_pole:
        center = (draw(st.floats(-180.0, 180.0)), 90.0 if region == "north_pole" else -90.0)
        shape = draw(polygons(center, scale, holes=False))
    else:
        center = draw(centers(region))
        shape = draw(shapes(center, scale))
    radius = draw(st.sampled_from((0.0, 1.0, 250.0, 5_000.0, 100_000.0, 500_000.0)))
    # A point of the shape: a vertex, a point along an edge, or (for a polygon)
    # its centre, which the star polygons contain.
    ring = shape.ref.rings[0]
    pick = draw(st.sampled_from(("vertex", "edge", "inside")))
    if pick == "inside" and shape.kind == "polygon" and len(shape.ref.rings) == 1:
        x = center
    elif pick == "edge" and len(ring) > 1:
        j = draw(st.integers(0, len(ring) - 2))
        x = ref.point_on_edge(ring[j], ring[j + 1], draw(st.floats(0.0, 1.0)))
    else:
        x = ring[draw(st.integers(0, len(ring) - 1))]
    t = radius * draw(st.floats(0.0, 1.0))
    q = ref.fwd(x[0], x[1], draw(st.floats(-180.0, 180.0)), t) if t > 0.0 else x
    return shape, radius, q


@PROPERTY(max_examples=300)
@given(shape_and_nearby_point())
def test_bounds_box_holds_every_point_within_the_radius(case):
    shape, radius, (lon, lat) = case
    box = Shape.of(shape.geometry).box(radius)
    assert box_holds(box, lon, lat), (box, lon, lat)


@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_bounds_box_of_a_polygon_round_a_pole_reaches_the_pole(pole):
    sign = 1.0 if pole > 0 else -1.0
    ring = [(lon, sign * 75.0) for lon in (-170.0, -50.0, 70.0)]
    shape = Shape.of(Polygon(((*ring, ring[0]),)))
    assert box_holds(shape.box(0.0), 33.0, pole)
    assert box_holds(shape.box(0.0), -120.0, sign * 89.0)


def test_bounds_box_of_an_edge_over_the_pole_spans_every_longitude():
    over = Shape.of(LineString(((0.0, 88.0), (180.0, 88.0))))
    box = over.box(0.0)
    assert box.full_lon and box.lat_hi >= 90.0 - 1e-9
    assert box_holds(box, 90.0, 89.9)


def test_bounds_box_across_the_antimeridian_is_two_parts():
    across = Shape.of(LineString(((179.5, 0.0), (-179.5, 0.0))))
    box = across.box(1_000.0)
    assert box_holds(box, 180.0, 0.0) and box_holds(box, -180.0, 0.0)
    assert not box_holds(box, 0.0, 0.0)
    assert len(box.parts()) == 2
    assert all(-180.0 <= p[0] <= p[2] <= 180.0 for p in box.parts())


def test_bounds_point_box_grows_by_the_cap_angle():
    box = Shape.of(Point(10.0, 0.0)).box(10_000.0)
    assert box.lat_hi - 0.0 == pytest.approx(cap_angle(10_000.0))
    # the true north-south reach of 10 km is about 0.0904 degrees: the box holds it
    assert box.lat_hi >= ref.fwd(10.0, 0.0, 0.0, 10_000.0)[1]


# -- Box.intersects and parts against an independent arc test ---------------------------
@st.composite
def boxes(draw):
    lat_lo = draw(st.floats(-90.0, 90.0))
    lat_hi = draw(st.floats(lat_lo, 90.0))
    if draw(st.integers(0, 9)) == 0:
        return Box(-180.0, lat_lo, 180.0, lat_hi, True)
    lon_lo = draw(st.one_of(st.floats(-180.0, 180.0, exclude_max=True), st.sampled_from((-180.0, 179.0))))
    width = draw(st.one_of(st.floats(0.0, 359.0), st.sampled_from((0.0, 1.0, 180.0))))
    return Box(lon_lo, lat_lo, lon_lo + width, lat_hi)


def arcs_meet(a: Box, b: Box) -> bool:
    """Two arcs of the circle meet iff one holds an end of the other."""
    if a.full_lon or b.full_lon:
        return True

    def holds(x: Box, lon: float) -> bool:
        return any(x.lon_lo <= lon + k <= x.lon_hi for k in (-360.0, 0.0, 360.0))

    return holds(a, b.lon_lo) or holds(a, b.lon_hi) or holds(b, a.lon_lo) or holds(b, a.lon_hi)


@PROPERTY(max_examples=500)
@given(boxes(), boxes())
def test_bounds_box_intersects_matches_an_arc_test(a, b):
    lat_meet = a.lat_lo <= b.lat_hi and b.lat_lo <= a.lat_hi
    assert a.intersects(b) is (lat_meet and arcs_meet(a, b))
    assert a.intersects(b) is b.intersects(a)


@PROPERTY(max_examples=300)
@given(boxes(), st.floats(-180.0, 180.0), st.floats(-90.0, 90.0))
def test_bounds_box_parts_cover_the_box_exactly(box, lon, lat):
    in_parts = any(p[0] <= lon <= p[2] and p[1] <= lat <= p[3] for p in box.parts())
    in_box = box_holds(box, lon, lat)
    if abs(abs(lon) - 180.0) > 0.0:
        assert in_parts is in_box
    else:
        # +-180 is one meridian: a box holding it holds it in some part as
        # either +180 or -180.
        other = -lon
        assert in_box is (in_parts or any(
            p[0] <= other <= p[2] and p[1] <= lat <= p[3] for p in box.parts()))


# -- unwrap and merge ----------------------------------------------------------------------
@PROPERTY(max_examples=200)
@given(st.lists(st.floats(-180.0, 180.0), min_size=1, max_size=30))
def test_bounds_unwrap_keeps_longitudes_and_removes_jumps(lons):
    arr = np.array(lons)
    un = unwrap(arr)
    assert np.allclose(((un - arr) / 360.0), np.round((un - arr) / 360.0), atol=1e-9)
    if arr.size > 1:
        assert np.all(np.abs(np.diff(un)) <= 180.0 + 1e-9)


def test_bounds_merge_of_two_sides_of_the_antimeridian_stays_narrow():
    east = SampleBounds.of(np.array([179.0, 179.9]), np.array([0.0, 1.0]), 0.0)
    west = SampleBounds.of(np.array([-179.9, -179.0]), np.array([0.0, 1.0]), 0.0)
    m = merge([east, west])
    assert not m.full_lon
    assert m.lon_hi - m.lon_lo == pytest.approx(2.0)
    box = m.grow(0.0)
    assert box_holds(box, 180.0, 0.5) and box_holds(box, -179.5, 0.5) and box_holds(box, 179.5, 0.5)
    assert not box_holds(box, 0.0, 0.5)
