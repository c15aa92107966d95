"""Parties: the organisations that use the service."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from deconflict.errors import InvalidInput

#: The longest id (of a party, declaration, measure...).
MAX_ID = 64
_ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{MAX_ID - 1}}}$")


def check_id(value: object, field: str) -> str:
    """Ids are short, printable and stable: they appear in logs, URLs and CoT uids."""
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidInput(
            field,
            f"must be 1-64 characters of letters, digits, '_', '.', ':' or '-', got {value!r}",
        )
    return value


class PartyKind(StrEnum):
    ARMED_FORCE = "armed_force"
    HUMANITARIAN = "humanitarian"
    AGENCY = "agency"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name: str
    kind: PartyKind = PartyKind.OTHER

    def __post_init__(self) -> None:
        check_id(self.id, "id")
        if not self.name.strip():
            raise InvalidInput("name", "must not be empty")
