"""Many parties at once: acceptance is serialisable.

Threads, each with its own HTTP client and its own party's credential, submit
mutually conflicting activities in one small area at the same instant (a
barrier releases them together). Of every set of activities that conflict
with each other at most one side may be accepted; nothing may fail with 5xx.
What was accepted is verified through the API and in the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deconflict.service.client import Client
from tests.service.conftest import Running

THREADS = 24
WINDOW = {"start": "2018-02-10T10:00:00Z", "end": "2018-02-10T11:00:00Z"}
POINT = [38.6, 35.6]  # far from every declaration and measure of the scenario


def add_parties(running: Running, prefix: str, n: int) -> list[str]:
    """``n`` new parties, each with a planner token (added to ``running.tokens``)."""
    ids = [f"{prefix}{i:02d}" for i in range(n)]
    with running.as_admin() as admin:
        for pid in ids:
            admin.add_party(pid, kind="armed_force")
            running.tokens[pid] = {"planner": admin.issue_credential(pid, "ops", "planner")["token"]}
    return ids


def box(dx: float) -> dict[str, Any]:
    x, y = POINT[0] + dx, POINT[1]
    return {"type": "Polygon", "coordinates": [[[x, y], [x + 0.05, y], [x + 0.05, y + 0.05], [x, y + 0.05], [x, y]]]}


Job = tuple[str, str, dict[str, Any], dict[str, str]]  # token, path, body, headers


def hammer(running: Running, jobs: list[Job]) -> list[tuple[int, Any]]:
    """Send every job from its own thread and client, all released at once."""
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[int, Any] | None] = [None] * len(jobs)
    clients = [httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {tok}"}, timeout=30.0)
               for tok, *_ in jobs]

    def run(i: int) -> None:
        _tok, path, body, headers = jobs[i]
        barrier.wait(timeout=20)
        try:
            r = clients[i].post(path, json=body, headers=headers)
            results[i] = (r.status_code, r.json())
        except httpx.HTTPError as exc:  # recorded, so the test fails with the reason
            results[i] = (-1, repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()
    assert all(r is not None for r in results), "a thread did not finish"
    out = [r for r in results if r is not None]
    assert not [r for r in out if r[0] >= 500 or r[0] < 0], out
    return out


def accepted_in_store(running: Running, ids: set[str]) -> set[str]:
    return {d.id for d in running.hotline.service.store.declarations() if d.id in ids}


def accepted_via_api(running: Running, ids: set[str]) -> set[str]:
    with running.as_admin() as admin:
        return {d["id"] for d in admin.declarations() if d["id"] in ids}


def accepted_events(running: Running, ids: set[str]) -> list[str]:
    return [e.subject for e in running.hotline.service.store.events()
            if e.type == "activity.accepted" and e.subject in ids]


@pytest.fixture(autouse=True)
def bounded_in_time() -> Iterator[None]:
    t0 = time.monotonic()
    yield
    assert time.monotonic() - t0 < 30, "the race took too long"


def test_conflicting_flights_from_many_parties_one_wins(running: Running) -> None:
    parties = add_parties(running, "air", THREADS)
    jobs: list[Job] = []
    for i, pid in enumerate(parties):
        flight = {"id": f"{pid}:race-flight-{pid}", "kind": "flight", "geometry": box(0.002 * i),
                  "altitude": {"lower_m": 3000 + 10 * i, "upper_m": 4000}, "window": WINDOW}
        jobs.append((running.tokens[pid]["planner"], "/v1/activities", {"activity": flight}, {}))
    results = hammer(running, jobs)
    ids = {f"{p}:race-flight-{p}" for p in parties}  # each in its namespace
    winners = [body["id"] for status, body in results if status == 201]
    assert len(winners) == 1, results
    refused = [body for status, body in results if status == 409]
    assert len(refused) == THREADS - 1
    for body in refused:  # refused for the winner, and only for it
        assert body["result"]["verdict"] == "conflict"
        assert {f["object"]["id"] for f in body["result"]["findings"] if f["kind"] == "conflict"} == set(winners)
    assert accepted_via_api(running, ids) == set(winners)
    assert accepted_in_store(running, ids) == set(winners)
    assert accepted_events(running, ids) == winners


def test_sites_and_fires_on_them_never_both_accepted(running: Running) -> None:
    """Half the parties declare a troop position at one point, the other half fire on it."""
    parties = add_parties(running, "gnd", THREADS)
    jobs: list[Job] = []
    kinds: dict[str, str] = {}
    for i, pid in enumerate(parties):
        pos = {"type": "Point", "coordinates": [POINT[0] + 0.0001 * i, POINT[1]]}  # all within 250 m
        if i % 2:
            # A patrol on the spot, not a site: presence is never refused (issue 8).
            (lon, lat) = pos["coordinates"]
            doc = {"id": f"{pid}:race-site-{pid}", "kind": "movement", "half_width_m": 500, "window": WINDOW,
                   "geometry": {"type": "LineString", "coordinates": [[lon - 1e-6, lat], [lon + 1e-6, lat]]}}
        else:
            doc = {"id": f"{pid}:race-fire-{pid}", "kind": "fire", "target": pos, "effects_radius_m": 300,
                   "window": WINDOW}
        kinds[doc["id"]] = doc["kind"]
        jobs.append((running.tokens[pid]["planner"], "/v1/activities", {"activity": doc}, {}))
    results = hammer(running, jobs)
    winners = {body["id"] for status, body in results if status == 201}
    # The first accepted decides: every activity of its kind is accepted (patrols do not
    # conflict with patrols, nor fires with fires), every one of the other kind refused.
    assert len({kinds[w] for w in winners}) == 1, winners
    assert len(winners) == THREADS // 2
    for status, body in results:
        assert status in (201, 409), body
        if status == 409:
            hit = {f["object"]["id"] for f in body["result"]["findings"] if f["kind"] == "conflict"}
            assert hit and hit <= winners, body
    assert accepted_via_api(running, set(kinds)) == winners
    assert accepted_in_store(running, set(kinds)) == winners
    assert sorted(accepted_events(running, set(kinds))) == sorted(winners)


def test_one_idempotency_key_sent_many_times_at_once_creates_one_activity(running: Running) -> None:
    fire = {"kind": "fire", "target": {"type": "Point", "coordinates": POINT}, "effects_radius_m": 100,
            "window": WINDOW}
    token = running.tokens["regime"]["planner"]
    results = hammer(running, [(token, "/v1/activities", {"activity": fire}, {"Idempotency-Key": "once"})] * 16)
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] * 15 + [201]
    assert all(b == results[0][1] for _, b in results)  # the very same answer each time
    [aid] = {b["id"] for _, b in results}
    assert accepted_events(running, {aid}) == [aid]


def test_same_body_from_many_parties_each_get_their_own_activity(running: Running) -> None:
    """Ids given by the server must not collide between parties, keyed or not."""
    parties = add_parties(running, "twin", 12)
    fire = {"kind": "fire", "target": {"type": "Point", "coordinates": POINT}, "effects_radius_m": 100,
            "window": WINDOW}
    jobs: list[Job] = [(running.tokens[p]["planner"], "/v1/activities", {"activity": fire},
                        {"Idempotency-Key": "k"} if i % 2 else {}) for i, p in enumerate(parties)]
    results = hammer(running, jobs)
    # Fires do not conflict with fires: every one is accepted, each as its own declaration.
    assert [s for s, _ in results] == [201] * len(parties), results
    ids = {b["id"] for _, b in results}
    assert len(ids) == len(parties)
    with running.as_admin() as admin:
        owners = {d["id"]: d["owner"] for d in admin.declarations() if d["id"] in ids}
    assert sorted(owners.values()) == sorted(parties)
    # The same party, the same body, another key: a second activity, not a replacement.
    with Client(running.url, running.tokens[parties[1]]["planner"]) as one:
        again = one.submit(fire, idempotency_key="another key")
    assert again["id"] not in ids


def test_bound_parties_accepting_at_once_put_a_measure_in_force_once(running: Running) -> None:
    bound = ["sdf", "russia", "regime", "relief"]
    roz = {"id": "race-roz", "kind": "restricted_operations_zone", "owner": "coalition", "binds": bound,
           "geometry": box(0.5), "altitude": {"lower_m": 0, "upper_m": 9000}, "window": WINDOW}
    with running.client("coalition") as coalition:
        assert coalition.propose_measure(roz)["waiting_for"] == sorted(bound)
    results = hammer(running, [(running.tokens[p]["liaison"], "/v1/measures/race-roz/accept", {"version": 1}, {})
                               for p in bound])
    assert [s for s, _ in results] == [200] * len(bound)
    assert sum(1 for _, b in results if b["in_force"]) == 1
    in_force = [e for e in running.hotline.service.store.events()
                if e.type == "agreement.in_force" and e.subject == "race-roz"]
    assert len(in_force) == 1
    assert "race-roz" in {m.id for m in running.hotline.service.measures()}


def test_readers_during_writes_see_no_errors(running: Running) -> None:
    """Reads (lists, notifications, measures) racing with writes: never a 5xx."""
    paths = ["/v1/declarations", "/v1/notifications", "/v1/measures", "/v1/parties"]
    stop = threading.Event()
    bad: list[str] = []

    def read(token: str) -> None:
        with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            while not stop.is_set():
                for p in paths:
                    r = c.get(p)
                    if r.status_code != 200:
                        bad.append(f"{p}: {r.status_code} {r.text[:200]}")

    readers = [threading.Thread(target=read, args=(running.tokens[p]["viewer"],))
               for p in ("coalition", "sdf", "russia", "regime")]
    for t in readers:
        t.start()
    try:
        parties = add_parties(running, "mix", THREADS)
        jobs: list[Job] = [(running.tokens[p]["planner"], "/v1/activities", {"activity": {
            "id": f"mix-{p}", "kind": "flight", "geometry": box(1.0), "altitude": {"lower_m": 0, "upper_m": 100},
            "window": WINDOW}}, {}) for p in parties]
        results = hammer(running, jobs)
    finally:
        stop.set()
        for t in readers:
            t.join(10)
    assert sorted(s for s, _ in results) == [201] + [409] * (THREADS - 1)
    assert bad == []
