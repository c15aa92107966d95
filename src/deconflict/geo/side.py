"""Which side of a polyline a point is on, judged against the nearest part of it.

"Left" and "right" are relative to the direction in which the line's vertices
run. Beyond its ends a line is judged against its end edges continued as
geodesics, which is what "the nearest part of the line" gives there: the
nearest part is the end vertex, and the boundary between sides through it is
the continuation of the end edge.
"""

from __future__ import annotations

import numpy as np

from deconflict.geo.ellipsoid import GEOD, MAX_EDGE_M, TOUCH_TOLERANCE_M
from deconflict.geo.geodesic import Edge, foot, inverse, normalize_angle
from deconflict.geo.shape import Shape, ShapeType, inv_from

LEFT = -1
RIGHT = 1
ON = 0


def _sector_side(forward: float, back: float, az: float) -> int:
    """Side of a direction ``az`` at a vertex where the line leaves along
    ``forward`` and came in from ``back`` (both azimuths pointing away from the
    vertex). Left is the sector swept anticlockwise from forward to back."""
    to_az = (forward - az) % 360.0
    to_back = (forward - back) % 360.0
    if to_az in (0.0, to_back):
        return ON
    return LEFT if to_az < to_back else RIGHT


def side_of_point(line: Shape, lon: float, lat: float) -> tuple[int, float, bool]:
    """(side, distance to the line, beyond an end) for a point.

    Where several parts of the line are equally near (within the touch
    tolerance) and disagree, the point is reported as ON the line, which the
    engine treats as reaching the far side: the conservative answer."""
    assert line.type is ShapeType.LINE
    ring = line.rings[0]
    edges = ring.edges
    n = len(edges)
    _az, d = inv_from(lon, lat, ring.lons, ring.lats)
    lengths = np.fromiter((e.length for e in edges), np.float64, n)
    lower = (d[:-1] + d[1:] - lengths) / 2.0
    best = float(d.min())
    feet: list[tuple[float, int, float]] = []
    for i in np.argsort(lower):
        if float(lower[i]) > best + TOUCH_TOLERANCE_M:
            break
        # Feet farther than best + TOUCH_TOLERANCE_M are dropped below and never
        # lower ``best``, so their search may stop as soon as that is proven.
        s, dist = foot(edges[int(i)], lon, lat, best + TOUCH_TOLERANCE_M)
        feet.append((dist, int(i), s))
        best = min(best, dist)
    sides = set()
    beyond = False
    for dist, i, s in feet:
        if dist > best + TOUCH_TOLERANCE_M:
            continue
        side, past_end = _side_at(edges, i, s, lon, lat)
        sides.add(side)
        beyond = beyond or past_end
    if dist_is_zero(best) or len(sides) != 1:
        return ON, best, beyond
    return sides.pop(), best, beyond


def dist_is_zero(d: float) -> bool:
    return d <= TOUCH_TOLERANCE_M


def _side_at(edges: tuple[Edge, ...], i: int, s: float, lon: float, lat: float) -> tuple[int, bool]:
    e = edges[i]
    n = len(edges)
    at_start = s <= 0.0
    at_end = s >= e.length
    if not at_start and not at_end:
        x, y, az_fwd = e.at(s)
        az, dist = inverse(x, y, lon, lat)
        if dist == 0.0:
            return ON, False
        return _sector_side(az_fwd, normalize_angle(az_fwd + 180.0), az), False
    # At a vertex: the incoming and outgoing edges meet there.
    vi = i + 1 if at_end else i
    vlon, vlat = (e.lon2, e.lat2) if at_end else (e.lon1, e.lat1)
    forward = edges[vi].az1 if vi < n else None
    back = None
    if vi > 0:
        _x, _y, az_in = edges[vi - 1].at(edges[vi - 1].length)
        back = normalize_angle(az_in + 180.0)
    past_end = forward is None or back is None
    if forward is None:
        assert back is not None
        forward = normalize_angle(back + 180.0)
    if back is None:
        back = normalize_angle(forward + 180.0)
    az, dist = inverse(vlon, vlat, lon, lat)
    if dist == 0.0:
        return ON, past_end
    return _sector_side(forward, back, az), past_end


def end_extensions(line: Shape, length_m: float) -> list[Edge]:
    """The line's end edges continued beyond its ends as geodesics, ``length_m`` long."""
    assert line.type is ShapeType.LINE
    # Fix (tests/engine/test_rules.py): capped a kilometre short of MAX_EDGE_M;
    # an edge of exactly the limit could measure a hair over it when rebuilt
    # from its ends, and was then refused. Longer reaches are chained by the
    # caller (engine.rules._extended).
    length = min(max(length_m, 1.0), MAX_EDGE_M - 1_000.0)
    edges = line.rings[0].edges
    first, last = edges[0], edges[-1]
    back_az = normalize_angle(first.az1 + 180.0)
    lon0, lat0, _ = GEOD.fwd(first.lon1, first.lat1, back_az, length)
    _x, _y, az_end = last.at(last.length)
    lon1, lat1, _ = GEOD.fwd(last.lon2, last.lat2, az_end, length)
    return [
        Edge.between(first.lon1, first.lat1, float(lon0), float(lat0)),
        Edge.between(last.lon2, last.lat2, float(lon1), float(lat1)),
    ]


def reach_beyond(line: Shape, core: Shape) -> float:
    """How far past the line's ends its extensions must run to pass every
    point of ``core`` (plus any radius the caller adds)."""
    ring = line.rings[0]
    ends = [(float(ring.lons[0]), float(ring.lats[0])), (float(ring.lons[-1]), float(ring.lats[-1]))]
    far = 0.0
    for lon, lat in core.vertices():
        for elon, elat in ends:
            far = max(far, inverse(elon, elat, lon, lat)[1])
    # Edges of the core bulge at most half their length away from their ends.
    bulge = max((e.length for e, _b in core.edges()), default=0.0)
    return far + bulge + 1.0


def on_far_side(side: int, own: int) -> bool:
    return side == ON or side != own


