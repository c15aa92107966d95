"""geo/batch.py against the scalar searches it vectorises: the same feet, the
same distances, the same "within upto" answers, on random cases in awkward places."""

from __future__ import annotations

import contextlib
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from deconflict.errors import InvalidInput
from deconflict.geo import batch
from deconflict.geo.batch import distances_within, feet, pair_distances
from deconflict.geo.ellipsoid import DISTANCE_TOLERANCE_M
from deconflict.geo.geodesic import Edge, foot
from deconflict.geo.shape import Shape
from tests.geo.strategies import PROPERTY, scene
from tests.geo.test_geodesic import as_edge, edge_and_point


@contextlib.contextmanager
def _sizes(scalar_max: int, tail: int):
    """batch.feet with other thresholds between the scalar and the lockstep paths."""
    old = batch.FEET_SCALAR_MAX, batch.FEET_TAIL
    batch.FEET_SCALAR_MAX, batch.FEET_TAIL = scalar_max, tail
    try:
        yield
    finally:
        batch.FEET_SCALAR_MAX, batch.FEET_TAIL = old


def _feet_of(edges: list[Edge], points: list[tuple[float, float]], limits: list[float]):
    def col(f):
        return np.array([f(e) for e in edges], dtype=np.float64)

    return feet(col(lambda e: e.lon1), col(lambda e: e.lat1), col(lambda e: e.az1), col(lambda e: e.length),
                np.array([p[0] for p in points]), np.array([p[1] for p in points]), np.array(limits))


@PROPERTY(max_examples=100)
@given(st.lists(edge_and_point(), min_size=1, max_size=8),
       st.lists(st.sampled_from((math.inf, 0.0, 10.0, 1_000.0, 100_000.0)), min_size=8, max_size=8))
def test_batch_feet_are_the_scalar_feet(cases, limits):
    edges = [as_edge(a, b) for a, b, _p in cases]
    points = [p for _a, _b, p in cases]
    lims = limits[:len(cases)]
    want = [foot(e, p[0], p[1], lim) for e, p, lim in zip(edges, points, lims, strict=True)]
    # Lockstep to the end, lockstep then one by one, and one by one.
    for scalar_max, tail in ((0, 0), (0, 2), (100, 0)):
        with _sizes(scalar_max, tail):
            s, d = _feet_of(edges, points, lims)
        for k in range(len(cases)):
            # The same search, step for step: the same answer, bit for bit.
            assert (s[k], d[k]) == want[k], (k, edges[k], points[k], lims[k], scalar_max, tail)


def test_batch_feet_of_a_point_edge_and_of_the_ends():
    e0 = Edge.between(10.0, 10.0, 10.0, 10.0)  # length 0
    e1 = as_edge((0.0, 0.0), (1.0, 0.0))
    points = [(10.5, 10.0), (-1.0, 0.1), (2.0, 0.3), (0.5, 0.2), (0.5, 0.0)]
    edges = [e0, e1, e1, e1, e1]
    with _sizes(0, 0):
        s, d = _feet_of(edges, points, [math.inf] * 5)
    for k, (e, p) in enumerate(zip(edges, points, strict=True)):
        assert (s[k], d[k]) == foot(e, *p)


def _agree(got: float, want: float, upto: float) -> None:
    """The same answer to within the distance tolerance, and the same "within
    upto" decision unless the distance lies within the tolerance of ``upto``
    (the two paths may solve a few more or fewer inverse problems, which agree
    to the solver's rounding, nanometres)."""
    if math.isinf(got) != math.isinf(want):
        finite = want if math.isinf(got) else got
        assert abs(finite - upto) <= DISTANCE_TOLERANCE_M, (got, want, upto)
    elif not math.isinf(want):
        assert abs(got - want) <= DISTANCE_TOLERANCE_M, (got, want)


def _shape(g):
    try:
        return Shape.of(g.geometry)
    except InvalidInput:
        return None


@PROPERTY(max_examples=150)
@given(scene(), st.lists(scene(), min_size=1, max_size=4), st.floats(0.0, 200_000.0))
def test_batch_distances_within_are_the_scalar_ones(first, more, upto):
    """One shape against several (the first scene's second shape and the others'
    shapes): the batch answers what Shape.distance_within answers, to within the
    distance tolerance, and the same "within upto" decision."""
    a = _shape(first[0])
    others = [_shape(g) for g in [first[1]] + [s[1] for s in more] + [s[0] for s in more]]
    others = [o for o in others if o is not None]
    if a is None or not others:
        return
    uptos = np.array([upto * (1.0 + 0.5 * k) for k in range(len(others))])
    got = distances_within(a, others, uptos)
    for k, o in enumerate(others):
        _agree(float(got[k]), a.distance_within(o, float(uptos[k])), float(uptos[k]))


@PROPERTY(max_examples=100)
@given(scene(max_gap_m=50.0), st.floats(0.0, 60.0))
def test_batch_distances_within_at_short_range(sc, upto):
    """Close shapes and short reaches, where the decisions sit near the threshold."""
    a, b = _shape(sc[0]), _shape(sc[1])
    if a is None or b is None:
        return
    got = distances_within(a, [b, b], np.array([upto, upto + 5.0]))
    for k, u in enumerate((upto, upto + 5.0)):
        _agree(float(got[k]), a.distance_within(b, u), u)


@PROPERTY(max_examples=60)
@given(st.lists(scene(), min_size=1, max_size=4), st.floats(0.0, 100_000.0))
def test_batch_pair_distances_of_several_shapes_at_once(scenes, upto):
    """Pairs with different first shapes (and one shape in several pairs) in one call."""
    pairs = [(_shape(a), _shape(b)) for a, b, _r, _s in scenes]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pairs:
        return
    pairs += [(b, a) for a, b in pairs] + [(pairs[0][0], b) for _a, b in pairs]
    uptos = np.array([upto + 10.0 * k for k in range(len(pairs))])
    got = pair_distances([a for a, _b in pairs], [b for _a, b in pairs], uptos)
    for k, (a, b) in enumerate(pairs):
        _agree(float(got[k]), a.distance_within(b, float(uptos[k])), float(uptos[k]))


def test_pyproj_private_routines_answer_as_the_public_ones_else_are_not_used() -> None:
    """The lockstep search calls pyproj's private array routines (a third of a
    step's cost); they are used only if they agree with the public ones bit for
    bit, here on many random cases as at import on a few."""
    rng = np.random.default_rng(7)
    n = 2000
    lon1, lon2 = rng.uniform(-180, 180, n), rng.uniform(-180, 180, n)
    lat1, lat2 = rng.uniform(-90, 90, n), rng.uniform(-90, 90, n)
    az, s = rng.uniform(-180, 180, n), rng.uniform(0, 2e7, n)
    for got, want in zip(batch._inv_private(lon1, lat1, lon2, lat2), batch._inv_public(lon1, lat1, lon2, lat2),
                         strict=True):
        assert np.array_equal(got, want)
    for got, want in zip(batch._fwd_private(lon1, lat1, az, s), batch._fwd_public(lon1, lat1, az, s), strict=True):
        assert np.array_equal(got, want)
    assert batch.PRIVATE_ROUTINES and batch._inv is batch._inv_private
