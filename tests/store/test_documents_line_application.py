"""A line's area of application in measure documents: decoded, refused with the
field named, and encoded so that it reads back the same."""

from __future__ import annotations

from typing import Any

import pytest

from deconflict.errors import InvalidInput
from deconflict.model import MeasureKind, Polygon
from deconflict.model.measure import DEFAULT_LINE_APPLICATION_M
from deconflict.store.documents import decode_measure, encode_measure

WINDOW = {"start": "2018-02-07T20:00:00Z", "end": "2018-02-07T22:00:00Z"}
LINE = {"type": "LineString", "coordinates": [[40.0, 35.0], [40.1, 35.5]]}
AREA = {"type": "Polygon", "coordinates": [[[39.5, 34.5], [40.5, 34.5], [40.5, 36.0], [39.5, 36.0], [39.5, 34.5]]]}


def line_doc(**extra: Any) -> dict[str, Any]:
    return {"id": "L", "kind": "deconfliction_line", "owner": "p", "geometry": LINE,
            "sides": {"p": "left", "q": "right"}, "window": WINDOW, **extra}


def test_a_line_without_an_area_of_application_gets_the_default_and_shows_it():
    m = decode_measure(line_doc())
    assert m.application_m == DEFAULT_LINE_APPLICATION_M and m.application_area is None
    assert encode_measure(m)["application_m"] == DEFAULT_LINE_APPLICATION_M


@pytest.mark.parametrize("extra", [{"application_m": 80_000}, {"application_area": AREA}])
def test_a_lines_area_of_application_reads_back_the_same(extra):
    m = decode_measure(line_doc(**extra))
    assert decode_measure(encode_measure(m)) == m
    if "application_area" in extra:
        assert isinstance(m.application_area, Polygon)
        assert "application_m" not in encode_measure(m)
    else:
        assert m.application_m == 80_000


@pytest.mark.parametrize(("doc", "field"), [
    ({"id": "N", "kind": "no_fire_area", "owner": "p", "window": WINDOW, "geometry": AREA,
      "application_m": 10_000}, "application_m"),
    ({"id": "N", "kind": "no_fire_area", "owner": "p", "window": WINDOW, "geometry": AREA,
      "application_area": AREA}, "application_area"),
    (line_doc(application_area={"type": "Point", "coordinates": [40.0, 35.0]}), "application_area"),
    (line_doc(application_m=0), "application_m"),
    (line_doc(application_m=600_000), "application_m"),
    (line_doc(application_m="far"), "application_m"),
])
def test_a_bad_area_of_application_is_refused_naming_the_field(doc, field):
    with pytest.raises(InvalidInput) as e:
        decode_measure(doc)
    assert e.value.field.endswith(field), e.value.field


def test_a_restrictive_fire_line_takes_an_area_of_application_too():
    doc = line_doc(application_m=20_000, kind="restrictive_fire_line")
    m = decode_measure(doc)
    assert m.kind is MeasureKind.RESTRICTIVE_FIRE_LINE and m.application_m == 20_000
