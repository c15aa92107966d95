"""Events: the immutable, hash-chained entries of the log.

Everything the service knows is created, changed or withdrawn only by
appending events, so the log is the evidence: each event records the hash of
the one before, and any later alteration of a stored event (its content, its
place in the sequence, its existence) breaks the chain at that event.

This module is storage-neutral: the hash rules and the chain check live here
so that a second backend (PostgreSQL) hashes and verifies exactly as SQLite
does, and so that an auditor can re-implement them from this file alone.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from deconflict.errors import InvalidInput, TamperedLog
from deconflict.model import CautionMargins, Declaration, Measure, Party
from deconflict.model.party import check_id
from deconflict.store.documents import encode_declaration, encode_measure, encode_party

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64

# -- the event types the state reducer understands ------------------------------
PARTY_ADDED = "party.added"
SETTINGS_CHANGED = "settings.changed"
MEASURE_ADDED = "measure.added"
MEASURE_WITHDRAWN = "measure.withdrawn"
DECLARATION_DECLARED = "declaration.declared"
DECLARATION_WITHDRAWN = "declaration.withdrawn"

STATE_EVENT_TYPES = frozenset(
    {
        PARTY_ADDED,
        SETTINGS_CHANGED,
        MEASURE_ADDED,
        MEASURE_WITHDRAWN,
        DECLARATION_DECLARED,
        DECLARATION_WITHDRAWN,
    }
)
#: Families owned by the state reducer: a type in one of them that is not in
#: STATE_EVENT_TYPES is a misspelling ("declaration.declare"), not a future
#: kind of event, and would otherwise be silently ignored by the reducer.
STATE_FAMILIES = frozenset(t.split(".", 1)[0] for t in STATE_EVENT_TYPES)

#: Types are lower-case dotted names: "family.what_happened".
_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event to append; the store gives it its number, time and hashes."""

    type: str
    actor: str
    subject: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """An event as recorded. ``hash`` covers every other field."""

    seq: int
    recorded_at: datetime
    type: str
    actor: str
    subject: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


# -- canonical forms -----------------------------------------------------------------
def canonical_json(obj: object) -> str:
    """The one text form that is hashed. ``allow_nan=False`` changes nothing for
    valid JSON; it refuses NaN and infinities, which are not JSON and would not
    read back the same everywhere."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_instant(t: datetime) -> str:
    """Fixed width with microseconds and ``Z``: one spelling per instant, so the
    hash is reproducible and the text sorts as the time does."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.lru_cache(maxsize=256)
def parse_instant(text: str) -> datetime:
    """The inverse of :func:`format_instant`; refuses any other spelling.
    Remembered: the events of one append share their time, and a follower reads
    them by the hundred (a refusal raises each time; a datetime is immutable)."""
    t = datetime.fromisoformat(text)
    if t.tzinfo is None or format_instant(t) != text:
        raise ValueError(f"{text!r} is not a recorded time such as 2018-02-07T20:05:00.000000Z")
    return t.astimezone(UTC)


def event_hash(
    seq: int,
    recorded_at: str,
    type: str,
    actor: str,
    subject: str,
    payload: object,
    prev_hash: str,
) -> str:
    """The definition: sha256 of the canonical JSON of every other field."""
    body = {
        "seq": seq,
        "recorded_at": recorded_at,
        "type": type,
        "actor": actor,
        "subject": subject,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


#: What ``json.dumps(s, ensure_ascii=False)`` does for a string, without its overhead.
_text = encode_basestring


def stored_event_hash(
    seq: int,
    recorded_at: str,
    type: str,
    actor: str,
    subject: str,
    payload_text: str,
    prev_hash: str,
) -> str:
    """:func:`event_hash` from the payload's stored text, without re-encoding it.

    Equal to :func:`event_hash` when ``payload_text`` is canonical, which is
    all the store ever writes; any other bytes (even JSON-equivalent ones such
    as an added space) give another hash, so an edit of the stored text is
    caught even when it would decode to the same object. The keys are spelt
    out in the sorted order ``canonical_json`` would give them."""
    body = (
        f'{{"actor":{_text(actor)},"payload":{payload_text},"prev_hash":{_text(prev_hash)},'
        f'"recorded_at":{_text(recorded_at)},"seq":{seq},"subject":{_text(subject)},'
        f'"type":{_text(type)}}}'
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# -- drafts ------------------------------------------------------------------------
def check_draft(draft: EventDraft, field: str) -> str:
    """Check the envelope of a draft and return its payload's canonical JSON.

    Raises :class:`InvalidInput` naming ``field``; the payload itself is decoded
    by the state reducer (:func:`deconflict.store.state.decode_change`)."""
    if not isinstance(draft, EventDraft):
        raise InvalidInput(field, f"must be an EventDraft, got {type(draft).__name__}")
    t = draft.type
    if not isinstance(t, str) or not _TYPE.match(t):
        raise InvalidInput(f"{field}.type", f"must be a dotted lower-case name such as 'party.added', got {t!r}")
    if t.split(".", 1)[0] in STATE_FAMILIES and t not in STATE_EVENT_TYPES:
        known = ", ".join(sorted(STATE_EVENT_TYPES))
        raise InvalidInput(f"{field}.type", f"unknown event type {t!r}; the state understands: {known}")
    check_id(draft.actor, f"{field}.actor")
    if not isinstance(draft.subject, str):
        raise InvalidInput(f"{field}.subject", f"must be a string, got {type(draft.subject).__name__}")
    if not isinstance(draft.payload, dict):
        raise InvalidInput(f"{field}.payload", f"must be a JSON object, got {type(draft.payload).__name__}")
    try:
        text = canonical_json(draft.payload)
        # Lone surrogates pass json.dumps but cannot be stored or hashed as UTF-8.
        text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field}.payload", f"is not JSON: {exc}") from None
    return text


def party_added(actor: str, party: Party) -> EventDraft:
    return EventDraft(PARTY_ADDED, actor, party.id, encode_party(party))


def settings_changed(actor: str, margins: CautionMargins) -> EventDraft:
    return EventDraft(SETTINGS_CHANGED, actor, "", encode_margins(margins))


def measure_added(actor: str, measure: Measure) -> EventDraft:
    return EventDraft(MEASURE_ADDED, actor, measure.id, encode_measure(measure))


def measure_withdrawn(actor: str, measure_id: str) -> EventDraft:
    return EventDraft(MEASURE_WITHDRAWN, actor, measure_id, {"id": measure_id})


def declaration_declared(actor: str, decl: Declaration) -> EventDraft:
    return EventDraft(DECLARATION_DECLARED, actor, decl.id, encode_declaration(decl))


def declaration_withdrawn(actor: str, decl_id: str) -> EventDraft:
    return EventDraft(DECLARATION_WITHDRAWN, actor, decl_id, {"id": decl_id})


def encode_margins(m: CautionMargins) -> dict[str, Any]:
    """The ``settings.changed`` payload (the scenario format's ``settings``)."""
    return {
        "caution_horizontal_m": m.horizontal_m,
        "caution_vertical_m": m.vertical_m,
        "caution_minutes": m.minutes,
    }


# -- reading back ---------------------------------------------------------------
def read_event(
    seq: object,
    recorded_at: object,
    type: object,
    actor: object,
    subject: object,
    payload: object,
    prev_hash: object,
    hash: object,
) -> Event:
    """An event from its stored fields, or :class:`TamperedLog` naming ``seq``
    when one of them cannot be read back as the store wrote it."""
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TamperedLog(0, f"undecodable: sequence number {seq!r} is not an integer")
    fields = (recorded_at, type, actor, subject, payload, prev_hash, hash)
    names = ("recorded_at", "type", "actor", "subject", "payload", "prev_hash", "hash")
    for name, value in zip(names, fields, strict=True):
        if not isinstance(value, str):
            raise TamperedLog(seq, f"undecodable: {name} is {value.__class__.__name__}, not text")
    assert isinstance(recorded_at, str) and isinstance(payload, str)
    assert isinstance(type, str) and isinstance(actor, str) and isinstance(subject, str)
    assert isinstance(prev_hash, str) and isinstance(hash, str)
    try:
        when = parse_instant(recorded_at)
    except ValueError:
        raise TamperedLog(seq, f"undecodable: recorded_at {recorded_at!r} is not a recorded time") from None
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise TamperedLog(seq, f"undecodable: payload is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TamperedLog(seq, "undecodable: payload is not a JSON object")
    return Event(seq, when, type, actor, subject, data, prev_hash, hash)


class ChainCheck:
    """Checks stored events one by one, in ``seq`` order, from the first.

    Feed it each stored row's fields; it returns the :class:`Event` or raises
    :class:`TamperedLog` naming the first event that is wrong: a gap or repeat
    in ``seq``, a field that cannot be read back, a ``prev_hash`` that is not
    the previous event's hash, a hash that does not match the stored content,
    or a recorded time that goes backwards."""

    def __init__(self) -> None:
        self.seq = 0
        self.hash = GENESIS_HASH
        self.recorded_at = ""

    def feed(
        self,
        seq: object,
        recorded_at: object,
        type: object,
        actor: object,
        subject: object,
        payload: object,
        prev_hash: object,
        hash: object,
    ) -> Event:
        expected = self.seq + 1
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise TamperedLog(expected, f"undecodable: sequence number {seq!r} is not an integer")
        if seq != expected:
            raise self.gap(seq)
        event = read_event(seq, recorded_at, type, actor, subject, payload, prev_hash, hash)
        assert isinstance(payload, str) and isinstance(recorded_at, str)
        if event.prev_hash != self.hash:
            raise TamperedLog(event.seq, "prev_hash is not the previous event's hash: the chain is broken here")
        digest = stored_event_hash(
            event.seq, recorded_at, event.type, event.actor, event.subject, payload, event.prev_hash
        )
        if digest != event.hash:
            raise TamperedLog(event.seq, "hash does not match the event's content: the event was altered")
        # Fixed-width text compares as the times do.
        if recorded_at < self.recorded_at:
            raise TamperedLog(event.seq, "recorded_at is earlier than the previous event's")
        self.seq, self.hash, self.recorded_at = event.seq, event.hash, recorded_at
        return event

    def gap(self, seq: int) -> TamperedLog:
        """The error for finding ``seq`` where ``self.seq + 1`` was expected."""
        expected = self.seq + 1
        if seq > expected:
            missing = (
                f"event {expected} is missing" if seq == expected + 1
                else f"events {expected} to {seq - 1} are missing"
            )
            return TamperedLog(expected, f"{missing} (the next stored event is {seq})")
        return TamperedLog(seq, f"sequence number {seq} repeats or goes backwards after {self.seq}")

