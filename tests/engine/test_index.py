"""GridIndex against a brute-force list: never miss a part, and return exactly the hits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconflict.engine.index import FINEST_CELL_DEG, LEVELS, GridIndex, micros
from deconflict.geo.bounds import Box
from tests.geo.strategies import PROPERTY

T0 = datetime(2018, 2, 7, tzinfo=UTC)

#: Cell edges of every level (and the antimeridian, the poles, the equator):
#: boxes that start or end exactly on a cell edge are the awkward ones.
CELL = [FINEST_CELL_DEG * (1 << k) for k in range(LEVELS)]


def on_grid(k: int, i: int, base: float) -> float:
    return base + i * CELL[k]


@st.composite
def lons(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.floats(-180.0, 180.0))
    if kind == 1:
        return draw(st.sampled_from((-180.0, 180.0, 0.0, 179.99, -179.99)))
    k = draw(st.integers(0, LEVELS - 1))
    v = on_grid(k, draw(st.integers(0, int(360.0 / CELL[k]))), -180.0)
    if kind == 3:
        v = draw(st.sampled_from((v - 1e-9, v + 1e-9, v - 1e-13, v + 1e-13)))
    return min(180.0, max(-180.0, v))


@st.composite
def widths(draw, full: float):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.floats(0.0, full))
    if kind == 1:
        return draw(st.sampled_from((0.0, 1e-12, full)))
    w = CELL[draw(st.integers(0, LEVELS - 1))]
    if kind == 3:
        w *= draw(st.sampled_from((1.0 - 1e-12, 1.0 + 1e-12, 1.0 + 4e-16)))
    return min(w, full)


@st.composite
def boxes(draw):
    """Boxes as bounds.Box makes them: lon_lo in [-180, 180), lon_hi past 180
    when crossing the antimeridian, or full_lon."""
    lat_lo = draw(st.one_of(st.floats(-90.0, 90.0), st.sampled_from((-90.0, 0.0, 89.99, 90.0))))
    lat_hi = min(90.0, lat_lo + draw(widths(180.0)))
    if draw(st.integers(0, 12)) == 0:
        return Box(-180.0, lat_lo, 180.0, lat_hi, True)
    lo = draw(lons())
    if lo >= 180.0:
        lo = -180.0
    w = draw(widths(359.99))
    return Box(lo, lat_lo, lo + w, lat_hi)


def window(draw):
    a = draw(st.integers(0, 20))
    b = draw(st.integers(a + 1, 25))
    return T0 + timedelta(minutes=a), T0 + timedelta(minutes=b)


@st.composite
def operations(draw):
    ops = []
    n = draw(st.integers(1, 40))
    added = 0
    for _ in range(n):
        what = draw(st.sampled_from(
            ("add", "add", "add", "add_many", "query", "query", "remove", "rebuild")))
        if what == "add":
            ops.append(("add", draw(boxes()), *window(draw), draw(TAG)))
            added += 1
        elif what == "add_many":
            batch = [(draw(boxes()), *window(draw), draw(TAG)) for _ in range(draw(st.integers(1, 5)))]
            ops.append(("add_many", batch, draw(st.booleans())))
            added += len(batch)
        elif what == "remove" and added:
            ops.append(("remove", draw(st.integers(0, added - 1))))
        elif what == "rebuild":
            ops.append(("rebuild",))
        else:
            ops.append(("query", draw(boxes()), *window(draw), draw(WANTED)))
    ops.append(("rebuild",))
    ops.append(("query", draw(boxes()), *window(draw), draw(WANTED)))
    return ops


#: A few tags, as the engine's (kind and role), some of them high (keys lead with the tag).
TAG = st.sampled_from((0, 1, 18, 35, 64, 127))
#: A query's wanted tags: all of them (None), or some.
WANTED = st.one_of(st.none(), st.frozensets(TAG, max_size=4))


def arcs_meet(a: Box, b: Box) -> bool:
    """Independent box test on the sphere's longitude circle (+-180 is one meridian)."""
    if a.lat_lo > b.lat_hi or b.lat_lo > a.lat_hi:
        return False
    if a.full_lon or b.full_lon:
        return True

    def holds(x: Box, lon: float) -> bool:
        return any(x.lon_lo <= lon + k <= x.lon_hi for k in (-360.0, 0.0, 360.0))

    return holds(a, b.lon_lo) or holds(a, b.lon_hi) or holds(b, a.lon_lo) or holds(b, a.lon_hi)


def run(ops) -> None:
    index = GridIndex()
    alive: dict[int, tuple[Box, datetime, datetime, int]] = {}
    for op in ops:
        if op[0] == "add":
            _, box, t0, t1, tag = op
            pid = index.add(box, t0, t1, tag)
            alive[pid] = (box, t0, t1, tag)
        elif op[0] == "add_many":
            _, batch, rebuild = op
            entries = [(k, part) for k, (box, _s, _e, _t) in enumerate(batch) for part in box.parts()]
            first = index.add_many(
                np.array([micros(s) for _b, s, _e, _t in batch], np.int64),
                np.array([micros(e) for _b, _s, e, _t in batch], np.int64),
                np.array([k for k, _p in entries], np.int64),
                np.array([p for _k, p in entries], np.float64),
                tags=np.array([t for _b, _s, _e, t in batch], np.uint8),
                rebuild=rebuild,
            )
            for k, item in enumerate(batch):
                alive[first + k] = item
        elif op[0] == "remove":
            index.remove(op[1])
            alive.pop(op[1], None)
        elif op[0] == "rebuild":
            index.rebuild()
        else:
            _, q, t0, t1, wanted = op
            mask = None
            if wanted is not None:
                mask = np.zeros(256, bool)
                mask[list(wanted)] = True
            got = set(index.query(q, t0, t1, mask).tolist())
            want = {pid for pid, (b, s, e, tag) in alive.items()
                    if arcs_meet(q, b) and s < t1 and t0 < e and (wanted is None or tag in wanted)}
            assert want <= got, f"index missed {sorted(want - got)} for query {q}"
            assert got == want, f"index returned extra {sorted(got - want)} for query {q}"
    assert len(index) == len(alive)


@PROPERTY(max_examples=250)
@given(operations())
def test_index_query_equals_brute_force(ops):
    run(ops)


def test_index_meets_across_the_antimeridian_exactly_at_180():
    """A box ending at +180 and one starting at -180 share that meridian."""
    run([
        ("add", Box(170.0, 0.0, 180.0, 1.0), T0, T0 + timedelta(hours=1), 0),
        ("rebuild",),
        ("query", Box(-180.0, 0.0, -180.0, 1.0), T0, T0 + timedelta(hours=1), None),
        ("query", Box(-180.0, 0.0, -170.0, 1.0), T0, T0 + timedelta(hours=1), None),
    ])


def test_index_box_reaching_a_third_cell_by_rounding_is_found():
    """201.23 // 0.01 is 20122 but 201.24 // 0.01 is 20124: a box narrower than
    a cell can touch three cells once the floats round."""
    lo, hi = 21.229999999999997, 21.239999999999995
    assert (hi + 180.0) // FINEST_CELL_DEG - (lo + 180.0) // FINEST_CELL_DEG == 2
    run([
        ("add", Box(lo, 0.0, hi, 0.001), T0, T0 + timedelta(hours=1), 0),
        ("rebuild",),
        ("query", Box(hi, 0.0, hi + 0.001, 0.001), T0, T0 + timedelta(hours=1), None),
    ])


def test_index_windows_are_half_open():
    index = GridIndex()
    box = Box(10.0, 10.0, 11.0, 11.0)
    pid = index.add(box, T0, T0 + timedelta(hours=1))
    index.rebuild()
    assert index.query(box, T0 + timedelta(hours=1), T0 + timedelta(hours=2)).size == 0
    assert index.query(box, T0 - timedelta(hours=1), T0).size == 0
    assert index.query(box, T0 + timedelta(minutes=59), T0 + timedelta(hours=2)).tolist() == [pid]


def test_index_removed_part_is_not_returned_and_others_are():
    index = GridIndex()
    box = Box(10.0, 10.0, 11.0, 11.0)
    a = index.add(box, T0, T0 + timedelta(hours=1))
    b = index.add(box, T0, T0 + timedelta(hours=1))
    index.remove(a)
    index.rebuild()
    assert index.query(box, T0, T0 + timedelta(hours=1)).tolist() == [b]
    assert len(index) == 1


def test_index_many_parts_after_automatic_rebuilds():
    """Past the tail limit the index sorts itself; every part is still found."""
    index = GridIndex()
    ids = []
    for i in range(9_000):
        lon = -180.0 + (i * 0.037) % 360.0
        lat = -89.0 + (i * 0.011) % 178.0
        ids.append(index.add(Box(lon, lat, lon + 0.02, lat + 0.02), T0, T0 + timedelta(hours=1)))
    for i in range(0, 9_000, 97):
        lon = -180.0 + (i * 0.037) % 360.0
        lat = -89.0 + (i * 0.011) % 178.0
        q = Box(lon + 0.01, lat + 0.01, lon + 0.01, lat + 0.01)
        assert ids[i] in index.query(q, T0, T0 + timedelta(hours=1)).tolist()


def test_index_query_reads_only_the_wanted_tags_ranges():
    """Keys lead with the tag: a query wanting one tag finds its parts among
    many of another in the same cells, and none of the others."""
    index = GridIndex()
    box = Box(40.0, 35.0, 40.001, 35.001)
    many = [index.add(box, T0, T0 + timedelta(hours=1), 1) for _ in range(50)]
    few = [index.add(box, T0, T0 + timedelta(hours=1), 99) for _ in range(3)]
    index.rebuild()
    mask = np.zeros(256, bool)
    mask[99] = True
    assert index.query(box, T0, T0 + timedelta(hours=1), mask).tolist() == few
    mask[:] = False
    mask[1] = True
    assert index.query(box, T0, T0 + timedelta(hours=1), mask).tolist() == many
    mask[:] = False
    mask[7] = True  # a tag with no parts: nothing to read
    assert index.query(box, T0, T0 + timedelta(hours=1), mask).size == 0
    with pytest.raises(ValueError, match="below 128"):
        index.add(box, T0, T0 + timedelta(hours=1), 128)
