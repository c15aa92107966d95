"""Lengths and altitudes with their units and datum on the value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from deconflict.errors import InvalidInput

FEET_TO_METRES = 0.3048
#: Lower bound used for "from the surface": below the lowest land on Earth
#: (the Dead Sea shore, about -430 m AMSL), so any band touching the ground
#: overlaps it.
SURFACE_M = -500.0


class LengthUnit(StrEnum):
    METRE = "m"
    FOOT = "ft"

    def to_metres(self, value: float) -> float:
        return value if self is LengthUnit.METRE else value * FEET_TO_METRES


class Datum(StrEnum):
    """Vertical datum. Only AMSL is supported: comparing heights above ground
    needs a terrain model this service does not have, so AGL is refused by
    name instead of guessed."""

    AMSL = "AMSL"


def finite(value: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(field, f"must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise InvalidInput(field, f"must be a finite number, got {value}")
    return v


def non_negative(value: float, field: str) -> float:
    v = finite(value, field)
    if v < 0:
        raise InvalidInput(field, f"must not be negative, got {value}")
    return v


@dataclass(frozen=True, slots=True)
class Altitude:
    value: float
    unit: LengthUnit = LengthUnit.METRE
    datum: Datum = Datum.AMSL

    def __post_init__(self) -> None:
        finite(self.value, "value")

    @property
    def metres(self) -> float:
        return self.unit.to_metres(self.value)

    def __str__(self) -> str:
        v = f"{self.value:g}"
        return f"{v} {self.unit.value} {self.datum.value}"


@dataclass(frozen=True, slots=True)
class AltitudeBand:
    """A closed vertical interval: bands that touch overlap."""

    lower: Altitude
    upper: Altitude
    from_surface: bool = False

    def __post_init__(self) -> None:
        if self.lower.metres > self.upper.metres:
            raise InvalidInput(
                "lower",
                f"lower altitude {self.lower} is above upper altitude {self.upper}",
            )

    @classmethod
    def metres(cls, lower_m: float, upper_m: float) -> AltitudeBand:
        return cls(Altitude(lower_m), Altitude(upper_m))

    @classmethod
    def surface_to(cls, upper: Altitude) -> AltitudeBand:
        return cls(Altitude(min(SURFACE_M, upper.metres)), upper, from_surface=True)

    @property
    def lower_m(self) -> float:
        return self.lower.metres

    @property
    def upper_m(self) -> float:
        return self.upper.metres

    def gap_m(self, other: AltitudeBand) -> float:
        """Vertical distance between the bands; zero when they overlap or touch."""
        return max(0.0, other.lower_m - self.upper_m, self.lower_m - other.upper_m)

    def __str__(self) -> str:
        low = "surface" if self.from_surface else str(self.lower)
        return f"{low} to {self.upper}"
