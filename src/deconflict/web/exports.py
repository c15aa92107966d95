"""The picture as files for GIS tools: ``GET /v1/export.geojson`` and ``GET /v1/export.kml``.

Every measure in force and the declarations the caller's party may see (all
of them for an administrator), exactly as ``GET /v1/declarations`` filters
them; the formats are :mod:`deconflict.codecs.geojson` (RFC 7946) and
:mod:`deconflict.codecs.kml`. Authentication comes first, as everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from deconflict.codecs import geojson, kml
from deconflict.service.auth import Action
from deconflict.service.hotline import Hotline
from deconflict.service.http import Who

GEOJSON_MEDIA_TYPE = "application/geo+json"


class _Cache:
    """The last export of each format for each party, valid while the service's state
    is at the same event: an export is linear in the picture (seconds for a KML of
    10,000 objects), and repeating one must not cost it again. What a party may see
    depends only on the state and the party, so the party is the key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = -1
        self.bodies: dict[tuple[str, str], bytes] = {}

    def get(self, seq: int, key: tuple[str, str], build: Callable[[], bytes]) -> bytes:
        with self.lock:
            if seq != self.seq:
                self.seq, self.bodies = seq, {}
            body = self.bodies.get(key)
        if body is None:
            body = build()  # outside the lock: exports of other parties go on meanwhile
            with self.lock:
                if seq == self.seq:
                    self.bodies[key] = body
        return body


def _export(request: Request, who: Who, fmt: str) -> bytes:
    who.require(Action.READ)
    hotline: Hotline = request.app.state.hotline
    cache: _Cache = request.app.state.export_cache
    service = hotline.service
    party = who.party if not who.is_admin else ""
    # The seq is read before the picture: a change in between makes the body newer
    # than its key, never older (it is then rebuilt at the next request).
    seq = service.seq

    def build() -> bytes:
        measures, decls = service.measures(), hotline.declarations(who)
        if fmt == "kml":
            return kml.document(measures, decls, name=f"Deconflict picture for {party or 'an administrator'}")
        return orjson.dumps(geojson.feature_collection(measures, decls))

    return cache.get(seq, (fmt, party), build)


def export_geojson(request: Request, who: Who) -> Response:
    """Measures in force and the declarations you may see, as an RFC 7946 FeatureCollection."""
    return Response(_export(request, who, "geojson"), media_type=GEOJSON_MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="deconflict.geojson"'})


def export_kml(request: Request, who: Who) -> Response:
    """Measures in force and the declarations you may see, as KML 2.2 (airspace as extruded volumes)."""
    return Response(_export(request, who, "kml"), media_type=kml.MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="deconflict.kml"'})


def add_routes(app: FastAPI) -> None:
    app.state.export_cache = _Cache()
    ok = {"description": "The file", "content": {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}}}}
    app.add_api_route("/v1/export.geojson", export_geojson, methods=["GET"], tags=["export"],
                      response_class=Response, responses={200: ok})
    app.add_api_route("/v1/export.kml", export_kml, methods=["GET"], tags=["export"], response_class=Response,
                      responses={200: {"description": "The file",
                                       "content": {kml.MEDIA_TYPE: {"schema": {"type": "string"}}}}})


__all__ = ["add_routes", "export_geojson", "export_kml"]
