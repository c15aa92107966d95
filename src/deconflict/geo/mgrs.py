"""MGRS (Military Grid Reference System) to and from WGS84 latitude/longitude."""

from __future__ import annotations

import re

import mgrs as _mgrs

from deconflict.errors import InvalidInput

_CONVERTER = _mgrs.MGRS()
_MGRS = re.compile(r"^\s*(\d{1,2})\s*([C-HJ-NP-X])\s*([A-HJ-NP-Z]{2})\s*((?:\d\s*){0,10})$", re.I)


def parse(text: str, field: str = "mgrs") -> tuple[float, float]:
    """(lon, lat) of the centre of the MGRS square, so the error is at most half
    a square (0.5 m for a 10-digit reference) in each direction."""
    if not isinstance(text, str):
        raise InvalidInput(field, f"an MGRS reference is a string, got {type(text).__name__}")
    m = _MGRS.match(text)
    if not m:
        raise InvalidInput(field, f"{text!r} is not an MGRS reference such as '37SFV 19925 13766'")
    digits = re.sub(r"\s", "", m.group(4))
    if len(digits) % 2:
        raise InvalidInput(field, f"{text!r}: easting and northing need the same number of digits")
    zone = int(m.group(1))
    if not 1 <= zone <= 60:
        raise InvalidInput(field, f"{text!r}: UTM zone {zone} is out of range 1-60")
    half = len(digits) // 2
    # Pad to 1 m precision, pointing at the centre of the given square.
    if half < 5:
        east = digits[:half] + "5" + "0" * (4 - half)
        north = digits[half:] + "5" + "0" * (4 - half)
    else:
        east, north = digits[:5], digits[5:]
    ref = f"{zone:02d}{m.group(2).upper()}{m.group(3).upper()}{east}{north}"
    try:
        lat, lon = _CONVERTER.toLatLon(ref.encode())
    except Exception as exc:  # the C library reports bad squares with a bare error
        raise InvalidInput(field, f"{text!r} is not a valid MGRS square: {exc}") from None
    return float(lon), float(lat)


def format(lon: float, lat: float, digits: int = 5) -> str:
    """MGRS reference with ``digits`` per axis (5 = 1 m), spaced for reading."""
    raw = _CONVERTER.toMGRS(lat, lon, MGRSPrecision=digits)
    raw = raw.decode() if isinstance(raw, bytes) else str(raw)
    head = 5 if raw[:2].isdigit() else 4
    if len(raw) - head - 2 * digits == -1:  # one-digit zone
        head -= 1
    grid = raw[:head]
    nums = raw[head:]
    return f"{grid} {nums[:digits]} {nums[digits:]}".strip()
