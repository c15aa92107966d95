"""Lists in pages with filters (issue 9): GET /v1/declarations returned every
declaration at once."""

from __future__ import annotations

import httpx

from deconflict.service.deconflict import Change
from deconflict.store.documents import decode_declaration
from tests.service.conftest import Running


def test_declarations_come_in_pages_with_a_cursor_and_filters(running: Running) -> None:
    docs = [decode_declaration({"kind": "site", "id": f"p-{i:04d}", "owner": "relief", "category": "protected",
                                "protection_m": 10,
                                "geometry": {"type": "Point", "coordinates": [30.0 + i * 0.01, 30.0]},
                                "window": {"start": f"2030-01-{1 + i % 20:02d}T00:00:00Z",
                                           "end": f"2030-01-{2 + i % 20:02d}T00:00:00Z"}}, "d")
            for i in range(250)]
    running.hotline.service.apply([Change(declaration=d) for d in docs])
    headers = {"Authorization": f"Bearer {running.tokens['relief']['viewer']}"}
    with httpx.Client(base_url=running.url, headers=headers) as c:
        seen: list[str] = []
        params: dict[str, str] = {"limit": "100", "owner": "relief", "kind": "site"}
        pages = 0
        while True:
            r = c.get("/v1/declarations", params=params)
            assert r.status_code == 200
            seen += [d["id"] for d in r.json()]
            pages += 1
            if "x-next-cursor" not in r.headers:
                break
            assert 'rel="next"' in r.headers["link"] and "owner=relief" in r.headers["link"]
            params = {**params, "cursor": r.headers["x-next-cursor"]}
        mine = sorted(d.id for d in docs) + sorted(d.id for d in running.scenario.declarations
                                                    if d.owner == "relief" and d.kind.value == "site")
        assert seen == sorted(set(mine)) and pages == 3
        boxed = c.get("/v1/declarations", params={"bbox": "30.995,29,31.105,31", "owner": "relief"}).json()
        assert [d["id"] for d in boxed] == [f"p-{i:04d}" for i in range(100, 111)]
        when = c.get("/v1/declarations", params={"start": "2030-01-05T00:00:00Z", "end": "2030-01-06T00:00:00Z",
                                                   "owner": "relief"}).json()
        assert {d["id"] for d in when} == {f"p-{i:04d}" for i in range(250) if i % 20 == 4}
        bad = c.get("/v1/declarations", params={"bbox": "1,2,3"})
        assert bad.status_code == 422 and bad.json()["field"] == "bbox"
        assert c.get("/v1/declarations", params={"limit": "0"}).json()["field"] == "limit"
