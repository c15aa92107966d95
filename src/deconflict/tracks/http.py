"""HTTP routes for live tracks, mounted on the service's app when tracks are on.

``POST /v1/tracks/reports`` takes a JSON batch of position reports (the
caller's party's own assets); ``GET /v1/tracks`` the latest positions the
caller may see; ``GET /v1/tracks/{uid}/history`` a track's history (within
the retention), ``GET /v1/tracks/history`` every visible track's within a
window; ``PUT /v1/tracks/assets/{uid}`` links an asset to one of the
party's movements or flights; ``GET /v1/tracks/alerts`` the active alerts
that concern the caller; ``GET /v1/tracks/stats`` the counters (administrators).
Alerts are acknowledged as notifications (``/v1/notifications/{id}/acknowledge``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from deconflict.errors import InvalidInput
from deconflict.service.auth import Action, Forbidden, Principal
from deconflict.tracks.feeds import FairQueue
from deconflict.tracks.report import Report
from deconflict.tracks.tracker import Tracker

MAX_BATCH = 10_000


class ReportBody(BaseModel):
    uid: str = Field(min_length=1, max_length=128)
    lon: float
    lat: float
    time: AwareDatetime
    alt_m: float | None = None
    air: bool = False
    course: float | None = None
    speed: float | None = None
    type: str = ""


class BatchBody(BaseModel):
    reports: list[ReportBody] = Field(max_length=MAX_BATCH)


class LinkBody(BaseModel):
    declaration: str = ""
    air: bool = False


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def mount(app: FastAPI, tracker: Tracker, queue: FairQueue | None = None, stats: Any = None) -> None:
    hotline = tracker.hotline

    def who_of(authorization: str | None) -> Principal:
        token = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else None
        return hotline.authenticate(token)

    @app.post("/v1/tracks/reports", status_code=202, tags=["tracks"])
    def reports(body: BatchBody, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """Judge a batch of position reports of the caller's party (at once, not queued)."""
        who = who_of(authorization)
        who.require(Action.READ)
        if who.is_admin:
            raise Forbidden("an administrator has no assets; use a party's credential")
        batch = [Report(who.party, r.uid, r.lon, r.lat, r.time, r.air, _nan(r.alt_m), _nan(r.course),
                        _nan(r.speed), f"http:{who.credential_id}", cot_type=r.type) for r in body.reports]
        for i, r in enumerate(batch):
            try:
                r.check()
            except InvalidInput as exc:
                raise exc.within(f"reports[{i}]") from None
        events = tracker.process(batch)
        return {"accepted": len(batch), "alerts": [e.payload["views"].get(who.party) for e in events
                                                   if e.type.startswith("alert.") and who.party in e.payload["views"]]}

    @app.get("/v1/tracks", tags=["tracks"])
    def tracks(authorization: Annotated[str | None, Header()] = None) -> list[dict[str, Any]]:
        who = who_of(authorization)
        who.require(Action.READ)
        return tracker.tracks(None if who.is_admin else who.party)

    @app.get("/v1/tracks/alerts", tags=["tracks"])
    def alerts(authorization: Annotated[str | None, Header()] = None) -> list[dict[str, Any]]:
        who = who_of(authorization)
        who.require(Action.READ)
        return tracker.active(None if who.is_admin else who.party)

    @app.get("/v1/tracks/stats", tags=["tracks"])
    def stats_(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        who = who_of(authorization)
        who.require(Action.ADMINISTER)
        out: dict[str, Any] = {"tracker": tracker.counters()}
        if stats is not None:
            out["servers"] = stats()
        return out

    @app.get("/v1/tracks/history", tags=["tracks"])
    def histories(since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                  uid: Annotated[list[str] | None, Query(max_length=1000)] = None,
                  authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """Who was where: the points of every track the caller may see within [since, until]
        (an incident review; at most 50,000 points, ``truncated`` says when more were left)."""
        who = who_of(authorization)
        who.require(Action.READ)
        return tracker.histories(None if who.is_admin else who.party, since, until, uid)

    @app.get("/v1/tracks/{uid}/history", tags=["tracks"])
    def history(uid: str, since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                authorization: Annotated[str | None, Header()] = None) -> list[dict[str, Any]]:
        who = who_of(authorization)
        who.require(Action.READ)
        return tracker.history(None if who.is_admin else who.party, uid, since, until)

    @app.put("/v1/tracks/assets/{uid}", tags=["tracks"])
    def link(uid: str, body: LinkBody, request: Request,
             authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        who = who_of(authorization)
        who.require(Action.SUBMIT)
        return tracker.link(who.party, uid, body.declaration, air=body.air, actor=who.party)

    _ = datetime
