"""The Euphrates scenario loaded into a fresh service, with a hotline and a tracker."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deconflict.codecs.scenario import load_into, load_scenario
from deconflict.geo.ellipsoid import GEOD
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.sqlite import SQLiteStore
from deconflict.tracks.report import Report
from deconflict.tracks.tracker import Settings, Tracker
from tests.conftest import BUNDLED

#: The column of check C3 (regime) along its route, at 10 m/s (a column on a road).
C3_ROUTE = [(40.21, 35.25), (40.27, 35.33), (40.31, 35.352)]
C3_START = datetime(2018, 2, 7, 19, 0, tzinfo=UTC)


@dataclass
class World:
    service: Deconflict
    hotline: Hotline
    tracker: Tracker


def world(path: Path, settings: Settings | None = None) -> Iterator[World]:
    service = Deconflict(SQLiteStore(path))
    load_into(service, load_scenario(BUNDLED))
    hotline = Hotline(service, ack_deadline=timedelta(minutes=15))
    try:
        yield World(service, hotline, Tracker(hotline, settings))
    finally:
        service.close()


@pytest.fixture
def euphrates_world(tmp_path: Path) -> Iterator[World]:
    yield from world(tmp_path / "tracks.sqlite3")


def column_reports(uid: str = "col-1", party: str = "regime", every_s: float = 30.0, speed: float = 10.0,
                   start: datetime = C3_START) -> list[Report]:
    """The C3 column driven along its route as a track (with course and speed, as TAK clients send)."""
    out = []
    t = start
    for a, b in itertools.pairwise(C3_ROUTE):
        az, _back, length = GEOD.inv(*a, *b)
        s = 0.0
        while s < length:
            lon, lat, _ = GEOD.fwd(a[0], a[1], az, s)
            out.append(Report(party, uid, float(lon), float(lat), t, False, course=float(az) % 360.0, speed=speed))
            t += timedelta(seconds=every_s)
            s += speed * every_s
    return out
