"""The state the events add up to, and the one place that reads their payloads.

Both the SQLite current-state tables and an in-memory replay (the state at a
past instant) go through :func:`decode_change`, so there is a single meaning
for each event type; the tests check that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deconflict.errors import InvalidInput, NotFound
from deconflict.model import CautionMargins, Declaration, Measure, Party
from deconflict.model.party import check_id
from deconflict.store.documents import Doc, decode_declaration, decode_measure, decode_party
from deconflict.store.events import (
    DECLARATION_DECLARED,
    DECLARATION_WITHDRAWN,
    MEASURE_ADDED,
    MEASURE_WITHDRAWN,
    PARTY_ADDED,
    SETTINGS_CHANGED,
    Event,
)


# -- changes: what one event does to the state -----------------------------------
@dataclass(frozen=True, slots=True)
class PutParty:
    party: Party


@dataclass(frozen=True, slots=True)
class SetMargins:
    margins: CautionMargins


@dataclass(frozen=True, slots=True)
class PutMeasure:
    measure: Measure


@dataclass(frozen=True, slots=True)
class RemoveMeasure:
    id: str


@dataclass(frozen=True, slots=True)
class PutDeclaration:
    declaration: Declaration


@dataclass(frozen=True, slots=True)
class RemoveDeclaration:
    id: str


Change = PutParty | SetMargins | PutMeasure | RemoveMeasure | PutDeclaration | RemoveDeclaration


def decode_margins(data: object, path: str) -> CautionMargins:
    d = Doc(data, path)
    h = d.num("caution_horizontal_m")
    v = d.num("caution_vertical_m")
    minutes = d.num("caution_minutes")
    d.finish()
    return d.guard("", lambda: CautionMargins(h, v, minutes))


def _withdrawn_id(data: object, path: str) -> str:
    d = Doc(data, path)
    ident = check_id(d.text("id"), d.at("id"))
    d.finish()
    return ident


def decode_change(type: str, subject: str, payload: dict[str, Any], where: str = "") -> Change | None:
    """What an event of ``type`` does, or ``None`` for types the state ignores
    (notifications, credentials...).

    Raises :class:`InvalidInput` when the payload is not what the type requires
    or the subject is not the payload's id; ``where`` prefixes the field path
    (``drafts[3]`` gives ``drafts[3].payload.window.end``)."""
    path = f"{where}.payload" if where else "payload"
    change: Change
    if type == PARTY_ADDED:
        change = PutParty(decode_party(payload, path))
        ident = change.party.id
    elif type == SETTINGS_CHANGED:
        return SetMargins(decode_margins(payload, path))
    elif type == MEASURE_ADDED:
        change = PutMeasure(decode_measure(payload, path))
        ident = change.measure.id
    elif type == MEASURE_WITHDRAWN:
        change = RemoveMeasure(_withdrawn_id(payload, path))
        ident = change.id
    elif type == DECLARATION_DECLARED:
        change = PutDeclaration(decode_declaration(payload, path))
        ident = change.declaration.id
    elif type == DECLARATION_WITHDRAWN:
        change = RemoveDeclaration(_withdrawn_id(payload, path))
        ident = change.id
    else:
        return None
    if subject != ident:
        # The subject is what readers of the log filter on; a mismatch would
        # file the event under the wrong object.
        raise InvalidInput(
            f"{where}.subject" if where else "subject",
            f"must be the id of the object the payload concerns, {ident!r}, got {subject!r}",
        )
    return change


@dataclass
class State:
    """Parties, measures, declarations and margins after some prefix of the log.

    ``seq`` is the number of the last event applied (0 before any)."""

    parties: dict[str, Party] = field(default_factory=dict)
    measures: dict[str, Measure] = field(default_factory=dict)
    declarations: dict[str, Declaration] = field(default_factory=dict)
    margins: CautionMargins | None = None
    seq: int = 0

    def apply(self, event: Event) -> None:
        """The reducer. Raises :class:`InvalidInput` for a payload its type does
        not allow and :class:`NotFound` for withdrawing what is not in force;
        the store refuses such events at append, so a log never holds one."""
        change = decode_change(event.type, event.subject, event.payload)
        if change is not None:
            self.put(change)
        self.seq = event.seq

    def put(self, change: Change) -> None:
        if isinstance(change, PutParty):
            self.parties[change.party.id] = change.party
        elif isinstance(change, SetMargins):
            self.margins = change.margins
        elif isinstance(change, PutMeasure):
            self.measures[change.measure.id] = change.measure
        elif isinstance(change, RemoveMeasure):
            if self.measures.pop(change.id, None) is None:
                raise NotFound("measure", change.id)
        elif isinstance(change, PutDeclaration):
            self.declarations[change.declaration.id] = change.declaration
        elif self.declarations.pop(change.id, None) is None:
            raise NotFound("declaration", change.id)
