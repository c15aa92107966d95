"""Shortcuts of Engine.check that must change nothing: parts built one at a
time, line candidates ruled out before they are built, foot searches stopped
once they are proven out of reach."""

from __future__ import annotations

import math
import random

import pytest

from deconflict.engine.checker import Engine
from deconflict.engine.parts import declaration_part, declaration_parts, part_band, part_count, part_line
from deconflict.geo.ellipsoid import GEOD
from deconflict.geo.geodesic import Edge, foot
from deconflict.geo.shape import Shape, ShapeType, line_out_of_reach
from tests.engine.test_bulk import declaration, engine


def same_shape(a: Shape, b: Shape) -> bool:
    return (a.type is b.type and a.bounds == b.bounds and len(a.rings) == len(b.rings)
            and all(r.lons.tolist() == s.lons.tolist() and r.lats.tolist() == s.lats.tolist()
                    and r.edges == s.edges and r.edge_bounds == s.edge_bounds
                    for r, s in zip(a.rings, b.rings, strict=True)))


def test_declaration_part_is_that_part_of_declaration_parts():
    rng = random.Random(11)
    for i in range(600):
        d = declaration(rng, i)
        parts = declaration_parts(d)
        assert part_count(d) == len(parts)
        for k, whole in enumerate(parts):
            one = declaration_part(d, k)
            assert same_shape(one.shape, whole.shape)
            fields = ("decl_id", "owner", "kind", "role", "radius_m", "window", "band", "forces", "leg")
            assert [getattr(one, f) for f in fields] == [getattr(whole, f) for f in fields]
            assert part_band(d, k) == whole.band


def test_part_line_is_the_line_the_part_is_built_from():
    rng = random.Random(12)
    lines = 0
    for i in range(600):
        d = declaration(rng, i)
        for k, part in enumerate(declaration_parts(d)):
            line = part_line(d, k)
            if line is None:
                continue
            lines += 1
            coords, radius = line
            assert part.shape.type is ShapeType.LINE
            assert list(part.shape.vertices()) == [(float(x), float(y)) for x, y in coords]
            assert radius == part.radius_m
    assert lines > 100


def test_line_out_of_reach_only_when_point_distance_is_inf():
    rng = random.Random(13)
    ruled_out = 0
    for _ in range(3000):
        lon, lat = rng.uniform(-179.0, 179.0), rng.uniform(-85.0, 85.0)
        coords = [(lon, lat)]
        for _k in range(rng.randint(1, 4)):
            x, y, _b = GEOD.fwd(*coords[-1], rng.uniform(-180.0, 180.0), rng.uniform(10.0, 300_000.0))
            coords.append((float(x), float(y)))
        shape = Shape.build(ShapeType.LINE, [coords])
        x, y, _b = GEOD.fwd(lon, lat, rng.uniform(-180.0, 180.0), rng.uniform(0.0, 400_000.0))
        for upto in (0.0, 100.0, 3_000.0, 30_000.0, rng.uniform(0.0, 200_000.0)):
            if line_out_of_reach(float(x), float(y), coords, upto):
                ruled_out += 1
                assert math.isinf(shape.point_distance(float(x), float(y), upto))
    assert ruled_out > 1000


def test_foot_with_a_limit_is_the_foot_or_above_the_limit():
    rng = random.Random(14)
    stopped = 0
    for _ in range(1500):
        lon, lat = rng.uniform(-179.0, 179.0), rng.uniform(-85.0, 85.0)
        x, y, _b = GEOD.fwd(lon, lat, rng.uniform(-180.0, 180.0), rng.uniform(1.0, 500_000.0))
        e = Edge.between(lon, lat, float(x), float(y))
        px, py, _b = GEOD.fwd(lon, lat, rng.uniform(-180.0, 180.0), rng.uniform(0.0, 600_000.0))
        exact = foot(e, float(px), float(py))
        for limit in (0.0, exact[1] * 0.5, exact[1] - 1e-3, exact[1], exact[1] + 1e-3, exact[1] * 2.0):
            got = foot(e, float(px), float(py), limit)
            if exact[1] <= limit:
                assert got == exact
            else:
                assert got[1] > limit
                stopped += got != exact
    assert stopped > 100


@pytest.mark.parametrize("seed", [21, 22])
def test_check_is_the_same_without_the_prefilters(seed, monkeypatch):
    rng = random.Random(seed)
    decls = [declaration(rng, i) for i in range(1500)]
    acts = [declaration(rng, 10_000 + i) for i in range(300)]
    e = engine()
    e.load(decls)
    fast = [e.check(a) for a in acts]
    plain = engine()
    plain.load(decls)
    monkeypatch.setattr(Engine, "_out_of_reach", lambda *_args: False)
    monkeypatch.setattr(Engine, "_band_apart", lambda *_args: False)
    assert [plain.check(a) for a in acts] == fast
    assert sum(len(r.findings) for r in fast) > 20
