"""Authentication and role before the body, on every route.

FastAPI reads and parses a request's body before the route's dependencies
run, so malformed JSON without a token was answered 422 (it should be 401)
and a role that may not act learned how its body was wrong (it should get
403). This ASGI middleware decides both from the headers alone, before any
route sees the request; the routes still check everything themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from deconflict.errors import DeconflictError
from deconflict.service.auth import Action
from deconflict.service.hotline import Hotline

#: What each route requires (by its method and path template); routes under
#: /v1/ not listed here require a valid credential only.
REQUIRES: dict[tuple[str, str], Action] = {
    ("POST", "/v1/checks"): Action.CHECK,
    ("POST", "/v1/activities"): Action.SUBMIT,
    ("DELETE", "/v1/declarations/{decl_id}"): Action.WITHDRAW,
    ("POST", "/v1/measures"): Action.PROPOSE_MEASURE,
    ("POST", "/v1/measures/{measure_id}/accept"): Action.ACCEPT_MEASURE,
    ("POST", "/v1/notifications/{nid}/acknowledge"): Action.ANSWER,
    ("POST", "/v1/notifications/{nid}/object"): Action.ANSWER,
    ("POST", "/v1/admin/parties"): Action.ADMINISTER,
    ("POST", "/v1/admin/credentials"): Action.ADMINISTER,
    ("DELETE", "/v1/admin/credentials/{cred_id}"): Action.ADMINISTER,
    ("PUT", "/v1/admin/parties/{party_id}/probe-budget"): Action.ADMINISTER,
    ("DELETE", "/v1/measures/{measure_id}"): Action.PROPOSE_MEASURE,
    ("POST", "/v1/measures/{measure_id}/decline"): Action.ACCEPT_MEASURE,
    ("PUT", "/v1/parties/{party}/settings"): Action.ACCEPT_MEASURE,
    ("POST", "/v1/incidents"): Action.REPORT_INCIDENT,
    ("POST", "/v1/incidents/{incident_id}/notes"): Action.REPORT_INCIDENT,
    ("POST", "/v1/incidents/{incident_id}/close"): Action.REPORT_INCIDENT,
    # POST /v1/log/cosignatures: any credential (a witness may be a viewer).
}
#: Where the authenticated party is left in the request's scope state.
PARTY_KEY = "deconflict_party"
#: The party key of an administrator's requests.
ADMIN_PARTY = "\x00admin"
#: Routes an administrator may also take, whatever REQUIRES says (it sets any party's settings).
ADMIN_TOO = {("PUT", "/v1/parties/{party}/settings")}


class AuthFirst:
    """401 or 403 (as problems) before the body is read, for every /v1/ route."""

    def __init__(self, app: ASGIApp, hotline: Hotline, answer: Callable[[Exception], Response]) -> None:
        self.app = app
        self.hotline = hotline
        self.answer = answer  # http.problem_for: the one place errors become responses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        template, allowed = self._route(scope)
        try:
            if str(scope.get("path", "")).startswith("/v1/"):
                who = self.hotline.authenticate(_token(scope))
                # Whose request it is, for the costly lane's turns (service/lane.py).
                scope.setdefault("state", {})[PARTY_KEY] = who.party or ADMIN_PARTY
                key = (scope["method"], template or "")
                action = REQUIRES.get(key)
                if action is not None and not (who.is_admin and key in ADMIN_TOO):
                    who.require(action)
            if template is None and allowed:
                raise MethodNotAllowed(scope["method"], allowed)
        except DeconflictError as exc:
            await self.answer(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _route(scope: Scope) -> tuple[str | None, list[str]]:
        """The path template of the route that takes the request (None if none
        but the map's catch-all does), and the methods the path allows (for a
        405: with the map mounted at /, a wrong method fell through to it: 404)."""
        app = scope.get("app")
        router = getattr(app, "router", None)
        allowed: set[str] = set()
        for route in getattr(router, "routes", ()):
            match, _child = route.matches(scope)
            methods = getattr(route, "methods", None)
            if methods is None:  # a mount (the map's static files): the last resort
                continue
            if match is Match.FULL:
                return str(route.path), []
            if match is Match.PARTIAL:
                allowed |= set(methods)
        return None, sorted(allowed)


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            authorization: str = value.decode("latin-1")
            if authorization.lower().startswith("bearer "):
                return authorization[7:].strip()
            return None
    return None


class MethodNotAllowed(DeconflictError):
    """HTTP 405: the path exists, not with this method."""

    def __init__(self, method: str, allowed: list[str]) -> None:
        self.method = method
        self.allowed = allowed
        super().__init__(f"{method} is not allowed here; allowed: {', '.join(allowed)}")
