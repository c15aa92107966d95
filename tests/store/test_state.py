"""The reducer: what each event type does to the state."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from deconflict.errors import InvalidInput, NotFound
from deconflict.model import CautionMargins
from deconflict.store.events import (
    Event,
    EventDraft,
    declaration_declared,
    declaration_withdrawn,
    measure_added,
    measure_withdrawn,
    party_added,
    settings_changed,
)
from deconflict.store.state import PutDeclaration, State, decode_change
from tests.store.helpers import World

_seq = iter(range(1, 10**6))


def event(draft: EventDraft) -> Event:
    """An event as the reducer sees it (hashes do not matter here)."""
    return Event(next(_seq), datetime(2018, 2, 7, tzinfo=UTC), draft.type, draft.actor, draft.subject,
                 draft.payload, "", "")


def test_state_apply_builds_the_world(world: World) -> None:
    state = State()
    for d in world.drafts():
        state.apply(event(d))
    assert state.parties == {p.id: p for p in world.parties}
    assert state.measures == {m.id: m for m in world.measures}
    assert state.declarations == {d.id: d for d in world.declarations}
    assert state.margins == world.margins


def test_state_apply_replaces_and_withdraws(world: World) -> None:
    state = State()
    decl = world.declarations[0]
    changed = dataclasses.replace(decl, label="moved")
    for d in (
        declaration_declared(decl.owner, decl),
        declaration_declared(decl.owner, changed),
        measure_added("admin", world.measures[0]),
        measure_withdrawn("admin", world.measures[0].id),
    ):
        state.apply(event(d))
    assert state.declarations == {decl.id: changed}
    assert state.measures == {}
    state.apply(event(declaration_withdrawn(decl.owner, decl.id)))
    assert state.declarations == {}


def test_state_apply_takes_the_latest_settings() -> None:
    state = State()
    state.apply(event(settings_changed("admin", CautionMargins(100, 50, 5))))
    state.apply(event(settings_changed("admin", CautionMargins(200, 60, 1))))
    assert state.margins == CautionMargins(200, 60, 1)


def test_state_apply_ignores_other_event_types_but_counts_them() -> None:
    state = State()
    e = event(EventDraft("notification.sent", "system", "n1", {"to": "sdf"}))
    state.apply(e)
    assert state == State(seq=e.seq)


@pytest.mark.parametrize(
    "draft", [declaration_withdrawn("sdf", "nothing"), measure_withdrawn("admin", "nothing")], ids=["decl", "measure"]
)
def test_state_apply_refuses_withdrawing_what_is_not_in_force(draft: EventDraft) -> None:
    with pytest.raises(NotFound):
        State().apply(event(draft))


@pytest.mark.parametrize(
    ("type_", "subject", "payload", "field"),
    [
        ("settings.changed", "", {"caution_horizontal_m": 1, "caution_vertical_m": 1}, "payload.caution_minutes"),
        ("settings.changed", "", {"caution_horizontal_m": 1, "caution_vertical_m": 1, "caution_minutes": -1,
                                  }, "payload.minutes"),
        ("settings.changed", "", {"caution_horizontal_m": 1, "caution_vertical_m": 1, "caution_minutes": 1,
                                  "x": 1}, "payload.x"),
        ("declaration.withdrawn", "a", {"id": "a", "why": "x"}, "payload.why"),
        ("declaration.withdrawn", "a", {"id": 3}, "payload.id"),
        ("measure.withdrawn", "a", {}, "payload.id"),
        ("party.added", "p", {"id": "p", "name": "P", "kind": "army"}, "payload.kind"),
        ("party.added", "q", {"id": "p", "name": "P"}, "subject"),
    ],
)
def test_decode_change_names_the_wrong_field(type_: str, subject: str, payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_change(type_, subject, payload)
    assert info.value.field == field


def test_decode_change_roots_fields_at_where(world: World) -> None:
    d = declaration_declared("x", world.declarations[0])
    bad = {**d.payload, "window": {"start": "2018-02-07T10:00:00Z"}}
    with pytest.raises(InvalidInput) as info:
        decode_change(d.type, d.subject, bad, "drafts[4]")
    assert info.value.field == "drafts[4].payload.window.end"
    assert decode_change(d.type, d.subject, d.payload) == PutDeclaration(world.declarations[0])
    assert decode_change("track.reported", "", {}) is None


def test_party_added_again_replaces(world: World) -> None:
    state = State()
    p = world.parties[0]
    state.apply(event(party_added("admin", p)))
    state.apply(event(party_added("admin", dataclasses.replace(p, name="Renamed"))))
    assert state.parties[p.id].name == "Renamed"
