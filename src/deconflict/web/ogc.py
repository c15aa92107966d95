"""OGC API - Features (Part 1: Core) for reading the picture from GIS tools such as
QGIS or OWSLib: ``/ogc`` (landing page), ``/ogc/conformance``,
``/ogc/collections``, ``/ogc/collections/{declarations,measures}`` and their
``/items`` (``bbox``, ``datetime``, ``limit``, ``offset``, next and prev links)
and single items.

Read-only and filtered as every read is: the declarations the caller's party
may see (all for an administrator) and the measures in force; a bearer token is
needed for every path, the landing page included, and it is checked before
anything else is looked at. A declaration the caller may not see is 404, as
``GET /v1/declarations/{id}`` has it. Items are RFC 7946 GeoJSON
(:mod:`deconflict.codecs.geojson`).

``bbox`` over-selects, never under-selects: an object matches when its
geometry comes within its radius or half-width of the box (the box widened by
a conservative angle, :func:`deconflict.geo.bounds.cap_angle`). ``datetime``
matches objects whose window ``[start, end)`` meets the instant or the closed
interval. Invalid parameters are 400, as the standard asks.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from shapely.geometry import box, shape

from deconflict.codecs import geojson
from deconflict.errors import DeconflictError, NotFound
from deconflict.geo.bounds import cap_angle
from deconflict.model import Declaration, Fire, Flight, Measure, Movement, Polygon, Site
from deconflict.service.auth import Action
from deconflict.service.hotline import Hotline
from deconflict.service.http import Json, Who
from deconflict.store.documents import format_time, parse_time

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
#: Items per page when ``limit`` is not given, and the most a page may hold.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Longest accepted query parameter value (a bbox or an interval is far shorter).
MAX_PARAM_CHARS = 200
ALLOWED_PARAMS = frozenset({"bbox", "datetime", "limit", "offset", "f"})
COLLECTIONS = {
    "declarations": ("Declarations", "Sites, movements, flights and fires declared by the parties, as far as "
                                     "your party may see them."),
    "measures": ("Coordination measures", "Deconfliction lines, fire support and airspace coordination measures "
                                          "in force."),
}


class BadQuery(DeconflictError):
    """An invalid or unknown query parameter: 400, as OGC API - Features asks
    (it is not an ``InvalidInput``, which is 422 elsewhere in the API)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


# -- parameters ------------------------------------------------------------------------------------
def _check_params(request: Request) -> None:
    for name, value in request.query_params.multi_items():
        if name not in ALLOWED_PARAMS:
            raise BadQuery(name, f"unknown parameter; use {', '.join(sorted(ALLOWED_PARAMS - {'f'}))}")
        if len(value) > MAX_PARAM_CHARS:
            raise BadQuery(name, f"is longer than {MAX_PARAM_CHARS} characters")
    f = request.query_params.get("f")
    if f not in (None, "json", "geojson"):
        raise BadQuery("f", "only json (GeoJSON for items) is served")


def _int(text: str | None, name: str, default: int, lo: int, hi: int) -> int:
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()):
        raise BadQuery(name, f"must be a whole number from {lo} to {hi}, got {text!r}")
    v = int(text)
    if not lo <= v <= hi:
        raise BadQuery(name, f"must be from {lo} to {hi}, got {v}")
    return v


def parse_bbox(text: str) -> list[tuple[float, float, float, float]]:
    """lon/lat boxes (two when the box crosses the antimeridian, west > east)."""
    try:
        nums = [float(x) for x in text.split(",")]
    except ValueError:
        raise BadQuery("bbox", "is four numbers: west,south,east,north (degrees, CRS84)") from None
    if len(nums) == 6:  # with heights: the horizontal part is used
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise BadQuery("bbox", "is four numbers: west,south,east,north (degrees, CRS84)")
    west, south, east, north = nums
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise BadQuery("bbox", "needs -180 <= west, east <= 180 and -90 <= south <= north <= 90")
    if west <= east:
        return [(west, south, east, north)]
    return [(west, south, 180.0, north), (-180.0, south, east, north)]


def parse_datetime(text: str) -> tuple[datetime | None, datetime | None, bool]:
    """(start, end, instant): an instant, or a closed interval with open ends as '..' or ''."""
    if "/" not in text:
        t = _time(text)
        return t, t, True
    a, _, b = text.partition("/")
    start = None if a in ("", "..") else _time(a)
    end = None if b in ("", "..") else _time(b)
    if start is not None and end is not None and end < start:
        raise BadQuery("datetime", "the interval ends before it starts")
    return start, end, False


def _time(text: str) -> datetime:
    try:
        return parse_time(text, "datetime").astimezone(UTC)
    except (DeconflictError, OverflowError, ValueError):
        # OverflowError: 0001-01-01T00:00:00+14:00 is before the first UTC instant.
        raise BadQuery("datetime", f"{text!r} is not an RFC 3339 time with a timezone such as "
                                   "2018-02-07T20:00:00Z, nor an interval start/end ('..' for an open end)") from None


# -- matching -------------------------------------------------------------------------------------
def _reach_m(obj: Declaration | Measure) -> float:
    if isinstance(obj, Site):
        return obj.protection_m
    if isinstance(obj, Fire):
        return obj.effects_radius_m
    if isinstance(obj, Measure | Movement | Flight):
        return obj.half_width_m
    return 0.0


def _in_time(obj: Declaration | Measure, start: datetime | None, end: datetime | None, instant: bool) -> bool:
    w = obj.window
    if instant:
        assert start is not None
        return w.start <= start < w.end
    return (end is None or w.start <= end) and (start is None or w.end > start)


def _positions(obj: Declaration | Measure) -> list[tuple[float, float]]:
    """Every vertex of the object's main geometry (its waypoints for a 4D trajectory)."""
    if isinstance(obj, Movement | Flight) and obj.waypoints:
        return [(w.position.lon, w.position.lat) for w in obj.waypoints]
    g = obj.target if isinstance(obj, Fire) else obj.route if isinstance(obj, Movement) else obj.geometry
    assert g is not None
    return [p for ring in g.rings for p in ring] if isinstance(g, Polygon) else list(g.coords)


Box = tuple[float, float, float, float]


def _widened(boxes: list[Box], reach_m: float) -> list[Box]:
    pad = cap_angle(reach_m) if reach_m > 0 else 0.0
    out = []
    for west, south, east, north in boxes:
        lat_extent = min(90.0, max(abs(south), abs(north)) + pad)
        lon_pad = 180.0 if lat_extent >= 89.9 else pad / math.cos(math.radians(lat_extent))
        out.append((max(-180.0, west - lon_pad), max(-90.0, south - pad), min(180.0, east + lon_pad),
                    min(90.0, north + pad)))
    return out


def _in_boxes(obj: Declaration | Measure, boxes: list[Box]) -> bool:
    """Whether the object comes within its reach of a box. The vertices' own bounds rule
    most objects out with a few comparisons; an object spanning more than 180 degrees
    of longitude (one crossing the antimeridian) and every candidate are tested on
    their geometry as written, cut at the antimeridian."""
    query = _widened(boxes, _reach_m(obj))
    pts = _positions(obj)
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    lo_lon, hi_lon, lo_lat, hi_lat = min(lons), max(lons), min(lats), max(lats)
    if hi_lon - lo_lon <= 180.0 and not any(
            lo_lon <= e and w <= hi_lon and lo_lat <= n and s <= hi_lat for w, s, e, n in query):
        return False
    geometry = shape(_feature(obj)["geometry"])
    return any(geometry.intersects(box(*q)) for q in query)


# -- documents -----------------------------------------------------------------------------------
def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, mtype: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": mtype, "title": title}


def _objects(request: Request, who: Who, cid: str) -> list[Declaration | Measure]:
    who.require(Action.READ)
    hotline: Hotline = request.app.state.hotline
    if cid == "declarations":
        return sorted(hotline.declarations(who), key=lambda d: d.id)
    if cid == "measures":
        return sorted(hotline.service.measures(), key=lambda m: m.id)
    raise NotFound("collection", cid)


def _collection(request: Request, cid: str, objs: list[Declaration | Measure]) -> dict[str, Any]:
    title, description = COLLECTIONS[cid]
    base = _base(request)
    extent: dict[str, Any] = {}
    if objs:
        pts = [p for o in objs for p in _positions(o)]
        extent["spatial"] = {"bbox": [[min(p[0] for p in pts), min(p[1] for p in pts),
                                       max(p[0] for p in pts), max(p[1] for p in pts)]], "crs": CRS84}
        extent["temporal"] = {"interval": [[format_time(min(o.window.start for o in objs)),
                                            format_time(max(o.window.end for o in objs))]],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": cid, "title": title, "description": description, "itemType": "feature", "crs": [CRS84],
        "extent": extent,
        "links": [_link(f"{base}/collections/{cid}", "self", "application/json", title),
                  _link(f"{base}/collections/{cid}/items", "items", GEOJSON, f"{title} as GeoJSON")],
    }


def _feature(obj: Declaration | Measure) -> dict[str, Any]:
    if isinstance(obj, Measure):
        return geojson.encode_measure_feature(obj)
    return geojson.encode_declaration_feature(obj)


# -- routes ---------------------------------------------------------------------------------------
def landing(request: Request, who: Who) -> Json:
    """The landing page: links to the API definition, the conformance classes and the collections."""
    who.require(Action.READ)
    _check_params(request)
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return Json({
        "title": "Deconflict", "description": "The deconfliction picture: declarations and coordination measures.",
        "links": [_link(base, "self", "application/json", "This document"),
                  _link(f"{root}/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                        "The API definition"),
                  _link(f"{root}/docs", "service-doc", "text/html", "The API documentation"),
                  _link(f"{base}/conformance", "conformance", "application/json", "Conformance classes"),
                  _link(f"{base}/collections", "data", "application/json", "The collections")],
    })


def conformance(request: Request, who: Who) -> Json:
    """The OGC API - Features conformance classes implemented."""
    who.require(Action.READ)
    _check_params(request)
    return Json({"conformsTo": CONFORMANCE})


def collections(request: Request, who: Who) -> Json:
    """The collections: declarations and measures."""
    _check_params(request)
    base = _base(request)
    return Json({"links": [_link(f"{base}/collections", "self", "application/json", "The collections")],
                 "collections": [_collection(request, cid, _objects(request, who, cid)) for cid in COLLECTIONS]})


def collection(request: Request, who: Who, collection_id: str) -> Json:
    """One collection's description and extent."""
    objs = _objects(request, who, collection_id)
    _check_params(request)
    return Json(_collection(request, collection_id, objs))


def items(
    request: Request, who: Who, collection_id: str,
    bbox: Annotated[str | None, Query(description="west,south,east,north in degrees (CRS84); west > east "
                                                  "crosses the antimeridian")] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", description="An instant or a closed interval "
                                           "start/end, '..' for an open end (RFC 3339, with a timezone)")] = None,
    limit: Annotated[str | None, Query(description=f"Items per page, 1 to {MAX_LIMIT} (default "
                                                   f"{DEFAULT_LIMIT})")] = None,
    offset: Annotated[str | None, Query(description="Items to skip (the next and prev links set it)")] = None,
) -> Json:
    """The collection's items as a GeoJSON FeatureCollection, one page at a time."""
    objs = _objects(request, who, collection_id)
    _check_params(request)
    n = _int(limit, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    skip = _int(offset, "offset", 0, 0, 10**9)
    if datetime_ is not None:
        start, end, instant = parse_datetime(datetime_)
        objs = [o for o in objs if _in_time(o, start, end, instant)]
    if bbox is not None:
        boxes = parse_bbox(bbox)
        objs = [o for o in objs if _in_boxes(o, boxes)]
    page = [_feature(o) for o in objs[skip:skip + n]]  # only the page is written
    base = f"{_base(request)}/collections/{collection_id}/items"
    query = {k: v for k, v in (("bbox", bbox), ("datetime", datetime_)) if v is not None}

    def href(at: int) -> str:
        from urllib.parse import urlencode

        return f"{base}?{urlencode({**query, 'limit': n, 'offset': at})}"

    links = [_link(href(skip), "self", GEOJSON, "This page"),
             _link(f"{_base(request)}/collections/{collection_id}", "collection", "application/json",
                   "The collection")]
    if skip + n < len(objs):
        links.append(_link(href(skip + n), "next", GEOJSON, "The next page"))
    if skip > 0:
        links.append(_link(href(max(0, skip - n)), "prev", GEOJSON, "The previous page"))
    return Json({"type": "FeatureCollection", "features": page, "links": links,
                 "timeStamp": format_time(request.app.state.hotline.clock()),
                 "numberMatched": len(objs), "numberReturned": len(page)}, media_type=GEOJSON)


def item(request: Request, who: Who, collection_id: str, feature_id: str) -> Json:
    """One item as a GeoJSON Feature; 404 when it is missing or not shared with you."""
    objs = _objects(request, who, collection_id)
    _check_params(request)
    found = next((o for o in objs if o.id == feature_id), None)
    if found is None:
        raise NotFound(collection_id[:-1], feature_id)
    feat = _feature(found)
    base = f"{_base(request)}/collections/{collection_id}"
    feat["links"] = [_link(f"{base}/items/{feature_id}", "self", GEOJSON, "This item"),
                     _link(base, "collection", "application/json", "The collection")]
    return Json(feat, media_type=GEOJSON)


def add_routes(app: FastAPI) -> None:
    tags: list[str | Enum] = ["OGC API - Features"]
    app.add_api_route("/ogc", landing, methods=["GET"], tags=tags)
    # Clients join paths to the landing page's URL with a slash (OWSLib does);
    # the map's mount at / would take /ogc/ before any slash redirect.
    app.add_api_route("/ogc/", landing, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ogc/conformance", conformance, methods=["GET"], tags=tags)
    app.add_api_route("/ogc/collections", collections, methods=["GET"], tags=tags)
    app.add_api_route("/ogc/collections/{collection_id}", collection, methods=["GET"], tags=tags)
    app.add_api_route("/ogc/collections/{collection_id}/items", items, methods=["GET"], tags=tags)
    app.add_api_route("/ogc/collections/{collection_id}/items/{feature_id}", item, methods=["GET"], tags=tags)


__all__ = ["BadQuery", "add_routes", "parse_bbox", "parse_datetime"]
