"""The HTTP API (ASGI, FastAPI): every party's staff and systems talk to this.

Errors are RFC 9457 problem responses, mapped from the package's exceptions
in one place (:func:`problem_for`). No stack trace ever reaches a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Body, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconflict.engine.listing import Stored
from deconflict.engine.parts import Part
from deconflict.errors import (
    AlreadyDecided,
    AlreadyExists,
    DeconflictError,
    InvalidInput,
    NotFound,
    StoreError,
    Unavailable,
)
from deconflict.model import Declaration, Party, PartyKind
from deconflict.service import measure_life
from deconflict.service.admission import CheckLimits, CheckSlots, TooManyChecks
from deconflict.service.auth import Action, Forbidden, Principal, Role, Unauthenticated
from deconflict.service.bounded import INLINE_BODY_BYTES, light, request_limits
from deconflict.service.consistency import ReadYourWrites
from deconflict.service.gate import AuthFirst, MethodNotAllowed
from deconflict.service.hotline import (
    Hotline,
    IdempotencyMismatch,
    Refused,
    Submission,
    request_digest,
)
from deconflict.service.http_conversation import add_routes as add_conversation_routes
from deconflict.service.incident_routes import add_incident_routes
from deconflict.service.lane import CostlyLane, LaneTurns, TooManyCostly, lane_limits
from deconflict.service.listing import Query
from deconflict.service.log_routes import add_log_routes
from deconflict.service.notifications import Answer
from deconflict.service.openapi import with_problems
from deconflict.service.probing import ProbeBudgetExceeded
from deconflict.service.streams import StreamLimits, Streams, TooManyStreams
from deconflict.store.documents import decode_declaration, decode_measure, encode_declaration

#: Requests larger than this are refused with 413 before they are read.
MAX_REQUEST_BYTES = 1_048_576
#: The largest event sequence number (SQLite's INTEGER).
MAX_SEQ = 2**63 - 1
PROBLEM = "application/problem+json"


class Json(JSONResponse):
    """JSON bodies by orjson: a refused submit in a busy area carries hundreds of
    findings, and the standard library's encoder was a tenth of the server's time."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# -- problems ------------------------------------------------------------------------
def problem(status: int, title: str, detail: str, slug: str, **extra: Any) -> Json:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="deconflict"'} if status == 401 else None
    return Json(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_for(exc: Exception) -> Json:
    """The one place where exceptions become HTTP responses."""
    if isinstance(exc, ProbeBudgetExceeded):
        out = problem(429, "Too many probing checks", str(exc), "probe-budget", field="body",
                      retry_after_s=exc.retry_after_s, limit=exc.budget.limit, window_s=exc.budget.window_s)
        out.headers["Retry-After"] = str(exc.retry_after_s)
        return out
    if isinstance(exc, MethodNotAllowed):
        out = problem(405, "Method Not Allowed", str(exc), "method-not-allowed", field="method")
        out.headers["Allow"] = ", ".join(exc.allowed)
        return out
    if isinstance(exc, TooManyChecks):
        out = (problem(503, "Busy", str(exc), "busy", field="body", retry_after_s=exc.retry_after_s) if exc.busy
               else problem(429, "Too many checks at once", str(exc), "too-many-checks", field="body",
                            retry_after_s=exc.retry_after_s, limit=exc.limit))
        out.headers["Retry-After"] = str(exc.retry_after_s)
        return out
    if isinstance(exc, TooManyCostly):
        out = problem(429, "Too many costly requests", str(exc), "too-many-costly", field="body",
                      retry_after_s=exc.retry_after_s, limit=exc.limit)
        out.headers["Retry-After"] = str(exc.retry_after_s)
        return out
    if isinstance(exc, TooManyStreams):
        out = problem(429, "Too many streams", str(exc), "too-many-streams", field="Authorization")
        out.headers["Retry-After"] = "1"
        return out
    if isinstance(exc, Refused):
        return problem(409, "Refused", exc.reason, "refused", field=exc.field, result=exc.result)
    if isinstance(exc, InvalidInput):
        return problem(422, "Invalid input", str(exc), "invalid-input", field=exc.field, reason=exc.reason,
                       invalid_params=[{"name": exc.field, "reason": exc.reason}])
    if isinstance(exc, Unauthenticated):
        return problem(401, "Unauthenticated", str(exc), "unauthenticated")
    if isinstance(exc, Forbidden):
        return problem(403, "Forbidden", str(exc), "forbidden")
    if isinstance(exc, NotFound):
        return problem(404, "Not found", str(exc), "not-found")
    if isinstance(exc, AlreadyDecided):
        return problem(409, "Already decided", str(exc), "already-decided")
    if isinstance(exc, IdempotencyMismatch):
        return problem(409, "Idempotency key reused", "this Idempotency-Key was used with a different request",
                       "idempotency-mismatch")
    if isinstance(exc, AlreadyExists):
        return problem(409, "Already exists", str(exc), "already-exists")
    if isinstance(exc, StoreError):
        return problem(503, "Store unavailable", "the store could not be written; nothing was accepted",
                       "store-unavailable")
    if isinstance(exc, Unavailable):
        return problem(503, "Service unavailable", str(exc), "unavailable")
    if isinstance(exc, DeconflictError):
        return problem(400, "Bad request", str(exc), "bad-request", field=getattr(exc, "field", "body"))
    return problem(500, "Internal error", "an internal error occurred; nothing was accepted", "internal")


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(x) for x in loc if x not in ("body",)]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


class BodyLimit:
    """ASGI middleware refusing bodies over ``MAX_REQUEST_BYTES`` with 413."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await problem(413, "Request too large", f"requests are limited to {self.limit} bytes",
                              "too-large")(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await problem(413, "Request too large", f"requests are limited to {self.limit} bytes",
                          "too-large")(scope, receive, send)


class _TooLarge(Exception):
    pass


# -- request bodies ----------------------------------------------------------------------
class ActivityBody(BaseModel):
    activity: dict[str, Any] = Field(description="A declaration document (see docs/scenario-format.md); "
                                                 "owner defaults to the caller's party.")
    override_reason: str = Field("", description="Accept despite a violation or conflict, for this reason.")


async def _activity_body(request: Request) -> ActivityBody:
    """The body of a check or submit, parsed and validated in one pass from the
    bytes (pydantic's JSON mode): FastAPI's own body handling parsed, then
    validated the tree again, a fifth of a submit's time on the event loop.
    Routes that use this declare the body with :data:`ACTIVITY_BODY`."""
    data = await request.body()
    if len(data) > INLINE_BODY_BYTES:  # a large body is parsed off the event loop
        return await asyncio.to_thread(_parse_activity_body, data)
    return _parse_activity_body(data)


def _parse_activity_body(data: bytes) -> ActivityBody:
    try:
        return ActivityBody.model_validate_json(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


#: The OpenAPI request body of the routes that read an :class:`ActivityBody` themselves.
ACTIVITY_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ActivityBody.model_json_schema()}}}}


class MeasureBody(BaseModel):
    measure: dict[str, Any]


class PartyBody(BaseModel):
    id: str
    name: str = ""
    kind: PartyKind = PartyKind.OTHER


class CredentialBody(BaseModel):
    party: str = ""
    member: str
    role: Role
    # Aware: a naive time (no offset) failed comparing with the clock's aware now (500).
    expires_at: AwareDatetime | None = None


class ProbeBudgetBody(BaseModel):
    limit: int = Field(description="Checks touching declarations not shared with the party, per window.")
    window_s: float = Field(description="The sliding window, in seconds.")


class AnswerBody(BaseModel):
    comment: str = ""


class AcceptBody(BaseModel):
    version: int | None = None


# -- the app -----------------------------------------------------------------------------
async def _principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    # async (and cheap: a hash and a lookup) so that it runs on the event loop:
    # a sync dependency costs every request a hop to the thread pool and back.
    return _authenticated(request.app.state.hotline, authorization)


def _authenticated(hotline: Hotline, authorization: str | None) -> Principal:
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    return hotline.authenticate(token)


MAX_IDEMPOTENCY_KEY = 200

#: The submit route reads its headers and body itself (FastAPI's parameter
#: resolution was a quarter of a submit's time on the event loop); this
#: documents them as the declared parameters would.
SUBMIT_DOC: dict[str, Any] = {
    "parameters": [
        {"name": "authorization", "in": "header", "required": False, "schema": {"type": "string"},
         "description": "Bearer <token>"},
        {"name": "idempotency-key", "in": "header", "required": False,
         "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY},
         "description": "Retries with the same key and body get the first answer (200)."},
    ],
}


Who = Annotated[Principal, Depends(_principal)]


#: How often a server looks for what other processes appended to its store
#: (other workers, the CLI): the staleness of its reads and its streams.
FOLLOW_EVERY_S = 0.1
#: The same for the costly lane, which holds the live streams (service/handover.py):
#: a track alert a worker or the tracker appends reaches them within this (on
#: SQLite, which cannot wake another process; PostgreSQL's NOTIFY wakes at once).
LANE_FOLLOW_EVERY_S = 0.02


def create_app(hotline: Hotline, *, escalation_every: float = 10.0, follow_every: float = FOLLOW_EVERY_S,
               close_store: bool = False, stream_limits: StreamLimits | None = None,
               check_limits: CheckLimits | None = None, lane: str | None = None,
               in_lane: bool = False) -> FastAPI:
    """The ASGI app over ``hotline``; ``close_store`` closes its store at shutdown
    (a worker process that opened it for itself); ``lane`` is the Unix socket of
    the process that takes the costly requests (service/lane.py), ``in_lane``
    builds that process's app."""
    stopping = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        def escalate() -> None:
            while not stopping.wait(escalation_every):
                with contextlib.suppress(DeconflictError):
                    hotline.escalate_overdue()

        def follow() -> None:
            # Writes and checks catch up for themselves; this keeps reads and
            # live streams within a tenth of a second of other workers (sooner
            # when the store wakes it).
            hotline.follow(stopping, follow_every)

        threads = [threading.Thread(target=escalate, name="escalation", daemon=True),
                   threading.Thread(target=follow, name="follower", daemon=True)]
        for t in threads:
            t.start()
        try:
            yield
        finally:
            # Graceful: uvicorn has drained requests by now; every accepted
            # change was committed before it was acknowledged.
            stopping.set()
            hotline.stop_committer()
            hotline.close_streams()
            for t in threads:
                t.join(5)
            if close_store:
                hotline.service.close()

    # telemetry: FastAPI's OpenTelemetry hooks asked the global providers on every
    # request whether any was configured; none is (the service runs offline).
    app = FastAPI(title="Deconflict", version="0.1.0", lifespan=lifespan, default_response_class=Json,
                  telemetry={"tracing": False, "metrics": False, "logs": False},
                  description="The deconfliction hotline: declarations, measures, checks, notifications.")
    app.state.hotline = hotline
    streams = app.state.streams = Streams(hotline, stream_limits)
    checks = app.state.checks = CheckSlots(check_limits)  # dry runs in flight (service/admission.py)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(ReadYourWrites, hotline=hotline, answer=problem_for)  # inside AuthFirst
    if lane is not None:  # outside ReadYourWrites: the lane's answer carries the lane's log position
        app.add_middleware(CostlyLane, socket_path=lane, answer=problem_for)  # after AuthFirst: authenticated only
    if in_lane:
        app.add_middleware(LaneTurns, answer=problem_for)  # after AuthFirst: turns are by party
    app.add_middleware(AuthFirst, hotline=hotline, answer=problem_for)  # inside BodyLimit: 413 first
    app.add_middleware(BodyLimit)

    @app.exception_handler(DeconflictError)
    async def _known(_r: Request, exc: DeconflictError) -> Json:
        return problem_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> Json:
        errs = exc.errors()
        params = [{"name": _loc(tuple(e.get("loc", ()))), "reason": str(e.get("msg", "invalid"))} for e in errs]
        first = params[0] if params else {"name": "body", "reason": "invalid"}
        return problem(422, "Invalid input", f"{first['name']}: {first['reason']}", "invalid-input",
                       field=first["name"], reason=first["reason"], invalid_params=params)

    @app.exception_handler(StarletteHTTPException)
    async def _routing(_r: Request, exc: StarletteHTTPException) -> Json:
        # The router's own errors (405 on a wrong method, 404 on an unknown path)
        # were FastAPI's {"detail": ...} as application/json, not problems.
        phrase = HTTPStatus(exc.status_code).phrase
        out = problem(exc.status_code, phrase, str(exc.detail), phrase.lower().replace(" ", "-"))
        out.headers.update(exc.headers or {})
        return out

    @app.exception_handler(Exception)
    async def _unexpected(_r: Request, exc: Exception) -> Json:
        return problem_for(exc)

    #: Parts run beside this process that say whether they answer (the tracker process
    #: behind workers: "tracks": "up" or "down"); the service itself is "ok" if it answers.
    health_checks: dict[str, Callable[[], str]] = {}
    app.state.health = health_checks

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok", **{name: check() for name, check in health_checks.items()}}

    @app.get("/ready", tags=["operations"])
    def ready() -> dict[str, Any]:
        # Nothing more: counts would tell unauthenticated callers how much is declared.
        return {"status": "ready"}

    @app.get("/v1/me", tags=["parties"])
    def me(who: Who) -> dict[str, Any]:
        return {"party": who.party or None, "member": who.member, "role": who.role.value}

    @app.get("/v1/parties", tags=["parties"])
    def parties(who: Who) -> list[dict[str, Any]]:
        who.require(_read())
        return [{"id": p.id, "name": p.name, "kind": p.kind.value} for p in hotline.service.parties().values()]

    @app.post("/v1/admin/parties", status_code=201, tags=["admin"])
    def add_party(who: Who, body: PartyBody) -> dict[str, Any]:
        party = Party(body.id, body.name or body.id, body.kind)
        hotline.add_party(who, party)
        return {"id": party.id, "name": party.name, "kind": party.kind.value}

    @app.post("/v1/admin/credentials", status_code=201, tags=["admin"])
    def add_credential(who: Who, body: CredentialBody) -> dict[str, Any]:
        cred, token = hotline.issue_credential(who, body.party, body.member, body.role, body.expires_at)
        return {"id": cred.id, "party": cred.party or None, "member": cred.member, "role": cred.role.value,
                "token": token, "expires_at": body.expires_at}

    @app.delete("/v1/admin/credentials/{cred_id}", status_code=204, tags=["admin"])
    def revoke_credential(who: Who, cred_id: str) -> Response:
        hotline.revoke_credential(who, cred_id)
        return Response(status_code=204)

    def activity_of(who: Who, doc: dict[str, Any], default_id: str) -> Any:
        # Another party's activity is refused as such (403), not as a field error
        # (it was 422 "activity.owner: is 'coalition' but ... checked by 'russia'").
        owner = doc.get("owner")
        if isinstance(owner, str) and owner != (who.party or "admin"):
            raise Forbidden(f"{who.party or 'an administrator'} may only declare its own activities, not {owner}'s")
        if "share_with" not in doc and who.party:  # the party's default (service/settings.py)
            settings = hotline.settings.of(who.party).to_json()
            doc = {**doc, "share_with": settings["share_with"]}
        decl = decode_declaration(doc, "activity", owner=who.party or "admin", default_id=default_id)
        # The id a party chose is in its own namespace (service/namespace.py): no oracle of others' ids.
        # Qualified here too, so a large footprint is prebuilt under its final id
        # (the hotline qualifies again: idempotent on an id already in the namespace).
        return hotline.own_id(who, decl) if "id" in doc else decl

    # Each write below checks the role before it decodes the body, so a role that
    # may not act gets 403 whatever it sent (a viewer got 422 for an invalid body).
    @app.post("/v1/checks", tags=["activities"], openapi_extra=ACTIVITY_BODY)
    def check(who: Who, body: Annotated[ActivityBody, Depends(_activity_body)]) -> dict[str, Any]:
        """A dry run: checks the activity against everything in force and writes nothing."""
        who.require(Action.CHECK)
        with checks.admit(who.party):  # 429/503 past the dry runs in flight (service/admission.py)
            return hotline.check(who, activity_of(who, body.activity, f"check-{secrets.token_hex(6)}"),
                                 chosen_id="id" in body.activity)

    @app.post("/v1/activities", status_code=201, tags=["activities"], response_model=dict[str, Any],
              openapi_extra={**ACTIVITY_BODY, **SUBMIT_DOC},
              responses={200: {"description": "A replay: the answer to the first request with this Idempotency-Key",
                               "content": {"application/json": {"schema": {"type": "object",
                                                                           "additionalProperties": True}}}}})
    async def submit(request: Request) -> Response:
        """Check and accept atomically; 409 with the findings when refused."""
        headers = request.headers
        who = _authenticated(hotline, headers.get("authorization"))
        who.require(Action.SUBMIT)  # before the body: a role that may not submit gets 403 whatever it sent
        idempotency_key = headers.get("idempotency-key")
        if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidInput("Idempotency-Key", f"must be at most {MAX_IDEMPOTENCY_KEY} characters")
        data = await request.body()

        def prepared() -> tuple[ActivityBody, str, Declaration, list[Part] | None]:
            body = _parse_activity_body(data)
            raw = body.model_dump()
            digest = request_digest(raw)
            # The default id was f"a-{digest[:12]}" with a key (the body alone: two parties
            # sending the same body got the same id, so the second was refused 403 "belongs
            # to another party", and one party's second key replaced its first activity) and
            # the time to the microsecond without (concurrent submits could collide).
            default_id = (f"a-{request_digest([who.party, idempotency_key, raw])[:16]}" if idempotency_key
                          else f"a-{secrets.token_hex(8)}")
            activity = activity_of(who, body.activity, default_id)
            # A large footprint is built here, off the loop and before the lock
            # (service/bounded.py); a small one by the committer as before.
            parts = None if light(activity) else hotline.service.engine.prebuild(activity)
            return body, digest, activity, parts

        if len(data) <= INLINE_BODY_BYTES:
            body, digest, activity, parts = prepared()
            if parts is None and not light(activity):
                parts = await asyncio.to_thread(hotline.service.engine.prebuild, activity)
        else:
            body, digest, activity, parts = await asyncio.to_thread(prepared)
        item = await _submitted(hotline, who, activity, parts=parts, chosen_id="id" in body.activity,
                                override_reason=body.override_reason,
                                idempotency_key=idempotency_key or "", request_sha256=digest)
        if isinstance(item.error, DeconflictError):
            # Answered, not raised: a raise here would tie the refusal to this
            # coroutine's frame (which holds the item), a cycle per refused submit.
            return problem_for(item.error)
        if item.error is not None:
            raise item.error
        assert item.result is not None
        created, result = item.result
        return Json(result, status_code=201 if created else 200)

    @app.get("/v1/declarations", tags=["declarations"], response_model=list[dict[str, Any]])
    def declarations(who: Who, request: Request, limit: int | None = None,
                     cursor: str | None = None,
                     bbox: str | None = None, start: AwareDatetime | None = None, end: AwareDatetime | None = None,
                     kind: str | None = None, owner: str | None = None,
                     references: bool = False) -> Response:
        """A page of the declarations the caller may see, in id order (service/listing.py):
        the next page's cursor is in the ``X-Next-Cursor`` header (and a Link rel=next).
        ``references=true`` adds each one's radio reference (``DC-000123``) as ``reference``."""
        q = Query.parse(limit=limit, cursor=cursor, bbox=bbox, start=start, end=end, kind=kind, owner=owner)
        found, following = hotline.declarations_page(who, q)
        headers = {}
        if following is not None:
            headers["X-Next-Cursor"] = following
            params = urlencode({**request.query_params, "cursor": following})
            headers["Link"] = f'</v1/declarations?{params}>; rel="next"'
        # The start-up snapshot's declarations come as their stored documents (the
        # same encoding, canonical JSON): sent as they are, not decoded and encoded.
        docs: list[Any]
        if references:
            docs = [orjson.loads(d.doc) if isinstance(d, Stored) else encode_declaration(d) for d in found]
            for doc in docs:
                doc["reference"] = hotline.refs.of_activity(doc["id"])
        else:
            docs = [orjson.Fragment(d.doc) if isinstance(d, Stored) else encode_declaration(d) for d in found]
        # Answered as it is: FastAPI's validation and encoding of a page of 5,000
        # documents was three quarters of the request (180 of 230 ms), on the
        # map's path to ready. The documents are the store's own encoding.
        return Json(docs, headers=headers)

    @app.get("/v1/declarations/{decl_id}", tags=["declarations"])
    def declaration(who: Who, decl_id: str) -> dict[str, Any]:
        return encode_declaration(hotline.declaration(who, decl_id))

    @app.delete("/v1/declarations/{decl_id}", status_code=204, tags=["declarations"])
    def withdraw(who: Who, decl_id: str) -> Response:
        hotline.withdraw(who, decl_id)
        return Response(status_code=204)

    @app.get("/v1/measures", tags=["measures"])
    def measures(who: Who) -> dict[str, Any]:
        return hotline.measures(who)

    @app.post("/v1/measures", status_code=201, tags=["measures"])
    def propose(who: Who, body: MeasureBody) -> dict[str, Any]:
        who.require(Action.PROPOSE_MEASURE)
        doc = dict(body.measure)
        doc.setdefault("owner", who.party)
        return measure_life.propose(hotline, who, decode_measure(doc, "measure"))

    @app.post("/v1/measures/{measure_id}/accept", tags=["measures"])
    def accept(who: Who, measure_id: str, body: Annotated[AcceptBody | None, Body()] = None) -> dict[str, Any]:
        return measure_life.accept(hotline, who, measure_id, body.version if body else None)

    @app.get("/v1/notifications", tags=["notifications"])
    def notifications(who: Who) -> list[dict[str, Any]]:
        return hotline.notifications(who)

    @app.post("/v1/notifications/{nid}/acknowledge", tags=["notifications"])
    def acknowledge(who: Who, nid: str, body: Annotated[AnswerBody | None, Body()] = None) -> dict[str, Any]:
        return hotline.answer(who, nid, Answer.ACKNOWLEDGED, body.comment if body else "")

    @app.post("/v1/notifications/{nid}/object", tags=["notifications"])
    def object_(who: Who, nid: str, body: AnswerBody) -> dict[str, Any]:
        return hotline.answer(who, nid, Answer.OBJECTED, body.comment)

    add_log_routes(app, hotline)
    add_incident_routes(app, hotline)

    @app.get("/v1/limits", tags=["parties"])
    def limits(who: Who) -> dict[str, Any]:
        """What one request may ask (docs/threat-model.md), and the caller's
        budget of checks touching declarations not shared with it."""
        return {**request_limits(), **checks.to_json(), **lane_limits(lane is not None or in_lane),
                "probe_budget": hotline.probe_status(who)}

    @app.get("/v1/probes", tags=["parties"])
    def probes(who: Who) -> list[dict[str, Any]]:
        """Who made checks touching the caller's declarations not shared with
        them, and how often (in aggregate)."""
        return hotline.probed(who)

    @app.put("/v1/admin/parties/{party_id}/probe-budget", tags=["admin"])
    def set_probe_budget(who: Who, party_id: str, body: ProbeBudgetBody) -> dict[str, Any]:
        who.require(Action.ADMINISTER)
        return hotline.set_probe_budget(who, party_id, body.model_dump())

    @app.get("/v1/stream", tags=["notifications"])
    async def stream(request: Request, last_event_id: Annotated[str | None, Header()] = None,
                     after: int | None = None, wait: float = 15.0) -> StreamingResponse:
        """Server-Sent Events for the caller's party, filtered by disclosure. Resume
        with ``Last-Event-ID`` (or ``?after=``): nothing is lost in between. At most
        a few streams per credential and per party (429 past them); a stream ends
        within a second of its credential's revocation or expiry."""
        who = _authenticated(hotline, request.headers.get("authorization"))
        # isascii: "²".isdigit() is true but int("²") fails (500). The bounds: a resume
        # point past SQLite's integers broke the stream mid-way (OverflowError), and
        # wait=nan passed min/max and made the stream send heartbeats in a busy loop.
        start = (after if after is not None else int(last_event_id)
                 if last_event_id and last_event_id.isascii() and last_event_id.isdigit() else 0)
        if not 0 <= start <= MAX_SEQ:
            raise InvalidInput("after" if after is not None else "Last-Event-ID", f"must be from 0 to {MAX_SEQ}")
        if not math.isfinite(wait):
            raise InvalidInput("wait", "must be a finite number of seconds")
        wait = min(max(wait, 0.05), 60.0)
        streams.admit(who)  # 429 past the limits; released when the stream ends
        return StreamingResponse(streams.frames(who, start, wait), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    add_conversation_routes(app, hotline)
    return app


async def _submitted(hotline: Hotline, who: Principal, activity: Declaration, *, parts: list[Part] | None = None,
                     chosen_id: bool, **kw: str) -> Submission:
    """Queue a submit for the hotline's committer and wait for its durable answer
    without holding a thread: the lock and the fsync are the committer's."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Submission] = loop.create_future()

    def settle(item: Submission) -> None:
        if not answer.done():  # the client may have gone; the decision stands
            answer.set_result(item)

    def wake(item: Submission) -> None:  # on the committer's thread
        loop.call_soon_threadsafe(settle, item)

    hotline.enqueue(who, activity, wake, parts=parts, chosen_id=chosen_id, **kw)
    return await answer


def _read() -> Any:
    from deconflict.service.auth import Action

    return Action.READ
