"""The command line, run as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUNDLED, SHARED

WINDOW = {"start": "2018-02-07T10:00:00Z", "end": "2018-02-07T11:00:00Z"}


def run(*args: str, store: Path | str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "deconflict.cli.app", *args]
    if store is not None:
        cmd += ["--store", str(store)]
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("DECONFLICT_DEBUG", None)
    return subprocess.run(cmd, capture_output=True, text=True, input=stdin, env=env, timeout=120, check=False)


def event_count(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("select count(*) from events").fetchone()[0])


def write(tmp_path: Path, name: str, data: Any) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


@pytest.fixture
def loaded_store(tmp_path: Path) -> Path:
    """A store holding the Euphrates parties, measures and declarations."""
    store = tmp_path / "s.sqlite3"
    scenario = json.loads(BUNDLED.read_text())
    scenario["checks"] = []
    res = run("scenario", "run", str(write(tmp_path, "base.json", scenario)), store=store)
    assert res.returncode == 0, res.stderr
    return store


def test_demo_prints_every_check_and_a_summary() -> None:
    res = run("demo")
    assert res.returncode == 0, res.stderr
    for i in range(1, 14):
        assert f"C{i} by" in res.stdout
    assert "13 of 13 checks as expected" in res.stdout
    assert "Traceback" not in res.stderr


def test_demo_json_lists_verdicts_and_findings() -> None:
    res = run("demo", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert (report["passed"], report["total"]) == (13, 13)
    c2 = next(c for c in report["checks"] if c["id"] == "C2")
    assert c2["verdict"] == "violation"
    kinds = {(f["object"]["id"], f["kind"]) for f in c2["findings"]}
    assert {("M1", "violation"), ("S1", "conflict")} <= kinds
    f = c2["findings"][0]
    assert {"rule", "separation_m", "vertical_gap_m", "overlap", "explanation"} <= set(f)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this checkout")
def test_scenario_run_holds_on_the_shared_file_as_is() -> None:
    res = run("scenario", "run", str(SHARED), "--json")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    assert json.loads(res.stdout)["passed"] == 13


def test_scenario_run_exits_1_when_an_expectation_fails(tmp_path: Path) -> None:
    scenario = json.loads(BUNDLED.read_text())
    scenario["checks"][0]["expect"]["verdict"] = "violation"  # C1 is really clear
    res = run("scenario", "run", str(write(tmp_path, "bad.json", scenario)))
    assert res.returncode == 1
    assert "verdict is clear, expected violation" in res.stdout


def test_check_reports_findings_and_exits_3(loaded_store: Path, tmp_path: Path) -> None:
    strike = {"type": "Feature", "id": "X1",
              "geometry": {"type": "Point", "coordinates": [40.325, 35.355]},
              "properties": {"kind": "fire", "effects_radius_m": 500,
                             "window": {"start": "2018-02-07T20:00:00Z", "end": "2018-02-07T20:15:00Z"}}}
    res = run("check", "--by", "russia", str(write(tmp_path, "a.json", strike)), "--json", store=loaded_store)
    assert res.returncode == 3, res.stderr
    [result] = json.loads(res.stdout)
    assert result["verdict"] == "violation"
    assert {"M1", "S1"} <= {f["object"]["id"] for f in result["findings"]}


def test_check_writes_nothing(loaded_store: Path, tmp_path: Path) -> None:
    before = event_count(loaded_store)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [40.05, 35.20]},
         "properties": {"kind": "fire", "effects_radius_m": 300, "window": WINDOW}}]}
    res = run("check", "--by", "russia", str(write(tmp_path, "a.json", fc)), store=loaded_store)
    assert res.returncode == 0, res.stderr
    assert "CLEAR" in res.stdout
    assert event_count(loaded_store) == before


def test_import_export_round_trip(loaded_store: Path, tmp_path: Path) -> None:
    res = run("export", store=loaded_store)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert len(doc["features"]) == 4 + 7
    other = tmp_path / "other.sqlite3"
    for pid in ("coalition", "sdf", "russia", "regime", "relief"):
        assert run("party", "add", pid, store=other).returncode == 0
    res = run("import", str(write(tmp_path, "export.json", doc)), store=other)
    assert res.returncode == 0, res.stderr
    again = json.loads(run("export", store=other).stdout)
    assert again == doc


def test_state_as_of_rebuilds_the_past(loaded_store: Path) -> None:
    res = run("state", "--as-of", "2000-01-01T00:00:00Z", "--json", store=loaded_store)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["features"] == []
    res = run("state", "--as-of", "2100-01-01T00:00:00Z", "--json", store=loaded_store)
    assert len(json.loads(res.stdout)["features"]) == 11


def test_audit_verify_passes_then_names_the_tampered_event(loaded_store: Path) -> None:
    res = run("audit", "verify", store=loaded_store)
    assert res.returncode == 0, res.stderr
    with sqlite3.connect(loaded_store) as db:
        db.execute("drop trigger if exists events_no_update")
        for (name,) in db.execute("select name from sqlite_master where type='trigger'").fetchall():
            db.execute(f"drop trigger {name}")
        seq, payload = db.execute(
            "select seq, payload from events where type = 'declaration.declared' order by seq limit 1").fetchone()
        i = payload.index("40.")  # a longitude: moving a site by one digit
        db.execute("update events set payload = ? where seq = ?", (payload[:i] + "41." + payload[i + 3:], seq))
    res = run("audit", "verify", store=loaded_store)
    assert res.returncode == 1
    assert f"event {seq}" in res.stderr
    assert "Traceback" not in res.stderr


# -- bad input: a clear error naming the field, exit 2, nothing written -------------
SQUARE = [[[40.0, 35.0], [40.1, 35.0], [40.1, 35.1], [40.0, 35.1], [40.0, 35.0]]]


def site(**over: Any) -> dict[str, Any]:
    props = {"kind": "site", "id": "X", "owner": "relief", "category": "protected",
             "protection_m": 100, "window": WINDOW}
    geometry = over.pop("geometry", {"type": "Point", "coordinates": [40.1, 35.1]})
    props.update(over)
    return {"type": "Feature", "geometry": geometry, "properties": props}


def measure(**over: Any) -> dict[str, Any]:
    props = {"kind": "no_fire_area", "id": "MX", "owner": "relief", "window": WINDOW}
    geometry = over.pop("geometry", {"type": "Polygon", "coordinates": SQUARE})
    props.update(over)
    return {"type": "Feature", "geometry": geometry, "properties": props}


BAD_INPUTS = {
    "self-intersecting polygon": (
        site(geometry={"type": "Polygon", "coordinates": [[[40.0, 35.0], [40.1, 35.1], [40.1, 35.0],
                                                            [40.0, 35.1], [40.0, 35.0]]]}),
        "features[1].properties.geometry", "self-intersecting"),
    "latitude out of range": (
        site(geometry={"type": "Point", "coordinates": [40.0, 95.0]}),
        "features[1].properties.geometry.coordinates", "latitude 95.0 is out of range"),
    "window ends before it starts": (
        site(window={"start": "2018-02-07T11:00:00Z", "end": "2018-02-07T10:00:00Z"}),
        "features[1].properties.window.end", "before it starts"),
    "unknown party": (site(owner="nobody"), "features[1].properties.owner", "unknown party 'nobody'"),
    "lower altitude above upper": (
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [40.1, 35.1]},
         "properties": {"kind": "flight", "id": "F", "owner": "relief", "half_width_m": 100,
                        "altitude": {"lower_m": 3000, "upper_m": 1000}, "window": WINDOW}},
        "features[1].properties.altitude.lower_m", "above upper altitude"),
    "NaN": (site(protection_m=float("nan")), "features[1].properties.protection_m", "finite"),
    "empty geometry": (
        site(geometry={"type": "LineString", "coordinates": []}),
        "features[1].properties.geometry.coordinates", "empty geometry"),
    "unsupported geometry type": (
        site(geometry={"type": "MultiPoint", "coordinates": [[40.0, 35.0]]}),
        "features[1].properties.geometry.type", "'MultiPoint' is not supported"),
    "unknown measure kind": (measure(kind="no_fly_area"), "features[1].properties.kind", "'no_fly_area'"),
    "side neither left nor right": (
        measure(kind="deconfliction_line", sides={"relief": "up"},
                geometry={"type": "LineString", "coordinates": [[40.0, 35.0], [40.1, 35.1]]}),
        "features[1].properties.sides.relief", "'up' is not one of: left, right"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_import_refuses_bad_input_naming_the_field(case: str, loaded_store: Path, tmp_path: Path) -> None:
    feature, field, reason = BAD_INPUTS[case]
    good = site(id="GOOD")
    before = event_count(loaded_store)
    path = write(tmp_path, "bad.json", {"type": "FeatureCollection", "features": [good, feature]})
    res = run("import", str(path), store=loaded_store)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert field in res.stderr, res.stderr
    assert reason in res.stderr, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert event_count(loaded_store) == before  # not even the good feature


def test_malformed_json_is_a_clear_error(tmp_path: Path, store_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text("{not json")
    res = run("import", str(p), store=store_path)
    assert res.returncode == 2
    assert "not valid JSON" in res.stderr
    assert "Traceback" not in res.stderr


def test_long_work_is_quiet_when_piped(tmp_path: Path) -> None:
    store = tmp_path / "big.sqlite3"
    assert run("party", "add", "relief", store=store).returncode == 0
    features = [site(id=f"X{i}", geometry={"type": "Point", "coordinates": [40 + i * 1e-3, 35.0]})
                for i in range(2500)]
    res = run("import", str(write(tmp_path, "big.json", {"type": "FeatureCollection", "features": features})),
              store=store)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines() == ["imported 2500 objects (0 measures, 2500 declarations)"]
    res = run("export", store=store)  # builds the index at start: no bar on a pipe either
    assert res.returncode == 0 and res.stderr == ""
    assert len(json.loads(res.stdout)["features"]) == 2500
