"""Lists in pages: a cursor and filters, so no read returns a whole theatre.

Pages are in id order; the cursor is the last id of the previous page, so it
means the same on every worker. A page takes the ``limit`` smallest ids past
the cursor. The engine's pages (:func:`engine_filter`, engine/listing.py)
cost what they return: its base is walked in id order on columns, decoding
only what a page lists. Filters: a box (by the
declaration's positions: a declaration is listed when one of its positions
lies in the box, or its positions' envelope meets it), a time window
(overlapping), kinds and owners.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from deconflict.engine.listing import Filter, meets, positions
from deconflict.errors import InvalidInput
from deconflict.model import Declaration, ShareWith

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
        return self.bbox is None or meets(positions(d), self.bbox)


def page(decls: Iterable[Declaration], q: Query) -> tuple[list[Declaration], str | None]:
    """The page among ``decls`` (objects), and the cursor of the next one (None at the end)."""
    chosen = heapq.nsmallest(q.limit + 1, (d for d in decls if q.keeps(d)), key=lambda d: d.id)
    if len(chosen) > q.limit:
        chosen = chosen[:q.limit]
        return chosen, chosen[-1].id
    return chosen, None


def engine_filter(q: Query, sees: Callable[[str, ShareWith], bool],
                  visible: Callable[[Declaration], bool]) -> Filter:
    """``q`` for the engine's pages (engine/listing.py), for a caller who sees an
    audience when ``sees(owner, share_with)`` and a declaration when ``visible``."""
    owners = q.owners

    def sees_asked(owner: str, share: ShareWith) -> bool:
        return (not owners or owner in owners) and sees(owner, share)

    # exact: visible is sees on the declaration's audience, and q.keeps is the
    # cursor, kinds, owners, window and box, each of which the columns decide
    # (tests/engine/test_listing.py holds the pages equal to this filter's).
    return Filter(limit=q.limit, sees=sees_asked, keeps=lambda d: visible(d) and q.keeps(d), after=q.cursor,
                  kinds=q.kinds, start=q.start, end=q.end, bbox=q.bbox, exact=True)
