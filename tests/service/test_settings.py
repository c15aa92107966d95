"""Per-party settings: validated field by field, versioned, logged, kept over a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deconflict.errors import InvalidInput
from deconflict.service.client import ProblemError
from deconflict.service.settings import PartySettings, decode_settings
from tests.service.conftest import Running, started

KNOWN = {"coalition", "russia", "relief", "sdf", "regime"}


@pytest.mark.parametrize(("doc", "field"), [
    ([], "settings"),
    ({"colour": "red"}, "colour"),
    ({"share_with": "some"}, "share_with"),
    ({"share_with": ["nobody"]}, "share_with[0]"),
    ({"share_with": ["relief"]}, "share_with[0]"),  # itself
    ({"must_acknowledge": "coalition"}, "must_acknowledge"),
    ({"must_acknowledge": ["coalition", 3]}, "must_acknowledge[1]"),
    ({"deadlines": []}, "deadlines"),
    ({"deadlines": {"boat": {"remind_minutes": 5}}}, "deadlines.boat"),
    ({"deadlines": {"fire": {"remind_minutes": 0}}}, "deadlines.fire.remind_minutes"),
    ({"deadlines": {"fire": {"remind_minutes": float("nan")}}}, "deadlines.fire.remind_minutes"),
    ({"deadlines": {"fire": {"remind_minutes": True}}}, "deadlines.fire.remind_minutes"),
    ({"deadlines": {"fire": {"remind_minutes": 10, "escalate_minutes": 5}}}, "deadlines.fire.escalate_minutes"),
    ({"deadlines": {"fire": {"remind_minutes": 10, "when": 5}}}, "deadlines.fire"),
])
def test_invalid_settings_name_the_field(doc: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        decode_settings(doc, "relief", KNOWN)
    assert e.value.field == field


def test_deadlines_by_kind_with_a_fallback() -> None:
    s = decode_settings({"deadlines": {"fire": {"remind_minutes": 5}, "default": {"remind_minutes": 60,
                                                                                  "escalate_minutes": 240}}},
                        "coalition", KNOWN)
    assert s.deadline("fire", timedelta(minutes=15)).remind == timedelta(minutes=5)
    assert s.deadline("fire", timedelta(minutes=15)).escalate == timedelta(minutes=10)
    assert s.deadline("movement", timedelta(minutes=15)).escalate == timedelta(hours=4)
    assert PartySettings().deadline("fire", timedelta(minutes=15)).escalate == timedelta(minutes=30)


def test_settings_are_versioned_logged_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with started(path) as first:
        with first.client("relief") as relief:
            assert relief.settings("relief")["version"] == 0
            one = relief.put_settings("relief", {"must_acknowledge": ["coalition"]})
            two = relief.put_settings("relief", {"must_acknowledge": ["coalition", "russia"],
                                                 "deadlines": {"movement": {"remind_minutes": 720}}})
            assert (one["version"], two["version"]) == (1, 2) and two["changed_by"] == "relief"
            with pytest.raises(ProblemError) as e:
                relief.put_settings("relief", {"deadlines": {"movement": {"remind_minutes": -1}}})
            assert e.value.status == 422 and e.value.problem["field"] == "deadlines.movement.remind_minutes"
            assert relief.settings("relief")["version"] == 2  # nothing written
        with first.client("relief", "planner") as planner, pytest.raises(ProblemError) as e:
            planner.put_settings("relief", {})
        assert e.value.status == 403
        logged = [e for e in first.hotline.service.store.events() if e.type == "party_settings.changed"]
        assert [e.payload["version"] for e in logged] == [1, 2] and logged[0].actor == "relief"
    with started(path) as second, second.client("relief", "viewer") as viewer:
        kept = viewer.settings("relief")
        assert kept["version"] == 2 and kept["must_acknowledge"] == ["coalition", "russia"]
        assert kept["deadlines"] == {"movement": {"remind_minutes": 720.0, "escalate_minutes": 1440.0}}


def test_an_administrator_sets_any_partys_settings(running: Running) -> None:
    with running.as_admin() as admin:
        out = admin.put_settings("sdf", {"share_with": ["coalition"]})
        assert out["share_with"] == ["coalition"] and out["changed_by"] == "admin"
