"""Engine settings: the caution margins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from deconflict.errors import InvalidInput

DEFAULT_CAUTION_HORIZONTAL_M = 500.0
DEFAULT_CAUTION_VERTICAL_M = 150.0
DEFAULT_CAUTION_MINUTES = 10.0
#: Margins beyond this are refused: a caution radius of hundreds of kilometres
#: would flag a whole theatre and hide the real findings.
MAX_CAUTION_HORIZONTAL_M = 50_000.0


@dataclass(frozen=True, slots=True)
class CautionMargins:
    """How much every footprint grows when looking for cautions."""

    horizontal_m: float = DEFAULT_CAUTION_HORIZONTAL_M
    vertical_m: float = DEFAULT_CAUTION_VERTICAL_M
    minutes: float = DEFAULT_CAUTION_MINUTES

    def __post_init__(self) -> None:
        for name in ("horizontal_m", "vertical_m", "minutes"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0 or v == float("inf"):
                raise InvalidInput(name, f"must be a finite number >= 0, got {v!r}")
        if self.horizontal_m > MAX_CAUTION_HORIZONTAL_M:
            raise InvalidInput("horizontal_m", f"must be at most {MAX_CAUTION_HORIZONTAL_M:g} m")

    @property
    def time(self) -> timedelta:
        return timedelta(minutes=self.minutes)
