"""engine/exact.py: the exact distances of a check taken on arrays (geo/batch.py)
give the findings the one-by-one comparisons give, in check, check_many and the
re-check against a new declaration, over crowded random scenes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

from deconflict.engine import Engine, exact
from deconflict.geo import batch
from deconflict.model import Declaration, Flight, LineString, Party
from tests.engine.test_chord_prune import MARGINS, W, band, scenes
from tests.geo.strategies import PROPERTY
from tests.reference import fwd


@contextlib.contextmanager
def mode(vectorise: bool, batch_min: int = 1) -> Iterator[None]:
    saved = exact.VECTORISE, exact.BATCH_MIN
    exact.VECTORISE, exact.BATCH_MIN = vectorise, batch_min
    try:
        yield
    finally:
        exact.VECTORISE, exact.BATCH_MIN = saved


def _engine(decls) -> Engine:  # type: ignore[no-untyped-def]
    engine = Engine(MARGINS)
    for p in ("a", "b", "c"):
        engine.add_party(Party(p, p.upper()))
    engine.load(decls)
    return engine


@PROPERTY(60)
@given(scenes(), st.lists(scenes(), min_size=1, max_size=3))
def test_arrays_give_the_findings_of_the_scalar_path(scene, more):
    decls, activity = scene
    engine = _engine(decls)
    others = [a for _d, a in more]
    with mode(False):
        want = engine.check(activity)
        want_many = [engine.check(a) for a in [activity, *others]]
        want_re = engine.recheck(activity)
    with mode(True):
        got = engine.check(activity)
        got_many = engine.check_many([activity, *others])
        got_re = engine.recheck(activity)
    assert got == want
    assert got_many == want_many
    assert got_re == want_re


def test_a_batch_is_taken_on_arrays():
    """The scenes above do reach the arrays (so the test compares something)."""
    decls, activity = _crowded()
    engine = _engine(decls)
    calls: list[int] = []
    original = batch.pair_distances

    def spy(mines, others, uptos):  # type: ignore[no-untyped-def]
        calls.append(len(mines))
        return original(mines, others, uptos)

    batch.pair_distances = spy  # type: ignore[assignment]
    try:
        with mode(True):
            got = engine.check(activity)
        with mode(False):
            want = engine.check(activity)
    finally:
        batch.pair_distances = original  # type: ignore[assignment]
    assert calls and calls[0] >= 3
    assert got == want
    assert got.findings  # the crowded corridor meets some of them


def _crowded() -> tuple[list[Declaration], Declaration]:
    """Flights fanning out from points 2 km apart along a parallel, and a flight
    across them: a dozen line candidates in reach."""

    decls: list[Declaration] = []
    for i in range(12):
        at = fwd(30.0, 40.0, 90.0, 2_000.0 * i)
        end = fwd(at[0], at[1], 10.0 * i, 20_000.0)
        decls.append(Flight(id=f"f{i}", owner="a", window=W, geometry=LineString((at, end)), half_width_m=500.0,
                            altitude=band(1000, 3000)))
    activity = Flight(id="act", owner="c", window=W, geometry=LineString(((30.0, 40.05), (30.3, 40.05))),
                      half_width_m=300.0, altitude=band(1500, 2500))
    return decls, activity
