"""The map: a static web app (``web/`` in the repository, built into ``static/``
by ``scripts/setup``) served at ``/`` next to the HTTP API.

The app talks only to this server's API with the member's bearer token, so it
sees exactly what that party may see; it loads nothing from anywhere else (the
base map is Natural Earth from the ``world-atlas`` npm package, bundled here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"

#: Everything the app needs is on this server: scripts only from here, no
#: inline script, connections only back to this origin, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate every time (cheap: ETag / Last-Modified), so an upgrade is seen at once.
    "Cache-Control": "no-cache",
}


class WebFiles(StaticFiles):
    """Static files with the security headers; only GET and HEAD, and any other
    method on a path no API route took is a 404 as before the map was mounted
    (not a 405 from here)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def built(static: Path = STATIC) -> bool:
    return (static / "index.html").is_file() and (static / "vendor" / "manifest.json").is_file()


#: Swagger UI as the build vendors it (web/build.mjs, from the swagger-ui-dist npm package).
SWAGGER_JS = "/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "/vendor/swagger-ui/swagger-ui.css"


def offline_docs(app: FastAPI) -> None:
    """``/docs`` from the vendored Swagger UI instead of FastAPI's default, which
    loads it from a CDN (a blank page offline)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from starlette.routing import BaseRoute, Route

    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
                                   swagger_js_url=SWAGGER_JS, swagger_css_url=SWAGGER_CSS,
                                   swagger_favicon_url="/favicon.svg",
                                   oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url)

    def replaced(route: BaseRoute) -> bool:
        return isinstance(route, Route) and route.path == "/docs"

    app.router.routes[:] = [r for r in app.router.routes if not replaced(r)]
    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)


def mount(app: FastAPI, static: Path | None = None, tiles: Sequence[Path] = ()) -> None:
    """Serve the map at ``/``. Call after every API route is added: a mount at
    the root takes whatever no earlier route did. The map's own read of the
    past, ``GET /v1/picture`` (:mod:`deconflict.web.api`), is added first, and
    the user's tile files (:mod:`deconflict.web.tiles`) at ``/tiles``."""
    from deconflict.web import api, exports, ogc
    from deconflict.web import tiles as tile_files

    tile_files.add_routes(app, [tile_files.open_tiles(p) for p in tiles])
    api.add_routes(app)
    exports.add_routes(app)  # GET /v1/export.geojson, /v1/export.kml
    ogc.add_routes(app)  # OGC API - Features at /ogc
    offline_docs(app)
    directory = static or STATIC
    if not built(directory):

        @app.get("/", include_in_schema=False)
        def not_built() -> PlainTextResponse:
            return PlainTextResponse(
                "The map is not built: run scripts/setup (npm ci and web/build.mjs). The API is at /v1 and /docs.",
                status_code=503,
            )

        return
    app.mount("/", WebFiles(directory=directory, html=True), name="web")


__all__ = ["CONTENT_SECURITY_POLICY", "STATIC", "WebFiles", "built", "mount"]
