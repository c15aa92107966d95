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
#: Altitudes are compared in binary floating point after converting feet to
#: metres, which is exact to about 1e-10 m for any altitude the model accepts
#: (|value| <= MAX_ALTITUDE_M): 15,700 ft comes out as 4785.360000000001 m, not
#: 4785.36 m. A vertical gap no larger than this counts as zero (the bands
#: touch), and a gap within the caution margin plus this is a caution: decisions
#: at a threshold lean towards the finding instead of depending on the rounding.
#: One micrometre is four orders of magnitude above the rounding and far below
#: anything an altimeter tells apart (docs/rules.md, "Altitude").
ALTITUDE_TOLERANCE_M = 1e-6
#: Altitudes beyond this (either sign) are refused: the tolerance above is
#: proven for altitudes up to here.
MAX_ALTITUDE_M = 1_000_000.0


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
        if abs(self.metres) > MAX_ALTITUDE_M:
            raise InvalidInput("value", f"altitude {self} is beyond {MAX_ALTITUDE_M:g} m")

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
        if self.lower.metres > self.upper.metres + ALTITUDE_TOLERANCE_M:
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
        return vertical_gap(self.lower_m, self.upper_m, other.lower_m, other.upper_m)

    def __str__(self) -> str:
        low = "surface" if self.from_surface else str(self.lower)
        return f"{low} to {self.upper}"


def vertical_gap(a_lower: float, a_upper: float, b_lower: float, b_upper: float) -> float:
    """Gap between two closed bands in metres: zero when they overlap or touch,
    including when they touch only within ALTITUDE_TOLERANCE_M (a unit
    conversion's rounding, as in 15,700 ft against 4,785.36 m)."""
    gap = max(0.0, b_lower - a_upper, a_lower - b_upper)
    return 0.0 if gap <= ALTITUDE_TOLERANCE_M else gap


def within_vertical_margin(gap: float, margin: float) -> bool:
    """Whether a gap from :func:`vertical_gap` is within a caution margin; a gap
    equal to the margin across units (rounded a hair over it) still is."""
    return gap <= margin + ALTITUDE_TOLERANCE_M
