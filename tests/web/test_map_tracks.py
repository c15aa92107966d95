"""Live tracks on the map (issue 11): a real server with the map and live tracks,
a party's position reports in over HTTP, and headless Chromium drawing each asset
with its Cursor-on-Target symbol from the viewer's side; a server without live
tracks is asked once and left alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.service.conftest import Running, start
from tests.web import picture
from tests.web.test_map_e2e import Shot, no_errors, open_page

pytest.importorskip("playwright")
from playwright.sync_api import Request


@pytest.fixture(scope="module")
def tracks_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start(tmp_path_factory.mktemp("tracks-web") / "server.sqlite3", web=True, tracks=True)


def report(running: Running, party: str, reports: list[dict[str, Any]]) -> None:
    r = httpx.post(f"{running.url}/v1/tracks/reports", json={"reports": reports},
                   headers={"Authorization": f"Bearer {running.tokens[party]['planner']}"}, timeout=20)
    assert r.status_code == 202, r.text


def test_a_party_s_tracks_are_drawn_with_their_cot_symbols(tracks_server: Running, browser_context: Any,
                                                            shot: Shot) -> None:
    now = datetime.now(UTC).isoformat()
    report(tracks_server, "coalition", [
        {"uid": "COAL-PATROL-1", "lon": 40.20, "lat": 35.30, "time": now, "type": "a-f-G-U-C-I",
         "course": 90.0, "speed": 5.0},
        {"uid": "COAL-HELO-1", "lon": 40.25, "lat": 35.32, "time": now, "type": "a-f-A-M-H", "air": True,
         "alt_m": 900.0, "course": 180.0, "speed": 60.0},
    ])
    page = open_page(browser_context, tracks_server, tracks_server.tokens["coalition"]["viewer"])
    page.evaluate("() => window.deconflict.setView([40.22, 35.31], 256 * 2 ** 10)")
    [patrol] = picture.wait_drawn(page, layer="tracks", uid="COAL-PATROL-1", part=None, timeout=10_000)
    # Its own infantry, friend; the helicopter with its altitude beside it.
    assert patrol["sidc"] == "SFGPUCI--------"
    [helo] = picture.drawn(page, layer="tracks", uid="COAL-HELO-1", part=None)
    assert helo["sidc"] == "SFAPMH---------"
    assert helo["text"] == "COAL-HELO-1 · 900 m", helo
    shot(page, "live-tracks")
    # A new report moves it (the map asks every 2 s).
    before = patrol["pixel"]
    report(tracks_server, "coalition", [{"uid": "COAL-PATROL-1", "lon": 40.21, "lat": 35.30,
                                         "time": datetime.now(UTC).isoformat(), "type": "a-f-G-U-C-I"}])
    page.wait_for_function("""(before) => { window.deconflict.drawNow(); return window.deconflict.drawn().some((f) =>
        f.uid === 'COAL-PATROL-1' && Math.abs(f.pixel[0] - before[0]) > 1); }""", arg=before, timeout=10_000)
    # Its trail (GET /v1/tracks/history) is drawn under it: a line from the first
    # report's point to the second's, ending under the symbol.
    page.wait_for_function("""() => { window.deconflict.drawNow(); return window.deconflict.drawn().some((f) =>
        f.uid === 'COAL-PATROL-1' && f.part === 'trail'); }""", timeout=10_000)
    [trail] = picture.drawn(page, layer="tracks", uid="COAL-PATROL-1", part="trail")
    [moved] = [f for f in picture.drawn(page, layer="tracks", uid="COAL-PATROL-1") if f["part"] != "trail"]
    start, end = trail["ends"]
    assert end[0] - start[0] > 5  # eastwards, as it moved (40.20 -> 40.21)
    assert abs(end[0] - moved["pixel"][0]) < 1 and abs(end[1] - moved["pixel"][1]) < 1
    shot(page, "live-tracks-trail")
    # The layer can be hidden.
    page.locator("#tab-layers").click()
    page.locator('input[data-layer="tracks"]').uncheck()
    picture.wait_gone(page, layer="tracks")
    no_errors(page)
    page.close()


def test_a_map_on_a_server_without_tracks_asks_once(web_server: Running, browser_context: Any) -> None:
    asked: list[str] = []

    def seen(req: Request) -> None:
        if req.url.endswith("/v1/tracks"):
            asked.append(req.url)

    page = open_page(browser_context, web_server, None)
    page.on("request", seen)
    from tests.web.test_map_e2e import sign_in

    sign_in(page, web_server.tokens["russia"]["viewer"])
    page.wait_for_timeout(5_000)  # two polling periods and more
    assert len(asked) == 1, asked
    no_errors(page)
    page.close()
