"""SBS-1 BaseStation text (dump1090 and others, port 30003): the unaffiliated air picture.

``MSG,3`` lines carry the position and altitude (feet), ``MSG,4`` the ground
speed (knots) and track; a report is made from each position, with the last
known velocity of the same aircraft (ICAO address). Other lines are ignored;
malformed ones are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from deconflict.errors import InvalidInput
from deconflict.model.units import FEET_TO_METRES
from deconflict.tracks.report import UNAFFILIATED, Report

KNOT_MS = 1852.0 / 3600.0
MAX_LINE = 1024


@dataclass(slots=True)
class _Velocity:
    speed: float = math.nan
    course: float = math.nan
    callsign: str = ""


class SbsDecoder:
    def __init__(self, feed: str = "sbs") -> None:
        self.feed = feed
        self._vel: dict[str, _Velocity] = {}
        self.malformed = 0

    def line(self, text: str, now: datetime) -> Report | None:
        f = text.strip().split(",")
        if len(f) < 16 or f[0] != "MSG":
            if text.strip():
                self.malformed += 1
            return None
        try:
            icao = f[4].strip().upper()
            if not icao or len(icao) > 8 or not all(c in "0123456789ABCDEF" for c in icao):
                raise InvalidInput("hex_ident", "not an ICAO address")
            v = self._vel.setdefault(icao, _Velocity())
            if len(self._vel) > 100_000:
                self._vel.clear()
            if f[10].strip():
                v.callsign = f[10].strip()[:16]
            if f[1] == "4" and f[12] and f[13]:
                v.speed, v.course = float(f[12]) * KNOT_MS, float(f[13]) % 360.0
                return None
            if f[1] != "3" or not (f[11] and f[14] and f[15]):
                return None
            alt_m = float(f[11]) * FEET_TO_METRES
            lat, lon = float(f[14]), float(f[15])
            t = now
            if f[6] and f[7]:
                t = datetime.strptime(f"{f[6]} {f[7][:12]}", "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC)
        except (ValueError, InvalidInput):
            self.malformed += 1
            return None
        if not all(math.isfinite(x) for x in (alt_m, lat, lon)):
            self.malformed += 1
            return None
        return Report(UNAFFILIATED, f"icao-{icao}", lon, lat, t, True, alt_m, v.course, v.speed, self.feed,
                      cot_type="a-u-A")


def line(icao: str, lon: float, lat: float, alt_ft: float, t: datetime, msg: int = 3, speed_kt: float = 0.0,
         track: float = 0.0, callsign: str = "") -> str:
    """An SBS-1 line (for tests and simulators)."""
    d, tm = t.strftime("%Y/%m/%d"), t.strftime("%H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    if msg == 4:
        return f"MSG,4,1,1,{icao},1,{d},{tm},{d},{tm},,,{speed_kt:.0f},{track:.0f},,,0,,,,,0\n"
    return f"MSG,3,1,1,{icao},1,{d},{tm},{d},{tm},{callsign},{alt_ft:.0f},,,{lat:.5f},{lon:.5f},,,0,0,0,0\n"
