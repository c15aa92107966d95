"""The error answers in the OpenAPI document: every error status a route can
give, each an RFC 9457 problem (``application/problem+json``). FastAPI listed
only its own 422, as ``application/json`` with a schema the API never sends."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem. Input errors name the field (or 'body': the body as a whole).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "The field at fault, or 'body' for the body as a whole."},
        "reason": {"type": "string"},
        "invalid_params": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "reason": {"type": "string"}}}},
        "retry_after_s": {"type": "integer", "description": "With 429: also in the Retry-After header."},
    },
    "additionalProperties": True,
}

WHY: dict[int, str] = {
    400: "Bad request: the request cannot be taken as it is.",
    401: "No credential, or one unknown, revoked or expired (checked before the body is read).",
    403: "The credential's role or party may not do this (checked before the body is read).",
    404: "Not found, or not shared with the caller (existence itself is not disclosed).",
    405: "The path exists, not with this method (see the Allow header).",
    409: "Refused for its findings, or conflicting with what exists (an id, an Idempotency-Key).",
    413: "The body is larger than the limit.",
    422: "Invalid input: the problem names the field, or 'body' for the body as a whole.",
    429: "A limit was reached (checks touching hidden declarations, checks at once, costly requests "
         "waiting, open streams): see Retry-After.",
    503: "The store or the service is unavailable, or busy (see Retry-After); nothing was done.",
}

#: Routes that may answer 409 and 429 (the others never do).
CONFLICTS = {"/v1/activities", "/v1/measures", "/v1/admin/parties", "/v1/admin/credentials",
             "/v1/measures/{measure_id}/accept"}
LIMITED = {"/v1/checks", "/v1/activities", "/v1/stream"}


def statuses(path: str, method: str) -> list[int]:
    out = {405}
    if method in ("post", "put", "patch"):
        out |= {413}
    if path.startswith(("/v1/", "/ogc")):
        out |= {400, 401, 403, 404, 422, 503}
        if path in CONFLICTS:
            out.add(409)
        if path in LIMITED:
            out.add(429)
    return sorted(out)


def with_problems(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every operation's error statuses as problems."""
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status in statuses(path, method):
                op["responses"][str(status)] = {"description": WHY[status],
                                                "content": {"application/problem+json": {"schema": ref}}}
            # Any other error a route declares is a problem too (one handler answers them all).
            for status, response in op["responses"].items():
                if status.isdigit() and int(status) >= 400 and isinstance(response, dict):
                    response["content"] = {"application/problem+json": {"schema": ref}}
    schemas = doc["components"]["schemas"]
    if not any("HTTPValidationError" in str(op) for ops in doc.get("paths", {}).values() for op in ops.values()):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return doc
