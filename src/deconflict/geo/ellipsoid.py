"""The WGS84 ellipsoid, its geodesic solver and the named tolerances of the geo layer."""

from __future__ import annotations

from typing import Final

from pyproj import Geod

#: GeographicLib-grade geodesics (Karney 2013) through PROJ.
GEOD: Final = Geod(ellps="WGS84")

WGS84_A: Final = 6_378_137.0
WGS84_F: Final = 1 / 298.257223563
WGS84_E2: Final = WGS84_F * (2 - WGS84_F)
#: The smallest radius of curvature anywhere on the ellipsoid (the meridian
#: radius at the equator). Every path of length s changes geodetic latitude and
#: longitude by at most s / M_MIN radians of arc on the unit sphere, which is
#: what makes the bounding boxes of :mod:`deconflict.geo.bounds` conservative.
M_MIN: Final = WGS84_A * (1 - WGS84_E2)
#: The largest radius of curvature anywhere (both radii at a pole, a / sqrt(1 - e²)).
#: With ``ds² = M² dφ² + N² cos²φ dλ²`` and ``M, N <= R_MAX``, the geodesic between
#: two points is no longer than R_MAX times their central angle with geodetic
#: latitude and longitude as spherical coordinates: an upper bound of a distance.
R_MAX: Final = WGS84_A / (1 - WGS84_E2) ** 0.5

#: Distances are resolved to this (the foot-point search stops here).
DISTANCE_TOLERANCE_M: Final = 0.001
#: Two shapes closer than this are treated as touching. Findings decided inside
#: this band are conservative (an extra finding, never a missed one).
TOUCH_TOLERANCE_M: Final = 0.01

#: Longest geodesic edge accepted. The side and crossing tests are exact for
#: edges well below half the meridian; longer edges must be split by the user.
MAX_EDGE_M: Final = 4_000_000.0
#: Every vertex of a shape must lie within this distance of its first vertex:
#: shapes stay well inside a hemisphere, where "inside" a ring is unambiguous.
MAX_SPAN_M: Final = 5_000_000.0
#: Spacing of the samples used to bound an edge (bounding boxes only).
BOUND_SAMPLE_SPACING_M: Final = 20_000.0
