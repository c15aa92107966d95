"""GET /v1/picture?as_of=: the picture as the service knew it at an instant,
disclosed exactly as the live reads are (deconflict.web.api, mounted by
deconflict.web.mount)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from deconflict.service.disclosure import visible
from deconflict.store.documents import encode_declaration
from tests.service.conftest import Running, start


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start(tmp_path_factory.mktemp("picture") / "server.sqlite3", web=True)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def picture(r: Running, token: str, as_of: str | None = None) -> httpx.Response:
    params = {"as_of": as_of} if as_of is not None else {}
    return httpx.get(f"{r.url}/v1/picture", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def ids(body: dict[str, Any]) -> set[str]:
    return {d["id"] for d in body["declarations"]}


def activity(r: Running, check_id: str, new_id: str) -> dict[str, Any]:
    check = next(c for c in r.scenario.checks if c.id == check_id)
    doc = encode_declaration(check.activity)
    doc.pop("owner")
    doc["id"] = new_id
    return doc


def test_russia_never_sees_s4_in_any_picture_and_the_coalition_does(server: Running) -> None:
    for role in ("viewer", "planner", "liaison"):
        body = picture(server, server.tokens["russia"][role]).json()
        assert {"S1", "S2", "S3", "F1", "V1"} <= ids(body)
        assert "S4" not in ids(body)
        assert "S4" not in str(body) and "Khasham" not in str(body)
    past = picture(server, server.tokens["russia"]["viewer"], iso(datetime.now(UTC))).json()
    assert "S4" not in ids(past)
    assert "S4" in ids(picture(server, server.tokens["coalition"]["viewer"]).json())
    admin = picture(server, server.admin).json()
    assert "S4" in ids(admin)
    assert {m["id"] for m in admin["measures"]["in_force"]} == {"M1", "M2", "M3", "M4"}


def test_before_and_after_a_declaration_was_submitted(server: Running) -> None:
    token = server.tokens["russia"]["viewer"]
    before = datetime.now(UTC)
    time.sleep(0.05)
    with server.client("russia", "planner") as api:
        api.submit(activity(server, "C1", "asof-1"))  # russia:asof-1 (service/namespace.py)
    time.sleep(0.05)
    after = datetime.now(UTC)
    was = picture(server, token, iso(before))
    now = picture(server, token, iso(after))
    assert was.status_code == now.status_code == 200
    assert "russia:asof-1" not in ids(was.json()) and "russia:asof-1" in ids(now.json())
    assert was.json()["seq"] < now.json()["seq"]
    assert now.json()["as_of"].startswith(after.strftime("%Y-%m-%dT%H:%M:%S"))
    # Any offset is the same instant; before anything was recorded, nothing.
    assert "russia:asof-1" in ids(picture(server, token, after.astimezone().isoformat()).json())
    empty = picture(server, token, "2000-01-01T00:00:00Z").json()
    assert empty["declarations"] == [] and empty["measures"] == {"in_force": [], "proposed": []}
    assert empty["seq"] == 0
    # Withdrawn later: still in the picture as it was known before.
    with server.client("russia", "planner") as api:
        api.withdraw("asof-1")
    assert "russia:asof-1" in ids(picture(server, token, iso(after)).json())
    assert "russia:asof-1" not in ids(picture(server, token).json())


def test_proposals_as_they_stood(server: Running) -> None:
    roz = {"id": "asof-roz", "kind": "no_fire_area", "owner": "coalition", "binds": ["russia"],
           "geometry": {"type": "Polygon", "coordinates": [
               [[38.0, 36.5], [38.1, 36.5], [38.1, 36.6], [38.0, 36.6], [38.0, 36.5]]]},
           "window": {"start": "2018-02-07T00:00:00Z", "end": "2018-02-08T00:00:00Z"}}
    token = server.tokens["russia"]["viewer"]
    t0 = datetime.now(UTC)
    time.sleep(0.05)
    with server.client("coalition", "liaison") as coalition:
        assert coalition.propose_measure(roz)["in_force"] is False
    time.sleep(0.05)
    t1 = datetime.now(UTC)
    time.sleep(0.05)
    with server.client("russia", "liaison") as russia:
        assert russia.accept_measure("asof-roz")["in_force"] is True
    time.sleep(0.05)
    t2 = datetime.now(UTC)

    def measures(t: datetime) -> dict[str, Any]:
        return dict(picture(server, token, iso(t)).json()["measures"])

    assert "asof-roz" not in {p["measure"]["id"] for p in measures(t0)["proposed"]}
    [prop] = [p for p in measures(t1)["proposed"] if p["measure"]["id"] == "asof-roz"]
    assert prop["waiting_for"] == ["russia"] and prop["version"] == 1 and prop["accepted_by"] == ["coalition"]
    assert "asof-roz" not in {m["id"] for m in measures(t1)["in_force"]}
    assert "asof-roz" in {m["id"] for m in measures(t2)["in_force"]}
    assert "asof-roz" not in {p["measure"]["id"] for p in measures(t2)["proposed"]}


@pytest.mark.parametrize("bad", ["yesterday", "2018-02-07T20:05:00", "2018-13-45T99:00:00Z", "",
                                 "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "x" * 5000])
def test_a_bad_instant_is_a_422_problem_naming_as_of(server: Running, bad: str) -> None:
    r = picture(server, server.tokens["russia"]["viewer"], bad)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and body["field"] == "as_of"
    assert body["invalid_params"][0]["name"] == "as_of"


def test_no_credential_no_picture(server: Running) -> None:
    r = httpx.get(f"{server.url}/v1/picture", timeout=30)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert picture(server, "dcf_nope_nope").status_code == 401


def test_the_picture_now_is_the_engine_s_state_and_replays_nothing(server: Running) -> None:
    token = server.tokens["russia"]["viewer"]
    assert picture(server, token, "2000-01-01T00:00:00Z").status_code == 200  # a past: the history exists
    history = server.app.state.history
    read = history.events_read
    bodies = [picture(server, token).json() for _ in range(3)]
    assert history.events_read == read  # it was a replay of the whole log, on every call
    full = server.hotline.service.store.state_as_of(datetime.now(UTC))
    assert bodies[0]["seq"] == full.seq
    assert ids(bodies[0]) == {i for i, d in full.declarations.items() if visible(d, "russia")}
    assert {m["id"] for m in bodies[0]["measures"]["in_force"]} == set(full.measures)
    assert bodies[0]["declarations"] == bodies[2]["declarations"]
