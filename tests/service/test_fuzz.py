"""Fuzzing the API from its own OpenAPI document: never a 5xx, errors are problems.

Schemathesis generates requests for every operation of the document (valid
ones and, in negative mode, invalid ones) and sends them to a real server on
loopback, as a liaison of a party and as the administrator. The live stream is
excluded from schemathesis (a stream does not end by itself) and fuzzed by
hand below. Schemathesis generates well-formed values of each declared type;
the documents inside a request (an activity, a measure) are free-form in the
schema, so a second fuzzer puts junk (NaN, huge numbers, naive times, lone
surrogates, wrong types) into every field of one document of each kind, and
into path parameters. The checked-in document, docs/openapi.json, must equal the one
the code generates; regenerate it with ``python -m tests.service.test_fuzz``.
"""

from __future__ import annotations

import copy
import json
import string
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.http import create_app
from deconflict.store.documents import encode_declaration, encode_measure
from deconflict.store.sqlite import SQLiteStore
from deconflict.web import mount
from tests.service.conftest import Running

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much, HealthCheck.data_too_large])


def generated_openapi() -> str:
    with tempfile.TemporaryDirectory(prefix="deconflict-openapi-") as folder:
        service = Deconflict(SQLiteStore(Path(folder) / "empty.sqlite3"))
        try:
            app = create_app(Hotline(service))
            mount(app)  # as `deconflict serve` does: the map adds GET /v1/picture
            doc = app.openapi()
        finally:
            service.close()
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_checked_in_openapi_document_is_current() -> None:
    assert OPENAPI.exists(), "write it with: python -m tests.service.test_fuzz"
    assert OPENAPI.read_text(encoding="utf-8") == generated_openapi(), (
        "docs/openapi.json is stale; regenerate it with: python -m tests.service.test_fuzz")


# Both generation modes (valid and invalid requests) are schemathesis' default.
schema = schemathesis.openapi.from_dict(json.loads(generated_openapi())).exclude(path="/v1/stream")


def assert_problem(r: Any, who: str) -> None:
    assert r.status_code < 500, f"{who}: {r.status_code} {r.text[:500]}"
    if r.status_code >= 400:
        ctype = r.headers.get("content-type", "")
        ctype = ctype[0] if isinstance(ctype, list) else ctype  # schemathesis keeps every value of a header
        assert ctype.startswith("application/problem+json"), (who, r.text[:300])
        body = r.json()
        assert body["status"] == r.status_code and body["title"] and "Traceback" not in r.text


@schema.parametrize()
@FUZZ
def test_no_operation_fails_with_a_server_error(case: Any, module_running: Running) -> None:
    for who, token in (("liaison", module_running.tokens["russia"]["liaison"]), ("admin", module_running.admin),
                       ("nobody", "dcf_nope_nope")):
        r = case.call(base_url=module_running.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        case.validate_response(r, checks=[not_a_server_error])
        if case.path not in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert_problem(r, who)


@pytest.fixture(scope="module")
def stream_client(module_running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=module_running.url, timeout=httpx.Timeout(10, read=0.6),
                      headers={"Authorization": f"Bearer {module_running.tokens['sdf']['viewer']}"}) as c:
        yield c


junk = st.one_of(st.none(), st.text(string.printable, max_size=12), st.sampled_from(["nan", "inf", "-0", "1e400"]),
                 st.integers(-(2**70), 2**70).map(str), st.floats(allow_nan=True).map(str))


#: Raw header bytes, less the control characters HTTP forbids in a field value: uvicorn's
#: parser answers those itself with a plain 400 before the app sees the request.
header_bytes = st.binary(max_size=6).filter(lambda b: not any(c < 0x20 or c == 0x7F for c in b))


@given(after=junk, wait=junk, last_event_id=st.one_of(junk, header_bytes))
@example(after=str(2**70), wait="0.1", last_event_id=None)
@example(after=None, wait="0.1", last_event_id=str(2**64))
@example(after=None, wait="nan", last_event_id=None)
@example(after=None, wait="0.1", last_event_id=b"\xb2")  # "²": a digit to str.isdigit, not to int()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_stream_parameters_never_break_the_stream(stream_client: httpx.Client, after: str | None,
                                                  wait: str | None, last_event_id: str | bytes | None) -> None:
    """A stream opens (or is refused with a problem), then keeps going: it is not cut
    by a server error, nor does it flood heartbeats (read for 0.6 s)."""
    params = {k: v for k, v in (("after", after), ("wait", wait)) if v is not None}
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    heartbeats = 0
    try:
        with stream_client.stream("GET", "/v1/stream", params=params, headers=headers) as r:
            if r.status_code >= 400:
                r.read()
                assert_problem(r, "stream")
                return
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            assert next(lines).startswith("retry:")
            until = time.monotonic() + 0.6
            for line in lines:
                heartbeats += line == ": keep-alive"
                assert heartbeats <= 25, "heartbeats in a busy loop"  # at most 12 at the shortest wait
                if time.monotonic() > until:
                    break
    except (httpx.InvalidURL, httpx.LocalProtocolError):
        pass  # a header or parameter httpx itself refuses to send
    except httpx.ReadTimeout:
        pass  # still open and waiting: the good outcome
    except httpx.RemoteProtocolError as exc:
        raise AssertionError(f"the server broke the stream: {exc}") from exc


# -- junk in every field ---------------------------------------------------------------
JUNK: list[Any] = [
    None, "", "x" * 5000, "\u00b2", "\x00", "\ud800", -1, 0, 2**63, -(2**70), 1e308, float("nan"),
    float("inf"), True, [], [[]], {}, {"a": {"b": []}}, "2018-02-07T20:00:00", "2018-13-45T99:00:00Z",
]
#: More for path parameters.
PATH_JUNK = ["\u0663", " ", "../..", "%00", "%2F", "a" * 2000, "S4?x=1", "S4#", "-1"]


def paths_in(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path of a JSON document (first and last item of each list)."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*at, k)
            yield from paths_in(v, (*at, k))
    elif isinstance(doc, list) and doc:
        for i in sorted({0, len(doc) - 1}):
            yield (*at, i)
            yield from paths_in(doc[i], (*at, i))


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return out


def without(doc: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]
    return out


def post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    # json.dumps, not httpx's json=: NaN and Infinity go out as the literals they are.
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def bases(running: Running) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(role, path, wrapper key, document) to corrupt: one of each kind of declaration and measure."""
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    seen: set[str] = set()
    for d in running.scenario.declarations:
        if d.kind.value not in seen:
            seen.add(d.kind.value)
            doc = encode_declaration(d)
            doc.pop("owner")
            out.append(("liaison", "/v1/checks", "activity", doc))
    fire = next(c for c in running.scenario.checks if c.id == "C5")  # a fire with a trajectory
    doc = encode_declaration(fire.activity)
    doc.pop("owner")
    out.append(("liaison", "/v1/checks", "activity", doc))
    for m in running.scenario.measures:  # a line, and an air measure with a width and a band
        if m.kind.value in ("deconfliction_line", "air_corridor"):
            seen.add(m.kind.value)
            mdoc = encode_measure(m)
            mdoc["id"] = f"junk-{m.id}"
            out.append(("admin", "/v1/measures", "measure", mdoc))
    return out


def test_junk_in_every_field_of_every_document_is_a_problem_not_a_crash(module_running: Running) -> None:
    r = module_running
    tokens = {"liaison": r.tokens["russia"]["liaison"], "admin": r.admin}
    clients = {k: httpx.Client(base_url=r.url, timeout=30, headers={"Authorization": f"Bearer {t}"})
               for k, t in tokens.items()}
    statuses: Counter[int] = Counter()
    try:
        for role, path, key, doc in bases(r):
            c = clients[role]
            for at in paths_in(doc):
                for body in [without(doc, at), *(replaced(doc, at, v) for v in JUNK)]:
                    resp = post(c, path, {key: body})
                    statuses[resp.status_code] += 1
                    assert_problem(resp, f"{path} {at}")
        # The other bodies, and the path parameters.
        admin, liaison = clients["admin"], clients["liaison"]
        for v in JUNK:
            for c, path, body in (
                (admin, "/v1/admin/parties", {"id": v, "name": v, "kind": v}),
                (admin, "/v1/admin/credentials", {"party": "relief", "member": "m", "role": "viewer", "expires_at": v}),
                (admin, "/v1/admin/credentials", {"party": v, "member": v, "role": "admin"}),
                (liaison, "/v1/activities", {"activity": v, "override_reason": v}),
                (liaison, "/v1/measures/M1/accept", {"version": v}),
                (liaison, "/v1/notifications/x/object", {"comment": v}),
                (liaison, "/v1/checks", v),
            ):
                resp = post(c, path, body)
                statuses[resp.status_code] += 1
                assert_problem(resp, f"{path} {v!r}")
        for v in [x for x in JUNK + PATH_JUNK if isinstance(x, str) and x and x not in ("\x00", "\ud800")]:
            for c, method, path in ((liaison, "GET", "/v1/declarations/"), (liaison, "DELETE", "/v1/declarations/"),
                                    (liaison, "POST", "/v1/notifications/{}/acknowledge"),
                                    (admin, "DELETE", "/v1/admin/credentials/")):
                url = path.format(v) if "{}" in path else path + v
                resp = c.request(method, url)
                statuses[resp.status_code] += 1
                assert_problem(resp, f"{method} {url[:40]}")
    finally:
        for c in clients.values():
            c.close()
    assert statuses[422] > 500 and statuses[200] > 10  # the junk was judged, and some of it was fine


if __name__ == "__main__":
    OPENAPI.parent.mkdir(exist_ok=True)
    OPENAPI.write_text(generated_openapi(), encoding="utf-8")
    print(f"wrote {OPENAPI}")
