"""Lists in pages: a cursor and filters, so no read returns a whole theatre.

Pages are in id order; the cursor is the last id of the previous page, so it
means the same on every worker. A page takes the ``limit`` smallest ids past
the cursor (O(n log limit), no sort of everything). Filters: a box (by the
declaration's positions: a declaration is listed when one of its positions
lies in the box, or its positions' envelope meets it), a time window
(overlapping), kinds and owners.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from deconflict.errors import InvalidInput
from deconflict.model import Declaration, Fire, Flight, Movement, Site
from deconflict.model.geometry import Geometry, LineString, Point, Polygon

DEFAULT_PAGE = 1000
MAX_PAGE = 5000


@dataclass(frozen=True, slots=True)
class Query:
    limit: int = DEFAULT_PAGE
    cursor: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    kinds: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, *, limit: int | None, cursor: str | None, bbox: str | None, start: datetime | None,
              end: datetime | None, kind: str | None, owner: str | None) -> Query:
        if limit is not None and not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be from 1 to {MAX_PAGE}")
        box = None
        if bbox is not None:
            try:
                parts = tuple(float(x) for x in bbox.split(","))
            except ValueError:
                parts = ()
            if len(parts) != 4 or not all(math.isfinite(x) for x in parts) or parts[1] > parts[3]:
                raise InvalidInput("bbox", "must be min_lon,min_lat,max_lon,max_lat (degrees)")
            box = (parts[0], parts[1], parts[2], parts[3])
        for name, t in (("start", start), ("end", end)):
            if t is not None and t.tzinfo is None:
                raise InvalidInput(name, "must carry a UTC offset")
        if start is not None and end is not None and end <= start:
            raise InvalidInput("end", "must be after start")
        return cls(limit or DEFAULT_PAGE, cursor, box, start, end,
                   frozenset(kind.split(",")) if kind else frozenset(),
                   frozenset(owner.split(",")) if owner else frozenset())

    def keeps(self, d: Declaration) -> bool:
        if self.cursor is not None and d.id <= self.cursor:
            return False
        if self.kinds and d.kind.value not in self.kinds:
            return False
        if self.owners and d.owner not in self.owners:
            return False
        if self.start is not None and d.window.end <= self.start:
            return False
        if self.end is not None and d.window.start >= self.end:
            return False
        return self.bbox is None or _meets(positions(d), self.bbox)


def page(decls: Iterable[Declaration], q: Query) -> tuple[list[Declaration], str | None]:
    """The page, and the cursor of the next one (None at the end)."""
    chosen = heapq.nsmallest(q.limit + 1, (d for d in decls if q.keeps(d)), key=lambda d: d.id)
    if len(chosen) > q.limit:
        chosen = chosen[:q.limit]
        return chosen, chosen[-1].id
    return chosen, None


def _coords(g: Geometry | None) -> list[tuple[float, float]]:
    if isinstance(g, Point):
        return [(g.lon, g.lat)]
    if isinstance(g, LineString):
        return list(g.coords)
    if isinstance(g, Polygon):
        return list(g.rings[0])
    return []


def positions(d: Declaration) -> list[tuple[float, float]]:
    if isinstance(d, (Movement, Flight)) and d.waypoints:
        return [(w.position.lon, w.position.lat) for w in d.waypoints]
    if isinstance(d, Site):
        return _coords(d.geometry)
    if isinstance(d, Movement):
        return _coords(d.route)
    if isinstance(d, Flight):
        return _coords(d.geometry)
    assert isinstance(d, Fire)
    return _coords(d.target) + ([(d.origin.lon, d.origin.lat)] if d.origin is not None else [])


def _meets(pts: list[tuple[float, float]], box: tuple[float, float, float, float]) -> bool:
    lon0, lat0, lon1, lat1 = box
    wraps = lon0 > lon1  # a box across the antimeridian

    def lon_in(x: float) -> bool:
        return (x >= lon0 or x <= lon1) if wraps else lon0 <= x <= lon1

    if any(lon_in(x) and lat0 <= y <= lat1 for x, y in pts):
        return True
    if not pts or wraps:
        return False
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs) <= lon1 and max(xs) >= lon0 and min(ys) <= lat1 and max(ys) >= lat0
