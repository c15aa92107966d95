"""GET /v1/export.geojson and /v1/export.kml on a real server: what the caller's
party may see, as RFC 7946 GeoJSON and as schema-valid KML."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastkml.validator import get_schema_parser
from lxml import etree

from deconflict.codecs import geojson
from tests.codecs.test_rfc7946 import assert_rfc7946
from tests.service.conftest import Running, start

NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start(tmp_path_factory.mktemp("exports") / "server.sqlite3", web=True)


def get(r: Running, path: str, token: str | None) -> httpx.Response:
    return httpx.get(f"{r.url}{path}", headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=30)


def test_geojson_export_is_what_the_party_may_see_and_imports_again(server: Running) -> None:
    russia = get(server, "/v1/export.geojson", server.tokens["russia"]["viewer"])
    coalition = get(server, "/v1/export.geojson", server.tokens["coalition"]["viewer"])
    assert russia.status_code == coalition.status_code == 200
    assert russia.headers["content-type"] == "application/geo+json"
    seen = {f["id"] for f in russia.json()["features"]}
    assert "S4" not in seen and "S4" in {f["id"] for f in coalition.json()["features"]}
    for p, f in geojson.features(coalition.json()):
        assert_rfc7946(f["geometry"])
        geojson.decode_feature(f, p)  # what export writes, import reads


def test_kml_export_is_schema_valid_and_filtered(server: Running) -> None:
    r = get(server, "/v1/export.kml", server.tokens["russia"]["viewer"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.google-earth.kml+xml")
    root = etree.fromstring(r.content)
    schema = get_schema_parser()
    assert schema.validate(root), schema.error_log
    ids = {d.findtext("k:value", namespaces=NS) for d in root.iterfind(".//k:Data[@name='id']", NS)}
    assert "S1" in ids and "S4" not in ids and b"Khasham" not in r.content


@pytest.mark.parametrize("path", ["/v1/export.geojson", "/v1/export.kml"])
def test_exports_need_a_credential(server: Running, path: str) -> None:
    for token in (None, "dcf_nope_nope"):
        r = get(server, path, token)
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


def test_an_export_shows_a_change_made_after_the_last_one(server: Running) -> None:
    token = server.tokens["russia"]["planner"]
    before = {f["id"] for f in get(server, "/v1/export.geojson", token).json()["features"]}
    kml_before = get(server, "/v1/export.kml", token).content
    assert get(server, "/v1/export.kml", token).content == kml_before  # the same state: the same file
    site = {"kind": "site", "id": "EXP1", "category": "protected", "protection_m": 100,
            "geometry": {"type": "Point", "coordinates": [38.5, 36.9]},
            "window": {"start": "2018-03-01T00:00:00Z", "end": "2018-03-02T00:00:00Z"}}
    r = httpx.post(f"{server.url}/v1/activities", json={"activity": site}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    after = {f["id"] for f in get(server, "/v1/export.geojson", token).json()["features"]}
    assert after == before | {"russia:EXP1"}  # in russia's namespace (service/namespace.py)
    assert b"EXP1" in get(server, "/v1/export.kml", token).content
    # Another party's export is its own: the coalition sees S4, russia still does not.
    assert "S4" in {f["id"] for f in get(server, "/v1/export.geojson", server.tokens["coalition"]["viewer"]).json()[
        "features"]}
    assert "S4" not in {f["id"] for f in get(server, "/v1/export.geojson", token).json()["features"]}
