"""Probing resistance (issue 9): a hidden declaration's owner is protected
from dry runs that bisect its position: redacted findings carry nothing finer
than the hour, such checks are recorded and budgeted, and the owner is told."""

from __future__ import annotations

from typing import Any

import httpx

from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.open import open_store
from tests.service.conftest import Running

WINDOW = {"start": "2018-02-07T12:07:00Z", "end": "2018-02-07T12:15:00Z"}


def probe(lon: float, lat: float, radius: float = 300.0) -> dict[str, Any]:
    """A fire near sdf's S4 (not shared with russia)."""
    return {"kind": "fire", "target": {"type": "Point", "coordinates": [lon, lat]}, "effects_radius_m": radius,
            "window": WINDOW}


def clear() -> dict[str, Any]:
    return {"kind": "fire", "target": {"type": "Point", "coordinates": [38.0, 37.0]}, "effects_radius_m": 100,
            "window": WINDOW}


def call(running: Running, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{running.url}{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"})


def test_a_redacted_finding_keeps_only_the_kind_the_rule_whom_to_contact_and_the_hour(running: Running) -> None:
    token = running.tokens["russia"]["planner"]
    r = call(running, "POST", "/v1/checks", token, {"activity": probe(40.375, 35.265)})
    assert r.status_code == 200
    [f] = [f for f in r.json()["findings"] if f["object"]["owner"] == "sdf"]
    assert f["kind"] == "conflict" and f["rule"]
    assert f["part"] in ("", None)  # was "effects": "leg 7" of a route located a site in one check
    assert f["overlap"] == {"start": "2018-02-07T12:00:00Z", "end": "2018-02-07T13:00:00Z"}  # was 12:07-12:15
    assert f["time_gap_s"] in (0, None) and f["separation_m"] in (0, None) and f["vertical_gap_m"] is None
    assert "12:07" not in str(f) and "12:15" not in str(f)


def test_probing_checks_are_recorded_budgeted_and_told_to_the_owner(running: Running) -> None:
    russia = running.tokens["russia"]["planner"]
    sdf = running.tokens["sdf"]["liaison"]
    r = call(running, "PUT", "/v1/admin/parties/russia/probe-budget", running.admin, {"limit": 3, "window_s": 3600})
    assert r.status_code == 200 and r.json()["limit"] == 3
    # Checks that touch nothing hidden are not counted.
    for _ in range(4):
        assert call(running, "POST", "/v1/checks", russia, {"activity": clear()}).status_code == 200
    limits = call(running, "GET", "/v1/limits", russia).json()
    assert limits["probe_budget"]["used"] == 0 and limits["probe_budget"]["remaining"] == 3
    assert limits["max_vertices_per_shape"] > 0 and limits["max_waypoints"] > 0
    for i in range(3):
        r = call(running, "POST", "/v1/checks", russia, {"activity": probe(40.375 - i * 1e-3, 35.265)})
        assert r.status_code == 200
    over = call(running, "POST", "/v1/checks", russia, {"activity": probe(40.37, 35.27)})
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) > 0 and over.json()["retry_after_s"] > 0
    assert over.headers["content-type"].startswith("application/problem+json")
    # Every dry run is refused now, not only those near S4: a 200 for the others
    # would say where S4 is not, and the 429 where it is.
    assert call(running, "POST", "/v1/checks", russia, {"activity": clear()}).status_code == 429
    # Other parties are not affected.
    assert call(running, "POST", "/v1/checks", running.tokens["regime"]["planner"],
                {"activity": clear()}).status_code == 200
    # The owner learns who probes and how often, and was told when the budget ran out.
    probed = call(running, "GET", "/v1/probes", sdf).json()
    assert [(p["prober"], p["count"]) for p in probed] == [("russia", 3)]
    assert call(running, "GET", "/v1/probes", russia).json() == []
    notes = call(running, "GET", "/v1/notifications", sdf).json()
    assert [n for n in notes if n["kind"] == "probing" and n["subject"] == "russia"]
    # Nothing of the probe reached the prober's view of the owner's objects.
    assert "40.37" not in over.text


def test_a_refused_submit_is_a_probe_too(running: Running) -> None:
    russia = running.tokens["russia"]["planner"]
    call(running, "PUT", "/v1/admin/parties/russia/probe-budget", running.admin, {"limit": 1, "window_s": 3600})
    first = call(running, "POST", "/v1/activities", russia, {"activity": probe(40.375, 35.265)})
    assert first.status_code == 409
    second = call(running, "POST", "/v1/activities", russia, {"activity": probe(40.374, 35.265)})
    assert second.status_code == 429 and "Retry-After" in second.headers
    # An acceptable activity is still accepted: the budget limits probes, not work.
    assert call(running, "POST", "/v1/activities", russia, {"activity": clear()}).status_code == 201


def test_the_ledger_is_the_logs_every_worker_and_every_restart_sees_it(running: Running) -> None:
    russia = running.tokens["russia"]["planner"]
    call(running, "PUT", "/v1/admin/parties/russia/probe-budget", running.admin, {"limit": 2, "window_s": 3600})
    for i in range(2):
        assert call(running, "POST", "/v1/checks", russia,
                    {"activity": probe(40.375 - i * 1e-3, 35.265)}).status_code == 200
    assert running.path is not None
    with Deconflict(open_store(running.path)) as other:
        hot = Hotline(other)
        who = hot.authenticate(russia)
        status = hot.probe_status(who)
        assert status["used"] == 2 and status["remaining"] == 0 and status["retry_after_s"] > 0
        assert hot.probed(hot.authenticate(running.tokens["sdf"]["viewer"]))[0]["count"] == 2


def test_every_dry_run_is_bounded_too_since_a_no_answer_is_information(running: Running) -> None:
    # Marching towards a hidden site from outside, every "no" was free: only the
    # first "yes" touched it. So dry runs of any kind are bounded per worker.
    from datetime import timedelta

    from deconflict.service.probing import Budget

    running.hotline.probes.check_budget = Budget(3, timedelta(hours=1))
    russia = running.tokens["russia"]["planner"]
    codes = [call(running, "POST", "/v1/checks", russia, {"activity": clear()}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert call(running, "POST", "/v1/checks", running.tokens["regime"]["planner"],
                {"activity": clear()}).status_code == 200
