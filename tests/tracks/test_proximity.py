"""Proximity and CPA against a brute force over every pair and fine time steps."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.tracks.proximity import approaches, screen
from tests import reference as ref

H, V, LOOK = 1000.0, 300.0, 120.0


def _world(seed: int, n: int) -> tuple[np.ndarray, ...]:
    rnd = np.random.default_rng(seed)
    lon = rnd.uniform(40.0, 40.25, n)
    lat = rnd.uniform(35.0, 35.2, n)
    air = rnd.random(n) < 0.4
    alt = np.where(air, rnd.uniform(0, 1500, n), np.nan)
    speed = np.where(air, rnd.uniform(0, 250, n), rnd.uniform(0, 20, n)) * (rnd.random(n) < 0.8)
    course = rnd.uniform(0, 360, n)
    vz = np.where(air, rnd.uniform(-10, 10, n), 0.0)
    party = rnd.integers(-1, 3, n)
    return lon, lat, alt, speed, course, vz, party


def _brute(lon: np.ndarray, lat: np.ndarray, alt: np.ndarray, speed: np.ndarray, course: np.ndarray,
           vz: np.ndarray, party: np.ndarray, steps: int = 241) -> dict[tuple[int, int], float]:
    """Least horizontal distance (over times where the vertical gap is within V) per pair, by the reference."""
    n = len(lon)
    iu, ju = np.triu_indices(n, 1)
    other = (party[iu] != party[ju]) | (party[iu] < 0)
    iu, ju = iu[other], ju[other]
    best = np.full(len(iu), np.inf)
    z = np.where(np.isnan(alt), 0.0, alt)
    w = np.where(np.isnan(alt), 0.0, vz)
    for t in np.linspace(0, LOOK, steps):
        lo, la, _ = ref.GEOD.fwd(lon, lat, course, speed * t)
        lo, la = np.asarray(lo), np.asarray(la)
        _a, _b, d = ref.GEOD.inv(lo[iu], la[iu], lo[ju], la[ju])
        dz = np.abs((z[iu] + w[iu] * t) - (z[ju] + w[ju] * t))
        best = np.where(dz <= V, np.minimum(best, np.asarray(d)), best)
    return {(int(a), int(b)): float(d) for a, b, d in zip(iu, ju, best, strict=True)}


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_no_close_pair_is_missed(seed: int) -> None:
    w = _world(seed, 70)
    found = {(a.a, a.b): a for a in approaches(*w, horizontal_m=H, vertical_m=V, lookahead_s=LOOK)}
    brute = _brute(*w)
    for pair, d in brute.items():
        # Clearly inside (a margin for the brute force's time steps and the
        # prediction's straight relative motion): must be found.
        if d <= 0.9 * H:
            assert pair in found, (pair, d)
    for pair, a in found.items():
        # Nothing found that the brute force sees clearly apart.
        assert brute[pair] <= H * 1.1 + 50, (pair, a, brute[pair])
        assert a.miss_m <= H


def test_screening_over_selects_never_drops() -> None:
    lon, lat, _alt, speed, course, _vz, _party = _world(3, 400)
    pairs = {tuple(p) for p in screen(lon, lat, speed, course, H, LOOK).tolist()}
    lo, la, _ = ref.GEOD.fwd(lon, lat, course, speed * LOOK / 2)
    for i in range(len(lon)):
        for j in range(i + 1, len(lon)):
            # Two swept segments within H of each other have midpoints within H + half + half.
            _a, _b, d = ref.GEOD.inv(lo[i], la[i], lo[j], la[j])
            if d <= H + (speed[i] + speed[j]) * LOOK / 2 - 5.0:
                assert (i, j) in pairs


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_height_screen_drops_nothing(seed: int) -> None:
    """Screening on heights too (a fourth, scaled coordinate) finds the same
    approaches as screening in space alone, and keeps every pair the brute force
    sees within both distances at some moment."""
    import pytest

    from deconflict.tracks import proximity

    w = _world(seed, 120)
    lon, lat, alt, speed, course, vz, _party = w
    # Climbs and descents steep enough to cross layers within the look-ahead.
    vz = np.where(np.isnan(alt), 0.0, vz * 5)
    w = (lon, lat, alt, speed, course, vz, _party)
    got = {(a.a, a.b, a.now) for a in approaches(*w, horizontal_m=H, vertical_m=V, lookahead_s=LOOK)}
    with pytest.MonkeyPatch.context() as mp:
        plain = proximity.screen
        mp.setattr(proximity, "screen", lambda *a: plain(*a[:6]))
        want = {(a.a, a.b, a.now) for a in approaches(*w, horizontal_m=H, vertical_m=V, lookahead_s=LOOK)}
    assert got == want
    z = np.where(np.isnan(alt), 0.0, alt)
    pairs = {tuple(p) for p in screen(lon, lat, speed, course, H, LOOK, z, vz, V).tolist()}
    brute = _brute(lon, lat, alt, speed, course, vz, np.arange(len(lon)))  # every pair, all parties apart
    for pair, d in brute.items():
        if d <= H:
            assert pair in pairs, (pair, d)
