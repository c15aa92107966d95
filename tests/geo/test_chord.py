"""Chord bounds (geo/chord.py): every capsule holds its shape, and the bound
between two shapes never exceeds their distance, against the independent
geodesic reference (tests/reference.py) in awkward places."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from deconflict.geo.chord import ball_capsule, capsule_gaps, ecef, line_capsules
from deconflict.geo.shape import Shape
from tests.geo.strategies import PROPERTY, REGIONS, SCALES, centers, lines, polygons, scene
from tests.reference import distance, inv, point_on_edge


def segment_distance_sampled(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray, q2: np.ndarray, n: int = 400) -> float:
    s = np.linspace(0.0, 1.0, n)
    a = p1[None, :] + (q1 - p1)[None, :] * s[:, None]
    b = p2[None, :] + (q2 - p2)[None, :] * s[:, None]
    return float(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)))


coords = st.floats(-7e6, 7e6)
vectors = st.tuples(coords, coords, coords).map(np.array)


@PROPERTY(300)
@given(vectors, vectors, vectors, vectors, st.sampled_from(["free", "point1", "point2", "both", "parallel"]))
def test_capsule_gaps_are_the_least_distance_between_segments(p1, q1, p2, q2, case):
    if case in ("point1", "both"):
        q1 = p1.copy()
    if case in ("point2", "both"):
        q2 = p2.copy()
    if case == "parallel":
        q2 = p2 + (q1 - p1) * 0.37
    mine = np.concatenate((p1, q1, [0.0]))[None, :]
    theirs = np.concatenate((p2, q2, [0.0]))[None, :]
    got = float(capsule_gaps(mine, theirs)[0, 0])
    sampled = segment_distance_sampled(p1, q1, p2, q2)
    step = (np.linalg.norm(q1 - p1) + np.linalg.norm(q2 - p2)) / 399.0
    # A lower bound (never above a distance actually reached, to rounding), and
    # no lower than the sampling's resolution allows.
    assert got <= sampled + 1e-6 * (1.0 + sampled)
    assert got >= sampled - step - 1e-6


@PROPERTY(150)
@given(st.data())
def test_a_line_s_capsules_hold_every_point_of_its_geodesic_edges(data):
    region = data.draw(st.sampled_from(REGIONS))
    scale = data.draw(st.sampled_from(tuple(SCALES)))
    line = data.draw(lines(data.draw(centers(region)), scale))
    shape = Shape.of(line.geometry)
    caps = shape.capsules()
    ring = line.ref.rings[0]
    for i in range(len(ring) - 1):
        a, b = ring[i], ring[i + 1]
        for f in np.linspace(0.0, 1.0, 9).tolist():
            x = point_on_edge(a, b, f)
            xyz = ecef(np.array([x[0]]), np.array([x[1]]))[0]
            point = np.concatenate((xyz, xyz, [0.0]))[None, :]
            # Within the pad of its own edge's chord: the gap is at most 0.
            assert float(capsule_gaps(caps[i:i + 1], point)[0, 0]) <= 1e-6 * (1.0 + caps[i, 6])


@PROPERTY(100)
@given(st.data())
def test_a_polygon_s_ball_holds_its_inside(data):
    region = data.draw(st.sampled_from(REGIONS))
    scale = data.draw(st.sampled_from(tuple(SCALES)))
    poly = data.draw(polygons(data.draw(centers(region)), scale))
    shape = Shape.of(poly.geometry)
    [cap] = shape.capsules()
    ring = poly.ref.rings[0]
    for _ in range(12):
        # A point inside: along a geodesic from a vertex towards another, kept if inside.
        i, j = data.draw(st.integers(0, len(ring) - 2)), data.draw(st.integers(0, len(ring) - 2))
        x = point_on_edge(ring[i], ring[j], data.draw(st.floats(0.0, 1.0)))
        if not shape.contains(x[0], x[1]):
            continue
        xyz = ecef(np.array([x[0]]), np.array([x[1]]))[0]
        assert float(np.linalg.norm(xyz - cap[:3])) <= cap[6] * (1.0 + 1e-12) + 1e-6


@PROPERTY(120)
@given(scene())
def test_the_bound_between_two_shapes_never_exceeds_their_distance(sc):
    a, b, _region, _scale = sc
    sa, sb = Shape.of(a.geometry), Shape.of(b.geometry)
    lower = float(capsule_gaps(sa.capsules(), sb.capsules()).min())
    true = distance(a.ref, b.ref)
    assert lower <= true.hi + 1e-6 * (1.0 + true.hi), (lower, true)


def test_a_ball_is_a_point_with_a_pad():
    [cap] = ball_capsule(40.0, 35.0, 1234.5)
    assert cap[6] == 1234.5 and np.array_equal(cap[:3], cap[3:6])


def test_a_short_edge_s_pad_is_metres_and_grows_with_the_square_of_its_length():
    az, _ = inv(40.0, 35.0, 40.2, 35.1)
    pads = []
    for km in (20.0, 40.0):
        from tests.reference import fwd

        b = fwd(40.0, 35.0, az, km * 1000.0)
        _az, d = inv(40.0, 35.0, b[0], b[1])
        [cap] = line_capsules(np.array([40.0, b[0]]), np.array([35.0, b[1]]), np.array([d]))
        pads.append(float(cap[6]))
    assert 5.0 < pads[0] < 15.0
    assert math.isclose(pads[1] / pads[0], 4.0, rel_tol=0.05)
