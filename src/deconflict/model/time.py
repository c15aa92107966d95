"""Time windows: timezone-aware UTC, half-open ``[start, end)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from deconflict.errors import InvalidInput


def require_utc(value: datetime, field: str) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused, not guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "time has no timezone; give UTC, e.g. 2018-02-07T20:00:00Z")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval ``[start, end)``: a window ending at 10:00 and
    one starting at 10:00 do not overlap."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_utc(self.start, "start"))
        object.__setattr__(self, "end", require_utc(self.end, "end"))
        if self.end <= self.start:
            raise InvalidInput(
                "end",
                f"window ends ({self.end.isoformat()}) at or before it starts "
                f"({self.start.isoformat()})",
            )

    def overlap(self, other: Window, margin: timedelta = timedelta(0)) -> Window | None:
        """The common part of both windows, each grown by ``margin`` on both sides.

        ``None`` when they do not overlap (touching half-open windows do not)."""
        start = max(self.start - margin, other.start - margin)
        end = min(self.end + margin, other.end + margin)
        if start < end:
            return Window(start, end)
        return None

    def gap(self, other: Window) -> timedelta:
        """Time between the two windows; zero when they overlap."""
        if self.end <= other.start:
            return other.start - self.end
        if other.end <= self.start:
            return self.start - other.end
        return timedelta(0)

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end
