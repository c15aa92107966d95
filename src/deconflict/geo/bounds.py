"""Conservative longitude/latitude boxes, antimeridian- and pole-aware.

A box may over-select, never under-select: it contains every point within the
given distance of the shape. The bound rests on one inequality: on WGS84,
``ds >= M_MIN * dsigma`` where ``dsigma`` is arc length on the unit sphere with
geodetic latitude and longitude as its coordinates. So all points within ``r``
metres of a point lie in the spherical cap of angular radius ``r / M_MIN``,
whose box is exact and cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deconflict.geo.ellipsoid import M_MIN

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Box:
    """``lon_lo`` in [-180, 180); ``lon_hi`` may exceed 180 when the box crosses
    the antimeridian; ``full_lon`` when it spans every longitude."""

    lon_lo: float
    lat_lo: float
    lon_hi: float
    lat_hi: float
    full_lon: bool = False

    def parts(self) -> list[tuple[float, float, float, float]]:
        """The box as one or two boxes inside [-180, 180] (for a planar index)."""
        if self.full_lon:
            return [(-180.0, self.lat_lo, 180.0, self.lat_hi)]
        if self.lon_hi > 180.0:
            return [
                (self.lon_lo, self.lat_lo, 180.0, self.lat_hi),
                (-180.0, self.lat_lo, self.lon_hi - 360.0, self.lat_hi),
            ]
        return [(self.lon_lo, self.lat_lo, self.lon_hi, self.lat_hi)]

    def intersects(self, other: Box) -> bool:
        if self.lat_lo > other.lat_hi or other.lat_lo > self.lat_hi:
            return False
        if self.full_lon or other.full_lon:
            return True
        return any(
            self.lon_lo <= other.lon_hi + k and other.lon_lo + k <= self.lon_hi
            for k in (-360.0, 0.0, 360.0)
        )


def cap_angle(radius_m: float) -> float:
    """Angular radius (degrees) on the unit sphere that bounds ``radius_m`` metres."""
    return math.degrees(radius_m / M_MIN)


@dataclass(frozen=True, slots=True)
class SampleBounds:
    """Extent of a sampled curve, each sample standing for the points within
    ``slack_m`` of it. ``grow(r)`` gives the box of everything within ``r``."""

    lon_lo: float  # unwrapped
    lon_hi: float
    lat_lo: float
    lat_hi: float
    max_abs_lat: float
    slack_m: float
    full_lon: bool = False

    @classmethod
    def of(cls, lons: FloatArray, lats: FloatArray, slack_m: float) -> SampleBounds:
        un = unwrap(lons)
        return cls(
            float(un.min()),
            float(un.max()),
            float(lats.min()),
            float(lats.max()),
            float(np.abs(lats).max()),
            slack_m,
            bool(un.max() - un.min() >= 360.0),
        )

    def grow(self, radius_m: float) -> Box:
        d = cap_angle(radius_m + self.slack_m)
        lat_lo = self.lat_lo - d
        lat_hi = self.lat_hi + d
        reach = self.max_abs_lat + d
        if self.full_lon or reach >= 90.0:
            return Box(-180.0, max(lat_lo, -90.0), 180.0, min(lat_hi, 90.0), True)
        dlon = math.degrees(math.asin(min(1.0, math.sin(math.radians(d)) / math.cos(math.radians(reach)))))
        lo, hi = self.lon_lo - dlon, self.lon_hi + dlon
        if hi - lo >= 360.0:
            return Box(-180.0, lat_lo, 180.0, lat_hi, True)
        shift = math.floor((lo + 180.0) / 360.0) * 360.0
        return Box(lo - shift, lat_lo, hi - shift, lat_hi)


def unwrap(lons: FloatArray) -> FloatArray:
    """Longitudes made continuous (no jump of more than 180 degrees between neighbours)."""
    if lons.size < 2:
        return lons.astype(np.float64, copy=True)
    steps = np.diff(lons)
    steps = (steps + 180.0) % 360.0 - 180.0
    out = np.empty_like(lons, dtype=np.float64)
    out[0] = lons[0]
    out[1:] = lons[0] + np.cumsum(steps)
    return out


def merge(bounds: list[SampleBounds]) -> SampleBounds:
    """One extent for several (e.g. the rings of a polygon, which lie near each other)."""
    first = bounds[0]
    lon_lo, lon_hi = first.lon_lo, first.lon_hi
    for b in bounds[1:]:
        # Bring b into first's longitude frame before widening.
        k = round(((first.lon_lo + first.lon_hi) - (b.lon_lo + b.lon_hi)) / 720.0) * 360.0
        lon_lo = min(lon_lo, b.lon_lo + k)
        lon_hi = max(lon_hi, b.lon_hi + k)
    return SampleBounds(
        lon_lo,
        lon_hi,
        min(b.lat_lo for b in bounds),
        max(b.lat_hi for b in bounds),
        max(b.max_abs_lat for b in bounds),
        max(b.slack_m for b in bounds),
        any(b.full_lon for b in bounds) or lon_hi - lon_lo >= 360.0,
    )
