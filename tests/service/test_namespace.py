"""Declaration ids are namespaced per party (issue 9): an id a party chooses
cannot tell it whether another party holds that id.

S4 is sdf's site not shared with russia; S1 is coalition's site shared with all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from deconflict.codecs.scenario import load_scenario
from deconflict.service.auth import Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.documents import decode_declaration
from deconflict.store.sqlite import SQLiteStore
from tests.conftest import BUNDLED
from tests.service.conftest import Running

WINDOW = {"start": "2018-02-07T12:07:00Z", "end": "2018-02-07T12:15:00Z"}


def far_fire(ident: str | None = None, radius: float = 100.0) -> dict[str, Any]:
    """A fire far from everything in the scenario: clear."""
    doc: dict[str, Any] = {"kind": "fire", "target": {"type": "Point", "coordinates": [38.0, 37.0]},
                           "effects_radius_m": radius, "window": WINDOW}
    if ident is not None:
        doc["id"] = ident
    return doc


def call(running: Running, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{running.url}{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"})


def shape(r: httpx.Response) -> tuple[int, list[str]]:
    """What a submit's answer looks like, without what differs by construction (the id, references)."""
    return r.status_code, sorted(r.json())


def test_an_id_held_by_a_hidden_declaration_is_answered_as_a_free_id(running: Running) -> None:
    russia = running.tokens["russia"]["planner"]
    taken = call(running, "POST", "/v1/activities", russia, {"activity": far_fire("S4")})
    free = call(running, "POST", "/v1/activities", russia, {"activity": far_fire("S4-never-used")})
    # It was 403 "declaration S4 belongs to another party" against 201 for a free id.
    assert taken.status_code == free.status_code == 201, (taken.text, free.text)
    assert shape(taken) == shape(free)
    # Both in russia's namespace, named the same way.
    assert taken.json()["id"] == "russia:S4" and free.json()["id"] == "russia:S4-never-used"
    # sdf's S4 is untouched and still enforced against russia.
    s4 = call(running, "GET", "/v1/declarations/S4", running.tokens["sdf"]["liaison"])
    assert s4.status_code == 200 and s4.json()["owner"] == "sdf"
    # Reading and withdrawing by the chosen id answer the same too.
    for ident in ("S4", "S4-never-used"):
        got = call(running, "GET", f"/v1/declarations/{ident}", russia)
        assert got.status_code == 200 and got.json()["owner"] == "russia"
    for ident in ("S4", "S4-never-used"):
        assert call(running, "DELETE", f"/v1/declarations/{ident}", russia).status_code == 204
    assert call(running, "GET", "/v1/declarations/S4", running.tokens["sdf"]["liaison"]).status_code == 200
    # Gone: the hidden S4 and a never-used id answer alike (404).
    assert call(running, "GET", "/v1/declarations/S4", russia).status_code == 404
    assert call(running, "GET", "/v1/declarations/S4-never-used", russia).status_code == 404


def test_a_party_amends_its_own_declaration_by_the_id_it_chose(running: Running) -> None:
    russia = running.tokens["russia"]["planner"]
    first = call(running, "POST", "/v1/activities", russia, {"activity": far_fire("F9")})
    again = call(running, "POST", "/v1/activities", russia, {"activity": far_fire("F9", radius=150)})
    qualified = call(running, "POST", "/v1/activities", russia, {"activity": far_fire("russia:F9", radius=200)})
    assert first.status_code == again.status_code == qualified.status_code == 201
    assert first.json()["id"] == again.json()["id"] == qualified.json()["id"] == "russia:F9"
    mine = [d for d in call(running, "GET", "/v1/declarations?owner=russia", russia).json() if "F9" in d["id"]]
    assert [(d["id"], d["effects_radius_m"]) for d in mine] == [("russia:F9", 200)]


def test_another_party_s_namespace_is_refused_by_its_name_alone(running: Running) -> None:
    russia = running.tokens["russia"]["planner"]
    # sdf:S4 exists nowhere and sdf:anything is refused alike: the answer depends on the name only.
    answers = [call(running, "POST", "/v1/activities", russia, {"activity": far_fire(i)})
               for i in ("sdf:S4", "sdf:never-used")]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json()["detail"].replace("S4", "X") == answers[1].json()["detail"].replace("never-used", "X")


def test_a_visible_declaration_of_another_party_is_read_by_its_id(running: Running) -> None:
    russia = running.tokens["russia"]["planner"]
    s1 = call(running, "GET", "/v1/declarations/S1", russia)
    assert s1.status_code == 200 and s1.json()["owner"] == "coalition"
    # russia may name its own activity S1 too: it is russia:S1, and S1 stays coalition's. A
    # visible id is read as given; the caller's own comes when it names nothing it may see.
    assert call(running, "POST", "/v1/activities", russia, {"activity": far_fire("S1")}).json()["id"] == "russia:S1"
    assert call(running, "GET", "/v1/declarations/S1", russia).json()["owner"] == "coalition"
    assert call(running, "GET", "/v1/declarations/russia:S1", russia).json()["owner"] == "russia"
    assert call(running, "DELETE", "/v1/declarations/S1", russia).status_code == 403  # visible: it knows whose
    assert call(running, "DELETE", "/v1/declarations/russia:S1", russia).status_code == 204
    sdf = running.tokens["sdf"]["liaison"]
    assert call(running, "GET", "/v1/declarations/S1", sdf).json()["owner"] == "coalition"


def test_the_core_namespaces_ids_whatever_the_adapter(tmp_path: Path) -> None:
    """The in-process hotline, which every adapter calls, answered 403 "belongs to
    another party" for russia's submit of sdf's hidden S4 (only HTTP namespaced
    ids), so any adapter that forgot to qualify ids had the oracle back."""
    scenario = load_scenario(BUNDLED)
    with Deconflict(SQLiteStore(tmp_path / "s.sqlite3")) as service:
        service.apply([Change(party=p) for p in scenario.parties] + [Change(measure=m) for m in scenario.measures]
                      + [Change(declaration=d) for d in scenario.declarations])
        hotline = Hotline(service)
        russia = hotline.authenticate(hotline.issue_credential(None, "russia", "ops", Role.PLANNER)[1])
        answers = {}
        for ident in ("S4", "S4-never-used"):
            checked = hotline.check(russia, decode_declaration(far_fire(ident), "activity", owner="russia"))
            created, submitted = hotline.submit(russia, decode_declaration(far_fire(ident), "activity", owner="russia"))
            answers[ident] = (checked["verdict"], created, submitted["id"])
        assert answers == {"S4": ("clear", True, "russia:S4"),
                           "S4-never-used": ("clear", True, "russia:S4-never-used")}
        assert service.engine.get_declaration("S4").owner == "sdf"  # untouched
        hotline.stop_committer()
