"""Outlines of footprints for display formats (KML): a radius round a point, a
half-width along a line.

For drawing only: the engine decides on the exact geodesic shapes, never on
these. A circle's vertices are exact geodesic points at the radius; a
corridor is buffered in an azimuthal equidistant projection centred on the
line, which keeps distances from the centre exact and others within a fraction
of a percent over the few hundred kilometres a corridor spans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from shapely.geometry import LineString as ShapelyLine

from deconflict.geo.ellipsoid import GEOD

XY = tuple[float, float]
#: Vertices of a drawn circle (one every 10 degrees of azimuth).
CIRCLE_VERTICES = 36
#: Segments per quarter circle at a corridor's rounded ends and corners.
CORRIDOR_QUAD_SEGMENTS = 4


def circle(lon: float, lat: float, radius_m: float) -> list[XY]:
    """A closed ring of points at ``radius_m`` (geodesic) round (lon, lat), counter-clockwise."""
    n = CIRCLE_VERTICES
    lons, lats, _back = GEOD.fwd([lon] * n, [lat] * n, [-360.0 * i / n for i in range(n)], [radius_m] * n)
    out = [(float(x), float(y)) for x, y in zip(lons, lats, strict=True)]
    out.append(out[0])
    return out


def corridor(coords: Sequence[XY], half_width_m: float) -> list[XY]:
    """A closed ring round the line at ``half_width_m``, with rounded ends.

    Buffered in the azimuthal equidistant projection centred on the line's middle
    vertex, computed with two vectorised geodesic calls (a projection object per
    corridor cost 37 ms, most of a big KML export)."""
    lon0, lat0 = coords[len(coords) // 2]
    n = len(coords)
    az, _back, dist = GEOD.inv([lon0] * n, [lat0] * n, [c[0] for c in coords], [c[1] for c in coords])
    plane = [(d * math.sin(math.radians(a)), d * math.cos(math.radians(a))) for a, d in zip(az, dist, strict=True)]
    ring = list(ShapelyLine(plane).buffer(half_width_m, quad_segs=CORRIDOR_QUAD_SEGMENTS).exterior.coords)
    m = len(ring)
    lons, lats, _b = GEOD.fwd([lon0] * m, [lat0] * m, [math.degrees(math.atan2(x, y)) for x, y in ring],
                              [math.hypot(x, y) for x, y in ring])
    return [(float(x), float(y)) for x, y in zip(lons, lats, strict=True)]
