"""Events: canonical JSON, the hash rule, recorded times, draft checks."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InvalidInput, TamperedLog
from deconflict.model import CautionMargins
from deconflict.store.events import (
    GENESIS_HASH,
    ChainCheck,
    EventDraft,
    canonical_json,
    check_draft,
    declaration_withdrawn,
    event_hash,
    format_instant,
    measure_withdrawn,
    parse_instant,
    settings_changed,
    stored_event_hash,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
payloads = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


def test_canonical_json_is_sorted_compact_and_unescaped() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"], "c": {"z": None, "y": True}}) == (
        '{"a":[1.5,"é"],"b":1,"c":{"y":true,"z":null}}'
    )


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_event_hash_is_sha256_of_the_canonical_body() -> None:
    at = "2018-02-07T08:00:00.000000Z"
    body = {
        "seq": 1,
        "recorded_at": at,
        "type": "party.added",
        "actor": "admin",
        "subject": "sdf",
        "payload": {"id": "sdf"},
        "prev_hash": GENESIS_HASH,
    }
    expected = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert event_hash(1, at, "party.added", "admin", "sdf", {"id": "sdf"}, GENESIS_HASH) == expected


@settings(max_examples=150, deadline=None)
@given(payload=payloads, subject=st.text(max_size=10), type_=st.sampled_from(["party.added", "note.é"]))
def test_stored_event_hash_equals_the_definition_for_canonical_text(
    payload: dict[str, Any], subject: str, type_: str
) -> None:
    at = "2018-02-07T08:00:00.000001Z"
    assert stored_event_hash(7, at, type_, "admin", subject, canonical_json(payload), "ab" * 32) == event_hash(
        7, at, type_, "admin", subject, payload, "ab" * 32
    )


def test_stored_event_hash_sees_json_equivalent_edits() -> None:
    args = (3, "2018-02-07T08:00:00.000000Z", "x.y", "admin", "")
    assert stored_event_hash(*args, '{"a":1}', GENESIS_HASH) != stored_event_hash(*args, '{"a": 1}', GENESIS_HASH)


def test_recorded_time_has_one_spelling() -> None:
    t = datetime(2018, 2, 7, 20, 5, tzinfo=timezone(timedelta(hours=3)))
    text = format_instant(t)
    assert text == "2018-02-07T17:05:00.000000Z"
    assert parse_instant(text) == t
    assert parse_instant(text).tzinfo is UTC
    for other in ("2018-02-07T17:05:00Z", "2018-02-07T17:05:00.000000+00:00", "2018-02-07T17:05:00.000000"):
        with pytest.raises(ValueError):
            parse_instant(other)


def test_recorded_time_text_sorts_as_time() -> None:
    times = [datetime(2018, 2, 7, 8, tzinfo=UTC) + timedelta(microseconds=k * 999_999) for k in range(50)]
    assert sorted(format_instant(t) for t in reversed(times)) == [format_instant(t) for t in times]


@pytest.mark.parametrize(
    ("draft", "field", "reason"),
    [
        (EventDraft("Party Added", "admin", "", {}), "d.type", "dotted"),
        (EventDraft("party", "admin", "", {}), "d.type", "dotted"),
        (EventDraft("declaration.declare", "admin", "x", {}), "d.type", "unknown event type"),
        (EventDraft("party.removed", "admin", "x", {}), "d.type", "unknown event type"),
        (EventDraft("note.added", "", "", {}), "d.actor", "1-64 characters"),
        (EventDraft("note.added", "admin", None, {}), "d.subject", "string"),  # type: ignore[arg-type]
        (EventDraft("note.added", "admin", "", []), "d.payload", "JSON object"),  # type: ignore[arg-type]
        (EventDraft("note.added", "admin", "", {"t": {1, 2}}), "d.payload", "not JSON"),
        (EventDraft("note.added", "admin", "", {"t": float("inf")}), "d.payload", "not JSON"),
        (EventDraft("note.added", "admin", "", {"t": datetime(2018, 1, 1)}), "d.payload", "not JSON"),
        (EventDraft("note.added", "admin", "", {"t": "\ud800"}), "d.payload", "not JSON"),
    ],
)
def test_check_draft_names_the_wrong_field(draft: EventDraft, field: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_draft(draft, "d")
    assert info.value.field == field
    assert reason in info.value.reason


def test_check_draft_accepts_future_event_types() -> None:
    assert check_draft(EventDraft("notification.sent", "system", "n1", {"to": "sdf"}), "d") == '{"to":"sdf"}'


def test_draft_helpers_set_the_subject() -> None:
    assert declaration_withdrawn("sdf", "S4") == EventDraft("declaration.withdrawn", "sdf", "S4", {"id": "S4"})
    assert measure_withdrawn("admin", "M1").subject == "M1"
    assert settings_changed("admin", CautionMargins(1, 2, 3)).payload == {
        "caution_horizontal_m": 1,
        "caution_vertical_m": 2,
        "caution_minutes": 3,
    }


def _row(seq: int, prev: str, payload: str = '{"i":1}', at: str = "2018-02-07T08:00:00.000000Z") -> tuple[Any, ...]:
    h = stored_event_hash(seq, at, "note.added", "admin", "", payload, prev)
    return (seq, at, "note.added", "admin", "", payload, prev, h)


def test_chain_check_follows_a_good_chain() -> None:
    chain = ChainCheck()
    r1 = _row(1, GENESIS_HASH)
    e1 = chain.feed(*r1)
    e2 = chain.feed(*_row(2, e1.hash))
    assert (e1.seq, e2.seq, e2.prev_hash, chain.seq) == (1, 2, e1.hash, 2)
    assert e1.payload == {"i": 1}


def test_chain_check_names_the_first_bad_event() -> None:
    chain = ChainCheck()
    e1 = chain.feed(*_row(1, GENESIS_HASH))
    with pytest.raises(TamperedLog) as info:
        chain.feed(*_row(3, e1.hash))
    assert info.value.seq == 2
    assert "event 2 is missing" in info.value.reason
    with pytest.raises(TamperedLog) as info:
        chain.feed(*_row(2, GENESIS_HASH))
    assert (info.value.seq, "chain is broken" in info.value.reason) == (2, True)
    with pytest.raises(TamperedLog) as info:
        chain.feed(*_row(2, e1.hash, at="2018-02-07T07:00:00.000000Z"))
    assert (info.value.seq, "earlier" in info.value.reason) == (2, True)
    with pytest.raises(TamperedLog) as info:
        chain.feed(*_row(2, e1.hash, payload="[1]"))
    assert (info.value.seq, "not a JSON object" in info.value.reason) == (2, True)
