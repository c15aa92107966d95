"""Dry runs in flight are bounded per process and per party (service/admission.py):
past the party's share a check is 429, past the process's 503, both at once with
Retry-After and a problem naming the body; the checks in flight still answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconflict.service.admission import CheckLimits, CheckSlots, TooManyChecks
from tests.service.conftest import Running, start

WINDOW = {"start": "2018-02-07T12:07:00Z", "end": "2018-02-07T12:15:00Z"}
CLEAR = {"kind": "fire", "target": {"type": "Point", "coordinates": [38.0, 37.0]}, "effects_radius_m": 100,
         "window": WINDOW}


@pytest.fixture
def limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.setenv("DECONFLICT_CHECKS_PER_WORKER", "2")
    monkeypatch.setenv("DECONFLICT_CHECKS_PER_PARTY", "1")
    yield from start(tmp_path / "s.sqlite3")


def check(running: Running, party: str) -> httpx.Response:
    return httpx.post(f"{running.url}/v1/checks", json={"activity": CLEAR}, timeout=30,
                      headers={"Authorization": f"Bearer {running.tokens[party]['planner']}"})


def test_checks_past_the_party_s_share_are_429_and_past_the_process_s_503(limited: Running) -> None:
    slots: CheckSlots = limited.app.state.checks
    assert (slots.limits.per_worker, slots.limits.per_party) == (2, 1)
    held: list[httpx.Response] = []

    def held_check(party: str) -> threading.Thread:
        t = threading.Thread(target=lambda: held.append(check(limited, party)))
        t.start()
        deadline = time.monotonic() + 20
        while slots.in_flight(party) < 1:
            assert time.monotonic() < deadline, "the check never started"
            time.sleep(0.005)
        return t

    # The hotline's lock held here: an admitted check waits inside, holding its slot.
    with limited.hotline._lock:
        first = held_check("russia")
        again = check(limited, "russia")  # russia's share (1) is taken
        second = held_check("coalition")
        busy = check(limited, "sdf")  # the process's (2) is taken
        assert slots.in_flight() == 2
    for t in (first, second):
        t.join(30)
    assert again.status_code == 429 and busy.status_code == 503
    for r in (again, busy):
        assert r.headers["Retry-After"] == "1" and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == "body" and r.json()["retry_after_s"] == 1
    assert "russia" in again.json()["detail"] and "sdf" not in busy.json()["detail"]
    assert [r.status_code for r in held] == [200, 200]
    # Slots are given back: everyone checks again.
    assert [check(limited, p).status_code for p in ("russia", "coalition", "sdf")] == [200, 200, 200]
    assert slots.in_flight() == 0 and slots.refused == {"party": 1, "worker": 1}
    limits = httpx.get(f"{limited.url}/v1/limits", timeout=30,
                       headers={"Authorization": f"Bearer {limited.tokens['sdf']['viewer']}"}).json()
    assert limits["checks_in_flight_per_worker"] == 2 and limits["checks_in_flight_per_party"] == 1


def test_a_refused_check_holds_no_slot() -> None:
    slots = CheckSlots(CheckLimits(per_worker=3, per_party=1))
    with slots.admit("a"):
        for _ in range(5):
            with pytest.raises(TooManyChecks) as e, slots.admit("a"):
                pass
            assert not e.value.busy
        assert slots.in_flight("a") == 1 and slots.in_flight() == 1
    assert slots.in_flight() == 0

    def boom() -> Any:
        with slots.admit("b"):
            raise ValueError("the check failed")

    with pytest.raises(ValueError):
        boom()
    assert slots.in_flight() == 0  # an error gives the slot back too
