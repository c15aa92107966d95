"""Engine.recheck and Engine.check_many against the check path itself.

``engine.recheck(obj)`` must give, for every accepted declaration X, exactly
the findings that checking X against an engine holding only ``obj`` gives
(same rule, kind, separation, part): the re-check is the check from the other
side, restricted to one object.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from deconflict.engine import Engine
from deconflict.model import (
    Altitude,
    AltitudeBand,
    Binds,
    CautionMargins,
    Declaration,
    Fire,
    Flight,
    LineString,
    Measure,
    MeasureKind,
    Movement,
    Party,
    Point,
    Polygon,
    Side,
    Site,
    SiteCategory,
    Window,
)
from deconflict.model.measure import BindsMode

T0 = datetime(2018, 2, 7, tzinfo=UTC)
PARTIES = ("p", "q", "r")


def window(rng: random.Random) -> Window:
    start = T0 + timedelta(minutes=5 * rng.randrange(0, 200))
    return Window(start, start + timedelta(minutes=5 * rng.randrange(1, 40)))


def spot(rng: random.Random) -> tuple[float, float]:
    return round(40.0 + rng.uniform(-0.4, 0.4), 5), round(35.0 + rng.uniform(-0.4, 0.4), 5)


def declaration(rng: random.Random, ident: str) -> Declaration:
    owner = rng.choice(PARTIES)
    kind = rng.choice(("site", "fire", "movement", "flight"))
    w = window(rng)
    if kind == "site":
        return Site(id=ident, owner=owner, window=w, geometry=Point(*spot(rng)),
                    category=rng.choice(list(SiteCategory)), protection_m=rng.uniform(0, 3_000))
    if kind == "fire":
        target = spot(rng)
        origin = (target[0] + rng.uniform(-0.2, 0.2), target[1] + rng.uniform(-0.2, 0.2))
        traj = rng.random() < 0.5
        return Fire(id=ident, owner=owner, window=w, target=Point(*target),
                    effects_radius_m=rng.uniform(0, 3_000),
                    origin=Point(*origin) if traj else None,
                    max_ordinate=Altitude(rng.uniform(500, 6_000)) if traj else None)
    a = spot(rng)
    b = (a[0] + rng.uniform(-0.2, 0.2), a[1] + rng.uniform(-0.2, 0.2))
    if kind == "movement":
        return Movement(id=ident, owner=owner, window=w, route=LineString((a, b)),
                        half_width_m=rng.uniform(0, 1_000))
    lo = rng.randrange(0, 60) * 100.0
    return Flight(id=ident, owner=owner, window=w, geometry=LineString((a, b)),
                  half_width_m=rng.uniform(100, 3_000), altitude=AltitudeBand.metres(lo, lo + 1_000))


def measures() -> list[Measure]:
    whole = Window(T0, T0 + timedelta(days=2))
    d = 0.05
    box = Polygon((((40.0 - d, 35.0 - d), (40.0 + d, 35.0 - d), (40.0 + d, 35.0 + d),
                    (40.0 - d, 35.0 + d), (40.0 - d, 35.0 - d)),))
    return [
        Measure("NFA", MeasureKind.NO_FIRE_AREA, "r", box, whole),
        Measure("RFA", MeasureKind.RESTRICTIVE_FIRE_AREA, "r", Point(40.2, 35.2), whole, half_width_m=8_000.0),
        Measure("ROZ", MeasureKind.RESTRICTED_OPERATIONS_ZONE, "p", box, whole,
                binds=Binds(BindsMode.ALL_BUT_OWNER), altitude=AltitudeBand.metres(1_000, 3_000)),
        Measure("DL", MeasureKind.DECONFLICTION_LINE, "p", LineString(((40.0, 34.0), (40.05, 36.0))), whole,
                sides=(("p", Side.LEFT), ("q", Side.RIGHT)), application_m=20_000.0),
    ]


def fresh(margins: CautionMargins) -> Engine:
    e = Engine(margins)
    for p in PARTIES:
        e.add_party(Party(p, p.upper()))
    return e


def summary(findings) -> set[tuple[str, str, str, float, str]]:
    return {(f.object_id, f.rule, f.kind.value, f.separation_m, f.part) for f in findings}


@pytest.mark.parametrize("seed", [1])
def test_recheck_is_the_check_from_the_other_side(seed):
    rng = random.Random(seed)
    margins = CautionMargins(500.0, 150.0, 10.0)
    decls = [declaration(rng, f"d{i}") for i in range(300)]
    engine = fresh(margins)
    engine.load(decls)
    objects: list[Declaration | Measure] = [*measures(), *(declaration(rng, f"n{i}") for i in range(25))]
    affected = 0
    for obj in objects:
        got = engine.recheck(obj)
        alone = fresh(margins)
        if isinstance(obj, Measure):
            alone.add_measure(obj)
        else:
            alone.add_declaration(obj)
        for d in decls:
            if not isinstance(obj, Measure) and d.owner == obj.owner:
                expected: set[tuple[str, str, str, float, str]] = set()
            else:
                expected = summary(alone.check(d).findings)
            assert summary(got.get(d.id, [])) == expected, (obj.id, d.id)
            affected += bool(expected)
        assert all(got[k] for k in got)
    assert affected > 20  # the theatre is dense enough that re-checks find something


def test_check_many_answers_as_check_one_by_one():
    rng = random.Random(3)
    engine = fresh(CautionMargins())
    for m in measures():
        engine.add_measure(m)
    engine.load([declaration(rng, f"d{i}") for i in range(300)])
    acts = [declaration(rng, f"a{i}") for i in range(100)]
    assert engine.check_many(acts) == [engine.check(a) for a in acts]
