"""Nothing in force changes unnoticed (issue 8, scenario c): a measure agreed,
changed or withdrawn over accepted activities re-checks them and tells both sides.

The re-check looks only at candidates near the measure (bounded work); the
property test holds it to the brute force over every declaration in force."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from deconflict.codecs.scenario import load_scenario
from deconflict.engine import Engine
from deconflict.model import Binds, Fire, Measure, MeasureKind, Point, Polygon, Window
from deconflict.model.geometry import LineString
from deconflict.model.measure import BindsMode, Side
from deconflict.service.recheck import candidates, findings_about
from tests.conftest import BUNDLED
from tests.geo.strategies import PROPERTY
from tests.service.conftest import Running
from tests.service.test_notifications import activity_doc

AROUND_F7 = {"type": "Polygon", "coordinates": [[[40.03, 35.18], [40.07, 35.18], [40.07, 35.22], [40.03, 35.22],
                                                  [40.03, 35.18]]]}
ELSEWHERE = {"type": "Polygon", "coordinates": [[[40.53, 35.18], [40.57, 35.18], [40.57, 35.22], [40.53, 35.22],
                                                  [40.53, 35.18]]]}


def nfa(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"id": "X1", "kind": "no_fire_area", "owner": "relief", "label": "School NFA", "binds": ["russia"],
            "geometry": geometry, "window": {"start": "2018-02-07T00:00:00Z", "end": "2018-02-08T00:00:00Z"}}


def test_an_nfa_agreed_over_an_accepted_fire_tells_both_parties(running: Running) -> None:
    with running.client("russia") as russia, running.client("relief") as relief:
        fire = russia.submit(activity_doc(running, "C1", id="F7"))
        assert fire["verdict"] == "clear"
        assert relief.propose_measure(nfa(AROUND_F7))["waiting_for"] == ["russia"]
        assert russia.accept_measure("X1")["in_force"] is True

        [mine] = [n for n in russia.notifications() if n["kind"] == "recheck"]
        assert mine["subject"] == "russia:F7" and mine["needs_answer"] is True and mine["urgent"] is True
        assert mine["summary"].startswith(f"your accepted fire russia:F7 'Strike west of the river' "
                                          f"({fire['reference']}) now violates no fire area X1 'School NFA', "
                                          "in force since ")
        assert mine["detail"]["findings"][0]["object"]["id"] == "X1" and mine["detail"]["before"] == []
        [theirs] = [n for n in relief.notifications() if n["kind"] == "recheck"]
        assert theirs["summary"].startswith("russia's accepted fire russia:F7") and theirs["needs_answer"] is False
        # The accepted fire carries its current findings, not those it had at submit.
        view = russia.activity("F7")
        assert view["at_submit"]["verdict"] == "clear" and view["current"]["verdict"] == "violation"

        # The log names the proposer as the actor that put it in force, and who completed it.
        events = [e for e in running.hotline.service.store.events() if e.subject == "X1"]
        [in_force] = [e for e in events if e.type == "agreement.in_force"]
        assert in_force.actor == "relief" and in_force.payload["completed_by"] == "russia"
        assert [e.actor for e in events if e.type == "measure.added"] == ["relief"]
        # And the measures in force list their agreement history.
        listed = russia.measures()["agreements"]["X1"]
        assert listed["put_in_force_by"] == "relief" and listed["accepted_by"] == ["relief", "russia"]
        assert [s["event"] for s in listed["history"]][:2] == ["agreement.proposed", "agreement.accepted"]

        # Changed out of the way: the fire no longer violates it, and russia is told.
        relief.propose_measure(nfa(ELSEWHERE))
        russia.accept_measure("X1")
        [cleared] = [n for n in russia.notifications() if n["kind"] == "recheck" and n["id"] != mine["id"]]
        assert "no longer has a finding under no fire area X1" in cleared["summary"]
        assert "changed since" in cleared["summary"] and cleared["needs_answer"] is False

        # Back over the fire, then withdrawn by its owner: both told.
        relief.propose_measure(nfa(AROUND_F7))
        russia.accept_measure("X1")
        before = {n["id"] for n in russia.notifications()}
        assert relief.withdraw_measure("X1")["told"] == ["russia"]
        new = [n for n in russia.notifications() if n["id"] not in before]
        assert {n["kind"] for n in new} == {"recheck", "measure_withdrawn"}
        assert "X1" not in {m["id"] for m in russia.measures()["in_force"]}
        assert russia.activity("F7")["current"]["verdict"] == "clear"


def test_an_imposed_measure_rechecks_too(running: Running) -> None:
    with running.client("russia") as russia, running.as_admin() as admin:
        russia.submit(activity_doc(running, "C1", id="F7"))
        admin.propose_measure(nfa(AROUND_F7))
        assert [n["subject"] for n in russia.notifications() if n["kind"] == "recheck"] == ["russia:F7"]


# -- the candidates never miss what the brute force finds --------------------------------------
T0 = datetime(2018, 2, 7, tzinfo=UTC)


@st.composite
def fires(draw: st.DrawFn, i: int) -> Fire:
    lon = draw(st.floats(39.5, 41.0))
    lat = draw(st.floats(34.6, 35.9))
    start = T0 + timedelta(minutes=draw(st.integers(0, 24 * 60)))
    return Fire(id=f"f{i}", owner=draw(st.sampled_from(["russia", "regime", "coalition", "sdf"])),
                window=Window(start, start + timedelta(minutes=draw(st.integers(1, 120)))),
                target=Point(lon, lat), effects_radius_m=draw(st.floats(0, 3000)))


@st.composite
def measures(draw: st.DrawFn) -> Measure:
    kind = draw(st.sampled_from([MeasureKind.NO_FIRE_AREA, MeasureKind.RESTRICTIVE_FIRE_AREA,
                                 MeasureKind.DECONFLICTION_LINE]))
    start = T0 + timedelta(minutes=draw(st.integers(0, 24 * 60)))
    window = Window(start, start + timedelta(minutes=draw(st.integers(1, 24 * 60))))
    lon, lat = draw(st.floats(39.9, 40.6)), draw(st.floats(35.0, 35.5))
    d = draw(st.floats(0.005, 0.3))
    if kind is MeasureKind.DECONFLICTION_LINE:
        # A line's reach is bounded (application_m, or an area of application), and
        # the fires are drawn both within and beyond it: the candidates are bounded
        # by that reach, not by the globe, and must still miss nothing.
        reach = draw(st.sampled_from(["default", "metres", "area"]))
        extra: dict[str, object] = {}
        if reach == "metres":
            extra["application_m"] = draw(st.floats(500, 20_000))
        elif reach == "area":
            a = draw(st.floats(0.01, 0.4))
            extra["application_area"] = Polygon((((lon - a, lat - a), (lon + a, lat - a), (lon + a, lat + a),
                                                  (lon - a, lat + a), (lon - a, lat - a)),))
        return Measure(id="XM", kind=kind, owner="coalition", window=window,
                       geometry=LineString(((lon, lat - d), (lon + d / 3, lat + d))),
                       sides=(("coalition", Side.LEFT), ("russia", Side.RIGHT), ("regime", Side.RIGHT)),
                       **extra)  # type: ignore[arg-type]
    ring = ((lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d), (lon, lat))
    return Measure(id="XM", kind=kind, owner="relief", window=window, geometry=Polygon((ring,)),
                   binds=Binds(BindsMode.ALL))


@given(data=st.data())
@PROPERTY(15)
def test_candidates_find_every_activity_the_brute_force_finds(data: st.DataObject) -> None:
    scenario = load_scenario(BUNDLED)
    engine = Engine(scenario.margins)
    for p in scenario.parties:
        engine.add_party(p)
    for m in scenario.measures:
        engine.add_measure(m)
    engine.load(scenario.declarations)
    for i in range(data.draw(st.integers(1, 12))):
        engine.add_declaration(data.draw(fires(i)))
    m = data.draw(measures())
    engine.add_measure(m)
    every = list(engine.declarations())
    brute = findings_about(engine, every, m.id)
    near = findings_about(engine, candidates(engine, [m]), m.id)
    assert near.keys() == brute.keys()
    assert all(len(near[k]) == len(brute[k]) for k in brute)


@given(data=st.data())
@PROPERTY(15)
def test_check_measure_gives_what_the_full_check_gives_about_that_measure(data: st.DataObject) -> None:
    scenario = load_scenario(BUNDLED)
    engine = Engine(scenario.margins)
    for p in scenario.parties:
        engine.add_party(p)
    for m in scenario.measures:
        engine.add_measure(m)
    engine.load(scenario.declarations)
    m = data.draw(measures())
    engine.add_measure(m)
    decls = [*(data.draw(fires(i)) for i in range(data.draw(st.integers(1, 6)))),
             *(c.activity for c in scenario.checks)]
    for d in decls:
        for mid in (m.id, *(x.id for x in scenario.measures)):
            full = [f for f in engine.check(d).findings if f.object_id == mid]
            assert engine.check_measure(d, mid) == full, (d.id, mid)


def test_a_line_s_candidates_are_bounded_by_its_reach_not_the_globe() -> None:
    """A line coming into force once took every accepted activity on Earth as a
    candidate (17 s under the write lock at 20k); it takes only those within its
    reach, which the property test above shows misses nothing."""
    scenario = load_scenario(BUNDLED)
    engine = Engine(scenario.margins)
    for p in scenario.parties:
        engine.add_party(p)
    window = Window(T0, T0 + timedelta(hours=2))
    near = Fire(id="near", owner="russia", window=window, target=Point(40.01, 35.2), effects_radius_m=100)
    far = Fire(id="far", owner="russia", window=window, target=Point(41.5, 35.2), effects_radius_m=100)
    engine.load([near, far])
    line = Measure(id="XL", kind=MeasureKind.DECONFLICTION_LINE, owner="coalition", window=window,
                   geometry=LineString(((40.0, 35.0), (40.0, 35.4))), application_m=20_000,
                   sides=(("coalition", Side.LEFT), ("russia", Side.RIGHT)))
    assert [d.id for d in candidates(engine, [line])] == ["near"]


def test_a_measure_imported_over_an_accepted_fire_tells_both_parties(running: Running, tmp_path: Path) -> None:
    """`deconflict import` of a measure is an administrator's agreement in bulk: it once
    put an NFA over russia's accepted fire and told nobody."""
    from deconflict.codecs.geojson import encode_measure_feature
    from deconflict.store.documents import decode_measure
    from tests.cli.test_app import run

    with running.client("russia") as russia, running.client("relief") as relief:
        fid = russia.submit(activity_doc(running, "C1", id="F7"))["id"]
        measure = decode_measure(nfa(AROUND_F7))
        doc = tmp_path / "x1.geojson"
        doc.write_text(json.dumps({"type": "FeatureCollection", "features": [encode_measure_feature(measure)]}))
        assert running.path is not None
        res = run("import", str(doc), store=running.path)
        assert res.returncode == 0, res.stdout + res.stderr
        running.hotline.catch_up()
        [mine] = [n for n in russia.notifications() if n["kind"] == "recheck"]
        assert mine["subject"] == fid and mine["needs_answer"] is True
        assert "now violates no fire area X1 'School NFA', in force since" in mine["summary"]
        assert [n["subject"] for n in relief.notifications() if n["kind"] == "recheck"] == [fid]
        assert russia.activity("F7")["current"]["verdict"] == "violation"
