"""The picture as files for GIS tools: ``GET /v1/export.geojson`` and ``GET /v1/export.kml``.

Every measure in force and the declarations the caller's party may see (all
of them for an administrator), exactly as ``GET /v1/declarations`` filters
them; the formats are :mod:`deconflict.codecs.geojson` (RFC 7946) and
:mod:`deconflict.codecs.kml`. Authentication comes first, as everywhere.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from deconflict.codecs import geojson, kml
from deconflict.service.auth import Action
from deconflict.service.hotline import Hotline
from deconflict.service.http import Who

GEOJSON_MEDIA_TYPE = "application/geo+json"


def _picture(request: Request, who: Who) -> tuple[list[Any], list[Any], str]:
    who.require(Action.READ)
    hotline: Hotline = request.app.state.hotline
    name = f"Deconflict picture for {who.party or 'an administrator'}"
    return hotline.service.measures(), hotline.declarations(who), name


def export_geojson(request: Request, who: Who) -> Response:
    """Measures in force and the declarations you may see, as an RFC 7946 FeatureCollection."""
    measures, decls, _name = _picture(request, who)
    body = orjson.dumps(geojson.feature_collection(measures, decls))
    return Response(body, media_type=GEOJSON_MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="deconflict.geojson"'})


def export_kml(request: Request, who: Who) -> Response:
    """Measures in force and the declarations you may see, as KML 2.2 (airspace as extruded volumes)."""
    measures, decls, name = _picture(request, who)
    return Response(kml.document(measures, decls, name=name), media_type=kml.MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="deconflict.kml"'})


def add_routes(app: FastAPI) -> None:
    ok = {"description": "The file", "content": {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}}}}
    app.add_api_route("/v1/export.geojson", export_geojson, methods=["GET"], tags=["export"],
                      response_class=Response, responses={200: ok})
    app.add_api_route("/v1/export.kml", export_kml, methods=["GET"], tags=["export"], response_class=Response,
                      responses={200: {"description": "The file",
                                       "content": {kml.MEDIA_TYPE: {"schema": {"type": "string"}}}}})


__all__ = ["add_routes", "export_geojson", "export_kml"]
