"""Errors (issue 9): authentication and role before the body on every route,
405 for a wrong method, every input error naming its field, and the OpenAPI
document listing every error status as a problem."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import Running

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
WRITES = [(m.upper(), p) for p, ops in OPENAPI["paths"].items() for m in ops if m in ("post", "put", "delete")]


def concrete(path: str) -> str:
    return path.format(decl_id="S3", measure_id="M1", nid="x", cred_id="x", party_id="russia", party="russia",
                       incident_id="I1")


#: Writes any credential may make: a witness's cosignature (a viewer may be a witness).
ANY_ROLE = {("POST", "/v1/log/cosignatures")}


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_malformed_json_without_a_token_is_401_and_from_a_viewer_403(module_running: Running, method: str,
                                                                     path: str) -> None:
    url = module_running.url + concrete(path)
    headers = {"Content-Type": "application/json"}
    r = httpx.request(method, url, content=b"{not json", headers=headers)
    assert r.status_code == 401, r.text  # was 422 on several routes: the body before the credential
    assert r.headers["content-type"].startswith("application/problem+json")
    viewer = module_running.tokens["russia"]["viewer"]
    r = httpx.request(method, url, content=b"{not json", headers={**headers, "Authorization": f"Bearer {viewer}"})
    assert r.status_code == (422 if (method, path) in ANY_ROLE else 403), r.text


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PATCH", "/v1/declarations/S1", "DELETE, GET"), ("PUT", "/v1/checks", "POST"), ("DELETE", "/v1/me", "GET"),
    ("POST", "/health", "GET")])
def test_a_wrong_method_is_405_with_allow(module_running: Running, method: str, path: str, allow: str) -> None:
    token = module_running.tokens["russia"]["planner"]
    r = httpx.request(method, module_running.url + path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 405, r.text  # was 404 (the map's catch-all took it)
    assert r.headers["allow"] == allow and r.json()["field"] == "method"


def test_input_errors_name_their_field_or_the_body(module_running: Running) -> None:
    token = module_running.tokens["russia"]["planner"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body, field in [(b"{not json", "body"), (b"[]", "body"), (b'{"activity": 3}', "activity"),
                        (b'{"activity": {"kind": "fire"}}', "activity.window")]:
        r = httpx.post(module_running.url + "/v1/checks", content=body, headers=headers)
        assert 400 <= r.status_code < 500 and r.json().get("field", "").startswith(field), (body, r.text)


def test_the_openapi_document_lists_every_error_status_as_a_problem() -> None:
    for path, ops in OPENAPI["paths"].items():
        for method, op in ops.items():
            errors = {int(s): v for s, v in op["responses"].items() if s.isdigit() and int(s) >= 400}
            assert 405 in errors, (method, path)
            if path.startswith("/v1/"):
                assert {401, 403, 422} <= set(errors), (method, path)
            for status, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    assert set(OPENAPI["paths"]["/v1/checks"]["post"]["responses"]) >= {"429"}
