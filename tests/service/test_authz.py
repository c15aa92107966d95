"""The authorization matrix: every endpoint x every role x own/other object.

The table below is the policy. Each row is one endpoint (method and route, as
FastAPI registers it) in one situation ("variant"); each cell is the exact
status a caller of that role gets. The caller is always a member of ``russia``
(or the administrator). Every cell builds its own fresh objects, so cells do
not depend on each other.

Policy encoded here:

- no token, or a revoked/garbled one: 401 everywhere except the public
  operational endpoints (/health, /ready), the API's own documentation and the
  operator's base-map tiles (/tiles);
- viewer: reads only (403 on every write, whatever the body says);
- planner: checks, submits and withdraws its own party's activities;
- liaison: planner + answers its party's notifications + proposes measures
  its party owns + accepts measures that bind its party;
- admin: adds parties, issues and revokes credentials, imposes measures (for
  any owner, in force at once), reads everything; never plans, checks,
  submits, withdraws, answers or accepts (403): those are a party's acts;
- nobody acts on another party's declaration (403); another party's
  declaration that is not shared with the caller reads as 404 (GET, DELETE),
  and a refusal never names its owner;
- a role that may not do something gets 403 before its request body is
  judged (no 422 to a viewer), and another party's notification is 404.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from deconflict.service.client import Client
from deconflict.service.http import create_app
from deconflict.store.documents import encode_declaration
from deconflict.web import mount
from tests.service.conftest import Running

ROLES = ("none", "viewer", "planner", "liaison", "admin")
CALLER = "russia"
_ids = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def expect(spec: str) -> dict[str, int]:
    """'401 403 200 200 403' -> status per role, in the order of ROLES."""
    codes = [int(x) for x in spec.split()]
    assert len(codes) == len(ROLES), spec
    return dict(zip(ROLES, codes, strict=True))


@dataclass
class Req:
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False


class Ctx:
    """Builds the objects a cell acts on, through the API as their owners would."""

    def __init__(self, running: Running) -> None:
        self.r = running
        self.own = running.client(CALLER, "liaison")
        self.coalition = running.client("coalition", "liaison")
        self.admin = running.as_admin()

    def close(self) -> None:
        for c in (self.own, self.coalition, self.admin):
            c.close()

    def check_doc(self, check_id: str, **over: Any) -> dict[str, Any]:
        c = next(c for c in self.r.scenario.checks if c.id == check_id)
        doc = encode_declaration(c.activity)
        doc.pop("owner")
        doc.pop("id")
        doc.update(over)
        return doc

    def clear_fire(self, **over: Any) -> dict[str, Any]:
        return self.check_doc("C1", **{"id": fresh("fire"), **over})

    def forget_own(self, ident: str) -> str:
        """``ident``, once the caller's own declaration of that name (an earlier row's) is withdrawn."""
        self.own.http.delete(f"/v1/declarations/{CALLER}:{ident}")
        return ident

    def incident(self, by: Any) -> str:
        ident = fresh("inc")
        by.report_incident(incident_doc(ident))
        return ident

    def own_declaration(self) -> str:
        return str(self.own.submit(self.clear_fire())["id"])

    @staticmethod
    def roz(owner: str | None, binds: Any, **over: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": fresh("roz"), "kind": "restricted_operations_zone", "binds": binds,
            "geometry": {"type": "Polygon", "coordinates": [
                [[38.0, 36.5], [38.1, 36.5], [38.1, 36.6], [38.0, 36.6], [38.0, 36.5]]]},
            "altitude": {"lower_m": 1000, "upper_m": 2000},
            "window": {"start": "2018-03-10T00:00:00Z", "end": "2018-03-11T00:00:00Z"},
        }
        if owner is not None:
            doc["owner"] = owner
        doc.update(over)
        return doc

    def proposal(self, bound: list[str]) -> str:
        """A coalition proposal binding ``bound``: waits for them, notifies them."""
        out = self.coalition.propose_measure(self.roz("coalition", bound))
        assert out["in_force"] is False
        return str(out["id"])

    def coalition_measure(self) -> str:
        """A measure of the coalition's in force (binding only the coalition)."""
        out = self.coalition.propose_measure(self.roz("coalition", ["coalition"]))
        assert out["in_force"] is True
        return str(out["id"])

    def own_measure(self) -> str:
        """A measure of the caller's party in force (binding only itself)."""
        out = self.own.propose_measure(self.roz(CALLER, [CALLER]))
        assert out["in_force"] is True
        return str(out["id"])

    def own_proposal(self) -> str:
        out = self.own.propose_measure(self.roz(CALLER, [CALLER, "sdf"]))
        assert out["in_force"] is False
        return str(out["id"])

    def ref(self, decl_id: str) -> str:
        ref = self.r.hotline.refs.of_activity(decl_id)
        assert ref is not None
        return ref

    def notification(self, party: str) -> str:
        mid = self.proposal([party])
        [n] = [n for n in self.r.hotline.inbox.for_party(party) if n.subject == mid]
        return n.id

    def credential(self) -> str:
        return str(self.admin.issue_credential("relief", fresh("temp"), "viewer")["id"])


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    variant: str
    statuses: dict[str, int]
    make: Callable[[Ctx], Req]

    @property
    def name(self) -> str:
        return f"{self.method} {self.route} [{self.variant}]"


def _answered(ctx: Ctx) -> Req:
    nid = ctx.notification(CALLER)
    ctx.own.acknowledge(nid, "seen")
    return Req(f"/v1/notifications/{nid}/acknowledge", {"comment": "again"})


MEASURE = "/v1/measures/{measure_id}/accept"
DECLINE = "/v1/measures/{measure_id}/decline"
ONE_MEASURE = "/v1/measures/{measure_id}"
ACTIVITY = "/v1/activities/{decl_id}"
REF = "/v1/references/{ref}"
SETTINGS = "/v1/parties/{party}/settings"
ACK = "/v1/notifications/{nid}/acknowledge"
OBJECT = "/v1/notifications/{nid}/object"
DECL = "/v1/declarations/{decl_id}"
CRED = "/v1/admin/credentials/{cred_id}"
OGC_COLL = "/ogc/collections/{collection_id}"
OGC_ITEMS = "/ogc/collections/{collection_id}/items"
OGC_ITEM = "/ogc/collections/{collection_id}/items/{feature_id}"

INCIDENT_NOTES = "/v1/incidents/{incident_id}/notes"
INCIDENT_CLOSE = "/v1/incidents/{incident_id}/close"


def incident_doc(ident: str) -> dict[str, Any]:
    return {"id": ident, "at": {"lat": 35.36, "lon": 40.32}, "radius_m": 500,
            "time": "2018-02-07T20:05:00Z", "description": "a strike near the positions"}


ROWS: tuple[Row, ...] = (
    # -- public --------------------------------------------------------------------
    Row("GET", "/health", "public", expect("200 200 200 200 200"), lambda c: Req("/health")),
    Row("GET", "/ready", "public", expect("200 200 200 200 200"), lambda c: Req("/ready")),
    Row("GET", "/openapi.json", "public", expect("200 200 200 200 200"), lambda c: Req("/openapi.json")),
    Row("GET", "/docs", "public", expect("200 200 200 200 200"), lambda c: Req("/docs")),
    Row("GET", "/docs/oauth2-redirect", "public", expect("200 200 200 200 200"),
        lambda c: Req("/docs/oauth2-redirect")),
    Row("GET", "/redoc", "public", expect("200 200 200 200 200"), lambda c: Req("/redoc")),
    # The operator's own base-map tiles (serve --tiles), loaded by the map as its base
    # layers are: they hold no party's data. None are served in this test.
    Row("GET", "/tiles", "public", expect("200 200 200 200 200"), lambda c: Req("/tiles")),
    Row("GET", "/tiles/{name}/{z}/{x}/{y}", "missing", expect("404 404 404 404 404"),
        lambda c: Req("/tiles/none/0/0/0")),
    # -- reads ------------------------------------------------------------------------
    Row("GET", "/v1/me", "self", expect("401 200 200 200 200"), lambda c: Req("/v1/me")),
    Row("GET", "/v1/parties", "all", expect("401 200 200 200 200"), lambda c: Req("/v1/parties")),
    Row("GET", "/v1/declarations", "all visible", expect("401 200 200 200 200"),
        lambda c: Req("/v1/declarations")),
    Row("GET", DECL, "own", expect("401 200 200 200 200"), lambda c: Req("/v1/declarations/S3")),
    Row("GET", DECL, "other's, shared", expect("401 200 200 200 200"), lambda c: Req("/v1/declarations/S1")),
    Row("GET", DECL, "other's, not shared", expect("401 404 404 404 200"), lambda c: Req("/v1/declarations/S4")),
    Row("GET", DECL, "missing", expect("401 404 404 404 404"), lambda c: Req("/v1/declarations/nope")),
    # -- the log (hashes and sizes only) -------------------------------------------------
    Row("GET", "/v1/log/checkpoint", "all", expect("401 200 200 200 200"), lambda c: Req("/v1/log/checkpoint")),
    Row("GET", "/v1/log/keys", "all", expect("401 200 200 200 200"), lambda c: Req("/v1/log/keys")),
    Row("GET", "/v1/log/proof/inclusion", "all", expect("401 200 200 200 200"),
        lambda c: Req("/v1/log/proof/inclusion?seq=1")),
    Row("GET", "/v1/log/proof/consistency", "all", expect("401 200 200 200 200"),
        lambda c: Req("/v1/log/proof/consistency?old=1")),
    Row("POST", "/v1/log/cosignatures", "not a cosignature", expect("401 422 422 422 422"),
        lambda c: Req("/v1/log/cosignatures", {"key": "x"})),
    Row("GET", "/v1/measures", "all", expect("401 200 200 200 200"), lambda c: Req("/v1/measures")),
    # -- incidents (a party's members who act; the role before the body) -----------------
    Row("POST", "/v1/incidents", "new", expect("401 403 201 201 403"),
        lambda c: Req("/v1/incidents", incident_doc(fresh("inc")))),
    Row("POST", "/v1/incidents", "malformed", expect("401 403 422 422 403"),
        lambda c: Req("/v1/incidents", {"id": fresh("inc"), "at": {"lat": 91, "lon": 0}})),
    Row("POST", INCIDENT_NOTES, "another party's", expect("401 403 201 201 403"),
        lambda c: Req(f"/v1/incidents/{c.incident(c.coalition)}/notes", {"text": "we were not there"})),
    Row("POST", INCIDENT_NOTES, "missing", expect("401 403 404 404 403"),
        lambda c: Req("/v1/incidents/nope/notes", {"text": "?"})),
    Row("POST", INCIDENT_CLOSE, "own", expect("401 403 200 200 403"),
        lambda c: Req(f"/v1/incidents/{c.incident(c.own)}/close", {"text": "reviewed"})),
    Row("POST", INCIDENT_CLOSE, "another party's", expect("401 403 403 403 403"),
        lambda c: Req(f"/v1/incidents/{c.incident(c.coalition)}/close", {"text": "reviewed"})),
    Row("GET", "/v1/picture", "as of an instant", expect("401 200 200 200 200"),
        lambda c: Req("/v1/picture?as_of=2030-01-01T00:00:00Z")),
    Row("GET", "/v1/picture", "bad instant", expect("401 422 422 422 422"),
        lambda c: Req("/v1/picture?as_of=yesterday")),
    Row("GET", "/v1/export.geojson", "all visible", expect("401 200 200 200 200"),
        lambda c: Req("/v1/export.geojson")),
    Row("GET", "/v1/export.kml", "all visible", expect("401 200 200 200 200"), lambda c: Req("/v1/export.kml")),
    # -- OGC API - Features: every path needs a credential, the landing page too ---------------
    Row("GET", "/ogc", "landing page", expect("401 200 200 200 200"), lambda c: Req("/ogc")),
    Row("GET", "/ogc/", "landing page", expect("401 200 200 200 200"), lambda c: Req("/ogc/")),
    Row("GET", "/ogc/conformance", "all", expect("401 200 200 200 200"), lambda c: Req("/ogc/conformance")),
    Row("GET", "/ogc/collections", "all", expect("401 200 200 200 200"), lambda c: Req("/ogc/collections")),
    Row("GET", OGC_COLL, "existing", expect("401 200 200 200 200"), lambda c: Req("/ogc/collections/measures")),
    Row("GET", OGC_COLL, "missing", expect("401 404 404 404 404"), lambda c: Req("/ogc/collections/nope")),
    Row("GET", OGC_ITEMS, "all visible", expect("401 200 200 200 200"),
        lambda c: Req("/ogc/collections/declarations/items")),
    Row("GET", OGC_ITEMS, "bad parameter", expect("401 400 400 400 400"),
        lambda c: Req("/ogc/collections/declarations/items?limit=0")),
    Row("GET", OGC_ITEM, "other's, shared", expect("401 200 200 200 200"),
        lambda c: Req("/ogc/collections/declarations/items/S1")),
    Row("GET", OGC_ITEM, "other's, not shared", expect("401 404 404 404 200"),
        lambda c: Req("/ogc/collections/declarations/items/S4")),
    Row("GET", OGC_ITEM, "missing", expect("401 404 404 404 404"),
        lambda c: Req("/ogc/collections/measures/items/nope")),
    Row("GET", "/v1/notifications", "own", expect("401 200 200 200 200"), lambda c: Req("/v1/notifications")),
    Row("GET", "/v1/stream", "own", expect("401 200 200 200 200"),
        lambda c: Req("/v1/stream?wait=0.05", stream=True)),
    Row("GET", "/v1/limits", "own", expect("401 200 200 200 200"), lambda c: Req("/v1/limits")),
    Row("GET", "/v1/probes", "own", expect("401 200 200 200 200"), lambda c: Req("/v1/probes")),
    # -- administration -----------------------------------------------------------------
    Row("POST", "/v1/admin/parties", "new", expect("401 403 403 403 201"),
        lambda c: Req("/v1/admin/parties", {"id": fresh("party"), "kind": "humanitarian"})),
    Row("POST", "/v1/admin/parties", "existing", expect("401 403 403 403 409"),
        lambda c: Req("/v1/admin/parties", {"id": CALLER})),
    Row("POST", "/v1/admin/credentials", "new", expect("401 403 403 403 201"),
        lambda c: Req("/v1/admin/credentials", {"party": "relief", "member": fresh("m"), "role": "viewer"})),
    Row("DELETE", CRED, "existing", expect("401 403 403 403 204"),
        lambda c: Req(f"/v1/admin/credentials/{c.credential()}")),
    Row("DELETE", CRED, "missing", expect("401 403 403 403 404"), lambda c: Req("/v1/admin/credentials/0000")),
    Row("PUT", "/v1/admin/parties/{party_id}/probe-budget", "existing", expect("401 403 403 403 200"),
        lambda c: Req("/v1/admin/parties/relief/probe-budget", {"limit": 50, "window_s": 3600})),
    Row("PUT", "/v1/admin/parties/{party_id}/probe-budget", "missing", expect("401 403 403 403 404"),
        lambda c: Req("/v1/admin/parties/nope/probe-budget", {"limit": 50, "window_s": 3600})),
    # -- activities -------------------------------------------------------------------
    Row("POST", "/v1/checks", "own", expect("401 403 200 200 403"),
        lambda c: Req("/v1/checks", {"activity": c.clear_fire()})),
    Row("POST", "/v1/checks", "for another party", expect("401 403 403 403 403"),
        lambda c: Req("/v1/checks", {"activity": c.clear_fire(owner="coalition")})),
    Row("POST", "/v1/checks", "invalid activity", expect("401 403 422 422 403"),
        lambda c: Req("/v1/checks", {"activity": c.clear_fire(effects_radius_m="far")})),
    Row("POST", "/v1/activities", "own, clear", expect("401 403 201 201 403"),
        lambda c: Req("/v1/activities", {"activity": c.clear_fire()})),
    Row("POST", "/v1/activities", "own, replacing own", expect("401 403 201 201 403"),
        lambda c: Req("/v1/activities", {"activity": c.clear_fire(id=c.own_declaration())})),
    Row("POST", "/v1/activities", "own, conflicting", expect("401 403 409 409 403"),
        lambda c: Req("/v1/activities", {"activity": c.check_doc("C2", id=fresh("c2"))})),
    Row("POST", "/v1/activities", "invalid activity", expect("401 403 422 422 403"),
        lambda c: Req("/v1/activities", {"activity": c.clear_fire(window={"start": "yesterday"})})),
    Row("POST", "/v1/activities", "for another party", expect("401 403 403 403 403"),
        lambda c: Req("/v1/activities", {"activity": c.clear_fire(owner="coalition")})),
    # A party's chosen id is in its own namespace (service/namespace.py): "S4" is
    # russia:S4, answered as any free id is, whoever holds S4 (it was 403, an oracle).
    Row("POST", "/v1/activities", "other's id, shared", expect("401 403 201 201 403"),
        lambda c: Req("/v1/activities", {"activity": c.clear_fire(id="S1")})),
    Row("POST", "/v1/activities", "other's id, not shared", expect("401 403 201 201 403"),
        lambda c: Req("/v1/activities", {"activity": c.clear_fire(id="S4")})),
    Row("POST", "/v1/activities", "in other's namespace", expect("401 403 403 403 403"),
        lambda c: Req("/v1/activities", {"activity": c.clear_fire(id="sdf:S4")})),
    Row("DELETE", DECL, "own", expect("401 403 204 204 403"),
        lambda c: Req(f"/v1/declarations/{c.own_declaration()}")),
    Row("DELETE", DECL, "other's, shared", expect("401 403 403 403 403"), lambda c: Req("/v1/declarations/S1")),
    Row("DELETE", DECL, "other's, not shared", expect("401 403 404 404 403"),
        lambda c: Req(f"/v1/declarations/{c.forget_own('S4')}")),
    Row("DELETE", DECL, "missing", expect("401 403 404 404 403"), lambda c: Req("/v1/declarations/nope")),
    # -- measures ---------------------------------------------------------------------
    Row("POST", "/v1/measures", "owned by the caller's party", expect("401 403 403 201 201"),
        lambda c: Req("/v1/measures", {"measure": c.roz(CALLER, [CALLER])})),
    Row("POST", "/v1/measures", "owner left out", expect("401 403 403 201 422"),
        lambda c: Req("/v1/measures", {"measure": c.roz(None, [CALLER])})),
    Row("POST", "/v1/measures", "owned by another party", expect("401 403 403 403 201"),
        lambda c: Req("/v1/measures", {"measure": c.roz("coalition", "all")})),
    Row("POST", "/v1/measures", "new version of another party's measure", expect("401 403 403 403 201"),
        lambda c: Req("/v1/measures", {"measure": c.roz(CALLER, [CALLER], id=c.coalition_measure())})),
    Row("POST", "/v1/measures", "invalid measure", expect("401 403 403 422 422"),
        lambda c: Req("/v1/measures", {"measure": c.roz(CALLER, [CALLER], altitude=None)})),
    Row("POST", MEASURE, "binds the caller", expect("401 403 403 200 403"),
        lambda c: Req(f"/v1/measures/{c.proposal([CALLER])}/accept", {})),
    Row("POST", MEASURE, "binds others only", expect("401 403 403 403 403"),
        lambda c: Req(f"/v1/measures/{c.proposal(['sdf'])}/accept", {})),
    Row("POST", MEASURE, "wrong version", expect("401 403 403 422 403"),
        lambda c: Req(f"/v1/measures/{c.proposal([CALLER])}/accept", {"version": 7})),
    Row("POST", MEASURE, "version in force", expect("401 403 403 409 403"),
        lambda c: Req("/v1/measures/M1/accept", {})),
    Row("POST", MEASURE, "no such proposal", expect("401 403 403 404 403"),
        lambda c: Req("/v1/measures/nope/accept", {})),
    Row("POST", DECLINE, "binds the caller", expect("401 403 403 200 403"),
        lambda c: Req(f"/v1/measures/{c.proposal([CALLER])}/decline", {"comment": "not there"})),
    Row("POST", DECLINE, "binds others only", expect("401 403 403 403 403"),
        lambda c: Req(f"/v1/measures/{c.proposal(['sdf'])}/decline", {"comment": "not there"})),
    Row("POST", DECLINE, "no comment", expect("401 403 403 422 403"),
        lambda c: Req(f"/v1/measures/{c.proposal([CALLER])}/decline", {"comment": " "})),
    Row("POST", DECLINE, "no such proposal", expect("401 403 403 404 403"),
        lambda c: Req("/v1/measures/nope/decline", {"comment": "no"})),
    Row("GET", ONE_MEASURE, "in force", expect("401 200 200 200 200"), lambda c: Req("/v1/measures/M1")),
    Row("GET", ONE_MEASURE, "missing", expect("401 404 404 404 404"), lambda c: Req("/v1/measures/nope")),
    Row("DELETE", ONE_MEASURE, "own, in force", expect("401 403 403 200 200"),
        lambda c: Req(f"/v1/measures/{c.own_measure()}")),
    Row("DELETE", ONE_MEASURE, "own, proposed", expect("401 403 403 200 200"),
        lambda c: Req(f"/v1/measures/{c.own_proposal()}")),
    Row("DELETE", ONE_MEASURE, "other's", expect("401 403 403 403 200"),
        lambda c: Req(f"/v1/measures/{c.coalition_measure()}")),
    Row("DELETE", ONE_MEASURE, "missing", expect("401 403 403 404 404"), lambda c: Req("/v1/measures/nope")),
    # -- the conversation -----------------------------------------------------------------
    Row("GET", ACTIVITY, "own", expect("401 200 200 200 200"), lambda c: Req("/v1/activities/S3")),
    Row("GET", ACTIVITY, "other's, shared", expect("401 200 200 200 200"), lambda c: Req("/v1/activities/S1")),
    Row("GET", ACTIVITY, "other's, not shared", expect("401 404 404 404 200"),
        lambda c: Req("/v1/activities/S4")),
    Row("GET", ACTIVITY, "missing", expect("401 404 404 404 404"), lambda c: Req("/v1/activities/nope")),
    Row("GET", "/v1/notifications/summary", "own", expect("401 200 200 200 200"),
        lambda c: Req("/v1/notifications/summary")),
    Row("GET", "/v1/exports/notifications", "own", expect("401 200 200 200 200"),
        lambda c: Req("/v1/exports/notifications")),
    Row("GET", REF, "own activity", expect("401 200 200 200 200"), lambda c: Req(f"/v1/references/{c.ref('S3')}")),
    Row("GET", REF, "other's activity, not shared", expect("401 404 404 404 200"),
        lambda c: Req(f"/v1/references/{c.ref('S4')}")),
    Row("GET", REF, "malformed", expect("401 422 422 422 422"), lambda c: Req("/v1/references/XY-12")),
    Row("GET", SETTINGS, "own party", expect("401 200 200 200 200"), lambda c: Req(f"/v1/parties/{CALLER}/settings")),
    Row("GET", SETTINGS, "another party", expect("401 403 403 403 200"),
        lambda c: Req("/v1/parties/coalition/settings")),
    Row("GET", SETTINGS, "missing party", expect("401 404 404 404 404"), lambda c: Req("/v1/parties/nope/settings")),
    Row("PUT", SETTINGS, "own party", expect("401 403 403 200 200"),
        lambda c: Req(f"/v1/parties/{CALLER}/settings", {"share_with": "all"})),
    Row("PUT", SETTINGS, "own party, invalid", expect("401 403 403 422 422"),
        lambda c: Req(f"/v1/parties/{CALLER}/settings", {"deadlines": {"fire": {"remind_minutes": -1}}})),
    Row("PUT", SETTINGS, "another party", expect("401 403 403 403 200"),
        lambda c: Req("/v1/parties/relief/settings", {})),
    # -- notifications ------------------------------------------------------------------
    Row("POST", ACK, "own", expect("401 403 403 200 403"),
        lambda c: Req(f"/v1/notifications/{c.notification(CALLER)}/acknowledge", {"comment": "seen"})),
    Row("POST", ACK, "other party's", expect("401 403 403 404 403"),
        lambda c: Req(f"/v1/notifications/{c.notification('sdf')}/acknowledge", {})),
    Row("POST", ACK, "already answered", expect("401 403 403 422 403"), _answered),
    Row("POST", OBJECT, "own, with a comment", expect("401 403 403 200 403"),
        lambda c: Req(f"/v1/notifications/{c.notification(CALLER)}/object", {"comment": "not agreed"})),
    Row("POST", OBJECT, "own, no comment", expect("401 403 403 422 403"),
        lambda c: Req(f"/v1/notifications/{c.notification(CALLER)}/object", {"comment": "  "})),
    Row("POST", OBJECT, "other party's", expect("401 403 403 404 403"),
        lambda c: Req(f"/v1/notifications/{c.notification('sdf')}/object", {"comment": "no"})),
)

#: Strings a refusal about sdf's unshared S4 must not contain when shown to russia.
SECRETS_OF_S4 = ("sdf", "Khasham", "40.37")


def app_routes(running: Running) -> set[tuple[str, str]]:
    app = create_app(running.hotline)
    mount(app)  # as `deconflict serve` does: the map adds GET /v1/picture (the static files are a Mount)
    out = set()
    for r in app.routes:
        if isinstance(r, (APIRoute, Route)):
            out |= {(m, r.path) for m in (r.methods or ()) if m != "HEAD"}
    return out


def test_every_route_has_a_row_and_every_row_a_route(module_running: Running) -> None:
    routes = app_routes(module_running)
    rows = {(row.method, row.route) for row in ROWS}
    assert routes - rows == set(), "endpoints without a row in the authorization matrix"
    assert rows - routes == set(), "rows for endpoints that do not exist"
    assert len({row.name for row in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def callers(module_running: Running) -> Iterator[dict[str, httpx.Client]]:
    r = module_running
    with Client(r.url, r.admin) as admin:
        revoked = admin.issue_credential(CALLER, "gone", "liaison")
        admin.revoke_credential(revoked["id"])
    tokens = {"none": None, **{role: r.tokens[CALLER][role] for role in ("viewer", "planner", "liaison")},
              "admin": r.admin, "revoked": revoked["token"], "garbled": "dcf_x_y"}
    clients = {role: httpx.Client(base_url=r.url, timeout=30.0,
                                  headers={"Authorization": f"Bearer {t}"} if t else {})
               for role, t in tokens.items()}
    yield clients
    for c in clients.values():
        c.close()


@pytest.fixture(scope="module")
def ctx(module_running: Running) -> Iterator[Ctx]:
    c = Ctx(module_running)
    yield c
    c.close()


def send(client: httpx.Client, method: str, req: Req) -> httpx.Response:
    if req.stream:
        with client.stream(method, req.path, headers=req.headers) as r:
            if r.status_code >= 400:
                r.read()
            return r
    return client.request(method, req.path, json=req.json, headers=req.headers)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_matrix(row: Row, ctx: Ctx, callers: dict[str, httpx.Client]) -> None:
    got: dict[str, int] = {}
    for role in (*ROLES, "revoked", "garbled"):
        want = row.statuses["none" if role in ("revoked", "garbled") else role]
        r = send(callers[role], row.method, row.make(ctx))
        got[role] = r.status_code
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), (role, r.text)
            assert r.json()["status"] == r.status_code
            if r.status_code == 401:
                assert r.headers["www-authenticate"].startswith("Bearer")
            if "not shared" in row.variant and role != "admin":
                assert not any(s in r.text for s in SECRETS_OF_S4), (role, r.text)
        assert r.status_code == want, f"{row.name} as {role}: {r.status_code} {r.text[:300]}"
    assert got["revoked"] == got["none"] and got["garbled"] == got["none"]


def test_admin_imposed_measure_is_in_force_at_once(ctx: Ctx) -> None:
    """The matrix cell 'owned by another party' for admin is an imposition, not a proposal."""
    out = ctx.admin.propose_measure(ctx.roz("coalition", "all"))
    assert out["in_force"] is True and out["waiting_for"] == []
    assert out["id"] in {m["id"] for m in ctx.admin.measures()["in_force"]}


def test_viewer_reads_only_what_its_party_may_see(module_running: Running) -> None:
    with module_running.client(CALLER, "viewer") as viewer:
        ids = {d["id"] for d in viewer.declarations()}
    assert {"S1", "S2", "S3", "F1", "F2", "V1"} <= ids
    assert "S4" not in ids
    with module_running.as_admin() as admin:
        assert "S4" in {d["id"] for d in admin.declarations()}


def test_an_expired_credential_is_refused_everywhere_a_credential_is_needed(module_running: Running) -> None:
    r = module_running
    soon = datetime.now(UTC) + timedelta(seconds=1)
    with r.as_admin() as admin:
        cred = admin.post("/v1/admin/credentials", {"party": CALLER, "member": "short", "role": "liaison",
                                                    "expires_at": soon.isoformat()})
    with httpx.Client(base_url=r.url, headers={"Authorization": f"Bearer {cred['token']}"}) as c:
        assert c.get("/v1/me").status_code == 200
        time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.1)
        for row in ROWS:
            if row.statuses["none"] == 401:
                path = row.route.format(decl_id="S3", cred_id="x", measure_id="M1", nid="x", ref="DC-1",
                                        party=CALLER, collection_id="measures", feature_id="M1", party_id="x",
                                        incident_id="x")
                resp = c.request(row.method, path, json={})
                assert resp.status_code == 401 and "expired" in resp.json()["detail"], row.name
