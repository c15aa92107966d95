"""Coordination measures are agreed, not imposed (unless an administrator imposes them).

A measure its owner proposes that binds other parties is in force only when
every bound party has accepted it; until then checks ignore it. A new version
of a measure goes through agreement again while the old version stays in force.
"""

from __future__ import annotations

from typing import Any

import pytest

from deconflict.service.client import Client, ProblemError
from tests.service.conftest import Running

WINDOW = {"start": "2018-02-14T06:00:00Z", "end": "2018-02-14T18:00:00Z"}
OTHERS = ["regime", "relief", "russia", "sdf"]  # bound by a coalition measure binding all_but_owner


def square(x: float, y: float, d: float = 0.1) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


OLD_AREA = (38.0, 36.5)
NEW_AREA = (38.4, 36.5)


def roz(mid: str, where: tuple[float, float] = OLD_AREA, *, owner: str = "coalition",
        binds: Any = "all_but_owner") -> dict[str, Any]:
    return {"id": mid, "kind": "restricted_operations_zone", "owner": owner, "binds": binds,
            "label": f"ROZ {mid}", "geometry": square(*where),
            "altitude": {"lower_m": 1000, "upper_m": 3000}, "window": WINDOW}


def flight_through(where: tuple[float, float]) -> dict[str, Any]:
    x, y = where
    return {"kind": "flight", "geometry": {"type": "LineString", "coordinates": [[x - 0.05, y + 0.05],
                                                                               [x + 0.15, y + 0.05]]},
            "half_width_m": 200, "altitude": {"lower_m": 2000, "upper_m": 2500},
            "window": {"start": "2018-02-14T09:00:00Z", "end": "2018-02-14T10:00:00Z"}}


def fire_at(where: tuple[float, float]) -> dict[str, Any]:
    x, y = where
    return {"kind": "fire", "target": {"type": "Point", "coordinates": [x + 0.05, y + 0.05]},
            "effects_radius_m": 100, "window": {"start": "2018-02-14T09:00:00Z", "end": "2018-02-14T09:30:00Z"}}


def findings_on(result: dict[str, Any], mid: str) -> set[str]:
    return {f["kind"] for f in result["findings"] if f["object"]["id"] == mid}


def verdict_for(running: Running, party: str, activity: dict[str, Any], mid: str) -> set[str]:
    with running.client(party, "planner") as c:
        return findings_on(c.check(activity), mid)


def in_force(running: Running, mid: str) -> dict[str, Any] | None:
    with running.client("relief", "viewer") as v:
        return next((m for m in v.measures()["in_force"] if m["id"] == mid), None)


def proposed(running: Running, mid: str) -> dict[str, Any] | None:
    with running.client("relief", "viewer") as v:
        return next((p for p in v.measures()["proposed"] if p["measure"]["id"] == mid), None)


def test_a_proposed_measure_binds_nobody_until_every_bound_party_accepts(running: Running) -> None:
    with running.client("coalition") as coalition:
        out = coalition.propose_measure(roz("roz-agreed"))
    assert out == {"id": "roz-agreed", "version": 1, "in_force": False, "waiting_for": OTHERS}
    assert in_force(running, "roz-agreed") is None
    assert proposed(running, "roz-agreed")["waiting_for"] == OTHERS
    flight = flight_through(OLD_AREA)
    assert verdict_for(running, "russia", flight, "roz-agreed") == set()
    for i, party in enumerate(OTHERS):
        with running.client(party) as c:
            answer = c.accept_measure("roz-agreed", 1)
        last = i == len(OTHERS) - 1
        assert answer["in_force"] is last
        assert answer["waiting_for"] == ([] if last else OTHERS[i + 1:])
        if not last:
            assert verdict_for(running, "russia", flight, "roz-agreed") == set(), f"in force before {OTHERS[i + 1]}"
    assert verdict_for(running, "russia", flight, "roz-agreed") == {"violation"}
    assert in_force(running, "roz-agreed") is not None and proposed(running, "roz-agreed") is None
    # The owner is not bound by a measure binding all but its owner.
    assert verdict_for(running, "coalition", flight, "roz-agreed") == set()


def test_proposing_notifies_exactly_the_bound_parties(running: Running) -> None:
    with running.client("coalition") as coalition:
        coalition.propose_measure(roz("roz-told", binds=["russia", "relief"]))
    told = {n.party: n for n in running.hotline.inbox.all() if n.subject == "roz-told"}
    assert set(told) == {"russia", "relief"}
    for n in told.values():
        assert n.kind.value == "measure_proposed" and n.from_party == "coalition"
        assert n.detail["version"] == 1 and n.detail["measure"]["id"] == "roz-told"
    with running.client("relief") as relief:
        [note] = [n for n in relief.notifications() if n["subject"] == "roz-told"]
    assert "roz-told" in note["summary"] and note["status"] == "delivered"


def test_a_measure_binding_only_its_owner_is_in_force_at_once(running: Running) -> None:
    nfa = {"id": "nfa-self", "kind": "no_fire_area", "binds": ["russia"], "geometry": square(*OLD_AREA),
           "window": WINDOW}
    with running.client("russia") as russia:
        out = russia.propose_measure(nfa)
    assert out["in_force"] is True and out["waiting_for"] == []
    assert in_force(running, "nfa-self")["owner"] == "russia"
    assert verdict_for(running, "russia", fire_at(OLD_AREA), "nfa-self") == {"violation"}
    assert verdict_for(running, "regime", fire_at(OLD_AREA), "nfa-self") == set()  # not bound
    assert not [n for n in running.hotline.inbox.all() if n.subject == "nfa-self"]


def test_a_deconfliction_line_binding_another_party_waits_for_it(running: Running) -> None:
    line = {"id": "line-pair", "kind": "deconfliction_line", "owner": "coalition",
            "geometry": {"type": "LineString", "coordinates": [[38.0, 36.0], [38.0, 37.0]]},
            "sides": {"coalition": "right", "regime": "left"}, "window": WINDOW}
    with running.client("coalition") as coalition:
        assert coalition.propose_measure(line)["waiting_for"] == ["regime"]
    across = fire_at((38.02, 36.4))  # east of a line running north: its right, the coalition's side
    assert verdict_for(running, "regime", across, "line-pair") == set()
    with running.client("regime") as regime:
        assert regime.accept_measure("line-pair")["in_force"] is True
    assert verdict_for(running, "regime", across, "line-pair") == {"violation"}


def test_a_measure_imposed_by_the_administrator_is_in_force_at_once(running: Running) -> None:
    with running.as_admin() as admin:
        out = admin.propose_measure(roz("roz-imposed"))
    assert out["in_force"] is True and out["waiting_for"] == []
    assert verdict_for(running, "russia", flight_through(OLD_AREA), "roz-imposed") == {"violation"}
    [event] = [e for e in running.hotline.service.store.events()
               if e.type == "agreement.in_force" and e.subject == "roz-imposed"]
    assert event.payload["imposed"] is True


def test_a_new_version_is_agreed_again_while_the_old_one_stays_in_force(running: Running) -> None:
    with running.as_admin() as admin:
        admin.propose_measure(roz("roz-moved", binds=["russia", "sdf"]))
    old, new = flight_through(OLD_AREA), flight_through(NEW_AREA)
    assert verdict_for(running, "russia", old, "roz-moved") == {"violation"}
    assert verdict_for(running, "russia", new, "roz-moved") == set()

    with running.client("coalition") as coalition:
        out = coalition.propose_measure(roz("roz-moved", NEW_AREA, binds=["russia", "sdf"]))
    assert out == {"id": "roz-moved", "version": 2, "in_force": False, "waiting_for": ["russia", "sdf"]}
    assert in_force(running, "roz-moved")["geometry"] == square(*OLD_AREA)
    assert proposed(running, "roz-moved")["version"] == 2
    assert verdict_for(running, "russia", old, "roz-moved") == {"violation"}  # the old one still binds
    assert verdict_for(running, "russia", new, "roz-moved") == set()

    with running.client("russia") as russia:
        with pytest.raises(ProblemError) as stale:
            russia.accept_measure("roz-moved", 1)
        assert stale.value.status == 422
        assert russia.accept_measure("roz-moved", 2)["waiting_for"] == ["sdf"]
    assert verdict_for(running, "russia", old, "roz-moved") == {"violation"}
    with running.client("sdf") as sdf:
        assert sdf.accept_measure("roz-moved", 2)["in_force"] is True
    assert verdict_for(running, "russia", old, "roz-moved") == set()
    assert verdict_for(running, "russia", new, "roz-moved") == {"violation"}
    assert in_force(running, "roz-moved")["geometry"] == square(*NEW_AREA)
    assert proposed(running, "roz-moved") is None


def test_a_newer_proposal_restarts_the_agreement(running: Running) -> None:
    with running.client("coalition") as coalition:
        coalition.propose_measure(roz("roz-redo", binds=["russia", "sdf"]))
        with running.client("sdf") as sdf:
            assert sdf.accept_measure("roz-redo", 1)["waiting_for"] == ["russia"]
        out = coalition.propose_measure(roz("roz-redo", NEW_AREA, binds=["russia", "sdf"]))
    assert out["version"] == 2 and out["waiting_for"] == ["russia", "sdf"]  # sdf agreed to version 1 only
    with running.client("russia") as russia:
        assert russia.accept_measure("roz-redo")["in_force"] is False
    assert in_force(running, "roz-redo") is None


@pytest.mark.parametrize("mid", ["M2", "roz-pending"])
def test_a_party_cannot_take_over_another_partys_measure(running: Running, mid: str) -> None:
    """Proposing a measure under an id another party owns (in force or proposed) is refused."""
    with running.client("coalition") as coalition:
        coalition.propose_measure(roz("roz-pending", binds=["sdf"]))
    before = in_force(running, mid)
    with running.client("russia") as russia, pytest.raises(ProblemError) as e:
        russia.propose_measure(roz(mid, NEW_AREA, owner="russia", binds=["russia"]))
    assert e.value.status == 403
    assert in_force(running, mid) == before
    if mid == "roz-pending":
        assert proposed(running, mid)["measure"]["owner"] == "coalition"


def test_accepting_needs_a_liaison_of_a_bound_party(running: Running) -> None:
    with running.client("coalition") as coalition:
        coalition.propose_measure(roz("roz-who", binds=["russia"]))
    for token, status in ((running.tokens["russia"]["planner"], 403), (running.tokens["sdf"]["liaison"], 403),
                          (running.admin, 403)):
        with Client(running.url, token) as c, pytest.raises(ProblemError) as e:
            c.accept_measure("roz-who")
        assert e.value.status == status
    assert proposed(running, "roz-who")["waiting_for"] == ["russia"]
