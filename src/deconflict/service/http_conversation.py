"""HTTP routes of the conversation between parties (added to the app by ``create_app``).

Each route authenticates, then checks the role before it acts on a body;
errors are problems (``service/http.py: problem_for``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from deconflict.service import conversation, measure_life
from deconflict.service.auth import Action, Principal
from deconflict.service.hotline import Hotline


class DeclineBody(BaseModel):
    comment: str = Field("", description="Why: the proposer receives it verbatim.")
    version: int | None = None


class SettingsBody(BaseModel):
    share_with: Any = Field("all", description='"all" or a list of party ids: the default of new activities.')
    must_acknowledge: Any = Field(default_factory=list, description="Parties asked to acknowledge every "
                                                                    "site and movement the party declares.")
    deadlines: Any = Field(default_factory=dict, description="By kind (fire, flight, movement, site, measure, "
                                                             "default): {remind_minutes, escalate_minutes}.")


async def _who(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    # As http.py's _principal (which imports this module, so it cannot be imported here).
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    hotline: Hotline = request.app.state.hotline
    return hotline.authenticate(token)


Who = Annotated[Principal, Depends(_who)]


def add_routes(app: FastAPI, hotline: Hotline) -> None:

    @app.get("/v1/activities/{decl_id}", tags=["activities"])
    def activity(who: Who, decl_id: str) -> dict[str, Any]:
        """An activity with its reference, sharing and current findings; to its owner,
        each recipient party's status (sent, delivered, acknowledged or objected)."""
        who.require(Action.READ)
        return conversation.activity(hotline, who, decl_id)

    @app.get("/v1/notifications/summary", tags=["notifications"])
    def notification_summary(who: Who) -> dict[str, Any]:
        """Counts for the inbox: unanswered, overdue, urgent, reminded, escalated."""
        return conversation.summary(hotline, who)

    @app.get("/v1/exports/notifications", tags=["notifications"],
             responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
    def export_notifications(who: Who, party: str | None = None) -> Response:
        """A party's notifications, received and sent, with acknowledgements, as CSV
        (an administrator may name any party, or none for all)."""
        text = conversation.export_csv(hotline, who, party)
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="notifications.csv"'})

    @app.get("/v1/references/{ref}", tags=["notifications"])
    def reference(who: Who, ref: str) -> dict[str, Any]:
        """What a reference read out on the radio (DC-000123) names, if the caller may see it."""
        return conversation.lookup(hotline, who, ref)

    @app.get("/v1/parties/{party}/settings", tags=["parties"])
    def get_settings(who: Who, party: str) -> dict[str, Any]:
        return conversation.get_settings(hotline, who, party)

    @app.put("/v1/parties/{party}/settings", tags=["parties"], openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": SettingsBody.model_json_schema()}}}})
    async def put_settings(who: Who, party: str, request: Request) -> dict[str, Any]:
        """Replace the party's settings (a new version, logged): its liaison or an administrator."""
        if not who.is_admin:
            who.require(Action.ACCEPT_MEASURE)  # before the body is read
        doc = await _json_body(request)
        out: dict[str, Any] = await _in_thread(conversation.put_settings, hotline, who, party, doc)
        return out

    @app.get("/v1/measures/{measure_id}", tags=["measures"])
    def measure(who: Who, measure_id: str) -> dict[str, Any]:
        """A measure: the version in force, a pending proposal, its agreement history."""
        return measure_life.one(hotline, who, measure_id)

    @app.post("/v1/measures/{measure_id}/decline", tags=["measures"])
    def decline(who: Who, measure_id: str, body: DeclineBody) -> dict[str, Any]:
        """Decline a proposal that binds the caller's party, with a comment for the proposer."""
        return measure_life.decline(hotline, who, measure_id, body.comment, body.version)

    @app.delete("/v1/measures/{measure_id}", tags=["measures"])
    def withdraw_measure(who: Who, measure_id: str) -> dict[str, Any]:
        """The owner withdraws its measure (in force or proposed); the parties it bound are told."""
        return measure_life.withdraw(hotline, who, measure_id)


async def _json_body(request: Request) -> object:
    import json

    from deconflict.errors import InvalidInput

    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        raise InvalidInput("body", "must be a JSON object") from None


async def _in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
