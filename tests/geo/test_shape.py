"""Shape: validation, containment and exact distances, against the brute-force reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from deconflict.errors import InvalidInput, UnsupportedGeometry
from deconflict.geo.ellipsoid import (
    DISTANCE_TOLERANCE_M,
    MAX_EDGE_M,
    MAX_SPAN_M,
    TOUCH_TOLERANCE_M,
)
from deconflict.geo.shape import Shape, ShapeType
from deconflict.model import LineString, Point, Polygon
from tests import reference as ref
from tests.geo.strategies import (
    PROPERTY,
    REGIONS,
    SCALES,
    centers,
    placed_near,
    polygons,
    scene,
)

#: The engine's distances are found to DISTANCE_TOLERANCE_M and never below
#: the truth (they are distances between real points of the shapes).
ENGINE_SLACK_M = 2 * DISTANCE_TOLERANCE_M


def check_distance(d: float, iv: ref.Interval, upto: float) -> None:
    """``d`` is ``distance_within(..., upto)``; ``iv`` the reference interval."""
    event("reference: " + ("within" if iv.surely_at_most(upto) else "beyond" if iv.surely_beyond(
        upto, TOUCH_TOLERANCE_M) else "ambiguous"))
    if iv.surely_at_most(upto):
        assert math.isfinite(d), f"missed: reference distance {iv} <= {upto}"
    if iv.surely_beyond(upto, TOUCH_TOLERANCE_M):
        assert math.isinf(d), f"reported {d} though the reference puts it beyond {upto}: {iv}"
    if math.isfinite(d):
        assert d >= iv.lo - ref.INV_EPS_M, f"engine {d} below the reference's lower bound {iv}"
        assert d <= iv.hi + ENGINE_SLACK_M, f"engine {d} above the reference's upper bound {iv}"


# -- distance_within ----------------------------------------------------------------
@PROPERTY(max_examples=120)
@given(scene(), st.floats(0.0, 60_000.0))
def test_shape_distance_within_matches_reference(sc, upto):
    a, b, _region, _scale = sc
    d = Shape.of(a.geometry).distance_within(Shape.of(b.geometry), upto)
    check_distance(d, ref.distance(a.ref, b.ref, cap=upto + 1.0, h=0.1), upto)


@PROPERTY(max_examples=60)
@given(scene(max_gap_m=30_000.0), st.floats(-50.0, 50.0))
def test_shape_distance_within_at_its_own_threshold(sc, offset):
    """``upto`` set just around the true distance: the answer flips exactly there."""
    a, b, _region, _scale = sc
    exact = ref.distance(a.ref, b.ref, h=0.05)
    upto = max(0.0, exact.hi + offset)
    d = Shape.of(a.geometry).distance_within(Shape.of(b.geometry), upto)
    check_distance(d, exact, upto)


@PROPERTY(max_examples=60)
@given(scene(), st.floats(0.0, 60_000.0))
def test_shape_distance_within_is_symmetric(sc, upto):
    a, b, _region, _scale = sc
    sa, sb = Shape.of(a.geometry), Shape.of(b.geometry)
    ab, ba = sa.distance_within(sb, upto), sb.distance_within(sa, upto)
    if math.isinf(ab) or math.isinf(ba):
        # Either may sit exactly at the threshold; otherwise they agree.
        finite = ab if math.isfinite(ab) else ba
        assert math.isinf(finite) or finite >= upto - ENGINE_SLACK_M
    else:
        assert abs(ab - ba) <= ENGINE_SLACK_M


# -- point_distance ---------------------------------------------------------------------
@PROPERTY(max_examples=100)
@given(st.data())
def test_shape_point_distance_matches_reference(data):
    a, b, _region, _scale = data.draw(scene(kinds_b=("point",)))
    upto = data.draw(st.sampled_from((math.inf, 1_000.0, 25_000.0)))
    lon, lat = b.ref.rings[0][0]
    d = Shape.of(a.geometry).point_distance(lon, lat, upto)
    cap = upto + 1.0 if math.isfinite(upto) else math.inf
    check_distance(d, ref.point_distance(a.ref, lon, lat, cap=cap, h=0.1), upto)


def test_shape_point_distance_along_the_equator_is_an_equatorial_arc():
    """The equator is a geodesic: one degree of it is a * pi / 180."""
    line = Shape.of(LineString(((1.0, -1.0), (1.0, 1.0))))
    assert line.point_distance(0.0, 0.0) == pytest.approx(6_378_137.0 * math.pi / 180.0, abs=1e-3)


# -- contains ------------------------------------------------------------------------------
@st.composite
def polygon_and_point(draw):
    region = draw(st.sampled_from(REGIONS))
    scale = draw(st.sampled_from(tuple(SCALES)))
    if region.endswith("pole") and draw(st.booleans()):
        center = (draw(st.floats(-180.0, 180.0)), 90.0 if region == "north_pole" else -90.0)
    else:
        center = draw(centers(region))
    poly = draw(polygons(center, scale))
    where = draw(st.sampled_from(("near", "centre", "antipode", "pole", "anywhere")))
    if where == "near":
        q = draw(placed_near(poly, draw(st.floats(0.0, SCALES[scale][1]))))
    elif where == "centre":
        q = center
    elif where == "antipode":
        q = draw(placed_near(poly, 20_003_000.0 - draw(st.floats(0.0, SCALES[scale][1]))))
    elif where == "pole":
        q = (draw(st.floats(-180.0, 180.0)), draw(st.sampled_from((90.0, -90.0))))
    else:
        q = (draw(st.floats(-180.0, 180.0)), draw(st.floats(-90.0, 90.0)))
    return poly, q


@PROPERTY(max_examples=200)
@given(polygon_and_point())
def test_shape_contains_matches_reference(case):
    poly, (lon, lat) = case
    expected = ref.contains(poly.ref, lon, lat)
    event(f"reference: {expected}")
    if expected is not None:
        assert Shape.of(poly.geometry).contains(lon, lat) is expected


def test_shape_contains_refuses_the_antipode_of_a_small_polygon():
    square = Shape.of(Polygon((((10, 10), (11, 10), (11, 11), (10, 11), (10, 10)),)))
    assert square.contains(10.5, 10.5)
    assert not square.contains(-169.5, -10.5)
    assert math.isinf(square.point_distance(-169.5, -10.5, 1_000.0))


@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_shape_polygon_around_a_pole_holds_the_pole_and_not_the_other(pole):
    sign = math.copysign(1.0, pole)
    ring = [(-180.0 + 30.0 * i, sign * 80.0) for i in range(12)]
    shape = Shape.of(Polygon(((*ring, ring[0]),)))
    assert shape.contains(0.0, pole)
    assert shape.contains(123.0, sign * 85.0)
    assert not shape.contains(0.0, -pole)
    assert not shape.contains(10.0, sign * 70.0)
    # Its box reaches the pole it holds, so nothing near that pole is pruned.
    box = shape.box(0.0)
    assert box.full_lon
    assert (box.lat_hi == 90.0) if pole > 0 else (box.lat_lo == -90.0)
    near_pole = Shape.of(LineString(((10.0, sign * 88.0), (100.0, sign * 88.5))))
    assert shape.distance_within(near_pole, 100.0) == 0.0


def test_shape_hole_excludes_its_inside_and_keeps_its_boundary():
    outer = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
    hole = ((0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6), (0.4, 0.4))
    shape = Shape.of(Polygon((outer, hole)))
    assert shape.contains(0.2, 0.2)
    assert not shape.contains(0.5, 0.5)
    assert shape.contains(0.4, 0.4)  # a vertex of the hole is on the boundary
    inside_hole = Shape.of(Point(0.5, 0.5))
    d = shape.distance_within(inside_hole, 50_000.0)
    iv = ref.distance(ref.RefShape.polygon([outer, hole]), ref.RefShape.point(0.5, 0.5))
    assert iv.lo - 1e-6 <= d <= iv.hi + ENGINE_SLACK_M
    assert d > 10_000.0


# -- refusals ---------------------------------------------------------------------------------
def test_shape_edge_longer_than_the_limit_is_refused_naming_the_position():
    a = (0.0, 0.0)
    b = ref.fwd(0.0, 0.0, 90.0, MAX_EDGE_M + 1_000.0)
    c = ref.fwd(b[0], b[1], 0.0, 10_000.0)
    with pytest.raises(UnsupportedGeometry) as err:
        Shape.of(LineString((c, b, a)), "geometry.coordinates")
    assert err.value.field == "geometry.coordinates[1]"
    just_below = ref.fwd(0.0, 0.0, 90.0, MAX_EDGE_M - 1_000.0)
    Shape.of(LineString((a, just_below)))


def test_shape_polygon_edge_longer_than_the_limit_is_refused_naming_the_ring():
    a = (0.0, 0.0)
    b = ref.fwd(0.0, 0.0, 90.0, MAX_EDGE_M + 1_000.0)
    c = ref.fwd(0.0, 0.0, 45.0, 100_000.0)
    with pytest.raises(UnsupportedGeometry) as err:
        Shape.of(Polygon(((a, c, b, a),)))
    assert err.value.field.startswith("coordinates[0][")


def test_shape_wider_than_the_span_limit_is_refused_naming_the_position():
    coords = [(0.0, 0.0)]
    for _ in range(3):
        coords.append(ref.fwd(coords[-1][0], coords[-1][1], 90.0, 2_000_000.0))
    assert ref.inv(0.0, 0.0, *coords[-1])[1] > MAX_SPAN_M
    with pytest.raises(UnsupportedGeometry) as err:
        Shape.of(LineString(tuple(coords)))
    assert err.value.field == "coordinates[3]"
    Shape.of(LineString(tuple(coords[:3])))


def test_shape_self_intersecting_polygon_is_refused():
    bow_tie = ((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0))
    with pytest.raises(InvalidInput) as err:
        Shape.of(Polygon((bow_tie,)), "target.coordinates")
    assert err.value.field.startswith("target.coordinates[0]")
    assert not isinstance(err.value, UnsupportedGeometry)


def test_shape_polygon_folding_back_on_itself_is_refused():
    spike = ((0.0, 0.0), (1.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 0.0))
    with pytest.raises(InvalidInput):
        Shape.of(Polygon((spike,)))


def test_shape_hole_outside_or_touching_the_exterior_is_refused():
    outer = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
    outside = ((2.0, 2.0), (2.1, 2.0), (2.1, 2.1), (2.0, 2.0))
    touching = ((0.5, 0.0), (0.6, 0.5), (0.4, 0.5), (0.5, 0.0))
    with pytest.raises(InvalidInput) as err:
        Shape.of(Polygon((outer, outside)))
    assert err.value.field == "coordinates[1]"
    with pytest.raises(InvalidInput):
        Shape.of(Polygon((outer, touching)))


def test_shape_polygon_sides_one_centimetre_apart_are_refused_but_a_metre_is_fine():
    """A ring whose sides come within the touch tolerance is self-touching."""
    base = ((0.0, 0.0), (0.01, 0.0), (0.01, 0.01))
    for gap, ok in ((TOUCH_TOLERANCE_M / 2, False), (1.0, True)):
        apex = ref.fwd(0.005, 0.0, 0.0, gap)  # a notch reaching down to the bottom side
        ring = (*base, (0.006, 0.01), apex, (0.004, 0.01), (0.0, 0.01), (0.0, 0.0))
        if ok:
            Shape.of(Polygon((ring,)))
        else:
            with pytest.raises(InvalidInput):
                Shape.of(Polygon((ring,)))


def test_shape_build_point_type_is_a_point():
    s = Shape.build(ShapeType.POINT, [[(5.0, 6.0)]])
    assert s.type is ShapeType.POINT
    assert s.point_distance(5.0, 6.0) == 0.0
