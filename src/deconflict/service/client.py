"""A typed Python client for the HTTP API, used by the CLI's tools and the tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from deconflict.errors import DeconflictError


class ProblemError(DeconflictError):
    """An RFC 9457 problem response from the server."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")


@dataclass(frozen=True, slots=True)
class StreamEvent:
    id: int
    type: str
    data: dict[str, Any]


class Client:
    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _json(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"title": r.reason_phrase, "detail": r.text[:500]}
            raise ProblemError(r.status_code, body)
        return None if r.status_code == 204 else r.json()

    def get(self, path: str, **params: Any) -> Any:
        return self._json(self.http.get(path, params=params or None))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self._json(self.http.post(path, json=body, headers=headers))

    def delete(self, path: str) -> Any:
        return self._json(self.http.delete(path))

    # -- the API -------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        return dict(self.get("/v1/me"))

    def add_party(self, pid: str, name: str = "", kind: str = "other") -> dict[str, Any]:
        return dict(self.post("/v1/admin/parties", {"id": pid, "name": name or pid, "kind": kind}))

    def issue_credential(self, party: str, member: str, role: str) -> dict[str, Any]:
        return dict(self.post("/v1/admin/credentials", {"party": party, "member": member, "role": role}))

    def revoke_credential(self, cred_id: str) -> None:
        self.delete(f"/v1/admin/credentials/{cred_id}")

    def check(self, activity: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post("/v1/checks", {"activity": activity}))

    def submit(self, activity: dict[str, Any], *, override_reason: str = "",
               idempotency_key: str | None = None, retries: int = 2) -> dict[str, Any]:
        """Always with an ``Idempotency-Key`` (a new one unless given), so that a
        retry after a lost answer is answered with the first decision instead of
        deciding again: on a transport error (the request or its answer lost) it
        is sent again with the same key, up to ``retries`` times."""
        headers = {"Idempotency-Key": idempotency_key or f"py-{uuid.uuid4()}"}
        body = {"activity": activity, "override_reason": override_reason}
        for attempt in range(retries + 1):
            try:
                return dict(self.post("/v1/activities", body, headers))
            except httpx.TransportError:
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")

    def declarations(self) -> list[dict[str, Any]]:
        return list(self.get("/v1/declarations"))

    def withdraw(self, decl_id: str) -> None:
        self.delete(f"/v1/declarations/{decl_id}")

    def measures(self) -> dict[str, Any]:
        return dict(self.get("/v1/measures"))

    def propose_measure(self, measure: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post("/v1/measures", {"measure": measure}))

    def accept_measure(self, measure_id: str, version: int | None = None) -> dict[str, Any]:
        return dict(self.post(f"/v1/measures/{measure_id}/accept", {"version": version}))

    def notifications(self) -> list[dict[str, Any]]:
        return list(self.get("/v1/notifications"))

    def acknowledge(self, nid: str, comment: str = "") -> dict[str, Any]:
        return dict(self.post(f"/v1/notifications/{nid}/acknowledge", {"comment": comment}))

    def object(self, nid: str, comment: str) -> dict[str, Any]:
        return dict(self.post(f"/v1/notifications/{nid}/object", {"comment": comment}))

    def report_incident(self, incident: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post("/v1/incidents", incident))

    def note_incident(self, incident_id: str, text: str) -> dict[str, Any]:
        return dict(self.post(f"/v1/incidents/{incident_id}/notes", {"text": text}))

    def close_incident(self, incident_id: str, text: str) -> dict[str, Any]:
        return dict(self.post(f"/v1/incidents/{incident_id}/close", {"text": text}))

    def activity(self, decl_id: str) -> dict[str, Any]:
        return dict(self.get(f"/v1/activities/{decl_id}"))

    def notification_summary(self) -> dict[str, Any]:
        return dict(self.get("/v1/notifications/summary"))

    def export_notifications(self, party: str | None = None) -> str:
        r = self.http.get("/v1/exports/notifications", params={"party": party} if party else None)
        if r.status_code >= 400:
            self._json(r)
        return r.text

    def reference(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"/v1/references/{ref}"))

    def settings(self, party: str) -> dict[str, Any]:
        return dict(self.get(f"/v1/parties/{party}/settings"))

    def put_settings(self, party: str, settings: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json(self.http.put(f"/v1/parties/{party}/settings", json=settings)))

    def measure(self, measure_id: str) -> dict[str, Any]:
        return dict(self.get(f"/v1/measures/{measure_id}"))

    def decline_measure(self, measure_id: str, comment: str, version: int | None = None) -> dict[str, Any]:
        return dict(self.post(f"/v1/measures/{measure_id}/decline", {"comment": comment, "version": version}))

    def withdraw_measure(self, measure_id: str) -> dict[str, Any]:
        return dict(self.delete(f"/v1/measures/{measure_id}"))

    def stream(self, after: int = 0, *, wait: float = 15.0, timeout: float = 60.0) -> Iterator[StreamEvent]:
        """Server-Sent Events after ``after``; heartbeats are skipped."""
        headers = {"Last-Event-ID": str(after)}
        with self.http.stream("GET", "/v1/stream", headers=headers, params={"wait": wait},
                              timeout=httpx.Timeout(timeout, read=timeout)) as r:
            if r.status_code >= 400:
                r.read()
                self._json(r)
            fields: dict[str, str] = {}
            for line in r.iter_lines():
                if not line:
                    if "id" in fields and "data" in fields:
                        yield StreamEvent(int(fields["id"]), fields.get("event", "message"),
                                          json.loads(fields["data"]))
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue
                key, _, value = line.partition(":")
                fields[key] = value[1:] if value.startswith(" ") else value
