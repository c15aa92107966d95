"""Track history: retention, rate, on file across a restart, bounded memory, and who may see what."""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from deconflict.errors import InvalidInput, NotFound
from deconflict.service.auth import Role
from deconflict.service.http import create_app
from deconflict.tracks.history import HistoryFile
from deconflict.tracks.http import mount
from deconflict.tracks.report import UNAFFILIATED, Report
from deconflict.tracks.tracker import Settings, Tracker
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
