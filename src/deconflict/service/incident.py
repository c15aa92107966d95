"""The incident review: what the log says happened near a place in a time window.

Given a place, a radius and a scenario-time window ("a strike hit near 35.36N
40.32E at 20:05"), :func:`review` gathers from the log alone (verified first):

- the declarations and measures whose footprint comes within the radius and
  whose window overlaps the time window, with when each was recorded,
  withdrawn, and which parties could see it;
- the submits nearby (``activity.accepted``): verdict, override and reason;
- the notifications they caused, with their sent, delivered, acknowledged
  and objected times and comments;
- the incidents recorded there (``incident.*``);
- for every event cited, its hash and an inclusion proof to the latest
  signed checkpoint, so that a reader can check each line.

From one party's view (only what it could see) or the administrator's.
"Nearby" is decided on a local flat projection around the place (a report,
not a safety decision: the engine's checks are the geodesic ones).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from deconflict.store.events import Event, format_instant
from deconflict.store.protocol import Store

EARTH_M = 6_371_008.8
INCIDENT_TYPES = ("incident.reported", "incident.noted", "incident.closed")


@dataclass
class Place:
    lat: float
    lon: float
    radius_m: float

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        k = math.pi / 180 * EARTH_M
        return ((lon - self.lon) * k * math.cos(math.radians(self.lat)), (lat - self.lat) * k)

    def project_all(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        """:meth:`project` over an (N, 2) array of longitudes and latitudes (for ``shapely.transform``)."""
        k = math.pi / 180 * EARTH_M
        out = np.empty_like(lonlat)
        out[:, 0] = (lonlat[:, 0] - self.lon) * k * math.cos(math.radians(self.lat))
        out[:, 1] = (lonlat[:, 1] - self.lat) * k
        return out


@dataclass
class Item:
    """A declaration or measure near the place, as the log has it."""

    kind: str  # "declaration" | "measure"
    id: str
    doc: dict[str, Any]
    seq: int
    recorded_at: str
    withdrawn_at: str | None
    distance_m: float
    visible_to: str
    shape: BaseGeometry | None = None


@dataclass
class Review:
    place: Place
    start: datetime
    end: datetime
    party: str | None
    items: list[Item] = field(default_factory=list)
    submits: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: str = ""
    tree_size: int = 0
    proofs: dict[int, dict[str, Any]] = field(default_factory=dict)
    log_starts: str | None = None
    log_ends: str | None = None


def _positions(obj: Any) -> list[tuple[float, float]]:
    if isinstance(obj, list) and len(obj) >= 2 and all(isinstance(v, int | float) for v in obj[:2]):
        return [(float(obj[0]), float(obj[1]))]
    out: list[tuple[float, float]] = []
    if isinstance(obj, list):
        for v in obj:
            out += _positions(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            out += _positions(v)
    return out


def footprint(doc: dict[str, Any], place: Place) -> BaseGeometry | None:
    """The object's footprint in metres around the place: its geometries buffered by their radius."""
    parts: list[BaseGeometry] = []
    pad = max(float(doc.get(k) or 0) for k in ("protection_m", "effects_radius_m", "half_width_m", "radius_m")
              if isinstance(doc.get(k) or 0, int | float)) if doc else 0.0
    for key in ("geometry", "target", "route", "origin"):
        g = doc.get(key)
        if isinstance(g, dict) and "type" in g:
            try:
                parts.append(shapely.transform(shape(g), place.project_all))
            except (ValueError, TypeError, AttributeError):
                continue
    wps = doc.get("waypoints")
    if isinstance(wps, list) and wps:
        from shapely.geometry import LineString, Point

        pts = [place.project(*p) for w in wps for p in _positions(w.get("position") if isinstance(w, dict) else w)[:1]]
        if len(pts) >= 2:
            parts.append(LineString(pts))
        elif pts:
            parts.append(Point(pts[0]))
    if not parts:
        return None
    g = parts[0]
    for p in parts[1:]:
        g = g.union(p)
    return g.buffer(pad) if pad > 0 else g


def _window(doc: dict[str, Any]) -> tuple[str, str] | None:
    w = doc.get("window")
    if isinstance(w, dict) and isinstance(w.get("start"), str) and isinstance(w.get("end"), str):
        return w["start"], w["end"]
    return None


def _overlaps(doc: dict[str, Any], start: datetime, end: datetime) -> bool:
    w = _window(doc)
    if w is None:
        return True
    try:
        a, b = datetime.fromisoformat(w[0]), datetime.fromisoformat(w[1])
    except ValueError:
        return True
    return a <= end and b >= start


def _visible(doc: dict[str, Any], party: str | None) -> bool:
    share = doc.get("share_with", "all")
    return party is None or share == "all" or doc.get("owner") == party or (
        isinstance(share, list) and party in share)


def _who(doc: dict[str, Any]) -> str:
    share = doc.get("share_with", "all")
    if share == "all":
        return "all parties"
    names = [str(doc.get("owner", "?")), *(s for s in share if s != doc.get("owner"))] if isinstance(share, list) \
        else [str(doc.get("owner", "?"))]
    return ", ".join(names)


def review(store: Store, place: Place, start: datetime, end: datetime, party: str | None) -> Review:
    """Everything the log says about the place and window, as ``party`` could see it."""
    store.vouch()
    r = Review(place, start, end, party)
    r.log_starts, r.log_ends = store.log_span()
    near: dict[str, Item] = {}
    accepted: dict[str, dict[str, Any]] = {}
    notes: dict[str, dict[str, Any]] = {}
    cited: set[int] = set()

    def cite(e: Event, what: str, **extra: Any) -> None:
        cited.add(e.seq)
        r.timeline.append({"seq": e.seq, "at": format_instant(e.recorded_at), "type": e.type, "actor": e.actor,
                           "subject": e.subject, "what": what, **extra})

    for e in store.events():
        p = e.payload
        if e.type in ("declaration.declared", "measure.added"):
            kind = "declaration" if e.type == "declaration.declared" else "measure"
            if kind == "declaration" and not _visible(p, party):
                continue
            g = footprint(p, place)
            if g is None or not _overlaps(p, start, end):
                continue
            d = g.distance(shapely.transform(shape({"type": "Point", "coordinates": [place.lon, place.lat]}),
                                               place.project_all))
            if d > place.radius_m:
                continue
            near[e.subject] = Item(kind, e.subject, p, e.seq, format_instant(e.recorded_at), None, d,
                                   _who(p) if kind == "declaration" else "all parties", g)
            cite(e, f"{kind} {e.subject} ({p.get('kind')}, {p.get('label') or ''}) recorded by {p.get('owner')}; "
                    f"visible to {near[e.subject].visible_to}")
        elif e.type in ("declaration.withdrawn", "measure.withdrawn") and e.subject in near:
            near[e.subject].withdrawn_at = format_instant(e.recorded_at)
            cite(e, f"{e.subject} withdrawn")
        elif e.type == "activity.accepted" and e.subject in near:
            if party is not None and e.actor != party and not _visible(near[e.subject].doc, party):
                continue
            s = {"seq": e.seq, "at": format_instant(e.recorded_at), "id": e.subject, "by": e.actor,
                 "member": p.get("member"), "verdict": p.get("verdict"),
                 "overridden": bool((p.get("response") or {}).get("overridden")),
                 "override_reason": p.get("override_reason"),
                 "notified": (p.get("response") or {}).get("notified", []),
                 "findings": [(f.get("object", {}) or {}).get("id") or f.get("owner", "")
                              for f in (p.get("response") or {}).get("findings", [])]}
            accepted[e.subject] = s
            r.submits.append(s)
            cite(e, f"submit {e.subject} by {e.actor}: verdict {s['verdict']}"
                    + (f", OVERRIDDEN: {s['override_reason']}" if s["overridden"] else ""))
        elif e.type == "notification.sent" and p.get("subject") in accepted:
            if party is not None and p.get("party") != party and accepted[str(p.get("subject"))]["by"] != party:
                continue
            n = {"id": p.get("id"), "to": p.get("party"), "about": p.get("subject"), "kind": p.get("kind"),
                 "summary": p.get("summary"), "sent_at": format_instant(e.recorded_at), "seq": e.seq}
            notes[str(p.get("id"))] = n
            r.notifications.append(n)
            cite(e, f"notification {n['id']} to {n['to']} about {n['about']}")
        elif e.type.startswith("notification.") and str(p.get("id")) in notes:
            n = notes[str(p.get("id"))]
            what = e.type.split(".", 1)[1]
            n[f"{what}_at"] = format_instant(e.recorded_at)
            if what in ("acknowledged", "objected"):
                n["answer"], n["comment"] = what, p.get("comment", "")
            cite(e, f"notification {n['id']} {what} by {e.actor}" + (f": {p.get('comment')}" if p.get("comment")
                                                                      else ""))
        elif e.type in INCIDENT_TYPES:
            at = p.get("at") or {}
            if e.type == "incident.reported" and isinstance(at, dict):
                try:
                    x, y = place.project(float(at["lon"]), float(at["lat"]))
                except (KeyError, TypeError, ValueError):
                    continue
                if math.hypot(x, y) > place.radius_m + float(p.get("radius_m") or 0):
                    continue
                r.incidents.append({"id": e.subject, "by": e.actor, "at": format_instant(e.recorded_at),
                                    "time": p.get("time"), "description": p.get("description"), "steps": []})
                cite(e, f"incident {e.subject} reported by {e.actor}: {p.get('description')}")
            else:
                for inc in r.incidents:
                    if inc["id"] == e.subject:
                        inc["steps"].append({"at": format_instant(e.recorded_at), "by": e.actor, "type": e.type,
                                             "text": p.get("text", "")})
                        cite(e, f"incident {e.subject} {e.type.split('.', 1)[1]} by {e.actor}: {p.get('text', '')}")
    r.items = sorted(near.values(), key=lambda i: i.distance_m)
    cp = store.checkpoint()
    if cp is not None:
        r.tree_size, r.checkpoint = cp
        for seq in sorted(cited):
            ev = next(store.events(after_seq=seq - 1))
            r.proofs[seq] = {"hash": ev.hash, "inclusion": [base64.b64encode(h).decode("ascii")
                                                            for h in store.inclusion_proof(seq, r.tree_size)]}
    return r
