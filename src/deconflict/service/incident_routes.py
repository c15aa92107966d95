"""The incident routes (``/v1/incidents``): report, note, close; each step an event
with its receipt (service/incident_desk.py).

Each reads the credential and checks the role *before* reading the body, as the
submit route does: a viewer or the administrator gets 403 whatever it sent.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from deconflict.errors import InvalidInput
from deconflict.service.auth import Action, Principal
from deconflict.service.incident_desk import IncidentDesk

#: A description is at most 10,000 characters; anything much larger is not one.
MAX_BODY = 64 * 1024

_REPORT_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["id", "at", "time", "description"],
    "properties": {
        "id": {"type": "string", "description": "the incident's id, e.g. I1"},
        "at": {"type": "object", "required": ["lat", "lon"],
               "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
        "radius_m": {"type": "number", "minimum": 0},
        "time": {"type": "string", "format": "date-time", "description": "when it happened (UTC)"},
        "description": {"type": "string"}}}}}}}
_STEP_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}}}


def add_incident_routes(app: FastAPI, hotline: Any) -> None:
    desk = IncidentDesk(hotline)

    async def caller(request: Request) -> tuple[Principal, Any]:
        header = request.headers.get("authorization")
        token = header[7:].strip() if header and header.lower().startswith("bearer ") else None
        who: Principal = hotline.authenticate(token)
        who.require(Action.REPORT_INCIDENT)  # before the body
        data = await request.body()
        if len(data) > MAX_BODY:
            raise InvalidInput("body", f"must be at most {MAX_BODY} bytes")
        try:
            return who, json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("body", "must be a JSON object") from None

    @app.post("/v1/incidents", status_code=201, tags=["incidents"], openapi_extra=_REPORT_DOC)
    async def report(request: Request) -> JSONResponse:
        """Report an incident: its id, place, time and description (``incident.reported``)."""
        who, body = await caller(request)
        # Off the event loop: it waits for the writer's lock and the commit.
        return JSONResponse(await asyncio.to_thread(desk.report, who, body), status_code=201)

    @app.post("/v1/incidents/{incident_id}/notes", status_code=201, tags=["incidents"], openapi_extra=_STEP_DOC)
    async def note(incident_id: str, request: Request) -> JSONResponse:
        """Add a note to an open incident (``incident.noted``): any party."""
        who, body = await caller(request)
        return JSONResponse(await asyncio.to_thread(desk.step, who, incident_id, body, close=False),
                            status_code=201)

    @app.post("/v1/incidents/{incident_id}/close", tags=["incidents"], openapi_extra=_STEP_DOC)
    async def close(incident_id: str, request: Request) -> JSONResponse:
        """Close an incident with a last word (``incident.closed``): the reporting party only."""
        who, body = await caller(request)
        return JSONResponse(await asyncio.to_thread(desk.step, who, incident_id, body, close=True))
