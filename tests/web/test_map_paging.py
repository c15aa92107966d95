"""The map reads the whole picture when it is more than one page of
GET /v1/declarations (1,000): it follows X-Next-Cursor. Before, it drew the
first 1,000 declarations and silently left out the rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from deconflict.model import Point, Site, SiteCategory, Window
from deconflict.service.deconflict import Change
from tests.service.conftest import Running, start
from tests.web import picture
from tests.web.test_map_e2e import Shot, no_errors, open_page

EXTRA = 1_100


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    for running in start(tmp_path_factory.mktemp("paging") / "server.sqlite3", web=True):
        window = Window(datetime(2018, 2, 20, tzinfo=UTC), datetime(2018, 2, 21, tzinfo=UTC))
        sites = [Site(id=f"P{i:04d}", owner="sdf", window=window, category=SiteCategory.FORCES,
                      geometry=Point(44.0 + (i % 40) * 0.02, 36.0 + (i // 40) * 0.02), protection_m=50.0)
                 for i in range(EXTRA)]
        running.hotline.service.apply([Change(declaration=s) for s in sites])
        yield running


def test_the_map_loads_every_page_of_declarations(big_server: Running, browser_context: Any) -> None:
    page = open_page(browser_context, big_server, big_server.tokens["coalition"]["viewer"])
    with httpx.Client(base_url=big_server.url,
                      headers={"Authorization": f"Bearer {big_server.tokens['coalition']['viewer']}"}) as api:
        first = api.get("/v1/declarations")
        assert len(first.json()) == 1000 and first.headers["X-Next-Cursor"]  # more than one page
        rest = api.get("/v1/declarations", params={"cursor": first.headers["X-Next-Cursor"]})
        assert "X-Next-Cursor" not in rest.headers
        total = len(first.json()) + len(rest.json())
    page.wait_for_function("(n) => window.deconflict.state.declarations.length === n", arg=total)
    ids = page.evaluate("window.deconflict.state.declarations.map((d) => d.id)")
    assert len(set(ids)) == total > EXTRA
    assert {"P0000", f"P{EXTRA - 1:04d}", "S1"} <= set(ids)
    no_errors(page)
    page.close()


def test_a_crowded_picture_has_decluttered_labels_and_symbols(big_server: Running, browser_context: Any,
                                                              shot: Shot) -> None:
    """1,100 sites 2 km apart, seen from afar: every one is on the map, no two labels
    overlap (the ones that would are left out), and piled-up symbols become dots."""
    page = open_page(browser_context, big_server, big_server.tokens["coalition"]["viewer"])
    page.wait_for_function("(n) => window.deconflict.state.declarations.length > n", arg=EXTRA)
    page.evaluate("window.deconflict.setTime('2018-02-20T12:00:00Z')")
    page.evaluate("window.deconflict.setView([44.4, 36.27], 256 * 2 ** 9)")
    page.wait_for_timeout(400)
    on_map = len({f["id"] for f in picture.drawn(page, layer=list(picture.OBJECT_LAYERS))})
    assert on_map >= EXTRA, on_map
    drawn = page.evaluate("window.deconflict.decluttered()")
    boxes = [e["box"] for e in drawn if e["what"] == "label"]
    assert 0 < len(boxes) < EXTRA, len(boxes)  # most are left out: the view is crowded
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1]
    assert not overlaps, overlaps[:3]
    # Nor is a label written over a military symbol's frame.
    frames = [e["box"] for e in drawn if e["what"] == "symbol"]
    assert frames
    over = [(a, b) for a in boxes for b in frames
            if a[0] < b[2] - 2 and b[0] < a[2] - 2 and a[1] < b[3] - 2 and b[1] < a[3] - 2]
    assert not over, over[:3]
    assert len(picture.drawn(page, layer="symbols", dot=True)) > EXTRA // 2
    shot(page, "crowded-labels")
    no_errors(page)
    page.close()
