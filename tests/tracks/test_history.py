"""Track history: retention, rate, on file across a restart, bounded memory, and who may see what."""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from deconflict.codecs.scenario import load_into, load_scenario
from deconflict.errors import InvalidInput, NotFound
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.http import create_app
from deconflict.store.postgres import PostgresStore
from deconflict.tracks.history import HistoryFile
from deconflict.tracks.history_pg import PgHistory
from deconflict.tracks.http import mount
from deconflict.tracks.report import UNAFFILIATED, Report
from deconflict.tracks.tracker import Settings, Tracker
from tests.conftest import BUNDLED
from tests.pg import fresh_url
from tests.store.test_postgres import ALLOWED, FORBIDDEN, WAKE_UPS, WRITES, fold, guard_statements
from tests.tracks.conftest import World, world

T = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)


@pytest.fixture
def filed(tmp_path: Path) -> Iterator[tuple[World, Path]]:
    path = tmp_path / "h.tracks.sqlite3"
    for w in world(tmp_path / "h.sqlite3", Settings(history_s=600.0, history_every_s=5.0, trail_s=60.0)):
        w.tracker.history_file = HistoryFile(path)
        yield w, path


def _walk(uid: str, party: str, n: int, every_s: float = 1.0, air: bool = False) -> list[Report]:
    return [Report(party, uid, 39.0 + k * 1e-4, 34.0, T + timedelta(seconds=k * every_s), air,
                   3000.0 if air else math.nan) for k in range(n)]


def test_rate_retention_and_memory(filed: tuple[World, Path]) -> None:
    w, _path = filed
    tr = w.tracker
    # 20 minutes of one report a second: one point kept every 5 s, for 10 minutes on file, 1 minute in memory.
    reps = _walk("g1", "regime", 1200)
    for k in range(0, len(reps), 100):
        tr.process(reps[k:k + 100])
    tr.history_file._pruned = 0.0  # type: ignore[union-attr]  # the pruning is at most once a minute
    tr.process([Report("regime", "g1", 39.2, 34.0, T + timedelta(seconds=1200), False)])
    pts = tr.history("regime", "g1")
    times = [datetime.fromisoformat(p["time"]) for p in pts]
    assert all((b - a).total_seconds() >= 5.0 for a, b in itertools.pairwise(times))
    assert times[0] >= T + timedelta(seconds=1200 - 600)  # older than the retention: deleted
    assert len(pts) >= 115
    assert len(tr.assets["g1"].history) <= 60 / 5 + 1  # memory: the trail only


def test_history_survives_a_restart_and_follows_visibility(filed: tuple[World, Path]) -> None:
    w, path = filed
    w.tracker.process(_walk("col", "regime", 30, every_s=10.0) + _walk("adsb", UNAFFILIATED, 3, every_s=10.0, air=True))
    w.tracker.history_file.close()  # type: ignore[union-attr]
    # A new tracker on the same store and file: nothing in memory, everything on file.
    again = Tracker(w.hotline, Settings(history_s=600.0, history_every_s=5.0), history=HistoryFile(path))
    assert not again.assets
    pts = again.history("regime", "col")
    assert len(pts) == 30
    assert again.history(None, "col") == pts  # an administrator
    # Not linked to any declaration: as any unlinked asset, others may see it (a linked
    # asset follows its declaration's disclosure: below, over HTTP).
    assert again.history("russia", "col") == pts
    assert len(again.history("russia", "adsb")) == 3
    with pytest.raises(NotFound):
        again.history("russia", "never-reported")
    window = again.histories("regime", T + timedelta(seconds=100), T + timedelta(seconds=150))
    assert [len(v) for v in window["tracks"].values()] == [6]
    assert set(again.histories("russia", None, None)["tracks"]) == {"adsb", "col"}
    with pytest.raises(InvalidInput):
        again.histories("regime", T, T - timedelta(seconds=1))


def test_history_over_http(filed: tuple[World, Path]) -> None:
    w, _path = filed
    w.tracker.process(_walk("col", "regime", 40, every_s=10.0))
    app = create_app(w.hotline)
    mount(app, w.tracker)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=uv.run, daemon=True)
    th.start()
    try:
        while not uv.started:
            th.join(0.02)
        regime = w.hotline.issue_credential(None, "regime", "h", Role.VIEWER)[1]
        russia = w.hotline.issue_credential(None, "russia", "h", Role.VIEWER)[1]
        url = f"http://127.0.0.1:{port}"
        got = httpx.get(f"{url}/v1/tracks/history", params={"since": "2018-02-07T20:01:00Z",
                                                             "until": "2018-02-07T20:02:00Z"},
                        headers={"Authorization": f"Bearer {regime}"})
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["truncated"] is False and len(body["tracks"]["col"]) == 7
        one = httpx.get(f"{url}/v1/tracks/col/history", params={"since": "2018-02-07T20:06:30Z"},
                        headers={"Authorization": f"Bearer {regime}"})
        assert len(one.json()) == 1
        others = httpx.get(f"{url}/v1/tracks/history", headers={"Authorization": f"Bearer {russia}"})
        assert len(others.json()["tracks"]["col"]) == 40  # an unlinked asset, as GET /v1/tracks shows it
        assert httpx.get(f"{url}/v1/tracks/nobody/history",
                         headers={"Authorization": f"Bearer {russia}"}).status_code == 404
        bad = httpx.get(f"{url}/v1/tracks/history", params={"since": "yesterday"},
                        headers={"Authorization": f"Bearer {regime}"})
        assert bad.status_code == 422
    finally:
        uv.should_exit = True
        th.join(5)


# -- in a PostgreSQL store ---------------------------------------------------------------------
@pytest.fixture
def pg_world() -> Iterator[tuple[World, PostgresStore]]:
    store = PostgresStore(fresh_url(), trace=True)
    service = Deconflict(store)
    try:
        load_into(service, load_scenario(BUNDLED))
        hotline = Hotline(service, ack_deadline=timedelta(minutes=15))
        settings = Settings(history_s=600.0, history_every_s=5.0, trail_s=60.0)
        history = PgHistory(store)
        try:
            yield World(service, hotline, Tracker(hotline, settings, history=history)), store
        finally:
            history.close()
    finally:
        service.close()


def test_history_in_a_postgresql_store(pg_world: tuple[World, PostgresStore]) -> None:
    """Kept in the store's database (migration 6): rate, retention by time, exact
    coordinates, a restart, a point sent again, the assets left with no point; and only
    the store's portable SQL (docs/store.md), writes in SERIALIZABLE transactions."""
    w, store = pg_world
    tr = w.tracker
    reps = _walk("g1", "regime", 1200) + _walk("adsb", UNAFFILIATED, 3, every_s=10.0, air=True)
    reps[0].lon = 39.123456789012345  # exact both ways (the shortest text of the float)
    for k in range(0, len(reps), 300):
        tr.process(reps[k:k + 300])
    assert tr.history_file is not None
    tr.history_file.close()
    # A new tracker (a restart): nothing in memory, everything in the database.
    again = Tracker(w.hotline, Settings(history_s=600.0, history_every_s=5.0, trail_s=60.0),
                    history=PgHistory(store))
    try:
        _restarted(again, reps, store)
    finally:
        assert again.history_file is not None
        again.history_file.close()


def _restarted(again: Tracker, reps: list[Report], store: PostgresStore) -> None:
    assert not again.assets
    pts = again.history("russia", "g1")
    assert len(pts) == 240 and pts[0]["lon"] == 39.123456789012345 and pts[0]["alt_m"] is None
    times = [datetime.fromisoformat(p["time"]) for p in pts]
    assert all((b - a).total_seconds() >= 5.0 for a, b in itertools.pairwise(times))
    assert [p["alt_m"] for p in again.history(None, "adsb")] == [3000.0] * 3
    assert set(again.histories("regime", None, None)["tracks"]) == {"g1", "adsb"}
    # A point sent again (a client replaying after a restart) is not an error, not a duplicate.
    again.process([reps[5]])
    assert len(again.history("regime", "g1")) == 240
    # The retention: older points go, and the assets left with none.
    assert again.history_file is not None
    again.history_file._pruned = 0.0  # type: ignore[attr-defined]  # at most once a minute
    again.process([Report("regime", "g1", 39.2, 34.0, T + timedelta(seconds=1200), False)])
    left = again.history("regime", "g1")
    assert datetime.fromisoformat(left[0]["time"]) >= T + timedelta(seconds=600)
    assert again.history_file.parties() == {"g1": "regime"}  # adsb's points were older than the retention
    assert again.stats.history_lost == 0
    statements = list(store.statements or [])
    mine = [fold(sql) for _c, sql in statements if "track_" in sql]
    assert any(s.startswith("INSERT INTO track_points") and "), (" in s for s in mine)  # several rows a statement
    open_tx: dict[int, str | None] = {}
    for conn, raw in statements:
        sql = fold(raw)
        if sql in guard_statements() or sql in WAKE_UPS:
            continue
        assert not FORBIDDEN.search(sql), sql
        assert any(re.fullmatch(p, sql, re.S) for p in ALLOWED), f"outside the portable subset: {sql}"
        if sql.startswith("BEGIN"):
            open_tx[conn] = sql
        elif sql in ("COMMIT", "ROLLBACK"):
            open_tx[conn] = None
        elif WRITES.match(sql) and "track_" in sql:
            assert open_tx.get(conn) == "BEGIN ISOLATION LEVEL SERIALIZABLE", sql


def test_a_failing_history_costs_points_not_alerts(pg_world: tuple[World, PostgresStore]) -> None:
    w, store = pg_world
    with psycopg.connect(store.url, autocommit=True) as db:
        db.execute("DROP TABLE track_points")  # as a database refusing the writes would
    events = w.tracker.process([Report("regime", "c1", 40.321, 35.361, T, False)])
    assert any(e.type == "alert.raised" for e in events)
    assert w.tracker.stats.history_lost == 1
