"""The canonical JSON documents of the model (the scenario format's objects), both ways.

The store keeps events in this form and every codec builds on it.

Decoding refuses what it does not understand, by field path: a misspelt
``effect_radius_m`` must not silently become a fire with no effects radius.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn, TypeVar

from deconflict.errors import InvalidInput
from deconflict.geo import mgrs
from deconflict.model import (
    Altitude,
    AltitudeBand,
    Binds,
    Contact,
    Declaration,
    DeclarationKind,
    FacilityType,
    Fire,
    Flight,
    Geometry,
    HumanitarianDetails,
    LineString,
    Measure,
    MeasureKind,
    Movement,
    Party,
    PartyKind,
    Point,
    Polygon,
    ShareWith,
    Side,
    Site,
    SiteCategory,
    Vehicles,
    Waypoint,
    Window,
)
from deconflict.model.declaration import DEFAULT_TRAJECTORY_HALF_WIDTH_M
from deconflict.model.geometry import GEOMETRY_TYPES, Position, unsupported
from deconflict.model.limits import MAX_VERTICES_PER_SHAPE, MAX_WAYPOINTS
from deconflict.model.measure import DEFAULT_LINE_APPLICATION_M, DEFAULT_LINE_APPLIES_TO, BindsMode
from deconflict.model.units import ALTITUDE_TOLERANCE_M, Datum, LengthUnit

JSON = dict[str, Any]
T = TypeVar("T")

#: Keys every object may carry for people, ignored by the engine.
FREE_TEXT_KEYS = frozenset({"comment", "note"})


class Doc:
    """A JSON object being decoded, with its path for error messages."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidInput(path or "(document)", f"must be an object, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.path = path
        self.used: set[str] = set(FREE_TEXT_KEYS)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, reason: str) -> NoReturn:
        raise InvalidInput(self.at(key), reason)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            self.fail(key, "is required")
        return self.data[key]

    def opt(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def text(self, key: str, default: str | None = None) -> str:
        v = self.opt(key) if default is not None else self.raw(key)
        if v is None:
            return default or ""
        if not isinstance(v, str):
            self.fail(key, f"must be a string, got {type(v).__name__}")
        return v

    def num(self, key: str, default: float | None = None) -> float:
        v = self.opt(key) if default is not None else self.raw(key)
        if v is None:
            assert default is not None
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(key, f"must be a number, got {v!r}")
        f = float(v)
        if not math.isfinite(f):
            self.fail(key, f"must be a finite number, got {v}")
        return f

    def sub(self, key: str) -> Doc:
        return Doc(self.raw(key), self.at(key))

    def choice(self, key: str, enum: Callable[[str], T], options: list[str], default: T | None = None) -> T:
        v = self.opt(key) if default is not None else self.raw(key)
        if v is None:
            assert default is not None
            return default
        try:
            return enum(v)
        except ValueError:
            self.fail(key, f"{v!r} is not one of: {', '.join(options)}")

    def guard(self, key: str, build: Callable[[], T]) -> T:
        """Run a model constructor, re-rooting its errors at ``key`` here."""
        try:
            return build()
        except InvalidInput as exc:
            raise exc.within(self.at(key) if key else self.path) from None

    def finish(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            self.fail(extra[0], "unknown field" + (f" (also: {', '.join(extra[1:])})" if extra[1:] else ""))


# -- scalars -------------------------------------------------------------------
def parse_time(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(field, f"a time is an ISO 8601 string in UTC, got {value!r}")
    try:
        t = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not an ISO 8601 time such as 2018-02-07T20:00:00Z") from None
    if t.tzinfo is None:
        raise InvalidInput(field, f"{value!r} has no timezone; add Z for UTC")
    return t


@functools.lru_cache(maxsize=4096)
def format_time(t: datetime) -> str:
    # Cached: a check's findings repeat the same few window edges, and formatting
    # them was 5 % of a busy server's time.
    return t.isoformat().replace("+00:00", "Z")


def decode_window(data: object, path: str) -> Window:
    d = Doc(data, path)
    start = parse_time(d.raw("start"), d.at("start"))
    end = parse_time(d.raw("end"), d.at("end"))
    d.finish()
    return d.guard("", lambda: Window(start, end))


def encode_window(w: Window) -> JSON:
    return {"start": format_time(w.start), "end": format_time(w.end)}


def _altitude(d: Doc, key: str) -> Altitude | None:
    """``key_m``, ``key_ft`` or ``key`` = {value, unit, datum}."""
    datum = d.choice("datum", Datum, [x.value for x in Datum], Datum.AMSL)
    present = [k for k in (f"{key}_m", f"{key}_ft", key) if d.has(k)]
    if len(present) > 1:
        d.fail(present[1], f"give the {key} altitude once (also given as {present[0]})")
    if not present:
        return None
    k = present[0]
    if k.endswith("_m"):
        return Altitude(d.num(k), LengthUnit.METRE, datum)
    if k.endswith("_ft"):
        return Altitude(d.num(k), LengthUnit.FOOT, datum)
    sub = d.sub(k)
    alt = Altitude(
        sub.num("value"),
        sub.choice("unit", LengthUnit, [u.value for u in LengthUnit], LengthUnit.METRE),
        sub.choice("datum", Datum, [x.value for x in Datum], datum),
    )
    sub.finish()
    return alt


def decode_band(data: object, path: str) -> AltitudeBand:
    d = Doc(data, path)
    lower = _altitude(d, "lower")
    upper = _altitude(d, "upper")
    if lower is None:
        d.fail("lower_m", "is required (or lower_ft)")
    if upper is None:
        d.fail("upper_m", "is required (or upper_ft)")
    d.finish()
    if lower.metres > upper.metres + ALTITUDE_TOLERANCE_M:
        d.fail("lower_m" if d.has("lower_m") else "lower", f"lower altitude {lower} is above upper altitude {upper}")
    return AltitudeBand(lower, upper)


def encode_altitude(a: Altitude) -> JSON:
    return {"value": a.value, "unit": a.unit.value, "datum": a.datum.value}


def encode_band(b: AltitudeBand) -> JSON:
    if b.lower.unit is b.upper.unit and b.lower.datum is Datum.AMSL and b.upper.datum is Datum.AMSL:
        u = b.lower.unit.value
        return {f"lower_{u}": b.lower.value, f"upper_{u}": b.upper.value}
    return {"lower": encode_altitude(b.lower), "upper": encode_altitude(b.upper)}


# -- geometry ------------------------------------------------------------------
def _position(value: object, field: str) -> Position:
    if isinstance(value, str):
        return mgrs.parse(value, field)
    if isinstance(value, (list, tuple)):
        if len(value) not in (2, 3):
            raise InvalidInput(field, f"a position is [longitude, latitude], got {value!r}")
        return (value[0], value[1])  # checked by the model
    raise InvalidInput(field, f"a position is [longitude, latitude] or an MGRS string, got {value!r}")


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(field, f"must be an array, got {type(value).__name__}")
    if not value:
        raise InvalidInput(field, "empty geometry")
    return value


def decode_geometry(data: object, path: str, allowed: tuple[str, ...] = GEOMETRY_TYPES) -> Geometry:
    """A GeoJSON geometry, an ``{"mgrs": ...}`` point, or an MGRS string."""
    if isinstance(data, str):
        if "Point" not in allowed:
            raise unsupported("MGRS point", path, allowed)
        lon, lat = mgrs.parse(data, path)
        return Point(lon, lat)
    d = Doc(data, path)
    if d.has("mgrs"):
        if "Point" not in allowed:
            raise unsupported("MGRS point", path, allowed)
        lon, lat = mgrs.parse(d.raw("mgrs"), d.at("mgrs"))
        d.finish()
        return Point(lon, lat)
    gtype = d.raw("type")
    coords = d.opt("coordinates")
    d.opt("bbox")
    d.finish()
    if gtype not in allowed:
        raise unsupported(gtype, d.at("type"), allowed)
    if coords is None:
        d.fail("coordinates", "is required")
    cpath = d.at("coordinates")
    if gtype == "Point":
        if isinstance(coords, list) and not coords:
            raise InvalidInput(cpath, "empty geometry")
        lon, lat = _position(coords, cpath)
        return d.guard("", lambda: Point(lon, lat))
    if isinstance(coords, list):
        _vertex_limit(coords, cpath, nested=gtype == "Polygon")
    if gtype == "LineString":
        pts = tuple(_position(p, f"{cpath}[{i}]") for i, p in enumerate(_list(coords, cpath)))
        return d.guard("", lambda: LineString(pts))
    rings = tuple(
        tuple(_position(p, f"{cpath}[{k}][{i}]") for i, p in enumerate(_list(r, f"{cpath}[{k}]")))
        for k, r in enumerate(_list(coords, cpath))
    )
    return d.guard("", lambda: Polygon(rings))


def _vertex_limit(coords: list[Any], cpath: str, *, nested: bool) -> None:
    """Refuse a shape over MAX_VERTICES_PER_SHAPE before its positions are decoded."""
    n = sum(len(r) if isinstance(r, list) else 1 for r in coords) if nested else len(coords)
    if n > MAX_VERTICES_PER_SHAPE:
        raise InvalidInput(cpath, f"has {n:,} positions; a shape may have at most {MAX_VERTICES_PER_SHAPE:,}")


def encode_geometry(g: Geometry) -> JSON:
    if isinstance(g, Point):
        return {"type": "Point", "coordinates": [g.lon, g.lat]}
    if isinstance(g, LineString):
        return {"type": "LineString", "coordinates": [list(p) for p in g.coords]}
    return {"type": "Polygon", "coordinates": [[list(p) for p in r] for r in g.rings]}


# -- parties -------------------------------------------------------------------
def decode_party(data: object, path: str) -> Party:
    d = Doc(data, path)
    pid = d.text("id")
    name = d.text("name", default=pid)
    kind = d.choice("kind", PartyKind, [k.value for k in PartyKind], PartyKind.OTHER)
    d.finish()
    return d.guard("", lambda: Party(pid, name, kind))


def encode_party(p: Party) -> JSON:
    return {"id": p.id, "name": p.name, "kind": p.kind.value}


def _party_list(value: object, field: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise InvalidInput(field, f"must be 'all' or a list of party ids, got {value!r}")
    return frozenset(value)


# -- declarations --------------------------------------------------------------
_KINDS = [k.value for k in DeclarationKind]


def _waypoints(d: Doc, flight: bool) -> tuple[Waypoint, ...]:
    raw = _list(d.raw("waypoints"), d.at("waypoints"))
    if len(raw) > MAX_WAYPOINTS:
        raise InvalidInput(d.at("waypoints"), f"has {len(raw):,} waypoints; a trajectory may have at most "
                                              f"{MAX_WAYPOINTS:,}")
    out = []
    for i, item in enumerate(raw):
        w = Doc(item, d.at(f"waypoints[{i}]"))
        if w.has("position"):
            geom = decode_geometry(w.raw("position"), w.at("position"), ("Point",))
        else:
            geom = decode_geometry({"type": "Point", "coordinates": w.raw("coordinates")}, w.at("coordinates"),
                                   ("Point",))
        assert isinstance(geom, Point)
        t = parse_time(w.raw("time"), w.at("time"))
        alt = _altitude(w, "altitude") if flight else None
        w.finish()
        try:
            out.append(Waypoint(geom, t, alt))
        except InvalidInput as exc:
            raise exc.within(w.path) from None
    return tuple(out)


def decode_declaration(
    data: object, path: str = "", *, owner: str | None = None, default_id: str | None = None
) -> Declaration:
    """A declaration document. ``owner``/``default_id`` fill in for activities
    under check, which name neither."""
    d = Doc(data, path)
    kind = d.choice("kind", DeclarationKind, _KINDS)
    did = d.text("id") if (default_id is None or d.has("id")) else default_id
    own = owner if owner is not None and not d.has("owner") else d.text("owner")
    if owner is not None and own != owner:
        d.fail("owner", f"is {own!r} but the activity is checked by {owner!r}")
    label = d.text("label", default="")
    share_raw = d.opt("share_with")
    share = ShareWith.all()
    if share_raw is not None and share_raw != "all":
        share = ShareWith.only(_party_list(share_raw, d.at("share_with")))
    window_needed = not d.has("waypoints")
    window = decode_window(d.raw("window"), d.at("window")) if window_needed or d.has("window") else None
    common: dict[str, Any] = {"id": did, "owner": own, "label": label, "share_with": share,
                              "sidc": d.text("sidc", default=""), "designation": d.text("designation", default="")}

    def build(cls: Callable[..., Declaration], **kw: Any) -> Declaration:
        d.finish()
        return d.guard("", lambda: cls(**common, **kw))

    if kind is DeclarationKind.SITE:
        assert window is not None
        return build(
            Site,
            window=window,
            geometry=decode_geometry(d.raw("geometry"), d.at("geometry")),
            category=d.choice("category", SiteCategory, [c.value for c in SiteCategory]),
            protection_m=d.num("protection_m", 0.0),
            people_present=_opt_bool(d, "people_present"),
            facility=_opt_facility(d),
            details=_opt_details(d),
        )
    if kind is DeclarationKind.MOVEMENT:
        hw = d.num("half_width_m", 0.0)
        details = _opt_details(d)
        if d.has("waypoints"):
            wps = _waypoints(d, flight=False)
            win = _waypoint_window(d, wps, window)
            return build(Movement, window=win, waypoints=wps, half_width_m=hw, details=details)
        route = decode_geometry(d.raw("geometry"), d.at("geometry"), ("LineString",))
        assert window is not None and isinstance(route, LineString)
        return build(Movement, window=window, route=route, half_width_m=hw, details=details)
    if kind is DeclarationKind.FLIGHT:
        hw = d.num("half_width_m", 0.0)
        band = decode_band(d.raw("altitude"), d.at("altitude")) if d.has("altitude") else None
        d.used.add("altitude")
        if d.has("waypoints"):
            wps = _waypoints(d, flight=True)
            win = _waypoint_window(d, wps, window)
            return build(Flight, window=win, waypoints=wps, half_width_m=hw, altitude=band)
        geom = decode_geometry(d.raw("geometry"), d.at("geometry"))
        assert window is not None
        return build(Flight, window=window, geometry=geom, half_width_m=hw, altitude=band)
    # fire
    assert window is not None
    target = decode_geometry(d.raw("target"), d.at("target"), ("Point", "Polygon"))
    origin = decode_geometry(d.raw("origin"), d.at("origin"), ("Point",)) if d.has("origin") else None
    d.used.add("origin")
    max_ord = _altitude(d, "max_ordinate")
    assert isinstance(target, (Point, Polygon)) and (origin is None or isinstance(origin, Point))
    return build(
        Fire,
        window=window,
        target=target,
        effects_radius_m=d.num("effects_radius_m"),
        origin=origin,
        max_ordinate=max_ord,
        trajectory_half_width_m=d.num("trajectory_half_width_m", DEFAULT_TRAJECTORY_HALF_WIDTH_M),
    )


def _opt_facility(d: Doc) -> FacilityType | None:
    if not d.has("facility"):
        d.used.add("facility")
        return None
    return d.choice("facility", FacilityType, _FACILITIES)


def _opt_details(d: Doc) -> HumanitarianDetails | None:
    if not d.has("details"):
        d.used.add("details")
        return None
    return decode_details(d.raw("details"), d.at("details"))


# -- humanitarian details ------------------------------------------------------
_FACILITIES = [f.value for f in FacilityType]


def _short(d: Doc, key: str) -> str:
    return d.text(key, default="")


def _count(d: Doc, key: str) -> int:
    v = d.raw(key)
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        d.fail(key, f"must be a whole number, got {v!r}")
    return v


def decode_details(data: object, path: str) -> HumanitarianDetails:
    """``details`` of a site or movement: contact, organisation, people, vehicles, cargo, remarks."""
    d = Doc(data, path)
    contact = None
    if d.has("contact"):
        c = d.sub("contact")
        fields = {k: _short(c, k) for k in ("name", "phone", "radio", "email")}
        c.finish()
        contact = c.guard("", lambda: Contact(**fields))
    else:
        d.used.add("contact")
    vehicles = None
    if d.has("vehicles"):
        v = d.sub("vehicles")
        count = _count(v, "count")
        plates_raw = v.opt("plates") or []
        if not isinstance(plates_raw, list):
            v.fail("plates", f"must be a list of strings, got {type(plates_raw).__name__}")
        for i, plate in enumerate(plates_raw):
            if not isinstance(plate, str):
                v.fail(f"plates[{i}]", f"must be a string, got {type(plate).__name__}")
        markings = _short(v, "markings")
        v.finish()
        vehicles = v.guard("", lambda: Vehicles(count=count, plates=tuple(plates_raw), markings=markings))
    else:
        d.used.add("vehicles")
    people = _count(d, "people") if d.has("people") else None
    d.used.add("people")
    organisation = _short(d, "organisation")
    cargo = _short(d, "cargo")
    remarks = _short(d, "remarks")
    d.finish()
    return d.guard("", lambda: HumanitarianDetails(
        contact=contact, organisation=organisation, people=people, vehicles=vehicles, cargo=cargo, remarks=remarks))


def encode_details(det: HumanitarianDetails) -> JSON:
    """Only what was given: an empty field is left out, so a round trip is exact."""
    out: JSON = {}
    if det.contact is not None:
        fields = ("name", "phone", "radio", "email")
        out["contact"] = {k: getattr(det.contact, k) for k in fields if getattr(det.contact, k)}
    if det.organisation:
        out["organisation"] = det.organisation
    if det.people is not None:
        out["people"] = det.people
    if det.vehicles is not None:
        veh: JSON = {"count": det.vehicles.count}
        if det.vehicles.plates:
            veh["plates"] = list(det.vehicles.plates)
        if det.vehicles.markings:
            veh["markings"] = det.vehicles.markings
        out["vehicles"] = veh
    if det.cargo:
        out["cargo"] = det.cargo
    if det.remarks:
        out["remarks"] = det.remarks
    return out


def _opt_bool(d: Doc, key: str) -> bool | None:
    v = d.opt(key)
    if v is not None and not isinstance(v, bool):
        d.fail(key, f"must be true or false, got {v!r}")
    return v


def _waypoint_window(d: Doc, wps: tuple[Waypoint, ...], window: Window | None) -> Window:
    if len(wps) < 2:
        d.fail("waypoints", "a 4D trajectory needs at least two waypoints")
    for i in range(1, len(wps)):
        if wps[i].time <= wps[i - 1].time:
            d.fail(f"waypoints[{i}].time", "waypoint times must strictly increase")
    win = d.guard("waypoints", lambda: Window(wps[0].time, wps[-1].time))
    if window is not None and window != win:
        d.fail("window", "must equal the first and last waypoint times (or be left out)")
    return win


def encode_declaration(decl: Declaration) -> JSON:
    out: JSON = {"id": decl.id, "kind": decl.kind.value, "owner": decl.owner}
    if decl.label:
        out["label"] = decl.label
    if decl.sidc:
        out["sidc"] = decl.sidc
    if decl.designation:
        out["designation"] = decl.designation
    if isinstance(decl, Site):
        out.update(
            category=decl.category.value,
            geometry=encode_geometry(decl.geometry),
            protection_m=decl.protection_m,
        )
        if decl.people_present is not None:
            out["people_present"] = decl.people_present
        if decl.facility is not None:
            out["facility"] = decl.facility.value
    elif isinstance(decl, Movement):
        if decl.waypoints:
            out["waypoints"] = [_encode_waypoint(w) for w in decl.waypoints]
        else:
            assert decl.route is not None
            out["geometry"] = encode_geometry(decl.route)
        out["half_width_m"] = decl.half_width_m
    elif isinstance(decl, Flight):
        if decl.waypoints:
            out["waypoints"] = [_encode_waypoint(w) for w in decl.waypoints]
        else:
            assert decl.geometry is not None
            out["geometry"] = encode_geometry(decl.geometry)
        out["half_width_m"] = decl.half_width_m
        if decl.altitude is not None:
            out["altitude"] = encode_band(decl.altitude)
    else:
        out["target"] = encode_geometry(decl.target)
        out["effects_radius_m"] = decl.effects_radius_m
        if decl.origin is not None and decl.max_ordinate is not None:
            out["origin"] = encode_geometry(decl.origin)
            out["max_ordinate"] = encode_altitude(decl.max_ordinate)
            out["trajectory_half_width_m"] = decl.trajectory_half_width_m
    if not decl.waypoints if isinstance(decl, (Movement, Flight)) else True:
        out["window"] = encode_window(decl.window)
    if isinstance(decl, (Site, Movement)) and decl.details is not None:
        out["details"] = encode_details(decl.details)
    out["share_with"] = "all" if decl.share_with.everyone else sorted(decl.share_with.parties)
    return out


def _encode_waypoint(w: Waypoint) -> JSON:
    out: JSON = {"coordinates": [w.position.lon, w.position.lat], "time": format_time(w.time)}
    if w.altitude is not None:
        out["altitude"] = encode_altitude(w.altitude)
    return out


# -- measures ------------------------------------------------------------------
_MEASURE_KINDS = [k.value for k in MeasureKind]


def decode_measure(data: object, path: str = "") -> Measure:
    d = Doc(data, path)
    mid = d.text("id")
    kind = d.choice("kind", MeasureKind, _MEASURE_KINDS)
    owner = d.text("owner")
    label = d.text("label", default="")
    geometry = decode_geometry(d.raw("geometry"), d.at("geometry"))
    window = decode_window(d.raw("window"), d.at("window"))
    sides: list[tuple[str, Side]] = []
    if d.has("sides"):
        s = Doc(d.raw("sides"), d.at("sides"))
        for party in sorted(s.data):
            sides.append((party, s.choice(party, Side, ["left", "right"])))
        s.finish()
    else:
        d.used.add("sides")
    binds = _binds(d)
    applies_to = DEFAULT_LINE_APPLIES_TO
    if d.has("applies_to"):
        raw = d.raw("applies_to")
        if not isinstance(raw, list) or not raw:
            d.fail("applies_to", f"must be a non-empty list of: {', '.join(_KINDS)}")
        applies_to = frozenset(
            Doc({"k": v}, d.at(f"applies_to[{i}]")).choice("k", DeclarationKind, _KINDS)
            for i, v in enumerate(raw)
        )
    else:
        d.used.add("applies_to")
    band = decode_band(d.raw("altitude"), d.at("altitude")) if d.has("altitude") else None
    d.used.add("altitude")
    hw = d.num("half_width_m", 0.0)
    application_m = d.num("application_m", DEFAULT_LINE_APPLICATION_M)
    application_area = None
    if d.has("application_area"):
        area = decode_geometry(d.raw("application_area"), d.at("application_area"))
        if not isinstance(area, Polygon):
            d.fail("application_area", f"must be a Polygon, got {area.type}")
        application_area = area
    else:
        d.used.add("application_area")
    d.finish()
    return d.guard(
        "",
        lambda: Measure(
            id=mid,
            kind=kind,
            owner=owner,
            geometry=geometry,
            window=window,
            label=label,
            binds=binds,
            sides=tuple(sides),
            applies_to=applies_to,
            altitude=band,
            half_width_m=hw,
            application_m=application_m,
            application_area=application_area,
        ),
    )


def _binds(d: Doc) -> Binds:
    raw = d.opt("binds")
    if raw is None or raw == "all":
        return Binds(BindsMode.ALL)
    if raw == "all_but_owner":
        return Binds(BindsMode.ALL_BUT_OWNER)
    if isinstance(raw, str):
        d.fail("binds", f"{raw!r} is not 'all', 'all_but_owner' or a list of party ids")
    return Binds(BindsMode.LISTED, _party_list(raw, d.at("binds")))


def encode_measure(m: Measure) -> JSON:
    out: JSON = {"id": m.id, "kind": m.kind.value, "owner": m.owner}
    if m.label:
        out["label"] = m.label
    out["geometry"] = encode_geometry(m.geometry)
    if m.sides:
        out["sides"] = {p: s.value for p, s in m.sides}
    else:
        out["binds"] = (
            sorted(m.binds.parties) if m.binds.mode is BindsMode.LISTED else m.binds.mode.value
        )
    if m.kind is MeasureKind.DECONFLICTION_LINE:
        out["applies_to"] = sorted(k.value for k in m.applies_to)
    if m.altitude is not None:
        out["altitude"] = encode_band(m.altitude)
    if m.half_width_m:
        out["half_width_m"] = m.half_width_m
    if m.kind.is_line:
        if m.application_area is not None:
            out["application_area"] = encode_geometry(m.application_area)
        else:
            out["application_m"] = m.application_m
    out["window"] = encode_window(m.window)
    return out
