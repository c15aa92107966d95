"""Bounded work per request (issue 9): big documents are refused or decided
without stalling anyone else, nothing costly runs under the store's lock, and
what the log vouches for is never validated again."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconflict.geo import shape as shape_module
from deconflict.geo.bounds import Box
from deconflict.geo.shape import MAX_NEAR_PAIRS_PER_EDGE, Shape, ShapeType
from deconflict.model.limits import MAX_VERTICES_PER_SHAPE, MAX_WAYPOINTS
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.documents import decode_declaration
from deconflict.store.sqlite import SQLiteStore
from tests.service.conftest import Running

WINDOW = {"start": "2018-02-07T10:00:00Z", "end": "2018-02-07T11:00:00Z"}


def wiggly_ring(n: int, lon: float = 40.0, lat: float = 35.6, r: float = 0.05) -> list[list[float]]:
    """A closed, simple ring of ``n`` distinct vertices (a circle with waves)."""
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        rr = r * (1 + 0.05 * math.sin(37 * a))
        pts.append([lon + rr * math.cos(a) / math.cos(math.radians(lat)), lat + rr * math.sin(a)])
    return [*pts, pts[0]]


def star_ring(n: int, lon: float = 40.0, lat: float = 35.6) -> list[list[float]]:
    """``n`` / 2 long spikes meeting near the centre: valid, but crowded along both axes."""
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = 0.05 if i % 2 == 0 else 0.0005
        pts.append([lon + r * math.cos(a), lat + r * math.sin(a)])
    return [*pts, pts[0]]


def site(ring: list[list[float]], sid: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "site", "category": "protected", "protection_m": 100, "window": WINDOW,
                           "geometry": {"type": "Polygon", "coordinates": [ring]}}
    if sid:
        doc["id"] = sid
    return doc


def canary(i: int) -> dict[str, Any]:
    return {"kind": "site", "id": f"canary-{i}", "category": "forces", "protection_m": 50, "window": WINDOW,
            "geometry": {"type": "Point", "coordinates": [41.5 + i * 0.01, 36.5]}}


def post(running: Running, path: str, doc: dict[str, Any], timeout: float = 120.0) -> httpx.Response:
    token = running.tokens["coalition"]["planner"]
    body = json.dumps({"activity": doc}, separators=(",", ":"))
    return httpx.post(f"{running.url}{path}", content=body, timeout=timeout,
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_a_4000_vertex_polygon_is_validated_by_a_sweep_not_every_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    original = Box.intersects

    def counted(self: Box, other: Box) -> bool:
        nonlocal calls
        calls += 1
        return original(self, other)

    monkeypatch.setattr(Box, "intersects", counted)
    ring = wiggly_ring(4000)
    Shape.build(ShapeType.POLYGON, [[(p[0], p[1]) for p in ring]])
    # Every pair was 8 million box tests (21 s at 4,000 vertices); a sweep looks
    # at the pairs that overlap along one axis, a handful per edge.
    assert calls <= MAX_NEAR_PAIRS_PER_EDGE * 4000


def test_a_crowded_shape_is_refused_naming_the_field_before_any_pair_is_tested() -> None:
    ring = star_ring(3000)
    with pytest.raises(shape_module.ShapeTooComplex) as e:
        Shape.build(ShapeType.POLYGON, [[(p[0], p[1]) for p in ring]], "geometry.coordinates")
    assert e.value.field == "geometry.coordinates" and "simplify" in e.value.reason


def test_a_self_intersection_found_by_the_sweep_is_still_reported() -> None:
    ring = wiggly_ring(2000)
    # Swap two vertices far apart: the ring now crosses itself there.
    ring[10], ring[1000] = ring[1000], ring[10]
    with pytest.raises(Exception, match="self-intersecting ring"):
        Shape.build(ShapeType.POLYGON, [[(p[0], p[1]) for p in ring]])


def test_over_the_documented_limits_is_refused_before_decoding() -> None:
    big = wiggly_ring(MAX_VERTICES_PER_SHAPE + 10)
    with pytest.raises(Exception) as e:
        decode_declaration({**site(big, "X"), "owner": "coalition"}, "activity")
    assert getattr(e.value, "field", "") == "activity.geometry.coordinates"
    wps = [{"coordinates": [40.0 + i * 1e-4, 35.0], "time": f"2018-02-07T10:{i // 60 % 60:02d}:{i % 60:02d}Z"}
           for i in range(MAX_WAYPOINTS + 1)]
    with pytest.raises(Exception) as e:
        decode_declaration({"kind": "movement", "id": "M", "owner": "coalition", "waypoints": wps}, "activity")
    assert getattr(e.value, "field", "") == "activity.waypoints"


def _holding_lock(hotline: Hotline, work: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``work`` on a thread while this one holds the hotline's lock; whether
    it finished without the lock, and what it returned or raised."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as exc:
            out.append(exc)

    with hotline._lock:
        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(60)
        done = not t.is_alive()
    t.join(60)
    return done, out[0] if out else None


def test_an_invalid_big_polygon_is_refused_without_taking_the_lock(running: Running) -> None:
    ring = wiggly_ring(4000)
    ring[10], ring[1000] = ring[1000], ring[10]  # self-intersecting
    hot = running.hotline
    who = hot.authenticate(running.tokens["coalition"]["planner"])
    decl = decode_declaration({**site(ring, "BIG"), "owner": "coalition"}, "activity")
    # The whole validation ran under the lock on main: every other request waited.
    done, out = _holding_lock(hot, lambda: hot.check(who, decl))
    assert done and "self-intersecting" in str(out)
    done, out = _holding_lock(hot, lambda: hot.submit(who, decl))
    assert done and "self-intersecting" in str(out)


def test_a_4000_and_a_50000_vertex_polygon_while_a_canary_submits(running: Running) -> None:
    answers: dict[str, httpx.Response] = {}

    def send(name: str, path: str, doc: dict[str, Any]) -> None:
        answers[name] = post(running, path, doc)

    big = threading.Thread(target=send, args=("4000", "/v1/activities", site(wiggly_ring(4000), "BIG4K")))
    # Four decimals (11 m) keep 50,000 vertices under the 1 MiB body limit.
    coarse = [[round(x, 4), round(y, 4)] for x, y in wiggly_ring(50_000, r=1.0)]
    huge = threading.Thread(target=send, args=("50000", "/v1/checks", site(coarse)))
    for t in (big, huge):
        t.start()
    canaries = [post(running, "/v1/activities", canary(i)) for i in range(5)]
    for t in (big, huge):
        t.join(300)
    assert [c.status_code for c in canaries] == [201] * 5
    assert answers["4000"].status_code in (201, 409), answers["4000"].text
    refused = answers["50000"]
    assert refused.status_code == 422
    assert refused.json()["field"] == "activity.geometry.coordinates"
    assert f"at most {MAX_VERTICES_PER_SHAPE:,}" in refused.json()["reason"]


@pytest.fixture
def store_with_polygon(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "s.sqlite3"
    from deconflict.model import Party

    with Deconflict(SQLiteStore(path)) as svc:
        svc.add_party(Party("p", "p"))
        svc.declare(decode_declaration({**site(wiggly_ring(1000), "P1"), "owner": "p"}, "d"))
    yield path


def test_what_the_log_vouches_for_is_not_validated_again(store_with_polygon: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[str] = []
    original = Shape._validate_polygon

    def spy(self: Shape, field: str) -> None:
        validated.append(field)
        original(self, field)

    monkeypatch.setattr(Shape, "_validate_polygon", spy)
    # At start, and when a check first needs the stored polygon:
    with Deconflict(SQLiteStore(store_with_polygon)) as one, Deconflict(SQLiteStore(store_with_polygon)) as two:
        probe = decode_declaration({"kind": "fire", "id": "F", "owner": "p", "effects_radius_m": 100,
                                    "window": WINDOW, "target": {"type": "Point", "coordinates": [40.0, 35.6]}},
                                   "d")
        one.check(probe)
        assert validated == []
        # Another worker's accepted polygon, followed from the log:
        one.declare(decode_declaration({**site(wiggly_ring(500, lon=41.0), "P2"), "owner": "p"}, "d"))
        assert len(validated) == 1  # by the worker that accepted it
        two.sync()
        two.check(probe)
        assert len(validated) == 1


def test_the_role_still_comes_first_for_a_big_body(running: Running) -> None:
    token = running.hotline.issue_credential(None, "coalition", "v", Role.VIEWER)[1]
    r = httpx.post(f"{running.url}/v1/activities", json={"activity": site(wiggly_ring(4000))},
                   headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 403
