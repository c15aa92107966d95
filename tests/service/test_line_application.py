"""A line's area of application over HTTP (issue 8, item 8, test (e)): a fire
300 km from the Euphrates line is clear; within the line's reach it is not."""

from __future__ import annotations

from typing import Any

from deconflict.model.measure import DEFAULT_LINE_APPLICATION_M
from tests import reference as ref
from tests.service.conftest import Running


def fire_at(lon: float, lat: float, label: str) -> dict[str, Any]:
    return {
        "id": f"F-{label}", "kind": "fire", "label": label,
        "window": {"start": "2018-02-07T21:00:00Z", "end": "2018-02-07T21:30:00Z"},
        "target": {"type": "Point", "coordinates": [lon, lat]}, "effects_radius_m": 100.0,
    }


def euphrates_line(running: Running) -> list[tuple[float, float]]:
    [line] = [m for m in running.scenario.measures if m.kind.value == "deconfliction_line"]
    return list(line.geometry.coords)


def test_a_fire_300_km_from_the_euphrates_line_is_clear(running: Running) -> None:
    coords = euphrates_line(running)
    mid = coords[len(coords) // 2]
    # Russia keeps to the right (south-west) of the line: north-east is its far side.
    az_along = ref.inv(*coords[len(coords) // 2 - 1], *coords[len(coords) // 2 + 1])[0]
    deep = ref.fwd(*mid, az_along - 90.0, 300_000.0)
    near = ref.fwd(*mid, az_along - 90.0, 20_000.0)
    line = ref.RefShape.line(coords)
    assert ref.point_distance(line, *deep, h=1.0).lo > 250_000.0  # far from every part of the line
    with running.client("russia", "planner") as russia:
        far_result = russia.check(fire_at(*deep, "deep"))
        near_result = russia.check(fire_at(*near, "near"))
    assert far_result["verdict"] == "clear", far_result
    assert near_result["verdict"] == "violation"
    assert {f["rule"] for f in near_result["findings"]} == {"deconfliction-line-far-side"}


def test_measures_show_a_lines_area_of_application(running: Running) -> None:
    with running.client("coalition") as coalition:
        listed = coalition.measures()
    lines = [m for m in listed["in_force"] if m["kind"] == "deconfliction_line"]
    assert lines and all(m["application_m"] == DEFAULT_LINE_APPLICATION_M for m in lines)
