"""OGC API - Features read with OWSLib's Features client against a real server on
loopback: landing page, conformance, collections, items with bbox, datetime,
limit and paging, single items; filtered by the caller's disclosure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import owslib.ogcapi
import pytest
from owslib.ogcapi.features import Features
from shapely.geometry import box, shape

from tests.codecs.test_rfc7946 import assert_rfc7946
from tests.service.conftest import Running, start

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start(tmp_path_factory.mktemp("ogc") / "server.sqlite3", web=True)


def features(r: Running, token: str | None) -> Features:
    """OWSLib's client with this token only. (OWSLib updates its module-wide default
    headers in place, so a token given to one client would go to every later one.)"""
    saved = dict(owslib.ogcapi.REQUEST_HEADERS)
    try:
        client = Features(f"{r.url}/ogc", headers={"Authorization": f"Bearer {token}"} if token else {})
        client.headers = dict(owslib.ogcapi.REQUEST_HEADERS)
    finally:
        owslib.ogcapi.REQUEST_HEADERS.clear()
        owslib.ogcapi.REQUEST_HEADERS.update(saved)
    return client


def ids(fc: dict[str, Any]) -> set[str]:
    return {f["id"] for f in fc["features"]}


def test_landing_conformance_and_collections(server: Running) -> None:
    api = features(server, server.tokens["russia"]["viewer"])
    rels = {link["rel"] for link in api.links}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    assert CORE in api.conformance()["conformsTo"]
    assert api.feature_collections() == ["declarations", "measures"]
    coll = api.collection("measures")
    assert coll["itemType"] == "feature" and coll["extent"]["temporal"]["interval"][0][0].endswith("Z")
    west, south, east, north = coll["extent"]["spatial"]["bbox"][0]
    assert 38 < west < east < 42 and 33 < south < north < 37
    assert api.api()["openapi"].startswith("3.")  # the service-desc link


def test_items_are_rfc_7946_and_filtered_by_disclosure(server: Running) -> None:
    russia = features(server, server.tokens["russia"]["viewer"]).collection_items("declarations", limit=1000)
    coalition = features(server, server.tokens["coalition"]["viewer"]).collection_items("declarations", limit=1000)
    assert "S4" in ids(coalition) and "S4" not in ids(russia)  # S4 is shared with the coalition only
    assert russia["numberMatched"] == russia["numberReturned"] == len(russia["features"])
    for f in coalition["features"]:
        assert_rfc7946(f["geometry"])
        assert {"start", "end", "owner", "kind", "label", "lower_m", "upper_m"} <= set(f["properties"])
    single = features(server, server.tokens["coalition"]["viewer"]).collection_item("declarations", "S4")
    assert single["id"] == "S4" and single["properties"]["owner"] == "sdf"
    with pytest.raises(RuntimeError, match="not found"):
        features(server, server.tokens["russia"]["viewer"]).collection_item("declarations", "S4")


def test_bbox_datetime_limit_and_paging(server: Running) -> None:
    api = features(server, server.admin)
    everything = api.collection_items("declarations", limit=1000)
    total = everything["numberMatched"]
    assert total >= 5
    pages, seen = 0, []
    page = api.collection_items("declarations", limit=2)
    while True:
        pages += 1
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        assert any(link["rel"] == "prev" for link in page["links"]) or pages == 1
        page = httpx.get(nxt[0], headers={"Authorization": f"Bearer {server.admin}"}).json()
    assert seen == sorted(seen) and len(seen) == total and pages == -(-total // 2)
    # bbox: every feature whose geometry meets the box (and none that is far from it) comes back.
    bb = (40.3, 35.3, 40.4, 35.4)
    inside = api.collection_items("declarations", bbox=list(bb), limit=1000)
    for f in everything["features"]:
        near = shape(f["geometry"]).intersects(box(*bb))
        far = shape(f["geometry"]).distance(box(*bb)) > 0.2
        if near:
            assert f["id"] in ids(inside)
        if far:
            assert f["id"] not in ids(inside)
    # datetime: an instant, a closed interval and open ends.
    at = "2018-02-07T20:05:00Z"
    now = api.collection_items("declarations", datetime_=at, limit=1000)
    for f in everything["features"]:
        active = f["properties"]["start"] <= at < f["properties"]["end"]
        assert (f["id"] in ids(now)) == active
    t = "2018-02-07T19:00:00Z"
    before = api.collection_items("declarations", datetime_=f"../{t}", limit=1000)
    after = api.collection_items("declarations", datetime_=f"{t}/", limit=1000)
    assert ids(before) == {f["id"] for f in everything["features"] if f["properties"]["start"] <= t}
    assert ids(after) == {f["id"] for f in everything["features"] if f["properties"]["end"] > t}
    assert ids(before) and ids(after) and ids(before) != ids(after)


def test_authentication_comes_first_and_bad_parameters_are_400(server: Running) -> None:
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/nope/items?limit=x"):
        r = httpx.get(f"{server.url}{path}")
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json"), path
    with pytest.raises(RuntimeError, match="Unauthenticated"):
        features(server, "dcf_not_a_token").collection_items("measures")
    h = {"Authorization": f"Bearer {server.admin}"}
    for query in ("limit=0", "limit=abc", "bbox=1,2,3", "bbox=10,50,20,40", "datetime=yesterday",
                  "datetime=2018-02-02T00:00:00Z/2018-02-01T00:00:00Z", "colour=red"):
        r = httpx.get(f"{server.url}/ogc/collections/declarations/items?{query}", headers=h)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["status"] == 400
    assert httpx.get(f"{server.url}/ogc/collections/nope", headers=h).status_code == 404
    r = httpx.get(f"{server.url}/ogc/collections/measures/items", headers=h)
    assert r.headers["content-type"] == "application/geo+json"


def test_bbox_across_the_antimeridian_is_two_boxes(server: Running) -> None:
    from deconflict.web.ogc import parse_bbox

    assert parse_bbox("170,-10,-170,10") == [(170.0, -10.0, 180.0, 10.0), (-180.0, -10.0, -170.0, 10.0)]


def test_bbox_over_selects_by_the_objects_reach_and_across_the_antimeridian() -> None:
    from deconflict.store.documents import decode_declaration
    from deconflict.web.ogc import _in_boxes, parse_bbox

    window = {"start": "2018-02-07T09:00:00Z", "end": "2018-02-07T10:00:00Z"}
    site = decode_declaration({"id": "S", "kind": "site", "owner": "x", "category": "protected",
                               "protection_m": 2000, "window": window,
                               "geometry": {"type": "Point", "coordinates": [40.0, 35.0]}})
    # 1 km east of the point is within its 2 km protection; 3 km is not (a degree of longitude is ~91 km here).
    assert _in_boxes(site, parse_bbox(f"{40.0 + 1 / 91},34.9,41,35.1"))
    assert not _in_boxes(site, parse_bbox(f"{40.0 + 3 / 91},34.9,41,35.1"))
    route = decode_declaration({"id": "M", "kind": "movement", "owner": "x", "window": window,
                                "geometry": {"type": "LineString", "coordinates": [[179.0, -17.0], [-179.0, -16.0]]}})
    assert _in_boxes(route, parse_bbox("-179.5,-17,-179.2,-16"))  # the part east of 180°
    assert _in_boxes(route, parse_bbox("179.5,-17,-179.5,-16"))  # a box across 180°
    assert not _in_boxes(route, parse_bbox("0,-17,1,-16"))
