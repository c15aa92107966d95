"""The command line with the GIS formats: `export --format kml`, GeoJSON export read
back by `import`, and `import` of a scenario file explained instead of a field error."""

from __future__ import annotations

import json
from pathlib import Path

from fastkml.validator import get_schema_parser
from lxml import etree

from deconflict.codecs import geojson
from deconflict.codecs.scenario import load_into, load_scenario
from deconflict.service.deconflict import Change, Deconflict
from deconflict.store.sqlite import SQLiteStore
from tests.cli.test_app import run
from tests.conftest import BUNDLED


def test_import_of_a_scenario_file_says_what_to_do(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    res = run("import", str(BUNDLED), store=store)
    assert res.returncode == 2
    assert "is a scenario file" in res.stderr and "deconflict scenario run" in res.stderr
    assert "type: is required" not in res.stderr and "Traceback" not in res.stderr
    res = run("check", "--by", "russia", str(BUNDLED), store=store)
    assert res.returncode == 2 and "deconflict scenario run" in res.stderr


def test_kml_export_and_geojson_round_trip_through_the_command_line(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    scenario = load_scenario(BUNDLED)
    with Deconflict(SQLiteStore(first)) as service:
        load_into(service, scenario)
    with Deconflict(SQLiteStore(second)) as service:
        service.apply([Change(party=p) for p in scenario.parties])
    kml_file = tmp_path / "picture.kml"
    res = run("export", "--format", "kml", "-o", str(kml_file), store=first)
    assert res.returncode == 0, res.stderr
    schema = get_schema_parser()
    assert schema.validate(etree.parse(str(kml_file))), schema.error_log
    exported = run("export", store=first)
    assert exported.returncode == 0
    gj = tmp_path / "picture.geojson"
    gj.write_text(exported.stdout)
    res = run("import", str(gj), store=second)
    assert res.returncode == 0, res.stderr
    with Deconflict(SQLiteStore(second)) as service:  # the same picture, written the same way
        assert geojson.feature_collection(service.measures(), service.declarations()) == json.loads(exported.stdout)
    bad = run("export", "--format", "shp", store=first)
    assert bad.returncode == 2 and "--format" in bad.stderr
