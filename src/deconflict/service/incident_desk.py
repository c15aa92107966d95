"""Incidents recorded by the parties over the API: reported, noted, closed.

Each step is an event in the log (``incident.reported``, ``incident.noted``,
``incident.closed``), as ``deconflict incident open/note/close`` records it,
so the review (service/incident.py) and every receipt cover it. A party
member who may act (planner, liaison) reports an incident with its place,
time and description; any party may add a note (the accused party answers
there); only the reporting party closes it, once. What the desk knows of
open incidents is read from the log under the writer's lock, so several
service processes agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from deconflict.errors import AlreadyDecided, AlreadyExists, InvalidInput, NotFound
from deconflict.model.party import check_id
from deconflict.service import receipts
from deconflict.service.auth import Action, Forbidden, Principal
from deconflict.store.documents import parse_time
from deconflict.store.events import EventDraft

REPORTED, NOTED, CLOSED = "incident.reported", "incident.noted", "incident.closed"
#: Longest description or note kept (a report, not a file store).
MAX_TEXT = 10_000
#: Largest radius an incident may name: a place, not a theatre.
MAX_RADIUS_M = 100_000.0


@dataclass
class _Known:
    reporter: str
    closed: bool = False


def _text(body: dict[str, Any], field: str) -> str:
    v = body.get(field)
    if not isinstance(v, str) or not v.strip() or len(v) > MAX_TEXT:
        raise InvalidInput(field, f"must be a non-empty string of at most {MAX_TEXT} characters")
    return v


def _number(body: Any, field: str, where: str, lo: float, hi: float) -> float:
    v = body.get(field) if isinstance(body, dict) else None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not lo <= v <= hi:
        raise InvalidInput(where, f"must be a number from {lo:g} to {hi:g}")
    return float(v)


class IncidentDesk:
    """Records incident steps for a :class:`~deconflict.service.hotline.Hotline`."""

    def __init__(self, hotline: Any) -> None:
        self.hotline = hotline
        self._known: dict[str, _Known] = {}
        self._seen = 0

    def _refresh(self) -> None:
        """Fold in the incident steps recorded since last time (by any process); under the writer's lock."""
        for e in self.hotline.service.store.events(after_seq=self._seen):
            self._seen = e.seq
            if e.type == REPORTED:
                self._known[e.subject] = _Known(e.actor)
            elif e.type == CLOSED and e.subject in self._known:
                self._known[e.subject].closed = True

    def report(self, who: Principal, body: Any) -> dict[str, Any]:
        who.require(Action.REPORT_INCIDENT)
        if not isinstance(body, dict):
            raise InvalidInput("body", "must be a JSON object")
        ident = body.get("id")
        if not isinstance(ident, str):
            raise InvalidInput("id", "must be a string such as I1")
        check_id(ident, "id")
        at = body.get("at")
        lat = _number(at, "lat", "at.lat", -90, 90)
        lon = _number(at, "lon", "at.lon", -180, 180)
        radius = _number(body, "radius_m", "radius_m", 0, MAX_RADIUS_M) if "radius_m" in body else 0.0
        when = body.get("time")
        if not isinstance(when, str):
            raise InvalidInput("time", "must be a UTC time such as 2018-02-07T20:05:00Z")
        instant = parse_time(when, "time")
        payload = {"id": ident, "at": {"lat": lat, "lon": lon}, "radius_m": radius,
                   "time": instant.isoformat().replace("+00:00", "Z"), "description": _text(body, "description")}
        with self.hotline._writing():
            self._refresh()
            if ident in self._known:
                raise AlreadyExists("incident", ident)
            events = self.hotline._append([EventDraft(REPORTED, who.party, ident, payload)])
            self._known[ident] = _Known(who.party)
            self._seen = max(self._seen, events[-1].seq)
        return receipts.attach(self.hotline.service.store,
                               {"id": ident, "reported_by": who.party, "seq": events[-1].seq, **payload}, events)

    def step(self, who: Principal, ident: str, body: Any, *, close: bool) -> dict[str, Any]:
        who.require(Action.REPORT_INCIDENT)
        if not isinstance(body, dict):
            raise InvalidInput("body", "must be a JSON object")
        text = _text(body, "text")
        kind = CLOSED if close else NOTED
        with self.hotline._writing():
            self._refresh()
            known = self._known.get(ident)
            if known is None:
                raise NotFound("incident", ident)
            if known.closed:
                raise AlreadyDecided(f"incident {ident} is closed; nothing is added to it")
            if close and known.reporter != who.party:
                raise Forbidden(f"incident {ident} was reported by {known.reporter}; only that party closes it")
            events = self.hotline._append([EventDraft(kind, who.party, ident, {"id": ident, "text": text})])
            known.closed = close
            self._seen = max(self._seen, events[-1].seq)
        return receipts.attach(self.hotline.service.store, {"id": ident, "step": kind.split(".")[1],
                                                           "by": who.party, "seq": events[-1].seq, "text": text},
                               events)
