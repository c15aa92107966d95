"""Per-party settings of the hotline: a versioned, logged document per party.

- ``share_with``: with whom the party's activities are shared when a planner
  does not say (``"all"`` or a list of party ids).
- ``must_acknowledge``: the parties told of every site or movement the party
  declares, even a clear one, and asked to acknowledge it (humanitarian
  notification: a declaration nobody confirmed is no notification).
- ``deadlines``: how long the party's own watch has to answer a notification,
  by the kind of what it is about (``fire``, ``flight``, ``movement``,
  ``site``, ``measure``, or ``default``): ``remind_minutes`` (its liaisons
  are reminded) and ``escalate_minutes`` (the administrators and the
  originator are told). They are the recipient's: a party sets how fast it
  answers, so no party can make another's escalations fire early.

Every change is a ``party_settings.changed`` event with the whole document
and its version; the hotline rebuilds the settings from the log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deconflict.errors import InvalidInput
from deconflict.model.party import check_id
from deconflict.model.sharing import ShareWith
from deconflict.store.documents import format_time

EVENT = "party_settings.changed"
#: What a deadline may be about: the kinds of declarations, measures, and the fallback.
DEADLINE_KINDS = ("fire", "flight", "movement", "site", "measure", "default")
#: Bounds of a deadline: a few seconds (tests, drills) to 30 days (notice for a camp).
MIN_DEADLINE_MINUTES = 0.01
MAX_DEADLINE_MINUTES = 30 * 24 * 60.0
MAX_LISTED_PARTIES = 200


@dataclass(frozen=True, slots=True)
class Deadline:
    remind: timedelta
    escalate: timedelta


@dataclass(frozen=True, slots=True)
class PartySettings:
    share_with: ShareWith = field(default_factory=ShareWith.all)
    must_acknowledge: tuple[str, ...] = ()
    deadlines: tuple[tuple[str, float, float], ...] = ()  # (kind, remind minutes, escalate minutes)

    def deadline(self, kind: str, default_remind: timedelta) -> Deadline:
        """The deadlines for a notification about ``kind``; the service's
        default (``--ack-deadline``) and twice it when the party set none."""
        table = {k: (r, e) for k, r, e in self.deadlines}
        found = table.get(kind) or table.get("default")
        if found is None:
            return Deadline(default_remind, default_remind * 2)
        return Deadline(timedelta(minutes=found[0]), timedelta(minutes=found[1]))

    def to_json(self) -> dict[str, Any]:
        return {
            "share_with": "all" if self.share_with.everyone else sorted(self.share_with.parties),
            "must_acknowledge": list(self.must_acknowledge),
            "deadlines": {k: {"remind_minutes": r, "escalate_minutes": e} for k, r, e in self.deadlines},
        }


def _minutes(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(name, f"must be a number of minutes, got {value!r}")
    if not MIN_DEADLINE_MINUTES <= value <= MAX_DEADLINE_MINUTES:
        raise InvalidInput(name, f"must be from {MIN_DEADLINE_MINUTES:g} to {MAX_DEADLINE_MINUTES:g} minutes")
    return float(value)


def _parties(value: object, name: str, known: set[str], party: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidInput(name, "must be a list of party ids")
    if len(value) > MAX_LISTED_PARTIES:
        raise InvalidInput(name, f"must list at most {MAX_LISTED_PARTIES} parties")
    out: list[str] = []
    for i, p in enumerate(value):
        check_id(p, f"{name}[{i}]")
        if p not in known:
            raise InvalidInput(f"{name}[{i}]", f"unknown party {p!r}")
        if p == party:
            raise InvalidInput(f"{name}[{i}]", "a party does not list itself")
        if p not in out:
            out.append(p)
    return tuple(out)


def decode_settings(doc: object, party: str, known: set[str]) -> PartySettings:
    """A settings document; every error names its field."""
    if not isinstance(doc, dict):
        raise InvalidInput("settings", "must be an object")
    extra = sorted(set(doc) - {"share_with", "must_acknowledge", "deadlines"})
    if extra:
        raise InvalidInput(extra[0], "unknown field")
    share = doc.get("share_with", "all")
    share_with = (ShareWith.all() if share == "all"
                  else ShareWith.only(list(_parties(share, "share_with", known, party))))
    must = _parties(doc.get("must_acknowledge", []), "must_acknowledge", known, party)
    raw = doc.get("deadlines", {})
    if not isinstance(raw, dict):
        raise InvalidInput("deadlines", "must be an object by kind")
    rows: list[tuple[str, float, float]] = []
    for kind, d in sorted(raw.items()):
        at = f"deadlines.{kind}"
        if kind not in DEADLINE_KINDS:
            raise InvalidInput(at, f"unknown kind; one of {', '.join(DEADLINE_KINDS)}")
        if not isinstance(d, dict) or set(d) - {"remind_minutes", "escalate_minutes"}:
            raise InvalidInput(at, "must be {remind_minutes, escalate_minutes}")
        remind = _minutes(d.get("remind_minutes"), f"{at}.remind_minutes")
        escalate = _minutes(d.get("escalate_minutes", remind * 2), f"{at}.escalate_minutes")
        if escalate < remind:
            raise InvalidInput(f"{at}.escalate_minutes", "must not come before remind_minutes")
        rows.append((kind, remind, escalate))
    return PartySettings(share_with, must, tuple(rows))


@dataclass(frozen=True, slots=True)
class Versioned:
    settings: PartySettings
    version: int
    changed_at: datetime | None
    changed_by: str

    def to_json(self, party: str) -> dict[str, Any]:
        return {"party": party, "version": self.version, **self.settings.to_json(),
                "changed_at": None if self.changed_at is None else format_time(self.changed_at),
                "changed_by": self.changed_by or None}


class Settings:
    """Every party's settings, rebuilt from the log."""

    def __init__(self) -> None:
        self._by_party: dict[str, Versioned] = {}

    def get(self, party: str) -> Versioned:
        return self._by_party.get(party, Versioned(PartySettings(), 0, None, ""))

    def of(self, party: str) -> PartySettings:
        return self.get(party).settings

    def absorb(self, payload: dict[str, Any], actor: str, at: datetime) -> None:
        party = payload["party"]
        doc = payload["settings"]
        # Decoded without the party check: the log holds what was valid when written.
        s = decode_settings(doc, party, set(doc.get("must_acknowledge", [])) | set(
            doc.get("share_with", []) if isinstance(doc.get("share_with"), list) else []))
        self._by_party[party] = Versioned(s, int(payload["version"]), at, actor)
