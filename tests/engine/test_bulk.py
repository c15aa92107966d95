"""The bulk load path: its boxes hold Shape.box()'s, and Engine.load is add_declaration one by one."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from deconflict.engine.bulk import Batch, line_boxes, pair_tags, part_tag, point_boxes, rings_clear
from deconflict.engine.checker import Engine
from deconflict.engine.index import micros
from deconflict.engine.parts import declaration_parts
from deconflict.engine.rules import applicable_pair_rules
from deconflict.errors import AlreadyExists, DeconflictError, InvalidInput
from deconflict.geo.bounds import Box
from deconflict.geo.shape import Shape, ShapeType
from deconflict.model import (
    Altitude,
    AltitudeBand,
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
    Waypoint,
    Window,
)

T0 = datetime(2018, 2, 7, tzinfo=UTC)


def holds(outer: Box, inner: Box) -> bool:
    """Whether ``outer`` contains ``inner`` as sets of points on the sphere."""
    if outer.lat_lo > inner.lat_lo or outer.lat_hi < inner.lat_hi:
        return False
    if outer.full_lon:
        return True
    if inner.full_lon:
        return False
    offset = (inner.lon_lo - outer.lon_lo) % 360.0
    return offset + (inner.lon_hi - inner.lon_lo) <= outer.lon_hi - outer.lon_lo


def as_boxes(lo, la, hi, lh, full) -> list[Box]:
    return [Box(*map(float, b[:4]), bool(b[4])) for b in zip(lo, la, hi, lh, full, strict=True)]


def awkward_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lon = rng.uniform(-180.0, 180.0, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    special_lon = np.array([-180.0, 180.0, 179.9999999, -179.9999999, 0.0, 179.99, -179.99])
    special_lat = np.array([-90.0, 90.0, 89.9999, -89.9999, 89.0, -89.5, 0.0, 85.0, -80.0])
    k = n // 4
    lon[:k] = rng.choice(special_lon, k)
    lat[k : 2 * k] = rng.choice(special_lat, k)
    radius = np.exp(rng.uniform(math.log(0.01), math.log(550_000.0), n))
    radius[: n // 10] = 0.0
    return lon, lat, radius


def test_point_boxes_hold_shape_boxes():
    rng = np.random.default_rng(1)
    lon, lat, radius = awkward_points(rng, 20_000)
    bulk = as_boxes(*point_boxes(lon, lat, radius))
    for x, y, r, b in zip(lon.tolist(), lat.tolist(), radius.tolist(), bulk, strict=True):
        exact = Shape.point(x, y).box(r)
        assert holds(b, exact), (x, y, r, b, exact)
        # ... and only by a hair (the padding), so candidates are not inflated.
        if not b.full_lon:
            assert b.lat_hi - b.lat_lo <= exact.lat_hi - exact.lat_lo + 1e-8


def random_lines(rng: random.Random, n: int) -> list[list[tuple[float, float]]]:
    lines = []
    for _ in range(n):
        lon = rng.choice([rng.uniform(-180, 180), rng.choice([-180.0, 180.0, 179.95, -179.95])])
        lat = rng.choice([rng.uniform(-70, 70), rng.uniform(-90, 90), rng.choice([89.99, -89.99, 79.9])])
        step = rng.choice([0.001, 0.05, 0.3, 2.0, 10.0])
        pts = [(lon, lat)]
        for _ in range(rng.randint(1, 5)):
            x = pts[-1][0] + rng.uniform(-step, step)
            y = max(-90.0, min(90.0, pts[-1][1] + rng.uniform(-step, step)))
            x = (x + 180.0) % 360.0 - 180.0
            if (x, y) != pts[-1]:
                pts.append((x, y))
        if len(pts) >= 2:
            lines.append(pts)
    return lines


def test_line_boxes_hold_shape_boxes_and_validate_like_build():
    rng = random.Random(2)
    lines = random_lines(rng, 3000)
    # Some that Shape.build refuses: an edge too long, a span too wide.
    lines.append([(0.0, 0.0), (50.0, 0.0)])
    lines.append([(0.0, 0.0), (30.0, 0.0), (60.0, 0.0)])
    radius = np.array([rng.choice([0.0, 50.0, 2_000.0, 500_000.0]) for _ in lines])
    lon = np.array([p[0] for pts in lines for p in pts])
    lat = np.array([p[1] for pts in lines for p in pts])
    count = np.array([len(pts) for pts in lines])
    first = np.cumsum(count) - count
    lo, la, hi, lh, full, slow = line_boxes(lon, lat, first, count, radius)
    fast = 0
    for k, pts in enumerate(lines):
        try:
            shape = Shape.build(ShapeType.LINE, [pts])
        except InvalidInput:
            assert slow[k], f"line {pts} is refused by Shape.build but not by line_boxes"
            continue
        if slow[k]:
            continue  # built one by one instead: nothing to compare
        fast += 1
        exact = shape.box(float(radius[k]))
        got = Box(float(lo[k]), float(la[k]), float(hi[k]), float(lh[k]), bool(full[k]))
        assert holds(got, exact), (pts, radius[k], got, exact)
    assert fast > 2000  # most lines take the fast path
    assert slow[-1] and slow[-2]


# -- Engine.load against add_declaration ----------------------------------------------
PARTIES = ("a", "b", "c")


def window(rng: random.Random, hours: float = 6.0) -> Window:
    start = T0 + timedelta(minutes=rng.randrange(0, 48 * 60))
    return Window(start, start + timedelta(minutes=rng.randrange(1, int(hours * 60))))


def place(rng: random.Random) -> tuple[float, float]:
    return rng.choice([
        (rng.uniform(39.0, 41.0), rng.uniform(34.0, 36.0)),
        (rng.choice([179.999, -179.999, 180.0, -180.0]), rng.uniform(-10.0, 10.0)),
        (rng.uniform(-180, 180), rng.choice([89.95, -89.95, 85.0])),
    ])


def near(rng: random.Random, p: tuple[float, float], step: float) -> tuple[float, float]:
    x = (p[0] + rng.uniform(-step, step) + 180.0) % 360.0 - 180.0
    return x, max(-90.0, min(90.0, p[1] + rng.uniform(-step, step)))


def declaration(rng: random.Random, i: int) -> Declaration:
    owner = rng.choice(PARTIES)
    p = place(rng)
    kind = rng.randrange(9)
    if kind == 0:
        return Site(id=f"d{i}", owner=owner, window=window(rng, 72), geometry=Point(*p),
                    protection_m=rng.uniform(0, 3000),
                    category=rng.choice([SiteCategory.FORCES, SiteCategory.PROTECTED]))
    if kind == 1:
        return Site(id=f"d{i}", owner=owner, window=window(rng, 72),
                    geometry=LineString((p, near(rng, p, 0.2))), protection_m=100.0)
    if kind == 2:
        origin = rng.choice([None, Point(*near(rng, p, 0.3)), Point(*p)])
        return Fire(id=f"d{i}", owner=owner, window=window(rng), target=Point(*p),
                    effects_radius_m=rng.uniform(0, 3000), origin=origin,
                    max_ordinate=None if origin is None else Altitude(5000.0))
    if kind == 3:
        ring = [p, near(rng, p, 0.1), near(rng, p, 0.1)]
        ring = [p, (ring[1][0], p[1]), ring[2], p] if ring[1] != ring[2] else [p, near(rng, p, 0.1), p]
        try:
            return Fire(id=f"d{i}", owner=owner, window=window(rng), target=Polygon((tuple(ring),)),
                        effects_radius_m=500.0)
        except InvalidInput:
            return Fire(id=f"d{i}", owner=owner, window=window(rng), target=Point(*p))
    if kind == 4:
        pts = [p]
        for _ in range(rng.randint(1, 4)):
            pts.append(near(rng, pts[-1], rng.choice([0.01, 0.2, 1.0])))
        pts = [q for k, q in enumerate(pts) if k == 0 or q != pts[k - 1]]
        if len(pts) < 2:
            pts.append(near(rng, p, 0.05))
        return Movement(id=f"d{i}", owner=owner, window=window(rng), route=LineString(tuple(pts)),
                        half_width_m=rng.uniform(0, 500))
    if kind in (5, 6):
        t = T0 + timedelta(minutes=rng.randrange(0, 48 * 60))
        wps = [Waypoint(Point(*p), t, Altitude(1000.0))]
        for _ in range(rng.randint(1, 4)):
            t += timedelta(minutes=rng.randint(1, 90))
            q = wps[-1].position
            nxt = (q.lon, q.lat) if rng.random() < 0.2 else near(rng, (q.lon, q.lat), 0.3)
            wps.append(Waypoint(Point(*nxt), t, Altitude(rng.uniform(500, 3000))))
        if kind == 5:
            return Movement(id=f"d{i}", owner=owner, window=Window(wps[0].time, wps[-1].time),
                            waypoints=tuple(wps), half_width_m=200.0)
        return Flight(id=f"d{i}", owner=owner, window=Window(wps[0].time, wps[-1].time),
                      waypoints=tuple(wps), half_width_m=1000.0)
    band = AltitudeBand.metres(1000.0, 3000.0)
    if kind == 7:
        return Flight(id=f"d{i}", owner=owner, window=window(rng), half_width_m=2000.0, altitude=band,
                      geometry=rng.choice([Point(*p), LineString((p, near(rng, p, 1.0)))]))
    d = 0.05
    x, y = p[0] if abs(p[0]) < 179 else 10.0, p[1] if abs(p[1]) < 80 else 10.0
    square = ((x - d, y - d), (x + d, y - d), (x + d, y + d), (x - d, y + d), (x - d, y - d))
    return Flight(id=f"d{i}", owner=owner, window=window(rng), altitude=band, geometry=Polygon((square,)))


def engine() -> Engine:
    e = Engine()
    for p in PARTIES:
        e.add_party(Party(p, p.upper()))
    return e


def test_load_equals_add_declaration_one_by_one():
    rng = random.Random(3)
    decls = [declaration(rng, i) for i in range(3000)]
    bulk, single = engine(), engine()
    assert bulk.load(decls) == len(decls)
    for d in decls:
        single.add_declaration(d)
    single._index.rebuild()
    assert bulk._first_part == single._first_part
    assert bulk._n_parts == single._n_parts
    assert bulk._part_owner == single._part_owner
    bi, si = bulk._index, single._index
    assert (bi._t0, bi._t1, bi._tag, bi._alive) == (si._t0, si._t1, si._tag, si._alive)
    # Every part's entries in the bulk index hold its entries in the other.
    for run_b, run_s in ((bi._main, si._main),):
        by_part: dict[int, list[list[float]]] = {}
        for p, b in zip(run_b.part.tolist(), run_b.box.tolist(), strict=True):
            by_part.setdefault(p, []).append(b)
        for p, b in zip(run_s.part.tolist(), run_s.box.tolist(), strict=True):
            assert any(o[0] <= b[0] and o[1] <= b[1] and o[2] >= b[2] and o[3] >= b[3] for o in by_part[p])
    for i, d in enumerate(decls):
        first = bulk._first_part[i]
        for k, part in enumerate(declaration_parts(d)):
            assert bi._tag[first + k] == part_tag(part)
    activities = [declaration(random.Random(1000 + i), 10_000 + i) for i in range(150)]
    for a in activities:
        assert bulk.check(a) == single.check(a)


def test_load_stops_at_the_first_invalid_declaration_like_add_declaration():
    rng = random.Random(4)
    good = [declaration(rng, i) for i in range(40)]
    too_long = Movement(id="bad-edge", owner="a", window=window(rng),
                        route=LineString(((0.0, 0.0), (60.0, 0.0))))
    too_wide = Movement(id="bad-span", owner="a", window=window(rng),
                        route=LineString(((0.0, 0.0), (30.0, 0.0), (60.0, 0.0))))
    bowtie = Flight(id="bad-ring", owner="a", window=window(rng), altitude=AltitudeBand.metres(0, 1),
                    geometry=Polygon((((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)),)))
    stranger = Site(id="bad-owner", owner="zz", window=window(rng), geometry=Point(1.0, 1.0))
    twin = Site(id=good[3].id, owner="a", window=window(rng), geometry=Point(1.0, 1.0))
    twin_and_bad = Movement(id=good[5].id, owner="a", window=window(rng),
                            route=LineString(((0.0, 0.0), (60.0, 0.0))))
    for bad in (too_long, too_wide, bowtie, stranger, twin, twin_and_bad):
        for at in (0, 17, 40):
            decls = [*good[:at], bad, *good[at:]]
            bulk, single = engine(), engine()
            told: list[int] = []
            with pytest.raises(DeconflictError) as caught:
                bulk.load(decls, progress=told.append)
            expected: DeconflictError | None = None
            for d in decls:
                try:
                    single.add_declaration(d)
                except DeconflictError as exc:
                    expected = exc
                    break
            assert expected is not None
            assert type(caught.value) is type(expected) and str(caught.value) == str(expected)
            assert [d.id for d in bulk.declarations()] == [d.id for d in single.declarations()]
            assert sum(told) == 0  # fewer than 1,000 loaded: nothing to report before the error
            if bad is twin and at > 3:
                assert isinstance(caught.value, AlreadyExists)


def test_load_reports_progress_by_the_thousand():
    rng = random.Random(5)
    decls = [declaration(rng, i) for i in range(2500)]
    told: list[int] = []
    assert engine().load(decls, progress=told.append) == 2500
    assert told == [1000, 1000, 500]


def test_batch_plans_parts_in_declaration_parts_order():
    rng = random.Random(6)
    for i in range(500):
        d = declaration(rng, i)
        batch = Batch()
        batch.add(d)
        batch.compute()
        for j in batch.slow():
            batch.resolve(j, declaration_parts(batch.decls[j]))
        t0, t1, _e_part, _e_box, tags = batch.entries(1)
        parts = declaration_parts(d)
        assert t0.tolist() == [micros(p.window.start) for p in parts]
        assert t1.tolist() == [micros(p.window.end) for p in parts]
        assert tags.tolist() == [part_tag(p) for p in parts]


def test_pair_tags_keep_every_part_a_rule_applies_to():
    rng = random.Random(7)
    parts = [p for i in range(400) for p in declaration_parts(declaration(rng, i))]
    for a in parts[:150]:
        mask = pair_tags(a)
        for b in parts:
            if a.owner != b.owner and applicable_pair_rules(a, b):
                assert mask[part_tag(b)], (a, b)



def random_rings(rng: random.Random, n: int) -> list[list[tuple[float, float]]]:
    """Small rings: convex ones, vertices in random order (many cross), spikes,
    rings that nearly touch themselves, and some near the antimeridian."""
    rings = []
    for _ in range(n):
        m = rng.randint(3, 9)
        cx = rng.choice([rng.uniform(-170.0, 170.0), 179.99, -179.99])
        cy = rng.uniform(-75.0, 75.0)
        r = rng.choice([0.001, 0.05, 0.5])
        angles = sorted(rng.uniform(0.0, 2 * math.pi) for _ in range(m))
        if rng.random() < 0.3:
            rng.shuffle(angles)
        pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angles]
        if rng.random() < 0.15:  # a spike, or a vertex a hair from an edge
            k = rng.randrange(1, m)
            a, b = pts[k - 1], pts[k]
            t = rng.choice([0.5, 1.0 + 1e-9, -1e-9])
            pts.insert(k, (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
        pts = [((x + 180.0) % 360.0 - 180.0, y) for x, y in pts]
        pts = [q for k, q in enumerate(pts) if k == 0 or q != pts[k - 1]]
        if len(set(pts)) < 3 or pts[0] == pts[-1]:
            continue
        rings.append([*pts, pts[0]])
    return rings


def test_rings_clear_proves_only_rings_shape_build_accepts():
    rng = random.Random(7)
    rings = random_rings(rng, 3000)
    lon = np.array([p[0] for r in rings for p in r])
    lat = np.array([p[1] for r in rings for p in r])
    count = np.array([len(r) for r in rings])
    first = np.cumsum(count) - count
    clear = rings_clear(lon, lat, first, count)
    proven = refused = 0
    for k, ring in enumerate(rings):
        try:
            Shape.build(ShapeType.POLYGON, [ring])
        except InvalidInput:
            refused += 1
            assert not clear[k], f"ring {ring} is refused by Shape.build but proven valid"
            continue
        proven += bool(clear[k])
    assert refused > 300 and proven > 1000
    assert not clear[count - 1 > 8].any()  # more than _MAX_FAST_RING_EDGES: one by one


def test_load_of_polygons_equals_add_declaration_one_by_one():
    rng = random.Random(8)
    decls: list[Declaration] = []
    for i, ring in enumerate(random_rings(rng, 600)):
        geom = Polygon((tuple(ring),))
        w = window(rng)
        if i % 2:
            decls.append(Site(id=f"s{i}", owner=rng.choice(PARTIES), window=w, geometry=geom,
                              protection_m=rng.choice([0.0, 300.0])))
        else:
            decls.append(Flight(id=f"f{i}", owner=rng.choice(PARTIES), window=w, geometry=geom,
                                altitude=AltitudeBand.metres(0.0, 3000.0), half_width_m=rng.choice([0.0, 500.0])))
    good: list[Declaration] = []
    for d in decls:
        try:
            declaration_parts(d)
        except InvalidInput:
            continue
        good.append(d)
    bulk, single = engine(), engine()
    assert bulk.load(good) == len(good)
    for d in good:
        single.add_declaration(d)
    single._index.rebuild()
    bi, si = bulk._index, single._index
    assert (bi._t0, bi._t1, bi._tag) == (si._t0, si._t1, si._tag)
    by_part: dict[int, list[list[float]]] = {}
    for p, b in zip(bi._main.part.tolist(), bi._main.box.tolist(), strict=True):
        by_part.setdefault(p, []).append(b)
    for p, b in zip(si._main.part.tolist(), si._main.box.tolist(), strict=True):
        assert any(o[0] <= b[0] and o[1] <= b[1] and o[2] >= b[2] and o[3] >= b[3] for o in by_part[p])
    for a in good[:100]:
        probe = Site(id=f"q{a.id}", owner="c", window=a.window, geometry=a.geometry)  # type: ignore[attr-defined]
        assert bulk.check(probe) == single.check(probe)
    # And a refused ring stops the load with the one-by-one error.
    bad = next(d for d in decls if d not in good)
    with pytest.raises(InvalidInput) as caught:
        engine().load([*good[:5], bad])
    with pytest.raises(InvalidInput) as expected:
        engine().add_declaration(bad)
    assert str(caught.value) == str(expected.value)
