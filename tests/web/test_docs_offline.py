"""/docs works with no network: Swagger UI comes from this server (vendored by the
build from the swagger-ui-dist npm package), checked in Debian's headless Chromium
with every request to any other origin refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import Running, start


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start(tmp_path_factory.mktemp("docs") / "server.sqlite3", web=True)


def test_swagger_ui_renders_every_operation_without_any_other_origin(
        server: Running, browser_context: Any, shot: Callable[[object, str], Path]) -> None:
    html = httpx.get(f"{server.url}/docs").text
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    page = browser_context.new_page()
    elsewhere: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(server.url):
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    try:
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".swagger-ui .information-container .title")
        page.wait_for_selector(".opblock-summary-path[data-path='/ogc/collections/{collection_id}/items']")
        spec = httpx.get(f"{server.url}/openapi.json").json()
        assert page.locator(".opblock").count() == sum(len(ops) for ops in spec["paths"].values())
        shot(page, "docs-offline")
    finally:
        page.close()
    assert elsewhere == []
