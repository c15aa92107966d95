"""Humanitarian notification: what kind of facility a protected site is, and the
details a humanitarian declaration carries for the people who must respect it.

The engine decides nothing on these: they are information carried with a
declaration (who to call, on which radio channel, how many people, which
vehicles), so they are disclosed exactly as the declaration is: a party the
declaration is not shared with sees none of them. Every text is bounded, so a
declaration cannot be made a carrier of megabytes that every reader receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from deconflict.errors import InvalidInput

#: Bounds of the free texts (characters): a name or a phone number fits in a
#: short field, remarks and cargo in a paragraph.
MAX_SHORT_TEXT = 200
MAX_LONG_TEXT = 2000
#: At most this many number plates on one declaration, each this long.
MAX_PLATES = 200
MAX_PLATE = 32
#: Counts beyond these are typing errors, not convoys or camps.
MAX_PEOPLE = 10_000_000
MAX_VEHICLES = 10_000


class FacilityType(StrEnum):
    """What a protected site is. Each has its own symbol on the map, distinct
    from the frames of military symbols."""

    HOSPITAL = "hospital"  # a hospital or a clinic
    SCHOOL = "school"
    DISPLACEMENT_CAMP = "displacement_camp"
    WATER_SANITATION = "water_sanitation"
    WAREHOUSE = "warehouse"
    OFFICE = "office"
    RESIDENCE = "residence"
    DISTRIBUTION_POINT = "distribution_point"


def bounded_text(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters, got {len(value)}")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def bounded_count(value: int, field: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"must be a whole number, got {value!r}")
    if value < 0 or value > limit:
        raise InvalidInput(field, f"must be between 0 and {limit:,}, got {value}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """Whom the other parties reach, and how. Any of them may be left empty."""

    name: str = ""
    phone: str = ""
    radio: str = ""  # a channel or frequency, as people say it: "VHF 145.500, call sign RELIEF 1"
    email: str = ""

    def __post_init__(self) -> None:
        for key in ("name", "phone", "radio", "email"):
            bounded_text(getattr(self, key), key, MAX_SHORT_TEXT)
        if self.email and ("@" not in self.email or any(c.isspace() for c in self.email)):
            raise InvalidInput("email", f"{self.email!r} is not an e-mail address")

    @property
    def empty(self) -> bool:
        return not (self.name or self.phone or self.radio or self.email)


@dataclass(frozen=True, slots=True, kw_only=True)
class Vehicles:
    """The vehicles of a convoy or at a site: how many, their plates and markings."""

    count: int
    plates: tuple[str, ...] = ()
    markings: str = ""

    def __post_init__(self) -> None:
        bounded_count(self.count, "count", MAX_VEHICLES)
        if len(self.plates) > MAX_PLATES:
            raise InvalidInput("plates", f"at most {MAX_PLATES} plates, got {len(self.plates)}")
        for i, plate in enumerate(self.plates):
            bounded_text(plate, f"plates[{i}]", MAX_PLATE)
            if not plate.strip():
                raise InvalidInput(f"plates[{i}]", "must not be empty")
        if len(self.plates) > self.count:
            raise InvalidInput("plates", f"{len(self.plates)} plates for {self.count} vehicles")
        bounded_text(self.markings, "markings", MAX_LONG_TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class HumanitarianDetails:
    """What the parties that must respect a humanitarian site or movement are told."""

    contact: Contact | None = None
    organisation: str = ""
    people: int | None = None
    vehicles: Vehicles | None = None
    cargo: str = ""
    remarks: str = ""

    def __post_init__(self) -> None:
        bounded_text(self.organisation, "organisation", MAX_SHORT_TEXT)
        if self.people is not None:
            bounded_count(self.people, "people", MAX_PEOPLE)
        bounded_text(self.cargo, "cargo", MAX_LONG_TEXT)
        bounded_text(self.remarks, "remarks", MAX_LONG_TEXT)
