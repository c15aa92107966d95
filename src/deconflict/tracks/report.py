"""A position report, and the small 4D activity it stands for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from deconflict.engine.parts import Part, Role
from deconflict.errors import InvalidInput
from deconflict.geo.ellipsoid import GEOD
from deconflict.geo.shape import Shape, ShapeType
from deconflict.model import AltitudeBand, DeclarationKind, Window

#: A report occupies its instant: the window [t, t + 1 us), so with the engine's
#: half-open windows (and microsecond times) it meets exactly the windows that
#: contain t.
INSTANT = timedelta(microseconds=1)
#: Fastest plausible ground and air speeds (m/s): faster reports are refused
#: (a spoofed or corrupt fix would otherwise sweep a whole theatre).
MAX_SPEED_MS = 1_200.0
#: Party of aircraft no party owns (SBS-1/ADS-B).
UNAFFILIATED = ""


@dataclass(slots=True)
class Report:
    party: str  # UNAFFILIATED for aircraft no party owns
    uid: str
    lon: float
    lat: float
    t: datetime
    air: bool
    alt_m: float = math.nan  # metres AMSL (HAE is taken as AMSL: no geoid model; see docs/tracks.md)
    course: float = math.nan
    speed: float = math.nan
    feed: str = ""
    link: str = ""
    cot_type: str = ""

    def check(self) -> None:
        if not (math.isfinite(self.lon) and math.isfinite(self.lat)):
            raise InvalidInput("point", "a report needs a finite latitude and longitude")
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise InvalidInput("point", f"position out of range: {self.lat}, {self.lon}")
        if self.air and not math.isfinite(self.alt_m):
            raise InvalidInput("point.hae", "an aircraft's report needs its altitude")
        if math.isfinite(self.speed) and not 0.0 <= self.speed <= MAX_SPEED_MS:
            raise InvalidInput("track.speed", f"must be between 0 and {MAX_SPEED_MS:g} m/s")
        if self.t.tzinfo is None:
            raise InvalidInput("time", "time without a timezone")

    @property
    def moving(self) -> bool:
        return math.isfinite(self.speed) and math.isfinite(self.course) and self.speed > 0.0

    @property
    def kind(self) -> DeclarationKind:
        return DeclarationKind.FLIGHT if self.air else DeclarationKind.MOVEMENT

    def band(self) -> AltitudeBand | None:
        return AltitudeBand.metres(self.alt_m, self.alt_m) if self.air else None

    def part(self) -> Part:
        """The report as the engine's 4D volume: its point, at its instant, at its altitude."""
        return Part(self.uid, self.party, self.kind, Role.AREA if self.air else Role.CORRIDOR,
                    Shape.point(self.lon, self.lat), 0.0, Window(self.t, self.t + INSTANT), self.band())

    def ahead(self, seconds: float) -> tuple[float, float]:
        """Where it will be in ``seconds`` on its course and speed (along the geodesic)."""
        lon, lat, _az = GEOD.fwd(self.lon, self.lat, self.course, self.speed * seconds)
        return float(lon), float(lat)

    def swept(self, seconds: float) -> Part | None:
        """Its path over the next ``seconds`` (course and speed held), as a corridor of
        zero width occupying ``[t, t + seconds)``; None when it is not moving."""
        if not self.moving or seconds <= 0:
            return None
        lon, lat = self.ahead(seconds)
        if (lon, lat) == (self.lon, self.lat):
            return None
        shape = Shape.build(ShapeType.LINE, [[(self.lon, self.lat), (lon, lat)]], "track")
        band = None
        if self.air:
            band = self.band()
        return Part(self.uid, self.party, self.kind, Role.AREA if self.air else Role.CORRIDOR, shape, 0.0,
                    Window(self.t, self.t + timedelta(seconds=seconds)), band)
