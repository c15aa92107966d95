"""Outlines of footprints for display formats (KML): a radius round a point, a
half-width along a line.

For drawing only: the engine decides on the exact geodesic shapes, never on
these. A circle's vertices are exact geodesic points at the radius; a
corridor is buffered in an azimuthal equidistant projection centred on the
line, which keeps distances from the centre exact and others within a fraction
of a percent over the few hundred kilometres a corridor spans.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyproj import Transformer
from shapely.geometry import LineString as ShapelyLine

from deconflict.geo.ellipsoid import GEOD

XY = tuple[float, float]
#: Vertices of a drawn circle (one every 5 degrees of azimuth).
CIRCLE_VERTICES = 72
#: Segments per quarter circle at a corridor's rounded ends and corners.
CORRIDOR_QUAD_SEGMENTS = 8


def circle(lon: float, lat: float, radius_m: float) -> list[XY]:
    """A closed ring of points at ``radius_m`` (geodesic) round (lon, lat), counter-clockwise."""
    out: list[XY] = []
    for i in range(CIRCLE_VERTICES):
        az = -360.0 * i / CIRCLE_VERTICES  # counter-clockwise seen from above
        x, y, _back = GEOD.fwd(lon, lat, az, radius_m)
        out.append((float(x), float(y)))
    out.append(out[0])
    return out


def corridor(coords: Sequence[XY], half_width_m: float) -> list[XY]:
    """A closed ring round the line at ``half_width_m``, with rounded ends."""
    lon0, lat0 = coords[len(coords) // 2]
    to_plane = Transformer.from_proj("EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84",
                                     always_xy=True)
    xs, ys = to_plane.transform([c[0] for c in coords], [c[1] for c in coords])
    shape = ShapelyLine(list(zip(xs, ys, strict=True))).buffer(half_width_m, quad_segs=CORRIDOR_QUAD_SEGMENTS)
    ring = list(shape.exterior.coords)
    lons, lats = to_plane.transform([p[0] for p in ring], [p[1] for p in ring],
                                    direction="INVERSE")
    return [(float(x), float(y)) for x, y in zip(lons, lats, strict=True)]
